package httpapi_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/identity"
)

// Contract tests for the session calls of both legacy frontends (public
// legacy repository, branch development), issue 9 items 1–3. Each request
// is sent as the client sends it and each test checks the fields the
// client reads:
//
//   - cryptotrace (Next.js, fetch): components/auth/LoginForm.tsx,
//     lib/api.ts (apiFetch always sends Content-Type: application/json,
//     GETs included; its refreshToken()), components/auth/CambiarPassword.tsx,
//     app/perfil/page.tsx, components/albaranes/AC21Detail.tsx (its own
//     refresh at /api/auth/token/refresh/); protectedRoute.tsx, Layout.tsx
//     and LoginForm.tsx decode the access token's payload (role, exp,
//     must_change_password).
//   - hps-system (React, axios): services/apiService.js (the request
//     interceptor adds the stored access token to every call, the refresh
//     call and the login included; the response interceptor refreshes on
//     any 401, the refresh call's own 401 included), store/authStore.js,
//     components/ChangePasswordModal.jsx, components/Login.jsx and
//     hooks/useSessionPersistence.js (both verify by GET
//     /api/hps/user/profile/), config/api.js (the paths).
//
// Neither client stores the tokens a password change returns, and both
// keep the refresh token of the login, storing only new access tokens.

// fetchCall sends a request as cryptotrace's fetch calls do: JSON body,
// Content-Type: application/json on every call (apiFetch sets it on GETs
// too), the bearer token when there is one.
func fetchCall(s *stack, method, path, token string, body any) response {
	s.t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = strings.NewReader(string(b))
	}
	req := httptest.NewRequest(method, path, r)
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	s.srv.Handler().ServeHTTP(rec, req)
	return response{rec.Code, rec.Header(), rec.Body.String()}
}

