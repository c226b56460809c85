package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/identity"
)

const (
	pfBase = "/api/hps/user/profiles/"
	pfPass = "Clave-Segura-2026"
)

// pfWorld is a stack with one user per seeded role and a team "Norte" led
// by lead, with m1 and crypto as members; m2 stays in AICOX.
type pfWorld struct {
	*stack
	admin, jefe, lead, m1, m2, crypto *identity.User
	team                              string
}

func newPFWorld(t *testing.T, db *database.DB) *pfWorld {
	t.Helper()
	s := newStack(t, db)
	w := &pfWorld{stack: s}
	w.admin = s.user("admin@example.org", pfPass, identity.RoleAdmin)
	w.jefe = s.user("jefe@example.org", pfPass, identity.RoleJefeSeguridad)
	w.lead = s.user("lead@example.org", pfPass, identity.RoleTeamLead)
	w.m1 = s.user("m1@example.org", pfPass, identity.RoleMember)
	w.m2 = s.user("m2@example.org", pfPass, identity.RoleMember)
	w.crypto = s.user("crypto@example.org", pfPass, identity.RoleCrypto)
	w.team = w.newTeam("Norte", w.lead, w.m1, w.crypto)
	return w
}

// newTeam inserts an active team led by lead with these members, and
// makes it their primary team.
func (w *pfWorld) newTeam(name string, lead *identity.User, members ...*identity.User) string {
	w.t.Helper()
	ctx, now, id := context.Background(), time.Now().UTC(), uuid.NewString()
	exec := func(q string, args ...any) {
		w.t.Helper()
		if _, err := w.db.NewRaw(q, args...).Exec(ctx); err != nil {
			w.t.Fatal(err)
		}
	}
	exec("INSERT INTO teams (id, name, description, lead_id, is_active, created_at, updated_at) VALUES (?, ?, '', ?, TRUE, ?, ?)", id, name, lead.ID, now, now)
	for _, u := range append([]*identity.User{lead}, members...) {
		exec("UPDATE team_memberships SET is_active = FALSE WHERE user_id = ?", u.ID)
		exec("INSERT INTO team_memberships (team_id, user_id, is_lead, is_active, created_at) VALUES (?, ?, ?, TRUE, ?)", id, u.ID, u == lead, now)
		exec("UPDATE users SET team_id = ? WHERE id = ?", id, u.ID)
	}
	return id
}

// newRole inserts a role granting exactly these codenames.
func (w *pfWorld) newRole(name string, perms ...string) {
	w.t.Helper()
	ctx, now := context.Background(), time.Now().UTC()
	if _, err := w.db.NewRaw("INSERT INTO roles (name, description, is_system, created_at, updated_at) VALUES (?, '', FALSE, ?, ?)", name, now, now).Exec(ctx); err != nil {
		w.t.Fatal(err)
	}
	for _, p := range perms {
		if _, err := w.db.NewRaw("INSERT INTO role_permissions (role_id, codename) SELECT id, ? FROM roles WHERE name = ?", p, name).Exec(ctx); err != nil {
			w.t.Fatal(err)
		}
	}
}

func (w *pfWorld) tok(u *identity.User) string { w.t.Helper(); return w.token(u.ID) }

// api calls the server and checks that no successful answer but a
// password reset carries a password or a hash.
func (w *pfWorld) api(method, path, token string, body any) response {
	w.t.Helper()
	r := w.call(method, path, token, body)
	if r.status < 300 && !strings.Contains(path, "/reset-password/") {
		for _, bad := range []string{`"password"`, "temporary_password", "pbkdf2_", pfPass} {
			if strings.Contains(r.body, bad) {
				w.t.Errorf("%s %s answers with %q: %s", method, path, bad, r.body)
			}
		}
	}
	return r
}

func pfPath(id int64, suffix string) string { return fmt.Sprintf("%s%d/%s", pfBase, id, suffix) }

// pfExpect checks the status and returns the decoded JSON object.
func pfExpect(t *testing.T, what string, r response, status int) map[string]any {
	t.Helper()
	if r.status != status {
		t.Errorf("%s: %d, want %d: %s", what, r.status, status, r.body)
		return map[string]any{}
	}
	var m map[string]any
	if strings.HasPrefix(strings.TrimSpace(r.body), "{") {
		m = decode[map[string]any](t, r)
	}
	return m
}

// pfFieldError reports whether body is a DRF field error naming field.
func pfFieldError(r response, field string) bool {
	var m map[string]any
	_ = json.Unmarshal([]byte(r.body), &m)
	l, ok := m[field].([]any)
	return ok && len(l) > 0
}

func pfDenied(r response) bool { return r.status == 403 && permissionDenied(r.body) }

func (w *pfWorld) login(email, password string) response {
	w.t.Helper()
	return w.call("POST", "/api/token/", "", map[string]string{"username": email, "password": password})
}

