package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/httpapi"
	"github.com/thot-security/thot/internal/identity"
	"github.com/thot-security/thot/internal/sqlstore"
)

// rtEnv is a server on the real identity stack and database, for the
// roles and teams tests.
type rtEnv struct {
	t     *testing.T
	db    *database.DB
	store *sqlstore.Store
	svc   *identity.Service
	auth  *identity.Auth
	h     http.Handler
}

func newRTEnv(t *testing.T, db *database.DB) *rtEnv {
	t.Helper()
	const key = "roles-teams-test-signing-key-0123456789"
	store := sqlstore.New(db)
	hasher := identity.NewHasher(1000)
	svc := identity.NewService(store, hasher)
	auth := identity.NewAuth(store, store, hasher, identity.NewTokens(key, time.Hour, 24*time.Hour))
	srv := httpapi.New(httpapi.Deps{Config: testConfig(t, map[string]string{"THOT_SECRET_KEY": key}), DB: db,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Auth: auth, Identity: svc})
	return &rtEnv{t: t, db: db, store: store, svc: svc, auth: auth, h: srv.Handler()}
}

// mkUser creates an active user "First Last" with the given role.
func (e *rtEnv) mkUser(first, last, role string) *identity.User {
	e.t.Helper()
	email := strings.ToLower(first) + "." + strings.ToLower(last) + "@example.org"
	u, err := e.svc.CreateUser(context.Background(), identity.NewUser{Email: email, FirstName: first, LastName: last, Password: "Roles-Equipos-2026"})
	if err != nil {
		e.t.Fatalf("create %s: %v", email, err)
	}
	if err := e.store.SetUserRole(context.Background(), u.ID, role); err != nil {
		e.t.Fatalf("role %s: %v", role, err)
	}
	return u
}

// bearer mints an access token for the user as the database has it now.
func (e *rtEnv) bearer(u *identity.User) string {
	e.t.Helper()
	return testSession(e.t, e.db, e.store, e.auth.Tokens(), u.ID).Access
}

func (e *rtEnv) req(method, path, token string, body any) response {
	e.t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		r = strings.NewReader(string(b))
	}
	req := httptest.NewRequest(method, path, r)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	rec := httptest.NewRecorder()
	e.h.ServeHTTP(rec, req)
	return response{rec.Code, rec.Header(), rec.Body.String()}
}

// must sends a request and fails unless the status is want.
func (e *rtEnv) must(want int, method, path, token string, body any) response {
	e.t.Helper()
	r := e.req(method, path, token, body)
	if r.status != want {
		e.t.Fatalf("%s %s: %d, want %d; body %s", method, path, r.status, want, r.body)
	}
	return r
}

func rtDecode[T any](t *testing.T, r response) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.body), &v); err != nil {
		t.Fatalf("decode %T: %v\n%s", v, err, r.body)
	}
	return v
}

// roleOf is the user's role as stored.
func (e *rtEnv) roleOf(id int64) string {
	e.t.Helper()
	var name string
	if err := e.db.NewRaw("SELECT r.name FROM users AS u JOIN roles AS r ON r.id = u.role_id WHERE u.id = ?", id).Scan(context.Background(), &name); err != nil {
		e.t.Fatal(err)
	}
	return name
}

func (e *rtEnv) teamOf(id int64) string {
	e.t.Helper()
	var team *string
	if err := e.db.NewRaw("SELECT CAST(team_id AS TEXT) FROM users WHERE id = ?", id).Scan(context.Background(), &team); err != nil {
		e.t.Fatal(err)
	}
	if team == nil {
		return ""
	}
	return *team
}

// membership reports (exists, is_active, is_lead) of a user in a team.
func (e *rtEnv) membership(teamID string, userID int64) (bool, bool, bool) {
	e.t.Helper()
	var rows []struct {
		IsActive bool `bun:"is_active"`
		IsLead   bool `bun:"is_lead"`
	}
	if err := e.db.NewRaw("SELECT is_active, is_lead FROM team_memberships WHERE team_id = ? AND user_id = ?", teamID, userID).Scan(context.Background(), &rows); err != nil {
		e.t.Fatal(err)
	}
	if len(rows) == 0 {
		return false, false, false
	}
	return true, rows[0].IsActive, rows[0].IsLead
}

// audits counts audit_logs rows; empty arguments match anything.
func (e *rtEnv) audits(table, record, action string, actor int64) int {
	e.t.Helper()
	q := e.db.NewSelect().TableExpr("audit_logs").Where("table_name = ?", table)
	if record != "" {
		q = q.Where("record_id = ?", record)
	}
	if action != "" {
		q = q.Where("action = ?", action)
	}
	if actor != 0 {
		q = q.Where("user_id = ?", actor)
	}
	n, err := q.Count(context.Background())
	if err != nil {
		e.t.Fatal(err)
	}
	return int(n)
}

