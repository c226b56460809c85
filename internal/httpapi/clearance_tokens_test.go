package httpapi_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/httpapi"
	"github.com/thot-security/thot/internal/identity"
)

// Form links and the public submission. Helpers carry the hpstok prefix.

const hpstokPass = "Clave-Segura-2026"

// hpstokWorld is a stack with an administrator, a security chief's
// deputy leading a team, and a member.
type hpstokWorld struct {
	*stack
	admin, suplente, member *identity.User
	team                    string
}

func newHpstokWorld(t testing.TB, db *database.DB, env map[string]string) *hpstokWorld {
	t.Helper()
	s := newStack(t, db)
	if env != nil {
		// Rebuild the server on a configuration with these settings (the
		// rate limit is read when routes are registered).
		e := map[string]string{"THOT_SECRET_KEY": testSigningKey}
		for k, v := range env {
			e[k] = v
		}
		s.srv = httpapi.New(httpapi.Deps{Config: testConfig(t, e), DB: db, Jobs: s.jobs, Auth: s.auth, Identity: s.svc,
			Logger:  slog.New(slog.NewTextHandler(io.Discard, nil)),
			Custody: s.cust, Files: s.files, Clearance: s.clear})
	}
	w := &hpstokWorld{stack: s}
	w.admin = s.user("admin@example.org", hpstokPass, identity.RoleAdmin)
	w.suplente = s.user("suplente@example.org", hpstokPass, identity.RoleJefeSeguridadSuplente)
	w.member = s.user("miembro@example.org", hpstokPass, identity.RoleMember)
	w.team = hpstokTeam(t, db, "Equipo Norte", w.suplente)
	return w
}

// hpstokTeam inserts an active team led by lead (who becomes a member).
func hpstokTeam(t testing.TB, db *database.DB, name string, lead *identity.User) string {
	t.Helper()
	ctx, now, id := context.Background(), time.Now().UTC(), uuid.NewString()
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{"INSERT INTO teams (id, name, description, lead_id, is_active, created_at, updated_at) VALUES (?, ?, '', ?, TRUE, ?, ?)", []any{id, name, lead.ID, now, now}},
		{"INSERT INTO team_memberships (team_id, user_id, is_lead, is_active, created_at) VALUES (?, ?, TRUE, TRUE, ?)", []any{id, lead.ID, now}},
	} {
		if _, err := db.NewRaw(q.sql, q.args...).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	return id
}

// hpstokLink is a created link as the Django answer shows it.
type hpstokLink struct {
	ID          string `json:"id"`
	Token       string `json:"token"`
	Email       string `json:"email"`
	URL         string `json:"url"`
	RequestedBy int64  `json:"requested_by"`
	IsUsed      bool   `json:"is_used"`
	IsRevoked   bool   `json:"is_revoked"`
	IsValid     bool   `json:"is_valid"`
	FormType    string `json:"form_type"`
	RequestType string `json:"request_type"`
	ExpiresAt   string `json:"expires_at"`
}

// link creates a form link as user (Django route) and returns it.
func (w *hpstokWorld) link(t testing.TB, as *identity.User, body map[string]any) hpstokLink {
	t.Helper()
	r := w.call("POST", "/api/hps/tokens/", w.token(as.ID), body)
	if r.status != http.StatusCreated {
		t.Fatalf("create link: %d %s", r.status, r.body)
	}
	return decode[hpstokLink](t, r)
}

// hpstokForm is a valid public form for a Spanish adult.
func hpstokForm(email, doc string) map[string]any {
	return map[string]any{"document_type": "206", "document_number": doc, "birth_date": "1985-03-14",
		"first_name": "Begoña", "first_last_name": "Núñez", "second_last_name": "Ibáñez", "nationality": "1",
		"birth_place": "Logroño", "email": email, "phone": "+34 600-123-456", "request_type": "new"}
}

// hpstokOther is a token differing from token in its first character.
func hpstokOther(token string) string {
	if token[0] == 'x' {
		return "y" + token[1:]
	}
	return "x" + token[1:]
}

func hpstokPublic(token, formType string) string {
	return "/api/hps/requests/public/?token=" + url.QueryEscape(token) + "&form_type=" + url.QueryEscape(formType)
}

