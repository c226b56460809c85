package sqlstore

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/errs"
)

// RecordRefresh stores a newly issued refresh token (SimpleJWT's
// OutstandingToken), so a user's tokens can be revoked together.
func (s *Store) RecordRefresh(ctx context.Context, jti string, userID int64, expires time.Time) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		return recordRefresh(ctx, tx, jti, userID, expires)
	})
}

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

// Blacklist revokes one refresh token. Revoking it twice is a conflict,
// so that two concurrent rotations of one token cannot both succeed.
func (s *Store) Blacklist(ctx context.Context, jti string, userID int64, expires time.Time, action string) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := blacklist(ctx, tx, jti, expires); err != nil {
			return err
		}
		uid := userID
		return writeAudit(ctx, tx, audit.Entry{UserID: &uid, Action: action, TableName: "jwt_outstanding", RecordID: jti})
	})
}

func blacklist(ctx context.Context, db bun.IDB, jti string, expires time.Time) error {
	_, err := db.NewRaw(`INSERT INTO jwt_blacklist (jti, blacklisted_at, expires_at) VALUES (?, ?, ?)`, jti, time.Now().UTC(), expires.UTC()).Exec(ctx)
	if database.IsUnique(err, "") {
		return &errs.Error{Kind: errs.KindConflict, Message: "Token is blacklisted", Err: err}
	}
	return err
}

// RotateRefresh blacklists the presented refresh token and records its
// replacement in one transaction.
func (s *Store) RotateRefresh(ctx context.Context, oldJTI string, oldExpires time.Time, newJTI string, userID int64, newExpires time.Time) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := blacklist(ctx, tx, oldJTI, oldExpires); err != nil {
			return err
		}
		return recordRefresh(ctx, tx, newJTI, userID, newExpires)
	})
}

// revokeUserTokens blacklists every outstanding, unexpired refresh token
// of the user.
func revokeUserTokens(ctx context.Context, tx bun.Tx, userID int64, now time.Time) error {
	_, err := tx.NewRaw(`INSERT INTO jwt_blacklist (jti, blacklisted_at, expires_at)
		SELECT o.jti, ?, o.expires_at FROM jwt_outstanding AS o
		WHERE o.user_id = ? AND o.expires_at > ? AND NOT EXISTS (SELECT 1 FROM jwt_blacklist AS b WHERE b.jti = o.jti)`,
		now, userID, now).Exec(ctx)
	return err
}

// PruneTokens deletes outstanding and blacklisted rows whose tokens have
// expired (they can no longer be presented), and stale throttle rows.
func (s *Store) PruneTokens(ctx context.Context, now time.Time) (int64, error) {
	var total int64
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		for _, q := range []string{
			`DELETE FROM jwt_blacklist WHERE expires_at < ?`,
			`DELETE FROM jwt_outstanding WHERE expires_at < ?`,
		} {
			res, err := tx.NewRaw(q, now.UTC()).Exec(ctx)
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
