package httpapi_test

import (
	"context"
	"io"
	"net"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
)

// flakyProxy forwards TCP to PostgreSQL and can be switched off, which the
// server sees exactly as a crashed or stopped database: live connections
// drop and new ones are closed at once.
type flakyProxy struct {
	ln     net.Listener
	target string
	mu     sync.Mutex
	down   bool
	hang   bool // when down: accept and never answer (a network black hole)
	conns  []net.Conn
}

func newFlakyProxy(t *testing.T, target string) *flakyProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &flakyProxy{ln: ln, target: target}
	t.Cleanup(func() { ln.Close(); p.setDown(true) })
	go p.serve()
	return p
}

func (p *flakyProxy) serve() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		p.mu.Lock()
		if p.down {
			if p.hang {
				p.conns = append(p.conns, c)
			} else {
				c.Close()
			}
			p.mu.Unlock()
			continue
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			p.mu.Unlock()
			c.Close()
			continue
		}
		p.conns = append(p.conns, c, up)
		p.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() {
			_, _ = io.Copy(c, up)
			p.mu.Lock()
			hang := p.hang && p.down
			p.mu.Unlock()
			if !hang { // in a black hole the client side stays open, silent
				c.Close()
			}
		}()
	}
}

func (p *flakyProxy) setDown(down bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.down = down
	if down {
		for i, c := range p.conns {
			// conns holds (client, upstream) pairs, then lone clients
			// accepted while hanging. A black hole keeps client sides open.
			if p.hang && (i%2 == 0) {
				continue
			}
			c.Close()
		}
		if !p.hang {
			p.conns = nil
		}
	}
}

func TestHealthFollowsPostgres(t *testing.T) {
	for _, mode := range []string{"refused", "black hole"} {
		t.Run(mode, func(t *testing.T) { testHealthFollowsPostgres(t, mode == "black hole") })
	}
}

func testHealthFollowsPostgres(t *testing.T, hang bool) {
	raw := dbtest.PostgresURL(t)
	ctx := context.Background()
	direct, err := database.Open(ctx, database.Options{URL: raw})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := direct.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	direct.Close()

	u, _ := url.Parse(raw)
	proxy := newFlakyProxy(t, u.Host)
	u.Host = proxy.ln.Addr().String()
	db, err := database.Open(ctx, database.Options{URL: u.String(), MaxConns: 4})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	s := newServer(t, db, nil)

	if r := do(t, s.Handler(), "GET", "/health", "", ""); r.status != 200 {
		t.Fatalf("healthy start: %d %s", r.status, r.body)
	}
	proxy.mu.Lock()
	proxy.hang = hang
	proxy.mu.Unlock()
	proxy.setDown(true)
	start := time.Now()
	r := do(t, s.Handler(), "GET", "/health", "", "")
	took := time.Since(start)
	if r.status != 503 {
		t.Fatalf("database down: /health = %d %s", r.status, r.body)
	}
	if took > 2*time.Second {
		t.Errorf("/health took %v with the database down, want < 2s", took)
	}
	t.Logf("503 after %v with the database down", took.Round(time.Millisecond))

	proxy.mu.Lock()
	for _, c := range proxy.conns {
		c.Close()
	}
	proxy.conns, proxy.hang = nil, false
	proxy.mu.Unlock()
	proxy.setDown(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		r = do(t, s.Handler(), "GET", "/health", "", "")
		if r.status == 200 || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if r.status != 200 {
		t.Fatalf("database back: /health still %d %s", r.status, r.body)
	}
	if r := do(t, s.Handler(), "GET", "/readyz", "", ""); r.status != 200 {
		t.Errorf("database back: /readyz = %d %s", r.status, r.body)
	}
}
