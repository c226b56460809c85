package sqlstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/custody"
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
	// Stats carries RequestStats' groups next to the recent requests.
	Stats *string `bun:"stats,scanonly"`
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

// actionHPSStatus is the audit action of a status change (edits of notes
// or expiry are plain updates).
const actionHPSStatus = "status_change"

// RequestApplicant finds a request's account by id, else by e-mail, with
// its active team memberships, in one statement.
func (s *Store) RequestApplicant(ctx context.Context, id *int64, email string) (*clearance.Applicant, error) {
	agg := "group_concat"
	if s.db.Engine == database.Postgres {
		agg = "string_agg"
	}
	q := `SELECT u.id, u.email, u.first_name, u.last_name,
	(SELECT ` + agg + `(CAST(tm.team_id AS TEXT), ',') FROM team_memberships AS tm WHERE tm.user_id = u.id AND tm.is_active) AS teams
FROM users AS u WHERE `
	var arg any
	if id != nil {
		q, arg = q+"u.id = ?", *id
	} else {
		q, arg = q+"lower(u.email) = ? ORDER BY u.id LIMIT 1", strings.ToLower(strings.TrimSpace(email))
	}
	var row struct {
		ID        int64   `bun:"id"`
		Email     string  `bun:"email"`
		FirstName string  `bun:"first_name"`
		LastName  string  `bun:"last_name"`
		Teams     *string `bun:"teams"`
	}
	if err := s.db.NewRaw(q, arg).Scan(ctx, &row); err != nil {
		if isNoRows(err) {
			return nil, errs.NotFound("User")
		}
		return nil, database.Translate(err)
	}
	a := &clearance.Applicant{Person: clearance.Person{ID: row.ID, Email: row.Email, FirstName: row.FirstName, LastName: row.LastName}}
	if row.Teams != nil && *row.Teams != "" {
		a.Teams = strings.Split(*row.Teams, ",")
	}
	return a, nil
}

// CreateRequest inserts r and its audit entry in one transaction.
func (s *Store) CreateRequest(ctx context.Context, r *clearance.Request) error {
	return database.Translate(s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := insertRequest(ctx, tx, r); err != nil {
			return err
		}
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionCreate, TableName: "hps_requests", RecordID: r.ID, NewValues: requestAudit(r)})
	}))
}

// requestWhere renders q's scope and filters on requests alias h.
// Team membership (not the primary team) decides both the team scope and
// the team filter.
func requestWhere(q clearance.RequestQuery, engine database.Dialect) (string, []any) {
	// members renders "h.user_id in the set sub selects". PostgreSQL gets
	// = ANY(ARRAY(…)): the set is computed once and the requests are
	// reached through the user_id index (an IN subquery, or an OR with
	// the caller's own id, let it scan every request).
	members := func(sub string) string {
		if engine == database.Postgres {
			return "h.user_id = ANY(ARRAY(" + sub + "))"
		}
		return "h.user_id IN (" + sub + ")"
	}
	conds := []string{"1 = 1"}
	var args []any
	add := func(c string, a ...any) { conds = append(conds, c); args = append(args, a...) }
	if !q.Scope.All {
		if len(q.Scope.LedTeams) > 0 {
			add(members("SELECT tm.user_id FROM team_memberships AS tm WHERE tm.is_active AND tm.team_id IN (?) UNION ALL SELECT CAST(? AS BIGINT)"),
				bun.In(q.Scope.LedTeams), q.Scope.UserID)
		} else {
			add("h.user_id = ?", q.Scope.UserID)
		}
	}
	if len(q.Statuses) > 0 {
		ss := make([]string, len(q.Statuses))
		for i, st := range q.Statuses {
			ss[i] = string(st)
		}
		add("h.status IN (?)", bun.In(ss))
	}
	if q.RequestType != "" {
		add("h.request_type = ?", string(q.RequestType))
	}
	if q.FormType != "" {
		add("h.form_type = ?", string(q.FormType))
	}
	if q.UserID != nil {
		add("h.user_id = ?", *q.UserID)
	}
	if q.TeamID != "" {
		add(members("SELECT tf.user_id FROM team_memberships AS tf WHERE tf.is_active AND tf.team_id = ?"), q.TeamID)
	}
	if q.ExpiresBefore != nil {
		add("h.expires_at <= ?", *dateUTC(q.ExpiresBefore))
	}
	if q.ExpiringFrom != nil && q.ExpiringTo != nil {
		add("h.status = 'approved' AND h.expires_at >= ? AND h.expires_at <= ?", *dateUTC(q.ExpiringFrom), *dateUTC(q.ExpiringTo))
	}
	if strings.TrimSpace(q.Search) != "" {
		add("h.search LIKE ? ESCAPE '!'", custodyLike(custody.Fold(q.Search)))
	}
	return strings.Join(conds, " AND "), args
}

