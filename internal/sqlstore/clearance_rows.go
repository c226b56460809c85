package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/errs"
)

// The rows of clearance requests and the helpers every clearance write
// shares (insert, read for update, status change, notices). The files
// clearance_*.go implement clearance.Store on top of them.

// requestRow maps hps_requests.
type requestRow struct {
	bun.BaseModel `bun:"table:hps_requests,alias:h"`

	ID                     string     `bun:"id,pk"`
	UserID                 *int64     `bun:"user_id"`
	RequestType            string     `bun:"request_type"`
	Status                 string     `bun:"status"`
	FormType               string     `bun:"form_type"`
	TemplateID             *int64     `bun:"template_id"`
	FilledPDF              *string    `bun:"filled_pdf"`
	ResponsePDF            *string    `bun:"response_pdf"`
	DocumentType           string     `bun:"document_type"`
	DocumentNumber         string     `bun:"document_number"`
	BirthDate              time.Time  `bun:"birth_date"`
	FirstName              string     `bun:"first_name"`
	FirstLastName          string     `bun:"first_last_name"`
	SecondLastName         string     `bun:"second_last_name"`
	Nationality            string     `bun:"nationality"`
	BirthPlace             string     `bun:"birth_place"`
	Email                  string     `bun:"email"`
	Phone                  string     `bun:"phone"`
	SubmittedByID          *int64     `bun:"submitted_by_id"`
	SubmittedAt            *time.Time `bun:"submitted_at"`
	ApprovedByID           *int64     `bun:"approved_by_id"`
	ApprovedAt             *time.Time `bun:"approved_at"`
	ExpiresAt              *time.Time `bun:"expires_at"`
	Notes                  string     `bun:"notes"`
	SecurityClearanceLevel string     `bun:"security_clearance_level"`
	GovernmentExpediente   string     `bun:"government_expediente"`
	CompanyName            string     `bun:"company_name"`
	CompanyNIF             string     `bun:"company_nif"`
	InternalCode           string     `bun:"internal_code"`
	JobPosition            string     `bun:"job_position"`
	AutoProcessed          bool       `bun:"auto_processed"`
	SourcePDFFilename      string     `bun:"source_pdf_filename"`
	AutoProcessedAt        *time.Time `bun:"auto_processed_at"`
	GovernmentDocumentType string     `bun:"government_document_type"`
	DataSource             string     `bun:"data_source"`
	OriginalStatusText     string     `bun:"original_status_text"`
	Search                 string     `bun:"search"`
	CreatedAt              time.Time  `bun:"created_at"`
	UpdatedAt              time.Time  `bun:"updated_at"`
}