// axiosCall sends a request as the hps apiClient does: Accept:
// application/json always; Content-Type: application/json only with a
// body (axios drops it when there is no data: the logout has none); the
// stored access token, whatever its state, on every call.
func axiosCall(s *stack, method, path, token string, data any) response {
	s.t.Helper()
	var r io.Reader
	req := httptest.NewRequest(method, path, nil)
	if data != nil {
		b, _ := json.Marshal(data)
		r = strings.NewReader(string(b))
		req = httptest.NewRequest(method, path, r)
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Accept", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	s.srv.Handler().ServeHTTP(rec, req)
	return response{rec.Code, rec.Header(), rec.Body.String()}
}

// payload decodes a JWT's claims without checking it, as jwtDecode and
// atob(token.split('.')[1]) do in the clients.
func payload(t testing.TB, tok string) map[string]any {
	t.Helper()
	c := jwt.MapClaims{}
	if _, _, err := jwt.NewParser().ParseUnverified(tok, c); err != nil {
		t.Fatalf("not a JWT: %v (%q)", err, tok)
	}
	return c
}

// keys is the sorted key set of a JSON object answer.
func keys(t testing.TB, r response) []string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil {
		t.Fatalf("not a JSON object: %s", r.body)
	}
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// sessionFixture is a stack with a frozen, movable clock and one user.
type sessionFixture struct {
	*stack
	now  time.Time
	user *identity.User
	pw   string
}

func newSessionFixture(t *testing.T, db *database.DB, role string) *sessionFixture {
	t.Helper()
	f := &sessionFixture{stack: newStack(t, db), now: time.Now().UTC(), pw: "Sesion-Estable-2026"}
	clock := func() time.Time { return f.now }
	f.auth.Tokens().Now, f.auth.Now = clock, clock
	f.user = f.stack.user("sesion@example.org", f.pw, role)
	return f
}

// advance moves the clock (access tokens last 480 minutes here).
func (f *sessionFixture) advance(d time.Duration) { f.now = f.now.Add(d) }

// temporary gives the user a temporary password, as an administrator's
// reset does (every session of the user ends).
func (f *sessionFixture) temporary(pw string) {
	f.t.Helper()
	hash, err := f.hasher.Hash(pw)
	if err != nil {
		f.t.Fatal(err)
	}
	if err := f.store.SetTemporaryPassword(context.Background(), f.user.ID, hash); err != nil {
		f.t.Fatal(err)
	}
	f.pw = pw
}

// tokens returns access and refresh of a 200 login or refresh answer.
func tokensOf(t testing.TB, what string, r response) (access, refresh string) {
	t.Helper()
	if r.status != 200 {
		t.Fatalf("%s: %d %s", what, r.status, r.body)
	}
	m := decode[map[string]any](t, r)
	access, _ = m["access"].(string)
	refresh, _ = m["refresh"].(string)
	if access == "" {
		t.Fatalf("%s: no access token in %s", what, r.body)
	}
	return access, refresh
}

// ---- cryptotrace ----

// LoginForm.tsx handleLogin: fetch POST `${API_URL}/token/` {username,
// password}; stores data.access and data.refresh; decodes data.access for
// role (admin or crypto only), must_change_password and username.
func TestCryptotraceLoginFormLogin(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newSessionFixture(t, db, identity.RoleCrypto)
		r := fetchCall(f.stack, "POST", "/api/token/", "", map[string]string{"username": "sesion@example.org", "password": f.pw})
		access, refresh := tokensOf(t, "login", r)
		if refresh == "" {
			t.Fatalf("no refresh token: %s", r.body)
		}
		p := payload(t, access)
		if p["role"] != "crypto" || p["must_change_password"] != false || p["username"] != "sesion@example.org" {
			t.Errorf("claims the client reads: %v", p)
		}
		if exp, _ := p["exp"].(float64); int64(exp) <= f.now.Unix() {
			t.Errorf("exp %v is not in the future", p["exp"])
		}
		if p["sid"] == nil || p["sid"] != payload(t, refresh)["sid"] {
			t.Errorf("access and refresh of one login are not one session: %v / %v", p["sid"], payload(t, refresh)["sid"])
		}
		// The forced first login: the claim sends the client to
		// /cambiar-password.
		f.temporary("Temporal-Abc-234")
		access, _ = tokensOf(t, "login with a temporary password",
			fetchCall(f.stack, "POST", "/api/token/", "", map[string]string{"username": "sesion@example.org", "password": f.pw}))
		if payload(t, access)["must_change_password"] != true {
			t.Errorf("must_change_password claim: %v", payload(t, access))
		}
	})
}

// lib/api.ts refreshToken(): fetch POST `${API_URL}/token/refresh/`
// {refresh} with the refresh token of the login; reads data.access only.
// With thot's default (no rotation) the answer is SimpleJWT's {"access"}
// and the same refresh token keeps working (issue 9 item 2).
func TestCryptotraceAPIRefreshToken(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newSessionFixture(t, db, identity.RoleCrypto)
		_, refresh := tokensOf(t, "login", fetchCall(f.stack, "POST", "/api/token/", "", map[string]string{"username": "sesion@example.org", "password": f.pw}))
		for i := 1; i <= 3; i++ {
			f.advance(9 * time.Hour)
			r := fetchCall(f.stack, "POST", "/api/token/refresh/", "", map[string]string{"refresh": refresh})
			access, _ := tokensOf(t, "refresh", r)
			if got := keys(t, r); !slices.Equal(got, []string{"access"}) {
				t.Errorf("refresh %d answer keys %v, want SimpleJWT's [access]", i, got)
			}
			// ProtectedRoute and Layout read role and exp of the new token.
			p := payload(t, access)
			if p["role"] != "crypto" || int64(p["exp"].(float64)) <= f.now.Unix() {
				t.Errorf("refresh %d claims: %v", i, p)
			}
			if r := fetchCall(f.stack, "GET", "/api/auth/perfil/", access, nil); r.status != 200 {
				t.Errorf("refresh %d: the new access token: %d %s", i, r.status, r.body)
			}
		}
	})
}