// ListRequests reads a page of requests with their people, the
// applicants' teams and the total count, in one statement. The page's ids
// are chosen first (through the created_at indexes) and only those rows
// are joined, so the cost follows the page size, not the table's.
func (s *Store) ListRequests(ctx context.Context, q clearance.RequestQuery) ([]clearance.Request, int, error) {
	where, args := requestWhere(q, s.db.Engine)
	order := " ORDER BY h.created_at DESC, h.id DESC"
	if q.Ascending {
		order = " ORDER BY h.created_at ASC, h.id ASC"
	}
	count := "0"
	var all []any
	if q.Limit > 0 {
		count = "(SELECT count(*) FROM hps_requests AS h WHERE " + where + ")"
		all = append(all, args...)
	}
	all = append(all, args...)
	page := "SELECT h.id FROM hps_requests AS h WHERE " + where + order + limitSQL(q.Limit, q.Offset)
	if s.db.Engine == database.Postgres && (!q.Scope.All || q.TeamID != "" || q.UserID != nil) {
		// A few people's requests: select them first (user_id index),
		// then sort. Left to itself PostgreSQL walks the created_at index
		// over every request looking for theirs.
		page = "WITH m AS MATERIALIZED (SELECT h.id, h.created_at FROM hps_requests AS h WHERE " + where + ") SELECT h.id FROM m AS h" +
			order + limitSQL(q.Limit, q.Offset)
	}
	query := strings.Replace(s.requestViewSQL(), "SELECT h.*,", "SELECT h.*, "+count+" AS full_count,", 1) +
		" WHERE h.id IN (" + page + ")" + order
	var rows []requestViewRow
	if err := s.db.NewRaw(query, all...).Scan(ctx, &rows); err != nil && !isNoRows(err) {
		return nil, 0, database.Translate(err)
	}
	out := make([]clearance.Request, len(rows))
	total := len(rows)
	for i := range rows {
		out[i] = *rows[i].view()
		if q.Limit > 0 {
			total = rows[i].FullCount
		}
	}
	if q.Limit <= 0 {
		return out, total, nil
	}
	total, err := pageTotal(ctx, s.db, len(rows), q.Offset, total, "SELECT count(*) FROM hps_requests AS h WHERE "+where, args)
	return out, total, err
}

// statsGroupsSQL counts the requests of where per (status, type), with
// the approved ones expiring between two dates; its first two arguments
// are those dates, then where's.
func statsGroupsSQL(where string) string {
	return `SELECT h.status, h.request_type, count(*) AS n,
	COALESCE(SUM(CASE WHEN h.status = 'approved' AND h.expires_at >= ? AND h.expires_at <= ? THEN 1 ELSE 0 END), 0) AS soon
FROM hps_requests AS h WHERE ` + where + ` GROUP BY h.status, h.request_type`
}

// statsGroup is one (status, type) group.
type statsGroup struct {
	Status      string `bun:"status"`
	RequestType string `bun:"request_type"`
	N           int    `bun:"n"`
	Soon        int    `bun:"soon"`
}

