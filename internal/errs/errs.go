// Package errs defines the domain error kinds shared by every thot package.
//
// Domain and store code return *Error values (or wrap them); the HTTP layer
// maps a Kind to a status code in exactly one place (httpapi/errors.go). Any
// error that is not an *Error is internal: its text is logged, never shown.
package errs

import (
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"
)

// Kind classifies an error for callers; it never carries user-facing text.
type Kind int

const (
	// KindInternal is an unexpected failure. Its message is never shown.
	KindInternal Kind = iota
	// KindInvalid means the request is malformed or breaks a rule. Fields may say which.
	KindInvalid
	// KindNotFound means the addressed object does not exist or is not visible.
	KindNotFound
	// KindConflict means the change collides with existing state (duplicate, stale).
	KindConflict
	// KindUnauthenticated means no valid credentials were presented.
	KindUnauthenticated
	// KindForbidden means the caller is known but not allowed.
	KindForbidden
	// KindTooMany means the caller is throttled.
	KindTooMany
	// KindUnavailable means a dependency (database, mail relay) is down.
	KindUnavailable
)

func (k Kind) String() string {
	switch k {
	case KindInvalid:
		return "invalid"
	case KindNotFound:
		return "not_found"
	case KindConflict:
		return "conflict"
	case KindUnauthenticated:
		return "unauthenticated"
	case KindForbidden:
		return "forbidden"
	case KindTooMany:
		return "too_many"
	case KindUnavailable:
		return "unavailable"
	default:
		return "internal"
	}
}

// Error is a domain error. Message is safe to show to the API client.
// Fields holds per-field messages (DRF's {"field": ["msg"]} shape); nested
// maps are allowed for per-line errors ({"articulos": {"3": {...}}}).
type Error struct {
	Kind    Kind
	Message string
	// Code is an optional machine-readable code ("password_change_required").
	Code string
	// Fields maps a field name to []string or to a nested map[string]any.
	Fields map[string]any
	// Extra holds further top-level body keys (SimpleJWT's "messages").
	Extra map[string]any
	// RetryAfter, for KindTooMany, says how long the caller must wait.
	RetryAfter time.Duration
	// Err is the underlying cause, for logs only.
	Err error
}

func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Kind.String())
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	}
	if len(e.Fields) > 0 {
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		fmt.Fprintf(&b, " (fields: %s)", strings.Join(keys, ", "))
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// KindOf reports the Kind of err, KindInternal for foreign errors and nil.
func KindOf(err error) Kind {
	var e *Error
	if errors.As(err, &e) {
		return e.Kind
	}
	return KindInternal
}

// As returns the *Error inside err, if any.
func As(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// Is reports whether err is a domain error of kind k.
func Is(err error, k Kind) bool {
	e, ok := As(err)
	return ok && e.Kind == k
}

// New returns a domain error of the given kind with a client-safe message.
func New(k Kind, format string, args ...any) *Error {
	return &Error{Kind: k, Message: fmt.Sprintf(format, args...)}
}

// NotFound is the usual "No encontrado." error for a missing object.
func NotFound(what string) *Error {
	return &Error{Kind: KindNotFound, Message: what + " not found."}
}

// Conflict returns a conflict error with a client-safe message.
func Conflict(format string, args ...any) *Error {
	return New(KindConflict, format, args...)
}

// Forbidden returns a permission error with a client-safe message.
func Forbidden(format string, args ...any) *Error {
	return New(KindForbidden, format, args...)
}

// Invalid returns a validation error without field detail.
func Invalid(format string, args ...any) *Error {
	return New(KindInvalid, format, args...)
}

// Field returns a validation error for a single field.
func Field(field, msg string) *Error {
	return &Error{Kind: KindInvalid, Fields: map[string]any{field: []string{msg}}}
}

// Internal wraps an unexpected error. The message shown is generic.
func Internal(err error) *Error {
	return &Error{Kind: KindInternal, Err: err}
}

// FieldErrors accumulates per-field validation messages. The zero value is
// ready to use; Err returns nil when nothing was added.
type FieldErrors map[string]any

// Add appends msg to field's messages.
func (f FieldErrors) Add(field, msg string) {
	cur, _ := f[field].([]string)
	f[field] = append(cur, msg)
}

// Nest stores a nested error map under key (e.g. per-line errors).
func (f FieldErrors) Nest(key string, sub map[string]any) {
	if len(sub) == 0 {
		return
	}
	f[key] = sub
}

// Err returns a KindInvalid *Error with these fields, or nil if empty.
func (f FieldErrors) Err() error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Kind: KindInvalid, Fields: map[string]any(f)}
}