// AC21Detail.tsx: on a 401 when saving, fetch POST
// `${API_URL}/auth/token/refresh/` {refresh}; reads refreshData.access.
// The legacy had no such path (404): thot serves it as the refresh view.
func TestCryptotraceAC21DetailRefresh(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newSessionFixture(t, db, identity.RoleCrypto)
		_, refresh := tokensOf(t, "login", fetchCall(f.stack, "POST", "/api/token/", "", map[string]string{"username": "sesion@example.org", "password": f.pw}))
		f.advance(9 * time.Hour)
		r := fetchCall(f.stack, "POST", "/api/auth/token/refresh/", "", map[string]string{"refresh": refresh})
		access, _ := tokensOf(t, "AC21 refresh", r)
		if r := fetchCall(f.stack, "GET", "/api/productos/", access, nil); r.status != 200 {
			t.Errorf("retry with the new token: %d %s", r.status, r.body)
		}
	})
}

// app/perfil/page.tsx obtenerPerfilUsuario(): apiFetch GET /auth/perfil/;
// shows username, first_name, last_name, email, created_at and
// must_change_password.
func TestCryptotracePerfil(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newSessionFixture(t, db, identity.RoleCrypto)
		access, _ := tokensOf(t, "login", fetchCall(f.stack, "POST", "/api/token/", "", map[string]string{"username": "sesion@example.org", "password": f.pw}))
		r := fetchCall(f.stack, "GET", "/api/auth/perfil/", access, nil)
		if r.status != 200 {
			t.Fatalf("perfil: %d %s", r.status, r.body)
		}
		want := []string{"created_at", "email", "first_name", "last_name", "must_change_password", "username"}
		if got := keys(t, r); !slices.Equal(got, want) {
			t.Errorf("keys %v, want %v", got, want)
		}
		m := decode[map[string]any](t, r)
		if m["username"] != "sesion@example.org" || m["must_change_password"] != false {
			t.Errorf("perfil: %v", m)
		}
		if _, err := time.Parse(time.RFC3339Nano, m["created_at"].(string)); err != nil {
			t.Errorf("created_at %v: new Date() needs ISO 8601", m["created_at"])
		}
	})
}

// CambiarPassword.tsx (perfil page, voluntary; /cambiar-password page,
// forced): apiFetch POST /auth/cambiar-password/ {current_password,
// new_password, confirm_password}; reads response.password_change_required
// (=== false) and response.message, and stores no token: the tokens it
// holds must go on working (issue 9 item 1).
func TestCryptotraceCambiarPassword(t *testing.T) {
	for _, forced := range []bool{false, true} {
		name := "voluntary"
		if forced {
			name = "forced"
		}
		t.Run(name, func(t *testing.T) {
			dbtest.Run(t, func(t *testing.T, db *database.DB) {
				f := newSessionFixture(t, db, identity.RoleCrypto)
				if forced {
					f.temporary("Temporal-Abc-234")
				}
				access, refresh := tokensOf(t, "login", fetchCall(f.stack, "POST", "/api/token/", "", map[string]string{"username": "sesion@example.org", "password": f.pw}))
				if forced {
					if r := fetchCall(f.stack, "GET", "/api/productos/", access, nil); r.status != 403 || !strings.Contains(r.body, "password_change_required") {
						t.Fatalf("before the forced change: %d %s", r.status, r.body)
					}
				}
				r := fetchCall(f.stack, "POST", "/api/auth/cambiar-password/", access, map[string]string{
					"current_password": f.pw, "new_password": "Nueva-Clave-Segura-9", "confirm_password": "Nueva-Clave-Segura-9"})
				if r.status != 200 {
					t.Fatalf("cambiar-password: %d %s", r.status, r.body)
				}
				m := decode[map[string]any](t, r)
				if m["password_change_required"] != false || m["message"] == "" || m["message"] == nil {
					t.Errorf("answer: %s", r.body)
				}
				if r := fetchCall(f.stack, "GET", "/api/productos/", access, nil); r.status != 200 {
					t.Errorf("the stored access token after the change: %d %s", r.status, r.body)
				}
				if r := fetchCall(f.stack, "GET", "/api/auth/perfil/", access, nil); r.status != 200 || !strings.Contains(r.body, `"must_change_password":false`) {
					t.Errorf("perfil after the change: %d %s", r.status, r.body)
				}
				access2, _ := tokensOf(t, "refresh with the stored refresh token", fetchCall(f.stack, "POST", "/api/token/refresh/", "", map[string]string{"refresh": refresh}))
				if payload(t, access2)["must_change_password"] != false {
					t.Errorf("a refreshed token still says must_change_password: %v", payload(t, access2))
				}
				// Wrong current password: a 400 the page reports; nothing changes.
				r = fetchCall(f.stack, "POST", "/api/auth/cambiar-password/", access, map[string]string{
					"current_password": "no-es-esta", "new_password": "Otra-Clave-Segura-9", "confirm_password": "Otra-Clave-Segura-9"})
				if r.status != 400 || !strings.Contains(r.body, "current_password") {
					t.Errorf("wrong current password: %d %s", r.status, r.body)
				}
				if r := fetchCall(f.stack, "GET", "/api/auth/perfil/", access, nil); r.status != 200 {
					t.Errorf("after a refused change: %d", r.status)
				}
			})
		})
	}
}