// orNull stores "" as NULL (file keys).
func orNull(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func dateUTC(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	d := time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
	return &d
}

// requestSearch is the folded text ?search= matches: names and document
// number, accents and case removed.
func requestSearch(r *clearance.Request) string {
	return custody.Fold(strings.Join([]string{r.FirstName, r.FirstLastName, r.SecondLastName, r.DocumentNumber}, " "))
}

func newRequestRow(r *clearance.Request) *requestRow {
	return &requestRow{ID: r.ID, UserID: r.UserID, RequestType: string(r.RequestType), Status: string(r.Status), FormType: string(r.FormType),
		TemplateID: r.TemplateID, FilledPDF: orNull(r.FilledPDF), ResponsePDF: orNull(r.ResponsePDF),
		DocumentType: r.DocumentType, DocumentNumber: r.DocumentNumber, BirthDate: *dateUTC(&r.BirthDate),
		FirstName: r.FirstName, FirstLastName: r.FirstLastName, SecondLastName: r.SecondLastName, Nationality: r.Nationality,
		BirthPlace: r.BirthPlace, Email: r.Email, Phone: r.Phone,
		SubmittedByID: r.SubmittedByID, SubmittedAt: utcPtr(r.SubmittedAt), ApprovedByID: r.ApprovedByID, ApprovedAt: utcPtr(r.ApprovedAt),
		ExpiresAt: dateUTC(r.ExpiresAt), Notes: r.Notes,
		SecurityClearanceLevel: r.SecurityClearanceLevel, GovernmentExpediente: r.GovernmentExpediente, CompanyName: r.CompanyName,
		CompanyNIF: r.CompanyNIF, InternalCode: r.InternalCode, JobPosition: r.JobPosition, AutoProcessed: r.AutoProcessed,
		SourcePDFFilename: r.SourcePDFFilename, AutoProcessedAt: utcPtr(r.AutoProcessedAt), GovernmentDocumentType: r.GovernmentDocumentType,
		DataSource: r.DataSource, OriginalStatusText: r.OriginalStatusText, Search: requestSearch(r),
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

func (row *requestRow) request() *clearance.Request {
	r := &clearance.Request{ID: row.ID, UserID: row.UserID, RequestType: clearance.RequestType(row.RequestType), Status: clearance.Status(row.Status),
		FormType: clearance.FormType(row.FormType), TemplateID: row.TemplateID, FilledPDF: deref(row.FilledPDF), ResponsePDF: deref(row.ResponsePDF),
		DocumentType: row.DocumentType, DocumentNumber: row.DocumentNumber, BirthDate: row.BirthDate.UTC(),
		FirstName: row.FirstName, FirstLastName: row.FirstLastName, SecondLastName: row.SecondLastName, Nationality: row.Nationality,
		BirthPlace: row.BirthPlace, Email: row.Email, Phone: row.Phone,
		SubmittedByID: row.SubmittedByID, SubmittedAt: utcPtr(row.SubmittedAt), ApprovedByID: row.ApprovedByID, ApprovedAt: utcPtr(row.ApprovedAt),
		ExpiresAt: dateUTC(row.ExpiresAt), Notes: row.Notes,
		SecurityClearanceLevel: row.SecurityClearanceLevel, GovernmentExpediente: row.GovernmentExpediente, CompanyName: row.CompanyName,
		CompanyNIF: row.CompanyNIF, InternalCode: row.InternalCode, JobPosition: row.JobPosition, AutoProcessed: row.AutoProcessed,
		SourcePDFFilename: row.SourcePDFFilename, AutoProcessedAt: utcPtr(row.AutoProcessedAt), GovernmentDocumentType: row.GovernmentDocumentType,
		DataSource: row.DataSource, OriginalStatusText: row.OriginalStatusText, CreatedAt: row.CreatedAt.UTC(), UpdatedAt: row.UpdatedAt.UTC()}
	return r
}

// requestAudit is what an audit entry records of a request: the workflow
// fields, not the personal data (the entry says which request).
func requestAudit(r *clearance.Request) map[string]any {
	m := map[string]any{"status": string(r.Status), "request_type": string(r.RequestType), "form_type": string(r.FormType),
		"user_id": r.UserID, "document_number": r.DocumentNumber}
	if r.ExpiresAt != nil {
		m["expires_at"] = r.ExpiresAt.Format(time.DateOnly)
	}
	if r.Notes != "" {
		m["notes"] = r.Notes
	}
	return m
}

// errOpenRequest is the one-open-request rule's answer.
var errOpenRequest = &errs.Error{Kind: errs.KindConflict, Code: "open_request_exists",
	Message: "Esta persona ya tiene una solicitud HPS abierta (pendiente, esperando DPS o enviada)."}

// insertRequest writes a new request. The partial unique indexes make the
// one-open-request rule race-free; their violation is errOpenRequest.
func insertRequest(ctx context.Context, tx bun.Tx, r *clearance.Request) error {
	if _, err := tx.NewInsert().Model(newRequestRow(r)).Exec(ctx); err != nil {
		if database.IsUnique(err, "hps_requests_open") || database.IsUnique(err, "") {
			return errOpenRequest
		}
		return err
	}
	return nil
}

// updateRequest writes every column of r back (updated_at = now).
func updateRequest(ctx context.Context, tx bun.Tx, r *clearance.Request, now time.Time) error {
	r.UpdatedAt = now
	row := newRequestRow(r)
	_, err := tx.NewUpdate().Model(row).ExcludeColumn("id", "created_at").WherePK().Exec(ctx)
	if err != nil && database.IsUnique(err, "") {
		return errOpenRequest
	}
	return err
}

// enqueueNotices queues the e-mails of a change in the change's
// transaction: they are sent if and only if it commits.
func (s *Store) enqueueNotices(ctx context.Context, tx bun.Tx, ns []clearance.Notice) error {
	if len(ns) == 0 {
		return nil
	}
	if s.mailer == nil {
		return errs.Internal(errNoMailer)
	}
	for _, n := range ns {
		if err := s.mailer.EnqueueTx(ctx, tx, n.To, n.Template, n.Data, n.Key); err != nil {
			return err
		}
	}
	return nil
}