// pfNoSecrets fails if an audit entry has a "password" key, a hash,
// or one of the given strings in its values.
func pfNoSecrets(t *testing.T, db *database.DB, secrets ...string) {
	t.Helper()
	var rows []struct {
		Action string  `bun:"action"`
		Old    *string `bun:"old_values"`
		New    *string `bun:"new_values"`
	}
	if err := db.NewRaw("SELECT action, old_values, new_values FROM audit_logs").Scan(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	var walk func(action string, v any)
	walk = func(action string, v any) {
		switch v := v.(type) {
		case map[string]any:
			for k, x := range v {
				if k == "password" {
					t.Errorf("audit %s has a password key", action)
				}
				walk(action, x)
			}
		case string:
			if strings.HasPrefix(v, "pbkdf2_") || (strings.HasPrefix(v, "!") && len(v) > 30) {
				t.Errorf("audit %s holds a hash", action)
			}
			for _, s := range secrets {
				if s != "" && strings.Contains(v, s) {
					t.Errorf("audit %s holds a secret", action)
				}
			}
		}
	}
	for _, r := range rows {
		for _, js := range []*string{r.Old, r.New} {
			if js == nil {
				continue
			}
			var v any
			if err := json.Unmarshal([]byte(*js), &v); err != nil {
				t.Fatalf("audit %s: %v", r.Action, err)
			}
			walk(r.Action, v)
		}
	}
	if len(rows) == 0 {
		t.Error("no audit entries at all")
	}
}

// pfAuditFor counts entries with this action on users/<id>.
func pfAuditFor(t *testing.T, db *database.DB, action string, id any) int {
	t.Helper()
	var n int
	if err := db.NewRaw("SELECT count(*) FROM audit_logs WHERE action = ? AND table_name = 'users' AND record_id = ?", action, fmt.Sprint(id)).
		Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func TestProfileCreate(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newPFWorld(t, db)
		admin, lead, jefe := w.tok(w.admin), w.tok(w.lead), w.tok(w.jefe)
		ctx := context.Background()

		// Without a password: created, cannot log in, must change it.
		b := pfExpect(t, "create without password", w.api("POST", pfBase, admin, map[string]any{
			"email": "Nueva@Example.org", "first_name": "Nueva", "last_name": "Persona"}), 201)
		id := int64(b["id"].(float64))
		if b["user_id"] != b["id"] || b["email"] != "Nueva@Example.org" || b["username"] != "Nueva@Example.org" || b["full_name"] != "Nueva Persona" ||
			b["role_name"] != identity.RoleMember || b["team_id"] != identity.AICOXTeamID || b["team_name"] != "AICOX" ||
			b["must_change_password"] != true || b["is_temp_password"] != false || b["is_active"] != true {
			t.Errorf("created profile = %v", b)
		}
		var hash string
		if err := db.NewRaw("SELECT password FROM users WHERE id = ?", id).Scan(ctx, &hash); err != nil || !strings.HasPrefix(hash, "!") {
			t.Errorf("hash of a user created without password = %q, %v", hash, err)
		}
		if n := pfAuditFor(t, db, audit.ActionCreate, id); n != 1 {
			t.Errorf("create audit entries = %d", n)
		}

		// With a password: policy-checked; must be changed at first login.
		b = pfExpect(t, "create with password", w.api("POST", pfBase, admin, map[string]any{
			"email": "con.clave@example.org", "password": "Lince-Iberico-77", "first_name": "Con", "last_name": "Clave"}), 201)
		if b["must_change_password"] != true || b["is_temp_password"] != true {
			t.Errorf("created with password = %v", b)
		}
		r := w.login("con.clave@example.org", "Lince-Iberico-77")
		pair := pfExpect(t, "login of the new user", r, 200)
		if acc, _ := pair["access"].(string); acc != "" {
			if r := w.api("GET", pfBase, acc, nil); r.status != 403 || !strings.Contains(r.body, "password_change_required") {
				t.Errorf("new user before changing the password: %d %s", r.status, r.body)
			}
		}
		b = pfExpect(t, "create keeping the password", w.api("POST", pfBase, admin, map[string]any{
			"email": "directa@example.org", "password": "Lince-Iberico-78", "must_change_password": false}), 201)
		if b["must_change_password"] != false {
			t.Errorf("must_change_password false ignored: %v", b)
		}

		// Validation, per field.
		for _, c := range []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"short password", map[string]any{"email": "p1@example.org", "password": "Co-1"}, "password"},
			{"numeric password", map[string]any{"email": "p2@example.org", "password": "12345678"}, "password"},
			{"password like the e-mail", map[string]any{"email": "gonzalo.perez@example.org", "password": "gonzalo.perez"}, "password"},
			{"invalid e-mail", map[string]any{"email": "no-es-un-email"}, "email"},
			{"missing e-mail", map[string]any{"first_name": "Sin"}, "email"},
			{"bad team uuid", map[string]any{"email": "t1@example.org", "team_id_writable": "equipo"}, "team_id_writable"},
			{"unknown team", map[string]any{"email": "t2@example.org", "team_id": uuid.NewString()}, "team_id"},
			{"unknown role", map[string]any{"email": "r1@example.org", "role": "jefazo"}, "role"},
			{"unknown role id", map[string]any{"email": "r2@example.org", "role_writable": 9999}, "role_writable"},
		} {
			r := w.api("POST", pfBase, admin, c.body)
			if r.status != 400 || !pfFieldError(r, c.field) {
				t.Errorf("%s: %d %s, want 400 naming %s", c.name, r.status, r.body, c.field)
			}
		}
		r = w.api("POST", pfBase, admin, map[string]any{"email": "p2@example.org", "password": "12345678"})
		if !strings.Contains(r.body, "entirely numeric") || !strings.Contains(r.body, "too common") {
			t.Errorf("numeric password messages: %s", r.body)
		}

		// Duplicates: e-mail ignoring case, username exactly.
		if r := w.api("POST", pfBase, admin, map[string]any{"email": "NUEVA@example.ORG"}); r.status != 409 || !pfFieldError(r, "email") {
			t.Errorf("duplicate e-mail: %d %s", r.status, r.body)
		}
		if r := w.api("POST", pfBase, admin, map[string]any{"email": "otra@example.org", "username": "Nueva@Example.org"}); r.status != 409 || !pfFieldError(r, "username") {
			t.Errorf("duplicate username: %d %s", r.status, r.body)
		}

		// Roles: by name or id; admin only by admins; none without asignar_rol.
		b = pfExpect(t, "admin creates crypto", w.api("POST", pfBase, admin, map[string]any{"email": "c1@example.org", "role": "crypto"}), 201)
		if b["role_name"] != identity.RoleCrypto {
			t.Errorf("role by name: %v", b)
		}
		if b["role"] != identity.RoleCrypto {
			t.Errorf("role is the name (the HPS frontend calls role.replace): %v", b)
		}
		roleID := b["role_id"]
		b = pfExpect(t, "admin creates by role id", w.api("POST", pfBase, admin, map[string]any{"email": "c2@example.org", "role_writable": roleID}), 201)
		if b["role_name"] != identity.RoleCrypto {
			t.Errorf("role by id: %v", b)
		}
		if r := w.api("POST", pfBase, jefe, map[string]any{"email": "a1@example.org", "role": "admin"}); r.status != 403 || pfDenied(r) {
			t.Errorf("jefe creates an admin: %d %s", r.status, r.body)
		}
		pfExpect(t, "admin creates an admin", w.api("POST", pfBase, admin, map[string]any{"email": "a2@example.org", "role": "admin"}), 201)

		// Team leads create in their team, without choosing roles or teams.
		b = pfExpect(t, "lead creates", w.api("POST", pfBase, lead, map[string]any{"email": "del.equipo@example.org"}), 201)
		if b["team_id"] != w.team {
			t.Errorf("a lead's user went to %v, want %s", b["team_id"], w.team)
		}
		pfExpect(t, "lead creates a member explicitly", w.api("POST", pfBase, lead, map[string]any{"email": "del.equipo2@example.org", "role": "member"}), 201)
		if r := w.api("POST", pfBase, lead, map[string]any{"email": "x1@example.org", "role": "crypto"}); r.status != 403 {
			t.Errorf("lead assigns a role: %d %s", r.status, r.body)
		}
		if r := w.api("POST", pfBase, lead, map[string]any{"email": "x2@example.org", "team_id": identity.AICOXTeamID}); r.status != 403 {
			t.Errorf("lead creates outside their team: %d %s", r.status, r.body)
		}
		if r := w.api("POST", pfBase, w.tok(w.m1), map[string]any{"email": "x3@example.org"}); !pfDenied(r) {
			t.Errorf("member creates: %d %s", r.status, r.body)
		}

		// Temporary passwords: only through reset-password, only here.
		r = w.api("POST", pfPath(id, "reset-password/"), admin, nil)
		rb := pfExpect(t, "reset-password", r, 200)
		temp, _ := rb["temporary_password"].(string)
		if len(temp) != 12 || len(rb) != 1 || r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("reset answer = %s (Cache-Control %q)", r.body, r.header.Get("Cache-Control"))
		}
		pfExpect(t, "login with the temporary password", w.login("nueva@example.org", temp), 200)
		b = pfExpect(t, "profile after reset", w.api("GET", pfPath(id, ""), admin, nil), 200)
		if b["must_change_password"] != true || b["is_temp_password"] != true {
			t.Errorf("flags after reset: %v", b)
		}
		if n := pfAuditFor(t, db, audit.ActionPasswordReset, id); n != 1 {
			t.Errorf("password_reset audit entries = %d", n)
		}
		for _, c := range []struct {
			name   string
			token  string
			target int64
		}{
			{"lead resets outside their team", lead, w.m2.ID},
			{"lead resets a more privileged member", lead, w.crypto.ID},
			{"lead resets themselves", lead, w.lead.ID},
			{"jefe resets an admin", jefe, w.admin.ID},
		} {
			if r := w.api("POST", pfPath(c.target, "reset-password/"), c.token, nil); r.status != 403 || strings.Contains(r.body, "temporary_password") {
				t.Errorf("%s: %d %s", c.name, r.status, r.body)
			}
		}
		pfExpect(t, "lead resets a member of the team", w.api("POST", pfPath(w.m1.ID, "reset-password/"), lead, nil), 200)

		pfNoSecrets(t, db, pfPass, temp, "Lince-Iberico-77", "Lince-Iberico-78")
	})
}

