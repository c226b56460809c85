package httpapi

import (
	"context"
	"net/http"

	"riverqueue.com/riverui"
)

// mountJobsUI serves riverui at /admin/jobs/. It shows job arguments (which
// can hold personal data), so only staff users get in, with a Bearer token
// or the cookie set by /admin/login/.
func (s *Server) mountJobsUI() {
	guard := s.requireStaff
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
