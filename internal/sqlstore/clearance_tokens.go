package sqlstore

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// Public form links (clearance.TokenStore) and the public submission's
// transaction.

// tokenRow maps hps_tokens. The token itself is never stored: only its
// SHA-256 (token_hash) and the first characters (token_prefix).
type tokenRow struct {
	bun.BaseModel `bun:"table:hps_tokens,alias:t"`

	ID            string     `bun:"id,pk"`
	TokenHash     string     `bun:"token_hash"`
	TokenPrefix   string     `bun:"token_prefix"`
	Email         string     `bun:"email"`
	RequestedByID int64      `bun:"requested_by_id"`
	Purpose       string     `bun:"purpose"`
	FormType      string     `bun:"form_type"`
	RequestType   string     `bun:"request_type"`
	IsUsed        bool       `bun:"is_used"`
	UsedAt        *time.Time `bun:"used_at"`
	RequestID     *string    `bun:"request_id"`
	RevokedAt     *time.Time `bun:"revoked_at"`
	ExpiresAt     time.Time  `bun:"expires_at"`
	CreatedAt     time.Time  `bun:"created_at"`
	UpdatedAt     time.Time  `bun:"updated_at"`
}

// tokenViewRow is a link with its creator, as the token statements read it.
type tokenViewRow struct {
	tokenRow `bun:",extend"`

	CEmail        *string `bun:"c_email,scanonly"`
	CFirstName    *string `bun:"c_first_name,scanonly"`
	CLastName     *string `bun:"c_last_name,scanonly"`
	CRole         *string `bun:"c_role,scanonly"`
	CLedTeam      *string `bun:"c_led_team,scanonly"`
	AccountExists bool    `bun:"account_exists,scanonly"`
	FullCount     int     `bun:"full_count,scanonly"`
}

func (row *tokenRow) token() *clearance.Token {
	return &clearance.Token{ID: row.ID, Prefix: row.TokenPrefix, Email: row.Email, RequestedByID: row.RequestedByID,
		Purpose: row.Purpose, FormType: clearance.FormType(row.FormType), RequestType: clearance.RequestType(row.RequestType),
		IsUsed: row.IsUsed, UsedAt: utcPtr(row.UsedAt), RequestID: row.RequestID, RevokedAt: utcPtr(row.RevokedAt),
		ExpiresAt: row.ExpiresAt.UTC(), CreatedAt: row.CreatedAt.UTC(), UpdatedAt: row.UpdatedAt.UTC()}
}

func (v *tokenViewRow) view() *clearance.PublicToken {
	t := v.token()
	id := v.RequestedByID
	t.RequestedBy = person(&id, v.CEmail, v.CFirstName, v.CLastName)
	return &clearance.PublicToken{Token: *t, CreatorRole: deref(v.CRole), CreatorLedTeam: deref(v.CLedTeam), AccountExists: v.AccountExists}
}

// tokenAudit is what an audit entry records of a link: never the hash;
// the prefix under a key audit.Redact keeps ("token…" keys are dropped).
func tokenAudit(row *tokenRow) map[string]any {
	m := map[string]any{"email": row.Email, "prefix": row.TokenPrefix, "purpose": row.Purpose,
		"form_type": row.FormType, "request_type": row.RequestType, "is_used": row.IsUsed,
		"expires_at": row.ExpiresAt.UTC().Format(time.RFC3339)}
	if row.RequestID != nil {
		m["request_id"] = *row.RequestID
	}
	if row.RevokedAt != nil {
		m["revoked_at"] = row.RevokedAt.UTC().Format(time.RFC3339)
	}
	return m
}

// tokenViewSQL selects links (alias t) with their creator, the creator's
// role and first led team, and whether an account has the link's e-mail;
// callers append WHERE/ORDER/LIMIT.
const tokenViewSQL = `SELECT t.*,
	c.email AS c_email, c.first_name AS c_first_name, c.last_name AS c_last_name, cr.name AS c_role,
	(SELECT CAST(lt.id AS TEXT) FROM teams AS lt WHERE lt.lead_id = t.requested_by_id AND lt.is_active ORDER BY lt.name, lt.id LIMIT 1) AS c_led_team,
	EXISTS (SELECT 1 FROM users AS x WHERE x.email <> '' AND lower(x.email) = t.email) AS account_exists`

const tokenFromSQL = `
FROM hps_tokens AS t
	LEFT JOIN users AS c ON c.id = t.requested_by_id
	LEFT JOIN roles AS cr ON cr.id = c.role_id`

// CreateToken inserts a link, audits it and queues its e-mail.
func (s *Store) CreateToken(ctx context.Context, t *clearance.Token, hash string, notice clearance.Notice) error {
	row := &tokenRow{ID: t.ID, TokenHash: hash, TokenPrefix: t.Prefix, Email: t.Email, RequestedByID: t.RequestedByID,
		Purpose: t.Purpose, FormType: string(t.FormType), RequestType: string(t.RequestType), IsUsed: false,
		ExpiresAt: t.ExpiresAt.UTC(), CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC()}
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
			return err
		}
		if err := writeAudit(ctx, tx, audit.Entry{Action: audit.ActionCreate, TableName: "hps_tokens", RecordID: row.ID,
			NewValues: tokenAudit(row)}); err != nil {
			return err
		}
		return s.enqueueNotices(ctx, tx, []clearance.Notice{notice})
	})
}

