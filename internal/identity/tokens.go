package identity

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/google/uuid"
)

// Token types, as SimpleJWT's token_type claim.
const (
	TokenAccess  = "access"
	TokenRefresh = "refresh"
)

// UserRef is the user_id claim: an integer for thot and Django tokens, a
// UUID string in tokens of the legacy FastAPI service.
type UserRef struct {
	ID     int64
	Legacy string
}

// MarshalJSON writes the integer form.
func (r UserRef) MarshalJSON() ([]byte, error) { return []byte(strconv.FormatInt(r.ID, 10)), nil }

// UnmarshalJSON accepts a number or a string.
func (r *UserRef) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		if n, err := strconv.ParseInt(s, 10, 64); err == nil {
			r.ID = n
			return nil
		}
		if _, err := uuid.Parse(s); err != nil {
			return errors.New("user_id is neither an integer nor a UUID")
		}
		r.Legacy = s
		return nil
	}
	return json.Unmarshal(b, &r.ID)
}

// Claims are SimpleJWT's plus the extra claims the legacy login added
// (copied into the access token). Authorization never trusts the extras:
// they are for the frontends' display only.
type Claims struct {
	TokenType          string  `json:"token_type,omitempty"`
	UserID             UserRef `json:"user_id"`
	IsSuperuser        bool    `json:"is_superuser"`
	Username           string  `json:"username,omitempty"`
	Email              string  `json:"email,omitempty"`
	FirstName          string  `json:"first_name"`
	LastName           string  `json:"last_name"`
	MustChangePassword bool    `json:"must_change_password"`
	Role               *string `json:"role"`
	TeamID             *string `json:"team_id"`
	// SessionID (sid) names the login both tokens belong to; tokens of
	// the legacy systems have none (see Auth.Authenticate).
	SessionID string `json:"sid,omitempty"`
	jwt.RegisteredClaims
}

// Tokens mints and checks HS256 JWTs in SimpleJWT's format.
type Tokens struct {
	key        []byte
	AccessTTL  time.Duration
	RefreshTTL time.Duration
	// Now is the clock (tests set it).
	Now func() time.Time
}

// NewTokens returns a token service signing with key.
func NewTokens(key string, access, refresh time.Duration) *Tokens {
	return &Tokens{key: []byte(key), AccessTTL: access, RefreshTTL: refresh, Now: time.Now}
}

// newJTI is a uuid4 hex without dashes (SimpleJWT's jti shape).
func newJTI() string { return strings.ReplaceAll(uuid.NewString(), "-", "") }

// NewSessionID returns a fresh session id, in the jti shape (32 hex).
func NewSessionID() string { return newJTI() }

// validSID: thot's session ids and the legacy jtis adopted as session ids
// are both 32 lowercase hex digits.
func validSID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// Pair is a refresh and an access token minted together for one session.
type Pair struct {
	Refresh, Access          string
	RefreshJTI, AccessJTI    string
	RefreshExp, AccessExp    time.Time
	RefreshClaims, AccessCls Claims
	SessionID                string
}

// ClaimsFor builds the claims of u, as the legacy login put them.
func ClaimsFor(u *User) Claims {
	c := Claims{
		UserID: UserRef{ID: u.ID}, IsSuperuser: u.IsSuperuser, Username: u.Username, Email: u.Email,
		FirstName: u.FirstName, LastName: u.LastName, MustChangePassword: u.PasswordChangeRequired(),
	}
	if u.RoleName != "" {
		r := u.RoleName
		c.Role = &r
	}
	c.TeamID = u.TeamID
	return c
}

// Issue mints a refresh token and its access token for u, both in session
// sid. JWT times have second precision; revocation never compares them
// (it goes by session), so that costs nothing.
func (t *Tokens) Issue(u *User, sid string) (Pair, error) {
	now := t.Now().UTC().Truncate(time.Second)
	base := ClaimsFor(u)
	base.SessionID = sid
	p := Pair{RefreshJTI: newJTI(), AccessJTI: newJTI(), RefreshExp: now.Add(t.RefreshTTL), AccessExp: now.Add(t.AccessTTL), SessionID: sid}
	rc := base
	rc.TokenType = TokenRefresh
	rc.RegisteredClaims = jwt.RegisteredClaims{ID: p.RefreshJTI, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(p.RefreshExp)}
	ac := base
	ac.TokenType = TokenAccess
	ac.RegisteredClaims = jwt.RegisteredClaims{ID: p.AccessJTI, IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(p.AccessExp)}
	var err error
	if p.Refresh, err = t.sign(rc); err != nil {
		return Pair{}, err
	}
	if p.Access, err = t.sign(ac); err != nil {
		return Pair{}, err
	}
	p.RefreshClaims, p.AccessCls = rc, ac
	return p, nil
}

// IssueAccess mints only an access token in session sid (a refresh
// without rotation).
func (t *Tokens) IssueAccess(u *User, sid string) (string, time.Time, error) {
	now := t.Now().UTC().Truncate(time.Second)
	c := ClaimsFor(u)
	c.SessionID = sid
	c.TokenType = TokenAccess
	exp := now.Add(t.AccessTTL)
	c.RegisteredClaims = jwt.RegisteredClaims{ID: newJTI(), IssuedAt: jwt.NewNumericDate(now), ExpiresAt: jwt.NewNumericDate(exp)}
	s, err := t.sign(c)
	return s, exp, err
}

func (t *Tokens) sign(c Claims) (string, error) {
	return jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString(t.key)
}

// Token parse failures, in SimpleJWT's words.
var (
	ErrTokenInvalid   = errors.New("Token is invalid or expired")
	ErrTokenWrongType = errors.New("Token has wrong type")
)

// Parse checks signature, expiry and type. want is TokenAccess or
// TokenRefresh. Tokens of the legacy FastAPI service (no token_type, a
// UUID user_id) count as access tokens.
func (t *Tokens) Parse(s, want string) (*Claims, error) {
	var c Claims
	_, err := jwt.ParseWithClaims(s, &c, func(*jwt.Token) (any, error) { return t.key, nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired(), jwt.WithTimeFunc(t.Now))
	if err != nil {
		return nil, ErrTokenInvalid
	}
	typ := c.TokenType
	if typ == "" && c.UserID.Legacy != "" {
		typ = TokenAccess
	}
	if typ != want {
		return nil, ErrTokenWrongType
	}
	if c.UserID.ID == 0 && c.UserID.Legacy == "" {
		return nil, ErrTokenInvalid
	}
	if c.SessionID != "" && (!validSID(c.SessionID) || c.UserID.Legacy != "") {
		return nil, ErrTokenInvalid
	}
	return &c, nil
}
