package httpapi

func (s *Server) registerHPSTokens() {}
