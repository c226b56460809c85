package httpapi

func (s *Server) registerEmpresas() {}
