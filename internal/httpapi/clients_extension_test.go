package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/filestore"
	"github.com/thot-security/thot/internal/httpapi"
	"github.com/thot-security/thot/internal/identity"
)

// Contract tests of the browser extension (legacy repository, branch
// development): every call of every variant, sent as the extension sends
// it — base URL, path and final slash, method, headers, body — and the
// fields it reads. Each call is tried three ways: with an API key (the
// documented one-header change), without credentials from a network in
// THOT_EXTENSION_TRUSTED_NETWORKS (the unchanged extension), and without
// credentials from elsewhere (401, nothing changed, nothing recorded).
// docs/api-compat.md "Browser extension" lists these subtests.

// Client addresses of the three ways.
const (
	extTrustedAddr   = "10.20.0.15"
	extUntrustedAddr = "203.0.113.9"
	extOrigin        = "chrome-extension://hpsautomationextensionidabcdefgh"
)

// extFetchHeaders are what fetch() in the extension's service worker sends
// (apiClient.js request(): Content-Type on every call, GETs included).
func extFetchHeaders() map[string]string {
	return map[string]string{"Content-Type": "application/json", "Accept": "*/*", "Origin": extOrigin,
		"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"}
}

// extTabHeaders are what chrome.tabs.create({url}) sends: a navigation,
// no Origin, no Content-Type, no way to add a header.
func extTabHeaders() map[string]string {
	return map[string]string{"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8",
		"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/126.0 Safari/537.36"}
}

// extSend sends one raw request from a client address.
func extSend(s *stack, remote, method, path string, headers map[string]string, body string) response {
	s.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, rd)
	req.RemoteAddr = remote + ":51234"
	if strings.Contains(remote, ":") {
		req.RemoteAddr = "[" + remote + "]:51234"
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	s.srv.Handler().ServeHTTP(rec, req)
	return response{rec.Code, rec.Header(), rec.Body.String()}
}

// extStack is the test stack served with the given extra settings (the
// same services and database).
func extStack(t *testing.T, db *database.DB, env map[string]string) *stack {
	t.Helper()
	s := newStack(t, db)
	env["THOT_SECRET_KEY"] = testSigningKey
	s.srv = httpapi.New(httpapi.Deps{Config: testConfig(t, env), DB: db, Jobs: s.jobs, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)),
		Auth: s.auth, Identity: s.svc, Custody: s.cust, Files: s.files, Clearance: s.clear})
	return s
}

// extPersonJSON is what the extension reads of a person (popup.js lists,
// content.js fills the government form), plus the signed link.
type extPersonJSON struct {
	TipoDocumento   *string    `json:"tipo_documento"`
	NumeroDocumento string     `json:"numero_documento"`
	FechaNacimiento string     `json:"fecha_nacimiento"`
	Nombre          string     `json:"nombre"`
	PrimerApellido  string     `json:"primer_apellido"`
	SegundoApellido string     `json:"segundo_apellido"`
	Nacionalidad    *string    `json:"nacionalidad"`
	LugarNacimiento string     `json:"lugar_nacimiento"`
	Correo          string     `json:"correo"`
	Telefono        string     `json:"telefono"`
	PDFURL          *string    `json:"pdf_url"`
	PDFURLExpiresAt *time.Time `json:"pdf_url_expires_at"`
}

// extFixture is the request one call works on.
type extFixture struct {
	id, doc, first string
	traslado       bool
}

// extWorld is the shared state of one contract run.
type extWorld struct {
	t  *testing.T
	s  *stack
	db *database.DB
	n  int
}