func TestProfileVisibility(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newPFWorld(t, db)
		w.newRole("lector_equipo", identity.PermVerPerfil, identity.PermVerPerfilesEquipos)
		w.newRole("solo_propio", identity.PermVerPerfil)
		w.newRole("sin_perfiles")
		vigia := w.user("vigia@example.org", pfPass, "lector_equipo")
		w.newTeam("Sur", vigia, w.m2)
		solo := w.user("solo@example.org", pfPass, "solo_propio")
		nada := w.user("nada@example.org", pfPass, "sin_perfiles")

		ids := func(r response) []int64 {
			t.Helper()
			var l []map[string]any
			if err := json.Unmarshal([]byte(r.body), &l); err != nil {
				t.Fatalf("list: %v %s", err, r.body)
			}
			out := make([]int64, len(l))
			for i, p := range l {
				out[i] = int64(p["id"].(float64))
			}
			return out
		}
		eq := func(name string, got []int64, want ...int64) {
			t.Helper()
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("%s sees %v, want %v", name, got, want)
			}
		}
		all := []int64{w.admin.ID, w.jefe.ID, w.lead.ID, w.m1.ID, w.m2.ID, w.crypto.ID, vigia.ID, solo.ID, nada.ID}

		// hps.ver_perfiles_todos (every seeded role, members included).
		eq("member", ids(w.api("GET", pfBase, w.tok(w.m1), nil)), all...)
		// hps.ver_perfiles_equipos: self and the members of led teams.
		vt := w.tok(vigia)
		eq("team reader", ids(w.api("GET", pfBase, vt, nil)), w.m2.ID, vigia.ID)
		pfExpect(t, "team reader reads a member", w.api("GET", pfPath(w.m2.ID, ""), vt, nil), 200)
		pfExpect(t, "team reader reads another team", w.api("GET", pfPath(w.m1.ID, ""), vt, nil), 404)
		// Only their own.
		st := w.tok(solo)
		eq("self reader", ids(w.api("GET", pfBase, st, nil)), solo.ID)
		pfExpect(t, "self reader reads another", w.api("GET", pfPath(w.m1.ID, ""), st, nil), 404)
		pfExpect(t, "self reader reads themselves", w.api("GET", pfPath(solo.ID, ""), st, nil), 200)
		if r := w.api("GET", pfBase, w.tok(nada), nil); !pfDenied(r) {
			t.Errorf("no profile permission: %d %s", r.status, r.body)
		}
		pfExpect(t, "unknown id", w.api("GET", pfPath(999999, ""), w.tok(w.admin), nil), 404)

		// Filters and pages.
		admin := w.tok(w.admin)
		eq("search", ids(w.api("GET", pfBase+"?search=CRYPTO", admin, nil)), w.crypto.ID)
		eq("role filter", ids(w.api("GET", pfBase+"?role=member", admin, nil)), w.m1.ID, w.m2.ID)
		eq("team filter", ids(w.api("GET", pfBase+"?team_id="+w.team, admin, nil)), w.lead.ID, w.m1.ID, w.crypto.ID)
		page := pfExpect(t, "page", w.api("GET", pfBase+"?page=2&page_size=2", admin, nil), 200)
		if page["count"] != float64(len(all)) || len(page["results"].([]any)) != 2 || page["next"] == nil || page["previous"] == nil {
			t.Errorf("page 2 = %v", page)
		}
		pfExpect(t, "page past the end", w.api("GET", pfBase+"?page=9&page_size=2", admin, nil), 404)

		// Stats follow the same scope.
		s := pfExpect(t, "stats", w.api("GET", pfBase+"stats/", admin, nil), 200)
		byRole, _ := s["users_by_role"].(map[string]any)
		if s["total_users"] != float64(len(all)) || s["active_users"] != float64(len(all)) || s["members"] != float64(2) ||
			s["crypto"] != float64(1) || s["team_leaders"] != float64(1) || s["admin"] != float64(1) || s["jefe_seguridad"] != float64(1) ||
			s["jefe_seguridad_suplente"] != float64(0) || byRole["jefe_seguridad_suplente"] != float64(0) || byRole["lector_equipo"] != float64(1) {
			t.Errorf("stats = %s", w.call("GET", pfBase+"stats/", admin, nil).body)
		}
		s = pfExpect(t, "team reader's stats", w.api("GET", pfBase+"stats/", vt, nil), 200)
		if s["total_users"] != float64(2) || s["members"] != float64(1) {
			t.Errorf("team reader's stats = %v", s)
		}
	})
}