// lastAudit returns the newest entry's old and new values.
func (e *rtEnv) lastAudit(table, record, action string) (map[string]any, map[string]any) {
	e.t.Helper()
	var rows []struct {
		Old *string `bun:"old_values"`
		New *string `bun:"new_values"`
	}
	err := e.db.NewRaw("SELECT old_values, new_values FROM audit_logs WHERE table_name = ? AND record_id = ? AND action = ? ORDER BY created_at DESC, id DESC LIMIT 1",
		table, record, action).Scan(context.Background(), &rows)
	if err != nil || len(rows) == 0 {
		e.t.Fatalf("no %s audit for %s %s: %v", action, table, record, err)
	}
	var o, n map[string]any
	if rows[0].Old != nil {
		_ = json.Unmarshal([]byte(*rows[0].Old), &o)
	}
	if rows[0].New != nil {
		_ = json.Unmarshal([]byte(*rows[0].New), &n)
	}
	return o, n
}

func rtStrs(v any) []string {
	var out []string
	list, _ := v.([]any)
	for _, x := range list {
		out = append(out, fmt.Sprint(x))
	}
	return out
}

func rtFieldMsgs(t *testing.T, r response, field string) []string {
	t.Helper()
	return rtStrs(rtDecode[map[string]any](t, r)[field])
}

func rtItoa(n int64) string { return fmt.Sprint(n) }