// ListTokens lists links, newest first, with the total in one statement.
func (s *Store) ListTokens(ctx context.Context, f clearance.TokenFilter) ([]clearance.Token, int, error) {
	var conds []string
	var args []any
	if f.Email != "" {
		conds, args = append(conds, "t.email = ?"), append(args, f.Email)
	}
	if f.IsUsed != nil {
		conds, args = append(conds, "t.is_used = ?"), append(args, *f.IsUsed)
	}
	if f.RequestedByID != nil {
		conds, args = append(conds, "t.requested_by_id = ?"), append(args, *f.RequestedByID)
	}
	where := ""
	if len(conds) > 0 {
		where = " WHERE " + strings.Join(conds, " AND ")
	}
	limit := ""
	if f.Limit > 0 {
		limit = " LIMIT " + strconv.Itoa(f.Limit) + " OFFSET " + strconv.Itoa(max(f.Offset, 0))
	}
	var rows []tokenViewRow
	q := tokenViewSQL + ", count(*) OVER () AS full_count" + tokenFromSQL + where + " ORDER BY t.created_at DESC, t.id DESC" + limit
	if err := s.db.NewRaw(q, args...).Scan(ctx, &rows); err != nil && !isNoRows(err) {
		return nil, 0, database.Translate(err)
	}
	out := make([]clearance.Token, len(rows))
	n := 0
	for i := range rows {
		out[i] = rows[i].view().Token
		n = rows[i].FullCount
	}
	n, err := pageTotal(ctx, s.db, len(rows), f.Offset, n, "SELECT count(*) FROM hps_tokens AS t"+where, args)
	return out, n, err
}

func (s *Store) tokenView(ctx context.Context, db bun.IDB, where string, arg any) (*clearance.PublicToken, error) {
	var rows []tokenViewRow
	if err := db.NewRaw(tokenViewSQL+tokenFromSQL+" WHERE "+where, arg).Scan(ctx, &rows); err != nil && !isNoRows(err) {
		return nil, database.Translate(err)
	}
	if len(rows) == 0 {
		return nil, nil
	}
	return rows[0].view(), nil
}

// TokenByID reads one link with its creator.
func (s *Store) TokenByID(ctx context.Context, id string) (*clearance.Token, error) {
	t, err := s.tokenView(ctx, s.db, "t.id = ?", id)
	if err != nil {
		return nil, err
	}
	if t == nil {
		return nil, errs.NotFound("HPS token")
	}
	return &t.Token, nil
}

// TokenByHash reads a link by the SHA-256 of its value (nil when none).
func (s *Store) TokenByHash(ctx context.Context, hash string) (*clearance.PublicToken, error) {
	return s.tokenView(ctx, s.db, "t.token_hash = ?", hash)
}

// lockToken reads a link's row inside tx, locking it on PostgreSQL (on
// SQLite the immediate transaction already holds the writer).
func (s *Store) lockToken(ctx context.Context, tx bun.Tx, id string) (*tokenRow, error) {
	var row tokenRow
	q := tx.NewSelect().Model(&row).Where("t.id = ?", id)
	if s.db.Engine == database.Postgres {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		if isNoRows(err) {
			return nil, errs.NotFound("HPS token")
		}
		return nil, err
	}
	return &row, nil
}

// errTokenUsed refuses to revoke a link whose request exists.
var errTokenUsed = &errs.Error{Kind: errs.KindConflict, Code: "token_used", Message: "El enlace ya se ha usado; no se puede revocar."}

// RevokeToken sets revoked_at (once) and audits it.
func (s *Store) RevokeToken(ctx context.Context, id string, now time.Time) (*clearance.Token, error) {
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		row, err := s.lockToken(ctx, tx, id)
		if err != nil {
			return err
		}
		if row.IsUsed {
			return errTokenUsed
		}
		if row.RevokedAt != nil {
			return nil
		}
		old := tokenAudit(row)
		n := now.UTC()
		row.RevokedAt, row.UpdatedAt = &n, n
		if _, err := tx.NewUpdate().Model(row).Column("revoked_at", "updated_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionUpdate, TableName: "hps_tokens", RecordID: row.ID,
			OldValues: old, NewValues: tokenAudit(row)})
	})
	if err != nil {
		return nil, err
	}
	return s.TokenByID(ctx, id)
}

