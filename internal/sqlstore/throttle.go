package sqlstore

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/identity"
)

type throttleRow struct {
	bun.BaseModel `bun:"table:login_throttle"`
	Key           string     `bun:"key,pk"`
	Failures      int        `bun:"failures,notnull"`
	WindowStart   time.Time  `bun:"window_start,notnull"`
	LockedUntil   *time.Time `bun:"locked_until"`
}

// LockedUntil returns the latest lock among keys still in force at now.
func (s *Store) LockedUntil(ctx context.Context, keys []string, now time.Time) (time.Time, error) {
	var rows []throttleRow
	err := s.db.NewSelect().Model(&rows).Where("key IN (?)", bun.In(keys)).Where("locked_until > ?", now.UTC()).Scan(ctx)
	if err != nil {
		return time.Time{}, database.Translate(err)
	}
	var until time.Time
	for _, r := range rows {
		if r.LockedUntil != nil && r.LockedUntil.After(until) {
			until = r.LockedUntil.UTC()
		}
	}
	return until, nil
}

// RecordFailure counts a failed login for each key and applies the lock
// policy; it returns the longest resulting lock.
func (s *Store) RecordFailure(ctx context.Context, keys []identity.ThrottleKey, now time.Time) (time.Time, error) {
	var until time.Time
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		for _, k := range keys {
			var row throttleRow
			err := tx.NewSelect().Model(&row).Where("key = ?", k.Key).Scan(ctx)
			if err != nil && !isNoRows(err) {
				return err
			}
			exists := err == nil
			if !exists || now.Sub(row.WindowStart) > k.Policy.Window {
				row = throttleRow{Key: k.Key, WindowStart: now.UTC()}
			}
			row.Failures++
			if lock := k.Policy.LockFor(row.Failures); lock > 0 {
				t := now.Add(lock).UTC()
				row.LockedUntil = &t
				if t.After(until) {
					until = t
				}
			}
			_, err = tx.NewInsert().Model(&row).
				On("CONFLICT (key) DO UPDATE").
				Set("failures = EXCLUDED.failures").
				Set("window_start = EXCLUDED.window_start").
				Set("locked_until = EXCLUDED.locked_until").Exec(ctx)
			if err != nil {
				return err
			}
		}
		return nil
	})
	return until, err
}

// ResetThrottle forgets the failures of key (after a successful login).
func (s *Store) ResetThrottle(ctx context.Context, key string) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewDelete().Model((*throttleRow)(nil)).Where("key = ?", key).Exec(ctx)
		return err
	})
}
