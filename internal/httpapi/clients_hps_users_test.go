package httpapi_test

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/identity"
)

// The HPS frontend's account, user and team calls (store/authStore.js,
// services/apiService.js userService and teamService, as UserManagement,
// TeamManagement, Dashboard and ChatMonitoringPage make them).

const hpsfeProfiles = "/api/hps/user/profiles/"

// profileReads are the keys userService.getUsers copies out of each
// profile (UserManagement then shows and sorts by them).
var hpsfeProfileReads = map[string]string{
	"id": "number", "user_id": "number", "email": "string", "username": "string", "first_name": "string", "last_name": "string",
	"full_name": "string", "role": "string", "team_id": "string|null", "team_name": "string|null", "is_active": "boolean",
	"is_temp_password": "boolean", "must_change_password": "boolean", "email_verified": "boolean", "created_at": "string", "updated_at": "string",
}

// TestHPSFrontendAuthStore: getCurrentUser (login, initializeAuth,
// verifyToken, checkAndRefreshToken) reads the caller's profile, and the
// routes and menus compare its role with role names.
func TestHPSFrontendAuthStore(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newHPSFE(t, db)
		t.Run("getCurrentUser", func(t *testing.T) {
			for _, u := range []struct {
				tok, role string
				team      bool
			}{{c.tokAdmin, identity.RoleAdmin, true}, {c.tokApprover, identity.RoleJefeSeguridad, false}, {c.tokLead, identity.RoleTeamLead, true}, {c.tokM1, identity.RoleMember, true}} {
				p := c.object(t, c.want(t, c.axios("GET", "/api/hps/user/profile/", u.tok, nil), 200, "profile"))
				hpsfeReads(t, "profile", p, map[string]string{"id": "number", "email": "string", "first_name": "string", "last_name": "string",
					"full_name": "string", "role": "string", "is_active": "boolean", "is_temp_password": "boolean", "team_id": "string|null", "team_name": "string|null"})
				if p["role"] != u.role {
					t.Errorf("role %v, want %s (PrivateRoute, isTeamLeader and isSecurityChief compare names)", p["role"], u.role)
				}
				if u.team && (p["team_id"] == nil || p["team_name"] == nil) {
					t.Errorf("%s: no team (TeamManagement needs user.team_id): %v", u.role, p)
				}
			}
		})
	})
}

