package clearance

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
	"github.com/thot-security/thot/internal/mail"
)

// RequestStore is the persistence of requests.
type RequestStore interface {
	// RequestByID reads one request with its joined people and the
	// applicant's active teams; a missing id is errs.KindNotFound.
	RequestByID(ctx context.Context, id string) (*Request, error)
	// RequestApplicant finds the account a request is for: by id when
	// id is not nil, else by e-mail (case-insensitive), with its active
	// teams. Nobody found is errs.KindNotFound.
	RequestApplicant(ctx context.Context, id *int64, email string) (*Applicant, error)
	// CreateRequest inserts r (the one-open rule is a 409) and audits it,
	// in one transaction.
	CreateRequest(ctx context.Context, r *Request) error
	// ListRequests returns the page q asks for (everything when q.Limit
	// is 0) and the number of matching requests, in one statement.
	ListRequests(ctx context.Context, q RequestQuery) ([]Request, int, error)
	// RequestStats counts the requests q matches, in one statement;
	// approved requests expiring from soonFrom to soonTo (dates) count
	// as "expiring soon". With recent > 0 the same statement also
	// returns the newest recent requests (RequestStats.Recent).
	RequestStats(ctx context.Context, q RequestQuery, soonFrom, soonTo time.Time, recent int) (*RequestStats, error)
	// ApplyTransition locks request id, asks decide for its new state and
	// the mail the change sends, writes it, audits it and queues the mail,
	// all in one transaction. decide's error aborts everything. A decide
	// that leaves the status alone is a plain edit (audited as update).
	ApplyTransition(ctx context.Context, id string, decide func(cur *Request) (*Request, []Notice, error)) (*Request, error)
	// DeleteRequest locks request id, asks check whether it may go, then
	// deletes and audits it in one transaction; it returns what was
	// deleted (its file keys are the caller's to remove after commit).
	DeleteRequest(ctx context.Context, id string, check func(cur *Request) error) (*Request, error)
}

// Applicant is the account a request is made for.
type Applicant struct {
	Person
	Teams []string // active team memberships
}

// RequestQuery selects requests. The Scope is always applied; the other
// fields are filters (zero = no filter).
type RequestQuery struct {
	Scope       Scope
	Statuses    []Status
	RequestType RequestType
	FormType    FormType
	UserID      *int64
	TeamID      string
	// ExpiresBefore keeps requests whose expiry date is on or before it.
	ExpiresBefore *time.Time
	// ExpiringFrom/ExpiringTo keep approved requests expiring in that
	// date range (the ?expiring=<days> filter).
	ExpiringFrom, ExpiringTo *time.Time
	// Search matches the folded names and document number.
	Search string
	// Ascending orders by created_at ascending (default: newest first).
	Ascending     bool
	Limit, Offset int
}

// RequestStats are the counts of GET …/stats.
type RequestStats struct {
	Total, Pending, WaitingDPS, Submitted, Approved, Rejected, Expired int
	New, Renewal, Transfer                                             int
	ExpiringSoon                                                       int
	// Recent are the newest requests, when asked for.
	Recent []Request
}

// errRequestNotFound hides whether a request exists from someone who may
// not see it.
var errRequestNotFound = errs.NotFound("HPS request")

// Request reads one request p may see; one outside p's scope is not
// found, as a missing one.
func (s *Service) Request(ctx context.Context, p *identity.Principal, id string) (*Request, error) {
	if !ValidID(id) {
		return nil, errRequestNotFound
	}
	r, err := s.store.RequestByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if !ScopeOf(p).Sees(r) {
		return nil, errRequestNotFound
	}
	return r, nil
}

// CreateInput is a request made by an authenticated user: the applicant
// data and, optionally, whose request it is.
type CreateInput struct {
	RequestInput
	// UserID names the applicant's account; without it the account with
	// the form's e-mail, and failing that the caller (unless the caller
	// manages requests, who must name an existing account).
	UserID *int64
}

