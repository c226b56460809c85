package identity

import (
	"context"
	"strings"
	"time"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/errs"
)

// AuthStore is the persistence behind logins and tokens.
type AuthStore interface {
	Principal(ctx context.Context, userID int64) (*Principal, error)
	PrincipalByLegacyID(ctx context.Context, legacyID string) (*Principal, error)
	RecordLogin(ctx context.Context, userID int64, rehash string) error
	ChangePassword(ctx context.Context, userID int64, hash string) error
	RecordRefresh(ctx context.Context, jti string, userID int64, expires time.Time) error
	IsBlacklisted(ctx context.Context, jti string) (bool, error)
	Blacklist(ctx context.Context, jti string, userID int64, expires time.Time, action string) error
	RotateRefresh(ctx context.Context, oldJTI string, oldExpires time.Time, newJTI string, userID int64, newExpires time.Time) error
	LockedUntil(ctx context.Context, keys []string, now time.Time) (time.Time, error)
	RecordFailure(ctx context.Context, keys []ThrottleKey, now time.Time) (time.Time, error)
	ResetThrottle(ctx context.Context, key string) error
	WriteAudit(ctx context.Context, e audit.Entry) error
	PruneTokens(ctx context.Context, now time.Time) (int64, error)
}

// SimpleJWT's messages, kept word for word: the frontends match on them.
const (
	msgNoActiveAccount = "No active account found with the given credentials"
	msgNotProvided     = "Authentication credentials were not provided."
	msgNotValidAny     = "Given token not valid for any token type"
	msgInvalidExpired  = "Token is invalid or expired"
	msgBlacklisted     = "Token is blacklisted"
	msgUserNotFound    = "User not found"
	msgUserInactive    = "User is inactive"
)

func unauthenticated(msg, code string) *errs.Error {
	return &errs.Error{Kind: errs.KindUnauthenticated, Message: msg, Code: code}
}

// ErrNoCredentials is returned when a protected route gets no token.
var ErrNoCredentials = unauthenticated(msgNotProvided, "")

// accessTokenError is SimpleJWT's body for a bad access token on a
// protected route.
func accessTokenError(reason string) *errs.Error {
	e := unauthenticated(msgNotValidAny, "token_not_valid")
	e.Extra = map[string]any{"messages": []map[string]string{{"token_class": "AccessToken", "token_type": "access", "message": reason}}}
	return e
}

// ErrPasswordChangeRequired is returned for every call but the allowed few
// while the user has a temporary password.
var ErrPasswordChangeRequired = &errs.Error{Kind: errs.KindForbidden, Code: "password_change_required",
	Message: "Debe cambiar su contraseña antes de continuar."}

// Auth is the login and token service.
type Auth struct {
	store  AuthStore
	users  UserStore
	hasher *Hasher
	tokens *Tokens
	// Account and Address are the throttling policies.
	Account, Address ThrottlePolicy
	Now              func() time.Time
}

// NewAuth wires the auth service.
func NewAuth(store AuthStore, users UserStore, hasher *Hasher, tokens *Tokens) *Auth {
	return &Auth{store: store, users: users, hasher: hasher, tokens: tokens, Account: AccountPolicy, Address: AddressPolicy, Now: time.Now}
}

// Tokens exposes the token service.
func (a *Auth) Tokens() *Tokens { return a.tokens }

// LoginResult is a successful login.
type LoginResult struct {
	User *User
	Pair Pair
}

// throttleKeys are the account and address keys of a login attempt.
func (a *Auth) throttleKeys(login, ip string) []ThrottleKey {
	keys := []ThrottleKey{{Key: "account:" + strings.ToLower(strings.TrimSpace(login)), Policy: a.Account}}
	if ip != "" {
		keys = append(keys, ThrottleKey{Key: "ip:" + ip, Policy: a.Address})
	}
	return keys
}

func tooMany(until, now time.Time) *errs.Error {
	return &errs.Error{Kind: errs.KindTooMany, Code: "throttled",
		Message:    "Demasiados intentos fallidos. Inténtelo de nuevo más tarde.",
		RetryAfter: until.Sub(now)}
}

