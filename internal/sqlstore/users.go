package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/identity"
)

// userRow maps the users table.
type userRow struct {
	bun.BaseModel      `bun:"table:users,alias:u"`
	ID                 int64      `bun:"id,pk,autoincrement"`
	Password           string     `bun:"password,notnull"`
	LastLogin          *time.Time `bun:"last_login"`
	IsSuperuser        bool       `bun:"is_superuser,notnull"`
	Username           string     `bun:"username,notnull"`
	FirstName          string     `bun:"first_name,notnull"`
	LastName           string     `bun:"last_name,notnull"`
	Email              string     `bun:"email,notnull"`
	IsStaff            bool       `bun:"is_staff,notnull"`
	IsActive           bool       `bun:"is_active,notnull"`
	DateJoined         time.Time  `bun:"date_joined,notnull"`
	UpdatedAt          *time.Time `bun:"updated_at"`
	LegacyHPSID        *string    `bun:"legacy_hps_id"`
	RoleID             *int64     `bun:"role_id"`
	TeamID             *string    `bun:"team_id"`
	DefaultTeamID      *string    `bun:"default_team_id"`
	MustChangePassword bool       `bun:"must_change_password,notnull"`
	IsTempPassword     bool       `bun:"is_temp_password,notnull"`
	EmailVerified      bool       `bun:"email_verified,notnull"`
	TokensValidAfter   *time.Time `bun:"tokens_valid_after"`

	// Joined, read-only.
	RoleName    string `bun:"role_name,scanonly"`
	TeamName    string `bun:"team_name,scanonly"`
	HPSRequests int    `bun:"hps_requests_count,scanonly"`
}

func (r *userRow) user() *identity.User {
	return &identity.User{
		ID: r.ID, Username: r.Username, Email: r.Email, FirstName: r.FirstName, LastName: r.LastName,
		PasswordHash: r.Password, IsActive: r.IsActive, IsStaff: r.IsStaff, IsSuperuser: r.IsSuperuser,
		LastLogin: utcPtr(r.LastLogin), DateJoined: r.DateJoined.UTC(), UpdatedAt: utcPtr(r.UpdatedAt),
		LegacyHPSID: r.LegacyHPSID, RoleID: r.RoleID, RoleName: r.RoleName, TeamID: r.TeamID, TeamName: r.TeamName,
		DefaultTeamID: r.DefaultTeamID, MustChangePassword: r.MustChangePassword, IsTempPassword: r.IsTempPassword,
		EmailVerified: r.EmailVerified, TokensValidAfter: utcPtr(r.TokensValidAfter), HPSRequests: r.HPSRequests,
	}
}

func rowFromUser(u *identity.User) *userRow {
	return &userRow{
		ID: u.ID, Password: u.PasswordHash, LastLogin: u.LastLogin, IsSuperuser: u.IsSuperuser, Username: u.Username,
		FirstName: u.FirstName, LastName: u.LastName, Email: u.Email, IsStaff: u.IsStaff, IsActive: u.IsActive,
		DateJoined: u.DateJoined.UTC(), UpdatedAt: u.UpdatedAt, LegacyHPSID: u.LegacyHPSID, RoleID: u.RoleID,
		TeamID: u.TeamID, DefaultTeamID: u.DefaultTeamID, MustChangePassword: u.MustChangePassword,
		IsTempPassword: u.IsTempPassword, EmailVerified: u.EmailVerified, TokensValidAfter: u.TokensValidAfter,
	}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// selectUsers starts a user query with role and team names joined.
func selectUsers(db bun.IDB, rows any) *bun.SelectQuery {
	return db.NewSelect().Model(rows).
		ColumnExpr("u.*").
		ColumnExpr("COALESCE(r.name, '') AS role_name").
		ColumnExpr("COALESCE(t.name, '') AS team_name").
		Join("LEFT JOIN roles AS r ON r.id = u.role_id").
		Join("LEFT JOIN teams AS t ON t.id = u.team_id")
}

// userPublic is what audit entries record of a user (no hash).
func userPublic(u *userRow) map[string]any {
	return map[string]any{
		"username": u.Username, "email": u.Email, "first_name": u.FirstName, "last_name": u.LastName,
		"is_active": u.IsActive, "is_staff": u.IsStaff, "is_superuser": u.IsSuperuser, "role_id": u.RoleID,
		"team_id": u.TeamID, "default_team_id": u.DefaultTeamID, "must_change_password": u.MustChangePassword,
		"is_temp_password": u.IsTempPassword, "email_verified": u.EmailVerified, "legacy_hps_id": u.LegacyHPSID,
	}
}

// CreateUser inserts u (with a membership in its team) and sets its ID.
// Users without a role get "member"; without a team, AICOX.
func (s *Store) CreateUser(ctx context.Context, u *identity.User) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return createUser(ctx, tx, u)
	})
}

