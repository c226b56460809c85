package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/thot-security/thot/internal/benchseed"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
)

// Concurrency and cost of the public submission.

// hpstokNIF is a valid-looking document number for n.
func hpstokNIF(n int) string {
	const letters = "TRWAGMYFPDXBNJZSQVHLCKE"
	return fmt.Sprintf("%08d%c", n, letters[n%23])
}

// TestHPSPublicSubmitRace sends the same link from many clients at once:
// exactly one submission wins, the others are 401, and one request and
// one account exist.
func TestHPSPublicSubmitRace(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newHpstokWorld(t, db, map[string]string{"THOT_HPS_PUBLIC_RATE_LIMIT": "1000"})
		l := w.link(t, w.suplente, map[string]any{"email": "carrera@example.org"})
		const n = 8
		statuses := make([]int, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				statuses[i] = w.call("POST", hpstokPublic(l.Token, ""), "", hpstokForm("carrera@example.org", "12345678Z")).status
			})
		}
		wg.Wait()
		sort.Ints(statuses)
		if statuses[0] != http.StatusCreated || statuses[1] != http.StatusUnauthorized || statuses[n-1] != http.StatusUnauthorized {
			t.Fatalf("statuses %v: want one 201 and the rest 401", statuses)
		}
		if c := hpstokScalar[int](t, db, "SELECT count(*) FROM hps_requests"); c != 1 {
			t.Fatalf("requests: %d", c)
		}
		if c := hpstokScalar[int](t, db, "SELECT count(*) FROM users WHERE email = 'carrera@example.org'"); c != 1 {
			t.Fatalf("accounts: %d", c)
		}

		// Two links for the same new person at once: one request; the
		// other is the open-request conflict (whether it lost on the
		// request or on the account made meanwhile), never a second
		// request or account.
		a := w.link(t, w.admin, map[string]any{"email": "doble@example.org"})
		b := w.link(t, w.admin, map[string]any{"email": "doble@example.org"})
		var got [2]response
		for i, tok := range []string{a.Token, b.Token} {
			wg.Go(func() {
				got[i] = w.call("POST", hpstokPublic(tok, ""), "", hpstokForm("doble@example.org", "87654321X"))
			})
		}
		wg.Wait()
		if s := []int{got[0].status, got[1].status}; !(s[0] == 201 && s[1] == 409 || s[0] == 409 && s[1] == 201) {
			t.Fatalf("two links at once: %d %s / %d %s", got[0].status, got[0].body, got[1].status, got[1].body)
		}
		for _, r := range got {
			if r.status == 409 && !strings.Contains(r.body, "open_request_exists") {
				t.Errorf("the losing link's answer: %s", r.body)
			}
		}
		if c := hpstokScalar[int](t, db, "SELECT count(*) FROM hps_requests WHERE document_number = '87654321X'"); c != 1 {
			t.Fatalf("requests for the person: %d", c)
		}
	})
}

// TestHPSPublicSubmitQueryCount pins the statements of one submission.
func TestHPSPublicSubmitQueryCount(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newHpstokWorld(t, db, nil)
		c := &custodySQLCounter{}
		db.AddQueryHook(c)
		for _, tc := range []struct {
			name, email string
			max         int
		}{
			{"new account", "cuenta-nueva@example.org", 18},
			{"existing account", w.member.Email, 12},
		} {
			l := w.link(t, w.admin, map[string]any{"email": tc.email})
			c.reset()
			r := w.call("POST", hpstokPublic(l.Token, ""), "", hpstokForm(tc.email, hpstokNIF(len(tc.email))))
			hpstokExpect(t, tc.name, r, 201)
			t.Logf("%s: %d statements", tc.name, c.n)
			if c.n > tc.max {
				t.Errorf("%s: %d statements, want at most %d:\n%s", tc.name, c.n, tc.max, strings.Join(c.queries, "\n"))
			}
		}
	})
}

// BenchmarkHPSPublicSubmit files b.N forms, each with its own link, for
// new applicants (account made, credentials queued), on top of the HPS
// benchmark data set (1/100 by default; 50,000 requests across 200 teams
// with THOT_BENCH_FULL=1), one client at a time and from 8 clients at
// once, reporting requests/s, p50/p99 and statements per submission:
//
//	THOT_BENCH_FULL=1 go test -run '^$' -bench HPSPublicSubmit ./internal/httpapi/
//
// The stack's password hasher is cheap (1000 iterations); in production
// the hash of the temporary password dominates (it is computed before the
// transaction, so it does not hold the link's lock).
func BenchmarkHPSPublicSubmit(b *testing.B) {
	opts := benchseed.HPSSmall()
	if os.Getenv("THOT_BENCH_FULL") != "" {
		opts = benchseed.HPSFull()
	}
	for _, e := range dbtest.Engines(b) {
		db := e.Open(b)
		w := newHpstokWorld(b, db, map[string]string{"THOT_HPS_PUBLIC_RATE_LIMIT": "100000000"})
		if err := benchseed.SeedHPS(context.Background(), db, opts); err != nil {
			b.Fatal(err)
		}
		c := &custodySQLCounter{}
		db.AddQueryHook(c)
		h := w.srv.Handler()
		var seq atomic.Int64
		for _, par := range []int{1, 8} {
			b.Run(fmt.Sprintf("%s/clients=%d", e.Name, par), func(b *testing.B) {
				links := make([]string, b.N)
				first := seq.Load()
				for i := range links {
					links[i] = w.link(b, w.suplente, map[string]any{"email": fmt.Sprintf("bench%d@example.org", first+int64(i))}).Token
				}
				seq.Add(int64(b.N))
				var next atomic.Int64
				lat := make([]time.Duration, b.N)
				// one files the next form; false when all b.N are taken.
				one := func() bool {
					i := int(next.Add(1) - 1)
					if i >= b.N {
						return false
					}
					n := first + int64(i)
					body := fmt.Sprintf(`{"document_type":"206","document_number":%q,"birth_date":"1985-03-14","first_name":"Ana",`+
						`"first_last_name":"Gil","nationality":"1","birth_place":"Soria","email":"bench%d@example.org","phone":"600123456"}`,
						hpstokNIF(int(n)), n)
					req := httptest.NewRequest("POST", hpstokPublic(links[i], ""), strings.NewReader(body))
					req.Header.Set("Content-Type", "application/json")
					rec := httptest.NewRecorder()
					start := time.Now()
					h.ServeHTTP(rec, req)
					lat[i] = time.Since(start)
					if rec.Code != http.StatusCreated {
						b.Errorf("submit %d: %d %s", i, rec.Code, rec.Body.String())
					}
					return true
				}
				b.ReportAllocs()
				c.reset()
				b.ResetTimer()
				start := time.Now()
				var wg sync.WaitGroup
				for range par {
					wg.Go(func() {
						for one() {
						}
					})
				}
				wg.Wait()
				elapsed := time.Since(start)
				b.StopTimer()
				slices.Sort(lat)
				b.ReportMetric(float64(b.N)/elapsed.Seconds(), "req/s")
				b.ReportMetric(float64(lat[b.N/2].Microseconds())/1000, "p50-ms")
				b.ReportMetric(float64(lat[min(b.N-1, b.N*99/100)].Microseconds())/1000, "p99-ms")
				b.ReportMetric(float64(c.n)/float64(b.N), "stmts/op")
			})
		}
	}
}
