package clearance

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/filestore"
	"github.com/thot-security/thot/internal/mail"
)

// The browser extension copies pending requests into the government's web
// form and then marks them sent. The legacy endpoints were open to anyone
// and set any string as the status of every request with a document
// number; here they need an API key of scope "extension" (the HTTP layer
// checks it and makes the key the audit actor), read only what the
// extension needs, and change only the person's OPEN request, through the
// state machine as ActorExtension.

// ExtensionStore is what the extension API reads and changes.
type ExtensionStore interface {
	// PendingRequests lists pending requests of type rt ("" = any),
	// ordered by first name and first last name.
	PendingRequests(ctx context.Context, rt RequestType) ([]Request, error)
	// RequestForDocument is the open request with that document number,
	// else the most recent one; errs.KindNotFound when there is none.
	RequestForDocument(ctx context.Context, doc string) (*Request, error)
	// ChangeOpenRequest locks the open request with that document number
	// (errs.KindNotFound when there is none), calls decide with it and,
	// unless decide returns a nil request (no change), writes the result,
	// an audit entry and decide's notices in one transaction.
	ChangeOpenRequest(ctx context.Context, doc string, decide Decision) (*Request, error)
}

// Decision decides a change of one locked request: the new version (nil:
// leave it as it is) and the e-mails the change sends.
type Decision func(cur *Request) (*Request, []Notice, error)

// NormalizeDocument is how document numbers are stored (validate.go): a
// path segment matches whatever case and padding the client used.
func NormalizeDocument(doc string) string { return strings.ToUpper(strings.TrimSpace(doc)) }

// errNoOpenRequest answers a change for a document without open request.
var errNoOpenRequest = errs.NotFound("Open HPS request for this document number")

// ExtensionPersons lists the pending requests the extension offers to
// copy: tipo "solicitud" → new requests, "traslado" → transfers, anything
// else → all pending (legacy).
func (s *Service) ExtensionPersons(ctx context.Context, tipo string) ([]Request, error) {
	var rt RequestType
	switch strings.ToLower(strings.TrimSpace(tipo)) {
	case "solicitud":
		rt = New
	case "traslado":
		rt = Transfer
	}
	return s.store.PendingRequests(ctx, rt)
}

// ExtensionPerson is the open request for a document number, else the
// latest one.
func (s *Service) ExtensionPerson(ctx context.Context, doc string) (*Request, error) {
	doc = NormalizeDocument(doc)
	if doc == "" {
		return nil, errs.NotFound("HPS request")
	}
	return s.store.RequestForDocument(ctx, doc)
}

// ParseExtensionStatus reads the extension's "estado": a known state, or a
// 400 naming the field (the legacy stored any string).
func ParseExtensionStatus(v string) (Status, error) {
	st := Status(strings.TrimSpace(v))
	if !st.Valid() {
		return "", errs.Field("estado", fmt.Sprintf("«%s» no es un estado válido (%s).", v, statusList()))
	}
	return st, nil
}

func statusList() string {
	out := make([]string, len(Statuses))
	for i, st := range Statuses {
		out[i] = string(st)
	}
	return strings.Join(out, ", ")
}

// ExtensionSetStatus moves the open request of doc to `to` as the
// extension (only what the state machine lets ActorExtension do: to
// submitted). onlyForm, when set, requires the open request to be of that
// form (the traslado routes). Setting the state it already has is a
// no-op: the extension may repeat "enviada" safely. changed reports
// whether anything was written.
func (s *Service) ExtensionSetStatus(ctx context.Context, doc string, to Status, onlyForm FormType) (r *Request, changed bool, err error) {
	doc = NormalizeDocument(doc)
	if doc == "" {
		return nil, false, errNoOpenRequest
	}
	r, err = s.store.ChangeOpenRequest(ctx, doc, func(cur *Request) (*Request, []Notice, error) {
		if onlyForm != "" && cur.FormType != onlyForm {
			return nil, nil, errNoOpenRequest
		}
		if cur.Status == to {
			return nil, nil, nil
		}
		if err := CheckTransition(ActorExtension, cur.Status, to); err != nil {
			return nil, nil, err
		}
		next := *cur
		old := cur.Status
		next.Status = to
		if to == Submitted {
			now := s.now().UTC()
			next.SubmittedAt = &now
		}
		changed = true
		return &next, statusNotices(&next, old, ""), nil
	})
	return r, changed, err
}

// TransferPDF opens the filled transfer PDF of the open traslado of doc.
func (s *Service) TransferPDF(ctx context.Context, doc string) (*Request, io.ReadCloser, filestore.Object, error) {
	doc = NormalizeDocument(doc)
	notFound := errs.NotFound("Filled transfer PDF")
	if doc == "" {
		return nil, nil, filestore.Object{}, notFound
	}
	r, err := s.store.RequestForDocument(ctx, doc)
	if err != nil {
		return nil, nil, filestore.Object{}, err
	}
	if !r.Status.Open() || r.FormType != Traslado || r.FilledPDF == "" {
		return nil, nil, filestore.Object{}, notFound
	}
	rc, obj, err := s.files.Open(ctx, r.FilledPDF)
	if err != nil {
		if errs.Is(err, errs.KindNotFound) {
			return nil, nil, filestore.Object{}, notFound
		}
		return nil, nil, filestore.Object{}, err
	}
	return r, rc, obj, nil
}

// statusNotices is the status e-mail of a change made by a machine actor
// (extension key, expiry job) to the applicant's account e-mail; none
// when the request has no account (the legacy wrote only to accounts).
func statusNotices(r *Request, old Status, comments string) []Notice {
	if r.User == nil || r.User.Email == "" {
		return nil
	}
	return []Notice{{
		To:       r.User.Email,
		Template: mail.TemplateHPSStatus,
		Data: mail.HPSStatusData{Name: r.ApplicantName(), DocumentNumber: r.DocumentNumber, RequestType: r.RequestType.Label(),
			OldStatus: string(old), NewStatus: string(r.Status), Comments: comments},
		Key: "hps-status:" + r.ID + ":" + string(old) + ">" + string(r.Status),
	}}
}
