package httpapi

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"
)

type ctxKeyRequestID struct{}

// RequestID returns the request's ID ("" outside a request).
func RequestID(ctx context.Context) string {
	s, _ := ctx.Value(ctxKeyRequestID{}).(string)
	return s
}

// requestID accepts a sane incoming X-Request-ID (from a proxy) or makes
// one, echoes it, and puts a logger carrying it in the context.
func requestID(base *slog.Logger) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			id := r.Header.Get("X-Request-ID")
			if !saneID(id) {
				var b [12]byte
				_, _ = rand.Read(b[:])
				id = hex.EncodeToString(b[:])
			}
			w.Header().Set("X-Request-ID", id)
			ctx := context.WithValue(r.Context(), ctxKeyRequestID{}, id)
			ctx = context.WithValue(ctx, ctxKeyLogger{}, base.With("request_id", id))
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

func saneID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c == '-' || c == '_' || c == '.' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
			return false
		}
	}
	return true
}

// statusWriter records what was written, for logs and metrics. It keeps
// Flush and Unwrap so streaming and http.ResponseController still work.
type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int64
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	n, err := w.ResponseWriter.Write(b)
	w.bytes += int64(n)
	return n, err
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// observe logs each request and feeds the metrics. The logged URL never
// contains the token query parameter; headers (Authorization, Cookie) are
// never logged at all.
func observe(m *Metrics) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			start := time.Now()
			sw := &statusWriter{ResponseWriter: w}
			next.ServeHTTP(sw, r)
			d := time.Since(start)
			if sw.status == 0 {
				sw.status = http.StatusOK
			}
			route := "unmatched"
			if rc := chi.RouteContext(r.Context()); rc != nil && rc.RoutePattern() != "" {
				route = rc.RoutePattern()
			}
			if m != nil {
				m.observe(r.Method, route, sw.status, d)
			}
			level := slog.LevelInfo
			if sw.status >= 500 {
				level = slog.LevelError
			}
			logger(r.Context()).Log(r.Context(), level, "http",
				"method", r.Method,
				"path", redactedURL(r.URL),
				"route", route,
				"status", sw.status,
				"bytes", sw.bytes,
				"duration_ms", float64(d.Microseconds())/1000,
				"remote", clientIP(r),
			)
		})
	}
}

// sensitiveParams are query parameters whose values never reach a log.
var sensitiveParams = []string{"token", "access_token", "refresh", "password", "key", "api_key", "ticket"}

func redactedURL(u *url.URL) string {
	if u.RawQuery == "" {
		return u.Path
	}
	q := u.Query()
	for _, p := range sensitiveParams {
		if q.Has(p) {
			q.Set(p, "REDACTED")
		}
	}
	return u.Path + "?" + q.Encode()
}

type ctxKeyClientIP struct{}

// clientIP is the peer address, or the proxy-supplied one when trusted.
func clientIP(r *http.Request) string {
	if ip, ok := r.Context().Value(ctxKeyClientIP{}).(string); ok {
		return ip
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// ClientIP returns the client address as thot sees it (for audit, throttling).
func ClientIP(r *http.Request) string { return clientIP(r) }

// realIP trusts X-Forwarded-For / X-Real-IP only when configured to sit
// behind a proxy; otherwise a client could spoof its address.
func realIP(trust bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			ip := ""
			if trust {
				if xff := r.Header.Get("X-Forwarded-For"); xff != "" {
					ip = strings.TrimSpace(strings.Split(xff, ",")[0])
				} else if xr := r.Header.Get("X-Real-IP"); xr != "" {
					ip = strings.TrimSpace(xr)
				}
				if net.ParseIP(ip) == nil {
					ip = ""
				}
			}
			if ip == "" {
				host, _, err := net.SplitHostPort(r.RemoteAddr)
				if err != nil {
					host = r.RemoteAddr
				}
				ip = host
			}
			next.ServeHTTP(w, r.WithContext(context.WithValue(r.Context(), ctxKeyClientIP{}, ip)))
		})
	}
}

