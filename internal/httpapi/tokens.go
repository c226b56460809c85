package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// Token endpoints: SimpleJWT's four views, with their exact bodies.

// Field is a JSON string input that remembers whether it was absent,
// null or given, so the answers say what DRF says ("required", "may not
// be null", "may not be blank").
type Field struct {
	Set, Null bool
	Value     string
}

// UnmarshalJSON records presence and nullness.
func (f *Field) UnmarshalJSON(b []byte) error {
	f.Set = true
	if string(b) == "null" {
		f.Null = true
		return nil
	}
	return json.Unmarshal(b, &f.Value)
}

// Schema documents a string.
func (Field) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Type: huma.TypeString, Nullable: true}
}

// The token inputs take pointer bodies: an empty body must give DRF's
// per-field "required" errors, not a missing-body error.
type obtainInput struct {
	Body *struct {
		Username Field `json:"username,omitempty" doc:"Username or e-mail"`
		Email    Field `json:"email,omitempty" doc:"Accepted instead of username"`
		Password Field `json:"password,omitempty"`
	}
}

// TokenPair is {refresh, access}.
type TokenPair struct {
	Refresh string `json:"refresh"`
	Access  string `json:"access"`
}

type tokenPairOutput struct{ Body TokenPair }

type refreshInput struct {
	Body *struct {
		Refresh Field `json:"refresh,omitempty"`
	}
}

// RefreshBody is SimpleJWT's refresh answer: {access}, and with rotation
// {access, refresh} in that order.
type RefreshBody struct {
	Access  string `json:"access"`
	Refresh string `json:"refresh,omitempty" doc:"Only when refresh tokens rotate (THOT_ROTATE_REFRESH_TOKENS)"`
}

type verifyInput struct {
	Body *struct {
		Token Field `json:"token,omitempty"`
	}
}

type emptyOutput struct{ Body struct{} }

// requiredString applies DRF's CharField rules to one input (passwords
// are not trimmed).
func requiredString(fe errs.FieldErrors, name string, v Field) string {
	switch {
	case !v.Set:
		fe.Add(name, "This field is required.")
	case v.Null:
		fe.Add(name, "This field may not be null.")
	case v.Value == "" || (name != "password" && strings.TrimSpace(v.Value) == ""):
		fe.Add(name, "This field may not be blank.")
	default:
		return v.Value
	}
	return ""
}

func (s *Server) registerTokens() {
	Register(s.API, huma.Operation{OperationID: "token-obtain", Method: http.MethodPost, Path: "/api/token/", Tags: []string{"auth"},
		Summary: "Log in: username or e-mail and password → refresh and access tokens"}, Public,
		func(ctx context.Context, in *obtainInput) (*tokenPairOutput, error) {
			var user, email, pw Field
			if in.Body != nil {
				user, email, pw = in.Body.Username, in.Body.Email, in.Body.Password
			}
			if !user.Set && email.Set {
				user = email
			}
			fe := errs.FieldErrors{}
			login := requiredString(fe, "username", user)
			password := requiredString(fe, "password", pw)
			if err := fe.Err(); err != nil {
				return nil, err
			}
			res, err := s.deps.Auth.Login(ctx, login, password)
			if err != nil {
				return nil, err
			}
			return &tokenPairOutput{Body: TokenPair{Refresh: res.Pair.Refresh, Access: res.Pair.Access}}, nil
		})
	refresh := func(ctx context.Context, in *refreshInput) (*struct{ Body RefreshBody }, error) {
		fe := errs.FieldErrors{}
		var f Field
		if in.Body != nil {
			f = in.Body.Refresh
		}
		tok := requiredString(fe, "refresh", f)
		if err := fe.Err(); err != nil {
			return nil, err
		}
		r, err := s.deps.Auth.Refresh(ctx, tok)
		if err != nil {
			return nil, err
		}
		return &struct{ Body RefreshBody }{Body: RefreshBody{Access: r.Access, Refresh: r.Refresh}}, nil
	}
	Register(s.API, huma.Operation{OperationID: "token-refresh", Method: http.MethodPost, Path: "/api/token/refresh/", Tags: []string{"auth"},
		Summary: "A new access token for a refresh token; the refresh token stays good unless rotation is on (then a new one is returned and the old one blacklisted)"}, Public, refresh)
	// The cryptotrace AC21 editor refreshes at this path (AC21Detail.tsx);
	// the legacy answered 404 there, so saving an edit after the access
	// token expired failed. Same view.
	Register(s.API, huma.Operation{OperationID: "token-refresh-auth", Method: http.MethodPost, Path: "/api/auth/token/refresh/", Tags: []string{"auth"},
		Summary: "Same as /api/token/refresh/ (the cryptotrace AC21 editor's path)"}, Public, refresh)
	Register(s.API, huma.Operation{OperationID: "token-verify", Method: http.MethodPost, Path: "/api/token/verify/", Tags: []string{"auth"},
		Summary: "Check a token"}, Public,
		func(ctx context.Context, in *verifyInput) (*emptyOutput, error) {
			fe := errs.FieldErrors{}
			var f Field
			if in.Body != nil {
				f = in.Body.Token
			}
			tok := requiredString(fe, "token", f)
			if err := fe.Err(); err != nil {
				return nil, err
			}
			return &emptyOutput{}, s.deps.Auth.Verify(ctx, tok)
		})
	Register(s.API, huma.Operation{OperationID: "token-blacklist", Method: http.MethodPost, Path: "/api/token/blacklist/", Tags: []string{"auth"},
		Summary: "Log out: blacklist a refresh token and end its session"}, Public,
		func(ctx context.Context, in *refreshInput) (*emptyOutput, error) {
			fe := errs.FieldErrors{}
			var f Field
			if in.Body != nil {
				f = in.Body.Refresh
			}
			tok := requiredString(fe, "refresh", f)
			if err := fe.Err(); err != nil {
				return nil, err
			}
			return &emptyOutput{}, s.deps.Auth.Logout(ctx, tok)
		})
	Register(s.API, huma.Operation{OperationID: "token-logout", Method: http.MethodPost, Path: "/api/token/logout/", Tags: []string{"auth"},
		Summary: "Log out the caller's session (HPS frontend); blacklists the refresh token too when one is given"}, Authenticated.DuringPasswordChange(),
		func(ctx context.Context, in *refreshInput) (*struct{ Body MessageBody }, error) {
			var f Field
			if in.Body != nil {
				f = in.Body.Refresh
			}
			if err := s.logout(ctx, f.Value); err != nil {
				return nil, err
			}
			return &struct{ Body MessageBody }{Body: MessageBody{Message: msgLoggedOut, Detail: msgLoggedOut}}, nil
		})
}