func TestProfileUpdateRules(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newPFWorld(t, db)
		admin2 := w.user("admin2@example.org", pfPass, identity.RoleAdmin)
		sup := w.user("suplente@example.org", pfPass, identity.RoleJefeSeguridadSuplente)
		m3 := w.user("m3@example.org", pfPass, identity.RoleMember)
		m4 := w.user("m4@example.org", pfPass, identity.RoleMember)
		w.newTeam("Este", sup, m3)
		admin, jefe, lead, st := w.tok(w.admin), w.tok(w.jefe), w.tok(w.lead), w.tok(sup)

		for _, c := range []struct {
			name   string
			method string
			token  string
			target int64
			body   map[string]any
			status int
			field  string // for 400/409: the field named
		}{
			{"lead edits a team member", "PATCH", lead, w.m1.ID, map[string]any{"first_name": "Uno"}, 200, ""},
			{"lead edits with PUT", "PUT", lead, w.m1.ID, map[string]any{"last_name": "Norteño", "role": "member"}, 200, ""},
			{"lead edits outside the team", "PATCH", lead, w.m2.ID, map[string]any{"first_name": "X"}, 403, ""},
			{"lead changes a role", "PATCH", lead, w.m1.ID, map[string]any{"role": "crypto"}, 403, ""},
			{"lead moves a member out", "PATCH", lead, w.m1.ID, map[string]any{"team_id_writable": ""}, 403, ""},
			{"lead renames a more privileged member", "PATCH", lead, w.crypto.ID, map[string]any{"first_name": "Cripto"}, 200, ""},
			{"lead changes a more privileged login", "PATCH", lead, w.crypto.ID, map[string]any{"email": "otro@example.org"}, 403, ""},
			{"lead edits themselves", "PATCH", lead, w.lead.ID, map[string]any{"first_name": "Jefa"}, 200, ""},
			{"admin changes own role", "PATCH", admin, w.admin.ID, map[string]any{"role": "member"}, 403, ""},
			{"jefe changes own role", "PATCH", jefe, w.jefe.ID, map[string]any{"role_writable": "admin"}, 403, ""},
			{"jefe assigns crypto", "PATCH", jefe, w.m2.ID, map[string]any{"role": "crypto"}, 200, ""},
			{"jefe assigns admin", "PATCH", jefe, m4.ID, map[string]any{"role": "admin"}, 403, ""},
			{"jefe edits an admin", "PATCH", jefe, admin2.ID, map[string]any{"first_name": "X"}, 403, ""},
			{"admin assigns admin", "PATCH", admin, m4.ID, map[string]any{"role": "admin"}, 200, ""},
			{"admin edits an admin", "PATCH", admin, admin2.ID, map[string]any{"first_name": "Segunda"}, 200, ""},
			{"suplente assigns team_lead", "PATCH", st, m3.ID, map[string]any{"role": "team_lead"}, 200, ""},
			{"suplente assigns a role above theirs", "PATCH", st, m3.ID, map[string]any{"role": "crypto"}, 403, ""},
			{"e-mail taken", "PATCH", admin, w.m2.ID, map[string]any{"email": "M1@example.org"}, 409, "email"},
			{"username taken", "PATCH", admin, w.m2.ID, map[string]any{"username": "m1@example.org"}, 409, "username"},
			{"invalid e-mail", "PATCH", admin, w.m2.ID, map[string]any{"email": "nope"}, 400, "email"},
			{"bad team", "PATCH", admin, w.m2.ID, map[string]any{"team_id_writable": "zzz"}, 400, "team_id_writable"},
			{"unknown role", "PATCH", admin, w.m2.ID, map[string]any{"role": "jefazo"}, 400, "role"},
			{"password in an update", "PATCH", admin, w.m2.ID, map[string]any{"password": "Otra-Clave-2026"}, 400, "password"},
			{"moving a team lead", "PATCH", admin, w.lead.ID, map[string]any{"team_id": identity.AICOXTeamID}, 409, ""},
			{"deactivating oneself", "PATCH", admin, w.admin.ID, map[string]any{"is_active": false}, 403, ""},
			{"unknown user", "PATCH", admin, 999999, map[string]any{"first_name": "X"}, 404, ""},
			{"admin moves to AICOX", "PATCH", admin, w.m1.ID, map[string]any{"team_id_writable": ""}, 200, ""},
		} {
			r := w.api(c.method, pfPath(c.target, ""), c.token, c.body)
			if r.status != c.status || (c.field != "" && !pfFieldError(r, c.field)) || (r.status == 403 && pfDenied(r)) {
				t.Errorf("%s: %d %s, want %d %s", c.name, r.status, r.body, c.status, c.field)
			}
		}
		if r := w.api("PATCH", pfPath(w.m1.ID, ""), w.tok(w.m2), map[string]any{"first_name": "X"}); !pfDenied(r) {
			t.Errorf("member edits: %d %s", r.status, r.body)
		}

		b := pfExpect(t, "get m1", w.api("GET", pfPath(w.m1.ID, ""), admin, nil), 200)
		if b["first_name"] != "Uno" || b["last_name"] != "Norteño" || b["team_id"] != identity.AICOXTeamID {
			t.Errorf("m1 after the edits: %v", b)
		}
		// The move ended the membership in Norte: its lead no longer manages m1.
		if r := w.api("PATCH", pfPath(w.m1.ID, ""), lead, map[string]any{"first_name": "Dos"}); r.status != 403 {
			t.Errorf("lead edits a member who left: %d %s", r.status, r.body)
		}
		if n := pfAuditFor(t, db, audit.ActionRoleChange, w.m2.ID); n != 1 {
			t.Errorf("role_change entries for m2 = %d", n)
		}
		if n := pfAuditFor(t, db, audit.ActionUpdate, w.m1.ID); n != 3 {
			t.Errorf("update entries for m1 = %d, want 3", n)
		}
		var old, nw string
		if err := db.NewRaw("SELECT old_values, new_values FROM audit_logs WHERE action = ? AND record_id = ?", audit.ActionRoleChange, fmt.Sprint(w.m2.ID)).
			Scan(context.Background(), &old, &nw); err != nil || !strings.Contains(old, "member") || !strings.Contains(nw, "crypto") {
			t.Errorf("role_change values: %s → %s (%v)", old, nw, err)
		}
		pfNoSecrets(t, db, pfPass, "Otra-Clave-2026")
	})
}

