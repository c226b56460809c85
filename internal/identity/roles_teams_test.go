package identity_test

import (
	"context"
	"slices"
	"testing"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
	"github.com/thot-security/thot/internal/sqlstore"
)

func TestLeadRoleRules(t *testing.T) {
	for _, tc := range []struct {
		role                 string
		leading              string
		notLeading, stillLed string
	}{
		{identity.RoleMember, identity.RoleTeamLead, identity.RoleMember, identity.RoleMember},
		{identity.RoleTeamLead, identity.RoleTeamLead, identity.RoleMember, identity.RoleTeamLead},
		{identity.RoleCrypto, identity.RoleCrypto, identity.RoleCrypto, identity.RoleCrypto},
		{identity.RoleAdmin, identity.RoleAdmin, identity.RoleAdmin, identity.RoleAdmin},
		{identity.RoleJefeSeguridadSuplente, identity.RoleJefeSeguridadSuplente, identity.RoleJefeSeguridadSuplente, identity.RoleJefeSeguridadSuplente},
	} {
		if got := identity.RoleWhenLeading(tc.role); got != tc.leading {
			t.Errorf("RoleWhenLeading(%s) = %s, want %s", tc.role, got, tc.leading)
		}
		if got := identity.RoleWhenNotLeading(tc.role, false); got != tc.notLeading {
			t.Errorf("RoleWhenNotLeading(%s, false) = %s, want %s", tc.role, got, tc.notLeading)
		}
		if got := identity.RoleWhenNotLeading(tc.role, true); got != tc.stillLed {
			t.Errorf("RoleWhenNotLeading(%s, true) = %s, want %s", tc.role, got, tc.stillLed)
		}
	}
	team, other, aicox := "t-1", "t-2", identity.AICOXTeamID
	for _, tc := range []struct {
		cur  *string
		want string
	}{{nil, team}, {&aicox, team}, {&other, other}} {
		if got := identity.PrimaryTeamWhenLeading(tc.cur, team); *got != tc.want {
			t.Errorf("PrimaryTeamWhenLeading(%v) = %s, want %s", tc.cur, *got, tc.want)
		}
	}
}

func TestCanonicalTeamIDAndCodenameOrder(t *testing.T) {
	if id, ok := identity.CanonicalTeamID(" D8574C01-851F-4716-9AC9-BBDA45469BDF "); !ok || id != identity.AICOXTeamID {
		t.Errorf("CanonicalTeamID = %q %v", id, ok)
	}
	if _, ok := identity.CanonicalTeamID("999999"); ok {
		t.Error("999999 accepted as a team id")
	}
	got := identity.OrderCodenames([]string{identity.PermAsignarRol, identity.PermVerPerfil, identity.PermAsignarRol})
	if !slices.Equal(got, []string{identity.PermVerPerfil, identity.PermAsignarRol}) {
		t.Errorf("OrderCodenames = %v", got)
	}
}

// TestTeamIndexesBackstopTheRules skips the rule checks to show that the
// database's unique indexes (a concurrent change) give the same conflicts,
// and that a refused change writes nothing.
func TestTeamIndexesBackstopTheRules(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		store := sqlstore.New(db)
		svc := identity.NewService(store, identity.NewHasher(1000))
		u, err := svc.CreateUser(ctx, identity.NewUser{Email: "lider@example.org", FirstName: "Lia", LastName: "Lider", Password: "Indices-Unicos-2026"})
		if err != nil {
			t.Fatal(err)
		}
		create := func(name string, lead *int64) error {
			_, err := store.SaveTeam(ctx, identity.TeamChange{Action: audit.ActionCreate,
				Apply: func(*identity.Team) (identity.Team, error) {
					return identity.Team{Name: name, LeadID: lead, IsActive: true}, nil
				}})
			return err
		}
		if err := create("Uno", &u.ID); err != nil {
			t.Fatal(err)
		}
		for _, tc := range []struct {
			name  string
			lead  *int64
			field string
		}{{"Dos", &u.ID, "team_lead_id"}, {"UNO", nil, "name"}} {
			err := create(tc.name, tc.lead)
			e, ok := errs.As(err)
			if !ok || e.Kind != errs.KindConflict || e.Fields[tc.field] == nil {
				t.Errorf("create %s: %v, want a conflict on %s", tc.name, err, tc.field)
			}
		}
		teams, _, err := store.ListTeams(ctx, identity.TeamFilter{IncludeInactive: true})
		if err != nil {
			t.Fatal(err)
		}
		n, err := db.NewSelect().TableExpr("audit_logs").Where("table_name = ?", "teams").Count(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if len(teams) != 2 || n != 1 {
			t.Errorf("after refused changes: %d teams, %d team audits; want 2 and 1", len(teams), n)
		}
		got, err := store.UserByID(ctx, u.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.RoleName != identity.RoleTeamLead {
			t.Errorf("lead's role = %s", got.RoleName)
		}
	})
}
