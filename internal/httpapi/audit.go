package httpapi

func (s *Server) registerAudit() {}
