package identity

import (
	"testing"
	"time"
)

// TestRefusalsBrake: a token refused refusalLimit times within the
// window waits until the window ends; other tokens are not affected; the
// map stays bounded.
func TestRefusalsBrake(t *testing.T) {
	t0 := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	var r refusals
	dead, other := refusalKey("dead"), refusalKey("other")
	for i := 0; i < refusalLimit; i++ {
		if w := r.blocked(dead, t0); w != 0 {
			t.Fatalf("refusal %d blocked already (%v)", i, w)
		}
		r.add(dead, t0.Add(time.Duration(i)*time.Second))
	}
	if w := r.blocked(dead, t0.Add(10*time.Second)); w != refusalWindow-10*time.Second {
		t.Errorf("wait = %v, want the rest of the window", w)
	}
	if w := r.blocked(other, t0.Add(10*time.Second)); w != 0 {
		t.Errorf("another token waits %v", w)
	}
	if w := r.blocked(dead, t0.Add(refusalWindow)); w != 0 {
		t.Errorf("after the window: wait %v", w)
	}
	// Refusals spread wider than the window never block.
	for i := 0; i < 2*refusalLimit; i++ {
		at := t0.Add(time.Duration(i) * refusalWindow)
		if w := r.blocked(other, at); w != 0 {
			t.Fatalf("spread refusal %d blocked", i)
		}
		r.add(other, at)
	}
	for i := 0; i < 2*refusalMaxKeys; i++ {
		r.add(refusalKey(string(rune(i))+"garbage"), t0)
	}
	if len(r.seen) > refusalMaxKeys {
		t.Errorf("%d keys kept, bound %d", len(r.seen), refusalMaxKeys)
	}
}
