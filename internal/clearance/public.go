package clearance

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
	thotmail "github.com/thot-security/thot/internal/mail"
)

// The public submission: an outsider with a form link sends the form.
// Everything it changes happens in one transaction (SubmitPublic in the
// store): the link is locked and checked, the applicant's account found or
// made, the request inserted (one open request per person), the link
// marked used, the changes audited and the credentials e-mail queued. A
// second submission with the same link is 401, like an unknown one.

// ErrTokenInvalid is the legacy answer to an unknown, expired, used or
// revoked link on submission.
var ErrTokenInvalid = &errs.Error{Kind: errs.KindUnauthenticated, Code: "token_invalid", Message: "Token inválido o expirado"}

// PublicSubmission is what the store's transaction needs.
type PublicSubmission struct {
	// Token is the link read before the transaction; the store locks it
	// again and rechecks it at Now.
	Token *PublicToken
	// Request is ready to insert except for UserID and SubmittedByID.
	Request *Request
	// FirstName and LastName name a new account.
	FirstName, LastName string
	// PasswordHash returns the hash of the new account's temporary
	// password; called only when an account is made.
	PasswordHash func() (string, error)
	// Notices builds the e-mails once the outcome is known.
	Notices func(o *PublicOutcome) []Notice
	Now     time.Time
}

// PublicOutcome is the result of a public submission.
type PublicOutcome struct {
	Request *Request
	UserID  int64
	// Username and Email of the applicant's account.
	Username, Email string
	// UserCreated: the account was made by this submission.
	UserCreated bool
	// TeamJoined is the creator's team the applicant was added to ("" =
	// none).
	TeamJoined string
}

// publicTypes decides a submission's form and request type. A link made
// for a transfer or a renewal says so itself; a plain link (and every
// link made by the legacy systems) takes the type the form sends in the
// query (form_type / hps_type: traslado, renovacion, nueva, …), then the
// body's request_type (new or renewal; a transfer only by link or query).
func publicTypes(t *Token, query string, body RequestType) (FormType, RequestType) {
	if t.FormType == Traslado || t.RequestType == Transfer {
		return Traslado, Transfer
	}
	if t.RequestType == Renewal {
		return Solicitud, Renewal
	}
	if rt, ok := RequestTypeOf(query); ok {
		if rt == Transfer {
			return Traslado, Transfer
		}
		return Solicitud, rt
	}
	if body == Renewal {
		return Solicitud, Renewal
	}
	return Solicitud, New
}

// SubmitPublic files the form sent with a link (value). formType is the
// form_type / hps_type query value ("" when absent).
func (s *Service) SubmitPublic(ctx context.Context, value, formType string, in RequestInput) (*PublicOutcome, error) {
	value = strings.TrimSpace(value)
	if value == "" || len(value) > 200 {
		return nil, ErrTokenInvalid
	}
	t, err := s.store.TokenByHash(ctx, HashToken(value))
	if err != nil {
		return nil, err
	}
	now := s.now().UTC()
	if t == nil || !t.Valid(now) {
		return nil, ErrTokenInvalid
	}
	form, rt := publicTypes(&t.Token, formType, in.RequestType)
	in.RequestType = rt
	if err := in.Validate(s.Today()); err != nil {
		return nil, err
	}
	r := &Request{ID: uuid.NewString(), Status: Pending, FormType: form, DataSource: "manual", CreatedAt: now, UpdatedAt: now}
	in.Fill(r)
	if form == Traslado {
		if err := s.fillPublicTransfer(ctx, r, t.CreatorRole); err != nil {
			return nil, err
		}
	}

	var temp, hash string
	passwordHash := func() (string, error) {
		if hash == "" {
			temp = identity.TemporaryPassword()
			h, err := s.hasher.Hash(temp)
			if err != nil {
				return "", errs.Internal(err)
			}
			hash = h
		}
		return hash, nil
	}
	if !t.AccountExists {
		// Hash before the transaction: it is slow on purpose and must not
		// hold the link's lock (or SQLite's writer).
		if _, err := passwordHash(); err != nil {
			return nil, err
		}
	}
	last := strings.TrimSpace(in.FirstLastName + " " + in.SecondLastName)
	out, err := s.store.SubmitPublic(ctx, &PublicSubmission{Token: t, Request: r, FirstName: in.FirstName, LastName: last,
		PasswordHash: passwordHash, Now: now,
		Notices: func(o *PublicOutcome) []Notice {
			if !o.UserCreated {
				return nil
			}
			return []Notice{{To: o.Email, Template: thotmail.TemplateCredentials, Key: "hps-credentials:" + r.ID,
				Data: thotmail.CredentialsData{Name: strings.TrimSpace(in.FirstName + " " + last), LoginURL: s.LoginURL(),
					Username: o.Username, Email: o.Email, TemporaryPassword: temp}}}
		}})
	if err != nil {
		if r.FilledPDF != "" {
			// The transaction did not happen: the filled form is nobody's.
			if derr := s.files.Delete(context.WithoutCancel(ctx), r.FilledPDF); derr != nil {
				slog.WarnContext(ctx, "hps: orphan filled PDF", "key", r.FilledPDF, "err", derr)
			}
		}
		return nil, err
	}
	// The answer shows the request as every read does (people joined).
	if full, err := s.store.RequestByID(ctx, r.ID); err == nil {
		out.Request = full
	}
	return out, nil
}

// fillPublicTransfer fills the transfer form from the template the link's
// creator's role chooses (without an active template FillTransfer files
// the request without a PDF, as the legacy did).
func (s *Service) fillPublicTransfer(ctx context.Context, r *Request, creatorRole string) error {
	id, key, err := s.FillTransfer(ctx, r, creatorRole)
	if err != nil {
		return err
	}
	r.TemplateID, r.FilledPDF = id, key
	return nil
}