func hpstokValidate(token, email string) string {
	return "/api/hps/tokens/validate/?token=" + url.QueryEscape(token) + "&email=" + url.QueryEscape(email)
}

func hpstokScalar[T any](t testing.TB, db *database.DB, q string, args ...any) T {
	t.Helper()
	var v T
	if err := db.NewRaw(q, args...).Scan(context.Background(), &v); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
	return v
}

func hpstokExpect(t testing.TB, what string, r response, status int, contains ...string) {
	t.Helper()
	if r.status != status {
		t.Fatalf("%s: status %d, want %d: %s", what, r.status, status, r.body)
	}
	for _, c := range contains {
		if !strings.Contains(r.body, c) {
			t.Fatalf("%s: body lacks %q: %s", what, c, r.body)
		}
	}
}

func TestHPSTokensCreateListRevoke(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newHpstokWorld(t, db, nil)
		admin := w.token(w.admin.ID)

		l := w.link(t, w.admin, map[string]any{"email": "Nuevo@Example.org", "purpose": "Proyecto Alfa", "hours_valid": 24, "form_type": "traslado"})
		if len(l.Token) != 43 || strings.ContainsAny(l.Token, "+/=") {
			t.Fatalf("token %q: want 43 base64url characters", l.Token)
		}
		wantURL := "https://thot.example.org/hps-form?token=" + l.Token + "&email=nuevo%40example.org&type=traslado"
		if l.URL != wantURL || l.Email != "nuevo@example.org" || l.FormType != "traslado" || l.RequestType != "transfer" ||
			l.RequestedBy != w.admin.ID || !l.IsValid || l.IsUsed {
			t.Fatalf("created link: %+v (want url %s)", l, wantURL)
		}
		exp, _ := time.Parse(time.RFC3339, l.ExpiresAt)
		if d := time.Until(exp); d < 23*time.Hour || d > 24*time.Hour {
			t.Fatalf("expires_at %s: want 24 h from now", l.ExpiresAt)
		}
		// Only the hash and the prefix are stored.
		sum := sha256.Sum256([]byte(l.Token))
		if n := hpstokScalar[int](t, db, "SELECT count(*) FROM hps_tokens WHERE token_hash = ? AND token_prefix = ?", hex.EncodeToString(sum[:]), l.Token[:8]); n != 1 {
			t.Fatalf("stored hash/prefix rows: %d", n)
		}
		// The form-link e-mail is queued with the URL.
		body := hpstokScalar[string](t, db, "SELECT body_text FROM mail_messages WHERE template = 'hps_form_link' AND to_addr = ?", "nuevo@example.org")
		if !strings.Contains(body, l.URL) || !strings.Contains(body, "Proyecto Alfa") {
			t.Fatalf("form-link mail lacks URL or purpose:\n%s", body)
		}
		// Audited with the prefix, never the token or its hash.
		audited := hpstokScalar[string](t, db, "SELECT new_values FROM audit_logs WHERE table_name = 'hps_tokens' AND record_id = ? AND action = 'create'", l.ID)
		var entry map[string]any
		if err := json.Unmarshal([]byte(audited), &entry); err != nil {
			t.Fatal(err)
		}
		if entry["prefix"] != l.Token[:8] || strings.Contains(audited, l.Token) || strings.Contains(audited, hex.EncodeToString(sum[:])) {
			t.Fatalf("create audit entry: %s", audited)
		}

		// Lists and single reads show the prefix, never the token.
		lr := w.call("GET", "/api/hps/tokens/", admin, nil)
		hpstokExpect(t, "list", lr, 200, l.Token[:8]+"…")
		if strings.Contains(lr.body, l.Token) {
			t.Fatalf("list shows the full token: %s", lr.body)
		}
		gr := w.call("GET", "/api/hps/tokens/"+l.ID+"/", admin, nil)
		hpstokExpect(t, "get", gr, 200, l.Token[:8]+"…")
		if strings.Contains(gr.body, l.Token) {
			t.Fatalf("get shows the full token: %s", gr.body)
		}
		hpstokExpect(t, "page", w.call("GET", "/api/hps/tokens/?page=1&email=NUEVO@example.org", admin, nil), 200, `"count":1`)

		// The FastAPI shape.
		v1 := w.call("POST", "/api/v1/hps/tokens/", admin, map[string]any{"email": "otro@example.org"})
		hpstokExpect(t, "v1 create", v1, 201, `"url":"https://thot.example.org/hps-form?token=`, `&type=nueva"`)
		v1b := decode[map[string]any](t, v1)
		if len(v1b) != 4 || len(v1b["token"].(string)) != 43 {
			t.Fatalf("v1 create shape: %v", v1b)
		}

		// Input rules, per field.
		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"email": "no-es-correo"}, "email"},
			{map[string]any{"email": "a@example.org", "hours_valid": 0}, "hours_valid"},
			{map[string]any{"email": "a@example.org", "hours_valid": 169}, "hours_valid"},
			{map[string]any{"email": "a@example.org", "purpose": strings.Repeat("x", 501)}, "purpose"},
			{map[string]any{"email": "a@example.org", "form_type": "cualquiera"}, "form_type"},
			{map[string]any{}, "email"},
		} {
			hpstokExpect(t, "bad "+c.field, w.call("POST", "/api/hps/tokens/", admin, c.body), 400, `"`+c.field+`"`)
		}

		// Permissions: a member may not make, list or revoke links; the
		// deputy may make them but not list them.
		m := w.token(w.member.ID)
		hpstokExpect(t, "member create", w.call("POST", "/api/hps/tokens/", m, map[string]any{"email": "x@example.org"}), 403)
		hpstokExpect(t, "member list", w.call("GET", "/api/hps/tokens/", m, nil), 403)
		hpstokExpect(t, "member revoke", w.call("DELETE", "/api/hps/tokens/"+l.ID+"/", m, nil), 403)
		sup := w.token(w.suplente.ID)
		hpstokExpect(t, "deputy create", w.call("POST", "/api/hps/tokens/", sup, map[string]any{"email": "x@example.org"}), 201)
		hpstokExpect(t, "deputy list", w.call("GET", "/api/hps/tokens/", sup, nil), 403)

		// Revoke: 204, audited, the link stops working, twice is harmless.
		hpstokExpect(t, "revoke", w.call("DELETE", "/api/hps/tokens/"+l.ID+"/", admin, nil), 204)
		hpstokExpect(t, "revoke again", w.call("DELETE", "/api/hps/tokens/"+l.ID+"/", admin, nil), 204)
		if n := hpstokScalar[int](t, db, "SELECT count(*) FROM audit_logs WHERE table_name = 'hps_tokens' AND record_id = ? AND action = 'update'", l.ID); n != 1 {
			t.Fatalf("revoke audit entries: %d", n)
		}
		hpstokExpect(t, "get revoked", w.call("GET", "/api/hps/tokens/"+l.ID+"/", admin, nil), 200, `"is_revoked":true`, `"is_valid":false`)
		hpstokExpect(t, "validate revoked", w.call("GET", hpstokValidate(l.Token, ""), "", nil), 400, `"is_revoked":true`, `"is_valid":false`)
		hpstokExpect(t, "submit revoked", w.call("POST", hpstokPublic(l.Token, "traslado"), "", hpstokForm("nuevo@example.org", "12345678Z")), 401, "Token inválido o expirado")
		hpstokExpect(t, "unknown id", w.call("DELETE", "/api/hps/tokens/"+uuid.NewString()+"/", admin, nil), 404)
		hpstokExpect(t, "bad id", w.call("GET", "/api/hps/tokens/nope/", admin, nil), 404)
	})
}

