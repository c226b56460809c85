package benchseed

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/database"
)

// The HPS benchmark data set: Teams teams of MembersPerTeam users each
// (member 0 leads the team and has the team_lead role, the others the
// member role), and RequestsPerUser requests per user: 200 × 50 × 5 =
// 50,000 requests by default. Each user's requests but the last are
// closed (approved, rejected, expired); the last is pending, waiting_dps,
// submitted or approved by turns, so the one-open rule holds. Approved
// requests expire spread over the next three years from Base, so the
// "expiring soon" counts are not empty. Deterministic, one transaction,
// not audited.

// HPSOptions size the HPS data set; zero fields take the full-scale
// value.
type HPSOptions struct {
	Teams           int // 200
	MembersPerTeam  int // 50
	RequestsPerUser int // 5
	// Base is the creation time of the first request (2024-01-02 UTC);
	// the others follow one minute apart. Expiry dates start at Base.
	Base time.Time
	// FirstUserID is the id of the first seeded user (1,000,000), far
	// from the ids a test creates.
	FirstUserID int64
}

// HPSFull is 50,000 requests across 200 teams.
func HPSFull() HPSOptions { return HPSOptions{}.withDefaults() }

// HPSSmall is 1/100 of it: 20 teams of 5 users, 500 requests.
func HPSSmall() HPSOptions { return HPSOptions{Teams: 20, MembersPerTeam: 5}.withDefaults() }

func (o HPSOptions) withDefaults() HPSOptions {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Teams, 200)
	def(&o.MembersPerTeam, 50)
	def(&o.RequestsPerUser, 5)
	if o.Base.IsZero() {
		o.Base = time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	}
	if o.FirstUserID <= 0 {
		o.FirstUserID = 1_000_000
	}
	return o
}