const msgLoggedOut = "Sesión cerrada exitosamente"

// logout ends the caller's session and, when the client also gives a
// refresh token, blacklists it. The HPS frontend sends no body at all; a
// refresh token that is already dead does not make a logout fail.
func (s *Server) logout(ctx context.Context, refresh string) error {
	if refresh != "" {
		if err := s.deps.Auth.Logout(ctx, refresh); err != nil && !errs.Is(err, errs.KindUnauthenticated) {
			return err
		}
	}
	return s.deps.Auth.EndSession(ctx, PrincipalFrom(ctx))
}

// ---- FastAPI-compatible auth (/api/v1/auth/...) ----

type v1LoginInput struct {
	Body struct {
		Email    string `json:"email" required:"true"`
		Password string `json:"password" required:"true"`
	}
}

// V1Token is the FastAPI login answer.
type V1Token struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int    `json:"expires_in"`
	UserID      string `json:"user_id"`
	Email       string `json:"email"`
	Role        string `json:"role"`
}

// V1User is the FastAPI UserResponse.
type V1User struct {
	ID             string  `json:"id"`
	Email          string  `json:"email"`
	FirstName      string  `json:"first_name"`
	LastName       string  `json:"last_name"`
	FullName       string  `json:"full_name"`
	Role           string  `json:"role"`
	IsActive       bool    `json:"is_active"`
	IsTempPassword bool    `json:"is_temp_password"`
	TeamID         *string `json:"team_id"`
	TeamName       *string `json:"team_name"`
	CreatedAt      string  `json:"created_at"`
	UpdatedAt      string  `json:"updated_at"`
}

// legacyUserID is the user's id as the FastAPI clients knew it.
func legacyUserID(u *identity.User) string {
	if u.LegacyHPSID != nil {
		return *u.LegacyHPSID
	}
	return strconv.FormatInt(u.ID, 10)
}

func isoTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000000Z07:00") }

func v1User(u *identity.User) V1User {
	out := V1User{ID: legacyUserID(u), Email: u.Email, FirstName: u.FirstName, LastName: u.LastName, FullName: u.FullName(),
		Role: u.RoleName, IsActive: u.IsActive, IsTempPassword: u.PasswordChangeRequired(), TeamID: u.TeamID,
		CreatedAt: isoTime(u.DateJoined), UpdatedAt: isoTime(u.DateJoined)}
	if u.TeamName != "" {
		n := u.TeamName
		out.TeamName = &n
	}
	if u.UpdatedAt != nil {
		out.UpdatedAt = isoTime(*u.UpdatedAt)
	}
	return out
}