// CreateRequest makes a pending request. Only the applicant, a lead of one
// of the applicant's teams or a holder of hps.gestionar_solicitudes may
// make one for someone; the applicant's account must exist. The person
// may not already have an open request (409 open_request_exists).
func (s *Service) CreateRequest(ctx context.Context, p *identity.Principal, in CreateInput) (*Request, error) {
	if err := in.Validate(s.Today()); err != nil {
		return nil, err
	}
	var (
		app *Applicant
		err error
	)
	switch {
	case in.UserID != nil:
		if app, err = s.store.RequestApplicant(ctx, in.UserID, ""); errs.Is(err, errs.KindNotFound) {
			return nil, errs.Field("user_id", "No existe ningún usuario con este id.")
		}
	default:
		app, err = s.store.RequestApplicant(ctx, nil, in.Email)
		if errs.Is(err, errs.KindNotFound) {
			if p.Can(identity.PermGestionarSolicitudes) {
				return nil, errs.Field("email", "No existe ningún usuario con este correo; indique user_id o cree antes la cuenta.")
			}
			app, err = s.store.RequestApplicant(ctx, &p.User.ID, "")
		}
	}
	if err != nil {
		return nil, err
	}
	if !mayActFor(p, app) {
		return nil, errs.Forbidden("Solo puede crear solicitudes HPS propias o de miembros de los equipos que dirige.")
	}
	now := s.now().UTC()
	r := &Request{ID: uuid.NewString(), UserID: &app.ID, Status: Pending, FormType: Solicitud, DataSource: "manual",
		SubmittedByID: &p.User.ID, CreatedAt: now, UpdatedAt: now}
	in.Fill(r)
	if r.RequestType == Transfer {
		r.FormType = Traslado
	}
	if err := s.store.CreateRequest(ctx, r); err != nil {
		return nil, err
	}
	return s.store.RequestByID(ctx, r.ID)
}

// mayActFor reports whether p may create a request for app.
func mayActFor(p *identity.Principal, app *Applicant) bool {
	if app.ID == p.User.ID || p.Can(identity.PermGestionarSolicitudes) {
		return true
	}
	if p.Can(identity.PermVerSolicitudesEquipos) {
		for _, t := range app.Teams {
			if slices.Contains(p.LedTeams, t) {
				return true
			}
		}
	}
	return false
}

// ListRequests returns the requests p may see that q's filters select;
// q.Scope is replaced by p's.
func (s *Service) ListRequests(ctx context.Context, p *identity.Principal, q RequestQuery) ([]Request, int, error) {
	q.Scope = ScopeOf(p)
	return s.store.ListRequests(ctx, q)
}

// Stats counts the requests p may see (and q's filters select).
// "Expiring soon" is approved and expiring within the largest reminder
// distance.
// With recent > 0 it also returns the newest recent requests (the
// FastAPI stats' recent_requests), in the same statement.
func (s *Service) Stats(ctx context.Context, p *identity.Principal, q RequestQuery, recent int) (*RequestStats, error) {
	q.Scope = ScopeOf(p)
	from, to := s.ExpiringWindow(slices.Max(s.cfg.ReminderDays))
	return s.store.RequestStats(ctx, q, from, to, recent)
}

// ExpiringWindow is the date range of the ?expiring=<days> filter: from
// today to today + days.
func (s *Service) ExpiringWindow(days int) (from, to time.Time) {
	t := s.Today()
	return t, t.AddDate(0, 0, days)
}

// TransitionInput is what a status change carries. Reason is the
// rejection reason (Notes serves when it is empty; NoReason when both
// are); ExpiresAt is an approval's expiry date (default today +
// Config.ApprovalYears).
type TransitionInput struct {
	Notes     string
	ExpiresAt *time.Time
	Reason    string
}

