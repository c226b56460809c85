package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/config"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/httpapi"
)

// testConfig is a valid configuration for tests, from defaults.
func testConfig(t testing.TB, env map[string]string) *config.Config {
	t.Helper()
	base := map[string]string{"THOT_ENV_FILE": "", "THOT_ENV": "test", "THOT_DATA_DIR": t.TempDir()}
	for k, v := range env {
		base[k] = v
	}
	cfg, err := config.Load(func(k string) (string, bool) { v, ok := base[k]; return v, ok })
	if err != nil {
		t.Fatalf("config: %v", err)
	}
	return cfg
}

type echoInput struct {
	Body struct {
		Name  string `json:"name" required:"true" minLength:"2"`
		Email string `json:"email,omitempty" format:"email"`
		Lines []struct {
			Serial string `json:"numero_serie" required:"true"`
		} `json:"articulos,omitempty"`
	}
}

type echoOutput struct {
	Body struct {
		Name string `json:"name"`
	}
}

// newServer builds a server with a test-only echo operation and one that
// returns whatever domain error the test asks for.
func newServer(t testing.TB, db *database.DB, env map[string]string) *httpapi.Server {
	t.Helper()
	s := httpapi.New(httpapi.Deps{Config: testConfig(t, env), DB: db, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	httpapi.Register(s.API, huma.Operation{OperationID: "echo", Method: http.MethodPost, Path: "/api/echo/"}, httpapi.Public,
		func(ctx context.Context, in *echoInput) (*echoOutput, error) {
			out := &echoOutput{}
			out.Body.Name = in.Body.Name
			return out, nil
		})
	httpapi.Register(s.API, huma.Operation{OperationID: "fail", Method: http.MethodGet, Path: "/api/fail/{kind}/"}, httpapi.Public,
		func(ctx context.Context, in *struct {
			Kind string `path:"kind"`
		}) (*echoOutput, error) {
			switch in.Kind {
			case "notfound":
				return nil, errs.NotFound("Albarán")
			case "conflict":
				return nil, errs.Conflict("Ya existe un albarán con número %s.", "A-1")
			case "fields":
				fe := errs.FieldErrors{}
				fe.Add("email", "Enter a valid email address.")
				return nil, fe.Err()
			case "throttled":
				return nil, &errs.Error{Kind: errs.KindTooMany, Message: "Too many attempts.", RetryAfter: 90e9}
			case "panic":
				panic("secret internal detail")
			}
			return nil, io.ErrUnexpectedEOF // an internal error with internal text
		})
	return s
}

type response struct {
	status int
	header http.Header
	body   string
}

func do(t *testing.T, h http.Handler, method, path, contentType, body string) response {
	t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return response{rec.Code, rec.Header(), rec.Body.String()}
}

func jsonEqual(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("body is not JSON: %v\n%s", err, got)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("want is not JSON: %v", err)
	}
	gb, _ := json.Marshal(g)
	wb, _ := json.Marshal(w)
	if !bytes.Equal(gb, wb) {
		t.Errorf("body = %s\nwant   %s", gb, wb)
	}
}

func TestErrorShapes(t *testing.T) {
	s := newServer(t, nil, nil)
	big := `{"name":"` + strings.Repeat("x", 2<<20) + `"}`
	tests := []struct {
		name, method, path, ctype, body string
		status                          int
		want                            string // JSON body; "" means check only status
		wantPrefix                      string // for messages that quote Go's parser
	}{
		{name: "ok", method: "POST", path: "/api/echo/", ctype: "application/json", body: `{"name":"Ñandú"}`, status: 200, want: `{"name":"Ñandú"}`},
		{name: "unknown fields ignored", method: "POST", path: "/api/echo/", ctype: "application/json", body: `{"name":"ab","extra":1}`, status: 200, want: `{"name":"ab"}`},
		{name: "malformed JSON", method: "POST", path: "/api/echo/", ctype: "application/json", body: `{"name":`, status: 400, wantPrefix: `{"detail":"JSON parse error - `},
		{name: "wrong content type", method: "POST", path: "/api/echo/", ctype: "text/plain", body: `name=x`, status: 415, want: `{"detail":"Unsupported media type \"text/plain\" in request."}`},
		{name: "oversized body", method: "POST", path: "/api/echo/", ctype: "application/json", body: big, status: 413, want: `{"detail":"Request body too large."}`},
		{name: "missing field", method: "POST", path: "/api/echo/", ctype: "application/json", body: `{}`, status: 400, want: `{"name":["This field is required."]}`},
		{name: "too short and bad email", method: "POST", path: "/api/echo/", ctype: "application/json", body: `{"name":"a","email":"nope"}`, status: 400, want: `{"name":["Ensure this field has at least 2 characters."],"email":["Enter a valid email address."]}`},
		{name: "nested line error", method: "POST", path: "/api/echo/", ctype: "application/json", body: `{"name":"ab","articulos":[{"numero_serie":"1"},{}]}`, status: 400, want: `{"articulos":{"1":{"numero_serie":["This field is required."]}}}`},
		{name: "unknown route", method: "GET", path: "/api/nope/", status: 404, want: `{"detail":"Not found."}`},
		{name: "no trailing slash is the same route", method: "POST", path: "/api/echo", ctype: "application/json", body: `{"name":"ab"}`, status: 200, want: `{"name":"ab"}`},
		{name: "empty body is an empty object", method: "POST", path: "/api/echo/", ctype: "application/json", status: 400, want: `{"name":["This field is required."]}`},
		{name: "method not allowed", method: "DELETE", path: "/api/echo/", status: 405, want: `{"detail":"Method \"DELETE\" not allowed."}`},
		{name: "domain not found", method: "GET", path: "/api/fail/notfound/", status: 404, want: `{"detail":"Albarán not found."}`},
		{name: "domain conflict", method: "GET", path: "/api/fail/conflict/", status: 409, want: `{"detail":"Ya existe un albarán con número A-1."}`},
		{name: "domain fields", method: "GET", path: "/api/fail/fields/", status: 400, want: `{"email":["Enter a valid email address."]}`},
		{name: "throttled", method: "GET", path: "/api/fail/throttled/", status: 429, want: `{"detail":"Too many attempts."}`},
		{name: "internal error hides text", method: "GET", path: "/api/fail/other/", status: 500, want: `{"detail":"A server error occurred."}`},
		{name: "panic hides text", method: "GET", path: "/api/fail/panic/", status: 500, want: `{"detail":"A server error occurred."}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, s.Handler(), tt.method, tt.path, tt.ctype, tt.body)
			if r.status != tt.status {
				t.Fatalf("status = %d, want %d; body %s", r.status, tt.status, r.body)
			}
			if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
				t.Errorf("Content-Type = %q, want application/json", ct)
			}
			if tt.want != "" {
				jsonEqual(t, r.body, tt.want)
			}
			if tt.wantPrefix != "" && !strings.HasPrefix(r.body, tt.wantPrefix) {
				t.Errorf("body = %s, want prefix %s", r.body, tt.wantPrefix)
			}
			if strings.Contains(r.body, "secret internal detail") || strings.Contains(r.body, "unexpected EOF") {
				t.Errorf("internal text leaked: %s", r.body)
			}
		})
	}
	t.Run("Retry-After", func(t *testing.T) {
		r := do(t, s.Handler(), "GET", "/api/fail/throttled/", "", "")
		if got := r.header.Get("Retry-After"); got != "90" {
			t.Errorf("Retry-After = %q, want 90", got)
		}
	})
}

func TestSecurityHeadersAndRequestID(t *testing.T) {
	s := newServer(t, nil, map[string]string{"THOT_ENV": "production", "THOT_SECRET_KEY": "k3J9s8Df7Gh6Jk5Lq4Wz3Xc2Vb1Nm0PoIuYtRe"})
	r := do(t, s.Handler(), "GET", "/healthz", "", "")
	for h, want := range map[string]string{
		"X-Content-Type-Options":    "nosniff",
		"X-Frame-Options":           "DENY",
		"Strict-Transport-Security": "max-age=31536000; includeSubDomains; preload",
	} {
		if got := r.header.Get(h); got != want {
			t.Errorf("%s = %q, want %q", h, got, want)
		}
	}
	if len(r.header.Get("X-Request-ID")) < 16 {
		t.Errorf("X-Request-ID = %q, want a generated id", r.header.Get("X-Request-ID"))
	}
	req := httptest.NewRequest("GET", "/healthz", nil)
	req.Header.Set("X-Request-ID", "abc-123")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if got := rec.Header().Get("X-Request-ID"); got != "abc-123" {
		t.Errorf("incoming X-Request-ID not kept: %q", got)
	}
}

func TestAllowedHostsAndCORS(t *testing.T) {
	s := newServer(t, nil, map[string]string{"ALLOWED_HOSTS": "thot.example.org,.aicox.es", "CORS_ALLOWED_ORIGINS": "https://app.example.org"})
	for host, want := range map[string]int{"thot.example.org": 200, "hps.aicox.es": 200, "evil.test": 400} {
		req := httptest.NewRequest("GET", "/healthz", nil)
		req.Host = host
		rec := httptest.NewRecorder()
		s.Handler().ServeHTTP(rec, req)
		if rec.Code != want {
			t.Errorf("Host %s: status %d, want %d", host, rec.Code, want)
		}
	}
	req := httptest.NewRequest("OPTIONS", "/api/echo/", nil)
	req.Host = "thot.example.org"
	req.Header.Set("Origin", "https://app.example.org")
	req.Header.Set("Access-Control-Request-Method", "POST")
	rec := httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "https://app.example.org" {
		t.Errorf("preflight Allow-Origin = %q", got)
	}
	if got := rec.Header().Get("Access-Control-Allow-Credentials"); got != "true" {
		t.Errorf("preflight Allow-Credentials = %q", got)
	}
	req.Header.Set("Origin", "https://evil.test")
	rec = httptest.NewRecorder()
	s.Handler().ServeHTTP(rec, req)
	if got := rec.Header().Get("Access-Control-Allow-Origin"); got != "" {
		t.Errorf("foreign origin allowed: %q", got)
	}
}

func TestHealthAndReadiness(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		s := newServer(t, db, nil)
		r := do(t, s.Handler(), "GET", "/health", "", "")
		if r.status != 200 {
			t.Fatalf("/health = %d %s", r.status, r.body)
		}
		var hb httpapi.HealthBody
		if err := json.Unmarshal([]byte(r.body), &hb); err != nil {
			t.Fatal(err)
		}
		if hb.Status != "healthy" || hb.Database != "connected" || hb.Service == "" || hb.Timestamp < 1.7e9 {
			t.Errorf("health body = %+v", hb)
		}
		if r := do(t, s.Handler(), "GET", "/readyz", "", ""); r.status != 200 {
			t.Errorf("/readyz = %d %s", r.status, r.body)
		}
		if r := do(t, s.Handler(), "GET", "/healthz", "", ""); r.status != 200 {
			t.Errorf("/healthz = %d", r.status)
		}
		// After the database goes away, health says so.
		db.Close()
		r = do(t, s.Handler(), "GET", "/health", "", "")
		if r.status != 503 || !strings.Contains(r.body, `"disconnected"`) || !strings.Contains(r.body, `"unhealthy"`) {
			t.Errorf("/health with closed db = %d %s", r.status, r.body)
		}
		if r := do(t, s.Handler(), "GET", "/readyz", "", ""); r.status != 503 {
			t.Errorf("/readyz with closed db = %d", r.status)
		}
	})
}

func TestMetrics(t *testing.T) {
	db := dbtest.SQLite(t)
	s := newServer(t, db, nil)
	do(t, s.Handler(), "GET", "/health", "", "")
	do(t, s.Handler(), "GET", "/api/nope/", "", "")
	r := do(t, s.Handler(), "GET", "/metrics", "", "")
	for _, want := range []string{
		`thot_http_requests_total{code="200",method="GET",route="/health"} 1`,
		`thot_http_requests_total{code="404",method="GET",route="unmatched"} 1`,
		`thot_http_request_duration_seconds_bucket{method="GET",route="/health"`,
		`thot_build_info{`,
		`go_sql_max_open_connections{db_name="thot"}`,
		`go_goroutines`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("metrics lack %q", want)
		}
	}
}

// TestCompressionThreshold: bodies of 4 KiB or more are gzipped for a
// client that accepts it; smaller ones go as they are.
func TestCompressionThreshold(t *testing.T) {
	s := newStack(t, dbtest.SQLite(t))
	for _, tc := range []struct {
		path string
		gzip bool
	}{
		{"/api/schema/", true}, // hundreds of KiB
		{"/health", false},     // a few bytes
	} {
		req := httptest.NewRequest("GET", tc.path, nil)
		req.Header.Set("Accept-Encoding", "gzip")
		w := httptest.NewRecorder()
		s.srv.Handler().ServeHTTP(w, req)
		if w.Code != 200 {
			t.Fatalf("%s: %d", tc.path, w.Code)
		}
		if got := w.Header().Get("Content-Encoding") == "gzip"; got != tc.gzip {
			t.Errorf("%s: gzipped = %v, want %v (%d bytes)", tc.path, got, tc.gzip, w.Body.Len())
		}
	}
}
