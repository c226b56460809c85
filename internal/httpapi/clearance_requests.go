package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// HPS requests: the Django routes under /api/hps/requests/ and the
// FastAPI ones under /api/v1/hps/, on one service. Every read is within
// the caller's scope (all / the teams they lead / their own); every status
// change goes through the state machine (docs/clearance.md).

// HpsRequest is a request in the Django shape (HpsRequestSerializer):
// every model field plus the computed ones.
type HpsRequest struct {
	ID          string  `json:"id"`
	User        *int64  `json:"user"`
	UserID      *int64  `json:"user_id"`
	RequestType string  `json:"request_type"`
	Status      string  `json:"status"`
	FormType    string  `json:"form_type"`
	Type        string  `json:"type" doc:"Legacy name of form_type"`
	Template    *int64  `json:"template"`
	TemplateID  *int64  `json:"template_id" doc:"Alias of template (the HPS frontend's transfer page reads it)"`
	FilledPDF   *string `json:"filled_pdf"`
	ResponsePDF *string `json:"response_pdf"`
	HpsApplicant
	SubmittedBy            *int64  `json:"submitted_by"`
	SubmittedAt            *string `json:"submitted_at"`
	ApprovedBy             *int64  `json:"approved_by"`
	ApprovedAt             *string `json:"approved_at"`
	ExpiresAt              *string `json:"expires_at"`
	Notes                  string  `json:"notes"`
	SecurityClearanceLevel string  `json:"security_clearance_level"`
	GovernmentExpediente   string  `json:"government_expediente"`
	CompanyName            string  `json:"company_name"`
	CompanyNIF             string  `json:"company_nif"`
	InternalCode           string  `json:"internal_code"`
	JobPosition            string  `json:"job_position"`
	AutoProcessed          bool    `json:"auto_processed"`
	SourcePDFFilename      string  `json:"source_pdf_filename"`
	AutoProcessedAt        *string `json:"auto_processed_at"`
	GovernmentDocumentType string  `json:"government_document_type"`
	DataSource             string  `json:"data_source"`
	OriginalStatusText     string  `json:"original_status_text"`
	CreatedAt              string  `json:"created_at"`
	UpdatedAt              string  `json:"updated_at"`
	IsExpired              bool    `json:"is_expired"`
	CanBeApproved          bool    `json:"can_be_approved" doc:"Submitted and not expired: the state from which an approval is possible"`
	FilledPDFURL           *string `json:"filled_pdf_url"`
	ResponsePDFURL         *string `json:"response_pdf_url"`
	TemplatePDFURL         *string `json:"template_pdf_url"`
	UserEmail              *string `json:"user_email"`
	UserFullName           *string `json:"user_full_name"`
	SubmittedByEmail       *string `json:"submitted_by_email"`
	ApprovedByEmail        *string `json:"approved_by_email"`
}

// HpsApplicant is the applicant's data, the same in both shapes.
type HpsApplicant struct {
	DocumentType   string `json:"document_type"`
	DocumentNumber string `json:"document_number"`
	BirthDate      string `json:"birth_date"`
	FirstName      string `json:"first_name"`
	FirstLastName  string `json:"first_last_name"`
	SecondLastName string `json:"second_last_name"`
	Nationality    string `json:"nationality"`
	BirthPlace     string `json:"birth_place"`
	Email          string `json:"email"`
	Phone          string `json:"phone"`
}

func hpsApplicant(r *clearance.Request) HpsApplicant {
	return HpsApplicant{DocumentType: r.DocumentType, DocumentNumber: r.DocumentNumber, BirthDate: r.BirthDate.Format(time.DateOnly),
		FirstName: r.FirstName, FirstLastName: r.FirstLastName, SecondLastName: r.SecondLastName, Nationality: r.Nationality,
		BirthPlace: r.BirthPlace, Email: r.Email, Phone: r.Phone}
}

