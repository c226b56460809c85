package sqlstore

import (
	"context"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/errs"
)

// API keys (clearance.KeyStore). Only the key's SHA-256 is stored; the
// audit entries record name, scope and prefix, never the hash.

type apiKeyRow struct {
	bun.BaseModel `bun:"table:api_keys,alias:k"`

	ID          string     `bun:"id,pk"`
	Name        string     `bun:"name"`
	Scope       string     `bun:"scope"`
	Prefix      string     `bun:"prefix"`
	KeyHash     string     `bun:"key_hash"`
	CreatedByID *int64     `bun:"created_by_id"`
	CreatedAt   time.Time  `bun:"created_at"`
	LastUsedAt  *time.Time `bun:"last_used_at"`
	RevokedAt   *time.Time `bun:"revoked_at"`
}

func (r *apiKeyRow) key() *clearance.APIKey {
	return &clearance.APIKey{ID: r.ID, Name: r.Name, Scope: r.Scope, Prefix: r.Prefix, CreatedByID: r.CreatedByID,
		CreatedAt: r.CreatedAt.UTC(), LastUsedAt: utcPtr(r.LastUsedAt), RevokedAt: utcPtr(r.RevokedAt)}
}

func apiKeyAudit(k *clearance.APIKey) map[string]any {
	m := map[string]any{"name": k.Name, "scope": k.Scope, "prefix": k.Prefix}
	if k.RevokedAt != nil {
		m["revoked_at"] = k.RevokedAt.Format(time.RFC3339)
	}
	return m
}

// CreateAPIKey implements clearance.KeyStore.
func (s *Store) CreateAPIKey(ctx context.Context, k *clearance.APIKey, keyHash string) error {
	k.ID = uuid.NewString()
	row := &apiKeyRow{ID: k.ID, Name: k.Name, Scope: k.Scope, Prefix: k.Prefix, KeyHash: keyHash, CreatedByID: k.CreatedByID, CreatedAt: k.CreatedAt.UTC()}
	return database.Translate(s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if _, err := tx.NewInsert().Model(row).Exec(ctx); err != nil {
			return err
		}
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionCreate, TableName: "api_keys", RecordID: k.ID, NewValues: apiKeyAudit(k)})
	}))
}

// APIKeys implements clearance.KeyStore.
func (s *Store) APIKeys(ctx context.Context) ([]clearance.APIKey, error) {
	var rows []apiKeyRow
	if err := s.db.NewSelect().Model(&rows).OrderExpr("k.created_at DESC, k.id").Scan(ctx); err != nil {
		return nil, database.Translate(err)
	}
	out := make([]clearance.APIKey, len(rows))
	for i := range rows {
		out[i] = *rows[i].key()
	}
	return out, nil
}

// RevokeAPIKey implements clearance.KeyStore.
func (s *Store) RevokeAPIKey(ctx context.Context, id string, now time.Time) (*clearance.APIKey, error) {
	var out *clearance.APIKey
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var row apiKeyRow
		if err := tx.NewSelect().Model(&row).Where("k.id = ?", id).Scan(ctx); err != nil {
			if isNoRows(err) {
				return errs.NotFound("API key")
			}
			return err
		}
		out = row.key()
		if row.RevokedAt != nil {
			return nil
		}
		// The WHERE makes two concurrent revocations write one entry.
		res, err := tx.NewUpdate().Model((*apiKeyRow)(nil)).Set("revoked_at = ?", now.UTC()).
			Where("id = ? AND revoked_at IS NULL", id).Exec(ctx)
		if err != nil {
			return err
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		old := apiKeyAudit(out)
		t := now.UTC()
		out.RevokedAt = &t
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionUpdate, TableName: "api_keys", RecordID: id, OldValues: old, NewValues: apiKeyAudit(out)})
	})
	if err != nil {
		return nil, database.Translate(err)
	}
	return out, nil
}

const apiKeyByHashSQL = `SELECT k.id, k.name, k.scope, k.prefix, k.key_hash, k.created_by_id, k.created_at, k.last_used_at, k.revoked_at
FROM api_keys AS k WHERE k.key_hash = ?`

// APIKeyByHash implements clearance.KeyStore: one bound statement, on
// every extension call.
func (s *Store) APIKeyByHash(ctx context.Context, keyHash string) (*clearance.APIKey, error) {
	var row apiKeyRow
	if err := s.db.QueryOne(ctx, &row, apiKeyByHashSQL, keyHash); err != nil {
		if isNoRows(err) {
			return nil, errs.NotFound("API key")
		}
		return nil, database.Translate(err)
	}
	return row.key(), nil
}

// TouchAPIKey implements clearance.KeyStore. Not audited: it is
// bookkeeping, and the changes made with the key are.
func (s *Store) TouchAPIKey(ctx context.Context, id string, now, notBefore time.Time) error {
	_, err := s.db.NewUpdate().Model((*apiKeyRow)(nil)).Set("last_used_at = ?", now.UTC()).
		Where("id = ? AND (last_used_at IS NULL OR last_used_at < ?)", id, notBefore.UTC()).Exec(ctx)
	return database.Translate(err)
}
