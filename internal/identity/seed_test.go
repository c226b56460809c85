package identity_test

import (
	"context"
	"slices"
	"testing"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/identity"
)

// TestSeedMatchesCode: after every migration, the permissions table and
// each seeded role's grants are exactly identity.Permissions and
// identity.DefaultRoles (the migrations carry the seed; the code is what
// routes check against).
func TestSeedMatchesCode(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		var codenames []string
		if err := db.NewRaw("SELECT codename FROM permissions ORDER BY codename").Scan(ctx, &codenames); err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, p := range identity.Permissions {
			want = append(want, p.Codename)
		}
		slices.Sort(want)
		if !slices.Equal(codenames, want) {
			t.Errorf("permissions table:\n got %q\nwant %q", codenames, want)
		}
		for _, r := range identity.DefaultRoles {
			var got []string
			if err := db.NewRaw("SELECT rp.codename FROM role_permissions AS rp JOIN roles AS r ON r.id = rp.role_id WHERE r.name = ? ORDER BY rp.codename", r.Name).Scan(ctx, &got); err != nil {
				t.Fatal(err)
			}
			w := slices.Clone(r.Permissions)
			slices.Sort(w)
			if !slices.Equal(got, w) {
				t.Errorf("role %s:\n got %q\nwant %q", r.Name, got, w)
			}
		}
	})
}
