// Package dbtest gives tests real, migrated databases: a SQLite file in a
// temporary directory always, and a fresh PostgreSQL schema when
// THOT_TEST_DATABASE_URL is set. There are no database mocks in thot.
package dbtest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"net/url"
	"os"
	"path/filepath"
	"testing"

	"github.com/jackc/pgx/v5/stdlib"

	"github.com/thot-security/thot/internal/database"
)

// EnvURL names the variable holding the PostgreSQL test server URL.
const EnvURL = "THOT_TEST_DATABASE_URL"

// Engine is one database engine under test.
type Engine struct {
	Name string
	open func(t testing.TB) *database.DB
}

// Open returns a freshly migrated, empty database on this engine, closed
// (and on PostgreSQL dropped) when the test ends.
func (e Engine) Open(t testing.TB) *database.DB {
	t.Helper()
	return e.open(t)
}

// Engines lists SQLite, plus PostgreSQL when THOT_TEST_DATABASE_URL is set.
func Engines(t testing.TB) []Engine {
	t.Helper()
	out := []Engine{{Name: "sqlite", open: openSQLite}}
	if os.Getenv(EnvURL) != "" {
		out = append(out, Engine{Name: "postgres", open: openPostgres})
	}
	return out
}

// Run runs f as a subtest once per engine.
func Run(t *testing.T, f func(t *testing.T, db *database.DB)) {
	t.Helper()
	for _, e := range Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			f(t, e.Open(t))
		})
	}
}

// Postgres returns a migrated PostgreSQL database, or skips the test with a
// message when THOT_TEST_DATABASE_URL is unset.
func Postgres(t testing.TB) *database.DB {
	t.Helper()
	if os.Getenv(EnvURL) == "" {
		t.Skipf("PostgreSQL test skipped: set %s=postgres://user@host/db to run it", EnvURL)
	}
	return openPostgres(t)
}

// SQLite returns a migrated SQLite database in a temporary directory.
func SQLite(t testing.TB) *database.DB { t.Helper(); return openSQLite(t) }

func openSQLite(t testing.TB) *database.DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "thot.db")
	return openMigrated(t, database.Options{SQLitePath: path})
}

// PostgresURL creates an empty schema on the test server and returns a URL
// whose search_path points at it; the schema is dropped at cleanup.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvURL)
	if base == "" {
		t.Skipf("PostgreSQL test skipped: set %s", EnvURL)
	}
	buf := make([]byte, 6)
	_, _ = rand.Read(buf)
	schema := "t_" + hex.EncodeToString(buf)
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("dbtest: %v", err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("dbtest: create schema: %v", err)
	}
	t.Cleanup(func() {
		a, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer a.Close()
		_, _ = a.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("dbtest: %s: %v", EnvURL, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

func openPostgres(t testing.TB) *database.DB {
	t.Helper()
	return openMigrated(t, database.Options{URL: PostgresURL(t), MaxConns: 10})
}

func openMigrated(t testing.TB, o database.Options) *database.DB {
	t.Helper()
	ctx := context.Background()
	db, err := database.Open(ctx, o)
	if err != nil {
		t.Fatalf("dbtest: open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	if _, err := db.Migrate(ctx); err != nil {
		t.Fatalf("dbtest: migrate: %v", err)
	}
	return db
}

var _ = stdlib.GetDefaultDriver // registers driver "pgx"
