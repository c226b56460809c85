package httpapi_test

import (
	"fmt"
	"testing"

	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/httpapi"
	"github.com/thot-security/thot/internal/identity"
)

// TestProfileHPSRequestsCount: profiles carry the legacy
// hps_requests_count, on reads and on the answer to an update.
func TestProfileHPSRequestsCount(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		s := newStack(t, db)
		admin := s.token(s.user("admin@example.org", tplPass, identity.RoleAdmin).ID)
		maria := s.user("maria@example.org", tplPass, identity.RoleMember)
		hpsInsertRequest(t, db, &maria.ID, clearance.Solicitud, clearance.Rejected, nil)
		hpsInsertRequest(t, db, &maria.ID, clearance.Traslado, clearance.Pending, nil)
		path := fmt.Sprintf("/api/hps/user/profiles/%d/", maria.ID)

		if p := decode[httpapi.ProfileBody](t, s.call("GET", path, admin, nil)); p.HPSRequestsCount != 2 {
			t.Errorf("get: hps_requests_count = %d, want 2", p.HPSRequestsCount)
		}
		for _, p := range decode[[]httpapi.ProfileBody](t, s.call("GET", "/api/hps/user/profiles/", admin, nil)) {
			if want := map[bool]int{true: 2, false: 0}[p.ID == maria.ID]; p.HPSRequestsCount != want {
				t.Errorf("list: user %d hps_requests_count = %d, want %d", p.ID, p.HPSRequestsCount, want)
			}
		}
		r := s.call("PATCH", path, admin, map[string]any{"first_name": "María"})
		if p := decode[httpapi.ProfileBody](t, r); r.status != 200 || p.HPSRequestsCount != 2 || p.FirstName != "María" {
			t.Errorf("update: %d, hps_requests_count = %d", r.status, p.HPSRequestsCount)
		}
	})
}
