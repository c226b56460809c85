package httpapi_test

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/identity"
)

// Sessions: exact revocation (issue 10 item 4), tokens of the legacy
// systems, the rotation setting and the cost of authentication. The
// clients' own calls are in clients_sessions_test.go.

// TestRevocationIsExactWithinOneSecond freezes the token clock at one
// instant, so every token below has the same iat, to the second, as the
// revocations between them: a password change, a deactivation and an
// administrator's reset end exactly the sessions opened before them, and
// logins after them work at once (before, with a one-second cut-off,
// tokens of the revoking second survived, and tests slept 1.1 s).
func TestRevocationIsExactWithinOneSecond(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newSessionFixture(t, db, identity.RoleMember)
		f.now = time.Now().UTC().Truncate(time.Second).Add(250 * time.Millisecond)
		ctx := context.Background()
		login := func() (string, string) {
			t.Helper()
			return tokensOf(t, "login", f.call("POST", "/api/token/", "", map[string]string{"username": "sesion@example.org", "password": f.pw}))
		}
		alive := func(what, access string, want bool) {
			t.Helper()
			r := f.call("GET", "/api/auth/perfil/", access, nil)
			if (r.status == 200) != want {
				t.Errorf("%s: %d %s (want alive=%v)", what, r.status, r.body, want)
			}
		}
		a, _ := login()
		b, bRefresh := login()
		iat := payload(t, a)["iat"]
		r := f.call("POST", "/api/auth/cambiar-password/", a, map[string]string{
			"current_password": f.pw, "new_password": "Nueva-Clave-Segura-9", "confirm_password": "Nueva-Clave-Segura-9"})
		if r.status != 200 {
			t.Fatalf("change: %d %s", r.status, r.body)
		}
		f.pw = "Nueva-Clave-Segura-9"
		alive("the changing session", a, true)
		alive("another session of the same second", b, false)
		if r := f.call("POST", "/api/token/refresh/", "", map[string]string{"refresh": bRefresh}); r.status != 401 {
			t.Errorf("its refresh token: %d", r.status)
		}
		c, _ := login()
		alive("a login of the same second after the change", c, true)

		if err := f.store.SetUserActive(ctx, f.user.ID, false, audit.ActionDeactivate); err != nil {
			t.Fatal(err)
		}
		if err := f.store.SetUserActive(ctx, f.user.ID, true, audit.ActionActivate); err != nil {
			t.Fatal(err)
		}
		alive("a session of the same second as a deactivation", a, false)
		alive("another one", c, false)
		d, _ := login()
		alive("a login of the same second after the reactivation", d, true)

		f.temporary("Temporal-Abc-234")
		alive("a session of the same second as a reset", d, false)
		e, _ := login()
		alive("a login with the temporary password, same second", e, true)

		for _, tok := range []string{a, b, c, d, e} {
			if payload(t, tok)["iat"] != iat {
				t.Fatalf("the clock moved: iat %v, want %v", payload(t, tok)["iat"], iat)
			}
		}
		var ended int
		if err := db.NewRaw("SELECT count(*) FROM auth_sessions WHERE user_id = ? AND revoked_at IS NOT NULL", f.user.ID).Scan(ctx, &ended); err != nil || ended != 4 {
			t.Errorf("revoked sessions = %d (%v), want 4", ended, err)
		}
	})
}