// recoverer turns a panic into a logged 500 with a generic body.
func recoverer(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				logger(r.Context()).Error("panic", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				writeJSONError(w, detailError(http.StatusInternalServerError, defaultDetail(500)))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

// securityHeaders sets the headers Django's SecurityMiddleware and
// XFrameOptionsMiddleware set, plus a strict CSP for API responses.
func securityHeaders(production bool) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			h := w.Header()
			h.Set("X-Content-Type-Options", "nosniff")
			h.Set("X-Frame-Options", "DENY")
			h.Set("Referrer-Policy", "same-origin")
			h.Set("Cross-Origin-Opener-Policy", "same-origin")
			if !strings.HasPrefix(r.URL.Path, "/api/docs") && !strings.HasPrefix(r.URL.Path, "/admin/") {
				h.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
			}
			if production {
				h.Set("Strict-Transport-Security", "max-age=31536000; includeSubDomains; preload")
			}
			next.ServeHTTP(w, r)
		})
	}
}

// allowedHosts rejects unknown Host headers like Django's ALLOWED_HOSTS
// (400). An empty list allows any host. ".example.org" matches subdomains.
func allowedHosts(hosts []string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		if len(hosts) == 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			host := r.Host
			if h, _, err := net.SplitHostPort(host); err == nil {
				host = h
			}
			host = strings.ToLower(strings.TrimSuffix(host, "."))
			for _, a := range hosts {
				a = strings.ToLower(a)
				if a == "*" || a == host || (strings.HasPrefix(a, ".") && (strings.HasSuffix(host, a) || host == a[1:])) {
					next.ServeHTTP(w, r)
					return
				}
			}
			writeJSONError(w, detailError(http.StatusBadRequest, "Invalid Host header."))
		})
	}
}

// limitBody caps request bodies: uploads (multipart) get their own, larger
// limit. The reader errors past the limit; huma and our handlers turn that
// into a 413.
func limitBody(maxBody, maxUpload int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			emptyBodyAsObject(r)
			if r.Body != nil && r.Body != http.NoBody {
				limit := maxBody
				mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
				if strings.HasPrefix(mt, "multipart/") || mt == "application/octet-stream" || mt == "application/pdf" {
					limit = maxUpload
				}
				if r.ContentLength > limit {
					writeJSONError(w, detailError(http.StatusRequestEntityTooLarge, "Request body too large."))
					return
				}
				r.Body = http.MaxBytesReader(w, r.Body, limit)
			}
			ctx := context.WithValue(r.Context(), ctxKeyContentType{}, r.Header.Get("Content-Type"))
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}

// emptyBodyAsObject reads an empty POST, PUT or PATCH body as `{}`, as
// DRF does: the clients call actions such as limpiar-huerfanos/ or
// logout with no body at all, and huma would refuse them ("Request body is
// required") before the handler could apply its own defaults. Required
// fields are still reported by name. Only JSON (or untyped) requests are
// touched; an empty upload stays empty and is refused by its handler.
func emptyBodyAsObject(r *http.Request) {
	switch r.Method {
	case http.MethodPost, http.MethodPut, http.MethodPatch:
	default:
		return
	}
	if r.ContentLength > 0 || (r.ContentLength < 0 && r.Body != nil && r.Body != http.NoBody) {
		return
	}
	ct := r.Header.Get("Content-Type")
	if ct != "" {
		if mt, _, err := mime.ParseMediaType(ct); err != nil || mt != "application/json" {
			return
		}
	}
	r.Body = io.NopCloser(strings.NewReader("{}"))
	r.ContentLength = 2
	r.Header.Set("Content-Type", "application/json")
}

// timeout bounds how long a request may run; handlers pass the context to
// the database, which stops work when it expires. Long-lived connections
// (websocket chat) are excluded by path.
func timeout(d time.Duration) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if d <= 0 || strings.HasPrefix(r.URL.Path, "/ws/") || strings.HasSuffix(r.URL.Path, "/ws") {
				next.ServeHTTP(w, r)
				return
			}
			ctx, cancel := context.WithTimeout(r.Context(), d)
			defer cancel()
			next.ServeHTTP(w, r.WithContext(ctx))
		})
	}
}
