package httpapi

func (s *Server) registerMovimientos() {}
