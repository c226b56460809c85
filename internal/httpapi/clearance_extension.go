package httpapi

func (s *Server) registerExtension() {}
