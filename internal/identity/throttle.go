package identity

import "time"

// ThrottlePolicy limits password guessing for one kind of key (account or
// client address). The first Free failures in a Window cost nothing;
// each further failure locks the key for Base·2^(n-Free-1), up to Max.
// With Free=10 the 11th attempt within the window is refused even with the
// right password.
type ThrottlePolicy struct {
	Free   int
	Window time.Duration
	Base   time.Duration
	Max    time.Duration
}

// LockFor is the lock after the n-th failure in the window.
func (p ThrottlePolicy) LockFor(n int) time.Duration {
	if n < p.Free {
		return 0
	}
	d := p.Base
	for i := p.Free; i < n && d < p.Max; i++ {
		d *= 2
	}
	return min(d, p.Max)
}

// ThrottleKey pairs a key with its policy.
type ThrottleKey struct {
	Key    string
	Policy ThrottlePolicy
}

// Default policies: accounts lock after 10 failures in 15 minutes
// (1 minute, doubling up to an hour); an address may fail 30 times in 15
// minutes before it is slowed down the same way, so one office NAT does
// not lock out everyone.
var (
	AccountPolicy = ThrottlePolicy{Free: 10, Window: 15 * time.Minute, Base: time.Minute, Max: time.Hour}
	AddressPolicy = ThrottlePolicy{Free: 30, Window: 15 * time.Minute, Base: time.Minute, Max: time.Hour}
)
