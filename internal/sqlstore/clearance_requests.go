package sqlstore

import (
	"context"
	"strings"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/errs"
)

// Clearance requests (clearance.RequestStore).

// requestViewRow is a request with its three people and the applicant's
// active teams, read in one statement (requestViewSQL).
type requestViewRow struct {
	requestRow `bun:",extend"`

	UEmail     *string `bun:"u_email,scanonly"`
	UFirstName *string `bun:"u_first_name,scanonly"`
	ULastName  *string `bun:"u_last_name,scanonly"`
	SEmail     *string `bun:"s_email,scanonly"`
	SFirstName *string `bun:"s_first_name,scanonly"`
	SLastName  *string `bun:"s_last_name,scanonly"`
	AEmail     *string `bun:"a_email,scanonly"`
	AFirstName *string `bun:"a_first_name,scanonly"`
	ALastName  *string `bun:"a_last_name,scanonly"`
	Teams      *string `bun:"applicant_teams,scanonly"`
	FullCount  int     `bun:"full_count,scanonly"`
}

func person(id *int64, email, first, last *string) *clearance.Person {
	if id == nil || email == nil {
		return nil
	}
	return &clearance.Person{ID: *id, Email: *email, FirstName: deref(first), LastName: deref(last)}
}

func (v *requestViewRow) view() *clearance.Request {
	r := v.request()
	r.User = person(v.UserID, v.UEmail, v.UFirstName, v.ULastName)
	r.SubmittedBy = person(v.SubmittedByID, v.SEmail, v.SFirstName, v.SLastName)
	r.ApprovedBy = person(v.ApprovedByID, v.AEmail, v.AFirstName, v.ALastName)
	if v.Teams != nil && *v.Teams != "" {
		r.ApplicantTeams = strings.Split(*v.Teams, ",")
	}
	return r
}

// requestViewSQL selects requests (alias h) with their people and the
// applicant's active teams; callers append WHERE/ORDER/LIMIT.
func (s *Store) requestViewSQL() string {
	agg := "group_concat"
	if s.db.Engine == database.Postgres {
		agg = "string_agg"
	}
	return `SELECT h.*,
	u.email AS u_email, u.first_name AS u_first_name, u.last_name AS u_last_name,
	sb.email AS s_email, sb.first_name AS s_first_name, sb.last_name AS s_last_name,
	ab.email AS a_email, ab.first_name AS a_first_name, ab.last_name AS a_last_name,
	(SELECT ` + agg + `(CAST(tm.team_id AS TEXT), ',') FROM team_memberships AS tm WHERE tm.user_id = h.user_id AND tm.is_active) AS applicant_teams
FROM hps_requests AS h
	LEFT JOIN users AS u ON u.id = h.user_id
	LEFT JOIN users AS sb ON sb.id = h.submitted_by_id
	LEFT JOIN users AS ab ON ab.id = h.approved_by_id`
}

// RequestByID reads one request with its people and the applicant's teams
// in one statement.
func (s *Store) RequestByID(ctx context.Context, id string) (*clearance.Request, error) {
	var row requestViewRow
	if err := s.db.QueryOne(ctx, &row, s.requestViewSQL()+" WHERE h.id = ?", id); err != nil {
		if isNoRows(err) {
			return nil, errs.NotFound("HPS request")
		}
		return nil, database.Translate(err)
	}
	return row.view(), nil
}

// requestForUpdate reads a request with its applicant's teams inside tx,
// locking the row on PostgreSQL (writes decide on what they read).
func (s *Store) requestForUpdate(ctx context.Context, tx bun.Tx, id string) (*clearance.Request, error) {
	lock := ""
	if s.db.Engine == database.Postgres {
		lock = " FOR UPDATE OF h"
	}
	var rows []requestViewRow
	if err := tx.NewRaw(s.requestViewSQL()+" WHERE h.id = ?"+lock, id).Scan(ctx, &rows); err != nil && !isNoRows(err) {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errs.NotFound("HPS request")
	}
	return rows[0].view(), nil
}