// ---- hps-system ----

// authService.login: POST /api/token/ {username: email, password}; the
// request interceptor adds whatever access token is stored, so a stale
// one rides along. Reads response.data.access and .refresh and decodes
// user_id, username, role, is_superuser, first_name, last_name,
// must_change_password.
func TestHPSAuthServiceLogin(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newSessionFixture(t, db, identity.RoleMember)
		stale, _ := tokensOf(t, "first login", axiosCall(f.stack, "POST", "/api/token/", "", map[string]string{"username": "sesion@example.org", "password": f.pw}))
		f.temporary("Temporal-Abc-234") // ends the first session: its token is now stale
		for _, bearer := range []string{"", stale, "garbage"} {
			r := axiosCall(f.stack, "POST", "/api/token/", bearer, map[string]string{"username": "sesion@example.org", "password": f.pw})
			access, refresh := tokensOf(t, "login", r)
			if refresh == "" {
				t.Errorf("no refresh: %s", r.body)
			}
			p := payload(t, access)
			if p["user_id"] != float64(f.user.ID) || p["username"] != "sesion@example.org" || p["role"] != "member" ||
				p["is_superuser"] != false || p["first_name"] != "Test" || p["last_name"] != "member" || p["must_change_password"] != true {
				t.Errorf("claims with bearer %.10q: %v", bearer, p)
			}
		}
	})
}

// authService.getCurrentUser (login, initializeAuth, verifyToken of
// Login.jsx, checkAndRefreshToken of useSessionPersistence every 5
// minutes): GET /api/hps/user/profile/; reads id, email, first_name,
// last_name, full_name, role, is_active, is_temp_password, team_id,
// team_name. With a temporary password it must answer (the modal opens on
// is_temp_password).
func TestHPSAuthServiceGetCurrentUser(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newSessionFixture(t, db, identity.RoleMember)
		f.temporary("Temporal-Abc-234")
		access, _ := tokensOf(t, "login", axiosCall(f.stack, "POST", "/api/token/", "", map[string]string{"username": "sesion@example.org", "password": f.pw}))
		r := axiosCall(f.stack, "GET", "/api/hps/user/profile/", access, nil)
		if r.status != 200 {
			t.Fatalf("profile: %d %s", r.status, r.body)
		}
		m := decode[map[string]any](t, r)
		for _, k := range []string{"id", "email", "first_name", "last_name", "full_name", "role", "is_active", "is_temp_password", "team_id", "team_name"} {
			if _, ok := m[k]; !ok {
				t.Errorf("profile lacks %q: %s", k, r.body)
			}
		}
		if m["id"] != float64(f.user.ID) || m["role"] != "member" || m["is_temp_password"] != true || m["is_active"] != true || m["full_name"] != "Test member" {
			t.Errorf("profile: %s", r.body)
		}
	})
}

