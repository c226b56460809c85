package sqlstore

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// Sessions and tokens (docs/identity.md). A session is revoked by
// stamping revoked_at; authentication reads that in its one statement
// (SessionPrincipal), so revocation is exact. jwt_outstanding records
// issued refresh tokens (SimpleJWT's OutstandingToken) and jwt_blacklist
// the ones revoked one by one (logout, rotation).

// insertSession creates session s, or extends it when it exists (a
// password change keeps the caller's session and hands out a refresh
// token that may outlive the one of the login).
func insertSession(ctx context.Context, db bun.IDB, s identity.Session, now time.Time) error {
	_, err := db.NewRaw(`INSERT INTO auth_sessions (id, user_id, created_at, expires_at, ip_address, user_agent) VALUES (?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET expires_at = EXCLUDED.expires_at WHERE auth_sessions.expires_at < EXCLUDED.expires_at`,
		s.ID, s.UserID, now, s.RefreshExpires.UTC(), s.IP, s.UserAgent).Exec(ctx)
	return err
}

// lockUser reads the columns a session is opened against, locking the
// user's row on PostgreSQL (SQLite's immediate transaction already holds
// the writer): a concurrent password change, reset or deactivation then
// either sees the new session, or the session sees its result.
func (s *Store) lockUser(ctx context.Context, tx bun.Tx, id int64) (*userRow, error) {
	q := "SELECT u.* FROM users AS u WHERE u.id = ?"
	if s.db.Engine == database.Postgres {
		q += " FOR UPDATE"
	}
	var row userRow
	if err := tx.NewRaw(q, id).Scan(ctx, &row); err != nil {
		if isNoRows(err) {
			return nil, errs.New(errs.KindUnauthenticated, "User not found")
		}
		return nil, err
	}
	return &row, nil
}

// OpenSession records a login (see identity.AuthStore).
func (s *Store) OpenSession(ctx context.Context, sess identity.Session, verified, rehash string) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		u, err := s.lockUser(ctx, tx, sess.UserID)
		if err != nil {
			return err
		}
		if !u.IsActive || u.Password != verified {
			return errs.New(errs.KindUnauthenticated, "The account changed during the login")
		}
		now := time.Now().UTC()
		q := tx.NewUpdate().Model((*userRow)(nil)).Set("last_login = ?", now).Where("id = ?", sess.UserID)
		if rehash != "" {
			q = q.Set("password = ?", rehash)
		}
		if _, err := q.Exec(ctx); err != nil {
			return err
		}
		if err := insertSession(ctx, tx, sess, now); err != nil {
			return err
		}
		if err := recordRefresh(ctx, tx, sess.RefreshJTI, sess.UserID, sess.RefreshExpires); err != nil {
			return err
		}
		uid := sess.UserID
		return writeAudit(ctx, tx, audit.Entry{UserID: &uid, Action: audit.ActionLogin, TableName: "users", RecordID: itoa(uid),
			NewValues: map[string]any{"rehashed": rehash != "", "session": sess.ID}})
	})
}

// AdoptSession makes the session of a legacy refresh token (see
// identity.AuthStore), checking the cut-off under the user's lock.
func (s *Store) AdoptSession(ctx context.Context, sess identity.Session, issuedAt time.Time) (bool, error) {
	live := false
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		u, err := s.lockUser(ctx, tx, sess.UserID)
		if err != nil {
			return err
		}
		if !u.IsActive || (u.TokensValidAfter != nil && !issuedAt.After(*u.TokensValidAfter)) {
			return nil
		}
		if err := insertSession(ctx, tx, sess, time.Now().UTC()); err != nil {
			return err
		}
		var revoked *time.Time
		if err := tx.NewRaw("SELECT revoked_at FROM auth_sessions WHERE id = ?", sess.ID).Scan(ctx, &revoked); err != nil {
			return err
		}
		live = revoked == nil
		return nil
	})
	return live, err
}

// revokeSessions ends every live session of the user but keep ("" for
// none) and moves the user's cut-off for tokens without a session to now
// (full precision: see identity.cutOff). It returns how many sessions
// ended.
func revokeSessions(ctx context.Context, tx bun.Tx, userID int64, keep, reason string, now time.Time) (int64, error) {
	if _, err := tx.NewUpdate().Model((*userRow)(nil)).Set("tokens_valid_after = ?", now).
		Where("id = ?", userID).Exec(ctx); err != nil {
		return 0, err
	}
	res, err := tx.NewRaw(`UPDATE auth_sessions SET revoked_at = ?, revoked_reason = ? WHERE user_id = ? AND revoked_at IS NULL AND id <> ?`,
		now, reason, userID, keep).Exec(ctx)
	if err != nil {
		return 0, err
	}
	n, _ := res.RowsAffected()
	return n, nil
}