func TestProfileActivation(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newPFWorld(t, db)
		admin, jefe, lead := w.tok(w.admin), w.tok(w.jefe), w.tok(w.lead)
		pair := pfExpect(t, "m1 logs in", w.login("m1@example.org", pfPass), 200)
		access, _ := pair["access"].(string)
		refresh, _ := pair["refresh"].(string)
		time.Sleep(1100 * time.Millisecond) // iat has second precision

		b := pfExpect(t, "deactivate", w.api("POST", pfPath(w.m1.ID, "deactivate/"), admin, nil), 200)
		if b["message"] == nil || b["is_active"] != false || b["id"] != float64(w.m1.ID) {
			t.Errorf("deactivate answer = %v", b)
		}
		if r := w.call("GET", "/api/auth/perfil/", access, nil); r.status != 401 || !strings.Contains(r.body, "user_inactive") {
			t.Errorf("deactivated user's token: %d %s", r.status, r.body)
		}
		if r := w.call("POST", "/api/token/refresh/", "", map[string]string{"refresh": refresh}); r.status != 401 {
			t.Errorf("deactivated user's refresh: %d %s", r.status, r.body)
		}
		pfExpect(t, "activate", w.api("POST", pfPath(w.m1.ID, "activate/"), admin, nil), 200)
		if r := w.call("GET", "/api/auth/perfil/", access, nil); r.status != 401 {
			t.Errorf("a token from before the deactivation works again: %d %s", r.status, r.body)
		}
		if r := w.call("POST", "/api/token/refresh/", "", map[string]string{"refresh": refresh}); r.status != 401 {
			t.Errorf("a refresh token from before the deactivation works again: %d %s", r.status, r.body)
		}
		pfExpect(t, "m1 logs in again", w.login("m1@example.org", pfPass), 200)
		if pfAuditFor(t, db, audit.ActionDeactivate, w.m1.ID) != 1 || pfAuditFor(t, db, audit.ActionActivate, w.m1.ID) != 1 {
			t.Error("activation not audited")
		}

		// Soft delete: inactive, nothing erased.
		b = pfExpect(t, "soft delete", w.api("DELETE", pfPath(w.m1.ID, ""), lead, nil), 200)
		if b["message"] == nil || b["is_active"] != false || b["email"] != "m1@example.org" {
			t.Errorf("soft delete answer = %v", b)
		}
		pfExpect(t, "soft-deleted user still there", w.api("GET", pfPath(w.m1.ID, ""), admin, nil), 200)
		if pfAuditFor(t, db, audit.ActionDelete, w.m1.ID) != 1 {
			t.Error("soft delete not audited")
		}
		// Deactivation through an update revokes too.
		m2 := w.tok(w.m2)
		pfExpect(t, "deactivate by update", w.api("PATCH", pfPath(w.m2.ID, ""), admin, map[string]any{"is_active": false}), 200)
		if r := w.call("GET", "/api/auth/perfil/", m2, nil); r.status != 401 || !strings.Contains(r.body, "user_inactive") {
			t.Errorf("user deactivated by update: %d %s", r.status, r.body)
		}

		for _, c := range []struct {
			name, method, path, token string
		}{
			{"delete oneself", "DELETE", pfPath(w.admin.ID, ""), admin},
			{"deactivate oneself", "POST", pfPath(w.admin.ID, "deactivate/"), admin},
			{"jefe deactivates an admin", "POST", pfPath(w.admin.ID, "deactivate/"), jefe},
			{"lead deactivates outside the team", "POST", pfPath(w.m2.ID, "activate/"), lead},
		} {
			if r := w.api(c.method, c.path, c.token, nil); r.status != 403 || pfDenied(r) {
				t.Errorf("%s: %d %s", c.name, r.status, r.body)
			}
		}
		if r := w.api("POST", pfPath(w.lead.ID, "deactivate/"), w.tok(w.crypto), nil); !pfDenied(r) {
			t.Errorf("crypto deactivates: %d %s", r.status, r.body)
		}
		pfNoSecrets(t, db, pfPass)
	})
}