// Login checks a username-or-e-mail and password with one password hash
// (Django's serializer hashed twice), throttled per account and address,
// and issues a token pair. Failures say only that no active account
// matched, whatever the reason, and cost the same time.
func (a *Auth) Login(ctx context.Context, login, password string) (*LoginResult, error) {
	now := a.Now()
	ip := audit.ActorFrom(ctx).IP
	keys := a.throttleKeys(login, ip)
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Key
	}
	until, err := a.store.LockedUntil(ctx, names, now)
	if err != nil {
		return nil, err
	}
	if until.After(now) {
		return nil, tooMany(until, now)
	}
	u, err := a.users.UserByLogin(ctx, strings.TrimSpace(login))
	if err != nil && !errs.Is(err, errs.KindNotFound) {
		return nil, err
	}
	ok, rehash := false, false
	if u == nil {
		a.hasher.VerifyDummy(password)
	} else {
		ok, rehash = a.hasher.Verify(password, u.PasswordHash)
	}
	if !ok || !u.IsActive {
		var uid *int64
		if u != nil {
			id := u.ID
			uid = &id
		}
		_ = a.store.WriteAudit(ctx, audit.Entry{UserID: uid, Action: audit.ActionLoginFailed, TableName: "users",
			NewValues: map[string]any{"login": login}})
		// The failure that triggers a lock is still answered as a wrong
		// password; the attempts after it get 429 until the lock ends.
		if _, err := a.store.RecordFailure(ctx, keys, now); err != nil {
			return nil, err
		}
		return nil, unauthenticated(msgNoActiveAccount, "")
	}
	newHash := ""
	if rehash {
		if newHash, err = a.hasher.Hash(password); err != nil {
			return nil, errs.Internal(err)
		}
	}
	ctx = audit.WithUser(ctx, u.ID)
	if err := a.store.RecordLogin(ctx, u.ID, newHash); err != nil {
		return nil, err
	}
	_ = a.store.ResetThrottle(ctx, keys[0].Key)
	p, err := a.store.Principal(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	pair, err := a.tokens.Issue(p.User)
	if err != nil {
		return nil, errs.Internal(err)
	}
	if err := a.store.RecordRefresh(ctx, pair.RefreshJTI, u.ID, pair.RefreshExp); err != nil {
		return nil, err
	}
	return &LoginResult{User: p.User, Pair: pair}, nil
}

// Authenticate resolves an access token to the caller, reading the user,
// role and permissions from the database (claims are never trusted for
// authorization).
func (a *Auth) Authenticate(ctx context.Context, token string) (*Principal, error) {
	c, err := a.tokens.Parse(token, TokenAccess)
	if err != nil {
		return nil, accessTokenError(err.Error())
	}
	var p *Principal
	if c.UserID.Legacy != "" {
		p, err = a.store.PrincipalByLegacyID(ctx, c.UserID.Legacy)
	} else {
		p, err = a.store.Principal(ctx, c.UserID.ID)
	}
	if errs.Is(err, errs.KindNotFound) {
		return nil, unauthenticated(msgUserNotFound, "user_not_found")
	}
	if err != nil {
		return nil, err
	}
	if !p.User.IsActive {
		return nil, unauthenticated(msgUserInactive, "user_inactive")
	}
	if revokedBefore(p.User, c) {
		return nil, accessTokenError(msgInvalidExpired)
	}
	p.TokenID = c.ID
	return p, nil
}

// revokedBefore: tokens issued before the user's last password change or
// deactivation no longer count.
func revokedBefore(u *User, c *Claims) bool {
	if u.TokensValidAfter == nil {
		return false
	}
	if c.IssuedAt == nil {
		return true
	}
	return c.IssuedAt.Time.Before(*u.TokensValidAfter)
}

// refreshError is SimpleJWT's body on the refresh/verify/blacklist views.
func refreshError(msg string) *errs.Error { return unauthenticated(msg, "token_not_valid") }

// checkRefresh parses a refresh token and checks it is still good.
func (a *Auth) checkRefresh(ctx context.Context, token string) (*Claims, *Principal, error) {
	c, err := a.tokens.Parse(token, TokenRefresh)
	if err != nil {
		return nil, nil, refreshError(err.Error())
	}
	black, err := a.store.IsBlacklisted(ctx, c.ID)
	if err != nil {
		return nil, nil, err
	}
	if black {
		return nil, nil, refreshError(msgBlacklisted)
	}
	p, err := a.store.Principal(ctx, c.UserID.ID)
	if errs.Is(err, errs.KindNotFound) {
		return nil, nil, refreshError(msgInvalidExpired)
	}
	if err != nil {
		return nil, nil, err
	}
	if !p.User.IsActive || revokedBefore(p.User, c) {
		return nil, nil, refreshError(msgInvalidExpired)
	}
	return c, p, nil
}

