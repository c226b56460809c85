package sqlstore

import (
	"context"

	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/errs"
)

// What the browser extension reads (clearance.ExtensionStore); its changes
// go through ApplyTransition (clearance_requests.go).

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

// OpenRequestID implements clearance.ExtensionStore (the partial unique
// index keeps it to one).
func (s *Store) OpenRequestID(ctx context.Context, doc string) (string, error) {
	var ids []string
	if err := s.db.NewRaw("SELECT id FROM hps_requests WHERE document_number = ? AND status IN "+openStatusesSQL, doc).
		Scan(ctx, &ids); err != nil && !isNoRows(err) {
		return "", database.Translate(err)
	}
	if len(ids) == 0 {
		return "", errs.NotFound("Open HPS request for this document number")
	}
	return ids[0], nil
}