// legacyToken signs claims with the test key, as the legacy systems did
// (no sid).
func legacyToken(t testing.TB, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(testSigningKey))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// TestLegacyTokensUnderCutOff: tokens minted by the legacy systems carry
// no session. A SimpleJWT or FastAPI access token counts while it was
// issued after the user's cut-off, which every revocation moves to its
// instant (inclusive: a legacy token of the revoking second is refused).
// A SimpleJWT refresh token becomes a session of its own on its first
// refresh, so it is then revoked like any session.
func TestLegacyTokensUnderCutOff(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newSessionFixture(t, db, identity.RoleMember)
		ctx := context.Background()
		legacyID := uuid.NewString()
		if _, err := db.NewRaw("UPDATE users SET legacy_hps_id = ? WHERE id = ?", legacyID, f.user.ID).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		iat := f.now.Add(-time.Minute)
		simple := func(typ string, ttl time.Duration) string {
			return legacyToken(t, jwt.MapClaims{"token_type": typ, "user_id": f.user.ID, "jti": strings.ReplaceAll(uuid.NewString(), "-", ""),
				"iat": iat.Unix(), "exp": iat.Add(ttl).Unix(), "role": "member"})
		}
		djangoAccess, djangoRefresh, unusedRefresh := simple("access", 8*time.Hour), simple("refresh", 7*24*time.Hour), simple("refresh", 7*24*time.Hour)
		fastapi := legacyToken(t, jwt.MapClaims{"sub": "sesion@example.org", "user_id": legacyID, "exp": iat.Add(time.Hour).Unix(), "iat": iat.Unix()})
		for name, tok := range map[string]string{"SimpleJWT": djangoAccess, "FastAPI": fastapi} {
			if r := f.call("GET", "/api/auth/perfil/", tok, nil); r.status != 200 {
				t.Errorf("%s access token: %d %s", name, r.status, r.body)
			}
		}
		// First refresh: the legacy refresh token becomes session <jti>.
		jti := payload(t, djangoRefresh)["jti"].(string)
		access, _ := tokensOf(t, "refresh of a legacy token", f.call("POST", "/api/token/refresh/", "", map[string]string{"refresh": djangoRefresh}))
		if payload(t, access)["sid"] != jti {
			t.Fatalf("sid %v, want the legacy refresh token's jti %s", payload(t, access)["sid"], jti)
		}
		tokensOf(t, "second refresh of a legacy token", f.call("POST", "/api/token/refresh/", "", map[string]string{"refresh": djangoRefresh}))
		var n int
		if err := db.NewRaw("SELECT count(*) FROM auth_sessions WHERE id = ? AND user_id = ?", jti, f.user.ID).Scan(ctx, &n); err != nil || n != 1 {
			t.Fatalf("adopted session rows = %d (%v)", n, err)
		}

		// A password change in a thot session: every legacy token is cut
		// off, the adopted session ends, the changing session goes on.
		own, _ := tokensOf(t, "login", f.call("POST", "/api/token/", "", map[string]string{"username": "sesion@example.org", "password": f.pw}))
		if r := f.call("POST", "/api/auth/cambiar-password/", own, map[string]string{
			"current_password": f.pw, "new_password": "Nueva-Clave-Segura-9", "confirm_password": "Nueva-Clave-Segura-9"}); r.status != 200 {
			t.Fatalf("change: %d %s", r.status, r.body)
		}
		for name, tok := range map[string]string{"SimpleJWT access": djangoAccess, "FastAPI access": fastapi, "adopted session's access": access} {
			if r := f.call("GET", "/api/auth/perfil/", tok, nil); r.status != 401 {
				t.Errorf("%s after the change: %d", name, r.status)
			}
		}
		for name, tok := range map[string]string{"adopted": djangoRefresh, "never used": unusedRefresh} {
			if r := f.call("POST", "/api/token/refresh/", "", map[string]string{"refresh": tok}); r.status != 401 {
				t.Errorf("%s legacy refresh token after the change: %d %s", name, r.status, r.body)
			}
		}
		if r := f.call("GET", "/api/auth/perfil/", own, nil); r.status != 200 {
			t.Errorf("the changing session: %d", r.status)
		}
		// The cut-off is inclusive: a legacy token of the revoking second
		// is refused, one of the next second counts.
		var cut time.Time
		if err := db.NewRaw("SELECT tokens_valid_after FROM users WHERE id = ?", f.user.ID).Scan(ctx, &cut); err != nil {
			t.Fatal(err)
		}
		for _, c := range []struct {
			at   time.Time
			want int
		}{{cut.Truncate(time.Second), 401}, {cut.Truncate(time.Second).Add(time.Second), 200}} {
			tok := legacyToken(t, jwt.MapClaims{"token_type": "access", "user_id": f.user.ID, "jti": "x", "iat": c.at.Unix(), "exp": f.now.Add(time.Hour).Unix()})
			if r := f.call("GET", "/api/auth/perfil/", tok, nil); r.status != c.want {
				t.Errorf("legacy token of iat %s, cut-off %s: %d, want %d", c.at, cut, r.status, c.want)
			}
		}
	})
}

