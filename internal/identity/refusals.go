package identity

import (
	"crypto/sha256"
	"sync"
	"time"
)

// The HPS frontend's axios interceptor answers a 401 by refreshing, and
// the refresh call goes through the same interceptor: a refused refresh
// token is refreshed again, without end (800 calls in 8 s were measured,
// the page stuck on "Verificando sesión..."). A refused token never
// becomes good again, so after refusalLimit refusals of the same token in
// refusalWindow the refresh view answers 429 instead of 401 until the
// window ends: the interceptor does not retry a 429, the chain unwinds
// and the client drops its tokens and shows the login page. The first
// refusals keep SimpleJWT's exact 401. Counts are per process (a loop
// spread over replicas is still cut after refusalLimit per replica).
const (
	refusalLimit   = 3
	refusalWindow  = time.Minute
	refusalMaxKeys = 10000
)

// refusals counts refused refresh tokens by a hash of the token.
type refusals struct {
	mu   sync.Mutex
	seen map[[16]byte]refusal
}

type refusal struct {
	n     int
	first time.Time
}

func refusalKey(token string) [16]byte {
	sum := sha256.Sum256([]byte(token))
	var k [16]byte
	copy(k[:], sum[:16])
	return k
}

// blocked returns how long a token refused refusalLimit times must wait,
// 0 when it may be checked.
func (r *refusals) blocked(k [16]byte, now time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	f, ok := r.seen[k]
	if !ok || f.n < refusalLimit {
		return 0
	}
	end := f.first.Add(refusalWindow)
	if !now.Before(end) {
		delete(r.seen, k)
		return 0
	}
	return end.Sub(now)
}

// add records one refusal of k.
func (r *refusals) add(k [16]byte, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.seen == nil {
		r.seen = map[[16]byte]refusal{}
	}
	f, ok := r.seen[k]
	if !ok || !now.Before(f.first.Add(refusalWindow)) {
		if len(r.seen) >= refusalMaxKeys {
			r.sweep(now)
		}
		r.seen[k] = refusal{n: 1, first: now}
		return
	}
	f.n++
	r.seen[k] = f
}

// sweep drops ended windows; if all are current (a flood of distinct
// garbage tokens), it starts over: the brake is a courtesy to looping
// clients, not a security control, so forgetting costs nothing.
func (r *refusals) sweep(now time.Time) {
	for k, f := range r.seen {
		if !now.Before(f.first.Add(refusalWindow)) {
			delete(r.seen, k)
		}
	}
	if len(r.seen) >= refusalMaxKeys {
		clear(r.seen)
	}
}