// RequestStats counts by status and type, and the approved requests
// expiring from soonFrom to soonTo, in one statement: one group per
// (status, type), read from the hps_requests_stats covering index. With
// recent > 0 the statement is the list of the newest requests, the groups
// riding along as one text column.
func (s *Store) RequestStats(ctx context.Context, q clearance.RequestQuery, soonFrom, soonTo time.Time, recent int) (*clearance.RequestStats, error) {
	where, args := requestWhere(q, s.db.Engine)
	dates := []any{*dateUTC(&soonFrom), *dateUTC(&soonTo)}
	var groups []statsGroup
	var st clearance.RequestStats
	if recent <= 0 {
		if err := s.db.NewRaw(statsGroupsSQL(where), append(dates, args...)...).Scan(ctx, &groups); err != nil && !isNoRows(err) {
			return nil, database.Translate(err)
		}
	} else {
		agg := "group_concat"
		if s.db.Engine == database.Postgres {
			agg = "string_agg"
		}
		packed := "(SELECT " + agg + "(g.status || ':' || g.request_type || ':' || CAST(g.n AS TEXT) || ':' || CAST(g.soon AS TEXT), ';') FROM (" +
			statsGroupsSQL(where) + ") AS g)"
		order := " ORDER BY h.created_at DESC, h.id DESC"
		query := strings.Replace(s.requestViewSQL(), "SELECT h.*,", "SELECT h.*, "+packed+" AS stats,", 1) +
			" WHERE h.id IN (SELECT h.id FROM hps_requests AS h WHERE " + where + order + limitSQL(recent, 0) + ")" + order
		all := append(append(dates, args...), args...)
		var rows []requestViewRow
		if err := s.db.NewRaw(query, all...).Scan(ctx, &rows); err != nil && !isNoRows(err) {
			return nil, database.Translate(err)
		}
		st.Recent = make([]clearance.Request, len(rows))
		for i := range rows {
			st.Recent[i] = *rows[i].view()
		}
		if len(rows) > 0 && rows[0].Stats != nil {
			for _, g := range strings.Split(*rows[0].Stats, ";") {
				f := strings.Split(g, ":")
				if len(f) != 4 {
					continue
				}
				n, _ := strconv.Atoi(f[2])
				soon, _ := strconv.Atoi(f[3])
				groups = append(groups, statsGroup{Status: f[0], RequestType: f[1], N: n, Soon: soon})
			}
		}
	}
	for _, g := range groups {
		st.Total += g.N
		st.ExpiringSoon += g.Soon
		switch clearance.Status(g.Status) {
		case clearance.Pending:
			st.Pending += g.N
		case clearance.WaitingDPS:
			st.WaitingDPS += g.N
		case clearance.Submitted:
			st.Submitted += g.N
		case clearance.Approved:
			st.Approved += g.N
		case clearance.Rejected:
			st.Rejected += g.N
		case clearance.Expired:
			st.Expired += g.N
		}
		switch clearance.RequestType(g.RequestType) {
		case clearance.New:
			st.New += g.N
		case clearance.Renewal:
			st.Renewal += g.N
		case clearance.Transfer:
			st.Transfer += g.N
		}
	}
	return &st, nil
}

// ApplyTransition locks the request, lets decide choose its next state
// and mail, then writes, audits and queues the mail in the same
// transaction; the result is read back with its people.
func (s *Store) ApplyTransition(ctx context.Context, id string, decide func(cur *clearance.Request) (*clearance.Request, []clearance.Notice, error)) (*clearance.Request, error) {
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		cur, err := s.requestForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		next, notices, err := decide(cur)
		if err != nil {
			return err
		}
		if err := updateRequest(ctx, tx, next, time.Now().UTC()); err != nil {
			return err
		}
		action := audit.ActionUpdate
		if next.Status != cur.Status {
			action = actionHPSStatus
		}
		if err := writeAudit(ctx, tx, audit.Entry{Action: action, TableName: "hps_requests", RecordID: id,
			OldValues: requestAudit(cur), NewValues: requestAudit(next)}); err != nil {
			return err
		}
		return s.enqueueNotices(ctx, tx, notices)
	})
	if err != nil {
		return nil, database.Translate(err)
	}
	return s.RequestByID(ctx, id)
}

// DeleteRequest locks, checks, deletes and audits a request in one
// transaction and returns what was deleted.
func (s *Store) DeleteRequest(ctx context.Context, id string, check func(cur *clearance.Request) error) (*clearance.Request, error) {
	var gone *clearance.Request
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		cur, err := s.requestForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		if err := check(cur); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*requestRow)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
			return err
		}
		gone = cur
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionDelete, TableName: "hps_requests", RecordID: id, OldValues: requestAudit(cur)})
	})
	if err != nil {
		return nil, database.Translate(err)
	}
	return gone, nil
}
