// Package identity is who is who in thot: users (Django auth_user
// semantics), their passwords, and — as the identity work grows — roles,
// teams, permissions, tokens and the audit log.
//
// The package holds the types, the rules and the Store interface; SQL
// lives in internal/sqlstore.
package identity

import (
	"context"
	"net/mail"
	"strings"
	"time"

	"github.com/thot-security/thot/internal/errs"
)

// User is an account: Django auth_user fields plus the profile fields of
// both legacy systems. PasswordHash never leaves the process.
type User struct {
	ID           int64
	Username     string
	Email        string
	FirstName    string
	LastName     string
	PasswordHash string
	IsActive     bool
	IsStaff      bool
	IsSuperuser  bool
	LastLogin    *time.Time
	DateJoined   time.Time
	UpdatedAt    *time.Time

	LegacyHPSID        *string
	RoleID             *int64
	RoleName           string
	TeamID             *string
	TeamName           string
	DefaultTeamID      *string
	MustChangePassword bool
	IsTempPassword     bool
	EmailVerified      bool
	// TokensValidAfter is the cut-off for tokens without a session (those
	// minted by the legacy systems): such a token issued at or before it
	// is refused. Set, at full precision, whenever sessions are revoked.
	TokensValidAfter *time.Time
	// HPSRequests is the number of HPS requests of the user; filled on
	// profile reads only (the legacy hps_requests_count).
	HPSRequests int
}

// PasswordChangeRequired reports whether the user must change the
// password before using the API.
func (u *User) PasswordChangeRequired() bool { return u.MustChangePassword || u.IsTempPassword }

// FullName is "First Last", trimmed.
func (u *User) FullName() string { return strings.TrimSpace(u.FirstName + " " + u.LastName) }

// Store is all the persistence the identity service needs; each part is
// declared next to the rules that use it.
type Store interface {
	UserStore
	RoleStore
	TeamStore
	ProfileStore
	AuditStore
}

// UserStore persists accounts. Methods return errs kinds: NotFound for a
// missing user, Conflict for a duplicate username/e-mail.
type UserStore interface {
	CreateUser(ctx context.Context, u *User) error
	UserByID(ctx context.Context, id int64) (*User, error)
	// UserByLogin finds an active or inactive user by username or by
	// e-mail (case-insensitive).
	UserByLogin(ctx context.Context, login string) (*User, error)
	SetPasswordHash(ctx context.Context, id int64, hash string) error
	ListUsers(ctx context.Context) ([]User, error)
	CountUsers(ctx context.Context) (int, error)
}

// Service applies identity rules over a Store.
type Service struct {
	store  Store
	hasher *Hasher
	now    func() time.Time
}

// NewService returns a service hashing new passwords with hasher.
func NewService(store Store, hasher *Hasher) *Service {
	return &Service{store: store, hasher: hasher, now: func() time.Time { return time.Now().UTC() }}
}

// Hasher exposes the password hasher (login, tests).
func (s *Service) Hasher() *Hasher { return s.hasher }

// NewUser is the input to CreateUser.
type NewUser struct {
	Username    string
	Email       string
	FirstName   string
	LastName    string
	Password    string
	IsStaff     bool
	IsSuperuser bool
}

// CreateUser validates and stores a new active user. An empty username
// becomes the e-mail, as in the legacy user-creation endpoints.
func (s *Service) CreateUser(ctx context.Context, in NewUser) (*User, error) {
	fe := errs.FieldErrors{}
	in.Email = strings.TrimSpace(in.Email)
	in.Username = strings.TrimSpace(in.Username)
	if in.Email == "" {
		fe.Add("email", "This field is required.")
	} else if a, err := mail.ParseAddress(in.Email); err != nil || a.Address != in.Email {
		fe.Add("email", "Enter a valid email address.")
	}
	if in.Username == "" {
		in.Username = in.Email
	}
	if len(in.Username) > 150 {
		fe.Add("username", "Ensure this field has no more than 150 characters.")
	}
	for _, m := range CheckPassword(in.Password, in.Email, in.FirstName, in.LastName) {
		fe.Add("password", m)
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	hash, err := s.hasher.Hash(in.Password)
	if err != nil {
		return nil, errs.Internal(err)
	}
	u := &User{
		Username: in.Username, Email: in.Email, FirstName: in.FirstName, LastName: in.LastName,
		PasswordHash: hash, IsActive: true, IsStaff: in.IsStaff || in.IsSuperuser, IsSuperuser: in.IsSuperuser,
		DateJoined: s.now(),
	}
	if err := s.store.CreateUser(ctx, u); err != nil {
		if errs.Is(err, errs.KindConflict) {
			return nil, &errs.Error{Kind: errs.KindConflict, Fields: map[string]any{"email": []string{"A user with that e-mail or username already exists."}}, Err: err}
		}
		return nil, err
	}
	return u, nil
}

// SetPassword replaces the password of the user with this login after
// checking the policy.
func (s *Service) SetPassword(ctx context.Context, login, password string) error {
	u, err := s.store.UserByLogin(ctx, login)
	if err != nil {
		return err
	}
	if msgs := CheckPassword(password, u.Email, u.FirstName, u.LastName); len(msgs) > 0 {
		return &errs.Error{Kind: errs.KindInvalid, Fields: map[string]any{"password": msgs}}
	}
	hash, err := s.hasher.Hash(password)
	if err != nil {
		return errs.Internal(err)
	}
	return s.store.SetPasswordHash(ctx, u.ID, hash)
}

// ListUsers returns every user ordered by id.
func (s *Service) ListUsers(ctx context.Context) ([]User, error) { return s.store.ListUsers(ctx) }

// EnsureAdmin creates the first administrator when there are no users at
// all. It returns the created user (nil when users already existed) and
// the password when one had to be generated, for the caller to show once.
func (s *Service) EnsureAdmin(ctx context.Context, email, password string) (*User, string, error) {
	n, err := s.store.CountUsers(ctx)
	if err != nil {
		return nil, "", err
	}
	if n > 0 {
		return nil, "", nil
	}
	generated := ""
	if password == "" {
		password = TemporaryPassword() + TemporaryPassword()[:4]
		generated = password
	}
	u, err := s.CreateUser(ctx, NewUser{Username: "admin", Email: email, FirstName: "Admin", LastName: "Sistema", Password: password, IsStaff: true, IsSuperuser: true})
	if err != nil {
		return nil, "", err
	}
	return u, generated, nil
}
