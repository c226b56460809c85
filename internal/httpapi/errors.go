package httpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/errs"
)

// This file is the one place where errors become HTTP responses. Bodies
// keep the shapes the legacy DRF clients parse:
//
//	{"detail": "…"}                     general errors
//	{"detail": "…", "code": "…"}        errors with a machine code
//	{"field": ["msg", …], …}            validation errors (nested for lines)
//
// A 500 never carries internal text; the cause is logged with the request ID.

// Error is a rendered API error. It satisfies huma.StatusError and
// huma.HeadersError so huma writes it like any other response.
type Error struct {
	Status  int
	Body    any
	Headers http.Header
	cause   error
}

func (e *Error) Error() string {
	if e.cause != nil {
		return fmt.Sprintf("http %d: %v", e.Status, e.cause)
	}
	return fmt.Sprintf("http %d", e.Status)
}

// GetStatus implements huma.StatusError.
func (e *Error) GetStatus() int { return e.Status }

// GetHeaders implements huma.HeadersError.
func (e *Error) GetHeaders() http.Header { return e.Headers }

// ContentType keeps DRF's plain JSON instead of problem+json.
func (e *Error) ContentType(string) string { return "application/json" }

// MarshalJSON renders only the body.
func (e *Error) MarshalJSON() ([]byte, error) { return json.Marshal(e.Body) }

// Detail is the {"detail": …} body.
type Detail struct {
	Detail string `json:"detail"`
	Code   string `json:"code,omitempty"`
}

// statusOf maps a domain error kind to its HTTP status.
func statusOf(k errs.Kind) int {
	switch k {
	case errs.KindInvalid:
		return http.StatusBadRequest
	case errs.KindNotFound:
		return http.StatusNotFound
	case errs.KindConflict:
		return http.StatusConflict
	case errs.KindUnauthenticated:
		return http.StatusUnauthorized
	case errs.KindForbidden:
		return http.StatusForbidden
	case errs.KindTooMany:
		return http.StatusTooManyRequests
	case errs.KindUnavailable:
		return http.StatusServiceUnavailable
	default:
		return http.StatusInternalServerError
	}
}

// defaultDetail is DRF's wording for each status, used when the domain
// error carries no message.
func defaultDetail(status int) string {
	switch status {
	case http.StatusBadRequest:
		return "Invalid input."
	case http.StatusUnauthorized:
		return "Authentication credentials were not provided."
	case http.StatusForbidden:
		return "You do not have permission to perform this action."
	case http.StatusNotFound:
		return "Not found."
	case http.StatusConflict:
		return "Conflict."
	case http.StatusRequestEntityTooLarge:
		return "Request body too large."
	case http.StatusTooManyRequests:
		return "Request was throttled."
	case http.StatusServiceUnavailable:
		return "Service temporarily unavailable, try again later."
	case http.StatusInternalServerError:
		return "A server error occurred."
	}
	return http.StatusText(status)
}

// FromError converts any error into the API error to send. Domain errors
// map by kind; anything else is a 500 whose cause is logged, not shown.
func FromError(ctx context.Context, err error) *Error {
	var ae *Error
	if errors.As(err, &ae) {
		return ae
	}
	var tooBig *http.MaxBytesError
	if errors.As(err, &tooBig) {
		return detailError(http.StatusRequestEntityTooLarge, "Request body too large.")
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return &Error{Status: http.StatusServiceUnavailable, Body: Detail{Detail: "The request took too long and was abandoned."}, cause: err}
	}
	if errors.Is(err, context.Canceled) {
		// The client went away; nobody reads this, but log it calmly.
		return &Error{Status: 499, Body: Detail{Detail: "Client closed request."}, cause: err}
	}
	de, ok := errs.As(err)
	if !ok || de.Kind == errs.KindInternal {
		logger(ctx).Error("internal error", "err", err)
		return &Error{Status: http.StatusInternalServerError, Body: Detail{Detail: defaultDetail(500)}, cause: err}
	}
	status := statusOf(de.Kind)
	e := &Error{Status: status, cause: err}
	switch {
	case len(de.Fields) > 0 && de.Message == "":
		e.Body = de.Fields
	case len(de.Fields) > 0:
		body := map[string]any{"detail": de.Message}
		for k, v := range de.Fields {
			body[k] = v
		}
		e.Body = body
	case len(de.Extra) > 0:
		body := map[string]any{"detail": de.Message}
		if de.Code != "" {
			body["code"] = de.Code
		}
		for k, v := range de.Extra {
			body[k] = v
		}
		e.Body = body
	default:
		msg := de.Message
		if msg == "" {
			msg = defaultDetail(status)
		}
		e.Body = Detail{Detail: msg, Code: de.Code}
	}
	if status == http.StatusUnauthorized {
		e.Headers = http.Header{"Www-Authenticate": {`Bearer realm="api"`}}
	}
	if status == http.StatusTooManyRequests && de.RetryAfter > 0 {
		retryAfter(e, int((de.RetryAfter+time.Second-1)/time.Second))
	}
	if status >= 500 {
		logger(ctx).Error("request failed", "status", status, "err", err)
	}
	return e
}