// HPSTeamID is team t's id (t from 0).
func HPSTeamID(t int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", t+1) }

// HPSUserID is the id of member m (0 = the lead) of team t.
func (o HPSOptions) HPSUserID(t, m int) int64 {
	o = o.withDefaults()
	return o.FirstUserID + int64(t*o.MembersPerTeam+m)
}

// HPSRequestID is the id of the n-th request (n from 0).
func HPSRequestID(n int) string { return fmt.Sprintf("10000000-0000-4000-8000-%012d", n+1) }

// Requests is the number of requests the options make.
func (o HPSOptions) Requests() int {
	o = o.withDefaults()
	return o.Teams * o.MembersPerTeam * o.RequestsPerUser
}

// SeedHPS loads the HPS data set into a migrated database whose users,
// teams and requests do not collide with it.
func SeedHPS(ctx context.Context, db *database.DB, opts HPSOptions) error {
	o := opts.withDefaults()
	return db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var roles []struct {
			ID   int64  `bun:"id"`
			Name string `bun:"name"`
		}
		if err := tx.NewRaw("SELECT id, name FROM roles WHERE name IN ('member', 'team_lead')").Scan(ctx, &roles); err != nil {
			return err
		}
		roleID := map[string]int64{}
		for _, r := range roles {
			roleID[r.Name] = r.ID
		}
		if roleID["member"] == 0 || roleID["team_lead"] == 0 {
			return fmt.Errorf("benchseed: roles member and team_lead are not seeded")
		}
		created := o.Base.Add(-24 * time.Hour)

		b := newBatch(ctx, tx, "INSERT INTO users (id, password, username, first_name, last_name, email, is_active, date_joined, role_id)", 9, 500)
		for t := range o.Teams {
			for m := range o.MembersPerTeam {
				id := o.HPSUserID(t, m)
				role := roleID["member"]
				if m == 0 {
					role = roleID["team_lead"]
				}
				email := fmt.Sprintf("hps-%d@bench.example.org", id)
				if err := b.add(id, "!", email, hpsFirstNames[int(id)%len(hpsFirstNames)], fmt.Sprintf("Equipo %03d", t), email, true, created, role); err != nil {
					return err
				}
			}
		}
		if err := b.flush(); err != nil {
			return err
		}
		b = newBatch(ctx, tx, "INSERT INTO teams (id, name, description, lead_id, is_active, created_at, updated_at)", 7, 500)
		for t := range o.Teams {
			if err := b.add(HPSTeamID(t), fmt.Sprintf("Equipo HPS %03d", t), "", o.HPSUserID(t, 0), true, created, created); err != nil {
				return err
			}
		}
		if err := b.flush(); err != nil {
			return err
		}
		b = newBatch(ctx, tx, "INSERT INTO team_memberships (team_id, user_id, is_lead, is_active, created_at)", 5, 500)
		for t := range o.Teams {
			for m := range o.MembersPerTeam {
				if err := b.add(HPSTeamID(t), o.HPSUserID(t, m), m == 0, true, created); err != nil {
					return err
				}
			}
		}
		if err := b.flush(); err != nil {
			return err
		}
		for t := range o.Teams {
			if _, err := tx.NewRaw("UPDATE users SET team_id = ? WHERE id >= ? AND id <= ?", HPSTeamID(t), o.HPSUserID(t, 0), o.HPSUserID(t, o.MembersPerTeam-1)).Exec(ctx); err != nil {
				return err
			}
		}

		b = newBatch(ctx, tx, `INSERT INTO hps_requests (id, user_id, request_type, status, form_type, document_type, document_number, birth_date,
	first_name, first_last_name, second_last_name, nationality, birth_place, email, phone, submitted_by_id, submitted_at, approved_by_id, approved_at,
	expires_at, notes, data_source, search, created_at, updated_at)`, 25, 200)
		closed := []string{"approved", "rejected", "expired", "approved"}
		last := []string{"pending", "waiting_dps", "submitted", "approved"}
		types := []string{"new", "renewal", "transfer"}
		n := 0
		for t := range o.Teams {
			lead := o.HPSUserID(t, 0)
			for m := range o.MembersPerTeam {
				uid := o.HPSUserID(t, m)
				first := hpsFirstNames[int(uid)%len(hpsFirstNames)]
				lastName := hpsLastNames[int(uid)%len(hpsLastNames)]
				for k := range o.RequestsPerUser {
					st := closed[k%len(closed)]
					if k == o.RequestsPerUser-1 {
						st = last[int(uid)%len(last)]
					}
					rt := types[(n/7)%len(types)]
					ft := "solicitud"
					if rt == "transfer" {
						ft = "traslado"
					}
					at := o.Base.Add(time.Duration(n) * time.Minute)
					doc := fmt.Sprintf("%08dB%d", uid, k)
					var subBy, apBy *int64
					var subAt, apAt *time.Time
					var exp *time.Time
					if st != "pending" && st != "waiting_dps" {
						subBy, subAt = &lead, &at
					}
					if st == "approved" || st == "rejected" || st == "expired" {
						apBy, apAt = &lead, &at
					}
					if st == "approved" || st == "expired" {
						d := o.Base.AddDate(0, 0, (n*37)%(3*365))
						if st == "expired" {
							d = o.Base.AddDate(0, 0, -(n%300 + 1))
						}
						exp = &d
					}
					search := custody.Fold(strings.Join([]string{first, lastName, "Bench", doc}, " "))
					if err := b.add(HPSRequestID(n), uid, rt, st, ft, "DNI / NIF", doc, time.Date(1980+n%20, time.Month(1+n%12), 1+n%28, 0, 0, 0, 0, time.UTC),
						first, lastName, "Bench", "ESPAÑA", "Madrid", fmt.Sprintf("hps-%d@bench.example.org", uid), "600000000",
						subBy, subAt, apBy, apAt, exp, "", "manual", search, at, at); err != nil {
						return err
					}
					n++
				}
			}
		}
		return b.flush()
	})
}

var (
	hpsFirstNames = []string{"Íñigo", "Lucía", "Martín", "Sofía", "Hugo", "Begoña", "Álvaro", "Nuria", "Raúl", "Ana", "Jesús", "Pilar"}
	hpsLastNames  = []string{"García", "Fernández", "González", "Rodríguez", "López", "Martínez", "Sánchez", "Pérez", "Gómez", "Muñoz", "Jiménez"}
)
