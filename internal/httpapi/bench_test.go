package httpapi_test

import (
	"net/http/httptest"
	"testing"

	"github.com/thot-security/thot/internal/database/dbtest"
)

// BenchmarkHealth measures GET /health in-process (router, middleware,
// one database ping) on SQLite, or PostgreSQL with THOT_TEST_DATABASE_URL.
// Load tests over the network are in bench/.
func BenchmarkHealth(b *testing.B) {
	for _, e := range dbtest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			db := e.Open(b)
			s := newServer(b, db, nil)
			h := s.Handler()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, httptest.NewRequest("GET", "/health", nil))
					if rec.Code != 200 {
						b.Fatalf("status %d", rec.Code)
					}
				}
			})
		})
	}
}

// BenchmarkInfo measures GET /, a JSON endpoint with no database access.
func BenchmarkInfo(b *testing.B) {
	s := newServer(b, nil, nil)
	h := s.Handler()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest("GET", "/", nil))
			if rec.Code != 200 {
				b.Fatalf("status %d", rec.Code)
			}
		}
	})
}
