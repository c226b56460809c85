package httpapi

import (
	"testing"
	"time"
)

// The address limiter on a fake clock: a burst of perMinute, then one
// request every 60/perMinute seconds, per address; idle buckets are swept.
func TestAddressLimiter(t *testing.T) {
	now := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	l := newAddressLimiter(6) // one every 10 s
	l.now = func() time.Time { return now }
	for i := range 6 {
		if _, ok := l.take("a"); !ok {
			t.Fatalf("request %d refused within the burst", i+1)
		}
	}
	wait, ok := l.take("a")
	if ok || wait <= 9*time.Second || wait > 10*time.Second {
		t.Fatalf("7th: ok %v, wait %s; want refused for about 10 s", ok, wait)
	}
	if _, ok := l.take("b"); !ok {
		t.Fatal("another address is refused")
	}
	now = now.Add(5 * time.Second)
	if wait, ok := l.take("a"); ok || wait > 5*time.Second+time.Millisecond {
		t.Fatalf("after 5 s: ok %v, wait %s", ok, wait)
	}
	now = now.Add(5 * time.Second)
	if _, ok := l.take("a"); !ok {
		t.Fatal("refused after the refill")
	}
	if _, ok := l.take("a"); ok {
		t.Fatal("a second request right after the refill was allowed")
	}
	// After a quiet minute both buckets are full again and swept.
	now = now.Add(2 * time.Minute)
	l.take("c")
	if _, ok := l.buckets["a"]; ok || len(l.buckets) != 1 {
		t.Fatalf("buckets after the sweep: %v", l.buckets)
	}
	if err := errPublicThrottled(1500 * time.Millisecond); err == nil {
		t.Fatal("no error")
	}
}
