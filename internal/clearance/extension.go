package clearance

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/filestore"
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
	// OpenRequestID is the id of the open request with that document
	// number; errs.KindNotFound when there is none.
	OpenRequestID(ctx context.Context, doc string) (string, error)
}

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

// errUnchanged aborts a change that would change nothing.
var errUnchanged = errors.New("unchanged")

// ExtensionSetStatus moves the open request of doc to `to` as the
// extension (only what the state machine lets ActorExtension do: to
// submitted), through the request store's ApplyTransition: locked,
// audited under the key's name (the actor in ctx), status e-mail queued,
// one transaction. onlyForm, when set, requires the open request to be of
// that form (the traslado routes). Setting the state it already has is a
// no-op, so the extension may repeat "enviada" safely; changed reports
// whether anything was written.
func (s *Service) ExtensionSetStatus(ctx context.Context, doc string, to Status, onlyForm FormType) (*Request, bool, error) {
	doc = NormalizeDocument(doc)
	if doc == "" {
		return nil, false, errNoOpenRequest
	}
	id, err := s.store.OpenRequestID(ctx, doc)
	if err != nil {
		return nil, false, err
	}
	var same *Request
	r, err := s.store.ApplyTransition(ctx, id, func(cur *Request) (*Request, []Notice, error) {
		if !cur.Status.Open() || cur.DocumentNumber != doc || (onlyForm != "" && cur.FormType != onlyForm) {
			// Closed (or not the right form) by the time it was locked.
			return nil, nil, errNoOpenRequest
		}
		if cur.Status == to {
			same = cur
			return nil, nil, errUnchanged
		}
		if err := CheckTransition(ActorExtension, cur.Status, to); err != nil {
			return nil, nil, err
		}
		next := s.Apply(cur, to, nil, TransitionInput{})
		return next, []Notice{StatusNotice(next, cur.Status)}, nil
	})
	if errors.Is(err, errUnchanged) {
		return same, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return r, true, nil
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
	return s.openTransferPDF(ctx, r, notFound)
}
