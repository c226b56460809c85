package httpapi

func (s *Server) registerAPIKeys() {}