// Transition moves request id to status to on behalf of p. The request
// must be visible to p (else 404); the state machine decides (400 unknown
// status, 409 no such move from the current state, 403 not for this
// actor). Approving records approver, time and expiry; rejecting records
// who rejected, when and why (NoReason when no reason is given);
// submitting records who and when. The applicant's e-mail is queued in the same transaction.
func (s *Service) Transition(ctx context.Context, p *identity.Principal, id string, to Status, in TransitionInput) (*Request, error) {
	if !ValidID(id) {
		return nil, errRequestNotFound
	}
	if !to.Valid() {
		return nil, errs.Field("status", "«"+string(to)+"» no es un estado válido.")
	}
	in.Notes, in.Reason = strings.TrimSpace(in.Notes), strings.TrimSpace(in.Reason)
	if to == Rejected && in.Reason == "" {
		in.Reason = in.Notes
	}
	if err := s.checkTransitionInput(to, in); err != nil {
		return nil, err
	}
	return s.store.ApplyTransition(ctx, id, func(cur *Request) (*Request, []Notice, error) {
		if !ScopeOf(p).Sees(cur) {
			return nil, nil, errRequestNotFound
		}
		if err := CheckTransition(ActorFor(p, cur), cur.Status, to); err != nil {
			return nil, nil, err
		}
		next := s.Apply(cur, to, &p.User.ID, in)
		return next, []Notice{StatusNotice(next, cur.Status)}, nil
	})
}

// NoReason is recorded as the reason of a rejection made without one.
// The legacy rejected without a reason (and its e-mail said "No
// especificado"); the HPS frontend's reject button always sends a fixed
// text, so refusing an empty reason would only strand other callers.
const NoReason = "Sin motivo indicado"

// checkTransitionInput refuses an input the move cannot take, before
// anything is read: an expiry date that is not in the future.
func (s *Service) checkTransitionInput(_ Status, in TransitionInput) error {
	if in.ExpiresAt != nil && !in.ExpiresAt.After(s.Today()) {
		return errs.Field("expires_at", "La fecha de caducidad debe ser posterior a hoy.")
	}
	return nil
}

// Apply returns cur moved to status to by actor user by (nil for the
// system or an API key), with the fields the move records. It decides
// nothing: CheckTransition must have allowed the move.
func (s *Service) Apply(cur *Request, to Status, by *int64, in TransitionInput) *Request {
	next := *cur
	now := s.now().UTC()
	next.Status = to
	if in.Notes != "" {
		next.Notes = in.Notes
	}
	switch to {
	case Submitted:
		next.SubmittedAt = &now
		if by != nil {
			next.SubmittedByID = by
		}
	case Approved:
		next.ApprovedByID, next.ApprovedAt = by, &now
		exp := s.Today().AddDate(s.cfg.ApprovalYears, 0, 0)
		if in.ExpiresAt != nil {
			exp = *in.ExpiresAt
		}
		next.ExpiresAt = &exp
	case Rejected:
		next.ApprovedByID, next.ApprovedAt = by, &now
		next.Notes = in.Reason
		if next.Notes == "" {
			next.Notes = NoReason
		}
	}
	return &next
}

// EditInput is the generic change of PUT/PATCH …/requests/{id}/: a status
// (through the state machine), notes, an expiry date.
type EditInput struct {
	Status    *Status
	Notes     *string
	ExpiresAt *time.Time
}

// Edit applies a generic change. A new status is a Transition (same
// rules, same e-mail); notes and expiry alone are an approver's edit
// (hps.gestionar_solicitudes, not on their own request), audited, with no
// e-mail. An expiry date must be in the future.
func (s *Service) Edit(ctx context.Context, p *identity.Principal, id string, in EditInput) (*Request, error) {
	if !ValidID(id) {
		return nil, errRequestNotFound
	}
	ti := TransitionInput{ExpiresAt: in.ExpiresAt}
	if in.Notes != nil {
		ti.Notes = strings.TrimSpace(*in.Notes)
	}
	if in.Status != nil && !in.Status.Valid() {
		return nil, errs.Field("status", "«"+string(*in.Status)+"» no es un estado válido.")
	}
	return s.store.ApplyTransition(ctx, id, func(cur *Request) (*Request, []Notice, error) {
		if !ScopeOf(p).Sees(cur) {
			return nil, nil, errRequestNotFound
		}
		actor := ActorFor(p, cur)
		if in.Status != nil && *in.Status != cur.Status {
			to := *in.Status
			if to == Rejected {
				ti.Reason = ti.Notes
			}
			if err := CheckTransition(actor, cur.Status, to); err != nil {
				return nil, nil, err
			}
			if err := s.checkTransitionInput(to, ti); err != nil {
				return nil, nil, err
			}
			next := s.Apply(cur, to, &p.User.ID, ti)
			return next, []Notice{StatusNotice(next, cur.Status)}, nil
		}
		if actor != ActorApprover {
			return nil, nil, errs.Forbidden("Solo quien tramita solicitudes HPS puede modificarlas (y no las propias).")
		}
		if err := s.checkTransitionInput(cur.Status, TransitionInput{ExpiresAt: ti.ExpiresAt}); err != nil {
			return nil, nil, err
		}
		next := *cur
		if in.Notes != nil {
			next.Notes = ti.Notes
		}
		if in.ExpiresAt != nil {
			if cur.Status != Approved {
				return nil, nil, errs.Field("expires_at", "Solo una solicitud aprobada tiene fecha de caducidad.")
			}
			next.ExpiresAt = in.ExpiresAt
		}
		return &next, nil, nil
	})
}

