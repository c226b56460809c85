package httpapi

func (s *Server) registerProfiles() {}