// TestRealSimpleJWTRefreshTokenBecomesASession: the refresh token minted
// by the real SimpleJWT (testdata) refreshes against thot, again and
// again, and logs out.
func TestRealSimpleJWTRefreshTokenBecomesASession(t *testing.T) {
	raw, err := os.ReadFile("../identity/testdata/simplejwt_tokens.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		SigningKey string `json:"signing_key"`
		Access     string `json:"access"`
		Refresh    string `json:"refresh"`
		VerifyAt   int64  `json:"verify_at"`
	}
	if err := json.Unmarshal(raw, &fx); err != nil {
		t.Fatal(err)
	}
	if fx.SigningKey != testSigningKey {
		t.Fatalf("fixture key %q is not the stack's", fx.SigningKey)
	}
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		s := newStack(t, db)
		now := time.Unix(fx.VerifyAt, 0)
		clock := func() time.Time { return now }
		s.auth.Tokens().Now, s.auth.Now = clock, clock
		hash, _ := s.hasher.Hash("Contraseña-ñ 123")
		if _, err := db.NewRaw(`INSERT INTO users (id, password, username, email, first_name, last_name, is_active, is_superuser, is_staff, date_joined, role_id, team_id)
			VALUES (42, ?, 'ana', 'ana@example.org', 'Ana', 'Núñez', TRUE, FALSE, FALSE, ?, (SELECT id FROM roles WHERE name = 'member'), ?)`,
			hash, time.Now().UTC(), identity.AICOXTeamID).Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		if r := s.call("GET", "/api/auth/perfil/", fx.Access, nil); r.status != 200 {
			t.Fatalf("real access token: %d %s", r.status, r.body)
		}
		for i := 0; i < 3; i++ {
			access, _ := tokensOf(t, "refresh of the real token", s.call("POST", "/api/token/refresh/", "", map[string]string{"refresh": fx.Refresh}))
			if r := s.call("GET", "/api/auth/perfil/", access, nil); r.status != 200 {
				t.Fatalf("refresh %d: %d %s", i, r.status, r.body)
			}
			now = now.Add(9 * time.Hour)
		}
		if r := s.call("POST", "/api/token/blacklist/", "", map[string]string{"refresh": fx.Refresh}); r.status != 200 {
			t.Fatalf("logout: %d %s", r.status, r.body)
		}
		if r := s.call("POST", "/api/token/refresh/", "", map[string]string{"refresh": fx.Refresh}); r.status != 401 {
			t.Errorf("after logout: %d %s", r.status, r.body)
		}
	})
}

