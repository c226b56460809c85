package httpapi_test

import (
	"context"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/thot-security/thot/internal/benchseed"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/identity"
)

// HPS request read benchmarks over benchseed's HPS data set (1/100 by
// default; 50,000 requests across 200 teams with THOT_BENCH_FULL=1), on
// SQLite and, with THOT_TEST_DATABASE_URL, PostgreSQL:
//
//	THOT_BENCH_FULL=1 go test -run '^$' -bench HPSRequests -benchtime 200x ./internal/httpapi/
//
// Each case also reports the SQL statements it ran per request
// (stmts/op: authentication + data).

func hpsrBenchOptions() benchseed.HPSOptions {
	if os.Getenv("THOT_BENCH_FULL") != "" {
		return benchseed.HPSFull()
	}
	return benchseed.HPSSmall()
}

// hpsrSeeded is a server on a seeded database with the tokens of an
// approver (sees all), the lead of team 7 and one of its members.
func hpsrSeeded(tb testing.TB, db *database.DB, o benchseed.HPSOptions) (s *stack, approver, lead, member string, oneID string) {
	tb.Helper()
	s = newStack(tb, db)
	u := s.user("jefe-bench@example.org", hpsrPass, identity.RoleJefeSeguridad)
	start := time.Now()
	if err := benchseed.SeedHPS(context.Background(), db, o); err != nil {
		tb.Fatal(err)
	}
	tb.Logf("seeded %d HPS requests in %s", o.Requests(), time.Since(start))
	return s, s.token(u.ID), s.token(o.HPSUserID(7, 0)), s.token(o.HPSUserID(7, 3)), benchseed.HPSRequestID((7*o.MembersPerTeam + 3) * o.RequestsPerUser)
}

func BenchmarkHPSRequests(b *testing.B) {
	o := hpsrBenchOptions()
	for _, e := range dbtest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			db := e.Open(b)
			s, approver, lead, member, one := hpsrSeeded(b, db, o)
			counter := &hpsrCounter{}
			db.AddQueryHook(counter)
			h := s.srv.Handler()
			cases := []struct {
				name, path, token string
			}{
				{"list-own", "/api/hps/requests/", member},
				{"list-team", "/api/hps/requests/?page=1&page_size=50", lead},
				{"list-all", "/api/hps/requests/?page=1&page_size=50", approver},
				{"list-all-v1", "/api/v1/hps/?per_page=50", approver},
				{"list-all-search", "/api/hps/requests/?page=1&page_size=50&search=munoz&status=approved", approver},
				{"stats-own", "/api/hps/requests/stats/", member},
				{"stats-team", "/api/hps/requests/stats/", lead},
				{"stats-all", "/api/hps/requests/stats/", approver},
				{"stats-all-v1", "/api/v1/hps/stats", approver},
				{"get", "/api/hps/requests/" + one + "/", approver},
				{"get-lead", "/api/hps/requests/" + one + "/", lead},
			}
			for _, c := range cases {
				b.Run(c.name, func(b *testing.B) {
					do := func() {
						req := httptest.NewRequest("GET", c.path, nil)
						req.Header.Set("Authorization", "Bearer "+c.token)
						w := &discardResponse{}
						h.ServeHTTP(w, req)
						if w.status != 200 {
							b.Fatalf("%s: %d", c.path, w.status)
						}
					}
					do()
					counter.n.Store(0)
					b.ReportAllocs()
					b.ResetTimer()
					for b.Loop() {
						do()
					}
					b.ReportMetric(float64(counter.n.Load())/float64(b.N), "stmts/op")
				})
			}
		})
	}
}

// TestHPSBenchSeed: the seeded set keeps the one-open rule, and the reads
// the benchmark times answer within their scope in ≤ 2 statements.
func TestHPSBenchSeed(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		o := benchseed.HPSSmall()
		s, approver, lead, member, one := hpsrSeeded(t, db, o)
		counter := &hpsrCounter{}
		db.AddQueryHook(counter)
		for _, c := range []struct {
			path, token string
			total       int
		}{
			{"/api/hps/requests/stats/", approver, o.Requests()},
			{"/api/hps/requests/stats/", lead, o.MembersPerTeam * o.RequestsPerUser},
			{"/api/hps/requests/stats/", member, o.RequestsPerUser},
		} {
			counter.n.Store(0)
			st := decode[struct {
				Total   int `json:"total_requests"`
				Pending int `json:"pending_requests"`
			}](t, s.call("GET", c.path, c.token, nil))
			if st.Total != c.total {
				t.Errorf("stats total %d, want %d", st.Total, c.total)
			}
			if n := counter.n.Load(); n > 2 {
				t.Errorf("stats ran %d statements", n)
			}
		}
		if r := s.call("GET", "/api/hps/requests/"+one+"/", member, nil); r.status != 200 {
			t.Errorf("member reads own seeded request: %d", r.status)
		}
		if r := s.call("GET", "/api/hps/requests/"+benchseed.HPSRequestID(0)+"/", member, nil); r.status != 404 {
			t.Errorf("member reads another team's request: %d", r.status)
		}
		var open int
		if err := db.NewRaw(`SELECT count(*) FROM (SELECT user_id FROM hps_requests WHERE status IN ('pending', 'waiting_dps', 'submitted')
			GROUP BY user_id HAVING count(*) > 1) AS x`).Scan(context.Background(), &open); err != nil {
			t.Fatal(err)
		}
		if open != 0 {
			t.Errorf("%d users with several open requests", open)
		}
	})
}