func createUser(ctx context.Context, tx bun.Tx, u *identity.User) error {
	if u.RoleID == nil {
		name := identity.RoleMember
		if u.IsSuperuser {
			name = identity.RoleAdmin
		}
		var id int64
		if err := tx.NewSelect().Table("roles").Column("id").Where("name = ?", name).Scan(ctx, &id); err != nil {
			return err
		}
		u.RoleID = &id
	}
	if u.TeamID == nil {
		t := identity.AICOXTeamID
		u.TeamID = &t
	}
	now := time.Now().UTC()
	u.UpdatedAt = &now
	row := rowFromUser(u)
	row.ID = 0
	if _, err := tx.NewInsert().Model(row).Returning("id").Exec(ctx); err != nil {
		return err
	}
	u.ID = row.ID
	if err := addMembership(ctx, tx, *u.TeamID, u.ID, false); err != nil {
		return err
	}
	return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionCreate, TableName: "users", RecordID: itoa(u.ID), NewValues: userPublic(row)})
}

// addMembership makes (or reactivates) a membership.
func addMembership(ctx context.Context, db bun.IDB, teamID string, userID int64, lead bool) error {
	_, err := db.NewRaw(`INSERT INTO team_memberships (team_id, user_id, is_lead, is_active, created_at) VALUES (?, ?, ?, TRUE, ?)
		ON CONFLICT (team_id, user_id) DO UPDATE SET is_active = TRUE, is_lead = (team_memberships.is_lead OR EXCLUDED.is_lead)`,
		teamID, userID, lead, time.Now().UTC()).Exec(ctx)
	return err
}

// UserByID loads one user.
func (s *Store) UserByID(ctx context.Context, id int64) (*identity.User, error) {
	var row userRow
	if err := selectUsers(s.db, &row).Where("u.id = ?", id).Scan(ctx); err != nil {
		return nil, database.Translate(err)
	}
	return row.user(), nil
}

// UserByLogin matches the username exactly or the e-mail ignoring case.
func (s *Store) UserByLogin(ctx context.Context, login string) (*identity.User, error) {
	var row userRow
	err := selectUsers(s.db, &row).
		Where("u.username = ?", login).
		WhereOr("(u.email <> '' AND lower(u.email) = ?)", strings.ToLower(login)).
		OrderExpr("CASE WHEN u.username = ? THEN 0 ELSE 1 END", login).
		Limit(1).Scan(ctx)
	if err != nil {
		return nil, database.Translate(err)
	}
	return row.user(), nil
}

// SetPasswordHash stores a new hash (CLI reset); it ends every session
// of the user, like an administrative reset.
func (s *Store) SetPasswordHash(ctx context.Context, id int64, hash string) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return setPassword(ctx, tx, id, hash, false, "", audit.ActionPasswordReset)
	})
}

// setPassword replaces the hash, clears (or sets) the temporary flags and
// ends every session of the user but keep ("" for none), all in tx.
func setPassword(ctx context.Context, tx bun.Tx, id int64, hash string, temporary bool, keep, action string) error {
	now := time.Now().UTC()
	res, err := tx.NewUpdate().Model((*userRow)(nil)).
		Set("password = ?", hash).
		Set("must_change_password = ?", temporary).
		Set("is_temp_password = ?", temporary).
		Set("updated_at = ?", now).
		Where("id = ?", id).Exec(ctx)
	if err != nil {
		return err
	}
	if err := expectOne(res, "User"); err != nil {
		return err
	}
	ended, err := revokeSessions(ctx, tx, id, keep, action, now)
	if err != nil {
		return err
	}
	return writeAudit(ctx, tx, audit.Entry{Action: action, TableName: "users", RecordID: itoa(id),
		NewValues: map[string]any{"must_change_password": temporary, "sessions_ended": ended}})
}

// ChangePassword stores the user's new password chosen by themselves,
// keeping the caller's session (made if new, for a caller on a legacy
// token) and recording the refresh token of the answer.
func (s *Store) ChangePassword(ctx context.Context, id int64, hash string, keep identity.Session) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := insertSession(ctx, tx, keep, time.Now().UTC()); err != nil {
			return err
		}
		if err := setPassword(ctx, tx, id, hash, false, keep.ID, audit.ActionPasswordChange); err != nil {
			return err
		}
		return recordRefresh(ctx, tx, keep.RefreshJTI, id, keep.RefreshExpires)
	})
}