func TestRolesCRUDAndAudit(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		e := newRTEnv(t, db)
		admin := e.mkUser("Ada", "Admin", identity.RoleAdmin)
		tok := e.bearer(admin)

		r := e.must(201, "POST", "/api/hps/roles/", tok, map[string]any{"name": "auditor", "description": "Revisa registros",
			"granted_permissions": []string{identity.PermVerAuditLogsTodos, identity.PermVerPerfil, identity.PermVerPerfil}})
		role := rtDecode[httpapi.HpsRole](t, r)
		if role.ID == 0 || role.Name != "auditor" || role.IsSystem || role.Description != "Revisa registros" {
			t.Fatalf("created role = %+v", role)
		}
		// Catalogue order, duplicates dropped; the legacy object mirrors it.
		if !slices.Equal(role.GrantedPermissions, []string{identity.PermVerPerfil, identity.PermVerAuditLogsTodos}) {
			t.Errorf("granted_permissions = %v", role.GrantedPermissions)
		}
		if len(role.Permissions) != 2 || !role.Permissions[identity.PermVerPerfil] {
			t.Errorf("permissions = %v", role.Permissions)
		}
		if role.CreatedAt == "" || role.UpdatedAt == "" {
			t.Errorf("timestamps missing: %+v", role)
		}
		id := rtItoa(role.ID)
		if n := e.audits("roles", id, "create", admin.ID); n != 1 {
			t.Errorf("create audits = %d", n)
		}
		if n := e.audits("roles", id, "permissions_change", admin.ID); n != 1 {
			t.Errorf("permissions audits after create = %d", n)
		}

		// Validation and conflicts.
		for _, tc := range []struct {
			name   string
			body   map[string]any
			status int
			field  string
			want   string
		}{
			{"duplicate name", map[string]any{"name": "auditor"}, 409, "name", "Ya existe un rol"},
			{"duplicate system name", map[string]any{"name": "member"}, 409, "name", "Ya existe un rol"},
			{"bad name", map[string]any{"name": "Auditor Jefe"}, 400, "name", "minúscula"},
			{"name too short", map[string]any{"name": "a"}, 400, "name", ""},
			{"missing name", map[string]any{"description": "x"}, 400, "name", "required"},
			{"unknown codename", map[string]any{"name": "otro", "granted_permissions": []string{"hps.ver_perfil", "hps.inventado"}}, 400, "granted_permissions", "hps.inventado"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := e.req("POST", "/api/hps/roles/", tok, tc.body)
				if r.status != tc.status {
					t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
				}
				msgs := rtFieldMsgs(t, r, tc.field)
				if len(msgs) == 0 || !strings.Contains(strings.Join(msgs, " "), tc.want) {
					t.Errorf("%s messages = %v, want %q", tc.field, msgs, tc.want)
				}
			})
		}

		// List (bare array, by name) and a page.
		list := rtDecode[[]httpapi.HpsRole](t, e.must(200, "GET", "/api/hps/roles/", tok, nil))
		if len(list) != 7 || list[0].Name != "admin" || !slices.IsSortedFunc(list, func(a, b httpapi.HpsRole) int { return strings.Compare(a.Name, b.Name) }) {
			t.Errorf("roles list = %v", list)
		}
		page := rtDecode[struct {
			Count   int               `json:"count"`
			Next    *string           `json:"next"`
			Results []httpapi.HpsRole `json:"results"`
		}](t, e.must(200, "GET", "/api/hps/roles/?page=2&page_size=3", tok, nil))
		if page.Count != 7 || len(page.Results) != 3 || page.Next == nil || !strings.Contains(*page.Next, "page=3") {
			t.Errorf("page = %+v", page)
		}
		e.must(404, "GET", "/api/hps/roles/?page=9", tok, nil)
		e.must(200, "GET", "/api/hps/roles/"+id+"/", tok, nil)
		e.must(404, "GET", "/api/hps/roles/999999/", tok, nil)
		e.must(404, "GET", "/api/hps/roles/abc/", tok, nil)

		// Update: description, then permissions with an audit of both lists.
		e.must(200, "PATCH", "/api/hps/roles/"+id+"/", tok, map[string]any{"description": "Nueva"})
		if n := e.audits("roles", id, "update", admin.ID); n != 1 {
			t.Errorf("update audits = %d", n)
		}
		r = e.req("PUT", "/api/hps/roles/"+id+"/", tok, map[string]any{"description": "sin nombre"})
		if r.status != 400 || len(rtFieldMsgs(t, r, "name")) == 0 {
			t.Errorf("PUT without name: %d %s", r.status, r.body)
		}
		r = e.must(200, "PATCH", "/api/hps/roles/"+id+"/", tok, map[string]any{"granted_permissions": []string{identity.PermVerPerfil, identity.PermVerEquiposTodos}})
		if got := rtDecode[httpapi.HpsRole](t, r).GrantedPermissions; !slices.Equal(got, []string{identity.PermVerPerfil, identity.PermVerEquiposTodos}) {
			t.Errorf("after grant: %v", got)
		}
		if n := e.audits("roles", id, "permissions_change", admin.ID); n != 2 {
			t.Errorf("permissions audits = %d, want 2", n)
		}
		old, nw := e.lastAudit("roles", id, "permissions_change")
		if !slices.Equal(rtStrs(old["granted_permissions"]), []string{identity.PermVerPerfil, identity.PermVerAuditLogsTodos}) ||
			!slices.Equal(rtStrs(nw["granted_permissions"]), []string{identity.PermVerPerfil, identity.PermVerEquiposTodos}) {
			t.Errorf("permissions audit old=%v new=%v", old, nw)
		}
		// The same list again changes nothing and audits nothing.
		e.must(200, "PATCH", "/api/hps/roles/"+id+"/", tok, map[string]any{"granted_permissions": []string{identity.PermVerEquiposTodos, identity.PermVerPerfil}})
		if n := e.audits("roles", id, "", admin.ID); n != 4 {
			t.Errorf("role audits = %d, want 4 (create, grant, update, grant)", n)
		}
		// Rename a custom role (PUT), then a clash on rename.
		e.must(200, "PUT", "/api/hps/roles/"+id+"/", tok, map[string]any{"name": "auditor_jefe"})
		r = e.req("PATCH", "/api/hps/roles/"+id+"/", tok, map[string]any{"name": "crypto"})
		if r.status != 409 || len(rtFieldMsgs(t, r, "name")) == 0 {
			t.Errorf("rename clash: %d %s", r.status, r.body)
		}

		// A role still held cannot be deleted; once free it can.
		holder := e.mkUser("Hugo", "Holder", "auditor_jefe")
		r = e.req("DELETE", "/api/hps/roles/"+id+"/", tok, nil)
		if r.status != 409 || !strings.Contains(r.body, "asignado a 1 usuario") {
			t.Errorf("delete held role: %d %s", r.status, r.body)
		}
		if err := e.store.SetUserRole(context.Background(), holder.ID, identity.RoleMember); err != nil {
			t.Fatal(err)
		}
		e.must(204, "DELETE", "/api/hps/roles/"+id+"/", tok, nil)
		e.must(404, "GET", "/api/hps/roles/"+id+"/", tok, nil)
		if n := e.audits("roles", id, "delete", admin.ID); n != 1 {
			t.Errorf("delete audits = %d", n)
		}
		if n := e.audits("users", rtItoa(holder.ID), "role_change", 0); n != 2 {
			t.Errorf("holder role_change audits = %d, want 2", n)
		}

		perms := rtDecode[[]identity.PermissionInfo](t, e.must(200, "GET", "/api/hps/permissions/", tok, nil))
		if len(perms) != len(identity.Permissions) || perms[0].Codename != identity.PermVerPerfil || perms[0].Category != "hps" {
			t.Errorf("permissions = %v", perms)
		}
	})
}

