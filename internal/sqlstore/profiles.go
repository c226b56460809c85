package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// profileScope restricts a query on "users AS u" to the users in sc.
func profileScope(q *bun.SelectQuery, sc identity.ProfileScope) *bun.SelectQuery {
	switch {
	case sc.All:
		return q
	case len(sc.Teams) == 0:
		return q.Where("u.id = ?", sc.SelfID)
	}
	return q.WhereGroup(" AND ", func(q *bun.SelectQuery) *bun.SelectQuery {
		return q.Where("u.id = ?", sc.SelfID).
			WhereOr("EXISTS (SELECT 1 FROM team_memberships AS sm WHERE sm.user_id = u.id AND sm.is_active AND sm.team_id IN (?))", bun.In(sc.Teams))
	})
}

// profileLike is a LIKE pattern (escape character '!') matching s anywhere.
func profileLike(s string) string {
	r := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")
	return "%" + r.Replace(s) + "%"
}

// ListProfiles returns the users matching q, by id, and their count. The
// count query runs only when a page is full (or past the end).
func (s *Store) ListProfiles(ctx context.Context, q identity.ProfileQuery) ([]identity.User, int, error) {
	var rows []userRow
	sel := profileScope(selectUsers(s.db, &rows), q.Scope).
		ColumnExpr("(SELECT count(*) FROM hps_requests AS hr WHERE hr.user_id = u.id) AS hps_requests_count")
	if q.ID != 0 {
		sel = sel.Where("u.id = ?", q.ID)
	}
	if q.Email != "" {
		// Same comparison as the users_email_lower_key index.
		sel = sel.Where("u.email <> '' AND lower(u.email) = lower(?)", q.Email)
	}
	if q.Search != "" {
		// lower() is ASCII-only on SQLite: non-ASCII capitals in the data
		// only match when typed with the same case there.
		pat := profileLike(strings.ToLower(q.Search))
		sel = sel.WhereGroup(" AND ", func(w *bun.SelectQuery) *bun.SelectQuery {
			for _, col := range []string{"u.email", "u.username", "u.first_name", "u.last_name", "u.first_name || ' ' || u.last_name"} {
				w = w.WhereOr("lower("+col+") LIKE ? ESCAPE '!'", pat)
			}
			return w
		})
	}
	if q.Role != "" {
		sel = sel.Where("r.name = ?", q.Role)
	}
	if q.TeamID != "" {
		id, err := uuid.Parse(q.TeamID)
		if err != nil {
			return []identity.User{}, 0, nil
		}
		sel = sel.Where("u.team_id = ?", id.String())
	}
	if q.IsActive != nil {
		sel = sel.Where("u.is_active = ?", *q.IsActive)
	}
	sel = sel.Order("u.id")
	if q.Limit > 0 {
		sel = sel.Limit(int64(q.Limit)).Offset(int64(q.Offset))
	}
	if err := sel.Scan(ctx); err != nil {
		return nil, 0, database.Translate(err)
	}
	n := q.Offset + len(rows)
	if q.Limit > 0 && (len(rows) == q.Limit || (len(rows) == 0 && q.Offset > 0)) {
		c, err := sel.Count(ctx)
		if err != nil {
			return nil, 0, database.Translate(err)
		}
		n = int(c)
	}
	out := make([]identity.User, len(rows))
	for i := range rows {
		out[i] = *rows[i].user()
	}
	return out, n, nil
}

// ProfileStats counts the users in scope, in total, active, and per role
// (every role listed, zero included).
func (s *Store) ProfileStats(ctx context.Context, scope identity.ProfileScope) (identity.ProfileStats, error) {
	var counts []struct {
		Name   string `bun:"name"`
		Total  int    `bun:"total"`
		Active int    `bun:"active"`
	}
	q := s.db.NewSelect().TableExpr("users AS u").
		Join("LEFT JOIN roles AS r ON r.id = u.role_id").
		ColumnExpr("COALESCE(r.name, '') AS name").
		ColumnExpr("count(*) AS total").
		ColumnExpr("SUM(CASE WHEN u.is_active THEN 1 ELSE 0 END) AS active").
		GroupExpr("r.name")
	if err := profileScope(q, scope).Scan(ctx, &counts); err != nil {
		return identity.ProfileStats{}, database.Translate(err)
	}
	var names []string
	if err := s.db.NewSelect().Table("roles").Column("name").Scan(ctx, &names); err != nil {
		return identity.ProfileStats{}, database.Translate(err)
	}
	st := identity.ProfileStats{ByRole: make(map[string]int, len(names))}
	for _, n := range names {
		st.ByRole[n] = 0
	}
	for _, c := range counts {
		st.Total += c.Total
		st.Active += c.Active
		if c.Name != "" {
			st.ByRole[c.Name] = c.Total
		}
	}
	return st, nil
}