// SetTemporaryPassword stores an administrator-issued temporary password.
func (s *Store) SetTemporaryPassword(ctx context.Context, id int64, hash string) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return setPassword(ctx, tx, id, hash, true, "", audit.ActionPasswordReset)
	})
}

// ListUsers returns all users by id.
func (s *Store) ListUsers(ctx context.Context) ([]identity.User, error) {
	var rows []userRow
	if err := selectUsers(s.db, &rows).Order("u.id").Scan(ctx); err != nil {
		return nil, database.Translate(err)
	}
	out := make([]identity.User, len(rows))
	for i := range rows {
		out[i] = *rows[i].user()
	}
	return out, nil
}

// CountUsers counts all users.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	n, err := s.db.NewSelect().Model((*userRow)(nil)).Count(ctx)
	return int(n), database.Translate(err)
}

// principalRow is a user with aggregated permissions and led teams: the
// one query that authenticates every request.
type principalRow struct {
	userRow  `bun:",extend"`
	Perms    *string `bun:"perms,scanonly"`
	LedTeams *string `bun:"led_teams,scanonly"`
	// Session is 1 for a live session, 0 for a revoked one, NULL for none
	// (only selected by principalBySession).
	Session *int `bun:"session_state,scanonly"`
}

// Principal loads a user with the permissions its role grants and the
// active teams it leads, in one query.
func (s *Store) Principal(ctx context.Context, userID int64) (*identity.Principal, error) {
	p, _, err := s.principal(ctx, s.sql.principalByID, userID)
	return p, err
}

// PrincipalByLegacyID resolves a user by its hps-system UUID (tokens of
// the FastAPI service carry it).
func (s *Store) PrincipalByLegacyID(ctx context.Context, legacyID string) (*identity.Principal, error) {
	p, _, err := s.principal(ctx, s.sql.principalByLegacyID, legacyID)
	return p, err
}

// SessionPrincipal is Principal plus the state of session sid of the
// user, still one statement: the session is a primary-key probe in a
// column of the same query.
func (s *Store) SessionPrincipal(ctx context.Context, userID int64, sid string) (*identity.Principal, identity.SessionState, error) {
	return s.principal(ctx, s.sql.principalBySession, sid, userID)
}

// principalSQL is the authentication statement selecting by where (with
// one ? placeholder), rendered once per store: it runs on every request,
// with its arguments bound (database.Query). With session, it also
// selects the state of the session named by a first placeholder.
func principalSQL(db *database.DB, where string, session bool) string {
	agg := "group_concat"
	if db.Engine == database.Postgres {
		agg = "string_agg"
	}
	q := selectUsers(db, (*principalRow)(nil)).
		ColumnExpr("(SELECT " + agg + "(rp.codename, ',') FROM role_permissions AS rp WHERE rp.role_id = u.role_id) AS perms").
		ColumnExpr("(SELECT " + agg + "(CAST(lt.id AS TEXT), ',') FROM teams AS lt WHERE lt.lead_id = u.id AND lt.is_active) AS led_teams")
	if session {
		q = q.ColumnExpr("(SELECT CASE WHEN ss.revoked_at IS NULL THEN 1 ELSE 0 END FROM auth_sessions AS ss WHERE ss.id = ? AND ss.user_id = u.id) AS session_state", bun.Safe("?"))
	}
	return q.Where(where, bun.Safe("?")).String()
}

func (s *Store) principal(ctx context.Context, query string, args ...any) (*identity.Principal, identity.SessionState, error) {
	var row principalRow
	if err := s.db.QueryOne(ctx, &row, query, args...); err != nil {
		return nil, identity.SessionMissing, database.Translate(err)
	}
	p := &identity.Principal{User: row.user(), Perms: map[string]bool{}}
	if row.Perms != nil {
		for _, c := range strings.Split(*row.Perms, ",") {
			p.Perms[c] = true
		}
	}
	if row.LedTeams != nil && *row.LedTeams != "" {
		p.LedTeams = strings.Split(*row.LedTeams, ",")
	}
	st := identity.SessionMissing
	if row.Session != nil {
		st = identity.SessionRevoked
		if *row.Session == 1 {
			st = identity.SessionLive
		}
	}
	return p, st, nil
}
