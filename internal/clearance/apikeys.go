package clearance

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strings"
	"time"

	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// API keys let a machine client (the browser extension) call its routes
// without a user session. The key is shown once, when it is made; the
// database keeps its SHA-256 and a prefix that names it in lists and logs.
// A key is revoked, never deleted, so the audit entries written under its
// name keep meaning something.

// KeyStore is the persistence of API keys and of what the extension reads
// and changes (ExtensionStore, extension.go).
type KeyStore interface {
	// CreateAPIKey stores k with the key's hash (k.ID set), audited.
	CreateAPIKey(ctx context.Context, k *APIKey, keyHash string) error
	// APIKeys lists every key, newest first (revoked ones included).
	APIKeys(ctx context.Context) ([]APIKey, error)
	// RevokeAPIKey sets revoked_at (audited); an unknown id is
	// errs.KindNotFound; revoking a revoked key changes nothing.
	RevokeAPIKey(ctx context.Context, id string, now time.Time) (*APIKey, error)
	// APIKeyByHash finds a key by its hash (revoked ones too);
	// errs.KindNotFound when none.
	APIKeyByHash(ctx context.Context, keyHash string) (*APIKey, error)
	// TouchAPIKey sets last_used_at = now unless it is already after
	// notBefore (so a busy key costs at most one write a minute).
	TouchAPIKey(ctx context.Context, id string, now, notBefore time.Time) error

	ExtensionStore
}

// apiKeyPrefix starts every key, so a leaked one is recognisable (secret
// scanners) and the header parser can tell it from a JWT.
const apiKeyPrefix = "thot_"

// apiKeyShownPrefix is how many characters of a key are kept in clear.
const apiKeyShownPrefix = len(apiKeyPrefix) + 8

// touchEvery bounds the last_used_at writes of a busy key.
const touchEvery = time.Minute

// HashAPIKey is the stored form of a key (SHA-256, hex): the key has 256
// random bits, so a slow hash would add nothing but latency per call.
func HashAPIKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// newAPIKey returns "thot_" + 32 random bytes in unpadded base64url.
func newAPIKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", errs.Internal(err)
	}
	return apiKeyPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// APIKeyInput is what an administrator sends to make a key.
type APIKeyInput struct {
	Name  string
	Scope string
}

// CreateAPIKey makes a named key for p. The returned secret is the only
// time the key is ever shown.
func (s *Service) CreateAPIKey(ctx context.Context, p *identity.Principal, in APIKeyInput) (*APIKey, string, error) {
	fe := errs.FieldErrors{}
	name := strings.TrimSpace(in.Name)
	if n := len([]rune(name)); n < 1 || n > 100 {
		fe.Add("name", "Debe tener entre 1 y 100 caracteres.")
	}
	scope := strings.TrimSpace(in.Scope)
	if scope == "" {
		scope = ScopeExtension
	}
	if scope != ScopeExtension {
		fe.Add("scope", "El único ámbito disponible es «extension».")
	}
	if err := fe.Err(); err != nil {
		return nil, "", err
	}
	secret, err := newAPIKey()
	if err != nil {
		return nil, "", err
	}
	id := p.User.ID
	k := &APIKey{Name: name, Scope: scope, Prefix: secret[:apiKeyShownPrefix], CreatedByID: &id, CreatedAt: s.now().UTC()}
	if err := s.store.CreateAPIKey(ctx, k, HashAPIKey(secret)); err != nil {
		return nil, "", err
	}
	return k, secret, nil
}

// APIKeys lists the keys (never the keys themselves: only prefixes).
func (s *Service) APIKeys(ctx context.Context) ([]APIKey, error) { return s.store.APIKeys(ctx) }

// RevokeAPIKey revokes a key at once: the next call with it is 401.
func (s *Service) RevokeAPIKey(ctx context.Context, id string) (*APIKey, error) {
	if !ValidID(id) {
		return nil, errs.NotFound("API key")
	}
	return s.store.RevokeAPIKey(ctx, id, s.now().UTC())
}

// errBadAPIKey answers an unknown, revoked or wrong-scope key alike, so a
// caller learns nothing about which keys exist.
var errBadAPIKey = &errs.Error{Kind: errs.KindUnauthenticated, Code: "invalid_api_key", Message: "Clave API no válida o revocada."}

// AuthenticateKey resolves a presented key for a route of scope. Unknown,
// revoked and other-scope keys are all errs.KindUnauthenticated.
func (s *Service) AuthenticateKey(ctx context.Context, key, scope string) (*APIKey, error) {
	if !strings.HasPrefix(key, apiKeyPrefix) || len(key) > 200 {
		return nil, errBadAPIKey
	}
	k, err := s.store.APIKeyByHash(ctx, HashAPIKey(key))
	if err != nil {
		if errs.Is(err, errs.KindNotFound) {
			return nil, errBadAPIKey
		}
		return nil, err
	}
	if k.RevokedAt != nil || k.Scope != scope {
		return nil, errBadAPIKey
	}
	now := s.now().UTC()
	if k.LastUsedAt == nil || now.Sub(*k.LastUsedAt) >= touchEvery {
		// Best effort: a failed bookkeeping write must not refuse the call.
		_ = s.store.TouchAPIKey(ctx, k.ID, now, now.Add(-touchEvery))
	}
	return k, nil
}

// AuditName is how changes made with the key appear in the audit log.
func (k *APIKey) AuditName() string { return "api-key:" + k.Name }