// TestHPSFrontendUserService: the users page (UserManagement.jsx), the
// team page (TeamManagement.jsx) and the dashboard's counters.
func TestHPSFrontendUserService(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newHPSFE(t, db)
		ctx := context.Background()
		// A user without names: full_name must still be a non-empty
		// string (sortUsersByRole calls full_name.localeCompare).
		noName, err := c.svc.CreateUser(ctx, identity.NewUser{Email: "sin.nombre@example.org", Password: hpsrPass})
		if err != nil {
			t.Fatal(err)
		}

		t.Run("getUsers", func(t *testing.T) {
			for _, tok := range []string{c.tokAdmin, c.tokApprover} { // AdminSecurityRoute: admin, jefe_seguridad
				r := c.want(t, c.axios("GET", hpsfeProfiles, tok, nil), 200, "users")
				users := decode[[]map[string]any](t, r)
				if len(users) < 7 {
					t.Fatalf("%d users", len(users))
				}
				for _, u := range users {
					hpsfeReads(t, "profile "+u["email"].(string), u, hpsfeProfileReads)
					if fn, _ := u["full_name"].(string); fn == "" {
						t.Errorf("%v: empty full_name", u["email"])
					}
					if u["email"] == noName.Email && u["full_name"] != noName.Email {
						t.Errorf("nameless user's full_name %v", u["full_name"])
					}
					if u["email"] == "lead@example.org" && (u["role"] != identity.RoleTeamLead || u["role_name"] != identity.RoleTeamLead || u["role_id"] == nil) {
						t.Errorf("lead: role %v role_name %v role_id %v", u["role"], u["role_name"], u["role_id"])
					}
				}
			}
		})

		t.Run("loadUsers (ChatMonitoringPage fetch)", func(t *testing.T) {
			r := c.fetch("GET", hpsfeProfiles, map[string]string{"Authorization": "Bearer " + c.tokAdmin, "Content-Type": "application/json"})
			if users := decode[[]map[string]any](t, c.want(t, r, 200, "profiles")); len(users) == 0 {
				t.Fatal("no users")
			}
		})

		var created int64
		t.Run("createUser (UserManagement)", func(t *testing.T) {
			r := c.want(t, c.axios("POST", hpsfeProfiles, c.tokAdmin, map[string]any{"email": "ana.lopez@example.org", "full_name": "Ana María López",
				"password": "Temporal-Segura-2026", "role_writable": "member", "team_id_writable": identity.AICOXTeamID}), 201, "create user")
			p := c.object(t, r)
			hpsfeReads(t, "created", p, hpsfeProfileReads)
			if p["first_name"] != "Ana" || p["last_name"] != "María López" || p["full_name"] != "Ana María López" || p["role"] != "member" ||
				p["team_id"] != identity.AICOXTeamID || p["must_change_password"] != true {
				t.Errorf("created %v", p)
			}
			created = int64(p["id"].(float64))
			// The password given works (as a first-login password).
			if r := c.axios("POST", "/api/token/", "", map[string]any{"username": "ana.lopez@example.org", "password": "Temporal-Segura-2026"}); r.status != 200 {
				t.Errorf("login with the given password: %d %s", r.status, r.body)
			}
			// jefe_seguridad creates a crypto user the same way.
			p = c.object(t, c.want(t, c.axios("POST", hpsfeProfiles, c.tokApprover, map[string]any{"email": "cripto@example.org", "full_name": "Cripto",
				"password": "Temporal-Segura-2026", "role_writable": "crypto", "team_id_writable": identity.AICOXTeamID}), 201, "jefe creates crypto"))
			if p["first_name"] != "Cripto" || p["last_name"] != "" || p["role"] != "crypto" {
				t.Errorf("one-word full_name: %v", p)
			}
		})

		t.Run("createUser (TeamManagement)", func(t *testing.T) {
			p := c.object(t, c.want(t, c.axios("POST", hpsfeProfiles, c.tokLead, map[string]any{"email": "nuevo@example.org", "first_name": "Nuevo",
				"last_name": "Miembro", "role": "member", "team_id": c.norte}), 201, "lead creates a member"))
			if p["team_id"] != c.norte || p["role"] != "member" || p["full_name"] != "Nuevo Miembro" {
				t.Errorf("lead's new member %v", p)
			}
		})

		t.Run("updateUser (UserManagement)", func(t *testing.T) {
			path := hpsfeProfiles + strconv.FormatInt(created, 10) + "/"
			p := c.object(t, c.want(t, c.axios("PUT", path, c.tokAdmin, map[string]any{"role_writable": "crypto", "team_id_writable": c.sur}), 200, "edit"))
			if p["role"] != "crypto" || p["team_id"] != c.sur {
				t.Errorf("edited %v", p)
			}
			// With the password field filled: the alert shows detail, and
			// nothing changes until the field is left empty.
			r := c.want(t, c.axios("PUT", path, c.tokAdmin, map[string]any{"role_writable": "member", "team_id_writable": c.sur, "password": "Otra-Clave-2026"}), 400, "edit with password")
			if b := c.object(t, r); b["detail"] == nil || b["password"] == nil {
				t.Errorf("edit with password: %s", r.body)
			}
			if p := c.object(t, c.axios("GET", path, c.tokAdmin, nil)); p["role"] != "crypto" {
				t.Errorf("a refused edit changed the role: %v", p["role"])
			}
		})

		t.Run("updateUser (TeamManagement)", func(t *testing.T) {
			p := c.object(t, c.want(t, c.axios("PUT", hpsfeProfiles+strconv.FormatInt(c.m1.ID, 10)+"/", c.tokLead,
				map[string]any{"email": c.m1.Email, "first_name": "Marta", "last_name": "Norte", "role": "member"}), 200, "lead edits a member"))
			if p["first_name"] != "Marta" || p["role"] != "member" {
				t.Errorf("lead's edit %v", p)
			}
		})

		t.Run("getUserById", func(t *testing.T) {
			p := c.object(t, c.want(t, c.axios("GET", hpsfeProfiles+strconv.FormatInt(c.lead.ID, 10)+"/", c.tokAdmin, nil), 200, "one user"))
			hpsfeReads(t, "profile", p, hpsfeProfileReads)
		})

		t.Run("getUsersByRole", func(t *testing.T) {
			users := decode[[]map[string]any](t, c.want(t, c.axios("GET", hpsfeProfiles+"?role=team_lead", c.tokAdmin, nil), 200, "by role"))
			if len(users) != 1 || users[0]["role"] != identity.RoleTeamLead {
				t.Errorf("by role: %v", users)
			}
		})

		t.Run("deleteUser", func(t *testing.T) {
			p := c.object(t, c.want(t, c.axios("DELETE", hpsfeProfiles+strconv.FormatInt(created, 10)+"/", c.tokAdmin, nil), 200, "delete"))
			if p["is_active"] != false {
				t.Errorf("deleted user still active: %v", p)
			}
		})

		t.Run("activateUser", func(t *testing.T) {
			p := c.object(t, c.want(t, c.axios("POST", hpsfeProfiles+strconv.FormatInt(created, 10)+"/activate/", c.tokAdmin, nil), 200, "activate"))
			if p["is_active"] != true {
				t.Errorf("activated user inactive: %v", p)
			}
		})

		t.Run("permanentlyDeleteUser", func(t *testing.T) {
			p := c.object(t, c.want(t, c.axios("DELETE", hpsfeProfiles+strconv.FormatInt(noName.ID, 10)+"/permanent/", c.tokAdmin, nil), 200, "erase"))
			if p["user_id"] != float64(noName.ID) || p["message"] == nil {
				t.Errorf("erase: %v", p)
			}
		})

		t.Run("getStats", func(t *testing.T) {
			p := c.object(t, c.want(t, c.axios("GET", hpsfeProfiles+"stats/", c.tokAdmin, nil), 200, "stats"))
			hpsfeReads(t, "user stats", p, map[string]string{"total_users": "number", "active_users": "number", "crypto": "number",
				"team_leaders": "number", "members": "number"})
			if p["team_leaders"] != float64(1) {
				t.Errorf("team_leaders %v", p["team_leaders"])
			}
		})

		t.Run("searchUsers", func(t *testing.T) {
			r := c.want(t, c.axios("GET", hpsfeProfiles+"search/?q=example&limit=10", c.tokLead, nil), 200, "search")
			got := decode[struct {
				Users      []map[string]any `json:"users"`
				Query      string           `json:"query"`
				TotalFound int              `json:"total_found"`
			}](t, r)
			// Within the caller's reach: exactly what the list shows them.
			list := decode[[]map[string]any](t, c.want(t, c.axios("GET", hpsfeProfiles+"?search=example", c.tokLead, nil), 200, "list"))
			emails := func(us []map[string]any) string {
				var out []string
				for _, u := range us {
					out = append(out, u["email"].(string))
				}
				sort.Strings(out)
				return strings.Join(out, " ")
			}
			if got.Query != "example" || got.TotalFound != len(list) || emails(got.Users) != emails(list) || len(list) == 0 {
				t.Errorf("search %q (%d) vs list %q", emails(got.Users), got.TotalFound, emails(list))
			}
			for _, u := range got.Users {
				hpsfeReads(t, "found", u, hpsfeProfileReads)
			}
			if r := c.axios("GET", hpsfeProfiles+"search/?q=e", c.tokLead, nil); r.status != 400 || !strings.Contains(r.body, `"q"`) {
				t.Errorf("one character: %d %s", r.status, r.body)
			}
		})

		t.Run("getTeamMembers", func(t *testing.T) {
			members := decode[[]map[string]any](t, c.want(t, c.axios("GET", "/api/hps/teams/"+c.norte+"/members/", c.tokLead, nil), 200, "members"))
			if len(members) == 0 {
				t.Fatal("no members")
			}
			for _, m := range members {
				hpsfeReads(t, "member", m, map[string]string{"id": "number", "email": "string", "first_name": "string", "last_name": "string", "role": "string"})
			}
		})
	})
}

