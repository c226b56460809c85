package identity

import (
	"crypto/pbkdf2"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync/atomic"

	"golang.org/x/crypto/bcrypt"
)

// Password hashes are stored in Django's format so that the legacy Django
// service (during the side-by-side period, or after a rollback) and thot
// can both verify them. Verification accepts every format found in the
// two legacy databases:
//
//	pbkdf2_sha256$<iter>$<salt>$<b64>   Django default (cryptotrace)
//	bcrypt_sha256$$2b$12$…              Django, bcrypt over hex(sha256(pw))
//	bcrypt$$2b$12$…                     Django, bcrypt over the password
//	$2a$/$2b$/$2y$…                     passlib bcrypt (hps-system)
//
// New hashes are always pbkdf2_sha256 with the configured iterations.

// DefaultIterations matches Django 4.2's PBKDF2 default.
const DefaultIterations = 600_000

// Hasher makes and checks password hashes.
type Hasher struct {
	Iterations int
	// dummy is a hash of a random password with the current parameters,
	// verified for unknown users so that a login for a missing account
	// costs as much as one for an existing account.
	dummy string
	// checks counts password verifications, real or dummy (tests use it
	// to prove every login costs exactly one).
	checks atomic.Int64
}

// Checks reports how many verifications this hasher has run.
func (h *Hasher) Checks() int64 { return h.checks.Load() }

// NewHasher returns a hasher writing pbkdf2_sha256 with iterations.
func NewHasher(iterations int) *Hasher {
	if iterations <= 0 {
		iterations = DefaultIterations
	}
	h := &Hasher{Iterations: iterations}
	h.dummy, _ = h.Hash(randomString(20, saltAlphabet))
	return h
}

const saltAlphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

// Hash returns the Django pbkdf2_sha256 encoding of password with a fresh
// 22-character salt (128 bits, as Django).
func (h *Hasher) Hash(password string) (string, error) {
	salt := randomString(22, saltAlphabet)
	return encodePBKDF2(password, salt, h.Iterations)
}

func encodePBKDF2(password, salt string, iter int) (string, error) {
	key, err := pbkdf2.Key(sha256.New, password, []byte(salt), iter, 32)
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("pbkdf2_sha256$%d$%s$%s", iter, salt, base64.StdEncoding.EncodeToString(key)), nil
}

// ErrUnusable marks an encoded value that can never match (Django's "!"
// prefix, empty, or an unknown algorithm).
var ErrUnusable = errors.New("unusable password hash")

// Verify reports whether password matches encoded, and whether the hash
// should be replaced with a current one (other format or iterations).
func (h *Hasher) Verify(password, encoded string) (ok, needsRehash bool) {
	h.checks.Add(1)
	switch {
	case strings.HasPrefix(encoded, "pbkdf2_sha256$"):
		parts := strings.SplitN(encoded, "$", 4)
		if len(parts) != 4 {
			return false, false
		}
		iter, err := strconv.Atoi(parts[1])
		if err != nil || iter <= 0 || iter > 100_000_000 {
			return false, false
		}
		want, err := base64.StdEncoding.DecodeString(parts[3])
		if err != nil {
			return false, false
		}
		got, err := pbkdf2.Key(sha256.New, password, []byte(parts[2]), iter, len(want))
		if err != nil {
			return false, false
		}
		ok = subtle.ConstantTimeCompare(got, want) == 1
		return ok, ok && (iter != h.Iterations || len(parts[2]) < 22)
	case strings.HasPrefix(encoded, "bcrypt_sha256$"):
		sum := sha256.Sum256([]byte(password))
		ok = bcrypt.CompareHashAndPassword([]byte(encoded[len("bcrypt_sha256$"):]), []byte(hex.EncodeToString(sum[:]))) == nil
		return ok, ok
	case strings.HasPrefix(encoded, "bcrypt$"):
		ok = bcrypt.CompareHashAndPassword([]byte(encoded[len("bcrypt$"):]), []byte(password)) == nil
		return ok, ok
	case strings.HasPrefix(encoded, "$2a$"), strings.HasPrefix(encoded, "$2b$"), strings.HasPrefix(encoded, "$2y$"):
		ok = bcrypt.CompareHashAndPassword([]byte(encoded), []byte(password)) == nil
		return ok, ok
	}
	// Unknown or unusable: spend the same time as a real check.
	h.burn(password)
	return false, false
}

// VerifyDummy burns one verification's worth of CPU; call it when the
// account does not exist so response times do not reveal that.
func (h *Hasher) VerifyDummy(password string) {
	h.checks.Add(1)
	h.burn(password)
}

func (h *Hasher) burn(password string) {
	if h.dummy != "" {
		parts := strings.SplitN(h.dummy, "$", 4)
		_, _ = pbkdf2.Key(sha256.New, password, []byte(parts[2]), h.Iterations, 32)
	}
}

// Unusable is the hash stored for accounts that cannot log in with a
// password (Django's make_password(None) shape).
func Unusable() string { return "!" + randomString(40, saltAlphabet) }

// randomString draws n characters from alphabet with crypto/rand, without
// modulo bias.
func randomString(n int, alphabet string) string {
	out := make([]byte, n)
	max := 256 - (256 % len(alphabet))
	buf := make([]byte, 1)
	for i := 0; i < n; {
		if _, err := rand.Read(buf); err != nil {
			panic("crypto/rand: " + err.Error())
		}
		if int(buf[0]) >= max {
			continue
		}
		out[i] = alphabet[int(buf[0])%len(alphabet)]
		i++
	}
	return string(out)
}

// tempAlphabet leaves out look-alikes (0/O, 1/l/I) so that a temporary
// password read off paper or a phone is typed right.
const tempAlphabet = "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"

// TemporaryPassword returns a 12-character password without ambiguous
// characters, with at least one letter and one digit.
func TemporaryPassword() string {
	for {
		p := randomString(12, tempAlphabet)
		if strings.ContainsAny(p, "23456789") && strings.ContainsAny(p, "abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ") {
			return p
		}
	}
}
