package sqlstore

import (
	"context"
	"encoding/json"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/database"
)

// auditRow maps audit_logs. JSON columns are bound as strings, which both
// engines accept (jsonb parses text; SQLite checks json_valid).
type auditRow struct {
	bun.BaseModel `bun:"table:audit_logs"`
	ID            string    `bun:"id,pk"`
	UserID        *int64    `bun:"user_id"`
	Actor         string    `bun:"actor,notnull"`
	Action        string    `bun:"action,notnull"`
	TableName     string    `bun:"table_name,notnull"`
	RecordID      string    `bun:"record_id,notnull"`
	OldValues     *string   `bun:"old_values"`
	NewValues     *string   `bun:"new_values"`
	IPAddress     string    `bun:"ip_address,notnull"`
	UserAgent     string    `bun:"user_agent,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
}

func jsonOrNil(m map[string]any) (*string, error) {
	if m == nil {
		return nil, nil
	}
	b, err := json.Marshal(audit.Redact(m))
	if err != nil {
		return nil, err
	}
	s := string(b)
	return &s, nil
}

// writeAudit records one entry in the caller's transaction. The actor,
// address and user agent come from ctx unless the entry sets them.
func writeAudit(ctx context.Context, db bun.IDB, e audit.Entry) error {
	a := audit.ActorFrom(ctx)
	if e.UserID == nil {
		e.UserID = a.UserID
	}
	if e.Actor == "" {
		e.Actor = a.Name
	}
	if e.IP == "" {
		e.IP = a.IP
	}
	if e.UserAgent == "" {
		e.UserAgent = a.UserAgent
	}
	if len(e.UserAgent) > 512 {
		e.UserAgent = e.UserAgent[:512]
	}
	row := &auditRow{
		ID: uuid.NewString(), UserID: e.UserID, Actor: e.Actor, Action: e.Action, TableName: e.TableName,
		RecordID: e.RecordID, IPAddress: e.IP, UserAgent: e.UserAgent, CreatedAt: time.Now().UTC(),
	}
	var err error
	if row.OldValues, err = jsonOrNil(e.OldValues); err != nil {
		return err
	}
	if row.NewValues, err = jsonOrNil(e.NewValues); err != nil {
		return err
	}
	_, err = db.NewInsert().Model(row).Exec(ctx)
	return err
}

// WriteAudit records an entry on its own (login attempts and other events
// without a surrounding change).
func (s *Store) WriteAudit(ctx context.Context, e audit.Entry) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error { return writeAudit(ctx, tx, e) })
}

func (r *auditRow) entry() audit.Entry {
	e := audit.Entry{ID: r.ID, UserID: r.UserID, Actor: r.Actor, Action: r.Action, TableName: r.TableName,
		RecordID: r.RecordID, IP: r.IPAddress, UserAgent: r.UserAgent, CreatedAt: r.CreatedAt.UTC()}
	if r.OldValues != nil {
		_ = json.Unmarshal([]byte(*r.OldValues), &e.OldValues)
	}
	if r.NewValues != nil {
		_ = json.Unmarshal([]byte(*r.NewValues), &e.NewValues)
	}
	return e
}

// AuditFilter narrows ListAudit.
type AuditFilter struct {
	UserID    *int64 // only entries by this user
	Action    string
	TableName string
	RecordID  string
	Limit     int
	Offset    int
}

// ListAudit returns entries newest first, and the total matching count.
func (s *Store) ListAudit(ctx context.Context, f AuditFilter) ([]audit.Entry, int, error) {
	var rows []auditRow
	q := s.db.NewSelect().Model(&rows)
	if f.UserID != nil {
		q = q.Where("user_id = ?", *f.UserID)
	}
	if f.Action != "" {
		q = q.Where("action = ?", f.Action)
	}
	if f.TableName != "" {
		q = q.Where("table_name = ?", f.TableName)
	}
	if f.RecordID != "" {
		q = q.Where("record_id = ?", f.RecordID)
	}
	q = q.OrderExpr("created_at DESC, id DESC")
	if f.Limit > 0 {
		q = q.Limit(int64(f.Limit)).Offset(int64(f.Offset))
	}
	n, err := q.ScanAndCount(ctx)
	if err != nil {
		return nil, 0, database.Translate(err)
	}
	out := make([]audit.Entry, len(rows))
	for i := range rows {
		out[i] = rows[i].entry()
	}
	return out, int(n), nil
}

// AuditByID returns one entry.
func (s *Store) AuditByID(ctx context.Context, id string) (audit.Entry, error) {
	if _, err := uuid.Parse(id); err != nil {
		return audit.Entry{}, database.Translate(errNotFound("Audit entry"))
	}
	var row auditRow
	if err := s.db.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx); err != nil {
		return audit.Entry{}, database.Translate(err)
	}
	return row.entry(), nil
}