// ApproveByEmail approves the submitted request of the account with that
// e-mail (legacy POST /api/hps/approve/{email}/). No such account or no
// submitted request is 404.
func (s *Service) ApproveByEmail(ctx context.Context, p *identity.Principal, email string, in TransitionInput) (*Request, error) {
	app, err := s.store.RequestApplicant(ctx, nil, strings.TrimSpace(email))
	if err != nil {
		return nil, err
	}
	uid := app.ID
	rs, _, err := s.store.ListRequests(ctx, RequestQuery{Scope: ScopeOf(p), UserID: &uid, Statuses: []Status{Submitted}, Limit: 1})
	if err != nil {
		return nil, err
	}
	if len(rs) == 0 {
		return nil, errs.NotFound("Submitted HPS request")
	}
	return s.Transition(ctx, p, rs[0].ID, Approved, in)
}

// DeleteRequest deletes a request (hps.gestionar_solicitudes, checked by
// the route; nobody deletes their own) and then its files.
func (s *Service) DeleteRequest(ctx context.Context, p *identity.Principal, id string) error {
	if !ValidID(id) {
		return errRequestNotFound
	}
	r, err := s.store.DeleteRequest(ctx, id, func(cur *Request) error {
		if !ScopeOf(p).Sees(cur) {
			return errRequestNotFound
		}
		if ActorFor(p, cur) != ActorApprover {
			return errs.Forbidden("No puede eliminar su propia solicitud HPS.")
		}
		return nil
	})
	if err != nil {
		return err
	}
	// The row is gone; a file left behind is only disk, so a failure here
	// does not undo the delete.
	for _, key := range []string{r.FilledPDF, r.ResponsePDF} {
		if key != "" && s.files != nil {
			_ = s.files.Delete(context.WithoutCancel(ctx), key)
		}
	}
	return nil
}

// StatusNotice is the e-mail telling the applicant that r moved from old
// to r.Status: approved and rejected have their own templates, every
// other state the status-update one. It goes to the applicant's account
// e-mail (the form's address only when the account is gone); the key
// makes a retried change mail once.
func StatusNotice(r *Request, old Status) Notice {
	to := r.Email
	if r.User != nil && r.User.Email != "" {
		to = r.User.Email
	}
	name := r.FirstName + " " + r.FirstLastName
	n := Notice{To: to, Key: "hps-status:" + r.ID + ":" + string(r.Status)}
	switch r.Status {
	case Approved:
		d := mail.HPSApprovedData{Name: name, DocumentNumber: r.DocumentNumber, RequestType: r.RequestType.Label(), Notes: r.Notes}
		if r.ExpiresAt != nil {
			d.ExpiresAt = *r.ExpiresAt
		}
		n.Template, n.Data = mail.TemplateHPSApproved, d
	case Rejected:
		reason := r.Notes
		if reason == "" {
			reason = NoReason
		}
		n.Template, n.Data = mail.TemplateHPSRejected, mail.HPSRejectedData{Name: name, DocumentNumber: r.DocumentNumber,
			RequestType: r.RequestType.Label(), Reason: reason}
	default:
		n.Template, n.Data = mail.TemplateHPSStatus, mail.HPSStatusData{Name: name, DocumentNumber: r.DocumentNumber,
			RequestType: r.RequestType.Label(), OldStatus: string(old), NewStatus: string(r.Status), Comments: r.Notes}
	}
	return n
}
