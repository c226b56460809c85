package database

import (
	"context"
	"database/sql"
	"embed"
	"fmt"
	"io/fs"
	"time"

	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"github.com/riverqueue/river/rivermigrate"
)

// migrationsFS holds one folder of goose SQL files per dialect. A schema
// change is written twice, once per engine, with the same version number.
//
//go:embed migrations
var migrationsFS embed.FS

func (db *DB) goose() (*goose.Provider, error) {
	sub, err := fs.Sub(migrationsFS, "migrations/"+string(db.Engine))
	if err != nil {
		return nil, err
	}
	dialect := goose.DialectSQLite3
	var opts []goose.ProviderOption
	if db.Engine == Postgres {
		dialect = goose.DialectPostgres
		// Replicas starting together must not migrate concurrently.
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	return goose.NewProvider(dialect, db.SQL(), sub, opts...)
}

func (db *DB) riverMigrator() (*rivermigrate.Migrator[*sql.Tx], error) {
	return rivermigrate.New(db.river, &rivermigrate.Config{Logger: discardLogger()})
}

// MigrationResult is one applied step.
type MigrationResult struct {
	Source   string
	Version  int64
	Duration time.Duration
}

// Migrate applies every pending migration: River's job tables first (the
// application schema may reference them in the future, never the reverse),
// then thot's own.
func (db *DB) Migrate(ctx context.Context) ([]MigrationResult, error) {
	var out []MigrationResult
	rm, err := db.riverMigrator()
	if err != nil {
		return nil, err
	}
	rres, err := rm.Migrate(ctx, rivermigrate.DirectionUp, nil)
	if err != nil {
		return nil, fmt.Errorf("migrate river: %w", err)
	}
	for _, v := range rres.Versions {
		out = append(out, MigrationResult{Source: "river/" + v.Name, Version: int64(v.Version), Duration: v.Duration})
	}
	p, err := db.goose()
	if err != nil {
		return nil, err
	}
	res, err := p.Up(ctx)
	if err != nil {
		return out, fmt.Errorf("migrate: %w", err)
	}
	for _, r := range res {
		out = append(out, MigrationResult{Source: r.Source.Path, Version: r.Source.Version, Duration: r.Duration})
	}
	return out, nil
}

// MigrationStatus is one line of `thot migrate status`.
type MigrationStatus struct {
	Source    string
	Version   int64
	Applied   bool
	AppliedAt time.Time
}

// Status lists thot's migrations and River's with whether each is applied.
func (db *DB) Status(ctx context.Context) ([]MigrationStatus, error) {
	var out []MigrationStatus
	rm, err := db.riverMigrator()
	if err != nil {
		return nil, err
	}
	existing := map[int]bool{}
	if ev, err := rm.ExistingVersions(ctx); err == nil {
		for _, m := range ev {
			existing[m.Version] = true
		}
	}
	for _, m := range rm.AllVersions() {
		out = append(out, MigrationStatus{Source: "river/" + m.Name, Version: int64(m.Version), Applied: existing[m.Version]})
	}
	p, err := db.goose()
	if err != nil {
		return nil, err
	}
	st, err := p.Status(ctx)
	if err != nil {
		return nil, err
	}
	for _, s := range st {
		out = append(out, MigrationStatus{Source: s.Source.Path, Version: s.Source.Version, Applied: s.State == goose.StateApplied, AppliedAt: s.AppliedAt})
	}
	return out, nil
}

// Current reports whether every migration has been applied.
func (db *DB) Current(ctx context.Context) (bool, error) {
	rm, err := db.riverMigrator()
	if err != nil {
		return false, err
	}
	vr, err := rm.Validate(ctx, nil)
	if err != nil {
		return false, err
	}
	if !vr.OK {
		return false, nil
	}
	p, err := db.goose()
	if err != nil {
		return false, err
	}
	pending, err := p.HasPending(ctx)
	if err != nil {
		return false, err
	}
	return !pending, nil
}
