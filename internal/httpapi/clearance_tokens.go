package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// Public form links (Django /api/hps/tokens/, FastAPI /api/v1/hps/tokens/)
// and the public submission (Django /api/hps/requests/public/, FastAPI
// /api/v1/hps/public). A token is shown once, in the creation answer (and
// the e-mail); lists show its prefix. The public endpoints (validate,
// submit) are limited per client address (THOT_HPS_PUBLIC_RATE_LIMIT per
// minute).

// HpsToken is the Django token object. token is the full value only in
// the creation answer; elsewhere it is "<prefix>…".
type HpsToken struct {
	ID              string  `json:"id"`
	Token           string  `json:"token"`
	Email           string  `json:"email"`
	RequestedBy     int64   `json:"requested_by"`
	RequestedByName string  `json:"requested_by_name"`
	Purpose         string  `json:"purpose"`
	FormType        string  `json:"form_type"`
	RequestType     string  `json:"request_type"`
	IsUsed          bool    `json:"is_used"`
	UsedAt          *string `json:"used_at"`
	RequestID       *string `json:"request_id"`
	IsRevoked       bool    `json:"is_revoked"`
	RevokedAt       *string `json:"revoked_at"`
	IsValid         bool    `json:"is_valid"`
	ExpiresAt       string  `json:"expires_at"`
	CreatedAt       string  `json:"created_at"`
	UpdatedAt       string  `json:"updated_at"`
	URL             string  `json:"url,omitempty" doc:"Form URL (creation answer only)"`
}

func (s *Server) hpsToken(t *clearance.Token) HpsToken {
	out := HpsToken{ID: t.ID, Token: t.Prefix + "…", Email: t.Email, RequestedBy: t.RequestedByID, Purpose: t.Purpose,
		FormType: string(t.FormType), RequestType: string(t.RequestType), IsUsed: t.IsUsed, RequestID: t.RequestID,
		IsRevoked: t.RevokedAt != nil, IsValid: t.Valid(s.deps.Clearance.Now()),
		ExpiresAt: isoTime(t.ExpiresAt), CreatedAt: isoTime(t.CreatedAt), UpdatedAt: isoTime(t.UpdatedAt)}
	if t.RequestedBy != nil {
		out.RequestedByName = t.RequestedBy.FullName()
	}
	if t.UsedAt != nil {
		v := isoTime(*t.UsedAt)
		out.UsedAt = &v
	}
	if t.RevokedAt != nil {
		v := isoTime(*t.RevokedAt)
		out.RevokedAt = &v
	}
	return out
}

// V1TokenCreated is the FastAPI creation answer.
type V1TokenCreated struct {
	Token     string `json:"token"`
	Email     string `json:"email"`
	URL       string `json:"url"`
	ExpiresAt string `json:"expires_at"`
}

// requesterName is the link creator's full name, else their e-mail, so
// the form's "Solicitado por" is never blank.
func requesterName(t *clearance.Token) string {
	if t.RequestedBy == nil {
		return ""
	}
	if n := t.RequestedBy.FullName(); n != "" {
		return n
	}
	return t.RequestedBy.Email
}

// HpsTokenValid is the Django validation answer.
type HpsTokenValid struct {
	IsValid         bool   `json:"is_valid"`
	Email           string `json:"email"`
	RequestedByName string `json:"requested_by_name" doc:"Who made the link (the form shows it as \"Solicitado por\"): full name, else e-mail"`
	ExpiresAt       string `json:"expires_at"`
	Purpose         string `json:"purpose"`
	FormType        string `json:"form_type"`
	RequestType     string `json:"request_type"`
}

// V1TokenValid is the FastAPI validation answer.
type V1TokenValid struct {
	IsValid         bool   `json:"is_valid"`
	Email           string `json:"email"`
	RequestedByName string `json:"requested_by_name"`
	Purpose         string `json:"purpose"`
	ExpiresAt       string `json:"expires_at"`
}

type tokenCreateBody struct {
	Email      string `json:"email" required:"true" maxLength:"254"`
	Purpose    string `json:"purpose,omitempty" maxLength:"500"`
	HoursValid *int   `json:"hours_valid,omitempty" doc:"1–168, default 72"`
	FormType   string `json:"form_type,omitempty" doc:"solicitud (default), nueva, renovacion or traslado"`
	Type       string `json:"type,omitempty" doc:"Alias of form_type"`
}

