package identity

import (
	"context"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/errs"
)

// AuditRecord is an audit log entry as read back, with the e-mail of the
// user who acted (empty for system actors and deleted users).
type AuditRecord struct {
	audit.Entry
	UserEmail string
}

// AuditQuery selects audit entries, newest first.
type AuditQuery struct {
	// Owner restricts the entries to those by this user (the caller's
	// scope); the service sets it, clients cannot lift it.
	Owner *int64
	// UserID, Action, TableName and RecordID are the client's filters.
	UserID    *int64
	Action    string
	TableName string
	RecordID  string
	// ID selects one entry.
	ID string
	// Limit 0 returns every match (and the count is their number).
	Limit, Offset int
}

// AuditStore reads the audit log.
type AuditStore interface {
	// ListAuditRecords returns matching entries newest first and their
	// total count; a malformed ID matches nothing.
	ListAuditRecords(ctx context.Context, q AuditQuery) ([]AuditRecord, int, error)
}

// auditOwner is the scope of p over the audit log: nil for everything
// (hps.ver_audit_logs_todos), p's own entries (hps.ver_audit_logs_propios),
// or Forbidden.
func auditOwner(p *Principal) (*int64, error) {
	switch {
	case p.Can(PermVerAuditLogsTodos):
		return nil, nil
	case p.Can(PermVerAuditLogsPropios):
		id := p.User.ID
		return &id, nil
	}
	return nil, errs.Forbidden("You do not have permission to perform this action.")
}

// AuditLog lists the entries p may read that match q. Values are redacted
// again on the way out, for entries imported from elsewhere.
func (s *Service) AuditLog(ctx context.Context, p *Principal, q AuditQuery) ([]AuditRecord, int, error) {
	owner, err := auditOwner(p)
	if err != nil {
		return nil, 0, err
	}
	q.Owner = owner
	recs, n, err := s.store.ListAuditRecords(ctx, q)
	if err != nil {
		return nil, 0, err
	}
	for i := range recs {
		recs[i].OldValues = audit.Redact(recs[i].OldValues)
		recs[i].NewValues = audit.Redact(recs[i].NewValues)
	}
	return recs, n, nil
}

// AuditRecordByID returns one entry p may read; NotFound otherwise.
func (s *Service) AuditRecordByID(ctx context.Context, p *Principal, id string) (*AuditRecord, error) {
	if id == "" {
		return nil, errNotFound
	}
	recs, _, err := s.AuditLog(ctx, p, AuditQuery{ID: id})
	if err != nil {
		return nil, err
	}
	if len(recs) == 0 {
		return nil, errNotFound
	}
	return &recs[0], nil
}