func TestProfilePermanentDelete(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newPFWorld(t, db)
		admin, jefe := w.tok(w.admin), w.tok(w.jefe)
		ctx := context.Background()
		count := func(q string, args ...any) int {
			t.Helper()
			var n int
			if err := db.NewRaw(q, args...).Scan(ctx, &n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		pfExpect(t, "jefe creates someone", w.api("POST", pfBase, jefe, map[string]any{"email": "hecho@example.org"}), 201)
		pfExpect(t, "m2 logs in", w.login("m2@example.org", pfPass), 200)

		for _, c := range []struct {
			name   string
			token  string
			target int64
			status int
		}{
			{"not an admin", jefe, w.m2.ID, 403},
			{"oneself", admin, w.admin.ID, 403},
			{"a team lead", admin, w.lead.ID, 409},
			{"someone who changed data", admin, w.jefe.ID, 409},
			{"unknown", admin, 999999, 404},
		} {
			if r := w.api("DELETE", pfPath(c.target, "permanent/"), c.token, nil); r.status != c.status {
				t.Errorf("%s: %d %s, want %d", c.name, r.status, r.body, c.status)
			}
		}
		if r := w.api("DELETE", pfPath(w.m2.ID, "permanent/"), w.tok(w.lead), nil); r.status != 403 {
			t.Errorf("lead deletes permanently: %d %s", r.status, r.body)
		}

		logins := count("SELECT count(*) FROM audit_logs WHERE user_id = ?", w.m2.ID)
		b := pfExpect(t, "permanent delete", w.api("DELETE", pfPath(w.m2.ID, "permanent/"), admin, nil), 200)
		if b["user_id"] != float64(w.m2.ID) || b["message"] == nil {
			t.Errorf("permanent delete answer = %v", b)
		}
		pfExpect(t, "deleted user", w.api("GET", pfPath(w.m2.ID, ""), admin, nil), 404)
		if n := count("SELECT count(*) FROM users WHERE id = ?", w.m2.ID); n != 0 {
			t.Error("user row survived")
		}
		if n := count("SELECT count(*) FROM team_memberships WHERE user_id = ?", w.m2.ID); n != 0 {
			t.Errorf("%d memberships survived", n)
		}
		if n := count("SELECT count(*) FROM jwt_outstanding WHERE user_id = ?", w.m2.ID); n != 0 {
			t.Errorf("%d tokens survived", n)
		}
		if logins == 0 || count("SELECT count(*) FROM audit_logs WHERE actor = ? AND user_id IS NULL", fmt.Sprintf("deleted-user:%d", w.m2.ID)) != logins {
			t.Errorf("the deleted user's own audit entries (%d) were not kept", logins)
		}
		if pfAuditFor(t, db, audit.ActionDelete, w.m2.ID) != 1 {
			t.Error("permanent delete not audited")
		}
		pfNoSecrets(t, db, pfPass)
	})
}