// V1HPSUser is a person in the FastAPI shape.
type V1HPSUser struct {
	ID        string `json:"id"`
	Email     string `json:"email"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	FullName  string `json:"full_name"`
}

// V1HPSRequest is a request in the FastAPI shape (HPSRequestResponse):
// no government fields, and never a password.
type V1HPSRequest struct {
	ID          string  `json:"id"`
	UserID      *string `json:"user_id"`
	RequestType string  `json:"request_type"`
	Status      string  `json:"status"`
	Type        string  `json:"type"`
	HpsApplicant
	SubmittedBy     *string    `json:"submitted_by"`
	SubmittedAt     *string    `json:"submitted_at"`
	ApprovedBy      *string    `json:"approved_by"`
	ApprovedAt      *string    `json:"approved_at"`
	ExpiresAt       *string    `json:"expires_at"`
	Notes           string     `json:"notes"`
	CreatedAt       string     `json:"created_at"`
	UpdatedAt       string     `json:"updated_at"`
	IsExpired       bool       `json:"is_expired"`
	CanBeApproved   bool       `json:"can_be_approved"`
	User            *V1HPSUser `json:"user"`
	SubmittedByUser *V1HPSUser `json:"submitted_by_user"`
	ApprovedByUser  *V1HPSUser `json:"approved_by_user"`
	UserCreated     *bool      `json:"user_created,omitempty"`
}

// HpsRequestStats is GET /api/hps/requests/stats/ and /api/v1/hps/stats.
type HpsRequestStats struct {
	TotalRequests      int            `json:"total_requests"`
	PendingRequests    int            `json:"pending_requests"`
	WaitingDPSRequests int            `json:"waiting_dps_requests"`
	SubmittedRequests  int            `json:"submitted_requests"`
	ApprovedRequests   int            `json:"approved_requests"`
	RejectedRequests   int            `json:"rejected_requests"`
	ExpiredRequests    int            `json:"expired_requests"`
	RequestsByType     map[string]int `json:"requests_by_type"`
	ExpiringSoon       int            `json:"expiring_soon" doc:"Approved requests expiring within the largest reminder distance"`
}

// V1HPSStats is GET /api/v1/hps/stats: the counts and the five newest
// requests (without their people, as the legacy).
type V1HPSStats struct {
	HpsRequestStats
	RecentRequests []V1HPSRequest `json:"recent_requests"`
}

// V1HPSList is the FastAPI paginated list.
type V1HPSList struct {
	Requests []V1HPSRequest `json:"requests"`
	Total    int            `json:"total"`
	Page     int            `json:"page"`
	PerPage  int            `json:"per_page"`
	Pages    int            `json:"pages"`
}

func dateStr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := t.Format(time.DateOnly)
	return &s
}

func timeStr(t *time.Time) *string {
	if t == nil {
		return nil
	}
	s := isoTime(*t)
	return &s
}

func strPtr(s string) *string { return &s }

func personID(id *int64) *int64 {
	if id == nil {
		return nil
	}
	v := *id
	return &v
}

// absURL makes path absolute on the request's host, as DRF file URLs.
func absURL(ctx context.Context, path string) *string {
	if u := RequestURL(ctx); u != nil && u.Host != "" {
		return strPtr(u.Scheme + "://" + u.Host + path)
	}
	return &path
}

func hpsRequest(ctx context.Context, r *clearance.Request, today time.Time) HpsRequest {
	out := HpsRequest{ID: r.ID, User: r.UserID, UserID: r.UserID, RequestType: string(r.RequestType), Status: string(r.Status),
		FormType: string(r.FormType), Type: string(r.FormType), Template: r.TemplateID, TemplateID: r.TemplateID, HpsApplicant: hpsApplicant(r),
		SubmittedBy: personID(r.SubmittedByID), SubmittedAt: timeStr(r.SubmittedAt),
		ApprovedBy: personID(r.ApprovedByID), ApprovedAt: timeStr(r.ApprovedAt), ExpiresAt: dateStr(r.ExpiresAt), Notes: r.Notes,
		SecurityClearanceLevel: r.SecurityClearanceLevel, GovernmentExpediente: r.GovernmentExpediente, CompanyName: r.CompanyName,
		CompanyNIF: r.CompanyNIF, InternalCode: r.InternalCode, JobPosition: r.JobPosition, AutoProcessed: r.AutoProcessed,
		SourcePDFFilename: r.SourcePDFFilename, AutoProcessedAt: timeStr(r.AutoProcessedAt), GovernmentDocumentType: r.GovernmentDocumentType,
		DataSource: r.DataSource, OriginalStatusText: r.OriginalStatusText, CreatedAt: isoTime(r.CreatedAt), UpdatedAt: isoTime(r.UpdatedAt),
		IsExpired: r.IsExpired(today), CanBeApproved: r.CanBeApproved(today)}
	base := "/api/hps/requests/" + r.ID
	if r.FilledPDF != "" {
		out.FilledPDFURL = absURL(ctx, base+"/filled-pdf/")
		out.FilledPDF = out.FilledPDFURL
	}
	if r.ResponsePDF != "" {
		out.ResponsePDFURL = absURL(ctx, base+"/response-pdf/")
		out.ResponsePDF = out.ResponsePDFURL
	}
	if r.TemplateID != nil {
		out.TemplatePDFURL = absURL(ctx, "/api/hps/templates/"+strconv.FormatInt(*r.TemplateID, 10)+"/pdf/")
	}
	if r.User != nil {
		out.UserEmail, out.UserFullName = strPtr(r.User.Email), strPtr(r.User.FullName())
	}
	if r.SubmittedBy != nil {
		out.SubmittedByEmail = strPtr(r.SubmittedBy.Email)
	}
	if r.ApprovedBy != nil {
		out.ApprovedByEmail = strPtr(r.ApprovedBy.Email)
	}
	return out
}

func v1Person(p *clearance.Person) *V1HPSUser {
	if p == nil {
		return nil
	}
	return &V1HPSUser{ID: strconv.FormatInt(p.ID, 10), Email: p.Email, FirstName: p.FirstName, LastName: p.LastName, FullName: p.FullName()}
}

func idStr(id *int64) *string {
	if id == nil {
		return nil
	}
	return strPtr(strconv.FormatInt(*id, 10))
}

func v1HPSRequest(r *clearance.Request, today time.Time) V1HPSRequest {
	return V1HPSRequest{ID: r.ID, UserID: idStr(r.UserID), RequestType: string(r.RequestType), Status: string(r.Status), Type: string(r.FormType),
		HpsApplicant: hpsApplicant(r), SubmittedBy: idStr(r.SubmittedByID), SubmittedAt: timeStr(r.SubmittedAt),
		ApprovedBy: idStr(r.ApprovedByID), ApprovedAt: timeStr(r.ApprovedAt), ExpiresAt: dateStr(r.ExpiresAt), Notes: r.Notes,
		CreatedAt: isoTime(r.CreatedAt), UpdatedAt: isoTime(r.UpdatedAt), IsExpired: r.IsExpired(today), CanBeApproved: r.CanBeApproved(today),
		User: v1Person(r.User), SubmittedByUser: v1Person(r.SubmittedBy), ApprovedByUser: v1Person(r.ApprovedBy)}
}

func hpsStats(st *clearance.RequestStats) HpsRequestStats {
	return HpsRequestStats{TotalRequests: st.Total, PendingRequests: st.Pending, WaitingDPSRequests: st.WaitingDPS,
		SubmittedRequests: st.Submitted, ApprovedRequests: st.Approved, RejectedRequests: st.Rejected, ExpiredRequests: st.Expired,
		RequestsByType: map[string]int{"new": st.New, "renewal": st.Renewal, "transfer": st.Transfer}, ExpiringSoon: st.ExpiringSoon}
}

// hpsScalar is a JSON scalar (string, number or null) a client may send
// for an id or a code; it never fails to decode, the server validates.
type hpsScalar struct {
	set, null bool
	text      string
}

// UnmarshalJSON keeps the value's text.
func (v *hpsScalar) UnmarshalJSON(b []byte) error {
	v.set = true
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		v.null = true
	case len(b) > 0 && b[0] == '"':
		return json.Unmarshal(b, &v.text)
	default:
		v.text = string(b)
	}
	return nil
}

// Schema documents any scalar.
func (hpsScalar) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Description: "A string, number or null (validated by the server, which names the field when it is wrong)."}
}

// hpsRequestWrite is the create body (legacy HPSRequestCreate and the
// writable part of HpsRequestSerializer).
type hpsRequestWrite struct {
	RequestType    hpsScalar `json:"request_type" doc:"new, renewal or transfer"`
	DocumentType   hpsScalar `json:"document_type" doc:"As the forms send it (DNI / NIF, NIE, Tarjeta Residente, Pasaporte, Otros), the government code (206–210) or a legacy spelling (DNI, PASSPORT); stored as the form's value"`
	DocumentNumber hpsScalar `json:"document_number"`
	BirthDate      hpsScalar `json:"birth_date" doc:"YYYY-MM-DD; the applicant must be 18 or older"`
	FirstName      hpsScalar `json:"first_name"`
	FirstLastName  hpsScalar `json:"first_last_name"`
	SecondLastName hpsScalar `json:"second_last_name"`
	Nationality    hpsScalar `json:"nationality" doc:"As the forms send it (ESPAÑA, FRANCIA, …), the government code (1–189) or a legacy spelling (Española); stored as the form's value"`
	BirthPlace     hpsScalar `json:"birth_place"`
	Email          hpsScalar `json:"email"`
	Phone          hpsScalar `json:"phone"`
	UserID         hpsScalar `json:"user_id" doc:"The applicant's account; default: the account with this e-mail, else the caller"`
	User           hpsScalar `json:"user" doc:"Alias of user_id (Django)"`
}

func (w *hpsRequestWrite) input() (clearance.CreateInput, error) {
	in := clearance.CreateInput{RequestInput: clearance.RequestInput{RequestType: clearance.RequestType(w.RequestType.text),
		DocumentType: w.DocumentType.text, DocumentNumber: w.DocumentNumber.text, BirthDate: w.BirthDate.text, FirstName: w.FirstName.text,
		FirstLastName: w.FirstLastName.text, SecondLastName: w.SecondLastName.text, Nationality: w.Nationality.text,
		BirthPlace: w.BirthPlace.text, Email: w.Email.text, Phone: w.Phone.text}}
	uid, field := w.UserID, "user_id"
	if !uid.set || uid.null || uid.text == "" {
		uid, field = w.User, "user"
	}
	if uid.set && !uid.null && strings.TrimSpace(uid.text) != "" {
		id, err := strconv.ParseInt(strings.TrimSpace(uid.text), 10, 64)
		if err != nil || id <= 0 {
			return in, errs.Field(field, "Indique el id numérico de un usuario.")
		}
		in.UserID = &id
	}
	return in, nil
}

// formError gives a form's 400 a detail line too, naming each bad field
// with the first sentence of its message: the HPS frontend shows only
// `detail` (the Django public route answered {detail: "Error de
// validación", errors}), while the per-field lists stay for other clients.
func formError(err error) error {
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.KindInvalid || len(e.Fields) == 0 || e.Message != "" {
		return err
	}
	names := make([]string, 0, len(e.Fields))
	for k := range e.Fields {
		names = append(names, k)
	}
	slices.Sort(names)
	parts := make([]string, 0, len(names))
	for _, k := range names {
		msg := k
		if l, ok := e.Fields[k].([]string); ok && len(l) > 0 {
			first := l[0]
			if i := strings.Index(first, ". "); i >= 0 {
				first = first[:i+1]
			}
			msg += ": " + first
		}
		parts = append(parts, msg)
	}
	c := *e
	c.Message = "Error de validación — " + strings.Join(parts, " ")
	return &c
}

// HPSRequestFilters are the list filters both APIs take. Every value is checked:
// a wrong one is a 400 naming the parameter, never silently ignored.
type HPSRequestFilters struct {
	Status         string `query:"status" doc:"pending, waiting_dps, submitted, approved, rejected or expired (comma-separated for several)"`
	RequestType    string `query:"request_type" doc:"new, renewal or transfer"`
	FormType       string `query:"form_type" doc:"solicitud or traslado (also traspaso, transfer, …)"`
	HPSType        string `query:"hps_type" doc:"Alias of form_type"`
	User           string `query:"user" doc:"Applicant's user id"`
	UserIDParam    string `query:"user_id" doc:"Alias of user"`
	Team           string `query:"team" doc:"Team id: requests of its active members"`
	TeamIDParam    string `query:"team_id" doc:"Alias of team"`
	ExpiringBefore string `query:"expiring_before" doc:"YYYY-MM-DD: expiry date on or before it"`
	Expiring       string `query:"expiring" doc:"Days: approved requests expiring from today to today + days"`
	Search         string `query:"search" doc:"Names or document number, accents and case ignored"`
}

func (f *HPSRequestFilters) query(svc *clearance.Service) (clearance.RequestQuery, error) {
	var q clearance.RequestQuery
	fe := errs.FieldErrors{}
	if v := strings.TrimSpace(f.Status); v != "" {
		for _, part := range strings.Split(v, ",") {
			st := clearance.Status(strings.TrimSpace(part))
			if !st.Valid() {
				fe.Add("status", "«"+part+"» no es un estado válido (pending, waiting_dps, submitted, approved, rejected, expired).")
				break
			}
			q.Statuses = append(q.Statuses, st)
		}
	}
	if v := strings.TrimSpace(f.RequestType); v != "" {
		if !clearance.RequestType(v).Valid() {
			fe.Add("request_type", "Debe ser new, renewal o transfer.")
		}
		q.RequestType = clearance.RequestType(v)
	}
	ft, ftField := strings.TrimSpace(f.FormType), "form_type"
	if ft == "" {
		ft, ftField = strings.TrimSpace(f.HPSType), "hps_type"
	}
	if ft != "" {
		n, ok := clearance.NormalizeFormType(strings.ToLower(ft))
		if !ok {
			fe.Add(ftField, "Debe ser solicitud o traslado.")
		}
		q.FormType = n
	}
	u, uField := strings.TrimSpace(f.User), "user"
	if u == "" {
		u, uField = strings.TrimSpace(f.UserIDParam), "user_id"
	}
	if u != "" {
		id, err := strconv.ParseInt(u, 10, 64)
		if err != nil || id <= 0 {
			fe.Add(uField, "Indique el id numérico de un usuario.")
		}
		q.UserID = &id
	}
	team, tField := strings.TrimSpace(f.Team), "team"
	if team == "" {
		team, tField = strings.TrimSpace(f.TeamIDParam), "team_id"
	}
	if team != "" {
		if !clearance.ValidID(strings.ToLower(team)) {
			fe.Add(tField, "Indique el id (UUID) de un equipo.")
		}
		q.TeamID = strings.ToLower(team)
	}
	if v := strings.TrimSpace(f.ExpiringBefore); v != "" {
		d, err := time.Parse(time.DateOnly, v)
		if err != nil {
			fe.Add("expiring_before", "Fecha no válida; use AAAA-MM-DD.")
		}
		q.ExpiresBefore = &d
	}
	if v := strings.TrimSpace(f.Expiring); v != "" {
		days, err := strconv.Atoi(v)
		if err != nil || days < 0 || days > 3650 {
			fe.Add("expiring", "Indique un número de días entre 0 y 3650.")
		}
		from, to := svc.ExpiringWindow(days)
		q.ExpiringFrom, q.ExpiringTo = &from, &to
	}
	if len([]rune(f.Search)) > 100 {
		fe.Add("search", "Como máximo 100 caracteres.")
	}
	q.Search = f.Search
	return q, fe.Err()
}

// HPSPageParams are the Django HPS lists' paging parameters: DRF's page
// and page_size, and per_page, the name the HPS frontend sends.
type HPSPageParams struct {
	PageParams
	PerPage int `query:"per_page" minimum:"0" maximum:"1000" doc:"Alias of page_size (the HPS frontend's name)"`
}

// pageParams resolves the alias (page_size wins).
func (p HPSPageParams) pageParams() PageParams {
	if p.PageSize == 0 {
		p.PageSize = p.PerPage
	}
	return p.PageParams
}

type hpsListInput struct {
	HPSPageParams
	HPSRequestFilters
}

type hpsTeamListInput struct {
	TeamID string `path:"team_id" doc:"Team id (UUID)"`
	HPSPageParams
	HPSRequestFilters
}

type hpsIDInput struct {
	ID string `path:"id" doc:"Request id (UUID)"`
}

type hpsCreateInput struct {
	Body hpsRequestWrite
}

// hpsDate is an optional YYYY-MM-DD (or ISO date-time: its date part).
func hpsDate(field, v string) (*time.Time, error) {
	v = strings.TrimSpace(v)
	if v == "" {
		return nil, nil
	}
	if len(v) > 10 && (v[10] == 'T' || v[10] == ' ') {
		v = v[:10]
	}
	d, err := time.Parse(time.DateOnly, v)
	if err != nil {
		return nil, errs.Field(field, "Fecha no válida; use AAAA-MM-DD.")
	}
	return &d, nil
}

// hpsTransitionBody is the Django approve/reject/submit body.
type hpsTransitionBody struct {
	ExpiresAt string `json:"expires_at,omitempty" doc:"Approve: expiry date (YYYY-MM-DD, in the future); default today + the configured years"`
	Notes     string `json:"notes,omitempty" doc:"Notes; for reject, the reason (none: recorded as \"Sin motivo indicado\")"`
	Reason    string `json:"reason,omitempty" doc:"Reject: the reason (alias of notes)"`
}

// HPSTransitionQuery is the same input in the query string: the HPS
// frontend sends approve's expires_at and notes, and reject's notes, there
// (FastAPI style) even on the Django paths. A value in the body wins.
type HPSTransitionQuery struct {
	QExpiresAt string `query:"expires_at" doc:"Approve: expiry date (YYYY-MM-DD, in the future); as in the body"`
	QNotes     string `query:"notes" doc:"Notes; for reject, the reason; as in the body"`
	QReason    string `query:"reason" doc:"Reject: the reason (alias of notes); as in the body"`
}

// merge is the body completed by the query.
func (q *HPSTransitionQuery) merge(b *hpsTransitionBody) *hpsTransitionBody {
	out := hpsTransitionBody{ExpiresAt: q.QExpiresAt, Notes: q.QNotes, Reason: q.QReason}
	if b != nil {
		if strings.TrimSpace(b.ExpiresAt) != "" {
			out.ExpiresAt = b.ExpiresAt
		}
		if strings.TrimSpace(b.Notes) != "" {
			out.Notes = b.Notes
		}
		if strings.TrimSpace(b.Reason) != "" {
			out.Reason = b.Reason
		}
	}
	return &out
}

type hpsTransitionInput struct {
	ID string `path:"id" doc:"Request id (UUID)"`
	HPSTransitionQuery
	Body *hpsTransitionBody
}

type hpsApproveEmailInput struct {
	Email string `path:"email" doc:"The applicant's account e-mail"`
	HPSTransitionQuery
	Body *hpsTransitionBody
}

// hpsEditBody is PUT/PATCH of a request: a status (through the state
// machine), notes, an expiry date.
type hpsEditBody struct {
	Status    *string `json:"status,omitempty" doc:"New status; the state machine decides (docs/clearance.md)"`
	Notes     *string `json:"notes,omitempty"`
	ExpiresAt *string `json:"expires_at,omitempty" doc:"YYYY-MM-DD, in the future"`
}

func (b *hpsEditBody) input() (clearance.EditInput, error) {
	var in clearance.EditInput
	if b == nil {
		return in, nil
	}
	if b.Status != nil {
		st := clearance.Status(strings.TrimSpace(*b.Status))
		in.Status = &st
	}
	in.Notes = b.Notes
	if b.ExpiresAt != nil {
		d, err := hpsDate("expires_at", *b.ExpiresAt)
		if err != nil {
			return in, err
		}
		in.ExpiresAt = d
	}
	return in, nil
}

type hpsEditInput struct {
	ID   string `path:"id" doc:"Request id (UUID)"`
	Body *hpsEditBody
}

type v1ListInput struct {
	Page    string `query:"page" doc:"Page number (default 1)"`
	PerPage string `query:"per_page" doc:"Items per page (default 10, at most 1000)"`
	HPSRequestFilters
}

type hpsOutput struct{ Body HpsRequest }
type v1HPSOutput struct{ Body V1HPSRequest }

func (in *hpsTransitionBody) transition() (clearance.TransitionInput, error) {
	if in == nil {
		return clearance.TransitionInput{}, nil
	}
	d, err := hpsDate("expires_at", in.ExpiresAt)
	if err != nil {
		return clearance.TransitionInput{}, err
	}
	return clearance.TransitionInput{Notes: in.Notes, Reason: in.Reason, ExpiresAt: d}, nil
}

func (s *Server) registerHPSRequests() {
	svc := s.deps.Clearance
	tags := []string{"hps-requests"}
	v1tags := []string{"hps-requests", "fastapi"}
	manage := Permission(identity.PermGestionarSolicitudes)
	today := func() time.Time { return svc.Today() }

	// list answers a page, or the whole list. A page past the end is the
	// last page (DRF answered 404 "Invalid page."), and the answer says
	// which page it is: the HPS frontend's pager keeps the page it asked
	// for after a change shrinks the list, and a 404 left it stranded.
	list := func(ctx context.Context, q clearance.RequestQuery, hp HPSPageParams) (*struct{ Body List[HpsRequest] }, error) {
		p := hp.pageParams()
		q.Limit, q.Offset = p.Limit(), p.Offset()
		rs, n, err := svc.ListRequests(ctx, PrincipalFrom(ctx), q)
		if err != nil {
			return nil, err
		}
		if p.Paged() && p.Page > 1 && p.Offset() >= n {
			p.Page = max(1, (n+p.Limit()-1)/p.Limit())
			if n > 0 {
				q.Offset = p.Offset()
				if rs, n, err = svc.ListRequests(ctx, PrincipalFrom(ctx), q); err != nil {
					return nil, err
				}
			}
		}
		t := today()
		items := make([]HpsRequest, len(rs))
		for i := range rs {
			items[i] = hpsRequest(ctx, &rs[i], t)
		}
		return &struct{ Body List[HpsRequest] }{Body: NewList(items, p, n, RequestURL(ctx)).WithPage(p.Page)}, nil
	}

	Register(s.API, huma.Operation{OperationID: "hps-requests-list", Method: http.MethodGet, Path: "/api/hps/requests/", Tags: tags,
		Summary: "List the HPS requests the caller may see (all / led teams / own), newest first"}, Authenticated,
		func(ctx context.Context, in *hpsListInput) (*struct{ Body List[HpsRequest] }, error) {
			q, err := in.query(svc)
			if err != nil {
				return nil, err
			}
			return list(ctx, q, in.HPSPageParams)
		})
	Register(s.API, huma.Operation{OperationID: "hps-requests-create", Method: http.MethodPost, Path: "/api/hps/requests/", Tags: tags,
		Summary: "Create an HPS request (own, for a member of a led team, or anyone's with hps.gestionar_solicitudes)", DefaultStatus: http.StatusCreated},
		Authenticated,
		func(ctx context.Context, in *hpsCreateInput) (*hpsOutput, error) {
			ci, err := in.Body.input()
			if err != nil {
				return nil, err
			}
			r, err := svc.CreateRequest(ctx, PrincipalFrom(ctx), ci)
			if err != nil {
				return nil, formError(err)
			}
			return &hpsOutput{Body: hpsRequest(ctx, r, today())}, nil
		})
	Register(s.API, huma.Operation{OperationID: "hps-requests-stats", Method: http.MethodGet, Path: "/api/hps/requests/stats/", Tags: tags,
		Summary: "Counts over the HPS requests the caller may see"}, Authenticated,
		func(ctx context.Context, in *HPSRequestFilters) (*struct{ Body HpsRequestStats }, error) {
			q, err := in.query(svc)
			if err != nil {
				return nil, err
			}
			st, err := svc.Stats(ctx, PrincipalFrom(ctx), q, 0)
			if err != nil {
				return nil, err
			}
			return &struct{ Body HpsRequestStats }{Body: hpsStats(st)}, nil
		})
	Register(s.API, huma.Operation{OperationID: "hps-requests-pending", Method: http.MethodGet, Path: "/api/hps/requests/pending/list/", Tags: tags,
		Summary: "Pending HPS requests the caller may see, oldest first"}, Authenticated,
		func(ctx context.Context, in *HPSPageParams) (*struct{ Body List[HpsRequest] }, error) {
			return list(ctx, clearance.RequestQuery{Statuses: []clearance.Status{clearance.Pending}, Ascending: true}, *in)
		})
	Register(s.API, huma.Operation{OperationID: "hps-requests-submitted", Method: http.MethodGet, Path: "/api/hps/requests/submitted/list/", Tags: tags,
		Summary: "Submitted HPS requests (sent to the government, awaiting its answer) the caller may see",
		Description: "The legacy Django route returned approved and rejected requests despite its name; " +
			"this one returns what the name says (status submitted). Use ?status=approved,rejected for the old answer."}, Authenticated,
		func(ctx context.Context, in *HPSPageParams) (*struct{ Body List[HpsRequest] }, error) {
			return list(ctx, clearance.RequestQuery{Statuses: []clearance.Status{clearance.Submitted}}, *in)
		})
	Register(s.API, huma.Operation{OperationID: "hps-requests-team", Method: http.MethodGet, Path: "/api/hps/requests/team/{team_id}/", Tags: tags,
		Summary: "HPS requests of a team's active members, within the caller's scope"}, Authenticated,
		func(ctx context.Context, in *hpsTeamListInput) (*struct{ Body List[HpsRequest] }, error) {
			in.Team, in.TeamIDParam = in.TeamID, ""
			q, err := in.query(svc)
			if err != nil {
				return nil, err
			}
			return list(ctx, q, in.HPSPageParams)
		})
	Register(s.API, huma.Operation{OperationID: "hps-requests-get", Method: http.MethodGet, Path: "/api/hps/requests/{id}/", Tags: tags,
		Summary: "One HPS request (404 when outside the caller's scope)"}, Authenticated,
		func(ctx context.Context, in *hpsIDInput) (*hpsOutput, error) {
			r, err := svc.Request(ctx, PrincipalFrom(ctx), in.ID)
			if err != nil {
				return nil, err
			}
			return &hpsOutput{Body: hpsRequest(ctx, r, today())}, nil
		})
	edit := func(ctx context.Context, in *hpsEditInput) (*hpsOutput, error) {
		ei, err := in.Body.input()
		if err != nil {
			return nil, err
		}
		r, err := svc.Edit(ctx, PrincipalFrom(ctx), in.ID, ei)
		if err != nil {
			return nil, err
		}
		return &hpsOutput{Body: hpsRequest(ctx, r, today())}, nil
	}
	Register(s.API, huma.Operation{OperationID: "hps-requests-update", Method: http.MethodPut, Path: "/api/hps/requests/{id}/", Tags: tags,
		Summary: "Change a request's status (through the state machine), notes or expiry date"}, Authenticated, edit)
	Register(s.API, huma.Operation{OperationID: "hps-requests-patch", Method: http.MethodPatch, Path: "/api/hps/requests/{id}/", Tags: tags,
		Summary: "Change a request's status (through the state machine), notes or expiry date"}, Authenticated, edit)
	Register(s.API, huma.Operation{OperationID: "hps-requests-delete", Method: http.MethodDelete, Path: "/api/hps/requests/{id}/", Tags: tags,
		Summary: "Delete a request and its files", DefaultStatus: http.StatusNoContent}, manage,
		func(ctx context.Context, in *hpsIDInput) (*struct{}, error) {
			if err := svc.DeleteRequest(ctx, PrincipalFrom(ctx), in.ID); err != nil {
				return nil, err
			}
			return &struct{}{}, nil
		})
	move := func(to clearance.Status) func(context.Context, *hpsTransitionInput) (*hpsOutput, error) {
		return func(ctx context.Context, in *hpsTransitionInput) (*hpsOutput, error) {
			ti, err := in.merge(in.Body).transition()
			if err != nil {
				return nil, err
			}
			r, err := svc.Transition(ctx, PrincipalFrom(ctx), in.ID, to, ti)
			if err != nil {
				return nil, err
			}
			return &hpsOutput{Body: hpsRequest(ctx, r, today())}, nil
		}
	}
	Register(s.API, huma.Operation{OperationID: "hps-requests-approve", Method: http.MethodPost, Path: "/api/hps/requests/{id}/approve/", Tags: tags,
		Summary: "Approve a submitted request (not one's own); sets approver, time and expiry (expires_at, notes in the body or the query)"}, Authenticated, move(clearance.Approved))
	Register(s.API, huma.Operation{OperationID: "hps-requests-reject", Method: http.MethodPost, Path: "/api/hps/requests/{id}/reject/", Tags: tags,
		Summary: "Reject a request (notes = the reason, in the body or the query; none: \"Sin motivo indicado\")"}, Authenticated, move(clearance.Rejected))
	Register(s.API, huma.Operation{OperationID: "hps-requests-submit", Method: http.MethodPost, Path: "/api/hps/requests/{id}/submit/", Tags: tags,
		Summary: "Mark a request as submitted to the government (notes in the body or the query)"}, Authenticated, move(clearance.Submitted))
	Register(s.API, huma.Operation{OperationID: "hps-approve-by-email", Method: http.MethodPost, Path: "/api/hps/approve/{email}/", Tags: tags,
		Summary: "Approve the submitted request of the account with that e-mail"}, Authenticated,
		func(ctx context.Context, in *hpsApproveEmailInput) (*hpsOutput, error) {
			ti, err := in.merge(in.Body).transition()
			if err != nil {
				return nil, err
			}
			r, err := svc.ApproveByEmail(ctx, PrincipalFrom(ctx), in.Email, ti)
			if err != nil {
				return nil, err
			}
			return &hpsOutput{Body: hpsRequest(ctx, r, today())}, nil
		})

	s.registerV1HPSRequests(v1tags, manage)
}

// registerV1HPSRequests serves the FastAPI /api/v1/hps/ request routes.
func (s *Server) registerV1HPSRequests(tags []string, manage Access) {
	svc := s.deps.Clearance
	v1list := func(ctx context.Context, q clearance.RequestQuery) ([]V1HPSRequest, error) {
		rs, _, err := svc.ListRequests(ctx, PrincipalFrom(ctx), q)
		if err != nil {
			return nil, err
		}
		t := svc.Today()
		out := make([]V1HPSRequest, len(rs))
		for i := range rs {
			out[i] = v1HPSRequest(&rs[i], t)
		}
		return out, nil
	}
	Register(s.API, huma.Operation{OperationID: "v1-hps-list", Method: http.MethodGet, Path: "/api/v1/hps/", Tags: tags,
		Summary: "List the HPS requests the caller may see, paginated {requests, total, page, per_page, pages}"}, Authenticated,
		func(ctx context.Context, in *v1ListInput) (*struct{ Body V1HPSList }, error) {
			q, err := in.query(svc)
			fe := errs.FieldErrors{}
			if e, ok := errs.As(err); ok && e.Fields != nil {
				for k, v := range e.Fields {
					fe[k] = v
				}
			} else if err != nil {
				return nil, err
			}
			page, perPage := 1, 10
			if v := strings.TrimSpace(in.Page); v != "" {
				if n, err := strconv.Atoi(v); err != nil || n < 1 {
					fe.Add("page", "Debe ser un entero ≥ 1.")
				} else {
					page = n
				}
			}
			if v := strings.TrimSpace(in.PerPage); v != "" {
				if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 1000 {
					fe.Add("per_page", "Debe ser un entero entre 1 y 1000.")
				} else {
					perPage = n
				}
			}
			if err := fe.Err(); err != nil {
				return nil, err
			}
			q.Limit, q.Offset = perPage, (page-1)*perPage
			rs, total, err := svc.ListRequests(ctx, PrincipalFrom(ctx), q)
			if err != nil {
				return nil, err
			}
			t := svc.Today()
			out := V1HPSList{Requests: make([]V1HPSRequest, len(rs)), Total: total, Page: page, PerPage: perPage,
				Pages: int(math.Ceil(float64(total) / float64(perPage)))}
			for i := range rs {
				out.Requests[i] = v1HPSRequest(&rs[i], t)
			}
			return &struct{ Body V1HPSList }{Body: out}, nil
		})
	Register(s.API, huma.Operation{OperationID: "v1-hps-create", Method: http.MethodPost, Path: "/api/v1/hps/", Tags: tags,
		Summary: "Create an HPS request (FastAPI shape)", DefaultStatus: http.StatusCreated}, Authenticated,
		func(ctx context.Context, in *hpsCreateInput) (*v1HPSOutput, error) {
			ci, err := in.Body.input()
			if err != nil {
				return nil, err
			}
			r, err := svc.CreateRequest(ctx, PrincipalFrom(ctx), ci)
			if err != nil {
				return nil, formError(err)
			}
			return &v1HPSOutput{Body: v1HPSRequest(r, svc.Today())}, nil
		})
	Register(s.API, huma.Operation{OperationID: "v1-hps-stats", Method: http.MethodGet, Path: "/api/v1/hps/stats", Tags: tags,
		Summary: "Counts over the HPS requests the caller may see"}, Authenticated,
		func(ctx context.Context, _ *struct{}) (*struct{ Body V1HPSStats }, error) {
			st, err := svc.Stats(ctx, PrincipalFrom(ctx), clearance.RequestQuery{}, 5)
			if err != nil {
				return nil, err
			}
			out := V1HPSStats{HpsRequestStats: hpsStats(st), RecentRequests: make([]V1HPSRequest, len(st.Recent))}
			t := svc.Today()
			for i := range st.Recent {
				r := v1HPSRequest(&st.Recent[i], t)
				r.User, r.SubmittedByUser, r.ApprovedByUser = nil, nil, nil
				out.RecentRequests[i] = r
			}
			return &struct{ Body V1HPSStats }{Body: out}, nil
		})
	Register(s.API, huma.Operation{OperationID: "v1-hps-pending", Method: http.MethodGet, Path: "/api/v1/hps/pending/list", Tags: tags,
		Summary: "Pending HPS requests the caller may see, oldest first"}, Authenticated,
		func(ctx context.Context, _ *struct{}) (*struct{ Body []V1HPSRequest }, error) {
			out, err := v1list(ctx, clearance.RequestQuery{Statuses: []clearance.Status{clearance.Pending}, Ascending: true})
			return &struct{ Body []V1HPSRequest }{Body: out}, err
		})
	Register(s.API, huma.Operation{OperationID: "v1-hps-submitted", Method: http.MethodGet, Path: "/api/v1/hps/submitted/list", Tags: tags,
		Summary: "Submitted HPS requests the caller may see"}, Authenticated,
		func(ctx context.Context, _ *struct{}) (*struct{ Body []V1HPSRequest }, error) {
			out, err := v1list(ctx, clearance.RequestQuery{Statuses: []clearance.Status{clearance.Submitted}})
			return &struct{ Body []V1HPSRequest }{Body: out}, err
		})
	Register(s.API, huma.Operation{OperationID: "v1-hps-team", Method: http.MethodGet, Path: "/api/v1/hps/team/{team_id}", Tags: tags,
		Summary: "HPS requests of a team's active members, within the caller's scope"}, Authenticated,
		func(ctx context.Context, in *struct {
			TeamID string `path:"team_id" doc:"Team id (UUID)"`
		}) (*struct{ Body []V1HPSRequest }, error) {
			f := HPSRequestFilters{Team: in.TeamID}
			q, err := f.query(svc)
			if err != nil {
				return nil, err
			}
			out, err := v1list(ctx, q)
			return &struct{ Body []V1HPSRequest }{Body: out}, err
		})
	Register(s.API, huma.Operation{OperationID: "v1-hps-get", Method: http.MethodGet, Path: "/api/v1/hps/{id}", Tags: tags,
		Summary: "One HPS request (404 when outside the caller's scope)"}, Authenticated,
		func(ctx context.Context, in *hpsIDInput) (*v1HPSOutput, error) {
			r, err := svc.Request(ctx, PrincipalFrom(ctx), in.ID)
			if err != nil {
				return nil, err
			}
			return &v1HPSOutput{Body: v1HPSRequest(r, svc.Today())}, nil
		})
	Register(s.API, huma.Operation{OperationID: "v1-hps-update", Method: http.MethodPut, Path: "/api/v1/hps/{id}", Tags: tags,
		Summary: "Change a request's status (through the state machine), notes or expiry date"}, Authenticated,
		func(ctx context.Context, in *hpsEditInput) (*v1HPSOutput, error) {
			ei, err := in.Body.input()
			if err != nil {
				return nil, err
			}
			r, err := svc.Edit(ctx, PrincipalFrom(ctx), in.ID, ei)
			if err != nil {
				return nil, err
			}
			return &v1HPSOutput{Body: v1HPSRequest(r, svc.Today())}, nil
		})
	Register(s.API, huma.Operation{OperationID: "v1-hps-delete", Method: http.MethodDelete, Path: "/api/v1/hps/{id}", Tags: tags,
		Summary: "Delete a request and its files"}, manage,
		func(ctx context.Context, in *hpsIDInput) (*struct{ Body map[string]string }, error) {
			if err := svc.DeleteRequest(ctx, PrincipalFrom(ctx), in.ID); err != nil {
				return nil, err
			}
			return &struct{ Body map[string]string }{Body: map[string]string{"message": "HPS request deleted successfully"}}, nil
		})
	v1move := func(to clearance.Status) func(context.Context, *hpsTransitionInput) (*v1HPSOutput, error) {
		return func(ctx context.Context, in *hpsTransitionInput) (*v1HPSOutput, error) {
			ti, err := in.merge(in.Body).transition()
			if err != nil {
				return nil, err
			}
			r, err := svc.Transition(ctx, PrincipalFrom(ctx), in.ID, to, ti)
			if err != nil {
				return nil, err
			}
			return &v1HPSOutput{Body: v1HPSRequest(r, svc.Today())}, nil
		}
	}
	Register(s.API, huma.Operation{OperationID: "v1-hps-approve", Method: http.MethodPost, Path: "/api/v1/hps/{id}/approve", Tags: tags,
		Summary: "Approve a submitted request (expires_at, notes in the query or the body)"}, Authenticated, v1move(clearance.Approved))
	Register(s.API, huma.Operation{OperationID: "v1-hps-reject", Method: http.MethodPost, Path: "/api/v1/hps/{id}/reject", Tags: tags,
		Summary: "Reject a request (notes = the reason, in the query or the body; none: \"Sin motivo indicado\")"}, Authenticated, v1move(clearance.Rejected))
	Register(s.API, huma.Operation{OperationID: "v1-hps-submit", Method: http.MethodPost, Path: "/api/v1/hps/{id}/submit", Tags: tags,
		Summary: "Mark a request as submitted to the government (notes in the query or the body)"}, Authenticated, v1move(clearance.Submitted))
}
