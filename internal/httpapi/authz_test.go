package httpapi_test

import (
	"context"
	"encoding/json"
	"regexp"
	"strings"
	"testing"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/httpapi"
	"github.com/thot-security/thot/internal/identity"
)

var pathParam = regexp.MustCompile(`\{[^}]+\}`)

// TestRouteRoleMatrix walks every registered operation with anonymous and
// with a user of each seeded role, and checks the answer against the
// operation's declared rule (the table in docs/api.md): anonymous → 401
// on anything not public; any role's JWT → 401 on an API-key route; a role without the permission → 403
// permission_denied; a role with it → never 401 nor permission_denied
// (a 400/404/409 about the dummy input is fine). Routes without a rule
// fail TestRouteTableIsCurrent.
func TestRouteRoleMatrix(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		s := newStack(t, db)
		roles := []string{identity.RoleAdmin, identity.RoleJefeSeguridad, identity.RoleJefeSeguridadSuplente, identity.RoleTeamLead, identity.RoleCrypto, identity.RoleMember}
		tokens := map[string]string{}
		principals := map[string]*identity.Principal{}
		for _, r := range roles {
			u := s.user(r+"@example.org", "Matriz-Roles-2026", r)
			tokens[r] = s.token(u.ID)
			p, err := s.store.Principal(context.Background(), u.ID)
			if err != nil {
				t.Fatal(err)
			}
			principals[r] = p
		}
		checked := 0
		for _, route := range s.srv.Routes() {
			path := pathParam.ReplaceAllStringFunc(route.Path, func(p string) string {
				if strings.Contains(p, "email") {
					return "nadie@example.org"
				}
				return "999999"
			})
			var body any
			if route.Method != "GET" && route.Method != "DELETE" {
				body = map[string]any{}
			}
			if route.Access.Kind == "public" {
				continue
			}
			if r := s.call(route.Method, path, "", body); r.status != 401 {
				t.Errorf("%s %s anonymous: %d, want 401", route.Method, route.Path, r.status)
			}
			for _, role := range roles {
				r := s.call(route.Method, path, tokens[role], body)
				if strings.HasSuffix(strings.TrimSuffix(route.Path, "/"), "/logout") {
					// Logging out ends the token's session: go on with a new one.
					tokens[role] = s.token(principals[role].User.ID)
				}
				if route.Access.Kind == "api-key" {
					// Machine routes take an API key only: a user's JWT,
					// whatever the role, is refused as no credentials.
					if r.status != 401 || !strings.Contains(r.body, "api_key_required") {
						t.Errorf("%s %s as %s with a JWT: %d %s, want 401 api_key_required", route.Method, route.Path, role, r.status, r.body)
					}
					checked++
					continue
				}
				allowed := allows(principals[role], route.Access)
				denied := r.status == 403 && permissionDenied(r.body)
				switch {
				case r.status == 401:
					t.Errorf("%s %s as %s: 401 %s", route.Method, route.Path, role, r.body)
				case allowed && denied:
					t.Errorf("%s %s as %s: refused, but the rule %s allows it", route.Method, route.Path, role, route.Access)
				case !allowed && !denied:
					t.Errorf("%s %s as %s: %d, want 403 (rule %s)", route.Method, route.Path, role, r.status, route.Access)
				case r.status >= 500:
					t.Errorf("%s %s as %s: %d %s", route.Method, route.Path, role, r.status, r.body)
				}
				checked++
			}
		}
		t.Logf("%d route×role combinations checked", checked)
	})
}

// allows is whether a user's JWT passes the rule; an "api-key" rule is
// never passed by a user (TestRouteRoleMatrix expects 401 there).
func allows(p *identity.Principal, a httpapi.Access) bool {
	switch a.Kind {
	case "api-key":
		return false
	case "authenticated":
		return true
	case "staff":
		return p.User.IsStaff || p.User.IsSuperuser
	case "permission":
		return p.Can(a.Permission)
	case "permission-any":
		for _, c := range a.AnyOf {
			if p.Can(c) {
				return true
			}
		}
	}
	return false
}

func permissionDenied(body string) bool {
	var b map[string]any
	_ = json.Unmarshal([]byte(body), &b)
	return b["code"] == "permission_denied"
}
