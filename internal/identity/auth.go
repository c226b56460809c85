package identity

import (
	"context"
	"strings"
	"time"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/errs"
)

// AuthStore is the persistence behind logins, sessions and tokens.
type AuthStore interface {
	Principal(ctx context.Context, userID int64) (*Principal, error)
	PrincipalByLegacyID(ctx context.Context, legacyID string) (*Principal, error)
	// SessionPrincipal is Principal plus the state of session sid of that
	// user, in one statement: it authenticates every request.
	SessionPrincipal(ctx context.Context, userID int64, sid string) (*Principal, SessionState, error)
	// OpenSession records a login in one transaction: provided the user is
	// still active and its hash is still verified (else Unauthenticated),
	// it stamps last_login (storing rehash when set), creates the session,
	// records its refresh token and audits the login.
	OpenSession(ctx context.Context, s Session, verified, rehash string) error
	// AdoptSession makes session s for a legacy refresh token issued at
	// issuedAt, unless the user's cut-off or inactivity refuses it; it
	// reports whether the session is live (an adopted session may since
	// have been revoked).
	AdoptSession(ctx context.Context, s Session, issuedAt time.Time) (bool, error)
	// ChangePassword stores the user's new hash, clears the temporary
	// flags, keeps session keep (creating it if new) and revokes every
	// other session of the user, in one transaction.
	ChangePassword(ctx context.Context, userID int64, hash string, keep Session) error
	IsBlacklisted(ctx context.Context, jti string) (bool, error)
	// EndSession blacklists refresh token jti (when given; Conflict if it
	// already is) and revokes session sid (when given), audited as action.
	EndSession(ctx context.Context, userID int64, sid, jti string, jtiExpires time.Time, action string) error
	// RotateRefresh blacklists the presented refresh token (Conflict if it
	// already is), records its replacement and extends the session.
	RotateRefresh(ctx context.Context, sid, oldJTI string, oldExpires time.Time, newJTI string, userID int64, newExpires time.Time) error
	LockedUntil(ctx context.Context, keys []string, now time.Time) (time.Time, error)
	RecordFailure(ctx context.Context, keys []ThrottleKey, now time.Time) (time.Time, error)
	ResetThrottle(ctx context.Context, key string) error
	WriteAudit(ctx context.Context, e audit.Entry) error
	// PruneTokens deletes token rows expired before now and sessions
	// whose last token expired before sessionsBefore.
	PruneTokens(ctx context.Context, now, sessionsBefore time.Time) (int64, error)
}

// SessionState is what the database knows of a session.
type SessionState int

// Session states.
const (
	SessionMissing SessionState = iota // no such session (never made, or pruned)
	SessionLive
	SessionRevoked
)

// Session is one login: its tokens carry ID as the sid claim.
type Session struct {
	ID     string
	UserID int64
	// RefreshJTI and RefreshExpires are those of the refresh token issued
	// with the session (recorded as outstanding); the session lasts as
	// long as its latest refresh token.
	RefreshJTI     string
	RefreshExpires time.Time
	IP, UserAgent  string
}