// profileUnique refuses an e-mail (ignoring case, as the unique index) or
// username that another user than id has, naming the field.
func profileUnique(ctx context.Context, tx bun.Tx, id int64, email, username *string) error {
	if email != nil && *email != "" {
		n, err := tx.NewSelect().Table("users").Where("email <> '' AND lower(email) = lower(?) AND id <> ?", *email, id).Count(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			return errTaken("email")
		}
	}
	if username != nil {
		n, err := tx.NewSelect().Table("users").Where("username = ? AND id <> ?", *username, id).Count(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			return errTaken("username")
		}
	}
	return nil
}

func errTaken(field string) *errs.Error {
	return &errs.Error{Kind: errs.KindConflict, Fields: map[string]any{field: []string{"A user with that " + field + " already exists."}}}
}

// takenField names the field of a unique violation that slipped past
// profileUnique (a concurrent insert).
func takenField(err error) error {
	for _, f := range []string{"email", "username"} {
		if database.IsUnique(err, f) {
			e := errTaken(f)
			e.Err = err
			return e
		}
	}
	return err
}

// activeTeam refuses a team that does not exist or is inactive.
func activeTeam(ctx context.Context, tx bun.Tx, team string) error {
	n, err := tx.NewSelect().Table("teams").Where("id = ? AND is_active", team).Count(ctx)
	if err != nil {
		return err
	}
	if n == 0 {
		return errs.Field("team_id", "El equipo no existe o no está activo.")
	}
	return nil
}

// CreateProfile inserts u (see identity.ProfileStore).
func (s *Store) CreateProfile(ctx context.Context, u *identity.User) error {
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := profileUnique(ctx, tx, 0, &u.Email, &u.Username); err != nil {
			return err
		}
		if u.TeamID != nil {
			if err := activeTeam(ctx, tx, *u.TeamID); err != nil {
				return err
			}
		}
		return createUser(ctx, tx, u)
	})
	return takenField(err)
}

// revokeAccess ends every session of the user (deactivation).
func revokeAccess(ctx context.Context, tx bun.Tx, id int64, now time.Time) error {
	_, err := revokeSessions(ctx, tx, id, "", audit.ActionDeactivate, now)
	return err
}

// roleName is the name of role id, "" for none.
func roleName(ctx context.Context, tx bun.Tx, id *int64) (string, error) {
	if id == nil {
		return "", nil
	}
	var name string
	err := tx.NewSelect().Table("roles").Column("name").Where("id = ?", *id).Scan(ctx, &name)
	if isNoRows(err) {
		return "", nil
	}
	return name, err
}

// UpdateProfile applies ch to user id: one audited update (old and new
// values of the changed columns), plus a role_change entry when the role
// changes. Moving the user to another team ends the membership in the
// old one; deactivating revokes the user's tokens.
func (s *Store) UpdateProfile(ctx context.Context, id int64, ch identity.ProfileChanges) error {
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var old userRow
		if err := tx.NewSelect().Model(&old).Where("u.id = ?", id).Scan(ctx); err != nil {
			return err
		}
		if err := profileUnique(ctx, tx, id, ch.Email, ch.Username); err != nil {
			return err
		}
		now := time.Now().UTC()
		upd := tx.NewUpdate().Model((*userRow)(nil)).Set("updated_at = ?", now).Where("id = ?", id)
		was, is := map[string]any{}, map[string]any{}
		set := func(col string, before, after any) {
			upd = upd.Set(col+" = ?", after)
			was[col], is[col] = before, after
		}
		if ch.Email != nil {
			set("email", old.Email, *ch.Email)
		}
		if ch.Username != nil {
			set("username", old.Username, *ch.Username)
		}
		if ch.FirstName != nil {
			set("first_name", old.FirstName, *ch.FirstName)
		}
		if ch.LastName != nil {
			set("last_name", old.LastName, *ch.LastName)
		}
		if ch.RoleID != nil {
			set("role_id", old.RoleID, *ch.RoleID)
		}
		moved := ch.TeamID != nil && (old.TeamID == nil || *old.TeamID != *ch.TeamID)
		if moved {
			if err := activeTeam(ctx, tx, *ch.TeamID); err != nil {
				return err
			}
			if old.TeamID != nil {
				n, err := tx.NewSelect().Table("teams").Where("id = ? AND lead_id = ? AND is_active", *old.TeamID, id).Count(ctx)
				if err != nil {
					return err
				}
				if n > 0 {
					return errs.Conflict("El usuario es el jefe de su equipo actual: asigne antes otro jefe a ese equipo.")
				}
			}
			set("team_id", old.TeamID, *ch.TeamID)
		}
		deactivated := ch.IsActive != nil && !*ch.IsActive && old.IsActive
		if ch.IsActive != nil && *ch.IsActive != old.IsActive {
			set("is_active", old.IsActive, *ch.IsActive)
		}
		if len(is) == 0 {
			return nil
		}
		if _, err := upd.Exec(ctx); err != nil {
			return err
		}
		if moved {
			if old.TeamID != nil {
				if _, err := tx.NewRaw("UPDATE team_memberships SET is_active = FALSE WHERE team_id = ? AND user_id = ? AND NOT is_lead",
					*old.TeamID, id).Exec(ctx); err != nil {
					return err
				}
			}
			if err := addMembership(ctx, tx, *ch.TeamID, id, false); err != nil {
				return err
			}
		}
		if deactivated {
			if err := revokeAccess(ctx, tx, id, now); err != nil {
				return err
			}
		}
		rec := itoa(id)
		if err := writeAudit(ctx, tx, audit.Entry{Action: audit.ActionUpdate, TableName: "users", RecordID: rec, OldValues: was, NewValues: is}); err != nil {
			return err
		}
		if ch.RoleID == nil {
			return nil
		}
		before, err := roleName(ctx, tx, old.RoleID)
		if err != nil {
			return err
		}
		after, err := roleName(ctx, tx, ch.RoleID)
		if err != nil {
			return err
		}
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionRoleChange, TableName: "users", RecordID: rec,
			OldValues: map[string]any{"role": before}, NewValues: map[string]any{"role": after}})
	})
	return takenField(err)
}

