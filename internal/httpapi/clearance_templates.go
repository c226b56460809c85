package httpapi

func (s *Server) registerHPSTemplates() {}