// TestRefreshRotationSetting: THOT_ROTATE_REFRESH_TOKENS (alias
// ROTATE_REFRESH_TOKENS) defaults to off; on, a refresh answers SimpleJWT's
// {access, refresh}, blacklists the presented token and keeps the session.
func TestRefreshRotationSetting(t *testing.T) {
	for _, c := range []struct {
		env  map[string]string
		want bool
	}{
		{map[string]string{}, false},
		{map[string]string{"THOT_ROTATE_REFRESH_TOKENS": "true"}, true},
		{map[string]string{"ROTATE_REFRESH_TOKENS": "True"}, true},
		{map[string]string{"THOT_ROTATE_REFRESH_TOKENS": "false", "ROTATE_REFRESH_TOKENS": "true"}, false},
	} {
		if got := testConfig(t, c.env).RotateRefresh; got != c.want {
			t.Errorf("%v: RotateRefresh = %v, want %v", c.env, got, c.want)
		}
	}
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newSessionFixture(t, db, identity.RoleMember)
		f.auth.RotateRefresh = true
		access, refresh := tokensOf(t, "login", f.call("POST", "/api/token/", "", map[string]string{"username": "sesion@example.org", "password": f.pw}))
		r := f.call("POST", "/api/token/refresh/", "", map[string]string{"refresh": refresh})
		if got := keys(t, r); len(got) != 2 || got[0] != "access" || got[1] != "refresh" {
			t.Fatalf("rotating answer: %d %s", r.status, r.body)
		}
		if !strings.HasPrefix(r.body, `{"access":`) {
			t.Errorf("key order %s, want SimpleJWT's access first", r.body)
		}
		_, rotated := tokensOf(t, "rotation", r)
		if payload(t, rotated)["sid"] != payload(t, access)["sid"] {
			t.Error("the rotated refresh token left the session")
		}
		if r := f.call("POST", "/api/token/refresh/", "", map[string]string{"refresh": refresh}); r.status != 401 || !strings.Contains(r.body, "blacklisted") {
			t.Errorf("the rotated-out token: %d %s", r.status, r.body)
		}
		tokensOf(t, "the new refresh token", f.call("POST", "/api/token/refresh/", "", map[string]string{"refresh": rotated}))
		if r := f.call("GET", "/api/auth/perfil/", access, nil); r.status != 200 {
			t.Errorf("the session's access token after rotations: %d", r.status)
		}
	})
}

// TestAuthenticationIsOneStatement: reading the user, its permissions,
// its led teams and its session's state is one SQL statement, for a
// session token and for a legacy one.
func TestAuthenticationIsOneStatement(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newSessionFixture(t, db, identity.RoleMember)
		access, _ := tokensOf(t, "login", f.call("POST", "/api/token/", "", map[string]string{"username": "sesion@example.org", "password": f.pw}))
		legacy := legacyToken(t, jwt.MapClaims{"token_type": "access", "user_id": f.user.ID, "jti": "x", "iat": f.now.Unix(), "exp": f.now.Add(time.Hour).Unix()})
		c := &custodySQLCounter{}
		db.AddQueryHook(c)
		for name, tok := range map[string]string{"session": access, "legacy": legacy} {
			c.reset()
			if r := f.call("GET", "/api/auth/perfil/", tok, nil); r.status != 200 {
				t.Fatalf("%s: %d %s", name, r.status, r.body)
			}
			if c.n != 1 {
				t.Errorf("%s token: %d statements, want 1:\n%s", name, c.n, strings.Join(c.queries, "\n"))
			}
		}
	})
}

// BenchmarkAuthenticate: GET /api/auth/perfil/ (authentication and
// nothing else) with a session token and with a legacy token (no session
// probe), on each engine:
//
//	THOT_TEST_DATABASE_URL=… go test -run '^$' -bench Authenticate ./internal/httpapi/
func BenchmarkAuthenticate(b *testing.B) {
	for _, e := range dbtest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			db := e.Open(b)
			s := newStack(b, db)
			u := s.user("banco@example.org", "Banco-Sesiones-2026", identity.RoleMember)
			now := time.Now()
			legacy := legacyToken(b, jwt.MapClaims{"token_type": "access", "user_id": u.ID, "jti": "x", "iat": now.Unix(), "exp": now.Add(time.Hour).Unix()})
			for _, c := range []struct{ name, tok string }{{"session", s.token(u.ID)}, {"legacy", legacy}} {
				b.Run(c.name, func(b *testing.B) {
					for b.Loop() {
						if r := s.call("GET", "/api/auth/perfil/", c.tok, nil); r.status != 200 {
							b.Fatalf("%d %s", r.status, r.body)
						}
					}
				})
			}
		})
	}
}
