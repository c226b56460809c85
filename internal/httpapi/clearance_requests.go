package httpapi

func (s *Server) registerHPSRequests() {}