// fixture inserts a pending request with a fresh document number; a
// traslado gets its filled form.
func (w *extWorld) fixture(traslado bool) extFixture {
	w.t.Helper()
	w.n++
	f := extFixture{doc: fmt.Sprintf("%08dW", 40000000+w.n), first: fmt.Sprintf("Persona%d", w.n), traslado: traslado}
	r := h4Req{Doc: f.doc, First: f.first, Status: "pending"}
	if traslado {
		key := fmt.Sprintf("hps/filled/contrato-%d.pdf", w.n)
		if _, err := w.s.files.Put(context.Background(), key, strings.NewReader("%PDF-1.7 traslado "+f.doc), filestore.PutOptions{}); err != nil {
			w.t.Fatal(err)
		}
		r.Form, r.Type, r.FilledPDF = "traslado", "transfer", key
	}
	f.id = h4InsertRequest(w.t, w.db, r)
	return f
}

// checkPerson asserts the fields content.js copies into the form and
// popup.js shows.
func checkPerson(t *testing.T, p extPersonJSON, f extFixture) {
	t.Helper()
	if p.NumeroDocumento != f.doc || p.Nombre != f.first || p.PrimerApellido != "García" || p.SegundoApellido != "Núñez" ||
		p.FechaNacimiento != "1985-04-12" || p.LugarNacimiento != "Cáceres" || p.Correo != strings.ToLower(f.first)+"@form.example.org" ||
		p.Telefono != "600111222" || p.TipoDocumento == nil || *p.TipoDocumento == "" || p.Nacionalidad == nil || *p.Nacionalidad == "" {
		t.Errorf("person fields: %+v", p)
	}
	if f.traslado != (p.PDFURL != nil) || (p.PDFURL != nil) != (p.PDFURLExpiresAt != nil) {
		t.Errorf("pdf_url for traslado=%v: %v", f.traslado, p.PDFURL)
	}
}

// extCall is one apiClient.js call of a variant.
type extCall struct {
	name     string // apiClient method
	file     string // where the extension builds and sends it
	method   string
	path     string // after the base URL; {dni} is the document number
	body     string // as sent (JSON.stringify), "" = none
	tab      bool   // opened with chrome.tabs.create: no headers at all
	traslado bool   // works on a traslado
	changes  bool   // moves the request to submitted
	// check asserts what the extension reads of a 2xx answer.
	check func(t *testing.T, w *extWorld, r response, f extFixture)
}

func extCheckList(t *testing.T, _ *extWorld, r response, f extFixture) {
	t.Helper()
	var list []extPersonJSON
	if err := json.Unmarshal([]byte(r.body), &list); err != nil {
		t.Fatalf("not a JSON array (data.length, forEach): %v %s", err, r.body)
	}
	for _, p := range list {
		if p.NumeroDocumento == f.doc {
			checkPerson(t, p, f)
			return
		}
		if f.traslado && p.PDFURL == nil {
			t.Errorf("traslado list entry without pdf_url: %+v", p)
		}
	}
	t.Errorf("%s not listed: %s", f.doc, r.body)
}

func extCheckPerson(t *testing.T, _ *extWorld, r response, f extFixture) {
	t.Helper()
	var p extPersonJSON
	if err := json.Unmarshal([]byte(r.body), &p); err != nil {
		t.Fatalf("persona: %v %s", err, r.body)
	}
	checkPerson(t, p, f)
}

// extCheckResult: the extension only needs response.ok and a JSON body
// (request() calls response.json()).
func extCheckResult(t *testing.T, _ *extWorld, r response, _ extFixture) {
	t.Helper()
	var b struct {
		Success bool   `json:"success"`
		Estado  string `json:"estado"`
	}
	if err := json.Unmarshal([]byte(r.body), &b); err != nil || !b.Success || b.Estado != "submitted" {
		t.Errorf("result: %v %s", err, r.body)
	}
}

func extCheckPDF(t *testing.T, _ *extWorld, r response, f extFixture) {
	t.Helper()
	if r.body != "%PDF-1.7 traslado "+f.doc || r.header.Get("Content-Type") != "application/pdf" ||
		!strings.Contains(r.header.Get("Content-Disposition"), "Traslado%20HPS.pdf") || r.header.Get("Cache-Control") != "private, no-store" {
		t.Errorf("pdf: %v %q", r.header, r.body)
	}
}

