package httpapi

func (s *Server) registerAlbaranes() {}