func TestUserSearchAndCheck(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newPFWorld(t, db)
		lead := w.tok(w.lead)
		search := func(token, q string, extra string) response {
			t.Helper()
			return w.api("GET", "/api/users/search/query/?q="+url.QueryEscape(q)+extra, token, nil)
		}
		users := func(r response) []map[string]any {
			t.Helper()
			var b struct {
				Users []map[string]any `json:"users"`
			}
			if err := json.Unmarshal([]byte(r.body), &b); err != nil || r.status != 200 {
				t.Fatalf("search: %d %s", r.status, r.body)
			}
			return b.Users
		}

		// Members (and crypto) hold hps.ver_perfiles_todos but may not enumerate.
		for _, u := range []*identity.User{w.m1, w.crypto} {
			tk := w.tok(u)
			if r := search(tk, "example", ""); !pfDenied(r) {
				t.Errorf("%s searches: %d %s", u.Email, r.status, r.body)
			}
			if r := w.api("GET", "/api/users/check/m2@example.org/", tk, nil); !pfDenied(r) {
				t.Errorf("%s checks: %d %s", u.Email, r.status, r.body)
			}
		}
		if r := search(lead, "m", ""); r.status != 400 || !pfFieldError(r, "q") {
			t.Errorf("one-letter search: %d %s", r.status, r.body)
		}
		if r := search(lead, "", ""); r.status != 400 || !pfFieldError(r, "q") {
			t.Errorf("empty search: %d %s", r.status, r.body)
		}
		for _, l := range []string{"0", "51"} {
			if r := search(lead, "example", "&limit="+l); r.status != 400 || !pfFieldError(r, "limit") {
				t.Errorf("limit=%s: %d %s", l, r.status, r.body)
			}
		}
		got := users(search(lead, "M1@", ""))
		if len(got) != 1 || got[0]["email"] != "m1@example.org" || got[0]["role"] != identity.RoleMember || got[0]["team_id"] != w.team {
			t.Errorf("search M1@ = %v", got)
		}
		want := []string{"email", "first_name", "id", "is_active", "last_name", "role", "team_id", "username"}
		var keys []string
		for k := range got[0] {
			keys = append(keys, k)
		}
		if fmt.Sprint(slices.Sorted(slices.Values(keys))) != fmt.Sprint(want) {
			t.Errorf("search item keys = %v", keys)
		}
		if n := len(users(search(lead, "example", "&limit=2"))); n != 2 {
			t.Errorf("limit 2 gave %d", n)
		}
		if n := len(users(search(lead, "%_", ""))); n != 0 {
			t.Errorf("wildcards matched %d users", n)
		}
		if n := len(users(search(lead, "test member", ""))); n != 2 {
			t.Errorf("full-name search found %d, want 2", n)
		}

		if r := w.api("GET", "/api/users/check/M1@EXAMPLE.ORG/", lead, nil); r.status != 200 || !strings.Contains(r.body, `"exists":true`) {
			t.Errorf("check existing: %d %s", r.status, r.body)
		}
		if r := w.api("GET", "/api/users/check/nadie@example.org/", lead, nil); r.status != 404 || strings.TrimSpace(r.body) != `{"exists":false}` {
			t.Errorf("check missing: %d %s", r.status, r.body)
		}

		// Scoped to what the caller sees: a team-only creator.
		w.newRole("creador_equipo", identity.PermCrearPerfil, identity.PermVerPerfilesEquipos)
		maker := w.user("maker@example.org", pfPass, "creador_equipo")
		w.newTeam("Oeste", maker, w.m2)
		mt := w.tok(maker)
		got = users(search(mt, "example", ""))
		if len(got) != 2 || got[0]["id"] != float64(w.m2.ID) || got[1]["id"] != float64(maker.ID) {
			t.Errorf("team-only search = %v", got)
		}
		if r := w.api("GET", "/api/users/check/m1@example.org/", mt, nil); r.status != 404 {
			t.Errorf("team-only check of someone else: %d %s", r.status, r.body)
		}
	})
}

