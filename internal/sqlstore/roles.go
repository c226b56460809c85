package sqlstore

import (
	"context"
	"slices"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// roleRow maps the roles table.
type roleRow struct {
	bun.BaseModel `bun:"table:roles,alias:r"`
	ID            int64     `bun:"id,pk,autoincrement"`
	Name          string    `bun:"name,notnull"`
	Description   string    `bun:"description,notnull"`
	IsSystem      bool      `bun:"is_system,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	UpdatedAt     time.Time `bun:"updated_at,notnull"`
}

// rolePermRow maps role_permissions.
type rolePermRow struct {
	bun.BaseModel `bun:"table:role_permissions"`
	RoleID        int64  `bun:"role_id,pk"`
	Codename      string `bun:"codename,pk"`
}

func (r *roleRow) role(perms []string) *identity.Role {
	return &identity.Role{ID: r.ID, Name: r.Name, Description: r.Description, IsSystem: r.IsSystem,
		Permissions: identity.OrderCodenames(perms), CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

// teamRoleNow is the time stored for a change, at the precision both engines keep.
func teamRoleNow() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// lockRowsPG locks the selected rows until the transaction ends on
// PostgreSQL; SQLite's write transactions are already exclusive.
func (s *Store) lockRowsPG(q *bun.SelectQuery) *bun.SelectQuery {
	if s.db.Engine == database.Postgres {
		return q.For("UPDATE")
	}
	return q
}

// ListRoles returns every role with its codenames (two queries).
func (s *Store) ListRoles(ctx context.Context) ([]identity.Role, error) {
	var rows []roleRow
	if err := s.db.NewSelect().Model(&rows).OrderExpr("r.name").Scan(ctx); err != nil {
		return nil, database.Translate(err)
	}
	var perms []rolePermRow
	if err := s.db.NewSelect().Model(&perms).Scan(ctx); err != nil {
		return nil, database.Translate(err)
	}
	byRole := map[int64][]string{}
	for _, p := range perms {
		byRole[p.RoleID] = append(byRole[p.RoleID], p.Codename)
	}
	out := make([]identity.Role, len(rows))
	for i := range rows {
		out[i] = *rows[i].role(byRole[rows[i].ID])
	}
	return out, nil
}

// RoleByID returns one role.
func (s *Store) RoleByID(ctx context.Context, id int64) (*identity.Role, error) {
	r, err := s.loadRole(ctx, s.db, id, false)
	return r, database.Translate(err)
}

// loadRole reads a role and its codenames on db, locking the role row
// when lock is set.
func (s *Store) loadRole(ctx context.Context, db bun.IDB, id int64, lock bool) (*identity.Role, error) {
	var row roleRow
	q := db.NewSelect().Model(&row).Where("r.id = ?", id)
	if lock {
		q = s.lockRowsPG(q)
	}
	if err := q.Scan(ctx); err != nil {
		return nil, err
	}
	var perms []string
	if err := db.NewSelect().Model((*rolePermRow)(nil)).Column("codename").Where("role_id = ?", id).Scan(ctx, &perms); err != nil {
		return nil, err
	}
	return row.role(perms), nil
}

// roleNameTaken reports whether another role is called name.
func roleNameTaken(ctx context.Context, db bun.IDB, name string, exceptID int64) (bool, error) {
	return db.NewSelect().Model((*roleRow)(nil)).Where("name = ?", name).Where("id <> ?", exceptID).Exists(ctx)
}

func insertRolePerms(ctx context.Context, db bun.IDB, roleID int64, codenames []string) error {
	if len(codenames) == 0 {
		return nil
	}
	rows := make([]rolePermRow, len(codenames))
	for i, c := range codenames {
		rows[i] = rolePermRow{RoleID: roleID, Codename: c}
	}
	_, err := db.NewInsert().Model(&rows).Exec(ctx)
	return err
}

func roleValues(r *identity.Role) map[string]any {
	return map[string]any{"name": r.Name, "description": r.Description, "is_system": r.IsSystem}
}

func rolePermValues(r *identity.Role, perms []string) map[string]any {
	if perms == nil {
		perms = []string{}
	}
	return map[string]any{"role": r.Name, "granted_permissions": perms}
}

// CreateRole inserts a role and its codenames; both are audited.
func (s *Store) CreateRole(ctx context.Context, r *identity.Role) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		taken, err := roleNameTaken(ctx, tx, r.Name, 0)
		if err != nil {
			return err
		}
		if taken {
			return identity.ErrRoleNameTaken
		}
		now := teamRoleNow()
		row := &roleRow{Name: r.Name, Description: r.Description, IsSystem: r.IsSystem, CreatedAt: now, UpdatedAt: now}
		if _, err := tx.NewInsert().Model(row).Returning("id").Exec(ctx); err != nil {
			if database.IsUnique(err, "name") {
				return identity.ErrRoleNameTaken
			}
			return err
		}
		r.ID, r.CreatedAt, r.UpdatedAt = row.ID, now, now
		r.Permissions = identity.OrderCodenames(r.Permissions)
		if err := insertRolePerms(ctx, tx, r.ID, r.Permissions); err != nil {
			return err
		}
		if err := writeAudit(ctx, tx, audit.Entry{Action: audit.ActionCreate, TableName: "roles", RecordID: itoa(r.ID),
			NewValues: roleValues(r)}); err != nil {
			return err
		}
		if len(r.Permissions) == 0 {
			return nil
		}
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionPermissions, TableName: "roles", RecordID: itoa(r.ID),
			OldValues: rolePermValues(r, nil), NewValues: rolePermValues(r, r.Permissions)})
	})
}

// UpdateRole applies the change apply decides, in one transaction: the
// role row (audited as update) and the grants (audited as
// permissions_change with the old and new codename lists).
func (s *Store) UpdateRole(ctx context.Context, id int64, apply func(cur identity.Role) (identity.Role, error)) (*identity.Role, error) {
	var out *identity.Role
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		cur, err := s.loadRole(ctx, tx, id, true)
		if err != nil {
			return err
		}
		next, err := apply(*cur)
		if err != nil {
			return err
		}
		next.ID, next.IsSystem, next.CreatedAt = cur.ID, cur.IsSystem, cur.CreatedAt
		next.Permissions = identity.OrderCodenames(next.Permissions)
		var added, removed []string
		for _, c := range next.Permissions {
			if !slices.Contains(cur.Permissions, c) {
				added = append(added, c)
			}
		}
		for _, c := range cur.Permissions {
			if !slices.Contains(next.Permissions, c) {
				removed = append(removed, c)
			}
		}
		metaChanged := next.Name != cur.Name || next.Description != cur.Description
		if !metaChanged && len(added) == 0 && len(removed) == 0 {
			out = cur
			return nil
		}
		if next.Name != cur.Name {
			taken, err := roleNameTaken(ctx, tx, next.Name, id)
			if err != nil {
				return err
			}
			if taken {
				return identity.ErrRoleNameTaken
			}
		}
		next.UpdatedAt = teamRoleNow()
		_, err = tx.NewUpdate().Model((*roleRow)(nil)).
			Set("name = ?", next.Name).Set("description = ?", next.Description).Set("updated_at = ?", next.UpdatedAt).
			Where("id = ?", id).Exec(ctx)
		if database.IsUnique(err, "name") {
			return identity.ErrRoleNameTaken
		}
		if err != nil {
			return err
		}
		if metaChanged {
			if err := writeAudit(ctx, tx, audit.Entry{Action: audit.ActionUpdate, TableName: "roles", RecordID: itoa(id),
				OldValues: roleValues(cur), NewValues: roleValues(&next)}); err != nil {
				return err
			}
		}
		if len(added) > 0 || len(removed) > 0 {
			if len(removed) > 0 {
				if _, err := tx.NewDelete().Model((*rolePermRow)(nil)).Where("role_id = ?", id).Where("codename IN (?)", bun.In(removed)).Exec(ctx); err != nil {
					return err
				}
			}
			if err := insertRolePerms(ctx, tx, id, added); err != nil {
				return err
			}
			if err := writeAudit(ctx, tx, audit.Entry{Action: audit.ActionPermissions, TableName: "roles", RecordID: itoa(id),
				OldValues: rolePermValues(cur, cur.Permissions), NewValues: rolePermValues(&next, next.Permissions)}); err != nil {
				return err
			}
		}
		out = &next
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteRole deletes a role (its grants cascade) if check allows it,
// given how many users hold it.
func (s *Store) DeleteRole(ctx context.Context, id int64, check func(cur identity.Role, users int) error) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		cur, err := s.loadRole(ctx, tx, id, true)
		if err != nil {
			return err
		}
		n, err := tx.NewSelect().Model((*userRow)(nil)).Where("role_id = ?", id).Count(ctx)
		if err != nil {
			return err
		}
		if err := check(*cur, int(n)); err != nil {
			return err
		}
		if _, err := tx.NewDelete().Model((*roleRow)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
			return err
		}
		old := roleValues(cur)
		old["granted_permissions"] = cur.Permissions
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionDelete, TableName: "roles", RecordID: itoa(id), OldValues: old})
	})
}

// roleIDForName finds a role's id (NotFound "Role not found.").
func roleIDForName(ctx context.Context, db bun.IDB, name string) (int64, error) {
	var id int64
	err := db.NewSelect().Model((*roleRow)(nil)).Column("id").Where("name = ?", name).Scan(ctx, &id)
	if isNoRows(err) {
		return 0, errs.NotFound("Role")
	}
	return id, err
}

// teamUser is what the role and team rules read of a user.
type teamUser struct {
	ID            int64   `bun:"id"`
	IsActive      bool    `bun:"is_active"`
	RoleName      string  `bun:"role_name"`
	TeamID        *string `bun:"team_id"`
	DefaultTeamID *string `bun:"default_team_id"`
}

// loadTeamUser reads one user's role and teams (NotFound "User not found.").
func loadTeamUser(ctx context.Context, db bun.IDB, id int64) (*teamUser, error) {
	var u teamUser
	err := db.NewSelect().TableExpr("users AS u").Join("LEFT JOIN roles AS r ON r.id = u.role_id").
		ColumnExpr("u.id, u.is_active, COALESCE(r.name, '') AS role_name, u.team_id, u.default_team_id").
		Where("u.id = ?", id).Scan(ctx, &u)
	if isNoRows(err) {
		return nil, errs.NotFound("User")
	}
	if err != nil {
		return nil, err
	}
	return &u, nil
}

func sameTeamRef(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// changeUserRoleTeam gives u the role and primary team, audited as
// role_change when the role changes and as update otherwise. Nothing is
// written when both are unchanged.
func changeUserRoleTeam(ctx context.Context, db bun.IDB, u *teamUser, role string, team *string) error {
	roleChanged := role != u.RoleName
	if !roleChanged && sameTeamRef(team, u.TeamID) {
		return nil
	}
	q := db.NewUpdate().Model((*userRow)(nil)).Set("team_id = ?", team).Set("updated_at = ?", teamRoleNow()).Where("id = ?", u.ID)
	if roleChanged {
		roleID, err := roleIDForName(ctx, db, role)
		if err != nil {
			return err
		}
		q = q.Set("role_id = ?", roleID)
	}
	if _, err := q.Exec(ctx); err != nil {
		return err
	}
	action := audit.ActionUpdate
	if roleChanged {
		action = audit.ActionRoleChange
	}
	err := writeAudit(ctx, db, audit.Entry{Action: action, TableName: "users", RecordID: itoa(u.ID),
		OldValues: map[string]any{"role": u.RoleName, "team_id": u.TeamID},
		NewValues: map[string]any{"role": role, "team_id": team}})
	u.RoleName, u.TeamID = role, team
	return err
}

// SetUserRole gives a user the named role, audited as role_change.
func (s *Store) SetUserRole(ctx context.Context, userID int64, roleName string) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		u, err := loadTeamUser(ctx, tx, userID)
		if err != nil {
			return err
		}
		return changeUserRoleTeam(ctx, tx, u, roleName, u.TeamID)
	})
}