func TestSystemRolesAndEscalation(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		e := newRTEnv(t, db)
		admin := e.mkUser("Ada", "Admin", identity.RoleAdmin)
		tok := e.bearer(admin)
		ids := map[string]string{}
		for _, r := range rtDecode[[]httpapi.HpsRole](t, e.must(200, "GET", "/api/hps/roles/", tok, nil)) {
			ids[r.Name] = rtItoa(r.ID)
			if !r.IsSystem {
				t.Errorf("seeded role %s is not a system role", r.Name)
			}
		}
		path := func(name string) string { return "/api/hps/roles/" + ids[name] + "/" }

		// System roles: no rename, no delete; admin keeps every permission.
		if r := e.req("PATCH", path("member"), tok, map[string]any{"name": "miembro"}); r.status != 400 || len(rtFieldMsgs(t, r, "name")) == 0 {
			t.Errorf("rename system role: %d %s", r.status, r.body)
		}
		e.must(200, "PATCH", path("member"), tok, map[string]any{"name": "member", "description": "Miembro"})
		if r := e.req("DELETE", path("crypto"), tok, nil); r.status != 409 {
			t.Errorf("delete system role: %d %s", r.status, r.body)
		}
		if r := e.req("PATCH", path("admin"), tok, map[string]any{"granted_permissions": []string{identity.PermVerPerfil}}); r.status != 400 || len(rtFieldMsgs(t, r, "granted_permissions")) == 0 {
			t.Errorf("reduce admin: %d %s", r.status, r.body)
		}
		e.must(200, "PATCH", path("admin"), tok, map[string]any{"description": "Administración"})

		// An admin may grant hps.gestionar_roles; the grantee may not pass
		// it on, nor grant what they do not hold, nor touch the admin role.
		r := e.must(201, "POST", "/api/hps/roles/", tok, map[string]any{"name": "gestor_roles",
			"granted_permissions": []string{identity.PermGestionarRoles, identity.PermVerPerfil, identity.PermAsignarRol}})
		gestorID := rtItoa(rtDecode[httpapi.HpsRole](t, r).ID)
		gestor := e.mkUser("Gema", "Gestora", "gestor_roles")
		gtok := e.bearer(gestor)
		for _, tc := range []struct {
			name, method, path string
			body               map[string]any
			status             int
		}{
			{"grant gestionar_roles", "POST", "/api/hps/roles/", map[string]any{"name": "copia", "granted_permissions": []string{identity.PermGestionarRoles}}, 403},
			{"grant not held", "POST", "/api/hps/roles/", map[string]any{"name": "copia", "granted_permissions": []string{identity.PermVerEquiposTodos}}, 403},
			{"add gestionar_roles to a role", "PATCH", path("crypto"), map[string]any{"granted_permissions": []string{identity.PermVerPerfil, identity.PermGestionarRoles}}, 403},
			{"edit admin", "PATCH", path("admin"), map[string]any{"description": "mío"}, 403},
			{"delete admin", "DELETE", path("admin"), nil, 403},
			{"grant held", "POST", "/api/hps/roles/", map[string]any{"name": "lector", "granted_permissions": []string{identity.PermVerPerfil}}, 201},
			{"remove from own role", "PATCH", "/api/hps/roles/" + gestorID + "/", map[string]any{"granted_permissions": []string{identity.PermGestionarRoles, identity.PermVerPerfil}}, 200},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if r := e.req(tc.method, tc.path, gtok, tc.body); r.status != tc.status {
					t.Errorf("%d, want %d: %s", r.status, tc.status, r.body)
				}
			})
		}

		// Read access: gestionar_roles or asignar_rol; writes: gestionar_roles.
		suplente := e.bearer(e.mkUser("Susana", "Suplente", identity.RoleJefeSeguridadSuplente))
		e.must(200, "GET", "/api/hps/roles/", suplente, nil)
		e.must(200, "GET", path("member"), suplente, nil)
		e.must(200, "GET", "/api/hps/permissions/", suplente, nil)
		e.must(403, "POST", "/api/hps/roles/", suplente, map[string]any{"name": "nuevo"})
		e.must(403, "DELETE", "/api/hps/roles/"+gestorID+"/", suplente, nil)
		member := e.bearer(e.mkUser("Mario", "Miembro", identity.RoleMember))
		e.must(403, "GET", "/api/hps/roles/", member, nil)
		e.must(401, "GET", "/api/hps/roles/", "", nil)
	})
}

