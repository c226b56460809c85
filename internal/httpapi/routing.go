package httpapi

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
)

// eitherSlash serves every route with and without its final slash. The
// legacy backends answered the other spelling with a redirect (Django's
// APPEND_SLASH, FastAPI's redirect_slashes) and the clients depend on it
// both ways: the HPS frontend calls Django paths without the slash, the
// newer extension calls FastAPI paths with one. A redirect would drop a
// PUT's body, so the request is routed to the other spelling in place.
// A path that matches as sent is never rewritten, so a route registered
// in both spellings keeps its own handler.
func eitherSlash(router chi.Routes) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			p := r.URL.Path
			if len(p) > 1 && !router.Match(chi.NewRouteContext(), r.Method, p) {
				if alt := otherSpelling(p); router.Match(chi.NewRouteContext(), r.Method, alt) {
					r.URL.Path = alt
					if r.URL.RawPath != "" {
						r.URL.RawPath = otherSpelling(r.URL.RawPath)
					}
				}
			}
			next.ServeHTTP(w, r)
		})
	}
}

// otherSpelling adds or removes the final slash.
func otherSpelling(p string) string {
	if strings.HasSuffix(p, "/") {
		return strings.TrimSuffix(p, "/")
	}
	return p + "/"
}
