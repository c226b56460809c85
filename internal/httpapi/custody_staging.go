package httpapi

func (s *Server) registerStaging() {}
