package database_test

import (
	"context"
	"database/sql"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
)

func TestRebind(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"SELECT 1", "SELECT 1"},
		{"a = ? AND b IN (?, ?)", "a = $1 AND b IN ($2, $3)"},
		{"x LIKE ? ESCAPE '!' AND y = '?' AND \"q?\" = ?", "x LIKE $1 ESCAPE '!' AND y = '?' AND \"q?\" = $2"},
		{"s = 'it''s ?' OR t = ?", "s = 'it''s ?' OR t = $1"},
	} {
		if got := database.Rebind(tc.in); got != tc.want {
			t.Errorf("Rebind(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// countHook counts statements seen through bun's hook interface.
type countHook struct{ before, after atomic.Int64 }

func (h *countHook) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	h.before.Add(1)
	return ctx
}
func (h *countHook) AfterQuery(context.Context, *bun.QueryEvent) { h.after.Add(1) }

// TestQueryBindsArguments: Query sends arguments as parameters on both
// engines (repeated, so pgx's statement cache is hit), scans bun models,
// reports no row as sql.ErrNoRows, and is seen by query hooks like any
// bun statement.
func TestQueryBindsArguments(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		hook := &countHook{}
		db.AddQueryHook(hook)
		for _, name := range []string{"ana", "it's ?", "bea"} {
			if _, err := db.NewInsert().Model(&userRow{Password: "!", Username: name, DateJoined: time.Now().UTC()}).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		if hook.before.Load() != 3 {
			t.Fatalf("hook saw %d inserts, want 3", hook.before.Load())
		}
		for i := 0; i < 3; i++ {
			var u userRow
			if err := db.QueryOne(ctx, &u, "SELECT id, username, email FROM users WHERE username = ? AND email = ?", "it's ?", ""); err != nil {
				t.Fatal(err)
			}
			if u.Username != "it's ?" || u.ID == 0 {
				t.Fatalf("scanned %+v", u)
			}
		}
		var none userRow
		if err := db.QueryOne(ctx, &none, "SELECT id FROM users WHERE username = ?", "nobody"); !errors.Is(err, sql.ErrNoRows) {
			t.Fatalf("missing row: err = %v, want sql.ErrNoRows", err)
		}
		rows, err := db.Query(ctx, "SELECT username FROM users WHERE id > ? ORDER BY username", 0)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		if err := db.ScanRows(ctx, rows, &names); err != nil {
			t.Fatal(err)
		}
		if len(names) != 3 || names[0] != "ana" || names[2] != "it's ?" {
			t.Fatalf("names = %q", names)
		}
		if b, a := hook.before.Load(), hook.after.Load(); b != 3+3+1+1 || a != b {
			t.Fatalf("hook saw %d/%d statements, want 8/8", b, a)
		}
	})
}

// TestInlinedStatementsRepeat: bun's argument-less statements run many
// times with different inlined values; on PostgreSQL they go by the simple
// protocol, so the session prepares nothing for them (pgx's
// default would prepare and cache each distinct text).
func TestInlinedStatementsRepeat(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		ctx := context.Background()
		conn, err := db.Conn(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		prepared := func() int {
			if db.Engine != database.Postgres {
				return 0
			}
			var n int
			if err := conn.NewRaw("SELECT count(*) FROM pg_prepared_statements").Scan(ctx, &n); err != nil {
				t.Fatal(err)
			}
			return n
		}
		before := prepared()
		for i := 0; i < 600; i++ {
			var n int
			if err := conn.NewSelect().ColumnExpr("? + 1", i).Scan(ctx, &n); err != nil {
				t.Fatal(err)
			}
			if n != i+1 {
				t.Fatalf("got %d, want %d", n, i+1)
			}
		}
		if after := prepared(); after != before {
			t.Fatalf("prepared statements on the session went from %d to %d, want no change", before, after)
		}
	})
}
