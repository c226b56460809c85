package httpapi

import (
	"encoding/json"
	"net/http"
)

// registerDocs serves the generated OpenAPI 3.1 document at /api/schema/
// (the drf-spectacular path) and an interactive reference at /api/docs/.
func (s *Server) registerDocs() {
	s.router.Get("/api/schema/", func(w http.ResponseWriter, r *http.Request) {
		b, err := s.OpenAPIJSON()
		if err != nil {
			WriteError(w, r, err)
			return
		}
		w.Header().Set("Content-Type", "application/vnd.oai.openapi+json")
		_, _ = w.Write(b)
	})
	s.router.Get("/api/docs/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'self' https://unpkg.com; img-src 'self' data: https:; style-src 'self' 'unsafe-inline' https://unpkg.com; frame-ancestors 'none'")
		_, _ = w.Write([]byte(docsPage))
	})
}

// OpenAPIJSON renders the OpenAPI document, indented and stable, as
// committed in docs/openapi.json.
func (s *Server) OpenAPIJSON() ([]byte, error) {
	b, err := json.MarshalIndent(s.API.OpenAPI(), "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// docsPage loads Stoplight Elements (as huma does) from a CDN; offline
// installations can still read /api/schema/ or docs/openapi.json.
const docsPage = `<!doctype html>
<html lang="es">
<head>
<meta charset="utf-8">
<meta name="referrer" content="same-origin">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>thot API</title>
<link rel="stylesheet" href="https://unpkg.com/@stoplight/elements@9.0.0/styles.min.css">
<script src="https://unpkg.com/@stoplight/elements@9.0.0/web-components.min.js"></script>
</head>
<body style="height: 100vh;">
<elements-api apiDescriptionUrl="/api/schema/" router="hash" layout="sidebar" tryItCredentialsPolicy="same-origin"></elements-api>
</body>
</html>
`
