package identity_test

import (
	"testing"

	"github.com/thot-security/thot/internal/identity"
)

// BenchmarkVerifyPBKDF2 is the cost of one login's password check at the
// production setting (600,000 iterations).
func BenchmarkVerifyPBKDF2(b *testing.B) {
	h := identity.NewHasher(identity.DefaultIterations)
	enc, err := h.Hash("Contraseña-ñ 123")
	if err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if ok, _ := h.Verify("Contraseña-ñ 123", enc); !ok {
			b.Fatal("no match")
		}
	}
}