// MessageBody is the FastAPI {message, detail} answer.
type MessageBody struct {
	Message string `json:"message"`
	Detail  string `json:"detail"`
	// AccessToken is a fresh token of the caller's session after a
	// password change (the tokens it holds keep working too).
	AccessToken string `json:"access_token,omitempty"`
}

type changePasswordInput struct {
	Body struct {
		CurrentPassword string `json:"current_password"`
		NewPassword     string `json:"new_password"`
		ConfirmPassword string `json:"confirm_password"`
	}
}

type v1LogoutInput struct {
	Body *struct {
		Refresh string `json:"refresh,omitempty" doc:"Optional refresh token to blacklist"`
	}
}

func (s *Server) registerV1Auth() {
	Register(s.API, huma.Operation{OperationID: "v1-login", Method: http.MethodPost, Path: "/api/v1/auth/login", Tags: []string{"auth", "fastapi"},
		Summary: "Log in (hps-system contract)"}, Public,
		func(ctx context.Context, in *v1LoginInput) (*struct{ Body V1Token }, error) {
			res, err := s.deps.Auth.Login(ctx, in.Body.Email, in.Body.Password)
			if errs.Is(err, errs.KindUnauthenticated) {
				return nil, &errs.Error{Kind: errs.KindUnauthenticated, Message: "Email o contraseña incorrectos", Err: err}
			}
			if err != nil {
				return nil, err
			}
			u := res.User
			return &struct{ Body V1Token }{Body: V1Token{AccessToken: res.Pair.Access, TokenType: "bearer",
				ExpiresIn: int(s.deps.Auth.Tokens().AccessTTL.Seconds()), UserID: legacyUserID(u), Email: u.Email, Role: u.RoleName}}, nil
		})
	Register(s.API, huma.Operation{OperationID: "v1-me", Method: http.MethodGet, Path: "/api/v1/auth/me", Tags: []string{"auth", "fastapi"},
		Summary: "The caller (hps-system contract)"}, Authenticated.DuringPasswordChange(),
		func(ctx context.Context, _ *struct{}) (*struct{ Body V1User }, error) {
			return &struct{ Body V1User }{Body: v1User(PrincipalFrom(ctx).User)}, nil
		})
	Register(s.API, huma.Operation{OperationID: "v1-logout", Method: http.MethodPost, Path: "/api/v1/auth/logout", Tags: []string{"auth", "fastapi"},
		Summary: "Log out the caller's session (hps-system contract); blacklists the refresh token too when given"}, Authenticated.DuringPasswordChange(),
		func(ctx context.Context, in *v1LogoutInput) (*struct{ Body MessageBody }, error) {
			refresh := ""
			if in.Body != nil {
				refresh = in.Body.Refresh
			}
			if err := s.logout(ctx, refresh); err != nil {
				return nil, err
			}
			return &struct{ Body MessageBody }{Body: MessageBody{Message: msgLoggedOut, Detail: msgLoggedOut}}, nil
		})
	Register(s.API, huma.Operation{OperationID: "v1-change-password", Method: http.MethodPost, Path: "/api/v1/auth/change-password", Tags: []string{"auth", "fastapi"},
		Summary: "Change the caller's password (hps-system contract)"}, Authenticated.DuringPasswordChange(),
		func(ctx context.Context, in *changePasswordInput) (*struct{ Body MessageBody }, error) {
			pair, err := s.deps.Auth.ChangePassword(ctx, PrincipalFrom(ctx), in.Body.CurrentPassword, in.Body.NewPassword, in.Body.ConfirmPassword)
			if err != nil {
				return nil, err
			}
			return &struct{ Body MessageBody }{Body: MessageBody{Message: "Contraseña cambiada exitosamente", Detail: "Contraseña cambiada exitosamente", AccessToken: pair.Access}}, nil
		})
	Register(s.API, huma.Operation{OperationID: "v1-verify-token", Method: http.MethodPost, Path: "/api/v1/auth/verify-token", Tags: []string{"auth", "fastapi"},
		Summary: "Check the caller's token (hps-system contract)"}, Authenticated.DuringPasswordChange(),
		func(ctx context.Context, _ *struct{}) (*struct{ Body V1Verify }, error) {
			u := PrincipalFrom(ctx).User
			return &struct{ Body V1Verify }{Body: V1Verify{Valid: true, UserID: legacyUserID(u), Email: u.Email, FullName: u.FullName(), Role: u.RoleName, Message: "Token válido"}}, nil
		})
}

