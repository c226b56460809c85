package httpapi

func (s *Server) registerCatalog() {}
