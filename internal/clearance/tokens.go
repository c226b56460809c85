package clearance

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"net/mail"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
	thotmail "github.com/thot-security/thot/internal/mail"
)

// Public form links. A link carries a token: 32 random bytes, base64url
// (43 characters). It is shown once, when made (and e-mailed); the
// database keeps its SHA-256 and an 8-character prefix that lists show, so
// a leaked database or list cannot be turned into working links. A link is
// single-use (marked used by the submitting transaction), can be revoked,
// and expires after 1–168 hours (default 72).

// TokenStore is the persistence of form links.
type TokenStore interface {
	// CreateToken inserts t (with the hash of its value), audits it and
	// queues notice, in one transaction.
	CreateToken(ctx context.Context, t *Token, hash string, notice Notice) error
	// ListTokens lists form links, newest first, with the total count.
	ListTokens(ctx context.Context, f TokenFilter) ([]Token, int, error)
	// TokenByID reads one link; a missing id is errs.KindNotFound.
	TokenByID(ctx context.Context, id string) (*Token, error)
	// RevokeToken sets revoked_at (audited); see Service.RevokeToken.
	RevokeToken(ctx context.Context, id string, now time.Time) (*Token, error)
	// TokenByHash reads a link by the SHA-256 of its value, with what a
	// public submission needs to know beforehand; nil when none.
	TokenByHash(ctx context.Context, hash string) (*PublicToken, error)
	// SubmitPublic is the public submission's transaction (public.go).
	SubmitPublic(ctx context.Context, sub *PublicSubmission) (*PublicOutcome, error)
}

// TokenFilter selects form links in lists.
type TokenFilter struct {
	Email         string // exact, case-insensitive
	IsUsed        *bool
	RequestedByID *int64
	Limit, Offset int
}

// PublicToken is a link as a public caller's request sees it: the link
// and the facts about its creator and its e-mail's account the submission
// decides on.
type PublicToken struct {
	Token
	// CreatorRole chooses the transfer template (FillTransfer).
	CreatorRole string
	// CreatorLedTeam is the first active team the creator leads ("" =
	// none): a new applicant joins it, otherwise AICOX.
	CreatorLedTeam string
	// AccountExists says whether a user has the link's e-mail already
	// (read before the transaction, to hash a password only when needed).
	AccountExists bool
}

// Token limits.
const (
	TokenHoursDefault = 72
	TokenHoursMax     = 168
	TokenPurposeMax   = 500
	tokenPrefixLen    = 8
)

// TokenInput is POST /api/hps/tokens/.
type TokenInput struct {
	Email      string
	Purpose    string
	HoursValid *int
	// FormType is a spelling NormalizeFormType or RequestTypeOf accepts
	// (solicitud, nueva, renovacion, traslado, …); "" = solicitud, new.
	FormType string
}

// IssuedToken is a link just made: Value and URL are known only now.
type IssuedToken struct {
	Token
	Value string
	URL   string
}

// HashToken is the stored form of a token value.
func HashToken(value string) string {
	sum := sha256.Sum256([]byte(value))
	return hex.EncodeToString(sum[:])
}

// newTokenValue returns 32 random bytes, base64url without padding.
func newTokenValue() string {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		panic("crypto/rand: " + err.Error())
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// RequestTypeOf maps the type words of links and the public form
// (nueva/new, renovacion/renewal, traslado and its spellings) to a
// request type; "" and solicitud say nothing (ok false).
func RequestTypeOf(v string) (RequestType, bool) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "nueva", "new", "alta":
		return New, true
	case "renovacion", "renovación", "renewal":
		return Renewal, true
	}
	if ft, ok := NormalizeFormType(strings.ToLower(strings.TrimSpace(v))); ok && ft == Traslado {
		return Transfer, true
	}
	return "", false
}

// linkType is the legacy "type" word of a form URL (the frontend reads
// nueva, renovacion or traslado).
func linkType(t *Token) string {
	switch {
	case t.FormType == Traslado:
		return "traslado"
	case t.RequestType == Renewal:
		return "renovacion"
	}
	return "nueva"
}

// FormURL is the frontend address of the form for value.
func (s *Service) FormURL(t *Token, value string) string {
	// The value is base64url: it needs no escaping. The legacy parameter
	// order (token, email, type) is kept.
	return s.cfg.FrontendURL + "/hps-form?token=" + value + "&email=" + url.QueryEscape(t.Email) + "&type=" + linkType(t)
}

// Now is the service's clock (links' validity in answers).
func (s *Service) Now() time.Time { return s.now() }

// LoginURL is the frontend login page (credentials e-mail).
func (s *Service) LoginURL() string { return s.cfg.FrontendURL + "/login" }

