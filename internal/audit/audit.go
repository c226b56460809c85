// Package audit carries who is acting (user, address, user agent) through a
// request's context and defines the audit log entry every mutation writes,
// in the same transaction as the change (the writing itself is in
// sqlstore). Secrets never reach an entry: Redact removes them.
package audit

import (
	"context"
	"strings"
	"time"
)

// Actor is who performs an action.
type Actor struct {
	UserID *int64
	// Name labels non-user actors: "system", "cli", "api-key:<name>".
	Name      string
	IP        string
	UserAgent string
}

type ctxKey struct{}

// WithActor returns ctx carrying a.
func WithActor(ctx context.Context, a Actor) context.Context {
	return context.WithValue(ctx, ctxKey{}, a)
}

// ActorFrom returns the actor in ctx; "system" when there is none.
func ActorFrom(ctx context.Context) Actor {
	if a, ok := ctx.Value(ctxKey{}).(Actor); ok {
		return a
	}
	return Actor{Name: "system"}
}

// WithUser returns ctx whose actor is the given user, keeping address and
// user agent.
func WithUser(ctx context.Context, userID int64) context.Context {
	a := ActorFrom(ctx)
	id := userID
	a.UserID = &id
	if a.Name == "system" {
		a.Name = ""
	}
	return WithActor(ctx, a)
}

// Entry is one audit log row (legacy audit_logs shape).
type Entry struct {
	ID        string
	UserID    *int64
	Actor     string
	Action    string
	TableName string
	RecordID  string
	OldValues map[string]any
	NewValues map[string]any
	IP        string
	UserAgent string
	CreatedAt time.Time
}

// Common actions.
const (
	ActionCreate         = "create"
	ActionUpdate         = "update"
	ActionDelete         = "delete"
	ActionLogin          = "login"
	ActionLoginFailed    = "login_failed"
	ActionLogout         = "logout"
	ActionPasswordChange = "password_change"
	ActionPasswordReset  = "password_reset"
	ActionActivate       = "activate"
	ActionDeactivate     = "deactivate"
	ActionRoleChange     = "role_change"
	ActionPermissions    = "permissions_change"
	ActionTokenRefresh   = "token_refresh"
)

// secretKeys are field names whose values never enter the log.
var secretKeys = []string{"password", "token", "secret", "hash", "api_key", "apikey", "refresh", "access"}

// Redact returns a copy of m without secret fields (matched by name,
// case-insensitively, also inside nested maps).
func Redact(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	out := make(map[string]any, len(m))
	for k, v := range m {
		lk := strings.ToLower(k)
		secret := false
		for _, s := range secretKeys {
			if strings.Contains(lk, s) {
				secret = true
				break
			}
		}
		if secret {
			continue
		}
		if sub, ok := v.(map[string]any); ok {
			v = Redact(sub)
		}
		out[k] = v
	}
	return out
}
