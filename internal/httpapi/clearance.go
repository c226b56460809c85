package httpapi

// HPS clearances: the Django routes under /api/hps/ and /api/extension/
// (primary contract) and the FastAPI /api/v1/hps/ and /api/v1/extension/
// routes deployed clients still call, served by the same handlers.
// docs/api-compat.md maps the FastAPI routes to the new ones.
//
// The routes are registered even without the service (describing the API:
// `thot openapi`, docs/api.md), like every other part.
func (s *Server) registerClearance() {
	s.registerHPSRequests()
	s.registerHPSTemplates()
	s.registerHPSTokens()
	s.registerAPIKeys()
	s.registerExtension()
}