// Refresh rotates a refresh token: the old one is blacklisted and a new
// pair issued with claims read afresh from the database (the legacy copied
// stale role and team claims).
func (a *Auth) Refresh(ctx context.Context, token string) (Pair, error) {
	c, p, err := a.checkRefresh(ctx, token)
	if err != nil {
		return Pair{}, err
	}
	pair, err := a.tokens.Issue(p.User)
	if err != nil {
		return Pair{}, errs.Internal(err)
	}
	err = a.store.RotateRefresh(audit.WithUser(ctx, p.User.ID), c.ID, c.ExpiresAt.Time, pair.RefreshJTI, p.User.ID, pair.RefreshExp)
	if errs.Is(err, errs.KindConflict) {
		// Another request rotated this token first.
		return Pair{}, refreshError(msgBlacklisted)
	}
	if err != nil {
		return Pair{}, err
	}
	return pair, nil
}

// Verify checks any token (access or refresh) as SimpleJWT's verify view,
// which reports a blacklisted refresh token as a 400 validation error.
func (a *Auth) Verify(ctx context.Context, token string) error {
	if _, err := a.tokens.Parse(token, TokenAccess); err == nil {
		return nil
	}
	_, _, err := a.checkRefresh(ctx, token)
	if e, ok := errs.As(err); ok && e.Message == msgBlacklisted {
		return errs.Field("non_field_errors", msgBlacklisted)
	}
	return err
}

// Logout blacklists a refresh token (SimpleJWT's blacklist view).
func (a *Auth) Logout(ctx context.Context, token string) error {
	c, p, err := a.checkRefresh(ctx, token)
	if err != nil {
		return err
	}
	err = a.store.Blacklist(audit.WithUser(ctx, p.User.ID), c.ID, p.User.ID, c.ExpiresAt.Time, audit.ActionLogout)
	if errs.Is(err, errs.KindConflict) {
		return refreshError(msgBlacklisted)
	}
	return err
}

// ChangePassword checks the current password and the policy, stores the
// new one, clears the temporary flags and revokes the user's other tokens.
// It returns a fresh pair so the caller's session continues.
func (a *Auth) ChangePassword(ctx context.Context, p *Principal, current, next, confirm string) (Pair, error) {
	fe := errs.FieldErrors{}
	if current == "" {
		fe.Add("current_password", "This field is required.")
	}
	if next == "" {
		fe.Add("new_password", "This field is required.")
	}
	if confirm == "" {
		fe.Add("confirm_password", "This field is required.")
	}
	if err := fe.Err(); err != nil {
		return Pair{}, err
	}
	u, err := a.users.UserByID(ctx, p.User.ID)
	if err != nil {
		return Pair{}, err
	}
	if ok, _ := a.hasher.Verify(current, u.PasswordHash); !ok {
		return Pair{}, errs.Field("current_password", "La contraseña actual no es correcta.")
	}
	if next != confirm {
		return Pair{}, errs.Field("confirm_password", "Las contraseñas nuevas no coinciden.")
	}
	if next == current {
		return Pair{}, errs.Field("new_password", "La nueva contraseña debe ser distinta de la actual.")
	}
	if msgs := CheckPassword(next, u.Email, u.FirstName, u.LastName); len(msgs) > 0 {
		return Pair{}, &errs.Error{Kind: errs.KindInvalid, Fields: map[string]any{"new_password": msgs}}
	}
	hash, err := a.hasher.Hash(next)
	if err != nil {
		return Pair{}, errs.Internal(err)
	}
	if err := a.store.ChangePassword(ctx, u.ID, hash); err != nil {
		return Pair{}, err
	}
	fresh, err := a.store.Principal(ctx, u.ID)
	if err != nil {
		return Pair{}, err
	}
	pair, err := a.tokens.Issue(fresh.User)
	if err != nil {
		return Pair{}, errs.Internal(err)
	}
	return pair, a.store.RecordRefresh(ctx, pair.RefreshJTI, u.ID, pair.RefreshExp)
}

// Prune removes expired token rows (periodic job).
func (a *Auth) Prune(ctx context.Context) (int64, error) { return a.store.PruneTokens(ctx, a.Now()) }