// The calls of the older builds (extensions/…: FastAPI base, no final
// slash, solicitudes only) and of the newer ones (chrome-extensions/…:
// final slashes, traslados, the PDF tab).
var (
	extOldCalls = []extCall{
		{name: "getPersonas", file: "apiClient.js getPersonas ← popup.js (on open, after enviada)", method: "GET", path: "/personas", check: extCheckList},
		{name: "getPersonaPorDni", file: "apiClient.js getPersonaPorDni ← content.js rellenarFormulario", method: "GET", path: "/persona/{dni}", check: extCheckPerson},
		{name: "actualizarEstadoSolicitud", file: "apiClient.js actualizarEstadoSolicitud (defined, never called)", method: "PUT", path: "/solicitud/{dni}/estado",
			body: `{"estado":"submitted"}`, changes: true, check: extCheckResult},
		{name: "marcarSolicitudEnviada", file: "apiClient.js marcarSolicitudEnviada ← popup.js solicitudEnviadaBtn", method: "PUT", path: "/solicitud/{dni}/enviada",
			changes: true, check: extCheckResult},
	}
	extNewCalls = []extCall{
		{name: "getSolicitudes", file: "apiClient.js getSolicitudes ← popup.js loadSolicitudes", method: "GET", path: "/personas/?tipo=solicitud", check: extCheckList},
		{name: "getTraslados", file: "apiClient.js getTraslados ← popup.js loadTraslados", method: "GET", path: "/personas/?tipo=traslado", traslado: true, check: extCheckList},
		{name: "getPersonaPorDni", file: "apiClient.js getPersonaPorDni ← content.js rellenarFormulario", method: "GET", path: "/persona/{dni}/", check: extCheckPerson},
		{name: "actualizarEstadoSolicitud", file: "apiClient.js actualizarEstadoSolicitud (defined, never called)", method: "PUT", path: "/solicitud/{dni}/estado/",
			body: `{"estado":"submitted"}`, changes: true, check: extCheckResult},
		{name: "marcarSolicitudEnviada", file: "apiClient.js marcarSolicitudEnviada ← popup.js solicitudEnviadaBtn", method: "PUT", path: "/solicitud/{dni}/enviada/",
			changes: true, check: extCheckResult},
		{name: "marcarTrasladoEnviado", file: "apiClient.js marcarTrasladoEnviado ← popup.js trasladoEnviadoBtn", method: "PUT", path: "/traslado/{dni}/enviado/",
			traslado: true, changes: true, check: extCheckResult},
		{name: "descargarPdf", file: "apiClient.js descargarPdf → background.js chrome.tabs.create", method: "GET", path: "/traslado/{dni}/pdf/",
			tab: true, traslado: true, check: extCheckPDF},
	}
	extVariants = []struct {
		dir, base string
		calls     []extCall
	}{
		{"extensions/hps-plugin-prod", "/api/v1/extension", extOldCalls},
		{"extensions/hps-plugin-test", "/api/v1/extension", extOldCalls},
		{"chrome-extensions/hps-plugin-prod", "/api/v1/extension", extNewCalls},
		{"chrome-extensions/hps-plugin-test", "/api/v1/extension", extNewCalls},
	}
)