// TestHPSFrontendTeamService: the teams tab of UserManagement.jsx.
func TestHPSFrontendTeamService(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newHPSFE(t, db)
		teamReads := map[string]string{"id": "string", "name": "string", "description": "string", "is_active": "boolean",
			"member_count": "number", "team_lead_name": "string|null", "team_lead_id": "number|null"}

		t.Run("getTeams", func(t *testing.T) {
			teams := decode[[]map[string]any](t, c.want(t, c.axios("GET", "/api/hps/teams/", c.tokAdmin, nil), 200, "teams"))
			if len(teams) < 2 {
				t.Fatalf("%d teams", len(teams))
			}
			for _, tm := range teams {
				hpsfeReads(t, "team", tm, teamReads)
			}
		})

		t.Run("getTeamDetail", func(t *testing.T) {
			tm := c.object(t, c.want(t, c.axios("GET", "/api/hps/teams/"+c.norte+"/", c.tokAdmin, nil), 200, "team"))
			hpsfeReads(t, "team", tm, map[string]string{"name": "string", "description": "string", "is_active": "boolean",
				"team_lead_name": "string|null", "members": "array"})
			for _, m := range tm["members"].([]any) {
				hpsfeReads(t, "member", m.(map[string]any), map[string]string{"id": "number", "email": "string", "full_name": "string", "role": "string"})
			}
		})

		var id string
		t.Run("createTeam", func(t *testing.T) {
			tm := c.object(t, c.want(t, c.axios("POST", "/api/hps/teams/", c.tokAdmin, map[string]any{"name": "Equipo Este", "description": nil,
				"team_lead_id_writable": c.m2.ID}), 201, "create team"))
			hpsfeReads(t, "team", tm, teamReads)
			id, _ = tm["id"].(string)
			if tm["team_lead_id"] != float64(c.m2.ID) {
				t.Errorf("lead %v", tm["team_lead_id"])
			}
		})

		t.Run("updateTeam", func(t *testing.T) {
			tm := c.object(t, c.want(t, c.axios("PUT", "/api/hps/teams/"+id+"/", c.tokAdmin, map[string]any{"name": "Equipo Este 2", "description": "Guardia",
				"team_lead_id_writable": c.m2.ID}), 200, "update team"))
			if tm["name"] != "Equipo Este 2" || tm["description"] != "Guardia" {
				t.Errorf("updated %v", tm)
			}
		})

		t.Run("getTeamStats", func(t *testing.T) {
			st := c.object(t, c.want(t, c.axios("GET", "/api/hps/teams/stats/", c.tokAdmin, nil), 200, "team stats"))
			hpsfeReads(t, "team stats", st, map[string]string{"total_teams": "number", "active_teams": "number", "teams_with_leaders": "number", "total_members": "number"})
		})

		t.Run("getTeamMembers", func(t *testing.T) {
			members := decode[[]map[string]any](t, c.want(t, c.axios("GET", "/api/hps/teams/"+c.norte+"/members/", c.tokAdmin, nil), 200, "members"))
			for _, m := range members {
				hpsfeReads(t, "leader option", m, map[string]string{"id": "number", "email": "string", "full_name": "string", "role": "string"})
			}
		})

		t.Run("deleteTeam", func(t *testing.T) {
			// A team with members besides its lead is refused with a detail
			// the page's alert shows (formatErrorForDisplay).
			r := c.want(t, c.axios("DELETE", "/api/hps/teams/"+c.norte+"/", c.tokAdmin, nil), 409, "delete a team with members")
			if d, _ := c.object(t, r)["detail"].(string); d == "" {
				t.Errorf("no detail: %s", r.body)
			}
			c.want(t, c.axios("DELETE", "/api/hps/teams/"+id+"/", c.tokAdmin, nil), 204, "delete team")
		})
	})
}