// recordRefresh stores an issued refresh token (SimpleJWT's
// OutstandingToken).
func recordRefresh(ctx context.Context, db bun.IDB, jti string, userID int64, expires time.Time) error {
	_, err := db.NewRaw(`INSERT INTO jwt_outstanding (jti, user_id, created_at, expires_at) VALUES (?, ?, ?, ?) ON CONFLICT (jti) DO NOTHING`,
		jti, userID, time.Now().UTC(), expires.UTC()).Exec(ctx)
	return err
}

// IsBlacklisted reports whether a refresh token's jti was revoked.
func (s *Store) IsBlacklisted(ctx context.Context, jti string) (bool, error) {
	n, err := s.db.NewSelect().Table("jwt_blacklist").Where("jti = ?", jti).Count(ctx)
	return n > 0, database.Translate(err)
}

// EndSession blacklists a refresh token (when given) and revokes a
// session (when given), audited as action. Blacklisting a token twice is
// a conflict, so that two concurrent rotations of one token cannot both
// succeed.
func (s *Store) EndSession(ctx context.Context, userID int64, sid, jti string, jtiExpires time.Time, action string) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		now := time.Now().UTC()
		if jti != "" {
			if err := blacklist(ctx, tx, jti, jtiExpires, now); err != nil {
				return err
			}
		}
		if sid != "" {
			if _, err := tx.NewRaw(`UPDATE auth_sessions SET revoked_at = ?, revoked_reason = ? WHERE id = ? AND user_id = ? AND revoked_at IS NULL`,
				now, action, sid, userID).Exec(ctx); err != nil {
				return err
			}
		}
		uid := userID
		return writeAudit(ctx, tx, audit.Entry{UserID: &uid, Action: action, TableName: "auth_sessions", RecordID: sid})
	})
}

func blacklist(ctx context.Context, db bun.IDB, jti string, expires, now time.Time) error {
	_, err := db.NewRaw(`INSERT INTO jwt_blacklist (jti, blacklisted_at, expires_at) VALUES (?, ?, ?)`, jti, now, expires.UTC()).Exec(ctx)
	if database.IsUnique(err, "") {
		return &errs.Error{Kind: errs.KindConflict, Message: "Token is blacklisted", Err: err}
	}
	return err
}

// RotateRefresh blacklists the presented refresh token, records its
// replacement and extends the session, in one transaction.
func (s *Store) RotateRefresh(ctx context.Context, sid, oldJTI string, oldExpires time.Time, newJTI string, userID int64, newExpires time.Time) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		now := time.Now().UTC()
		if err := blacklist(ctx, tx, oldJTI, oldExpires, now); err != nil {
			return err
		}
		if _, err := tx.NewRaw(`UPDATE auth_sessions SET expires_at = ? WHERE id = ? AND expires_at < ?`,
			newExpires.UTC(), sid, newExpires.UTC()).Exec(ctx); err != nil {
			return err
		}
		return recordRefresh(ctx, tx, newJTI, userID, newExpires)
	})
}

// PruneTokens deletes outstanding and blacklisted rows whose tokens have
// expired (they can no longer be presented), sessions none of whose
// tokens can still be valid, and stale throttle rows.
func (s *Store) PruneTokens(ctx context.Context, now, sessionsBefore time.Time) (int64, error) {
	var total int64
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		for _, q := range []struct {
			sql    string
			before time.Time
		}{
			{`DELETE FROM jwt_blacklist WHERE expires_at < ?`, now},
			{`DELETE FROM jwt_outstanding WHERE expires_at < ?`, now},
			{`DELETE FROM auth_sessions WHERE expires_at < ?`, sessionsBefore},
		} {
			res, err := tx.NewRaw(q.sql, q.before.UTC()).Exec(ctx)
			if err != nil {
				return err
			}
			n, _ := res.RowsAffected()
			total += n
		}
		_, err := tx.NewRaw(`DELETE FROM login_throttle WHERE (locked_until IS NULL OR locked_until < ?) AND window_start < ?`,
			now.UTC(), now.Add(-24*time.Hour).UTC()).Exec(ctx)
		return err
	})
	return total, err
}