// SetUserActive activates or deactivates user id; deactivation revokes
// its tokens. Nothing the user created is touched.
func (s *Store) SetUserActive(ctx context.Context, id int64, active bool, action string) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var was bool
		if err := tx.NewSelect().Table("users").Column("is_active").Where("id = ?", id).Scan(ctx, &was); err != nil {
			return err
		}
		now := time.Now().UTC()
		if _, err := tx.NewUpdate().Model((*userRow)(nil)).Set("is_active = ?", active).Set("updated_at = ?", now).
			Where("id = ?", id).Exec(ctx); err != nil {
			return err
		}
		if !active {
			if err := revokeAccess(ctx, tx, id, now); err != nil {
				return err
			}
		}
		return writeAudit(ctx, tx, audit.Entry{Action: action, TableName: "users", RecordID: itoa(id),
			OldValues: map[string]any{"is_active": was}, NewValues: map[string]any{"is_active": active}})
	})
}

// selfServiceActions are audit actions about the acting user's own
// account; other entries by a user are actions on shared data.
var selfServiceActions = []string{audit.ActionLogin, audit.ActionLoginFailed, audit.ActionLogout,
	audit.ActionTokenRefresh, audit.ActionPasswordChange}

// DeleteUserPermanently deletes user id with its memberships and tokens.
// It refuses (Conflict) a user who is or was the lead of a team or who
// appears in the audit log acting on anything but their own account:
// that history must keep pointing at someone, so such users are
// deactivated instead. Their self-service audit entries stay, with
// user_id cleared by the foreign key and the actor set to
// "deleted-user:<id>". Tables added later that refer to users must
// RESTRICT (a violation here is a Conflict) or be checked here.
func (s *Store) DeleteUserPermanently(ctx context.Context, id int64) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var row userRow
		if err := tx.NewSelect().Model(&row).Where("u.id = ?", id).Scan(ctx); err != nil {
			return err
		}
		n, err := tx.NewSelect().Table("teams").Where("lead_id = ?", id).Count(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			return errs.Conflict("El usuario es o fue jefe de un equipo: desactívelo en lugar de borrarlo.")
		}
		n, err = tx.NewSelect().Table("audit_logs").Where("user_id = ? AND action NOT IN (?)", id, bun.In(selfServiceActions)).Count(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			return errs.Conflict("El usuario figura en el registro de auditoría como autor de cambios: desactívelo en lugar de borrarlo.")
		}
		if _, err := tx.NewRaw("UPDATE audit_logs SET actor = ? WHERE user_id = ? AND actor = ''", "deleted-user:"+itoa(id), id).Exec(ctx); err != nil {
			return err
		}
		for _, q := range []string{
			"DELETE FROM team_memberships WHERE user_id = ?",
			"DELETE FROM jwt_outstanding WHERE user_id = ?",
			"DELETE FROM auth_sessions WHERE user_id = ?",
			"DELETE FROM users WHERE id = ?",
		} {
			if _, err := tx.NewRaw(q, id).Exec(ctx); err != nil {
				return err
			}
		}
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionDelete, TableName: "users", RecordID: itoa(id),
			OldValues: userPublic(&row), NewValues: map[string]any{"permanent": true}})
	})
}