// The response interceptor: on a 401 it posts /api/token/refresh/
// {refresh} through the same client, so the expired access token rides
// along as a bearer; it reads `const { access } = response.data` and
// keeps the refresh token of the login.
func TestHPSInterceptorRefresh(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newSessionFixture(t, db, identity.RoleMember)
		access, refresh := tokensOf(t, "login", axiosCall(f.stack, "POST", "/api/token/", "", map[string]string{"username": "sesion@example.org", "password": f.pw}))
		for i := 1; i <= 2; i++ {
			f.advance(9 * time.Hour)
			if r := axiosCall(f.stack, "GET", "/api/hps/user/profile/", access, nil); r.status != 401 {
				t.Fatalf("expired access token: %d", r.status)
			}
			r := axiosCall(f.stack, "POST", "/api/token/refresh/", access, map[string]string{"refresh": refresh})
			access, _ = tokensOf(t, "refresh", r)
			if got := keys(t, r); !slices.Equal(got, []string{"access"}) {
				t.Errorf("answer keys %v", got)
			}
			if r := axiosCall(f.stack, "GET", "/api/hps/user/profile/", access, nil); r.status != 200 {
				t.Errorf("retried request %d: %d %s", i, r.status, r.body)
			}
		}
	})
}

// The interceptor's refresh goes through the interceptor too: a refused
// refresh (401) is refreshed again, without end (issue 9: 800 calls in
// 8 s). thot answers the same dead token 429 from the fourth try, which
// the interceptor does not retry: the chain unwinds and the client drops
// its tokens.
func TestHPSInterceptorRefreshLoopEnds(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newSessionFixture(t, db, identity.RoleMember)
		access, refresh := tokensOf(t, "login", axiosCall(f.stack, "POST", "/api/token/", "", map[string]string{"username": "sesion@example.org", "password": f.pw}))
		f.temporary("Temporal-Abc-234") // an administrator's reset ends the session
		calls, last := 0, response{}
		for status := 401; status == 401 && calls < 50; status = last.status {
			calls++
			last = axiosCall(f.stack, "POST", "/api/token/refresh/", access, map[string]string{"refresh": refresh})
		}
		if calls != 4 || last.status != 429 || last.header.Get("Retry-After") == "" {
			t.Fatalf("the loop made %d calls, ending with %d %s (Retry-After %q)", calls, last.status, last.body, last.header.Get("Retry-After"))
		}
		// A good token is not held back by another one's refusals.
		_, good := tokensOf(t, "login", axiosCall(f.stack, "POST", "/api/token/", "", map[string]string{"username": "sesion@example.org", "password": f.pw}))
		tokensOf(t, "refresh of a live session", axiosCall(f.stack, "POST", "/api/token/refresh/", "", map[string]string{"refresh": good}))
		// After the window the dead token gets SimpleJWT's 401 again.
		f.advance(2 * time.Minute)
		if r := axiosCall(f.stack, "POST", "/api/token/refresh/", "", map[string]string{"refresh": refresh}); r.status != 401 {
			t.Errorf("after the window: %d %s", r.status, r.body)
		}
	})
}