// SubmitPublic is the public submission in one transaction: lock and
// recheck the link, find or make the applicant's account, insert the
// request (one open request per person), mark the link used, audit, and
// queue the e-mails.
func (s *Store) SubmitPublic(ctx context.Context, sub *clearance.PublicSubmission) (*clearance.PublicOutcome, error) {
	a := audit.ActorFrom(ctx)
	a.Name = "hps-token:" + sub.Token.Prefix
	ctx = audit.WithActor(ctx, a)
	var out *clearance.PublicOutcome
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		row, err := s.lockToken(ctx, tx, sub.Token.ID)
		if err != nil {
			if errs.Is(err, errs.KindNotFound) {
				return clearance.ErrTokenInvalid
			}
			return err
		}
		if !row.token().Valid(sub.Now) {
			return clearance.ErrTokenInvalid
		}
		o, err := s.applicant(ctx, tx, row, sub)
		if err != nil {
			return err
		}
		r := sub.Request
		r.UserID, r.SubmittedByID = &o.UserID, &row.RequestedByID
		if err := insertRequest(ctx, tx, r); err != nil {
			return err
		}
		old := tokenAudit(row)
		now := sub.Now.UTC()
		row.IsUsed, row.UsedAt, row.RequestID, row.UpdatedAt = true, &now, &r.ID, now
		if _, err := tx.NewUpdate().Model(row).Column("is_used", "used_at", "request_id", "updated_at").WherePK().Exec(ctx); err != nil {
			return err
		}
		if err := writeAudit(ctx, tx, audit.Entry{Action: audit.ActionCreate, TableName: "hps_requests", RecordID: r.ID,
			NewValues: requestAudit(r)}); err != nil {
			return err
		}
		if err := writeAudit(ctx, tx, audit.Entry{Action: audit.ActionUpdate, TableName: "hps_tokens", RecordID: row.ID,
			OldValues: old, NewValues: tokenAudit(row)}); err != nil {
			return err
		}
		o.Request = r
		if sub.Notices != nil {
			if err := s.enqueueNotices(ctx, tx, sub.Notices(o)); err != nil {
				return err
			}
		}
		out = o
		return nil
	})
	if err != nil {
		return nil, takenField(err)
	}
	return out, nil
}

// applicant finds the account with the link's e-mail or makes one: a
// member with a temporary password they must change, in the creator's led
// team (else AICOX). An existing account is added to the creator's led
// team (membership only; the primary team stays), so the lead who sent
// the link sees the request.
func (s *Store) applicant(ctx context.Context, tx bun.Tx, tok *tokenRow, sub *clearance.PublicSubmission) (*clearance.PublicOutcome, error) {
	var found []userRow
	if err := tx.NewSelect().Model(&found).Column("id", "username", "email").
		Where("email <> '' AND lower(email) = ?", tok.Email).Limit(1).Scan(ctx); err != nil && !isNoRows(err) {
		return nil, err
	}
	team := sub.Token.CreatorLedTeam
	if len(found) == 1 {
		u := found[0]
		o := &clearance.PublicOutcome{UserID: u.ID, Username: u.Username, Email: u.Email}
		if team == "" {
			return o, nil
		}
		var active []bool
		if err := tx.NewSelect().Table("team_memberships").Column("is_active").
			Where("team_id = ? AND user_id = ?", team, u.ID).Scan(ctx, &active); err != nil && !isNoRows(err) {
			return nil, err
		}
		if len(active) == 1 && active[0] {
			return o, nil
		}
		if err := addMembership(ctx, tx, team, u.ID, false); err != nil {
			return nil, err
		}
		o.TeamJoined = team
		return o, writeAudit(ctx, tx, audit.Entry{Action: audit.ActionCreate, TableName: "team_memberships",
			RecordID: team + ":" + itoa(u.ID), NewValues: map[string]any{"team_id": team, "user_id": u.ID, "is_active": true}})
	}
	hash, err := sub.PasswordHash()
	if err != nil {
		return nil, err
	}
	username, err := freeUsername(ctx, tx, tok.Email)
	if err != nil {
		return nil, err
	}
	if team == "" {
		team = identity.AICOXTeamID
	}
	u := &identity.User{Username: username, Email: tok.Email, FirstName: sub.FirstName, LastName: sub.LastName,
		PasswordHash: hash, IsActive: true, DateJoined: sub.Now.UTC(), TeamID: &team,
		MustChangePassword: true, IsTempPassword: true}
	if err := createUser(ctx, tx, u); err != nil {
		// Another link for the same new person committed first: its
		// request is now that person's open request.
		if errs.Is(err, errs.KindConflict) || database.IsUnique(err, "") {
			return nil, errOpenRequest
		}
		return nil, err
	}
	return &clearance.PublicOutcome{UserID: u.ID, Username: u.Username, Email: u.Email, UserCreated: true, TeamJoined: team}, nil
}

// freeUsername is the e-mail, or the e-mail with a numeric suffix when
// another account already uses it as username (the legacy rule).
func freeUsername(ctx context.Context, tx bun.Tx, email string) (string, error) {
	name := email
	for i := 1; i < 100; i++ {
		n, err := tx.NewSelect().Table("users").Where("username = ?", name).Count(ctx)
		if err != nil {
			return "", err
		}
		if n == 0 {
			return name, nil
		}
		name = email + strconv.Itoa(i)
	}
	return "", errs.Conflict("No se pudo elegir un nombre de usuario para %s.", email)
}