// TestExtensionClients: every call of every variant, with a key, keyless
// from a trusted network, keyless from elsewhere.
func TestExtensionClients(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		s := extStack(t, db, map[string]string{"THOT_EXTENSION_TRUSTED_NETWORKS": "10.20.0.0/16, fd00:20::/64"})
		admin := s.user("admin-contract@example.org", "Extension-Contract-2026", identity.RoleAdmin)
		_, key := h4NewKey(t, s, s.token(admin.ID), "Chrome oficina")
		w := &extWorld{t: t, s: s, db: db}
		audits := func(actor string) int {
			return h4Count(t, db, "SELECT count(*) FROM audit_logs WHERE actor = ?", actor)
		}
		keyless := "extension, keyless, from " + extTrustedAddr

		for _, v := range extVariants {
			for _, c := range v.calls {
				for _, mode := range []string{"key", "trusted", "untrusted"} {
					t.Run(v.dir+"/"+c.name+"/"+mode, func(t *testing.T) {
						w.t = t
						f := w.fixture(c.traslado)
						path := v.base + strings.ReplaceAll(c.path, "{dni}", f.doc)
						headers := extFetchHeaders()
						if c.tab {
							headers = extTabHeaders()
						}
						addr := extTrustedAddr
						switch mode {
						case "key":
							// The documented change: one header in apiClient.js.
							// A tab cannot carry it, so the keyed extension
							// opens pdf_url instead (below).
							addr = extUntrustedAddr
							if !c.tab {
								headers["X-API-Key"] = key
							}
						case "untrusted":
							addr = extUntrustedAddr
						}
						beforeKeyless, beforeKey := audits(keyless), audits("api-key:Chrome oficina")
						r := extSend(s, addr, c.method, path, headers, c.body)

						if mode == "untrusted" || (mode == "key" && c.tab) {
							if r.status != 401 || !strings.Contains(r.body, "api_key_required") {
								t.Fatalf("%s %s: %d %s, want 401", c.method, path, r.status, r.body)
							}
							if st, _ := h4Status(t, db, f.id); st != "pending" {
								t.Errorf("refused call changed the request: %s", st)
							}
							if n := h4Count(t, db, "SELECT count(*) FROM audit_logs WHERE ip_address = ? AND action = 'extension_keyless'", extUntrustedAddr); n != 0 {
								t.Errorf("refused call recorded as access: %d", n)
							}
							if mode == "key" {
								// The keyed flow: persona (with the key) → pdf_url → tab.
								p := decode[extPersonJSON](t, extSend(s, addr, "GET", v.base+"/persona/"+f.doc+"/",
									map[string]string{"Content-Type": "application/json", "X-API-Key": key}, ""))
								if p.PDFURL == nil {
									t.Fatal("no pdf_url")
								}
								u, err := url.Parse(*p.PDFURL)
								if err != nil || !strings.HasPrefix(u.Path, "/api/v1/extension/pdf/") {
									t.Fatalf("pdf_url %q", *p.PDFURL)
								}
								r = extSend(s, addr, "GET", u.Path, extTabHeaders(), "")
								if r.status != 200 {
									t.Fatalf("pdf_url: %d %s", r.status, r.body)
								}
								c.check(t, w, r, f)
							}
							return
						}
						if r.status != 200 {
							t.Fatalf("%s %s: %d %s", c.method, path, r.status, r.body)
						}
						c.check(t, w, r, f)
						st, _ := h4Status(t, db, f.id)
						if want := map[bool]string{true: "submitted", false: "pending"}[c.changes]; st != want {
							t.Errorf("status %s, want %s", st, want)
						}
						switch mode {
						case "key":
							if n := audits("api-key:Chrome oficina") - beforeKey; n != map[bool]int{true: 1, false: 0}[c.changes] {
								t.Errorf("%d entries under the key", n)
							}
						case "trusted":
							// One access entry per request, plus the change itself.
							if n := h4Count(t, db, "SELECT count(*) FROM audit_logs WHERE actor = ? AND action = 'extension_keyless' AND ip_address = ?",
								keyless, extTrustedAddr); n == 0 {
								t.Error("no access entry")
							}
							want := 1
							if c.changes {
								want = 2
								if n := h4Count(t, db, "SELECT count(*) FROM audit_logs WHERE actor = ? AND record_id = ? AND user_id IS NULL",
									keyless, f.id); n != 1 {
									t.Errorf("change entries under the keyless actor: %d", n)
								}
							}
							if n := audits(keyless) - beforeKeyless; n != want {
								t.Errorf("%d keyless entries, want %d", n, want)
							}
						}
					})
				}
			}
		}
	})
}