// authService.logout: `apiClient.post('/api/token/logout/')` — no body,
// so axios sends no Content-Type; the stored access token as bearer. The
// answer is not read (any 2xx). The session ends: its access token and
// the refresh token of the login are refused afterwards.
func TestHPSAuthServiceLogout(t *testing.T) {
	for _, c := range []struct {
		name string
		body func(refresh string) any
	}{
		{"as the client sends it (no body)", func(string) any { return nil }},
		{"empty JSON object", func(string) any { return map[string]string{} }},
		{"with the refresh token", func(r string) any { return map[string]string{"refresh": r} }},
		{"with a dead refresh token", func(string) any { return map[string]string{"refresh": "garbage"} }},
	} {
		t.Run(c.name, func(t *testing.T) {
			dbtest.Run(t, func(t *testing.T, db *database.DB) {
				f := newSessionFixture(t, db, identity.RoleMember)
				access, refresh := tokensOf(t, "login", axiosCall(f.stack, "POST", "/api/token/", "", map[string]string{"username": "sesion@example.org", "password": f.pw}))
				other, _ := tokensOf(t, "login elsewhere", axiosCall(f.stack, "POST", "/api/token/", "", map[string]string{"username": "sesion@example.org", "password": f.pw}))
				r := axiosCall(f.stack, "POST", "/api/token/logout/", access, c.body(refresh))
				if r.status != 200 {
					t.Fatalf("logout: %d %s", r.status, r.body)
				}
				if r := axiosCall(f.stack, "GET", "/api/hps/user/profile/", access, nil); r.status != 401 {
					t.Errorf("access token after logout: %d", r.status)
				}
				if r := axiosCall(f.stack, "POST", "/api/token/refresh/", "", map[string]string{"refresh": refresh}); r.status != 401 || !strings.Contains(r.body, "blacklisted") {
					t.Errorf("refresh after logout: %d %s", r.status, r.body)
				}
				if r := axiosCall(f.stack, "GET", "/api/hps/user/profile/", other, nil); r.status != 200 {
					t.Errorf("another session of the user ended too: %d", r.status)
				}
				if n := auditCount(t, db, "logout", f.user.ID); n < 1 {
					t.Errorf("logout not audited")
				}
			})
		})
	}
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newSessionFixture(t, db, identity.RoleMember)
		// With no token at all: 401, which the client ignores (it clears
		// its storage in finally).
		if r := axiosCall(f.stack, "POST", "/api/token/logout/", "", nil); r.status != 401 {
			t.Errorf("logout without a token: %d %s", r.status, r.body)
		}
	})
}

// ChangePasswordModal.jsx → authStore.changePassword → POST
// /api/auth/cambiar-password/ {current_password, new_password,
// confirm_password}; the answer is ignored (no token stored), the modal
// closes and the next calls use the stored access token. Forced (the modal
// opened on is_temp_password) and voluntary.
func TestHPSChangePasswordModal(t *testing.T) {
	for _, forced := range []bool{true, false} {
		name := "voluntary"
		if forced {
			name = "forced"
		}
		t.Run(name, func(t *testing.T) {
			dbtest.Run(t, func(t *testing.T, db *database.DB) {
				f := newSessionFixture(t, db, identity.RoleMember)
				if forced {
					f.temporary("Temporal-Abc-234")
				}
				access, _ := tokensOf(t, "login", axiosCall(f.stack, "POST", "/api/token/", "", map[string]string{"username": "sesion@example.org", "password": f.pw}))
				r := axiosCall(f.stack, "POST", "/api/auth/cambiar-password/", access, map[string]string{
					"current_password": f.pw, "new_password": "Nueva-Clave-Segura-9", "confirm_password": "Nueva-Clave-Segura-9"})
				if r.status != 200 {
					t.Fatalf("change: %d %s", r.status, r.body)
				}
				r = axiosCall(f.stack, "GET", "/api/hps/user/profile/", access, nil)
				if r.status != 200 || !strings.Contains(r.body, `"is_temp_password":false`) {
					t.Errorf("profile with the stored token: %d %s", r.status, r.body)
				}
				if r := axiosCall(f.stack, "GET", "/api/hps/requests/", access, nil); r.status != 200 {
					t.Errorf("the dashboard's calls with the stored token: %d %s", r.status, r.body)
				}
				// A 400 carries the field; authStore shows data.detail or
				// its own message, and the session stays.
				r = axiosCall(f.stack, "POST", "/api/auth/cambiar-password/", access, map[string]string{
					"current_password": "Nueva-Clave-Segura-9", "new_password": "corta", "confirm_password": "corta"})
				if r.status != 400 || !strings.Contains(r.body, "new_password") {
					t.Errorf("a refused change: %d %s", r.status, r.body)
				}
			})
		})
	}
}