func TestHPSTokensValidate(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newHpstokWorld(t, db, nil)
		l := w.link(t, w.admin, map[string]any{"email": "valida@example.org", "purpose": "Alta"})

		// Django answers.
		ok := w.call("GET", hpstokValidate(l.Token, "VALIDA@example.org"), "", nil)
		hpstokExpect(t, "valid", ok, 200, `"is_valid":true`, `"email":"valida@example.org"`, `"purpose":"Alta"`, `"expires_at"`)
		hpstokExpect(t, "no email", w.call("GET", hpstokValidate(l.Token, ""), "", nil), 200, `"is_valid":true`)
		hpstokExpect(t, "unknown", w.call("GET", hpstokValidate(hpstokOther(l.Token), ""), "", nil), 404, `"is_valid":false`)
		hpstokExpect(t, "missing", w.call("GET", "/api/hps/tokens/validate/", "", nil), 400, `"token"`)
		hpstokExpect(t, "mismatch", w.call("GET", hpstokValidate(l.Token, "otra@example.org"), "", nil), 400, "no coincide", `"is_valid":false`)

		// FastAPI answers.
		v1 := "/api/v1/hps/tokens/validate?token=" + l.Token
		hpstokExpect(t, "v1 valid", w.call("GET", v1+"&email=valida@example.org", "", nil), 200,
			`"is_valid":true`, `"requested_by_name":"Test admin"`, `"purpose":"Alta"`)
		hpstokExpect(t, "v1 unknown", w.call("GET", "/api/v1/hps/tokens/validate?token=nada", "", nil), 404, "Token no encontrado")
		hpstokExpect(t, "v1 mismatch", w.call("GET", v1+"&email=otra@example.org", "", nil), 400, "no coincide")

		// Expiry: 72 hours by default.
		w.clear.SetClock(func() time.Time { return time.Now().Add(73 * time.Hour) })
		hpstokExpect(t, "expired", w.call("GET", hpstokValidate(l.Token, ""), "", nil), 400, `"is_expired":true`, `"is_used":false`)
		hpstokExpect(t, "v1 expired", w.call("GET", v1, "", nil), 404, "Token no encontrado")
		hpstokExpect(t, "submit expired", w.call("POST", hpstokPublic(l.Token, ""), "", hpstokForm("valida@example.org", "12345678Z")), 401, "Token inválido o expirado")
		w.clear.SetClock(time.Now)

		// Used.
		hpstokExpect(t, "submit", w.call("POST", hpstokPublic(l.Token, ""), "", hpstokForm("valida@example.org", "12345678Z")), 201)
		hpstokExpect(t, "used", w.call("GET", hpstokValidate(l.Token, ""), "", nil), 400, `"is_used":true`, `"is_expired":false`)
		hpstokExpect(t, "v1 used", w.call("GET", v1, "", nil), 404)
	})
}

