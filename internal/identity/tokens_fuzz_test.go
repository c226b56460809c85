package identity

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// FuzzParseClaims signs arbitrary claim bytes with the right key, so the
// fuzzer reaches the claim rules behind the signature: Parse never
// panics, and a token it accepts names a user, has an expiry, and carries
// either no session or a well-formed one for an integer user.
func FuzzParseClaims(f *testing.F) {
	now := time.Unix(1795754529, 0)
	for _, seed := range []string{
		`{"token_type":"access","user_id":42,"exp":1795783269,"iat":1795754469,"jti":"0123456789abcdef0123456789abcdef"}`,
		`{"token_type":"refresh","user_id":42,"exp":1796359269,"iat":1795754469,"jti":"0123456789abcdef0123456789abcdef","sid":"fedcba9876543210fedcba9876543210"}`,
		`{"user_id":"5c0e3c1e-7a4e-4b59-9d0c-2f8a1d1e6b11","exp":1795783269,"sub":"ana@example.org"}`,
		`{"token_type":"access","user_id":"42","exp":1795783269,"sid":42}`,
		`{"token_type":"access","user_id":42,"exp":1795783269,"sid":"FEDCBA9876543210FEDCBA9876543210"}`,
		`{"token_type":"access","user_id":"5c0e3c1e-7a4e-4b59-9d0c-2f8a1d1e6b11","exp":1795783269,"sid":"fedcba9876543210fedcba9876543210"}`,
		`{"token_type":"access","user_id":0,"exp":1795783269}`,
		`{}`, `null`, `[]`,
	} {
		f.Add([]byte(seed))
	}
	const key = "fuzz-signing-key-0123456789abcdef"
	tk := NewTokens(key, time.Hour, time.Hour)
	tk.Now = func() time.Time { return now }
	header := base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	f.Fuzz(func(t *testing.T, claims []byte) {
		signing := header + "." + base64.RawURLEncoding.EncodeToString(claims)
		sig, err := jwt.SigningMethodHS256.Sign(signing, []byte(key))
		if err != nil {
			t.Fatal(err)
		}
		token := signing + "." + base64.RawURLEncoding.EncodeToString(sig)
		for _, want := range []string{TokenAccess, TokenRefresh} {
			c, err := tk.Parse(token, want)
			if err != nil {
				continue
			}
			if c.UserID.ID == 0 && c.UserID.Legacy == "" {
				t.Errorf("accepted without a user: %s", claims)
			}
			if c.ExpiresAt == nil || !c.ExpiresAt.After(now) {
				t.Errorf("accepted without a future expiry: %s", claims)
			}
			if c.SessionID != "" && (!validSID(c.SessionID) || c.UserID.Legacy != "") {
				t.Errorf("accepted a bad session: %s", claims)
			}
		}
	})
}