// WriteError renders err on a plain (non-huma) handler.
func WriteError(w http.ResponseWriter, r *http.Request, err error) {
	e := FromError(r.Context(), err)
	writeJSONError(w, e)
}

func writeJSONError(w http.ResponseWriter, e *Error) {
	for k, vs := range e.Headers {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	status := e.Status
	if status == 499 {
		status = http.StatusBadRequest
	}
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(e.Body)
}

// detailError builds a plain {"detail"} error.
func detailError(status int, msg string) *Error {
	return &Error{Status: status, Body: Detail{Detail: msg}}
}

// installHumaErrors makes huma produce DRF bodies for its own errors
// (body parsing, validation, content type, size) and for errors returned
// by handlers. huma.NewError is a package variable; thot has one API shape,
// so setting it once for the process is what we want.
func installHumaErrors() {
	huma.NewErrorWithContext = func(hctx huma.Context, status int, msg string, list ...error) huma.StatusError {
		var ctx context.Context = context.Background()
		if hctx != nil {
			ctx = hctx.Context()
		}
		se := humaError(ctx, status, msg, list...)
		// Headers of errors returned by handlers (Retry-After,
		// WWW-Authenticate) are only known after mapping, so set them here.
		if e, ok := se.(*Error); ok && hctx != nil {
			for k, vs := range e.Headers {
				for _, v := range vs {
					hctx.SetHeader(k, v)
				}
			}
		}
		return se
	}
	huma.NewError = func(status int, msg string, list ...error) huma.StatusError {
		return humaError(context.Background(), status, msg, list...)
	}
}

func humaError(ctx context.Context, status int, msg string, list ...error) huma.StatusError {
	// A handler returned a non-status error: it arrives here as a 500
	// wrapping the original, which may be a domain error.
	if status == http.StatusInternalServerError && len(list) == 1 {
		return FromError(ctx, list[0])
	}
	switch status {
	case http.StatusUnsupportedMediaType:
		return detailError(status, unsupportedMediaType(ctx))
	case http.StatusRequestEntityTooLarge:
		return detailError(status, "Request body too large.")
	case http.StatusBadRequest, http.StatusUnprocessableEntity:
		if d := parseFailure(list); d != "" {
			return detailError(http.StatusBadRequest, "JSON parse error - "+d)
		}
		if fields := validationFields(list); len(fields) > 0 {
			return &Error{Status: http.StatusBadRequest, Body: fields}
		}
	}
	if msg == "" {
		msg = defaultDetail(status)
	}
	return detailError(status, capitalise(msg))
}

func capitalise(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

type ctxKeyContentType struct{}

func unsupportedMediaType(ctx context.Context) string {
	ct, _ := ctx.Value(ctxKeyContentType{}).(string)
	return fmt.Sprintf("Unsupported media type %q in request.", ct)
}

// parseFailure returns the JSON syntax message when the body did not parse.
func parseFailure(list []error) string {
	for _, err := range list {
		var d *huma.ErrorDetail
		if errors.As(err, &d) && d.Location == "body" && !strings.HasPrefix(d.Message, "expected") {
			if strings.Contains(d.Message, "invalid character") || strings.Contains(d.Message, "unexpected end") ||
				strings.Contains(d.Message, "cannot unmarshal") || strings.Contains(d.Message, "EOF") {
				return d.Message
			}
		}
	}
	return ""
}

var (
	requiredRE = regexp.MustCompile(`^expected required property (\S+) to be present$`)
	indexRE    = regexp.MustCompile(`\[(\d+)\]`)
)

// validationFields turns huma's error details into DRF's field map:
// body.email → {"email": [...]}, body.articulos[3].numero_serie →
// {"articulos": {"3": {"numero_serie": [...]}}}, query.page → {"page": [...]}.
func validationFields(list []error) map[string]any {
	out := map[string]any{}
	for _, err := range list {
		var d *huma.ErrorDetail
		if !errors.As(err, &d) {
			continue
		}
		loc := d.Location
		msg := d.Message
		if m := requiredRE.FindStringSubmatch(msg); m != nil {
			if loc == "body" {
				loc = "body." + m[1]
			} else {
				loc = loc + "." + m[1]
			}
			msg = "This field is required."
		} else {
			msg = drfMessage(msg)
		}
		for _, p := range []string{"body.", "query.", "path.", "header.", "cookie."} {
			loc = strings.TrimPrefix(loc, p)
		}
		if loc == "body" || loc == "" {
			loc = "non_field_errors"
		}
		loc = indexRE.ReplaceAllString(loc, ".$1")
		addNested(out, strings.Split(loc, "."), msg)
	}
	return out
}

func addNested(m map[string]any, path []string, msg string) {
	if len(path) == 1 {
		cur, _ := m[path[0]].([]string)
		m[path[0]] = append(cur, msg)
		return
	}
	sub, ok := m[path[0]].(map[string]any)
	if !ok {
		sub = map[string]any{}
		m[path[0]] = sub
	}
	addNested(sub, path[1:], msg)
}

// drfMessage rewrites huma's common validation messages in DRF's words,
// which the frontends display.
func drfMessage(msg string) string {
	switch {
	case strings.HasPrefix(msg, "expected length >= "), strings.HasPrefix(msg, "expected string length >= "):
		n := msg[strings.LastIndex(msg, " ")+1:]
		return "Ensure this field has at least " + n + " characters."
	case strings.HasPrefix(msg, "expected length <= "), strings.HasPrefix(msg, "expected string length <= "):
		n := msg[strings.LastIndex(msg, " ")+1:]
		return "Ensure this field has no more than " + n + " characters."
	case msg == "expected string":
		return "Not a valid string."
	case msg == "expected integer" || msg == "expected number":
		return "A valid integer is required."
	case msg == "expected boolean":
		return "Must be a valid boolean."
	case strings.HasPrefix(msg, "expected value to be one of"):
		return `"` + "value" + `" is not a valid choice.`
	case strings.Contains(msg, "email"):
		return "Enter a valid email address."
	case strings.HasPrefix(msg, "expected number >= "):
		return "Ensure this value is greater than or equal to " + strings.TrimPrefix(msg, "expected number >= ") + "."
	case strings.HasPrefix(msg, "expected number <= "):
		return "Ensure this value is less than or equal to " + strings.TrimPrefix(msg, "expected number <= ") + "."
	case strings.HasPrefix(msg, "invalid integer"), strings.HasPrefix(msg, "invalid value"):
		return "A valid integer is required."
	}
	return capitalise(msg) + "."
}

// logger returns the request-scoped logger.
func logger(ctx context.Context) *slog.Logger {
	if l, ok := ctx.Value(ctxKeyLogger{}).(*slog.Logger); ok {
		return l
	}
	return slog.Default()
}

type ctxKeyLogger struct{}

// retryAfter adds a Retry-After header (seconds) to a 429.
func retryAfter(e *Error, seconds int) *Error {
	if e.Headers == nil {
		e.Headers = http.Header{}
	}
	e.Headers.Set("Retry-After", strconv.Itoa(seconds))
	return e
}

// Schema documents the DRF error body in the OpenAPI document (instead of
// the Go struct): either {"detail", "code"} or a map of field → messages.
func (e *Error) Schema(r huma.Registry) *huma.Schema {
	return &huma.Schema{
		Type:        huma.TypeObject,
		Description: `DRF error: {"detail": "...", "code": "..."} or {"<field>": ["message", ...]} (nested per line for list inputs).`,
		Properties: map[string]*huma.Schema{
			"detail": {Type: huma.TypeString, Description: "Human-readable error."},
			"code":   {Type: huma.TypeString, Description: "Machine-readable code, when there is one."},
		},
		AdditionalProperties: true,
	}
}
