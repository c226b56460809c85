package httpapi

import (
	"context"
	"net/http"

	"riverqueue.com/riverui"

	"github.com/thot-security/thot/internal/config"
)

// mountJobsUI serves riverui at /admin/jobs/. It shows job arguments (which
// can hold personal data), so it is only mounted behind the Admin guard
// (staff users); without one it exists only in development.
func (s *Server) mountJobsUI() {
	guard := s.deps.Admin
	if guard == nil {
		if s.deps.Config.Env != config.EnvDevelopment {
			return
		}
		guard = func(h http.Handler) http.Handler { return h }
	}
	h, err := riverui.NewHandler(&riverui.HandlerOpts{
		Endpoints: riverui.NewEndpoints(s.deps.Jobs.River(), nil),
		Logger:    s.deps.Logger.With("component", "riverui"),
		Prefix:    "/admin/jobs",
	})
	if err != nil {
		s.deps.Logger.Error("riverui disabled", "err", err)
		return
	}
	s.jobsUI = h
	s.router.Handle("/admin/jobs", http.RedirectHandler("/admin/jobs/", http.StatusMovedPermanently))
	s.router.Handle("/admin/jobs/*", guard(h))
}

// Start starts background parts of the HTTP layer (riverui's caches).
func (s *Server) Start(ctx context.Context) error {
	if s.jobsUI != nil {
		return s.jobsUI.Start(ctx)
	}
	return nil
}
