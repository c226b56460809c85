package httpapi

import (
	"context"
	"math"
	"strconv"
	"sync"
	"time"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/errs"
)

// addressLimiter is a token bucket per client address for the public HPS
// endpoints (form-link validation and submission), which anyone can call:
// each address may make perMinute requests in a burst and then one every
// 60/perMinute seconds. It lives in memory: the limit protects this
// process from a flood, it is not an account lockout (identity/throttle.go
// keeps those in the database because they must survive restarts and be
// shared by every instance). Full buckets are dropped now and then, so the
// map holds only addresses seen in the last minute or so.
type addressLimiter struct {
	mu        sync.Mutex
	perSecond float64
	burst     float64
	buckets   map[string]*addressBucket
	lastSweep time.Time
	now       func() time.Time
}

type addressBucket struct {
	tokens float64
	at     time.Time
}

func newAddressLimiter(perMinute int) *addressLimiter {
	if perMinute < 1 {
		perMinute = 1
	}
	return &addressLimiter{perSecond: float64(perMinute) / 60, burst: float64(perMinute),
		buckets: map[string]*addressBucket{}, now: time.Now}
}

// errPublicThrottled is the 429 of the public HPS endpoints.
func errPublicThrottled(wait time.Duration) error {
	secs := int(math.Ceil(wait.Seconds()))
	return &errs.Error{Kind: errs.KindTooMany, RetryAfter: wait,
		Message: "Demasiadas solicitudes desde esta dirección. Inténtelo de nuevo en " + strconv.Itoa(max(secs, 1)) + " s."}
}

// take spends one request of key's bucket; over the limit it returns how
// long until the next one is allowed.
func (l *addressLimiter) take(key string) (time.Duration, bool) {
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	if now.Sub(l.lastSweep) > time.Minute {
		l.sweep(now)
	}
	b, ok := l.buckets[key]
	if !ok {
		b = &addressBucket{tokens: l.burst, at: now}
		l.buckets[key] = b
	}
	if el := now.Sub(b.at).Seconds(); el > 0 {
		b.tokens = math.Min(l.burst, b.tokens+el*l.perSecond)
	}
	b.at = now
	if b.tokens >= 1 {
		b.tokens--
		return 0, true
	}
	return time.Duration((1 - b.tokens) / l.perSecond * float64(time.Second)), false
}

// sweep drops the buckets that have refilled: they hold no state a fresh
// bucket would not.
func (l *addressLimiter) sweep(now time.Time) {
	for k, b := range l.buckets {
		if b.tokens+now.Sub(b.at).Seconds()*l.perSecond >= l.burst {
			delete(l.buckets, k)
		}
	}
	l.lastSweep = now
}

// check applies the limit to the caller's address (realIP's, as the
// audit actor carries it).
func (l *addressLimiter) check(ctx context.Context) error {
	key := audit.ActorFrom(ctx).IP
	if wait, ok := l.take(key); !ok {
		return errPublicThrottled(wait)
	}
	return nil
}
