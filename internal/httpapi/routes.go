package httpapi

import (
	"context"
	"strings"

	"github.com/danielgtaylor/huma/v2"
)

// Access declares who may call an operation. Every operation registers
// one; the route×role test in the identity work walks them all, so a route
// without a declared rule cannot slip in.
type Access struct {
	// Kind is "public", "authenticated", "staff", "permission",
	// "permission-any" or "api-key".
	Kind string
	// Permission is the codename required when Kind is "permission".
	Permission string
	// AnyOf lists codenames of which one suffices ("permission-any").
	AnyOf []string
	// Scope is the API-key scope an "api-key" operation requires.
	Scope string
	// AllowPasswordChange lets a user who must change the password call
	// the operation (change password, own profile, refresh, logout).
	AllowPasswordChange bool
}

// Common access rules.
var (
	Public        = Access{Kind: "public"}
	Authenticated = Access{Kind: "authenticated"}
	Staff         = Access{Kind: "staff"}
)

// Permission requires the named permission codename.
func Permission(codename string) Access { return Access{Kind: "permission", Permission: codename} }

// AnyPermission requires one of the codenames.
func AnyPermission(codenames ...string) Access {
	return Access{Kind: "permission-any", AnyOf: codenames}
}

// APIKey requires an API key of the scope (`Authorization: Api-Key <key>`
// or `X-API-Key: <key>`) and nothing else: a user's JWT, whatever the
// role, is not a key (401). Machine routes stay machine routes, so what a
// key may do never grows with a user's permissions, and the audit actor
// is always the key.
func APIKey(scope string) Access { return Access{Kind: "api-key", Scope: scope} }

// DuringPasswordChange marks a rule as usable with a temporary password.
func (a Access) DuringPasswordChange() Access { a.AllowPasswordChange = true; return a }

// metaAccess is the operation metadata key holding the Access rule.
const metaAccess = "thot-access"

// Register adds a huma operation with its access rule. It sets the
// defaults every thot operation shares: the body limit comes from the
// server-wide middleware, and errors are documented in the DRF shape.
func Register[I, O any](api huma.API, op huma.Operation, access Access, h func(context.Context, *I) (*O, error)) {
	if op.Metadata == nil {
		op.Metadata = map[string]any{}
	}
	op.Metadata[metaAccess] = access
	switch access.Kind {
	case "public":
	case "api-key":
		registerAPIKeyScheme(api)
		op.Security = []map[string][]string{{"apiKey": {}}, {"apiKeyHeader": {}}}
		op.Description += "\n\nRequires an API key of scope `" + access.Scope + "` (`Authorization: Api-Key <key>` or `X-API-Key: <key>`); a user's JWT is not accepted."
	default:
		op.Security = []map[string][]string{{"bearer": {}}}
	}
	switch access.Kind {
	case "permission":
		op.Description += "\n\nRequires permission `" + access.Permission + "`."
	case "permission-any":
		op.Description += "\n\nRequires one of the permissions `" + strings.Join(access.AnyOf, "`, `") + "`."
	}
	// The body is already capped by limitBody; huma's own cap would only
	// second-guess the configured value.
	op.MaxBodyBytes = -1
	huma.Register(api, op, h)
}

// registerAPIKeyScheme documents the two ways of sending an API key.
func registerAPIKeyScheme(api huma.API) {
	c := api.OpenAPI().Components
	if c.SecuritySchemes == nil {
		c.SecuritySchemes = map[string]*huma.SecurityScheme{}
	}
	if _, ok := c.SecuritySchemes["apiKey"]; ok {
		return
	}
	c.SecuritySchemes["apiKey"] = &huma.SecurityScheme{Type: "apiKey", In: "header", Name: "Authorization",
		Description: "`Api-Key <key>`"}
	c.SecuritySchemes["apiKeyHeader"] = &huma.SecurityScheme{Type: "apiKey", In: "header", Name: "X-API-Key"}
}

// AccessOf returns the declared rule of a registered operation.
func AccessOf(op *huma.Operation) (Access, bool) {
	a, ok := op.Metadata[metaAccess].(Access)
	return a, ok
}
