package sqlstore

import (
	"context"

	"github.com/google/uuid"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/identity"
)

// auditLogRow is an audit entry with the acting user's e-mail joined.
type auditLogRow struct {
	auditRow  `bun:",extend"`
	UserEmail *string `bun:"user_email,scanonly"`
}

// ListAuditRecords returns entries matching q newest first, with the
// acting user's e-mail from one join, and their count (the count query
// runs only when a page is full or past the end).
func (s *Store) ListAuditRecords(ctx context.Context, q identity.AuditQuery) ([]identity.AuditRecord, int, error) {
	if q.ID != "" {
		id, err := uuid.Parse(q.ID)
		if err != nil {
			return []identity.AuditRecord{}, 0, nil
		}
		q.ID = id.String()
	}
	var rows []auditLogRow
	sel := s.db.NewSelect().Model(&rows).ModelTableExpr("audit_logs AS al").
		ColumnExpr("al.*").
		ColumnExpr("au.email AS user_email").
		Join("LEFT JOIN users AS au ON au.id = al.user_id")
	if q.Owner != nil {
		sel = sel.Where("al.user_id = ?", *q.Owner)
	}
	if q.UserID != nil {
		sel = sel.Where("al.user_id = ?", *q.UserID)
	}
	if q.ID != "" {
		sel = sel.Where("al.id = ?", q.ID)
	}
	if q.Action != "" {
		sel = sel.Where("al.action = ?", q.Action)
	}
	if q.TableName != "" {
		sel = sel.Where("al.table_name = ?", q.TableName)
	}
	if q.RecordID != "" {
		sel = sel.Where("al.record_id = ?", q.RecordID)
	}
	sel = sel.OrderExpr("al.created_at DESC, al.id DESC")
	if q.Limit > 0 {
		sel = sel.Limit(int64(q.Limit)).Offset(int64(q.Offset))
	}
	if err := sel.Scan(ctx); err != nil {
		return nil, 0, database.Translate(err)
	}
	n := q.Offset + len(rows)
	if q.Limit > 0 && (len(rows) == q.Limit || (len(rows) == 0 && q.Offset > 0)) {
		c, err := sel.Count(ctx)
		if err != nil {
			return nil, 0, database.Translate(err)
		}
		n = int(c)
	}
	out := make([]identity.AuditRecord, len(rows))
	for i := range rows {
		out[i] = identity.AuditRecord{Entry: rows[i].entry()}
		if rows[i].UserEmail != nil {
			out[i].UserEmail = *rows[i].UserEmail
		}
	}
	return out, n, nil
}