func TestTeamsLeadLifecycle(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		e := newRTEnv(t, db)
		admin := e.mkUser("Ada", "Admin", identity.RoleAdmin)
		tok := e.bearer(admin)
		alice := e.mkUser("Alice", "Alonso", identity.RoleMember)
		bob := e.mkUser("Bob", "Blanco", identity.RoleMember)
		carol := e.mkUser("Carol", "Castro", identity.RoleMember)
		crypto := e.mkUser("Ciro", "Cripto", identity.RoleCrypto)
		mutations := 0 // successful team mutations by the admin

		// Create with a lead: promoted, moved from AICOX, lead membership.
		r := e.must(201, "POST", "/api/hps/teams/", tok, map[string]any{"name": "Equipo Norte", "description": "  Zona norte ", "team_lead_id": alice.ID})
		mutations++
		norte := rtDecode[httpapi.HpsTeam](t, r)
		if norte.TeamLead == nil || *norte.TeamLead != alice.ID || norte.TeamLeadID == nil || *norte.TeamLeadID != alice.ID ||
			norte.TeamLeadName == nil || *norte.TeamLeadName != "Alice Alonso" || !norte.IsActive || norte.MemberCount != 1 ||
			norte.Description != "Zona norte" || len(norte.Members) != 1 || norte.Members[0].ID != alice.ID ||
			norte.Members[0].Role != identity.RoleTeamLead || norte.Members[0].FullName != "Alice Alonso" {
			t.Fatalf("created team = %+v", norte)
		}
		if got := e.roleOf(alice.ID); got != identity.RoleTeamLead {
			t.Errorf("alice role = %s, want team_lead", got)
		}
		if got := e.teamOf(alice.ID); got != norte.ID {
			t.Errorf("alice team = %s, want %s", got, norte.ID)
		}
		if ok, active, lead := e.membership(norte.ID, alice.ID); !ok || !active || !lead {
			t.Errorf("alice membership = %v %v %v", ok, active, lead)
		}
		if _, active, _ := e.membership(identity.AICOXTeamID, alice.ID); active {
			t.Errorf("alice still an active AICOX member")
		}
		if n := e.audits("users", rtItoa(alice.ID), "role_change", admin.ID); n != 1 {
			t.Errorf("alice role_change audits = %d", n)
		}

		// Conflicts and validation.
		for _, tc := range []struct {
			name   string
			body   map[string]any
			status int
			field  string
		}{
			{"same name other case", map[string]any{"name": "equipo NORTE"}, 409, "name"},
			{"lead already leads", map[string]any{"name": "Equipo Sur", "team_lead_id": alice.ID}, 409, "team_lead_id"},
			{"name too short", map[string]any{"name": "N"}, 400, "name"},
			{"name too long", map[string]any{"name": strings.Repeat("n", 101)}, 400, "name"},
			{"missing name", map[string]any{"description": "x"}, 400, "name"},
			{"unknown lead", map[string]any{"name": "Equipo Sur", "team_lead_id": 999999}, 400, "team_lead_id"},
			{"bad lead", map[string]any{"name": "Equipo Sur", "team_lead_id": "abc"}, 400, "team_lead_id"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := e.req("POST", "/api/hps/teams/", tok, tc.body)
				if r.status != tc.status || len(rtFieldMsgs(t, r, tc.field)) == 0 {
					t.Errorf("%d %s, want %d on %s", r.status, r.body, tc.status, tc.field)
				}
			})
		}

		// An inactive user cannot lead.
		ivan := e.mkUser("Ivan", "Inactivo", identity.RoleMember)
		if _, err := db.NewRaw("UPDATE users SET is_active = FALSE WHERE id = ?", ivan.ID).Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		if r := e.req("POST", "/api/hps/teams/", tok, map[string]any{"name": "Equipo Sur", "team_lead_id": ivan.ID}); r.status != 400 || len(rtFieldMsgs(t, r, "team_lead_id")) == 0 {
			t.Errorf("inactive lead: %d %s", r.status, r.body)
		}

		// A team without a lead, then the legacy writable alias as a string.
		sur := rtDecode[httpapi.HpsTeam](t, e.must(201, "POST", "/api/hps/teams/", tok, map[string]any{"name": "Equipo Sur"}))
		mutations++
		if sur.TeamLead != nil || sur.TeamLeadName != nil || sur.MemberCount != 0 || len(sur.Members) != 0 {
			t.Errorf("team without lead = %+v", sur)
		}
		sur = rtDecode[httpapi.HpsTeam](t, e.must(200, "PATCH", "/api/hps/teams/"+sur.ID+"/", tok, map[string]any{"team_lead_id_writable": rtItoa(bob.ID)}))
		mutations++
		if sur.TeamLeadID == nil || *sur.TeamLeadID != bob.ID || e.roleOf(bob.ID) != identity.RoleTeamLead {
			t.Errorf("bob not lead of sur: %+v, role %s", sur, e.roleOf(bob.ID))
		}
		// One user leads one active team.
		if r := e.req("PATCH", "/api/hps/teams/"+norte.ID+"/", tok, map[string]any{"team_lead_id": bob.ID}); r.status != 409 || len(rtFieldMsgs(t, r, "team_lead_id")) == 0 {
			t.Errorf("bob leading two teams: %d %s", r.status, r.body)
		}
		// Renaming onto another active team's name.
		if r := e.req("PATCH", "/api/hps/teams/"+sur.ID+"/", tok, map[string]any{"name": "EQUIPO NORTE"}); r.status != 409 {
			t.Errorf("rename onto active name: %d %s", r.status, r.body)
		}
		// Omitting team_lead_id keeps the lead (the FastAPI PUT removed it).
		sur = rtDecode[httpapi.HpsTeam](t, e.must(200, "PUT", "/api/hps/teams/"+sur.ID+"/", tok, map[string]any{"name": "Equipo Sur", "description": "Zona sur"}))
		mutations++
		if sur.TeamLeadID == nil || *sur.TeamLeadID != bob.ID || sur.Description != "Zona sur" {
			t.Errorf("PUT without team_lead_id lost the lead: %+v", sur)
		}
		if r := e.req("PUT", "/api/hps/teams/"+sur.ID+"/", tok, map[string]any{"description": "x"}); r.status != 400 {
			t.Errorf("PUT without name: %d %s", r.status, r.body)
		}

		// Replace the lead: alice demoted (stays a member), carol promoted.
		norte = rtDecode[httpapi.HpsTeam](t, e.must(200, "PATCH", "/api/hps/teams/"+norte.ID+"/", tok, map[string]any{"team_lead_id": carol.ID}))
		mutations++
		if e.roleOf(alice.ID) != identity.RoleMember || e.roleOf(carol.ID) != identity.RoleTeamLead {
			t.Errorf("after replace: alice %s, carol %s", e.roleOf(alice.ID), e.roleOf(carol.ID))
		}
		if ok, active, lead := e.membership(norte.ID, alice.ID); !ok || !active || lead {
			t.Errorf("alice membership after replace = %v %v %v", ok, active, lead)
		}
		if norte.MemberCount != 2 || *norte.TeamLeadName != "Carol Castro" || norte.Members[0].ID != carol.ID {
			t.Errorf("norte after replace = %+v", norte)
		}
		if n := e.audits("users", rtItoa(alice.ID), "role_change", admin.ID); n != 2 {
			t.Errorf("alice role_change audits = %d, want 2", n)
		}
		o, nw := e.lastAudit("users", rtItoa(alice.ID), "role_change")
		if o["role"] != identity.RoleTeamLead || nw["role"] != identity.RoleMember {
			t.Errorf("alice demotion audit old=%v new=%v", o, nw)
		}
		// A non-member role is kept when leading; removing the lead with "".
		e.must(200, "PATCH", "/api/hps/teams/"+norte.ID+"/", tok, map[string]any{"team_lead_id": crypto.ID})
		mutations++
		if e.roleOf(crypto.ID) != identity.RoleCrypto || e.roleOf(carol.ID) != identity.RoleMember {
			t.Errorf("crypto lead: crypto %s, carol %s", e.roleOf(crypto.ID), e.roleOf(carol.ID))
		}
		norte = rtDecode[httpapi.HpsTeam](t, e.must(200, "PATCH", "/api/hps/teams/"+norte.ID+"/", tok, map[string]any{"team_lead_id": ""}))
		mutations++
		if norte.TeamLeadID != nil || e.roleOf(crypto.ID) != identity.RoleCrypto {
			t.Errorf("lead removal: %+v, crypto %s", norte, e.roleOf(crypto.ID))
		}
		// A PATCH that changes nothing writes nothing.
		before := e.audits("teams", norte.ID, "", 0)
		e.must(200, "PATCH", "/api/hps/teams/"+norte.ID+"/", tok, map[string]any{"name": "Equipo Norte"})
		if after := e.audits("teams", norte.ID, "", 0); after != before {
			t.Errorf("no-op PATCH audited: %d → %d", before, after)
		}

		// Deactivation: refused with other active members, and for AICOX.
		if r := e.req("DELETE", "/api/hps/teams/"+norte.ID+"/", tok, nil); r.status != 409 || !strings.Contains(r.body, "miembro") {
			t.Errorf("deactivate with members: %d %s", r.status, r.body)
		}
		if r := e.req("DELETE", "/api/hps/teams/"+identity.AICOXTeamID+"/", tok, nil); r.status != 409 {
			t.Errorf("deactivate AICOX: %d %s", r.status, r.body)
		}
		if r := e.req("PATCH", "/api/hps/teams/"+identity.AICOXTeamID+"/", tok, map[string]any{"is_active": false}); r.status != 409 {
			t.Errorf("PATCH AICOX inactive: %d %s", r.status, r.body)
		}
		// A team whose only active member is its lead can go; the lead is
		// demoted and goes back to AICOX.
		dave := e.mkUser("Dave", "Duran", identity.RoleMember)
		este := rtDecode[httpapi.HpsTeam](t, e.must(201, "POST", "/api/hps/teams/", tok, map[string]any{"name": "Equipo Este", "team_lead_id": dave.ID}))
		mutations++
		e.must(204, "DELETE", "/api/hps/teams/"+este.ID+"/", tok, nil)
		mutations++
		if e.roleOf(dave.ID) != identity.RoleMember || e.teamOf(dave.ID) != identity.AICOXTeamID {
			t.Errorf("dave after deactivation: %s in %s", e.roleOf(dave.ID), e.teamOf(dave.ID))
		}
		if _, active, _ := e.membership(identity.AICOXTeamID, dave.ID); !active {
			t.Errorf("dave not back in AICOX")
		}
		este = rtDecode[httpapi.HpsTeam](t, e.must(200, "GET", "/api/hps/teams/"+este.ID+"/", tok, nil))
		if este.IsActive || este.TeamLeadID != nil || este.MemberCount != 0 {
			t.Errorf("deactivated team = %+v", este)
		}
		if n := e.audits("teams", este.ID, "deactivate", admin.ID); n != 1 {
			t.Errorf("deactivate audits = %d", n)
		}
		e.must(204, "DELETE", "/api/hps/teams/"+este.ID+"/", tok, nil) // already inactive: no-op
		// The name is free again among active teams.
		e.must(201, "POST", "/api/hps/teams/", tok, map[string]any{"name": "equipo este"})
		mutations++

		active := rtDecode[[]httpapi.HpsTeam](t, e.must(200, "GET", "/api/hps/teams/", tok, nil))
		all := rtDecode[[]httpapi.HpsTeam](t, e.must(200, "GET", "/api/hps/teams/?include_inactive=true", tok, nil))
		if len(active) != 4 || len(all) != 5 {
			t.Errorf("list: %d active, %d all; want 4 and 5", len(active), len(all))
		}
		for _, tm := range active {
			// AICOX: admin and dave active, ivan listed but inactive;
			// the leads left it for their teams.
			if tm.ID == identity.AICOXTeamID && (tm.MemberCount != 2 || len(tm.Members) != 3) {
				t.Errorf("AICOX = %d members, %d listed: %+v", tm.MemberCount, len(tm.Members), tm.Members)
			}
		}

		// Every successful team mutation by the admin wrote a teams audit row.
		if n := e.audits("teams", "", "", admin.ID); n != mutations {
			t.Errorf("teams audit rows by admin = %d, want %d", n, mutations)
		}
		e.must(404, "GET", "/api/hps/teams/not-a-uuid/", tok, nil)
		e.must(404, "PATCH", "/api/hps/teams/00000000-0000-4000-8000-000000000000/", tok, map[string]any{"name": "Nada"})
	})
}