func (b *tokenCreateBody) input() clearance.TokenInput {
	ft := b.FormType
	if ft == "" {
		ft = b.Type
	}
	return clearance.TokenInput{Email: b.Email, Purpose: b.Purpose, HoursValid: b.HoursValid, FormType: ft}
}

type tokenCreateInput struct {
	Body tokenCreateBody
}

type tokenListInput struct {
	PageParams
	Email  string `query:"email" doc:"Only links for this e-mail"`
	IsUsed string `query:"is_used" doc:"true or false"`
}

type tokenIDInput struct {
	ID string `path:"id" doc:"Token id (UUID)"`
}

type tokenValidateInput struct {
	Token string `query:"token" doc:"The form link's token"`
	Email string `query:"email" doc:"The e-mail the link was sent to (checked when given)"`
}

// hpsPublicBody is the applicant data of the public form (HPSRequestCreate).
type hpsPublicBody struct {
	RequestType    string    `json:"request_type,omitempty" doc:"new or renewal (a transfer only by the link or the query)"`
	DocumentType   hpsScalar `json:"document_type" doc:"As the forms send it (DNI / NIF, NIE, Tarjeta Residente, Pasaporte, Otros), the government code (206–210) or a legacy spelling (DNI, PASSPORT); stored as the form's value"`
	DocumentNumber string    `json:"document_number"`
	BirthDate      string    `json:"birth_date" doc:"YYYY-MM-DD"`
	FirstName      string    `json:"first_name"`
	FirstLastName  string    `json:"first_last_name"`
	SecondLastName string    `json:"second_last_name,omitempty"`
	Nationality    hpsScalar `json:"nationality" doc:"As the forms send it (ESPAÑA, FRANCIA, …), the government code (1–189) or a legacy spelling (Española); stored as the form's value"`
	BirthPlace     string    `json:"birth_place"`
	Email          string    `json:"email"`
	Phone          string    `json:"phone"`
}

func (b *hpsPublicBody) input() clearance.RequestInput {
	return clearance.RequestInput{RequestType: clearance.RequestType(strings.TrimSpace(b.RequestType)),
		DocumentType: b.DocumentType.text, DocumentNumber: b.DocumentNumber, BirthDate: b.BirthDate, FirstName: b.FirstName,
		FirstLastName: b.FirstLastName, SecondLastName: b.SecondLastName, Nationality: b.Nationality.text, BirthPlace: b.BirthPlace,
		Email: b.Email, Phone: b.Phone}
}

type publicSubmitInput struct {
	Token    string `query:"token" doc:"The form link's token"`
	FormType string `query:"form_type" doc:"solicitud, nueva, renovacion or traslado (a link made for a transfer or renewal keeps its type)"`
	HpsType  string `query:"hps_type" doc:"Alias of form_type"`
	Body     hpsPublicBody
}

type v1PublicSubmitInput struct {
	Token   string `query:"token" doc:"The form link's token"`
	HpsType string `query:"hps_type" doc:"solicitud (default), nueva, renovacion or traslado"`
	Body    hpsPublicBody
}

// tokenNotFound is the validation answer to an unknown link.
func tokenNotFound() error {
	return &errs.Error{Kind: errs.KindNotFound, Message: "Token no encontrado", Extra: map[string]any{"is_valid": false}}
}

func errEmailMismatch() error {
	return &errs.Error{Kind: errs.KindInvalid, Message: "El email no coincide con el token", Extra: map[string]any{"is_valid": false}}
}

