package database

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/uptrace/bun"
)

// Two ways to send a statement, and why both exist.
//
// bun renders arguments into the SQL text. Every such statement is new
// text to PostgreSQL, so it is parsed and planned on each execution; pgx
// would by default also prepare it as a named statement (one more round
// trip, and a cache slot evicted for a statement that never repeats).
// inlineConn sends argument-less statements with the simple protocol
// instead — one round trip, as bun's own driver does.
//
// The few statements on the hot read paths (authentication, document
// detail, inventory lists) go through Query instead: same SQL, arguments as
// bind parameters, so pgx's per-connection statement cache prepares each
// once and PostgreSQL reuses the plan (measured: ~9× the rate of the
// inlined form in pgbench on the document-detail statement).

// inlineConnector wraps pgx's database/sql connector.
type inlineConnector struct{ driver.Connector }

func (c inlineConnector) Connect(ctx context.Context) (driver.Conn, error) {
	conn, err := c.Connector.Connect(ctx)
	if err != nil {
		return nil, err
	}
	return inlineConn{conn.(*stdlib.Conn)}, nil
}

// inlineConn is a pgx connection that runs argument-less queries with the
// simple protocol. Every other method is pgx's.
type inlineConn struct{ *stdlib.Conn }

var simpleProtocol = []driver.NamedValue{{Ordinal: 1, Value: pgx.QueryExecModeSimpleProtocol}}

func (c inlineConn) QueryContext(ctx context.Context, query string, args []driver.NamedValue) (driver.Rows, error) {
	if len(args) == 0 {
		args = simpleProtocol
	}
	return c.Conn.QueryContext(ctx, query, args)
}

// hooks are the bun query hooks also told about Query's statements, so a
// test counting statements sees both paths.
type hooks struct {
	mu   sync.RWMutex
	list []bun.QueryHook
}

// AddQueryHook adds a bun query hook that also observes Query.
func (db *DB) AddQueryHook(h bun.QueryHook) {
	db.DB.AddQueryHook(h)
	db.hooks.mu.Lock()
	db.hooks.list = append(db.hooks.list, h)
	db.hooks.mu.Unlock()
}

// Query runs a read with its arguments as bind parameters. query uses
// bun's ? placeholders (none inside string literals); on PostgreSQL they
// become $1, $2 … . Use it for statements that run on every request; the
// rest of the store goes through bun.
func (db *DB) Query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	if db.Engine == Postgres {
		query = db.rebind(query)
	}
	return db.query(ctx, query, args...)
}

// query runs query on the pool, telling the hooks.
func (db *DB) query(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	db.hooks.mu.RLock()
	hs := db.hooks.list
	db.hooks.mu.RUnlock()
	if len(hs) == 0 {
		return db.DB.DB.QueryContext(ctx, query, args...)
	}
	ev := &bun.QueryEvent{DB: db.DB, Query: query, QueryTemplate: query, QueryArgs: args, StartTime: time.Now()}
	for _, h := range hs {
		ctx = h.BeforeQuery(ctx, ev)
	}
	rows, err := db.DB.DB.QueryContext(ctx, query, args...)
	ev.Err = err
	for i := len(hs) - 1; i >= 0; i-- {
		hs[i].AfterQuery(ctx, ev)
	}
	return rows, err
}

// QueryLiteral runs a read with its arguments rendered into the text, as
// bun does, but on PostgreSQL as a cached prepared statement: for hot
// statements whose best plan depends on the argument values (a LIKE
// pattern), so that a repeated request reuses its plan while a new value
// gets a plan of its own. pgx keeps up to 512 statements a connection and
// evicts the least recently used.
func (db *DB) QueryLiteral(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	query = db.QueryGen().FormatQuery(query, args...)
	if db.Engine == Postgres {
		return db.query(ctx, query, cacheStatement...)
	}
	return db.query(ctx, query)
}

var cacheStatement = []any{pgx.QueryExecModeCacheStatement}

// QueryOne runs Query and scans its first row into dest (a bun model);
// no row is sql.ErrNoRows.
func (db *DB) QueryOne(ctx context.Context, dest any, query string, args ...any) error {
	rows, err := db.Query(ctx, query, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	if !rows.Next() {
		if err := rows.Err(); err != nil {
			return err
		}
		return sql.ErrNoRows
	}
	if err := db.ScanRow(ctx, rows, dest); err != nil {
		return err
	}
	return rows.Close()
}

// rebind is Rebind remembered: Query's statements are a handful of
// constants, rendered once each.
func (db *DB) rebind(query string) string {
	if r, ok := db.rebound.Load(query); ok {
		return r.(string)
	}
	r := Rebind(query)
	db.rebound.Store(query, r)
	return r
}

// Rebind turns ? placeholders into PostgreSQL's $1, $2 … . It skips
// quoted literals and identifiers, so a '?' inside them stays.
func Rebind(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	b.Grow(len(query) + 8)
	n := 0
	var quote byte
	for i := 0; i < len(query); i++ {
		c := query[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '\'' || c == '"':
			quote = c
		case c == '?':
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(c)
	}
	return b.String()
}