// hpstokUser is the account row a submission made.
type hpstokUser struct {
	ID                 int64  `bun:"id"`
	Username           string `bun:"username"`
	FirstName          string `bun:"first_name"`
	LastName           string `bun:"last_name"`
	TeamID             string `bun:"team_id"`
	Role               string `bun:"role"`
	MustChangePassword bool   `bun:"must_change_password"`
	IsTempPassword     bool   `bun:"is_temp_password"`
}

func hpstokAccount(t *testing.T, db *database.DB, email string) hpstokUser {
	t.Helper()
	var u hpstokUser
	if err := db.NewRaw(`SELECT u.id, u.username, u.first_name, u.last_name, CAST(u.team_id AS TEXT) AS team_id, r.name AS role,
		u.must_change_password, u.is_temp_password FROM users AS u JOIN roles AS r ON r.id = u.role_id WHERE u.email = ?`, email).Scan(context.Background(), &u); err != nil {
		t.Fatalf("account %s: %v", email, err)
	}
	return u
}

func TestHPSPublicSubmit(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newHpstokWorld(t, db, nil)
		ctx := context.Background()

		// A link from the deputy, who leads a team: the new account joins it.
		l := w.link(t, w.suplente, map[string]any{"email": "Solicitante@Example.org"})
		form := hpstokForm("contacto@example.org", " 12345678z ")

		// A bad form is a 400 per field and does not use the link.
		bad := hpstokForm("contacto@example.org", "12345678Z")
		bad["birth_date"], bad["phone"] = "2020-01-01", "12"
		hpstokExpect(t, "bad form", w.call("POST", hpstokPublic(l.Token, "nueva"), "", bad), 400, `"birth_date"`, `"phone"`)
		// Without a token, or a wrong one: 401 before the form is read.
		hpstokExpect(t, "no token", w.call("POST", "/api/hps/requests/public/", "", form), 401, "Token inválido o expirado")
		hpstokExpect(t, "wrong token", w.call("POST", hpstokPublic(hpstokOther(l.Token), ""), "", bad), 401)

		r := w.call("POST", hpstokPublic(l.Token, "nueva"), "", form)
		hpstokExpect(t, "submit", r, 201, `"user_created":true`, `"status":"pending"`, `"document_number":"12345678Z"`,
			`"form_type":"solicitud"`, `"request_type":"new"`)
		for _, leak := range []string{"password", "temp_password"} {
			if strings.Contains(r.body, leak) {
				t.Fatalf("answer mentions %q: %s", leak, r.body)
			}
		}
		got := decode[map[string]any](t, r)
		reqID := got["id"].(string)

		u := hpstokAccount(t, db, "solicitante@example.org")
		if u.Role != identity.RoleMember || u.TeamID != w.team || !u.MustChangePassword || !u.IsTempPassword ||
			u.Username != "solicitante@example.org" || u.FirstName != "Begoña" || u.LastName != "Núñez Ibáñez" {
			t.Fatalf("account: %+v (team want %s)", u, w.team)
		}
		if n := hpstokScalar[int](t, db, "SELECT count(*) FROM team_memberships WHERE user_id = ? AND team_id = ? AND is_active", u.ID, w.team); n != 1 {
			t.Fatalf("membership rows: %d", n)
		}
		type reqRow struct {
			UserID        int64  `bun:"user_id"`
			SubmittedByID int64  `bun:"submitted_by_id"`
			Status        string `bun:"status"`
			Email         string `bun:"email"`
		}
		var rr reqRow
		if err := db.NewRaw("SELECT user_id, submitted_by_id, status, email FROM hps_requests WHERE id = ?", reqID).Scan(ctx, &rr); err != nil {
			t.Fatal(err)
		}
		if rr.UserID != u.ID || rr.SubmittedByID != w.suplente.ID || rr.Status != "pending" || rr.Email != "contacto@example.org" {
			t.Fatalf("request row: %+v", rr)
		}
		if n := hpstokScalar[int](t, db, "SELECT count(*) FROM hps_tokens WHERE id = ? AND is_used AND used_at IS NOT NULL AND request_id = ?", l.ID, reqID); n != 1 {
			t.Fatal("link not marked used with its request")
		}
		for _, tbl := range []string{"hps_requests", "hps_tokens", "users"} {
			if n := hpstokScalar[int](t, db, "SELECT count(*) FROM audit_logs WHERE table_name = ? AND actor = ?", tbl, "hps-token:"+l.Token[:8]); n != 1 {
				t.Fatalf("audit entries on %s by the link: %d", tbl, n)
			}
		}
		// The credentials e-mail goes to the account's e-mail, with the
		// login URL and the temporary password, which logs in.
		mail := hpstokScalar[string](t, db, "SELECT body_text FROM mail_messages WHERE template = 'credentials' AND to_addr = ?", "solicitante@example.org")
		temp := hpstokTempPassword(t, mail)
		if !strings.Contains(mail, "https://thot.example.org/login") || strings.Contains(r.body, temp) {
			t.Fatalf("credentials mail:\n%s", mail)
		}
		login := w.call("POST", "/api/token/", "", map[string]any{"username": "solicitante@example.org", "password": temp})
		hpstokExpect(t, "login with the temporary password", login, 200, `"access"`)

		// Single use: the same link again is 401, and changes nothing.
		hpstokExpect(t, "second submit", w.call("POST", hpstokPublic(l.Token, "nueva"), "", form), 401, "Token inválido o expirado")
		if n := hpstokScalar[int](t, db, "SELECT count(*) FROM hps_requests"); n != 1 {
			t.Fatalf("requests after the second submit: %d", n)
		}

		// One open request per person: a second link for the same person
		// is refused with 409 and stays unused.
		l2 := w.link(t, w.admin, map[string]any{"email": "solicitante@example.org", "form_type": "renovacion"})
		hpstokExpect(t, "second open request", w.call("POST", hpstokPublic(l2.Token, ""), "", form), 409, "open_request_exists")
		hpstokExpect(t, "link kept", w.call("GET", hpstokValidate(l2.Token, ""), "", nil), 200)

		// An existing account (no link creator's team: AICOX stays) is
		// used as it is: no account made, no credentials mailed.
		l3 := w.link(t, w.admin, map[string]any{"email": w.member.Email, "form_type": "renovacion"})
		r3 := w.call("POST", "/api/v1/hps/public?token="+l3.Token+"&hps_type=nueva", "", hpstokForm(w.member.Email, "X1234567L"))
		hpstokExpect(t, "existing account (v1)", r3, 201, `"user_created":false`, `"request_type":"renewal"`)
		if n := hpstokScalar[int](t, db, "SELECT count(*) FROM mail_messages WHERE template = 'credentials'"); n != 1 {
			t.Fatalf("credentials mails: %d", n)
		}
		// A deputy's link to an existing account adds it to the deputy's
		// team.
		other := w.user("otra@example.org", hpstokPass, identity.RoleMember)
		l4 := w.link(t, w.suplente, map[string]any{"email": other.Email})
		hpstokExpect(t, "existing account joins the team", w.call("POST", hpstokPublic(l4.Token, ""), "", hpstokForm(other.Email, "Y7654321G")), 201)
		if n := hpstokScalar[int](t, db, "SELECT count(*) FROM team_memberships WHERE user_id = ? AND team_id = ? AND is_active", other.ID, w.team); n != 1 {
			t.Fatalf("existing account's membership in the deputy's team: %d", n)
		}

		// An administrator's link for a new person: AICOX.
		l5 := w.link(t, w.admin, map[string]any{"email": "aicox@example.org"})
		hpstokExpect(t, "admin link", w.call("POST", hpstokPublic(l5.Token, ""), "", hpstokForm("aicox@example.org", "Z0000001R")), 201, `"user_created":true`)
		if u := hpstokAccount(t, db, "aicox@example.org"); u.TeamID != identity.AICOXTeamID {
			t.Fatalf("admin's applicant team: %s", u.TeamID)
		}

		// A transfer link without an active template: filed without a PDF.
		l6 := w.link(t, w.admin, map[string]any{"email": "sin-plantilla@example.org", "form_type": "traslado"})
		r6 := w.call("POST", hpstokPublic(l6.Token, "nueva"), "", hpstokForm("sin-plantilla@example.org", "Z0000002W"))
		hpstokExpect(t, "transfer without template", r6, 201, `"form_type":"traslado"`, `"request_type":"transfer"`,
			`"template":null`, `"filled_pdf":null`, `"user_email":"sin-plantilla@example.org"`)
	})
}