// TestExtensionKeylessBoundaries: keyless access is exactly the extension
// routes, from the listed networks only, as the client address is
// determined (THOT_TRUST_PROXY), and never rescues a bad credential.
func TestExtensionKeylessBoundaries(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		s := extStack(t, db, map[string]string{"THOT_EXTENSION_TRUSTED_NETWORKS": "10.20.0.0/16,fd00:20::/64"})
		admin := s.user("admin-bounds@example.org", "Extension-Bounds-2026", identity.RoleAdmin)
		at := s.token(admin.ID)
		revokedID, revoked := h4NewKey(t, s, at, "Chrome retirado")
		if r := s.call("DELETE", "/api/hps/api-keys/"+revokedID+"/", at, nil); r.status != 204 {
			t.Fatal(r.body)
		}
		w := &extWorld{t: t, s: s, db: db}
		f := w.fixture(false)
		persona := "/api/v1/extension/persona/" + f.doc + "/"

		for _, c := range []struct {
			name    string
			addr    string
			headers map[string]string
			method  string
			path    string
			want    int
			code    string
		}{
			{"trusted, Django path", extTrustedAddr, nil, "GET", "/api/extension/personas/", 200, ""},
			{"trusted IPv6", "fd00:20::7", nil, "GET", persona, 200, ""},
			{"trusted IPv4-mapped", "::ffff:10.20.3.4", nil, "GET", persona, 200, ""},
			{"outside the network", "10.21.0.1", nil, "GET", persona, 401, "api_key_required"},
			{"loopback not listed", "127.0.0.1", nil, "GET", persona, 401, "api_key_required"},
			{"trusted with a revoked key", extTrustedAddr, map[string]string{"X-API-Key": revoked}, "GET", persona, 401, "invalid_api_key"},
			{"trusted with an unknown key", extTrustedAddr, map[string]string{"Authorization": "Api-Key thot_nope"}, "GET", persona, 401, "invalid_api_key"},
			{"trusted with a user's JWT", extTrustedAddr, map[string]string{"Authorization": "Bearer " + at}, "GET", persona, 401, "api_key_required"},
			// Nothing beyond the extension scope.
			{"trusted, HPS list", extTrustedAddr, nil, "GET", "/api/hps/requests/", 401, ""},
			{"trusted, API keys", extTrustedAddr, nil, "GET", "/api/hps/api-keys/", 401, ""},
			{"trusted, create API key", extTrustedAddr, nil, "POST", "/api/hps/api-keys/", 401, ""},
			{"trusted, v1 HPS", extTrustedAddr, nil, "GET", "/api/v1/hps/", 401, ""},
			{"trusted, custody", extTrustedAddr, nil, "GET", "/api/productos/", 401, ""},
			// Without THOT_TRUST_PROXY a forwarded address is not believed.
			{"spoofed X-Forwarded-For", extUntrustedAddr, map[string]string{"X-Forwarded-For": extTrustedAddr}, "GET", persona, 401, "api_key_required"},
		} {
			t.Run(c.name, func(t *testing.T) {
				h := extFetchHeaders()
				for k, v := range c.headers {
					h[k] = v
				}
				body := ""
				if c.method == "POST" {
					body = `{"name":"x"}`
				}
				r := extSend(s, c.addr, c.method, c.path, h, body)
				if r.status != c.want || !strings.Contains(r.body, c.code) {
					t.Errorf("%d %s, want %d %s", r.status, r.body, c.want, c.code)
				}
			})
		}
		if n := h4Count(t, db, "SELECT count(*) FROM api_keys"); n != 1 {
			t.Errorf("api keys: %d", n)
		}

		// Behind a proxy (THOT_TRUST_PROXY) the forwarded address decides.
		p := extStack(t, db, map[string]string{"THOT_EXTENSION_TRUSTED_NETWORKS": "10.20.0.0/16", "THOT_TRUST_PROXY": "true"})
		if r := extSend(p, "172.18.0.2", "GET", persona, map[string]string{"X-Forwarded-For": extTrustedAddr}, ""); r.status != 200 {
			t.Errorf("trusted client behind the proxy: %d %s", r.status, r.body)
		}
		if r := extSend(p, extTrustedAddr, "GET", persona, map[string]string{"X-Forwarded-For": extUntrustedAddr}, ""); r.status != 401 {
			t.Errorf("untrusted client behind a trusted proxy: %d %s", r.status, r.body)
		}
		if n := h4Count(t, db, "SELECT count(*) FROM audit_logs WHERE actor = ? AND ip_address = ?", "extension, keyless, from "+extTrustedAddr, extTrustedAddr); n < 2 {
			t.Errorf("keyless entries with the forwarded address: %d", n)
		}

		// Off by default: no address is trusted, loopback included.
		d := extStack(t, db, map[string]string{})
		for _, addr := range []string{extTrustedAddr, "127.0.0.1", "::1"} {
			if r := extSend(d, addr, "GET", persona, extFetchHeaders(), ""); r.status != 401 {
				t.Errorf("default setting, keyless from %s: %d", addr, r.status)
			}
		}
	})
}