func TestAuditLogScopes(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newPFWorld(t, db)
		admin, m1 := w.tok(w.admin), w.tok(w.m1)
		pfExpect(t, "m1 logs in", w.login("m1@example.org", pfPass), 200)
		pfExpect(t, "admin creates", w.api("POST", pfBase, admin, map[string]any{"email": "auditado@example.org"}), 201)
		const logs = "/api/hps/audit-logs/"
		list := func(token, query string) []map[string]any {
			t.Helper()
			r := w.api("GET", logs+query, token, nil)
			var l []map[string]any
			if err := json.Unmarshal([]byte(r.body), &l); err != nil || r.status != 200 {
				t.Fatalf("audit list %s: %d %s", query, r.status, r.body)
			}
			return l
		}

		// Own entries only, filtered in SQL (a filter cannot widen it).
		own := list(m1, "")
		if len(own) == 0 {
			t.Fatal("m1 sees no entries")
		}
		for _, e := range own {
			if e["user"] != float64(w.m1.ID) || e["user_email"] != "m1@example.org" {
				t.Errorf("m1 sees %v", e)
			}
		}
		if l := list(m1, fmt.Sprintf("?user_id=%d", w.admin.ID)); len(l) != 0 {
			t.Errorf("m1 filtered to admin sees %d entries", len(l))
		}
		pfExpect(t, "own entry", w.api("GET", logs+own[0]["id"].(string)+"/", m1, nil), 200)

		// Everything, newest first.
		all := list(admin, "")
		byUser := map[any]bool{}
		for i, e := range all {
			byUser[e["user"]] = true
			if i > 0 && e["created_at"].(string) > all[i-1]["created_at"].(string) {
				t.Errorf("not newest first at %d", i)
			}
			for _, k := range []string{"id", "user", "user_email", "action", "table_name", "record_id", "old_values", "new_values", "ip_address", "user_agent", "created_at"} {
				if _, ok := e[k]; !ok {
					t.Errorf("entry without %s: %v", k, e)
				}
			}
		}
		if !byUser[float64(w.m1.ID)] || !byUser[float64(w.admin.ID)] {
			t.Errorf("admin does not see everyone's entries: %v", byUser)
		}
		var created map[string]any
		for _, e := range list(admin, "?action=create&table_name=users") {
			if e["action"] != "create" || e["table_name"] != "users" {
				t.Errorf("filter leaked %v", e)
			}
			if e["user"] == float64(w.admin.ID) {
				created = e
			}
		}
		if created == nil {
			t.Fatal("admin's create entry not found")
		}
		if nv, _ := created["new_values"].(map[string]any); nv["email"] != "auditado@example.org" {
			t.Errorf("create entry values = %v", created["new_values"])
		}
		pfExpect(t, "someone else's entry", w.api("GET", logs+created["id"].(string)+"/", m1, nil), 404)
		pfExpect(t, "admin reads it", w.api("GET", logs+created["id"].(string)+"/", admin, nil), 200)
		pfExpect(t, "malformed id", w.api("GET", logs+"no-es-un-uuid/", admin, nil), 404)
		if l := list(w.tok(w.jefe), ""); len(l) != len(all) {
			t.Errorf("jefe (ver_audit_logs_todos) sees %d of %d", len(l), len(all))
		}
		if r := w.api("GET", logs+"?user_id=abc", admin, nil); r.status != 400 || !pfFieldError(r, "user_id") {
			t.Errorf("bad user_id: %d %s", r.status, r.body)
		}
		page := pfExpect(t, "page", w.api("GET", logs+"?page=1&page_size=1", admin, nil), 200)
		if c, _ := page["count"].(float64); c < 2 || len(page["results"].([]any)) != 1 || page["next"] == nil {
			t.Errorf("page = %v", page)
		}
		w.newRole("sin_auditoria", identity.PermVerPerfil)
		if r := w.api("GET", logs, w.tok(w.user("ciego@example.org", pfPass, "sin_auditoria")), nil); !pfDenied(r) {
			t.Errorf("no audit permission: %d %s", r.status, r.body)
		}
	})
}
