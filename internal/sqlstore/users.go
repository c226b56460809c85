package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/identity"
)

var _ identity.Store = (*Store)(nil)

// userRow maps the users table.
type userRow struct {
	bun.BaseModel `bun:"table:users"`
	ID            int64      `bun:"id,pk,autoincrement"`
	Password      string     `bun:"password,notnull"`
	LastLogin     *time.Time `bun:"last_login"`
	IsSuperuser   bool       `bun:"is_superuser,notnull"`
	Username      string     `bun:"username,notnull"`
	FirstName     string     `bun:"first_name,notnull"`
	LastName      string     `bun:"last_name,notnull"`
	Email         string     `bun:"email,notnull"`
	IsStaff       bool       `bun:"is_staff,notnull"`
	IsActive      bool       `bun:"is_active,notnull"`
	DateJoined    time.Time  `bun:"date_joined,notnull"`
}

func (r *userRow) user() *identity.User {
	return &identity.User{
		ID: r.ID, Username: r.Username, Email: r.Email, FirstName: r.FirstName, LastName: r.LastName,
		PasswordHash: r.Password, IsActive: r.IsActive, IsStaff: r.IsStaff, IsSuperuser: r.IsSuperuser,
		LastLogin: utcPtr(r.LastLogin), DateJoined: r.DateJoined.UTC(),
	}
}

func utcPtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	u := t.UTC()
	return &u
}

// CreateUser inserts u and sets its ID.
func (s *Store) CreateUser(ctx context.Context, u *identity.User) error {
	row := &userRow{
		Password: u.PasswordHash, IsSuperuser: u.IsSuperuser, Username: u.Username, FirstName: u.FirstName,
		LastName: u.LastName, Email: u.Email, IsStaff: u.IsStaff, IsActive: u.IsActive, DateJoined: u.DateJoined.UTC(),
	}
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		_, err := tx.NewInsert().Model(row).Returning("id").Exec(ctx)
		return err
	})
	if err != nil {
		return err
	}
	u.ID = row.ID
	return nil
}

// UserByID loads one user.
func (s *Store) UserByID(ctx context.Context, id int64) (*identity.User, error) {
	var row userRow
	err := s.db.NewSelect().Model(&row).Where("id = ?", id).Scan(ctx)
	if err != nil {
		return nil, database.Translate(err)
	}
	return row.user(), nil
}

// UserByLogin matches the username exactly or the e-mail ignoring case.
func (s *Store) UserByLogin(ctx context.Context, login string) (*identity.User, error) {
	var row userRow
	err := s.db.NewSelect().Model(&row).
		Where("username = ?", login).
		WhereOr("(email <> '' AND lower(email) = ?)", strings.ToLower(login)).
		OrderExpr("CASE WHEN username = ? THEN 0 ELSE 1 END", login).
		Limit(1).Scan(ctx)
	if err != nil {
		return nil, database.Translate(err)
	}
	return row.user(), nil
}

// SetPasswordHash stores a new hash.
func (s *Store) SetPasswordHash(ctx context.Context, id int64, hash string) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		res, err := tx.NewUpdate().Model((*userRow)(nil)).Set("password = ?", hash).Where("id = ?", id).Exec(ctx)
		if err != nil {
			return err
		}
		return expectOne(res, "User")
	})
}

// ListUsers returns all users by id.
func (s *Store) ListUsers(ctx context.Context) ([]identity.User, error) {
	var rows []userRow
	if err := s.db.NewSelect().Model(&rows).Order("id").Scan(ctx); err != nil {
		return nil, database.Translate(err)
	}
	out := make([]identity.User, len(rows))
	for i := range rows {
		out[i] = *rows[i].user()
	}
	return out, nil
}

// CountUsers counts all users.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	n, err := s.db.NewSelect().Model((*userRow)(nil)).Count(ctx)
	return int(n), database.Translate(err)
}
