// Package clearance is personal security clearances ("HPS", habilitación
// personal de seguridad): the requests people make for one, their
// lifecycle, the public form links that let an outsider fill one in, the
// PDF templates of transfer forms, the browser-extension API that copies
// requests into the government's web form, and expiry.
//
// The data is personal (ID numbers, birth dates, phones): every read goes
// through a Scope (scope.go), every change through the state machine
// (states.go) and is audited with the acting user or API key.
package clearance

import (
	"strings"
	"time"

	"github.com/google/uuid"
)

// Status is a request's state.
type Status string

// The states (docs/clearance.md has the diagram and who may move what).
const (
	Pending    Status = "pending"
	WaitingDPS Status = "waiting_dps"
	Submitted  Status = "submitted"
	Approved   Status = "approved"
	Rejected   Status = "rejected"
	Expired    Status = "expired"
)

// Statuses lists every state in lifecycle order.
var Statuses = []Status{Pending, WaitingDPS, Submitted, Approved, Rejected, Expired}

// Valid reports whether s is a known state.
func (s Status) Valid() bool {
	for _, x := range Statuses {
		if x == s {
			return true
		}
	}
	return false
}

// Open reports whether a request in s still counts as the person's open
// request (at most one per person).
func (s Status) Open() bool { return s == Pending || s == WaitingDPS || s == Submitted }

// OpenStatuses are the states of an open request.
var OpenStatuses = []Status{Pending, WaitingDPS, Submitted}

// RequestType is what is asked for.
type RequestType string

// Request types.
const (
	New      RequestType = "new"
	Renewal  RequestType = "renewal"
	Transfer RequestType = "transfer"
)

// Valid reports whether t is known.
func (t RequestType) Valid() bool { return t == New || t == Renewal || t == Transfer }

// Label is the Spanish name used in e-mails.
func (t RequestType) Label() string {
	switch t {
	case Renewal:
		return "Renovación HPS"
	case Transfer:
		return "Traspaso HPS"
	default:
		return "Solicitud HPS"
	}
}

// FormType is which form the request was made on (legacy column "type").
type FormType string

// Form types.
const (
	Solicitud FormType = "solicitud"
	Traslado  FormType = "traslado"
)

// NormalizeFormType maps the spellings clients send (traslado, traspaso,
// transfer, trasladar, traspasar → traslado; nueva, renovacion,
// solicitud, "" → solicitud). ok is false for anything else.
func NormalizeFormType(v string) (FormType, bool) {
	switch v {
	case "traslado", "traspaso", "transfer", "trasladar", "traspasar":
		return Traslado, true
	case "", "solicitud", "nueva", "new", "renovacion", "renovación", "renewal":
		return Solicitud, true
	}
	return "", false
}

// Request is one clearance request.
type Request struct {
	ID          string
	UserID      *int64
	RequestType RequestType
	Status      Status
	FormType    FormType
	TemplateID  *int64
	// FilledPDF and ResponsePDF are file-store keys ("" = none).
	FilledPDF   string
	ResponsePDF string

	DocumentType   string
	DocumentNumber string
	BirthDate      time.Time // a date (UTC midnight)
	FirstName      string
	FirstLastName  string
	SecondLastName string
	Nationality    string
	BirthPlace     string
	Email          string
	Phone          string

	SubmittedByID *int64
	SubmittedAt   *time.Time
	ApprovedByID  *int64
	ApprovedAt    *time.Time
	ExpiresAt     *time.Time // a date
	Notes         string

	// Government fields (filled by imports and the government mail
	// processor; not exposed by the legacy FastAPI API).
	SecurityClearanceLevel string
	GovernmentExpediente   string
	CompanyName            string
	CompanyNIF             string
	InternalCode           string
	JobPosition            string
	AutoProcessed          bool
	SourcePDFFilename      string
	AutoProcessedAt        *time.Time
	GovernmentDocumentType string
	DataSource             string
	OriginalStatusText     string

	CreatedAt time.Time
	UpdatedAt time.Time

	// Read-only, joined.
	User        *Person
	SubmittedBy *Person
	ApprovedBy  *Person
	// ApplicantTeams are the active teams the applicant is a member of
	// (loaded on single reads, for Scope.Sees and ActorFor).
	ApplicantTeams []string
}

// Person is the short form of a user shown with a request.
type Person struct {
	ID        int64
	Email     string
	FirstName string
	LastName  string
}

// FullName is "first last", trimmed.
func (p *Person) FullName() string {
	switch {
	case p.FirstName == "":
		return p.LastName
	case p.LastName == "":
		return p.FirstName
	}
	return p.FirstName + " " + p.LastName
}

// ApplicantName is the request's "first first-last [second-last]".
func (r *Request) ApplicantName() string {
	n := r.FirstName + " " + r.FirstLastName
	if r.SecondLastName != "" {
		n += " " + r.SecondLastName
	}
	return n
}

// IsExpired reports whether the clearance's expiry date has passed on
// today (a date in the office time zone).
func (r *Request) IsExpired(today time.Time) bool {
	return r.ExpiresAt != nil && r.ExpiresAt.Before(today)
}

// CanBeApproved is the legacy computed flag, with the state machine's
// meaning: an approver could approve it now (it is submitted) and it has
// not expired. (The legacy said "pending": it had no machine.)
func (r *Request) CanBeApproved(today time.Time) bool {
	return Allowed(ActorApprover, r.Status, Approved) && !r.IsExpired(today)
}

// Template is a transfer-form PDF template.
type Template struct {
	ID           int64
	Name         string
	Description  string
	TemplateType string // jefe_seguridad | jefe_seguridad_suplente
	Version      string
	Active       bool
	PDFFile      string // file-store key
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

// Template types.
const (
	TemplateJefe     = "jefe_seguridad"
	TemplateSuplente = "jefe_seguridad_suplente"
)

// Token is a public form link. The token itself is shown once, when it is
// made; the database keeps its SHA-256 and a prefix.
type Token struct {
	ID            string
	Prefix        string
	Email         string
	RequestedByID int64
	RequestedBy   *Person
	Purpose       string
	FormType      FormType
	RequestType   RequestType
	IsUsed        bool
	UsedAt        *time.Time
	RequestID     *string
	RevokedAt     *time.Time
	ExpiresAt     time.Time
	CreatedAt     time.Time
	UpdatedAt     time.Time
}

// Valid reports whether the link can still be used at now.
func (t *Token) Valid(now time.Time) bool {
	return !t.IsUsed && t.RevokedAt == nil && now.Before(t.ExpiresAt)
}

// APIKey is a named key for a machine client.
type APIKey struct {
	ID          string
	Name        string
	Scope       string // "extension"
	Prefix      string
	CreatedByID *int64
	CreatedAt   time.Time
	LastUsedAt  *time.Time
	RevokedAt   *time.Time
}

// ScopeExtension is the browser extension's API-key scope.
const ScopeExtension = "extension"

// ValidID reports whether id is a UUID in canonical form (request and
// token ids); anything else cannot name a request.
func ValidID(id string) bool {
	u, err := uuid.Parse(id)
	return err == nil && u.String() == strings.ToLower(id)
}
