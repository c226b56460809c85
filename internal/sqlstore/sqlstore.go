// Package sqlstore holds all of thot's SQL: one file per aggregate, each
// implementing its domain package's Store interface over bun. Public
// methods own their transaction; unexported helpers take the bun.IDB of
// the caller's transaction. Driver errors become domain errors here
// (database.Translate) and nowhere else.
package sqlstore

import (
	"context"
	"errors"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/database"
)

// Store is the SQL implementation of the domain stores.
type Store struct {
	db     *database.DB
	sql    statements
	mailer Mailer
}

// Mailer queues e-mail in a transaction (*mail.Mailer).
type Mailer interface {
	EnqueueTx(ctx context.Context, tx bun.Tx, to, template string, data any, idempotencyKey string) error
}

var errNoMailer = errors.New("sqlstore: no mailer configured")

// SetMailer lets the store queue the e-mails of a change (clearance
// notices) in the change's transaction. The mailer is made after the store
// (it needs the job client, which needs the workers, which need stores).
func (s *Store) SetMailer(m Mailer) { s.mailer = m }

// statements are the hot read statements, rendered once (see
// database.Query for why they are sent with bound arguments).
type statements struct {
	principalByID, principalByLegacyID, principalBySession string
}

// New returns a store on db.
func New(db *database.DB) *Store {
	return &Store{db: db, sql: statements{
		principalByID:       principalSQL(db, "u.id = ?", false),
		principalByLegacyID: principalSQL(db, "u.legacy_hps_id = ?", false),
		principalBySession:  principalSQL(db, "u.id = ?", true),
	}}
}
