package database_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/errs"
)

func TestMigrateIsCurrentAndIdempotent(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		ok, err := db.Current(ctx)
		if err != nil || !ok {
			t.Fatalf("Current = %v, %v; want true after Migrate", ok, err)
		}
		res, err := db.Migrate(ctx)
		if err != nil {
			t.Fatalf("second Migrate: %v", err)
		}
		if len(res) != 0 {
			t.Fatalf("second Migrate applied %d steps, want 0", len(res))
		}
		st, err := db.Status(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ours int
		for _, s := range st {
			if !s.Applied {
				t.Errorf("%s not applied", s.Source)
			}
			if s.Version >= 1 && len(s.Source) > 0 && s.Source[0] != 'r' {
				ours++
			}
		}
		if ours < 2 {
			t.Errorf("status lists %d thot migrations, want >= 2", ours)
		}
	})
}

type userRow struct {
	bun.BaseModel `bun:"table:users"`
	ID            int64     `bun:"id,pk,autoincrement"`
	Password      string    `bun:"password"`
	Username      string    `bun:"username"`
	Email         string    `bun:"email"`
	IsActive      bool      `bun:"is_active"`
	DateJoined    time.Time `bun:"date_joined"`
}

func TestTranslateErrors(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		now := time.Date(2026, 11, 27, 10, 0, 0, 123000000, time.UTC)
		u := &userRow{Password: "!", Username: "ana", Email: "Ana@Example.org", IsActive: true, DateJoined: now}
		err := db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			_, err := tx.NewInsert().Model(u).Exec(ctx)
			return err
		})
		if err != nil {
			t.Fatalf("insert: %v", err)
		}
		// Same e-mail in another case: unique index on lower(email).
		dup := &userRow{Password: "!", Username: "ana2", Email: "ana@example.org", DateJoined: now}
		err = db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			_, err := tx.NewInsert().Model(dup).Exec(ctx)
			return err
		})
		if !errs.Is(err, errs.KindConflict) || !database.IsUnique(errors.Unwrap(err), "") {
			t.Fatalf("duplicate e-mail: err = %v, want conflict", err)
		}
		var got userRow
		err = database.Translate(db.NewSelect().Model(&got).Where("id = ?", 999).Scan(ctx))
		if !errs.Is(err, errs.KindNotFound) {
			t.Fatalf("missing row: err = %v, want not found", err)
		}
		if err := db.NewSelect().Model(&got).Where("id = ?", u.ID).Scan(ctx); err != nil {
			t.Fatal(err)
		}
		if !got.DateJoined.Equal(now) {
			t.Errorf("timestamp round trip: got %v, want %v", got.DateJoined, now)
		}
	})
}

func TestInTxRollsBackOnError(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		boom := errors.New("boom")
		err := db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
			if _, err := tx.NewInsert().Model(&userRow{Password: "!", Username: "x", DateJoined: time.Now().UTC()}).Exec(ctx); err != nil {
				return err
			}
			return boom
		})
		if !errors.Is(err, boom) {
			t.Fatalf("err = %v, want boom", err)
		}
		n, err := db.NewSelect().Model((*userRow)(nil)).Count(ctx)
		if err != nil || n != 0 {
			t.Fatalf("count = %d, %v; want 0 after rollback", n, err)
		}
	})
}