// sessionOf is the session a pair was minted for, with the caller's
// address.
func sessionOf(ctx context.Context, userID int64, p Pair) Session {
	a := audit.ActorFrom(ctx)
	return Session{ID: p.SessionID, UserID: userID, RefreshJTI: p.RefreshJTI, RefreshExpires: p.RefreshExp, IP: a.IP, UserAgent: a.UserAgent}
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

// Auth is the login, session and token service.
//
// Every login opens a session; its access and refresh tokens carry the
// session id (sid). Authentication reads the user and the session's state
// in one statement, so ending a session (logout), every other session of
// a user (own password change) or all of them (deactivation, reset) takes
// effect on the next request, whatever the clock says. Tokens minted by
// the legacy systems have no sid: an access token counts if issued after
// the user's cut-off (TokensValidAfter, moved at every revocation); a
// refresh token becomes a session of its own (id = its jti) on its first
// refresh, under the same cut-off.
type Auth struct {
	store  AuthStore
	users  UserStore
	hasher *Hasher
	tokens *Tokens
	// Account and Address are the throttling policies.
	Account, Address ThrottlePolicy
	// RotateRefresh makes a refresh return a new refresh token and
	// blacklist the presented one (SimpleJWT's ROTATE_REFRESH_TOKENS with
	// BLACKLIST_AFTER_ROTATION). Off by default, SimpleJWT's default: the
	// legacy frontends keep the refresh token of their login.
	RotateRefresh bool
	Now           func() time.Time
	refusals      refusals
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
// and opens a session with its token pair. Failures say only that no
// active account matched, whatever the reason, and cost the same time.
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
	p, err := a.store.Principal(ctx, u.ID)
	if err != nil {
		return nil, err
	}
	pair, err := a.tokens.Issue(p.User, NewSessionID())
	if err != nil {
		return nil, errs.Internal(err)
	}
	// The store opens the session only if the password checked above is
	// still the user's: a login racing a reset does not outlive it.
	err = a.store.OpenSession(ctx, sessionOf(ctx, u.ID, pair), u.PasswordHash, newHash)
	if errs.Is(err, errs.KindUnauthenticated) {
		return nil, unauthenticated(msgNoActiveAccount, "")
	}
	if err != nil {
		return nil, err
	}
	_ = a.store.ResetThrottle(ctx, keys[0].Key)
	return &LoginResult{User: p.User, Pair: pair}, nil
}

// resolve reads the user a token names and the state of its session (one
// statement), and tells whether the token still counts. sid is the
// token's session ("" for a legacy access token, which counts if issued
// after the user's cut-off).
func (a *Auth) resolve(ctx context.Context, c *Claims, sid string) (*Principal, SessionState, error) {
	var p *Principal
	var err error
	switch {
	case sid != "":
		var st SessionState
		p, st, err = a.store.SessionPrincipal(ctx, c.UserID.ID, sid)
		return p, st, err
	case c.UserID.Legacy != "":
		p, err = a.store.PrincipalByLegacyID(ctx, c.UserID.Legacy)
	default:
		p, err = a.store.Principal(ctx, c.UserID.ID)
	}
	if err != nil {
		return nil, SessionMissing, err
	}
	if cutOff(p.User, c) {
		return p, SessionRevoked, nil
	}
	return p, SessionLive, nil
}

// Authenticate resolves an access token to the caller, reading the user,
// role, permissions and session from the database in one statement
// (claims are never trusted for authorization).
func (a *Auth) Authenticate(ctx context.Context, token string) (*Principal, error) {
	c, err := a.tokens.Parse(token, TokenAccess)
	if err != nil {
		return nil, accessTokenError(err.Error())
	}
	p, st, err := a.resolve(ctx, c, c.SessionID)
	if errs.Is(err, errs.KindNotFound) {
		return nil, unauthenticated(msgUserNotFound, "user_not_found")
	}
	if err != nil {
		return nil, err
	}
	if !p.User.IsActive {
		return nil, unauthenticated(msgUserInactive, "user_inactive")
	}
	if st != SessionLive {
		return nil, accessTokenError(msgInvalidExpired)
	}
	p.TokenID, p.SessionID = c.ID, c.SessionID
	return p, nil
}

// cutOff: a token without a session issued at or before the user's last
// revocation no longer counts. The comparison is inclusive because iat
// has second precision and the cut-off does not: a legacy token of the
// same second as the revocation is refused (thot mints no such tokens).
func cutOff(u *User, c *Claims) bool {
	if u.TokensValidAfter == nil {
		return false
	}
	if c.IssuedAt == nil {
		return true
	}
	return !c.IssuedAt.Time.After(*u.TokensValidAfter)
}

// refreshError is SimpleJWT's body on the refresh/verify/blacklist views.
func refreshError(msg string) *errs.Error { return unauthenticated(msg, "token_not_valid") }

// refreshSession is the session of a refresh token: its sid, or for a
// legacy token (no sid) its own jti, under which it is adopted.
func refreshSession(c *Claims) string {
	if c.SessionID != "" {
		return c.SessionID
	}
	return c.ID
}

// checkRefresh parses a refresh token and checks it is still good: not
// blacklisted, its user active, its session live. A legacy refresh token
// whose session does not exist yet passes on the user's cut-off; adopt
// makes that session (Refresh does; verify and logout only look).
func (a *Auth) checkRefresh(ctx context.Context, token string, adopt bool) (*Claims, *Principal, error) {
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
	sid := refreshSession(c)
	p, st, err := a.store.SessionPrincipal(ctx, c.UserID.ID, sid)
	if errs.Is(err, errs.KindNotFound) {
		return nil, nil, refreshError(msgInvalidExpired)
	}
	if err != nil {
		return nil, nil, err
	}
	if !p.User.IsActive {
		return nil, nil, refreshError(msgInvalidExpired)
	}
	switch {
	case st == SessionRevoked:
		// The session ended (logout, password change, deactivation):
		// its refresh tokens are as good as blacklisted.
		return nil, nil, refreshError(msgBlacklisted)
	case st == SessionMissing && c.SessionID != "":
		return nil, nil, refreshError(msgInvalidExpired)
	case st == SessionMissing:
		if cutOff(p.User, c) {
			return nil, nil, refreshError(msgInvalidExpired)
		}
		if adopt {
			var iat time.Time
			if c.IssuedAt != nil {
				iat = c.IssuedAt.Time
			}
			s := Session{ID: sid, UserID: p.User.ID, RefreshJTI: c.ID, RefreshExpires: c.ExpiresAt.Time}
			live, err := a.store.AdoptSession(ctx, s, iat)
			if errs.Is(err, errs.KindUnauthenticated) {
				return nil, nil, refreshError(msgInvalidExpired) // the user was deleted meanwhile
			}
			if err != nil {
				return nil, nil, err
			}
			if !live {
				return nil, nil, refreshError(msgInvalidExpired)
			}
		}
	}
	return c, p, nil
}

// Refreshed is the answer of a refresh: a new access token, and a new
// refresh token only when rotating.
type Refreshed struct {
	Access, Refresh string
}

// Refresh mints a new access token in the refresh token's session, with
// claims read afresh from the database (the legacy copied stale role and
// team claims). The refresh token stays good until it expires or its
// session ends, unless RotateRefresh. A token refused again and again gets
// 429 (see refusals).
func (a *Auth) Refresh(ctx context.Context, token string) (Refreshed, error) {
	now := a.Now()
	key := refusalKey(token)
	if wait := a.refusals.blocked(key, now); wait > 0 {
		return Refreshed{}, &errs.Error{Kind: errs.KindTooMany, Code: "token_not_valid", Message: msgInvalidExpired, RetryAfter: wait}
	}
	r, err := a.refresh(ctx, token)
	if errs.Is(err, errs.KindUnauthenticated) {
		a.refusals.add(key, now)
	}
	return r, err
}

func (a *Auth) refresh(ctx context.Context, token string) (Refreshed, error) {
	c, p, err := a.checkRefresh(ctx, token, true)
	if err != nil {
		return Refreshed{}, err
	}
	sid := refreshSession(c)
	if !a.RotateRefresh {
		access, _, err := a.tokens.IssueAccess(p.User, sid)
		if err != nil {
			return Refreshed{}, errs.Internal(err)
		}
		return Refreshed{Access: access}, nil
	}
	pair, err := a.tokens.Issue(p.User, sid)
	if err != nil {
		return Refreshed{}, errs.Internal(err)
	}
	err = a.store.RotateRefresh(audit.WithUser(ctx, p.User.ID), sid, c.ID, c.ExpiresAt.Time, pair.RefreshJTI, p.User.ID, pair.RefreshExp)
	if errs.Is(err, errs.KindConflict) {
		// Another request rotated this token first.
		return Refreshed{}, refreshError(msgBlacklisted)
	}
	if err != nil {
		return Refreshed{}, err
	}
	return Refreshed{Access: pair.Access, Refresh: pair.Refresh}, nil
}

// Verify checks any token as SimpleJWT's verify view, which reports a
// blacklisted refresh token as a 400 validation error. Unlike SimpleJWT,
// an access token also has to belong to a live session of an active user:
// verify answers what the next request would meet.
func (a *Auth) Verify(ctx context.Context, token string) error {
	if c, err := a.tokens.Parse(token, TokenAccess); err == nil {
		p, st, err := a.resolve(ctx, c, c.SessionID)
		if errs.Is(err, errs.KindNotFound) || (err == nil && (!p.User.IsActive || st != SessionLive)) {
			return refreshError(msgInvalidExpired)
		}
		return err
	}
	_, _, err := a.checkRefresh(ctx, token, false)
	if e, ok := errs.As(err); ok && e.Message == msgBlacklisted {
		return errs.Field("non_field_errors", msgBlacklisted)
	}
	return err
}

// Logout blacklists a refresh token and ends its session (SimpleJWT's
// blacklist view; ending the session also stops its access tokens).
func (a *Auth) Logout(ctx context.Context, token string) error {
	c, p, err := a.checkRefresh(ctx, token, false)
	if err != nil {
		return err
	}
	err = a.store.EndSession(audit.WithUser(ctx, p.User.ID), p.User.ID, refreshSession(c), c.ID, c.ExpiresAt.Time, audit.ActionLogout)
	if errs.Is(err, errs.KindConflict) {
		return refreshError(msgBlacklisted)
	}
	return err
}

// EndSession ends the caller's own session (logout with the access token
// alone). A caller on a legacy token has no session to end: its token
// lapses when it expires. Audited as a logout either way.
func (a *Auth) EndSession(ctx context.Context, p *Principal) error {
	return a.store.EndSession(audit.WithUser(ctx, p.User.ID), p.User.ID, p.SessionID, "", time.Time{}, audit.ActionLogout)
}

// ChangePassword checks the current password and the policy, stores the
// new one, clears the temporary flags and ends every other session of the
// user. The caller's session goes on: the tokens it holds keep working
// (neither legacy frontend stores the tokens of the answer). The answer's
// pair belongs to the same session, with fresh claims; a caller on a
// legacy token (no session) gets a new session, while its own token is
// cut off with every other legacy token.
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
	sid := p.SessionID
	if sid == "" {
		sid = NewSessionID()
	}
	// The answer's claims are the user's after the change (no temporary
	// flags); only the flags change, so they are set here rather than
	// read back.
	after := *u
	after.MustChangePassword, after.IsTempPassword = false, false
	pair, err := a.tokens.Issue(&after, sid)
	if err != nil {
		return Pair{}, errs.Internal(err)
	}
	if err := a.store.ChangePassword(ctx, u.ID, hash, sessionOf(ctx, u.ID, pair)); err != nil {
		return Pair{}, err
	}
	return pair, nil
}

// Prune removes expired token rows and sessions none of whose tokens can
// still be valid (periodic job): an access token may outlive its
// session's refresh token by the access lifetime.
func (a *Auth) Prune(ctx context.Context) (int64, error) {
	now := a.Now()
	return a.store.PruneTokens(ctx, now, now.Add(-a.tokens.AccessTTL))
}
