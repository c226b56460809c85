package httpapi

import (
	"context"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// The audit log (Django /api/hps/audit-logs/). The legacy list was not
// filtered; here hps.ver_audit_logs_todos reads every entry and
// hps.ver_audit_logs_propios only the caller's own (filtered in SQL).

// AuditLogBody is one entry in the legacy HpsAuditLog shape.
type AuditLogBody struct {
	ID        string         `json:"id"`
	User      *int64         `json:"user" doc:"Id of the user who acted; null for the system"`
	UserEmail *string        `json:"user_email"`
	Action    string         `json:"action"`
	TableName string         `json:"table_name"`
	RecordID  *string        `json:"record_id"`
	OldValues map[string]any `json:"old_values"`
	NewValues map[string]any `json:"new_values"`
	IPAddress *string        `json:"ip_address"`
	UserAgent string         `json:"user_agent"`
	CreatedAt string         `json:"created_at"`
}

func auditLogBody(r *identity.AuditRecord) AuditLogBody {
	return AuditLogBody{ID: r.ID, User: r.UserID, UserEmail: nonEmpty(r.UserEmail), Action: r.Action, TableName: r.TableName,
		RecordID: nonEmpty(r.RecordID), OldValues: r.OldValues, NewValues: r.NewValues, IPAddress: nonEmpty(r.IP),
		UserAgent: r.UserAgent, CreatedAt: isoTime(r.CreatedAt)}
}

var auditReaders = AnyPermission(identity.PermVerAuditLogsTodos, identity.PermVerAuditLogsPropios)

func (s *Server) registerAudit() {
	tags := []string{"audit"}
	Register(s.API, huma.Operation{OperationID: "audit-logs-list", Method: http.MethodGet, Path: "/api/hps/audit-logs/", Tags: tags,
		Summary: "Audit entries, newest first: all of them, or only the caller's own"}, auditReaders,
		func(ctx context.Context, in *struct {
			PageParams
			Action    string `query:"action"`
			TableName string `query:"table_name"`
			RecordID  string `query:"record_id"`
			UserID    string `query:"user_id" doc:"Id of the user who acted"`
		}) (*struct{ Body List[AuditLogBody] }, error) {
			q := identity.AuditQuery{Action: in.Action, TableName: in.TableName, RecordID: in.RecordID, Limit: in.Limit(), Offset: in.Offset()}
			if v := strings.TrimSpace(in.UserID); v != "" {
				id, err := strconv.ParseInt(v, 10, 64)
				if err != nil {
					return nil, errs.Field("user_id", "A valid integer is required.")
				}
				q.UserID = &id
			}
			recs, n, err := s.deps.Identity.AuditLog(ctx, PrincipalFrom(ctx), q)
			if err != nil {
				return nil, err
			}
			if err := CheckPage(in.PageParams, n); err != nil {
				return nil, err
			}
			items := make([]AuditLogBody, len(recs))
			for i := range recs {
				items[i] = auditLogBody(&recs[i])
			}
			return &struct{ Body List[AuditLogBody] }{Body: NewList(items, in.PageParams, n, RequestURL(ctx))}, nil
		})
	Register(s.API, huma.Operation{OperationID: "audit-logs-get", Method: http.MethodGet, Path: "/api/hps/audit-logs/{id}/", Tags: tags,
		Summary: "One audit entry the caller may read"}, auditReaders,
		func(ctx context.Context, in *struct {
			ID string `path:"id"`
		}) (*struct{ Body AuditLogBody }, error) {
			r, err := s.deps.Identity.AuditRecordByID(ctx, PrincipalFrom(ctx), in.ID)
			if err != nil {
				return nil, err
			}
			return &struct{ Body AuditLogBody }{Body: auditLogBody(r)}, nil
		})
}