// hpstokTempPassword is the temporary password in a credentials e-mail.
func hpstokTempPassword(t *testing.T, text string) string {
	t.Helper()
	const label = "Contraseña temporal:"
	i := strings.Index(text, label)
	if i < 0 {
		t.Fatalf("no temporary password in:\n%s", text)
	}
	rest := strings.TrimSpace(text[i+len(label):])
	if j := strings.IndexAny(rest, " \r\n"); j >= 0 {
		rest = rest[:j]
	}
	if len(rest) != 12 {
		t.Fatalf("temporary password %q", rest)
	}
	return rest
}

func TestHPSPublicRateLimit(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newHpstokWorld(t, db, map[string]string{"THOT_HPS_PUBLIC_RATE_LIMIT": "3"})
		from := func(ip, method, path string, body string) response {
			req := httptest.NewRequest(method, path, strings.NewReader(body))
			req.RemoteAddr = ip + ":4242"
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			rec := httptest.NewRecorder()
			w.srv.Handler().ServeHTTP(rec, req)
			return response{rec.Code, rec.Header(), rec.Body.String()}
		}
		// Validation and submission share the address's budget.
		hpstokExpect(t, "1", from("203.0.113.7", "GET", "/api/hps/tokens/validate/?token=a", ""), 404)
		hpstokExpect(t, "2", from("203.0.113.7", "GET", "/api/v1/hps/tokens/validate?token=a", ""), 404)
		hpstokExpect(t, "3", from("203.0.113.7", "POST", "/api/hps/requests/public/?token=a", "{}"), 401)
		r := from("203.0.113.7", "GET", "/api/hps/tokens/validate/?token=a", "")
		hpstokExpect(t, "4th", r, 429, `"detail"`)
		ra := r.header.Get("Retry-After")
		if ra == "" || ra == "0" {
			t.Fatalf("Retry-After %q", ra)
		}
		hpstokExpect(t, "4th submit", from("203.0.113.7", "POST", "/api/v1/hps/public?token=a", "{}"), 429)
		// Another address has its own budget; authenticated routes are not
		// limited.
		hpstokExpect(t, "other address", from("203.0.113.8", "GET", "/api/hps/tokens/validate/?token=a", ""), 404)
		for range 5 {
			hpstokExpect(t, "authenticated", w.call("GET", "/api/hps/tokens/", w.token(w.admin.ID), nil), 200)
		}
	})
}