func TestTeamLeadScopeAndStats(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		e := newRTEnv(t, db)
		admin := e.mkUser("Ada", "Admin", identity.RoleAdmin)
		tok := e.bearer(admin)
		lead := e.mkUser("Lola", "Lider", identity.RoleMember)
		other := e.mkUser("Oscar", "Otro", identity.RoleMember)
		m1 := e.mkUser("Marta", "Uno", identity.RoleMember)
		mine := rtDecode[httpapi.HpsTeam](t, e.must(201, "POST", "/api/hps/teams/", tok, map[string]any{"name": "Equipo Lola", "team_lead_id": lead.ID}))
		theirs := rtDecode[httpapi.HpsTeam](t, e.must(201, "POST", "/api/hps/teams/", tok, map[string]any{"name": "Equipo Oscar", "team_lead_id": other.ID}))
		if _, err := db.NewRaw("INSERT INTO team_memberships (team_id, user_id, is_lead, is_active, created_at) VALUES (?, ?, FALSE, TRUE, ?)",
			mine.ID, m1.ID, time.Now().UTC()).Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		ltok := e.bearer(lead) // minted after the promotion: role team_lead

		// A lead sees only the teams they lead.
		list := rtDecode[[]httpapi.HpsTeam](t, e.must(200, "GET", "/api/hps/teams/?include_inactive=true", ltok, nil))
		if len(list) != 1 || list[0].ID != mine.ID || list[0].MemberCount != 2 || len(list[0].Members) != 2 {
			t.Fatalf("lead's list = %+v", list)
		}
		members := rtDecode[[]httpapi.HpsTeamMember](t, e.must(200, "GET", "/api/hps/teams/"+mine.ID+"/members/", ltok, nil))
		if len(members) != 2 || members[0].ID != lead.ID || members[1].Email != "marta.uno@example.org" || members[1].Role != identity.RoleMember || !members[1].IsActive {
			t.Errorf("members = %+v", members)
		}
		st := rtDecode[httpapi.HpsTeamStats](t, e.must(200, "GET", "/api/hps/teams/stats/", ltok, nil))
		if st != (httpapi.HpsTeamStats{TotalTeams: 1, ActiveTeams: 1, TotalMembers: 2, TeamsWithLeaders: 1}) {
			t.Errorf("lead's stats = %+v", st)
		}
		for _, tc := range []struct {
			name, method, path string
			body               map[string]any
			status             int
		}{
			{"other team", "GET", "/api/hps/teams/" + theirs.ID + "/", nil, 404},
			{"other team's members", "GET", "/api/hps/teams/" + theirs.ID + "/members/", nil, 404},
			{"update other team", "PATCH", "/api/hps/teams/" + theirs.ID + "/", map[string]any{"name": "Mío"}, 404},
			{"create", "POST", "/api/hps/teams/", map[string]any{"name": "Nuevo"}, 403},
			{"change own lead", "PATCH", "/api/hps/teams/" + mine.ID + "/", map[string]any{"team_lead_id": m1.ID}, 403},
			{"remove own lead", "PATCH", "/api/hps/teams/" + mine.ID + "/", map[string]any{"team_lead_id": nil}, 403},
			{"deactivate by PATCH", "PATCH", "/api/hps/teams/" + mine.ID + "/", map[string]any{"is_active": false}, 403},
			{"delete", "DELETE", "/api/hps/teams/" + mine.ID + "/", nil, 403},
			{"rename own", "PATCH", "/api/hps/teams/" + mine.ID + "/", map[string]any{"name": "Equipo de Lola", "team_lead_id": lead.ID}, 200},
			{"own team", "GET", "/api/hps/teams/" + mine.ID + "/", nil, 200},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if r := e.req(tc.method, tc.path, ltok, tc.body); r.status != tc.status {
					t.Errorf("%d, want %d: %s", r.status, tc.status, r.body)
				}
			})
		}
		if n := e.audits("teams", mine.ID, "update", lead.ID); n != 1 {
			t.Errorf("lead's rename audits = %d", n)
		}

		// Others: a member has no team permission; jefe_seguridad sees all.
		mtok := e.bearer(m1)
		e.must(403, "GET", "/api/hps/teams/", mtok, nil)
		e.must(403, "GET", "/api/hps/teams/stats/", mtok, nil)
		e.must(403, "GET", "/api/hps/teams/"+mine.ID+"/", mtok, nil)
		jefe := e.bearer(e.mkUser("Jesus", "Jefe", identity.RoleJefeSeguridad))
		if got := rtDecode[[]httpapi.HpsTeam](t, e.must(200, "GET", "/api/hps/teams/", jefe, nil)); len(got) != 3 {
			t.Errorf("jefe sees %d teams, want 3", len(got))
		}

		// Stats for everyone, and the page shape.
		st = rtDecode[httpapi.HpsTeamStats](t, e.must(200, "GET", "/api/hps/teams/stats/", tok, nil))
		// Active users with an active membership: admin, m1 and jefe in AICOX
		// (m1 also in Lola's team), lead, other.
		if st.TotalTeams != 3 || st.ActiveTeams != 3 || st.TeamsWithLeaders != 2 || st.TotalMembers != 5 {
			t.Errorf("stats = %+v", st)
		}
		page := rtDecode[struct {
			Count    int               `json:"count"`
			Next     *string           `json:"next"`
			Previous *string           `json:"previous"`
			Results  []httpapi.HpsTeam `json:"results"`
		}](t, e.must(200, "GET", "/api/hps/teams/?page=2&page_size=2", tok, nil))
		if page.Count != 3 || len(page.Results) != 1 || page.Next != nil || page.Previous == nil || len(page.Results[0].Members) == 0 {
			t.Errorf("page = %+v", page)
		}
		e.must(404, "GET", "/api/hps/teams/?page=5&page_size=2", tok, nil)
	})
}