// config/api.js names verifyToken: '/api/token/verify/' (SimpleJWT's
// view; the store verifies through the profile instead). It answers what
// the next request would meet: 200 {} for a live session, 401 once the
// session ended.
func TestHPSVerifyToken(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newSessionFixture(t, db, identity.RoleMember)
		access, refresh := tokensOf(t, "login", axiosCall(f.stack, "POST", "/api/token/", "", map[string]string{"username": "sesion@example.org", "password": f.pw}))
		for _, tok := range []string{access, refresh} {
			if r := axiosCall(f.stack, "POST", "/api/token/verify/", access, map[string]string{"token": tok}); r.status != 200 || r.body != "{}\n" && r.body != "{}" {
				t.Errorf("verify a live token: %d %q", r.status, r.body)
			}
		}
		if r := axiosCall(f.stack, "POST", "/api/token/logout/", access, nil); r.status != 200 {
			t.Fatalf("logout: %d", r.status)
		}
		if r := axiosCall(f.stack, "POST", "/api/token/verify/", "", map[string]string{"token": access}); r.status != 401 || !strings.Contains(r.body, "token_not_valid") {
			t.Errorf("verify an ended session's access token: %d %s", r.status, r.body)
		}
		if r := axiosCall(f.stack, "POST", "/api/token/verify/", "", map[string]string{"token": refresh}); r.status != 400 || !strings.Contains(r.body, "blacklisted") {
			t.Errorf("verify a logged-out refresh token: %d %s", r.status, r.body)
		}
	})
}

// ---- end to end, per frontend ----

// TestCryptotraceSessionFlow walks a cryptotrace user's sessions: a forced
// first login, the change, eighteen hours of refreshes with the refresh
// token of the login, the other sessions ended, and a logout (cryptotrace
// itself calls no logout view: it clears its storage; the session ends
// through SimpleJWT's blacklist view, or the HPS frontend's logout of the
// shared session).
func TestCryptotraceSessionFlow(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newSessionFixture(t, db, identity.RoleCrypto)
		f.temporary("Temporal-Abc-234")
		login := func() (string, string) {
			return tokensOf(t, "login", fetchCall(f.stack, "POST", "/api/token/", "", map[string]string{"username": "sesion@example.org", "password": f.pw}))
		}
		otherAccess, otherRefresh := login() // another browser
		access, refresh := login()
		if payload(t, access)["must_change_password"] != true {
			t.Fatal("the login does not send the client to /cambiar-password")
		}
		r := fetchCall(f.stack, "POST", "/api/auth/cambiar-password/", access, map[string]string{
			"current_password": f.pw, "new_password": "Nueva-Clave-Segura-9", "confirm_password": "Nueva-Clave-Segura-9"})
		if r.status != 200 || decode[map[string]any](t, r)["password_change_required"] != false {
			t.Fatalf("forced change: %d %s", r.status, r.body)
		}
		// router.push('/') → /productos with the stored token.
		if r := fetchCall(f.stack, "GET", "/api/productos/", access, nil); r.status != 200 {
			t.Fatalf("old access token after the change: %d %s", r.status, r.body)
		}
		for i := 1; i <= 2; i++ {
			f.advance(9 * time.Hour)
			if r := fetchCall(f.stack, "GET", "/api/productos/", access, nil); r.status != 401 {
				t.Fatalf("hour %d: expired access token: %d", 9*i, r.status)
			}
			access, _ = tokensOf(t, "refresh with the login's refresh token", fetchCall(f.stack, "POST", "/api/token/refresh/", "", map[string]string{"refresh": refresh}))
			if r := fetchCall(f.stack, "GET", "/api/productos/", access, nil); r.status != 200 {
				t.Fatalf("hour %d: retried call: %d %s", 9*i, r.status, r.body)
			}
		}
		if r := fetchCall(f.stack, "GET", "/api/productos/", otherAccess, nil); r.status != 401 {
			t.Errorf("the other session's access token: %d", r.status)
		}
		if r := fetchCall(f.stack, "POST", "/api/token/refresh/", "", map[string]string{"refresh": otherRefresh}); r.status != 401 {
			t.Errorf("the other session's refresh token: %d", r.status)
		}
		if r := fetchCall(f.stack, "POST", "/api/token/blacklist/", "", map[string]string{"refresh": refresh}); r.status != 200 {
			t.Fatalf("logout: %d %s", r.status, r.body)
		}
		if r := fetchCall(f.stack, "POST", "/api/token/refresh/", "", map[string]string{"refresh": refresh}); r.status != 401 {
			t.Errorf("refresh after logout: %d %s", r.status, r.body)
		}
		if r := fetchCall(f.stack, "GET", "/api/productos/", access, nil); r.status != 401 {
			t.Errorf("access token after logout: %d", r.status)
		}
	})
}