// TestHPSFrontendTeamLeaderSpelling: the team page's "Líder de Equipo"
// sends role "team_leader", a legacy spelling of team_lead. An
// administrator gets a team lead; a lead asking for it is answered exactly
// as for the real name (the spelling never widens what may be granted).
func TestHPSFrontendTeamLeaderSpelling(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newHPSFE(t, db)
		p := c.object(t, c.want(t, c.axios("POST", hpsfeProfiles, c.tokAdmin, map[string]any{"email": "lider@example.org", "first_name": "Lidia",
			"last_name": "Líder", "role": "team_leader", "team_id": c.norte}), 201, "admin creates a team_leader"))
		if p["role"] != identity.RoleTeamLead {
			t.Errorf("team_leader became %v", p["role"])
		}
		real := c.axios("POST", hpsfeProfiles, c.tokLead, map[string]any{"email": "otro1@example.org", "first_name": "Otro",
			"last_name": "Uno", "role": identity.RoleTeamLead, "team_id": c.norte})
		legacy := c.axios("POST", hpsfeProfiles, c.tokLead, map[string]any{"email": "otro2@example.org", "first_name": "Otro",
			"last_name": "Dos", "role": "team_leader", "team_id": c.norte})
		if real.status != legacy.status {
			t.Errorf("lead granting team_lead: %d, as team_leader: %d %s", real.status, legacy.status, legacy.body)
		}
	})
}
