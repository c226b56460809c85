package sqlstore

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/errs"
)

// What the browser extension reads and changes (clearance.ExtensionStore),
// and the locked read-decide-write every machine-made change shares
// (extension, expiry job).

const openStatusesSQL = "('pending', 'waiting_dps', 'submitted')"

// PendingRequests implements clearance.ExtensionStore.
func (s *Store) PendingRequests(ctx context.Context, rt clearance.RequestType) ([]clearance.Request, error) {
	q := s.requestViewSQL() + " WHERE h.status = 'pending'"
	var args []any
	if rt != "" {
		q += " AND h.request_type = ?"
		args = append(args, string(rt))
	}
	q += " ORDER BY h.first_name, h.first_last_name, h.created_at"
	var rows []requestViewRow
	if err := s.db.NewRaw(q, args...).Scan(ctx, &rows); err != nil && !isNoRows(err) {
		return nil, database.Translate(err)
	}
	out := make([]clearance.Request, len(rows))
	for i := range rows {
		out[i] = *rows[i].view()
	}
	return out, nil
}

// RequestForDocument implements clearance.ExtensionStore: the open request
// first (there is at most one), then the newest.
func (s *Store) RequestForDocument(ctx context.Context, doc string) (*clearance.Request, error) {
	var row requestViewRow
	q := s.requestViewSQL() + " WHERE h.document_number = ? ORDER BY CASE WHEN h.status IN " + openStatusesSQL +
		" THEN 0 ELSE 1 END, h.created_at DESC, h.id LIMIT 1"
	if err := s.db.QueryOne(ctx, &row, q, doc); err != nil {
		if isNoRows(err) {
			return nil, errs.NotFound("HPS request")
		}
		return nil, database.Translate(err)
	}
	return row.view(), nil
}

// ChangeOpenRequest implements clearance.ExtensionStore.
func (s *Store) ChangeOpenRequest(ctx context.Context, doc string, decide clearance.Decision) (*clearance.Request, error) {
	var out *clearance.Request
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var ids []string
		if err := tx.NewRaw("SELECT id FROM hps_requests WHERE document_number = ? AND status IN "+openStatusesSQL, doc).
			Scan(ctx, &ids); err != nil && !isNoRows(err) {
			return err
		}
		if len(ids) == 0 {
			return errs.NotFound("Open HPS request for this document number")
		}
		cur, err := s.requestForUpdate(ctx, tx, ids[0])
		if err != nil {
			return err
		}
		if !cur.Status.Open() {
			// Closed between the two reads: it is no longer the open one.
			return errs.NotFound("Open HPS request for this document number")
		}
		out, err = s.applyDecision(ctx, tx, cur, decide)
		return err
	})
	if err != nil {
		return nil, database.Translate(err)
	}
	return out, nil
}

// applyDecision runs decide on a locked request and writes its outcome:
// the row, one audit entry (actor from ctx: the API key's name, or
// "system"), and the notices, all in tx. A nil decision changes nothing.
func (s *Store) applyDecision(ctx context.Context, tx bun.Tx, cur *clearance.Request, decide clearance.Decision) (*clearance.Request, error) {
	next, notices, err := decide(cur)
	if err != nil || next == nil {
		return cur, err
	}
	next.ID = cur.ID
	if err := updateRequest(ctx, tx, next, time.Now().UTC()); err != nil {
		return nil, err
	}
	if err := writeAudit(ctx, tx, audit.Entry{Action: audit.ActionUpdate, TableName: "hps_requests", RecordID: cur.ID,
		OldValues: requestAudit(cur), NewValues: requestAudit(next)}); err != nil {
		return nil, err
	}
	if err := s.enqueueNotices(ctx, tx, notices); err != nil {
		return nil, err
	}
	return next, nil
}