// CreateToken makes a form link for in.Email and queues the e-mail that
// carries it.
func (s *Service) CreateToken(ctx context.Context, p *identity.Principal, in TokenInput) (*IssuedToken, error) {
	fe := errs.FieldErrors{}
	email := strings.TrimSpace(in.Email)
	if a, err := mail.ParseAddress(email); email == "" || err != nil || a.Address != email || len(email) > 254 {
		fe.Add("email", "Introduzca una dirección de correo válida.")
	}
	purpose := strings.TrimSpace(in.Purpose)
	if utf8.RuneCountInString(purpose) > TokenPurposeMax {
		fe.Add("purpose", "Debe tener como máximo 500 caracteres.")
	}
	hours := TokenHoursDefault
	if in.HoursValid != nil {
		hours = *in.HoursValid
		if hours < 1 || hours > TokenHoursMax {
			fe.Add("hours_valid", "Debe estar entre 1 y 168 horas.")
		}
	}
	form, ok := NormalizeFormType(strings.ToLower(strings.TrimSpace(in.FormType)))
	rt, known := RequestTypeOf(in.FormType)
	if !ok && !known {
		fe.Add("form_type", "Debe ser solicitud, nueva, renovacion o traslado.")
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	if !known {
		rt = New
	}
	if rt == Transfer {
		form = Traslado
	}
	now := s.now().UTC()
	id, err := uuid.NewV7()
	if err != nil {
		return nil, errs.Internal(err)
	}
	value := newTokenValue()
	creator := &Person{ID: p.User.ID, Email: p.User.Email, FirstName: p.User.FirstName, LastName: p.User.LastName}
	t := &Token{ID: id.String(), Prefix: value[:tokenPrefixLen], Email: strings.ToLower(email), RequestedByID: p.User.ID,
		RequestedBy: creator, Purpose: purpose, FormType: form, RequestType: rt,
		ExpiresAt: now.Add(time.Duration(hours) * time.Hour), CreatedAt: now, UpdatedAt: now}
	out := &IssuedToken{Token: *t, Value: value, URL: s.FormURL(t, value)}
	notice := Notice{To: t.Email, Template: thotmail.TemplateHPSFormLink, Key: "hps-form-link:" + t.ID,
		Data: thotmail.HPSFormLinkData{Name: t.Email, FormURL: out.URL, ExpiresAt: t.ExpiresAt.In(s.cfg.Location),
			Purpose: purpose, RequestedBy: t.RequestedBy.FullName()}}
	if err := s.store.CreateToken(ctx, t, HashToken(value), notice); err != nil {
		return nil, err
	}
	return out, nil
}

// ListTokens lists form links (the caller holds hps.ver_todos_tokens).
func (s *Service) ListTokens(ctx context.Context, f TokenFilter) ([]Token, int, error) {
	f.Email = strings.ToLower(strings.TrimSpace(f.Email))
	return s.store.ListTokens(ctx, f)
}

var errTokenNotFound = errs.NotFound("HPS token")

// Token reads one form link.
func (s *Service) Token(ctx context.Context, id string) (*Token, error) {
	if !ValidID(id) {
		return nil, errTokenNotFound
	}
	return s.store.TokenByID(ctx, id)
}

// RevokeToken makes a link unusable. Revoking a revoked link changes
// nothing; a used link cannot be revoked (409: its request exists).
func (s *Service) RevokeToken(ctx context.Context, id string) (*Token, error) {
	if !ValidID(id) {
		return nil, errTokenNotFound
	}
	return s.store.RevokeToken(ctx, id, s.now().UTC())
}

// TokenCheck is what validating a link found out.
type TokenCheck struct {
	Token *PublicToken // nil: no such link
	// Expired, Used and Revoked say why a known link is not valid.
	Expired, Used, Revoked bool
	// EmailMismatch: the caller gave an e-mail that is not the link's.
	EmailMismatch bool
}

// Valid reports whether the link can be used (and the e-mail matched).
func (c *TokenCheck) Valid() bool {
	return c.Token != nil && !c.Expired && !c.Used && !c.Revoked && !c.EmailMismatch
}

// CheckToken looks a link up by its value for the public validate
// endpoints; email, when given, must be the link's (ignoring case).
func (s *Service) CheckToken(ctx context.Context, value, email string) (*TokenCheck, error) {
	value = strings.TrimSpace(value)
	if value == "" || len(value) > 200 {
		return &TokenCheck{}, nil
	}
	t, err := s.store.TokenByHash(ctx, HashToken(value))
	if err != nil || t == nil {
		return &TokenCheck{}, err
	}
	c := &TokenCheck{Token: t, Used: t.IsUsed, Revoked: t.RevokedAt != nil, Expired: !s.now().Before(t.ExpiresAt)}
	if e := strings.TrimSpace(email); e != "" && !strings.EqualFold(e, t.Email) {
		c.EmailMismatch = true
	}
	return c, nil
}
