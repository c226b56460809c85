// Package database opens thot's one database — embedded SQLite by default,
// PostgreSQL in production — and owns its schema.
//
// Both engines go through database/sql and bun, so the store layer has one
// code path; the few dialect differences live in the goose migration folders
// (migrations/sqlite, migrations/postgres) and in Dialect checks in stores.
// River's tables are migrated here too, so `thot migrate` is the single
// place where the schema changes.
package database

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/riverqueue/river/riverdriver"
	"github.com/riverqueue/river/riverdriver/riverdatabasesql"
	"github.com/riverqueue/river/riverdriver/riversqlite"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect/pgdialect"
	"github.com/uptrace/bun/dialect/sqlitedialect"
	_ "modernc.org/sqlite" // registers driver "sqlite"
)

// Dialect names the engine.
type Dialect string

// The two supported engines.
const (
	Postgres Dialect = "postgres"
	SQLite   Dialect = "sqlite"
)

// DB is an open database: bun on top of one *sql.DB.
type DB struct {
	*bun.DB
	// Engine is named so as not to shadow bun.DB's Dialect method.
	Engine Dialect
	// listener is a small pgx pool River hijacks one connection from for
	// LISTEN/NOTIFY; nil on SQLite.
	listener *pgxpool.Pool
	river    riverdriver.Driver[*sql.Tx]
	hooks    hooks
	rebound  sync.Map // query → Rebind(query), for Query
}

// Options say where the database is.
type Options struct {
	// URL is a postgres:// URL; empty means SQLite at SQLitePath.
	URL        string
	SQLitePath string
	MaxConns   int
}

// Open connects and checks the connection. It does not migrate.
func Open(ctx context.Context, o Options) (*DB, error) {
	if o.URL == "" || strings.HasPrefix(o.URL, "sqlite:") || strings.HasPrefix(o.URL, "file:") {
		return openSQLite(ctx, o.SQLitePath)
	}
	return openPostgres(ctx, o.URL, o.MaxConns)
}

// SQLiteDSN is the modernc DSN thot uses. WAL lets readers run beside the
// writer; busy_timeout waits instead of failing on a held lock; _txlock
// takes the write lock at BEGIN so a read→write upgrade can't SQLITE_BUSY;
// foreign_keys is off by default in SQLite; _time_format makes time.Time
// round-trip (the default format does not scan back).
func SQLiteDSN(path string) string {
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate&_time_format=sqlite"
}

func openSQLite(ctx context.Context, path string) (*DB, error) {
	if path == "" {
		return nil, errors.New("database: no SQLite path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("database: creating %s: %w", dir, err)
		}
	}
	sqldb, err := sql.Open("sqlite", SQLiteDSN(path))
	if err != nil {
		return nil, fmt.Errorf("database: open sqlite: %w", err)
	}
	// One connection: SQLite has one writer, and River's parallel internal
	// work otherwise hits SQLITE_BUSY (riversqlite docs). Consequence: code
	// holding a transaction must do all its work on that transaction.
	sqldb.SetMaxOpenConns(1)
	sqldb.SetConnMaxLifetime(0)
	if err := ping(ctx, sqldb); err != nil {
		sqldb.Close()
		return nil, err
	}
	db := &DB{DB: bun.NewDB(sqldb, sqlitedialect.New()), Engine: SQLite}
	db.river = riversqlite.New(sqldb)
	return db, nil
}

func openPostgres(ctx context.Context, rawURL string, maxConns int) (*DB, error) {
	cc, err := pgx.ParseConfig(rawURL)
	if err != nil {
		return nil, fmt.Errorf("database: DATABASE_URL: %w", redact(err))
	}
	// Every timestamp is handled in UTC; the session time zone makes
	// date_trunc and ::date agree with Go.
	cc.RuntimeParams["timezone"] = "UTC"
	if cc.ConnectTimeout == 0 {
		cc.ConnectTimeout = 2 * time.Second
	}
	sqldb := sql.OpenDB(inlineConnector{stdlib.GetConnector(*cc)})
	if maxConns <= 0 {
		maxConns = 20
	}
	sqldb.SetMaxOpenConns(maxConns)
	sqldb.SetMaxIdleConns(maxConns)
	sqldb.SetConnMaxIdleTime(5 * time.Minute)
	sqldb.SetConnMaxLifetime(time.Hour)
	if err := ping(ctx, sqldb); err != nil {
		sqldb.Close()
		return nil, err
	}
	pc, err := pgxpool.ParseConfig(rawURL)
	if err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("database: DATABASE_URL: %w", redact(err))
	}
	pc.MaxConns = 2
	pc.ConnConfig.RuntimeParams["timezone"] = "UTC"
	pc.ConnConfig.ConnectTimeout = cc.ConnectTimeout
	pool, err := pgxpool.NewWithConfig(ctx, pc)
	if err != nil {
		sqldb.Close()
		return nil, fmt.Errorf("database: listener pool: %w", redact(err))
	}
	db := &DB{DB: bun.NewDB(sqldb, pgdialect.New()), Engine: Postgres, listener: pool}
	db.river = riverdatabasesql.NewWithPgxListener(sqldb, pool)
	return db, nil
}

func ping(ctx context.Context, db *sql.DB) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	if err := db.PingContext(ctx); err != nil {
		return fmt.Errorf("database: unreachable: %w", redact(err))
	}
	return nil
}

// redact strips passwords that drivers sometimes echo in errors.
func redact(err error) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	if i := strings.Index(msg, "password="); i >= 0 {
		end := strings.IndexAny(msg[i:], " )")
		if end < 0 {
			end = len(msg) - i
		}
		msg = msg[:i] + "password=********" + msg[i+end:]
	}
	if u, err2 := url.Parse(msg); err2 == nil && u.User != nil {
		return errors.New("invalid database URL")
	}
	return errors.New(msg)
}

// RiverDriver is the River driver bound to this database (*sql.Tx based on
// both engines, so InsertTx takes a bun.Tx's embedded *sql.Tx).
func (db *DB) RiverDriver() riverdriver.Driver[*sql.Tx] { return db.river }

// Ping checks the database within ctx.
func (db *DB) Ping(ctx context.Context) error { return db.DB.DB.PingContext(ctx) }

// SQL is the underlying *sql.DB.
func (db *DB) SQL() *sql.DB { return db.DB.DB }

// Close releases every connection.
func (db *DB) Close() error {
	if db.listener != nil {
		db.listener.Close()
	}
	return db.DB.Close()
}

// InTx runs fn in a transaction: committed when fn returns nil, rolled back
// otherwise (and on panic). Store methods own their transaction this way
// and pass tx to unexported helpers.
func (db *DB) InTx(ctx context.Context, fn func(ctx context.Context, tx bun.Tx) error) error {
	err := db.RunInTx(ctx, nil, fn)
	return Translate(err)
}