func (s *Server) registerHPSTokens() {
	tags := []string{"hps-tokens"}
	v1tags := []string{"hps-tokens", "fastapi"}
	create := Permission(identity.PermCrearTokens)
	manage := Permission(identity.PermVerTodosTokens)
	clear := s.deps.Clearance
	limit := 20
	if s.deps.Config != nil {
		limit = s.deps.Config.HPSPublicRateLimit
	}
	limiter := newAddressLimiter(limit)

	Register(s.API, huma.Operation{OperationID: "hps-tokens-create", Method: http.MethodPost, Path: "/api/hps/tokens/", Tags: tags,
		DefaultStatus: http.StatusCreated,
		Summary:       "Make a public form link and e-mail it",
		Description: "The answer carries the token and the form URL (frontend URL + /hps-form?token=…&email=…&type=…) once; " +
			"the database keeps only a hash. The form-link e-mail is queued in the same transaction."}, create,
		func(ctx context.Context, in *tokenCreateInput) (*struct{ Body HpsToken }, error) {
			t, err := clear.CreateToken(ctx, PrincipalFrom(ctx), in.Body.input())
			if err != nil {
				return nil, err
			}
			out := s.hpsToken(&t.Token)
			out.Token, out.URL = t.Value, t.URL
			return &struct{ Body HpsToken }{Body: out}, nil
		})

	Register(s.API, huma.Operation{OperationID: "v1-hps-tokens-create", Method: http.MethodPost, Path: "/api/v1/hps/tokens/", Tags: v1tags,
		DefaultStatus: http.StatusCreated, Summary: "Make a public form link (FastAPI shape)"}, create,
		func(ctx context.Context, in *tokenCreateInput) (*struct{ Body V1TokenCreated }, error) {
			t, err := clear.CreateToken(ctx, PrincipalFrom(ctx), in.Body.input())
			if err != nil {
				return nil, err
			}
			return &struct{ Body V1TokenCreated }{Body: V1TokenCreated{Token: t.Value, Email: t.Email, URL: t.URL,
				ExpiresAt: isoTime(t.ExpiresAt)}}, nil
		})

	Register(s.API, huma.Operation{OperationID: "hps-tokens-list", Method: http.MethodGet, Path: "/api/hps/tokens/", Tags: tags,
		Summary: "List form links, newest first (tokens shown by prefix only)"}, manage,
		func(ctx context.Context, in *tokenListInput) (*struct{ Body List[HpsToken] }, error) {
			f := clearance.TokenFilter{Email: in.Email, Limit: in.Limit(), Offset: in.Offset()}
			if v := strings.TrimSpace(in.IsUsed); v != "" {
				b := isTrue(v)
				f.IsUsed = &b
			}
			ts, n, err := clear.ListTokens(ctx, f)
			if err != nil {
				return nil, err
			}
			if err := CheckPage(in.PageParams, n); err != nil {
				return nil, err
			}
			items := make([]HpsToken, len(ts))
			for i := range ts {
				items[i] = s.hpsToken(&ts[i])
			}
			return &struct{ Body List[HpsToken] }{Body: NewList(items, in.PageParams, n, RequestURL(ctx))}, nil
		})

	validate := func(ctx context.Context, in *tokenValidateInput) (*clearance.TokenCheck, error) {
		if err := limiter.check(ctx); err != nil {
			return nil, err
		}
		if strings.TrimSpace(in.Token) == "" {
			return nil, errs.Field("token", "This field is required.")
		}
		return clear.CheckToken(ctx, in.Token, in.Email)
	}

	Register(s.API, huma.Operation{OperationID: "hps-tokens-validate", Method: http.MethodGet, Path: "/api/hps/tokens/validate/", Tags: tags,
		Summary: "Check a form link (public, rate-limited per address)",
		Description: "404 for an unknown link; 400 with is_valid/is_expired/is_used/is_revoked for one that can no longer be used, " +
			"and 400 when email is given and is not the link's."}, Public,
		func(ctx context.Context, in *tokenValidateInput) (*struct{ Body HpsTokenValid }, error) {
			c, err := validate(ctx, in)
			if err != nil {
				return nil, err
			}
			switch {
			case c.Token == nil:
				return nil, tokenNotFound()
			case c.Expired || c.Used || c.Revoked:
				msg := "Token expirado"
				if c.Used {
					msg = "Token ya utilizado"
				} else if c.Revoked {
					msg = "Token revocado"
				}
				return nil, &errs.Error{Kind: errs.KindInvalid, Message: msg, Extra: map[string]any{
					"is_valid": false, "is_expired": c.Expired, "is_used": c.Used, "is_revoked": c.Revoked}}
			case c.EmailMismatch:
				return nil, errEmailMismatch()
			}
			t := c.Token
			return &struct{ Body HpsTokenValid }{Body: HpsTokenValid{IsValid: true, Email: t.Email, RequestedByName: requesterName(&t.Token), ExpiresAt: isoTime(t.ExpiresAt),
				Purpose: t.Purpose, FormType: string(t.FormType), RequestType: string(t.RequestType)}}, nil
		})

	Register(s.API, huma.Operation{OperationID: "v1-hps-tokens-validate", Method: http.MethodGet, Path: "/api/v1/hps/tokens/validate", Tags: v1tags,
		Summary:     "Check a form link (FastAPI shape; public, rate-limited per address)",
		Description: "404 \"Token no encontrado\" for an unknown, expired, used or revoked link; 400 when email is not the link's."}, Public,
		func(ctx context.Context, in *tokenValidateInput) (*struct{ Body V1TokenValid }, error) {
			c, err := validate(ctx, in)
			if err != nil {
				return nil, err
			}
			switch {
			case c.Token == nil || c.Expired || c.Used || c.Revoked:
				return nil, errs.NotFound("Token no encontrado")
			case c.EmailMismatch:
				return nil, errs.Invalid("El email no coincide con el token")
			}
			t := c.Token
			return &struct{ Body V1TokenValid }{Body: V1TokenValid{IsValid: true, Email: t.Email, RequestedByName: requesterName(&t.Token),
				Purpose: t.Purpose, ExpiresAt: isoTime(t.ExpiresAt)}}, nil
		})

	Register(s.API, huma.Operation{OperationID: "hps-tokens-get", Method: http.MethodGet, Path: "/api/hps/tokens/{id}/", Tags: tags,
		Summary: "One form link (token shown by prefix only)"}, manage,
		func(ctx context.Context, in *tokenIDInput) (*struct{ Body HpsToken }, error) {
			t, err := clear.Token(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			return &struct{ Body HpsToken }{Body: s.hpsToken(t)}, nil
		})

	Register(s.API, huma.Operation{OperationID: "hps-tokens-revoke", Method: http.MethodDelete, Path: "/api/hps/tokens/{id}/", Tags: tags,
		DefaultStatus: http.StatusNoContent,
		Summary:       "Revoke a form link (kept, marked revoked; audited). A used link is a 409."}, manage,
		func(ctx context.Context, in *tokenIDInput) (*struct{}, error) {
			if _, err := clear.RevokeToken(ctx, in.ID); err != nil {
				return nil, err
			}
			return &struct{}{}, nil
		})

	submit := func(ctx context.Context, token, formType string, body *hpsPublicBody) (*clearance.PublicOutcome, error) {
		if err := limiter.check(ctx); err != nil {
			return nil, err
		}
		o, err := clear.SubmitPublic(ctx, token, formType, body.input())
		return o, formError(err)
	}

	Register(s.API, huma.Operation{OperationID: "hps-requests-public", Method: http.MethodPost, Path: "/api/hps/requests/public/", Tags: []string{"hps-requests"},
		DefaultStatus: http.StatusCreated,
		Summary:       "Send the HPS form with a form link (public, rate-limited per address)",
		Description:   publicSubmitDoc}, Public,
		func(ctx context.Context, in *publicSubmitInput) (*struct{ Body HpsPublicResult }, error) {
			ft := in.FormType
			if ft == "" {
				ft = in.HpsType
			}
			o, err := submit(ctx, in.Token, ft, &in.Body)
			if err != nil {
				return nil, err
			}
			return &struct{ Body HpsPublicResult }{Body: HpsPublicResult{HpsRequest: hpsRequest(ctx, o.Request, clear.Today()),
				UserCreated: o.UserCreated}}, nil
		})

	Register(s.API, huma.Operation{OperationID: "v1-hps-public", Method: http.MethodPost, Path: "/api/v1/hps/public", Tags: []string{"hps-requests", "fastapi"},
		DefaultStatus: http.StatusCreated,
		Summary:       "Send the HPS form with a form link (FastAPI shape; public, rate-limited per address)",
		Description:   publicSubmitDoc}, Public,
		func(ctx context.Context, in *v1PublicSubmitInput) (*v1HPSOutput, error) {
			o, err := submit(ctx, in.Token, in.HpsType, &in.Body)
			if err != nil {
				return nil, err
			}
			out := v1HPSRequest(o.Request, clear.Today())
			out.UserCreated = &o.UserCreated
			return &v1HPSOutput{Body: out}, nil
		})
}

const publicSubmitDoc = "One transaction: the link is locked and checked (401 \"Token inválido o expirado\" when unknown, " +
	"expired, revoked or already used — a link works once), the form validated (400 per field), the applicant's account " +
	"found or made by the link's e-mail (member, temporary password sent only by e-mail, must change it; team of the " +
	"link's creator if they lead one, else AICOX), the request filed as pending (409 when the person already has an open " +
	"request), a transfer's form filled from the active template of the creator's role, the link marked used, everything " +
	"audited and the credentials e-mail queued. The answer never carries a password."

// HpsPublicResult is the Django answer to a public submission: the
// request and whether an account was made. Neither answer carries a
// password: the temporary one travels only in the credentials e-mail.
type HpsPublicResult struct {
	HpsRequest
	UserCreated bool `json:"user_created"`
}
