package httpapi_test

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
)

// Every operation answers its other spelling (final slash added or
// removed) exactly as it answers its own: same status, no redirect.
func TestEveryRouteAnswersWithAndWithoutFinalSlash(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		s := newStack(t, db)
		h := s.srv.Handler()
		n := 0
		for path, item := range s.srv.API.OpenAPI().Paths {
			if path == "/" {
				continue
			}
			concrete := strings.NewReplacer("{id}", "1", "{team_id}", "1", "{user_id}", "1", "{pk}", "1").Replace(path)
			if strings.Contains(concrete, "{") {
				concrete = strings.NewReplacer("{", "", "}", "").Replace(concrete)
			}
			for method, op := range map[string]*huma.Operation{"GET": item.Get, "POST": item.Post, "PUT": item.Put, "PATCH": item.Patch, "DELETE": item.Delete} {
				if op == nil {
					continue
				}
				own := doWith(t, h, method, concrete, "", "", nil)
				other := doWith(t, h, method, otherSpelling(concrete), "", "", nil)
				if own.status != other.status {
					t.Errorf("%s %s: %d, but %d without/with the final slash (%s)", method, concrete, own.status, other.status, other.body)
				}
				if other.status/100 == 3 {
					t.Errorf("%s %s: redirect", method, otherSpelling(concrete))
				}
				n++
			}
		}
		if n < 100 {
			t.Fatalf("walked %d operations; the API has more", n)
		}
	})
}

// A PUT sent to the other spelling keeps its body (a redirect would lose it).
func TestOtherSpellingKeepsTheBody(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newCatWorld(t, db)
		id := catObj(t, w.api(http.MethodPost, "/api/empresas/", map[string]any{"nombre": "Indra", "numero_registro": "E-1"}, http.StatusCreated))["id"]
		path := fmt.Sprintf("/api/empresas/%v", id)
		w.api(http.MethodPut, path, map[string]any{"nombre": "Indra Sistemas", "numero_registro": "E-1"}, http.StatusOK)
		if got := catObj(t, w.api(http.MethodGet, path, nil, http.StatusOK))["nombre"]; got != "Indra Sistemas" {
			t.Fatalf("nombre after PUT without the final slash: %v", got)
		}
		if r := w.call(http.MethodGet, "/api/empresas", w.tok, nil); r.status != http.StatusOK {
			t.Fatalf("list without the final slash: %d %s", r.status, r.body)
		}
		if r := w.call(http.MethodGet, "/api/nada-de-esto/", w.tok, nil); r.status != http.StatusNotFound {
			t.Fatalf("unknown path: %d", r.status)
		}
	})
}

// An action called with no body at all (fetch and axios send none) reads
// as `{}`, as DRF did; a required field is still named.
func TestEmptyBodyIsAnEmptyObject(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newCatWorld(t, db)
		for _, ct := range []string{"", "application/json"} {
			r := doWith(t, w.srv.Handler(), http.MethodPost, "/api/productos/limpiar-huerfanos/", ct, "",
				map[string]string{"Authorization": "Bearer " + w.tok})
			if r.status != http.StatusOK {
				t.Fatalf("limpiar-huerfanos, empty body, Content-Type %q: %d %s", ct, r.status, r.body)
			}
		}
		r := doWith(t, w.srv.Handler(), http.MethodPost, "/api/empresas/", "application/json", "",
			map[string]string{"Authorization": "Bearer " + w.tok})
		if r.status != http.StatusBadRequest || !strings.Contains(r.body, `"nombre"`) {
			t.Fatalf("create with an empty body: %d %s, want 400 naming nombre", r.status, r.body)
		}
		// An empty upload is not turned into JSON.
		r = doWith(t, w.srv.Handler(), http.MethodPost, "/api/token/", "multipart/form-data; boundary=x", "", nil)
		if r.status == http.StatusOK {
			t.Fatalf("empty multipart login: %d", r.status)
		}
	})
}

func otherSpelling(p string) string {
	if strings.HasSuffix(p, "/") {
		return strings.TrimSuffix(p, "/")
	}
	return p + "/"
}
