package httpapi

import (
	"context"
	"net/http"
	"net/url"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// Authentication and authorization for every operation happen here, in
// one huma middleware, from the Access rule the operation declared:
//
//  1. public operations run as they are;
//  2. others need `Authorization: Bearer <access JWT>` (SimpleJWT's
//     parsing rules and error bodies); the user, role, permissions and led
//     teams are read from the database on every request;
//  3. a user with a temporary password may only call the operations marked
//     AllowPasswordChange (change password, own profile, refresh, logout);
//  4. "staff" needs is_staff, "permission" needs the codename;
//  5. "api-key" operations take an API key instead (apiKeyMiddleware),
//     never a JWT; the extension's also a request without credentials from
//     THOT_EXTENSION_TRUSTED_NETWORKS (serveKeyless).
//
// Authorization never looks at token claims beyond the user id.

type ctxKeyPrincipal struct{}

// PrincipalFrom returns the authenticated caller, nil on public routes.
func PrincipalFrom(ctx context.Context) *identity.Principal {
	p, _ := ctx.Value(ctxKeyPrincipal{}).(*identity.Principal)
	return p
}

// withPrincipal stores p and makes it the audit actor.
func withPrincipal(ctx context.Context, p *identity.Principal) context.Context {
	ctx = context.WithValue(ctx, ctxKeyPrincipal{}, p)
	return audit.WithUser(ctx, p.User.ID)
}

// actorMiddleware puts the client address and user agent into every
// request's audit actor, and the absolute request URL into the context
// (for pagination links and absolute file URLs).
func actorMiddleware(trustProxy bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ctx := audit.WithActor(r.Context(), audit.Actor{IP: clientIP(r), UserAgent: r.UserAgent()})
			u := *r.URL
			u.Host = r.Host
			u.Scheme = "http"
			if r.TLS != nil || (trustProxy && r.Header.Get("X-Forwarded-Proto") == "https") {
				u.Scheme = "https"
			}
			ctx = context.WithValue(ctx, ctxKeyURL{}, &u)
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

type ctxKeyURL struct{}

// RequestURL is the absolute URL of the current request.
func RequestURL(ctx context.Context) *url.URL {
	u, _ := ctx.Value(ctxKeyURL{}).(*url.URL)
	return u
}

var errBadAuthHeader = &errs.Error{Kind: errs.KindUnauthenticated, Code: "bad_authorization_header",
	Message: "Authorization header must contain two space-delimited values"}

// bearer extracts the token as SimpleJWT does: the scheme is matched
// case-sensitively; anything else means "no credentials".
func bearer(header string) (string, error) {
	parts := strings.Fields(header)
	if len(parts) == 0 || parts[0] != "Bearer" {
		return "", identity.ErrNoCredentials
	}
	if len(parts) != 2 {
		return "", errBadAuthHeader
	}
	return parts[1], nil
}

// authenticateRequest resolves the caller of a plain HTTP request (used by
// non-huma routes such as the job dashboard and the chat websocket).
func (s *Server) authenticateRequest(r *http.Request) (*identity.Principal, error) {
	tok, err := bearer(r.Header.Get("Authorization"))
	if err != nil {
		return nil, err
	}
	return s.deps.Auth.Authenticate(r.Context(), tok)
}

// authenticateAdmin also accepts the admin-page cookie (adminlogin.go).
func (s *Server) authenticateAdmin(r *http.Request) (*identity.Principal, error) {
	if r.Header.Get("Authorization") == "" {
		if c, err := r.Cookie(adminCookie); err == nil && c.Value != "" {
			return s.deps.Auth.Authenticate(r.Context(), c.Value)
		}
	}
	return s.authenticateRequest(r)
}

// authorize checks a principal against a rule.
func authorize(p *identity.Principal, a Access) error {
	if p.User.PasswordChangeRequired() && !a.AllowPasswordChange {
		return identity.ErrPasswordChangeRequired
	}
	switch a.Kind {
	case "authenticated":
		return nil
	case "staff":
		if p.User.IsStaff || p.User.IsSuperuser {
			return nil
		}
	case "permission":
		if p.Can(a.Permission) {
			return nil
		}
	case "permission-any":
		for _, c := range a.AnyOf {
			if p.Can(c) {
				return nil
			}
		}
	}
	return errPermissionDenied
}

// errPermissionDenied is the route-level refusal; its code tells it apart
// from refusals a handler makes about a particular object.
var errPermissionDenied = &errs.Error{Kind: errs.KindForbidden, Code: "permission_denied",
	Message: "You do not have permission to perform this action."}

// authMiddleware is the huma middleware applying each operation's rule.
func (s *Server) authMiddleware(hctx huma.Context, next func(huma.Context)) {
	op := hctx.Operation()
	a, ok := AccessOf(op)
	if !ok {
		// Unreachable: Register always sets a rule. Refuse rather than
		// serve an operation nobody decided about.
		s.writeHumaError(hctx, errs.New(errs.KindForbidden, "This route has no access rule."))
		return
	}
	if a.Kind == "public" {
		next(hctx)
		return
	}
	if a.Kind == "api-key" {
		s.apiKeyMiddleware(hctx, a, next)
		return
	}
	if s.deps.Auth == nil {
		s.writeHumaError(hctx, errs.New(errs.KindUnavailable, "Authentication is not configured."))
		return
	}
	tok, err := bearer(hctx.Header("Authorization"))
	if err != nil {
		s.writeHumaError(hctx, err)
		return
	}
	p, err := s.deps.Auth.Authenticate(hctx.Context(), tok)
	if err != nil {
		s.writeHumaError(hctx, err)
		return
	}
	if err := authorize(p, a); err != nil {
		s.writeHumaError(hctx, err)
		return
	}
	next(huma.WithContext(hctx, withPrincipal(hctx.Context(), p)))
}

type ctxKeyAPIKey struct{}

// APIKeyFrom returns the API key that authenticated the call, nil on
// routes that are not "api-key".
func APIKeyFrom(ctx context.Context) *clearance.APIKey {
	k, _ := ctx.Value(ctxKeyAPIKey{}).(*clearance.APIKey)
	return k
}

var errAPIKeyRequired = &errs.Error{Kind: errs.KindUnauthenticated, Code: "api_key_required",
	Message: "Esta ruta requiere una clave API: «Authorization: Api-Key <clave>» o «X-API-Key: <clave>»."}

// presentedAPIKey reads `Authorization: Api-Key <key>` (scheme matched
// case-insensitively), else `X-API-Key: <key>`; "" when neither.
func presentedAPIKey(authorization, xAPIKey string) string {
	if scheme, key, ok := strings.Cut(strings.TrimSpace(authorization), " "); ok && strings.EqualFold(scheme, "Api-Key") {
		return strings.TrimSpace(key)
	}
	return strings.TrimSpace(xAPIKey)
}

// apiKeyMiddleware authenticates an "api-key" operation: only a live key
// of the operation's scope passes (a JWT does not); the key becomes the
// audit actor ("api-key:<name>", no user), so every change made through
// it is recorded under its name.
func (s *Server) apiKeyMiddleware(hctx huma.Context, a Access, next func(huma.Context)) {
	if s.deps.Clearance == nil {
		s.writeHumaError(hctx, errs.New(errs.KindUnavailable, "API keys are not configured."))
		return
	}
	key := presentedAPIKey(hctx.Header("Authorization"), hctx.Header("X-API-Key"))
	if key == "" {
		if s.serveKeyless(hctx, a, next) {
			return
		}
		s.writeHumaError(hctx, errAPIKeyRequired)
		return
	}
	k, err := s.deps.Clearance.AuthenticateKey(hctx.Context(), key, a.Scope)
	if err != nil {
		s.writeHumaError(hctx, err)
		return
	}
	ctx := hctx.Context()
	actor := audit.ActorFrom(ctx)
	actor.UserID, actor.Name = nil, k.AuditName()
	ctx = context.WithValue(audit.WithActor(ctx, actor), ctxKeyAPIKey{}, k)
	next(huma.WithContext(hctx, ctx))
}

// writeHumaError renders err from inside a huma middleware.
func (s *Server) writeHumaError(hctx huma.Context, err error) {
	e := FromError(hctx.Context(), err)
	for k, vs := range e.Headers {
		for _, v := range vs {
			hctx.AppendHeader(k, v)
		}
	}
	hctx.SetHeader("Content-Type", "application/json")
	hctx.SetStatus(e.Status)
	b, _ := e.MarshalJSON()
	_, _ = hctx.BodyWriter().Write(append(b, '\n'))
}

// requireStaff guards plain handlers (riverui) with the same rules.
func (s *Server) requireStaff(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if s.deps.Auth == nil {
			WriteError(w, r, errs.New(errs.KindForbidden, "Authentication is not configured."))
			return
		}
		p, err := s.authenticateAdmin(r)
		if err == nil {
			err = authorize(p, Staff)
		}
		if errs.Is(err, errs.KindUnauthenticated) && r.Method == http.MethodGet && r.Header.Get("Authorization") == "" {
			http.Redirect(w, r, "/admin/login/", http.StatusSeeOther)
			return
		}
		if err != nil {
			WriteError(w, r, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(withPrincipal(r.Context(), p)))
	})
}
