package httpapi

import (
	"context"

	"github.com/danielgtaylor/huma/v2"
)

// Access declares who may call an operation. Every operation registers
// one; the route×role test in the identity work walks them all, so a route
// without a declared rule cannot slip in.
type Access struct {
	// Kind is "public", "authenticated", "staff" or "permission".
	Kind string
	// Permission is the codename required when Kind is "permission".
	Permission string
}

// Common access rules.
var (
	Public        = Access{Kind: "public"}
	Authenticated = Access{Kind: "authenticated"}
	Staff         = Access{Kind: "staff"}
)

// Permission requires the named permission codename.
func Permission(codename string) Access { return Access{Kind: "permission", Permission: codename} }

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
	if access.Kind != "public" {
		op.Security = []map[string][]string{{"bearer": {}}}
	}
	if access.Kind == "permission" {
		op.Description += "\n\nRequires permission `" + access.Permission + "`."
	}
	// The body is already capped by limitBody; huma's own cap would only
	// second-guess the configured value.
	op.MaxBodyBytes = -1
	huma.Register(api, op, h)
}

// AccessOf returns the declared rule of a registered operation.
func AccessOf(op *huma.Operation) (Access, bool) {
	a, ok := op.Metadata[metaAccess].(Access)
	return a, ok
}
