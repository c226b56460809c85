package httpapi

func (s *Server) registerUsers() {}