// TestHPSSessionFlow walks an HPS frontend user's sessions: a forced first
// login through the modal, eighteen hours of interceptor refreshes with
// the refresh token of the login, the other sessions ended, the logout
// with no body, and the refresh token refused afterwards without a loop.
func TestHPSSessionFlow(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newSessionFixture(t, db, identity.RoleMember)
		f.temporary("Temporal-Abc-234")
		login := func(bearer string) (string, string) {
			return tokensOf(t, "login", axiosCall(f.stack, "POST", "/api/token/", bearer, map[string]string{"username": "sesion@example.org", "password": f.pw}))
		}
		otherAccess, otherRefresh := login("")
		access, refresh := login(otherAccess)
		r := axiosCall(f.stack, "GET", "/api/hps/user/profile/", access, nil)
		if r.status != 200 || !strings.Contains(r.body, `"is_temp_password":true`) {
			t.Fatalf("getCurrentUser after login: %d %s", r.status, r.body)
		}
		r = axiosCall(f.stack, "POST", "/api/auth/cambiar-password/", access, map[string]string{
			"current_password": f.pw, "new_password": "Nueva-Clave-Segura-9", "confirm_password": "Nueva-Clave-Segura-9"})
		if r.status != 200 {
			t.Fatalf("modal change: %d %s", r.status, r.body)
		}
		f.pw = "Nueva-Clave-Segura-9"
		if r := axiosCall(f.stack, "GET", "/api/hps/requests/", access, nil); r.status != 200 {
			t.Fatalf("old access token after the change: %d %s", r.status, r.body)
		}
		for i := 1; i <= 2; i++ {
			f.advance(9 * time.Hour)
			if r := axiosCall(f.stack, "GET", "/api/hps/user/profile/", access, nil); r.status != 401 {
				t.Fatalf("hour %d: expired access token: %d", 9*i, r.status)
			}
			access, _ = tokensOf(t, "interceptor refresh", axiosCall(f.stack, "POST", "/api/token/refresh/", access, map[string]string{"refresh": refresh}))
			if r := axiosCall(f.stack, "GET", "/api/hps/user/profile/", access, nil); r.status != 200 || !strings.Contains(r.body, `"is_temp_password":false`) {
				t.Fatalf("hour %d: retried call: %d %s", 9*i, r.status, r.body)
			}
		}
		if r := axiosCall(f.stack, "GET", "/api/hps/user/profile/", otherAccess, nil); r.status != 401 {
			t.Errorf("the other session's access token: %d", r.status)
		}
		if r := axiosCall(f.stack, "POST", "/api/token/refresh/", otherAccess, map[string]string{"refresh": otherRefresh}); r.status != 401 {
			t.Errorf("the other session's refresh token: %d", r.status)
		}
		if r := axiosCall(f.stack, "POST", "/api/token/logout/", access, nil); r.status != 200 {
			t.Fatalf("logout: %d %s", r.status, r.body)
		}
		if r := axiosCall(f.stack, "POST", "/api/token/refresh/", access, map[string]string{"refresh": refresh}); r.status != 401 {
			t.Errorf("refresh after logout: %d %s", r.status, r.body)
		}
		if r := axiosCall(f.stack, "GET", "/api/hps/user/profile/", access, nil); r.status != 401 {
			t.Errorf("access token after logout: %d", r.status)
		}
		// A new login works at once.
		access, _ = login(access)
		if r := axiosCall(f.stack, "GET", "/api/hps/user/profile/", access, nil); r.status != 200 {
			t.Errorf("login after logout: %d", r.status)
		}
	})
}
