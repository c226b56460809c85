package httpapi

func (s *Server) registerTeams() {}
