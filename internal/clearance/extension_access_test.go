package clearance

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/thot-security/thot/internal/errs"
)

const linkTestKey = "thot-test-signing-key-0123456789abcdef"

var linkTestNow = time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)

// TestPDFLinks: a link verifies to its request until its expiry, under
// its key only; every other input is the same 404.
func TestPDFLinks(t *testing.T) {
	l := NewPDFLinks(linkTestKey)
	id := uuid.NewString()
	tok, exp, err := l.Sign(id, linkTestNow)
	if err != nil {
		t.Fatal(err)
	}
	if !exp.Equal(linkTestNow.Add(PDFLinkTTL)) || len(tok) != 75 {
		t.Fatalf("exp %v, token %q", exp, tok)
	}
	other, _, _ := l.Sign(uuid.NewString(), linkTestNow)
	raw, _ := base64.RawURLEncoding.DecodeString(tok)
	// The same payload with the expiry pushed an hour later, re-encoded
	// without a new signature.
	later := append([]byte(nil), raw...)
	later[23]++
	tests := []struct {
		name  string
		l     *PDFLinks
		token string
		at    time.Time
		ok    bool
	}{
		{"fresh", l, tok, linkTestNow, true},
		{"last second", l, tok, exp.Add(-time.Second), true},
		{"at expiry", l, tok, exp, false},
		{"long after", l, tok, exp.Add(time.Hour), false},
		{"clock far behind", l, tok, linkTestNow.Add(-10 * time.Minute), false},
		{"other key", NewPDFLinks("another-signing-key-0123456789abcdefXYZ"), tok, linkTestNow, false},
		{"no key", nil, tok, linkTestNow, false},
		{"expiry moved", l, base64.RawURLEncoding.EncodeToString(later), linkTestNow, false},
		{"id swapped", l, other[:22] + tok[22:], linkTestNow, false},
		{"empty", l, "", linkTestNow, false},
		{"padded base64", l, base64.URLEncoding.EncodeToString(raw), linkTestNow, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.l.Verify(tc.token, tc.at)
			if tc.ok {
				if err != nil || got != id {
					t.Fatalf("got %q, %v", got, err)
				}
				return
			}
			if err == nil || !errs.Is(err, errs.KindNotFound) {
				t.Fatalf("got %q, %v; want invalid_link", got, err)
			}
		})
	}
	if NewPDFLinks("") != nil {
		t.Error("links without a signing key")
	}
}

// FuzzPDFLinkVerify: no input panics, and only the signed seed verifies
// (to its own request).
func FuzzPDFLinkVerify(f *testing.F) {
	l := NewPDFLinks(linkTestKey)
	// Fixed, so every fuzz worker computes the same seed.
	const id = "0b4f3f0e-51b6-4d5c-9d1e-2f6f1c7a8e90"
	tok, _, _ := l.Sign(id, linkTestNow)
	f.Add(tok)
	f.Add(tok[:74] + "B")
	f.Add("")
	f.Add("not a token")
	f.Fuzz(func(t *testing.T, in string) {
		got, err := l.Verify(in, linkTestNow)
		if err == nil && (in != tok || got != id) {
			t.Fatalf("%q verified as %q", in, got)
		}
	})
}