// V1Verify is the FastAPI verify-token answer.
type V1Verify struct {
	Valid    bool   `json:"valid"`
	UserID   string `json:"user_id"`
	Email    string `json:"email"`
	FullName string `json:"full_name"`
	Role     string `json:"role"`
	Message  string `json:"message"`
}

// ---- Django own-account endpoints ----

// Perfil is GET /api/auth/perfil/.
type Perfil struct {
	Username           string `json:"username"`
	Email              string `json:"email"`
	FirstName          string `json:"first_name"`
	LastName           string `json:"last_name"`
	MustChangePassword bool   `json:"must_change_password"`
	CreatedAt          string `json:"created_at"`
}

// OwnProfile is GET /api/hps/user/profile/.
type OwnProfile struct {
	ID                 int64    `json:"id"`
	Email              string   `json:"email"`
	Username           string   `json:"username"`
	FirstName          string   `json:"first_name"`
	LastName           string   `json:"last_name"`
	FullName           string   `json:"full_name"`
	Role               *string  `json:"role"`
	IsActive           bool     `json:"is_active"`
	IsTempPassword     bool     `json:"is_temp_password"`
	MustChangePassword bool     `json:"must_change_password"`
	TeamID             *string  `json:"team_id"`
	TeamName           *string  `json:"team_name"`
	Permissions        []string `json:"permissions"`
}

// CambiarPasswordBody is the Django change-password answer, plus a fresh
// pair of the caller's session (the tokens it holds keep working too).
type CambiarPasswordBody struct {
	Message                string `json:"message"`
	PasswordChangeRequired bool   `json:"password_change_required"`
	Refresh                string `json:"refresh"`
	Access                 string `json:"access"`
}

func (s *Server) registerOwnAccount() {
	Register(s.API, huma.Operation{OperationID: "perfil", Method: http.MethodGet, Path: "/api/auth/perfil/", Tags: []string{"auth"},
		Summary: "The caller's account"}, Authenticated.DuringPasswordChange(),
		func(ctx context.Context, _ *struct{}) (*struct{ Body Perfil }, error) {
			u := PrincipalFrom(ctx).User
			return &struct{ Body Perfil }{Body: Perfil{Username: u.Username, Email: u.Email, FirstName: u.FirstName, LastName: u.LastName,
				MustChangePassword: u.PasswordChangeRequired(), CreatedAt: isoTime(u.DateJoined)}}, nil
		})
	Register(s.API, huma.Operation{OperationID: "cambiar-password", Method: http.MethodPost, Path: "/api/auth/cambiar-password/", Tags: []string{"auth"},
		Summary: "Change the caller's password; ends the user's other sessions, the caller's goes on"}, Authenticated.DuringPasswordChange(),
		func(ctx context.Context, in *changePasswordInput) (*struct{ Body CambiarPasswordBody }, error) {
			pair, err := s.deps.Auth.ChangePassword(ctx, PrincipalFrom(ctx), in.Body.CurrentPassword, in.Body.NewPassword, in.Body.ConfirmPassword)
			if err != nil {
				return nil, err
			}
			return &struct{ Body CambiarPasswordBody }{Body: CambiarPasswordBody{Message: "Contraseña cambiada exitosamente.",
				Refresh: pair.Refresh, Access: pair.Access}}, nil
		})
	Register(s.API, huma.Operation{OperationID: "own-profile", Method: http.MethodGet, Path: "/api/hps/user/profile/", Tags: []string{"users"},
		Summary: "The caller's profile, role, team and permissions"}, Authenticated.DuringPasswordChange(),
		func(ctx context.Context, _ *struct{}) (*struct{ Body OwnProfile }, error) {
			p := PrincipalFrom(ctx)
			u := p.User
			out := OwnProfile{ID: u.ID, Email: u.Email, Username: u.Username, FirstName: u.FirstName, LastName: u.LastName, FullName: u.FullName(),
				IsActive: u.IsActive, IsTempPassword: u.IsTempPassword, MustChangePassword: u.PasswordChangeRequired(), TeamID: u.TeamID,
				Permissions: []string{}}
			if u.RoleName != "" {
				r := u.RoleName
				out.Role = &r
			}
			if u.TeamName != "" {
				n := u.TeamName
				out.TeamName = &n
			}
			for _, pi := range identity.Permissions {
				if p.Can(pi.Codename) {
					out.Permissions = append(out.Permissions, pi.Codename)
				}
			}
			return &struct{ Body OwnProfile }{Body: out}, nil
		})
}