// TestExtensionPDFLink: the signed link opens its own request's transfer
// PDF without credentials, until it expires; altered, expired, foreign or
// stale links are 404 invalid_link.
func TestExtensionPDFLink(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		s := extStack(t, db, map[string]string{})
		admin := s.user("admin-link@example.org", "Extension-Link-2026", identity.RoleAdmin)
		_, key := h4NewKey(t, s, s.token(admin.ID), "Chrome enlaces")
		now := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
		s.clear.SetClock(func() time.Time { return now })
		w := &extWorld{t: t, s: s, db: db}
		a, b, sol := w.fixture(true), w.fixture(true), w.fixture(false)
		withKey := map[string]string{"X-API-Key": key}
		link := func(f extFixture, prefix string) (string, time.Time) {
			t.Helper()
			p := decode[extPersonJSON](t, extSend(s, extUntrustedAddr, "GET", prefix+"/persona/"+f.doc+"/", withKey, ""))
			if p.PDFURL == nil || p.PDFURLExpiresAt == nil {
				t.Fatalf("no link for %s", f.doc)
			}
			u, err := url.Parse(*p.PDFURL)
			if err != nil || u.Host != "example.com" {
				t.Fatalf("link %q", *p.PDFURL)
			}
			return u.Path, *p.PDFURLExpiresAt
		}
		open := func(path string) response { return extSend(s, extUntrustedAddr, "GET", path, extTabHeaders(), "") }

		la, exp := link(a, "/api/v1/extension")
		if !strings.HasPrefix(la, "/api/v1/extension/pdf/") || !exp.Equal(now.Add(5*time.Minute)) {
			t.Fatalf("link %s expires %v", la, exp)
		}
		ld, _ := link(a, "/api/extension")
		if !strings.HasPrefix(ld, "/api/extension/pdf/") || !strings.HasSuffix(ld, "/") {
			t.Errorf("Django-prefixed link: %s", ld)
		}
		if p := decode[extPersonJSON](t, extSend(s, extUntrustedAddr, "GET", "/api/v1/extension/persona/"+sol.doc, withKey, "")); p.PDFURL != nil {
			t.Errorf("solicitud with a pdf_url: %v", *p.PDFURL)
		}
		lb, _ := link(b, "/api/v1/extension")

		// Opens, repeatedly (a PDF viewer may fetch twice), each audited.
		for i := 0; i < 2; i++ {
			r := open(la)
			if r.status != 200 {
				t.Fatalf("open: %d %s", r.status, r.body)
			}
			extCheckPDF(t, w, r, a)
		}
		if r := open(ld); r.status != 200 {
			t.Errorf("Django-prefixed link: %d", r.status)
		}
		if r := open(lb); r.status != 200 || r.body != "%PDF-1.7 traslado "+b.doc {
			t.Errorf("second request's link: %d %q", r.status, r.body)
		}
		if n := h4Count(t, db, "SELECT count(*) FROM audit_logs WHERE actor = ? AND action = 'extension_pdf_link'",
			"extension, signed link, from "+extUntrustedAddr); n != 4 {
			t.Errorf("link downloads audited: %d", n)
		}

		// Tampering: every single-character change, the other request's
		// signature on this request's payload, truncation and padding.
		tokA := la[strings.LastIndex(la, "/")+1:]
		tokB := lb[strings.LastIndex(lb, "/")+1:]
		bad := map[string]string{
			"truncated": tokA[:len(tokA)-1], "padded": tokA + "A", "empty-ish": "x",
			"payload of b, signature of a": tokB[:32] + tokA[32:],
			"payload of a, signature of b": tokA[:32] + tokB[32:],
		}
		for i := 0; i < len(tokA); i++ {
			c := byte('A')
			if tokA[i] == 'A' {
				c = 'B'
			}
			bad[fmt.Sprintf("char %d", i)] = tokA[:i] + string(c) + tokA[i+1:]
		}
		for name, tok := range bad {
			if r := open("/api/v1/extension/pdf/" + tok); r.status != 404 || !strings.Contains(r.body, "invalid_link") {
				t.Errorf("%s: %d %s", name, r.status, r.body)
			}
		}

		// A link of another server key does not open here.
		other := *s
		other.srv = httpapi.New(httpapi.Deps{Config: testConfig(t, map[string]string{"THOT_SECRET_KEY": "another-signing-key-0123456789abcdefXYZ"}),
			DB: db, Jobs: s.jobs, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Auth: s.auth, Identity: s.svc, Custody: s.cust, Files: s.files, Clearance: s.clear})
		if r := extSend(&other, extUntrustedAddr, "GET", la, extTabHeaders(), ""); r.status != 404 {
			t.Errorf("link on a server with another key: %d", r.status)
		}

		// Expiry: valid to the last second, refused from its expiry on.
		now = exp.Add(-time.Second)
		if r := open(la); r.status != 200 {
			t.Errorf("a second before expiry: %d", r.status)
		}
		now = exp
		if r := open(la); r.status != 404 || !strings.Contains(r.body, "invalid_link") {
			t.Errorf("at expiry: %d %s", r.status, r.body)
		}
		// A link from the future (clock set back) is refused too.
		now = exp.Add(-10 * time.Minute)
		if r := open(la); r.status != 404 {
			t.Errorf("link living longer than issued: %d", r.status)
		}

		// Sent (still open) it opens, as the document-number route; once
		// the request is closed, its link opens nothing.
		now = time.Date(2026, 3, 2, 11, 0, 0, 0, time.UTC)
		lb, _ = link(b, "/api/v1/extension")
		if r := extSend(s, extUntrustedAddr, "PUT", "/api/v1/extension/traslado/"+b.doc+"/enviado/", withKey, ""); r.status != 200 {
			t.Fatalf("enviado: %d %s", r.status, r.body)
		}
		if r := open(lb); r.status != 200 {
			t.Errorf("link of a sent (open) transfer: %d", r.status)
		}
		if _, err := db.NewRaw("UPDATE hps_requests SET status = 'approved' WHERE id = ?", b.id).Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		if r := open(lb); r.status != 404 || !strings.Contains(r.body, "invalid_link") {
			t.Errorf("link of a closed transfer: %d %s", r.status, r.body)
		}
	})
}
