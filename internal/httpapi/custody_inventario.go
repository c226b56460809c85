package httpapi

func (s *Server) registerInventario() {}
