package httpapi_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/benchseed"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/identity"
)

// Inventory read benchmarks over the seeded data set (1/100 by default,
// the baseline's full volume with THOT_BENCH_FULL=1), on SQLite and, with
// THOT_TEST_DATABASE_URL, PostgreSQL:
//
//	THOT_BENCH_FULL=1 go test -run '^$' -bench Custody -benchmem ./internal/httpapi/
//
// and the query-count rule: the inventory reads cost at most two SQL
// statements (authentication + data) whatever the number of rows.

// custodySQLCounter counts the statements run on a database.
type custodySQLCounter struct {
	mu      sync.Mutex
	n       int
	queries []string
}

func (c *custodySQLCounter) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	c.mu.Lock()
	c.n++
	c.queries = append(c.queries, e.Query)
	c.mu.Unlock()
	return ctx
}

func (c *custodySQLCounter) AfterQuery(context.Context, *bun.QueryEvent) {}

func (c *custodySQLCounter) reset() {
	c.mu.Lock()
	c.n, c.queries = 0, nil
	c.mu.Unlock()
}

// discardResponse is a ResponseWriter that keeps only the status and the
// byte count, so a streamed body is never held by the benchmark.
type discardResponse struct {
	h      http.Header
	status int
	n      int64
}

func (d *discardResponse) Header() http.Header {
	if d.h == nil {
		d.h = http.Header{}
	}
	return d.h
}
func (d *discardResponse) Write(p []byte) (int, error) {
	if d.status == 0 {
		d.status = 200
	}
	d.n += int64(len(p))
	return len(p), nil
}
func (d *discardResponse) WriteHeader(s int) { d.status = s }
func (d *discardResponse) Flush()            {}

func benchSeedOptions() benchseed.Options {
	if os.Getenv("THOT_BENCH_FULL") != "" {
		return benchseed.Full()
	}
	return benchseed.Small()
}

// seededStack is a server on a seeded database with a custody user's token.
func seededStack(tb testing.TB, db *database.DB, opts benchseed.Options) (*stack, string) {
	tb.Helper()
	s := newStack(tb, db)
	u := s.user("bench@example.org", "Custodia-Bench-2026", identity.RoleCrypto)
	start := time.Now()
	if err := benchseed.Seed(context.Background(), db, opts); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("seeded %d products in %s", opts.Products, time.Since(start))
	return s, s.token(u.ID)
}

func TestCustodyInventarioQueryCount(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		s, tok := seededStack(t, db, benchseed.Small())
		c := &custodySQLCounter{}
		db.AddQueryHook(c)
		cases := []struct {
			path string
			max  int
		}{
			{"/api/inventario/", 2},
			{"/api/inventario/?page=1&page_size=10", 2},
			{"/api/inventario/?page=2&page_size=100", 2},
			{"/api/inventario/?page=1&page_size=1000", 2},
			{"/api/inventario/?codigo_producto=CT-00004", 2},
			{"/api/inventario/?search=talos&estado=activo&ordering=-numero_serie", 2},
			{"/api/inventario/resumen/", 2},
			{"/api/inventario/resumen/?estado=activo", 2},
			{"/api/inventario/5/", 2},
			{"/api/inventario/5/historial/", 2},
			{"/api/productos/", 2},
			{"/api/productos/?page=1&page_size=5", 2},
			{"/api/productos/productos-sin-tipo/", 2},
			{"/api/tipos-producto/", 2},
			{"/api/empresas/", 3}, // companies, then their custodians
		}
		for _, tc := range cases {
			c.reset()
			r := s.call("GET", tc.path, tok, nil)
			if r.status != 200 {
				t.Fatalf("%s: %d %s", tc.path, r.status, r.body)
			}
			// At least 2: authentication and the data are both seen,
			// whichever way they were sent (bun or database.Query).
			if c.n > tc.max || c.n < 2 {
				t.Errorf("%s: %d SQL statements, want 2..%d:\n%s", tc.path, c.n, tc.max, strings.Join(c.queries, "\n"))
			}
		}
	})
}

// runCustodyBench seeds each engine once and runs GET path b.N times.
func runCustodyBench(b *testing.B, path string, parallel bool) {
	for _, e := range dbtest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			db := e.Open(b)
			s, tok := seededStack(b, db, benchSeedOptions())
			h := s.srv.Handler()
			do := func() int64 {
				req := httptest.NewRequest("GET", path, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				w := &discardResponse{}
				h.ServeHTTP(w, req)
				if w.status != 200 {
					b.Fatalf("%s: %d", path, w.status)
				}
				return w.n
			}
			n := do()
			b.SetBytes(n)
			b.ReportAllocs()
			b.ResetTimer()
			if parallel {
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						do()
					}
				})
				return
			}
			for b.Loop() {
				do()
			}
		})
	}
}

func BenchmarkCustodyInventarioFull(b *testing.B) { runCustodyBench(b, "/api/inventario/", false) }

// BenchmarkCustodyInventarioFiltrado filters on one product (10 items):
// CT-00042 as in the baseline, CT-00004 on the small data set.
func BenchmarkCustodyInventarioFiltrado(b *testing.B) {
	code := "CT-00004"
	if benchSeedOptions().Products >= 42 {
		code = "CT-00042"
	}
	runCustodyBench(b, "/api/inventario/?codigo_producto="+code, true)
}

func BenchmarkCustodyInventarioResumen(b *testing.B) {
	runCustodyBench(b, "/api/inventario/resumen/", true)
}
