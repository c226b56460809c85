package httpapi

func (s *Server) registerAC21() {}
