package httpapi

func (s *Server) registerRoles() {}
