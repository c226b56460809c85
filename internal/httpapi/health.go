package httpapi

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/buildinfo"
	"github.com/thot-security/thot/internal/database"
)

// HealthBody is the legacy /health shape (FastAPI hps-system §4.1).
type HealthBody struct {
	Status    string  `json:"status" enum:"healthy,unhealthy" doc:"healthy or unhealthy"`
	Service   string  `json:"service"`
	Database  string  `json:"database" enum:"connected,disconnected"`
	Timestamp float64 `json:"timestamp" doc:"Unix time, seconds"`
}

type healthOutput struct {
	Status int
	Body   HealthBody
}

type probeOutput struct {
	Status int
	Body   struct {
		Status string `json:"status"`
		Reason string `json:"reason,omitempty"`
	}
}

// InfoBody is the service description at GET /.
type InfoBody struct {
	Message       string `json:"message"`
	Version       string `json:"version"`
	Documentation string `json:"documentation"`
	Status        string `json:"status"`
}

// readiness caches a positive schema check: migrations only change at a
// deploy, and /readyz is polled often.
type readiness struct {
	db      *database.DB
	mu      sync.Mutex
	current bool
}

func (r *readiness) schemaCurrent(ctx context.Context) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.current {
		return true, nil
	}
	ok, err := r.db.Current(ctx)
	if err != nil {
		return false, err
	}
	r.current = ok
	return ok, nil
}

// dbProbeTimeout keeps /health under 2 s when the database is down.
const dbProbeTimeout = 1500 * time.Millisecond

func (s *Server) registerHealth() {
	Register(s.API, huma.Operation{
		OperationID: "health", Method: http.MethodGet, Path: "/health", Tags: []string{"health"},
		Summary: "Service and database health (legacy shape)",
	}, Public, func(ctx context.Context, _ *struct{}) (*healthOutput, error) {
		out := &healthOutput{Status: http.StatusOK, Body: HealthBody{Status: "healthy", Service: "thot", Database: "connected"}}
		if s.deps.DB == nil || s.pingDB(ctx) != nil {
			out.Status = http.StatusServiceUnavailable
			out.Body.Status, out.Body.Database = "unhealthy", "disconnected"
		}
		out.Body.Timestamp = float64(time.Now().UnixMicro()) / 1e6
		return out, nil
	})
	Register(s.API, huma.Operation{
		OperationID: "healthz", Method: http.MethodGet, Path: "/healthz", Tags: []string{"health"},
		Summary: "Liveness: the process serves HTTP",
	}, Public, func(ctx context.Context, _ *struct{}) (*probeOutput, error) {
		out := &probeOutput{Status: http.StatusOK}
		out.Body.Status = "ok"
		return out, nil
	})
	Register(s.API, huma.Operation{
		OperationID: "readyz", Method: http.MethodGet, Path: "/readyz", Tags: []string{"health"},
		Summary: "Readiness: database reachable and schema current",
	}, Public, func(ctx context.Context, _ *struct{}) (*probeOutput, error) {
		out := &probeOutput{Status: http.StatusServiceUnavailable}
		out.Body.Status = "not ready"
		if s.deps.DB == nil {
			out.Body.Reason = "no database"
			return out, nil
		}
		if err := s.pingDB(ctx); err != nil {
			out.Body.Reason = "database unreachable"
			return out, nil
		}
		pctx, cancel := context.WithTimeout(ctx, dbProbeTimeout)
		defer cancel()
		ok, err := s.ready.schemaCurrent(pctx)
		if err != nil || !ok {
			out.Body.Reason = "database schema is not current; run `thot migrate`"
			return out, nil
		}
		out.Status = http.StatusOK
		out.Body.Status = "ready"
		return out, nil
	})
	Register(s.API, huma.Operation{
		OperationID: "info", Method: http.MethodGet, Path: "/", Tags: []string{"health"},
		Summary: "Service description",
	}, Public, func(ctx context.Context, _ *struct{}) (*struct{ Body InfoBody }, error) {
		v, _ := buildinfo.Get()
		return &struct{ Body InfoBody }{Body: InfoBody{
			Message: "thot: custodia de material cifrado y habilitaciones personales de seguridad",
			Version: v, Documentation: "/api/docs/", Status: "operational",
		}}, nil
	})
}

func (s *Server) pingDB(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, dbProbeTimeout)
	defer cancel()
	return s.deps.DB.Ping(ctx)
}
