package identity

import (
	"context"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/thot-security/thot/internal/errs"
)

// RoleStore persists roles and their permission grants. Mutations write
// their audit entries in the same transaction.
type RoleStore interface {
	// ListRoles returns every role with its codenames, ordered by name.
	ListRoles(ctx context.Context) ([]Role, error)
	// RoleByID returns one role (NotFound when missing).
	RoleByID(ctx context.Context, id int64) (*Role, error)
	// CreateRole inserts r with its codenames and sets ID and timestamps.
	// A duplicate name is a Conflict on the field "name".
	CreateRole(ctx context.Context, r *Role) error
	// UpdateRole loads the role in a transaction, calls apply with it and
	// stores what apply returns (name, description, codenames).
	UpdateRole(ctx context.Context, id int64, apply func(cur Role) (Role, error)) (*Role, error)
	// DeleteRole loads the role and the number of users holding it in a
	// transaction, calls check, and deletes the role if check allows it.
	DeleteRole(ctx context.Context, id int64, check func(cur Role, users int) error) error
	// SetUserRole gives the user the named role (audited as role_change).
	SetUserRole(ctx context.Context, userID int64, roleName string) error
}

// roleNameRE is the shape of a role name: a code, not a label.
var roleNameRE = regexp.MustCompile(`^[a-z][a-z0-9_]{1,49}$`)

// RoleInput is a create or update request. Nil fields are left unchanged
// on update; Permissions replaces the granted codenames when not nil.
type RoleInput struct {
	Name        *string
	Description *string
	Permissions *[]string
}

// Messages of the role rules.
const (
	msgRoleName          = "El nombre del rol debe empezar por una letra minúscula y contener solo minúsculas, dígitos y guiones bajos (2 a 50 caracteres)."
	msgRoleNameTaken     = "Ya existe un rol con este nombre."
	msgSystemRename      = "Los roles del sistema no se pueden renombrar."
	msgSystemDelete      = "Los roles del sistema no se pueden eliminar."
	msgAdminReduce       = "No se pueden retirar permisos del rol admin."
	msgAdminRoleOnly     = "Solo un administrador puede modificar el rol admin."
	msgGrantRolesOnly    = "Solo un administrador puede conceder el permiso " + PermGestionarRoles + "."
	msgGrantOwnOnly      = "Solo puede conceder permisos que usted mismo tiene: %s."
	msgUnknownPermission = "Permiso desconocido: %s."
)

// ErrRoleNameTaken is the conflict answered for a duplicate role name.
var ErrRoleNameTaken = &errs.Error{Kind: errs.KindConflict, Fields: map[string]any{"name": []string{msgRoleNameTaken}}}

// OrderCodenames returns the distinct codenames of list in catalogue
// order (the order of Permissions).
func OrderCodenames(list []string) []string {
	want := make(map[string]bool, len(list))
	for _, c := range list {
		want[c] = true
	}
	out := make([]string, 0, len(want))
	for _, p := range Permissions {
		if want[p.Codename] {
			out = append(out, p.Codename)
		}
	}
	return out
}

// validateRoleInput checks the fields present in in; name is required
// when requireName is set (create, PUT).
func validateRoleInput(in *RoleInput, requireName bool) error {
	fe := errs.FieldErrors{}
	if in.Name != nil {
		n := strings.TrimSpace(*in.Name)
		in.Name = &n
		if n == "" {
			fe.Add("name", "This field may not be blank.")
		} else if !roleNameRE.MatchString(n) {
			fe.Add("name", msgRoleName)
		}
	} else if requireName {
		fe.Add("name", "This field is required.")
	}
	if in.Permissions != nil {
		var unknown []string
		for _, c := range *in.Permissions {
			if !IsCodename(c) && !slices.Contains(unknown, c) {
				unknown = append(unknown, c)
			}
		}
		for _, c := range unknown {
			fe.Add("granted_permissions", fmt.Sprintf(msgUnknownPermission, c))
		}
		if len(unknown) == 0 {
			list := OrderCodenames(*in.Permissions)
			in.Permissions = &list
		}
	}
	return fe.Err()
}

// checkRoleGrant applies the escalation rules to the codenames being added:
// only an admin may grant hps.gestionar_roles, and other callers may only
// grant codenames they hold themselves.
func checkRoleGrant(p *Principal, old, next []string) error {
	if p.IsAdmin() {
		return nil
	}
	var added []string
	for _, c := range next {
		if !slices.Contains(old, c) {
			added = append(added, c)
		}
	}
	if slices.Contains(added, PermGestionarRoles) {
		return errs.Forbidden(msgGrantRolesOnly)
	}
	var notHeld []string
	for _, c := range added {
		if !p.Can(c) {
			notHeld = append(notHeld, c)
		}
	}
	if len(notHeld) > 0 {
		return errs.Forbidden(msgGrantOwnOnly, strings.Join(notHeld, ", "))
	}
	return nil
}

// ListRoles returns every role.
func (s *Service) ListRoles(ctx context.Context) ([]Role, error) { return s.store.ListRoles(ctx) }

// Role returns one role.
func (s *Service) Role(ctx context.Context, id int64) (*Role, error) {
	return s.store.RoleByID(ctx, id)
}

// CreateRole validates and stores a new (non-system) role on behalf of p.
func (s *Service) CreateRole(ctx context.Context, p *Principal, in RoleInput) (*Role, error) {
	if err := validateRoleInput(&in, true); err != nil {
		return nil, err
	}
	r := &Role{Name: *in.Name, Permissions: []string{}}
	if in.Description != nil {
		r.Description = strings.TrimSpace(*in.Description)
	}
	if in.Permissions != nil {
		r.Permissions = *in.Permissions
	}
	if err := checkRoleGrant(p, nil, r.Permissions); err != nil {
		return nil, err
	}
	if err := s.store.CreateRole(ctx, r); err != nil {
		return nil, err
	}
	return r, nil
}

// UpdateRole changes a role on behalf of p. System roles keep their name;
// the admin role may only be edited by an admin and never loses
// permissions.
func (s *Service) UpdateRole(ctx context.Context, p *Principal, id int64, in RoleInput, requireName bool) (*Role, error) {
	if err := validateRoleInput(&in, requireName); err != nil {
		return nil, err
	}
	return s.store.UpdateRole(ctx, id, func(cur Role) (Role, error) {
		if cur.Name == RoleAdmin && !p.IsAdmin() {
			return cur, errs.Forbidden(msgAdminRoleOnly)
		}
		next := cur
		if in.Name != nil && *in.Name != cur.Name {
			if cur.IsSystem {
				return cur, errs.Field("name", msgSystemRename)
			}
			next.Name = *in.Name
		}
		if in.Description != nil {
			next.Description = strings.TrimSpace(*in.Description)
		}
		if in.Permissions != nil {
			next.Permissions = *in.Permissions
			if cur.Name == RoleAdmin {
				for _, c := range cur.Permissions {
					if !slices.Contains(next.Permissions, c) {
						return cur, errs.Field("granted_permissions", msgAdminReduce)
					}
				}
			}
			if err := checkRoleGrant(p, cur.Permissions, next.Permissions); err != nil {
				return cur, err
			}
		}
		return next, nil
	})
}

// DeleteRole removes a role that is neither a system role nor assigned
// to any user.
func (s *Service) DeleteRole(ctx context.Context, p *Principal, id int64) error {
	return s.store.DeleteRole(ctx, id, func(cur Role, users int) error {
		if cur.Name == RoleAdmin && !p.IsAdmin() {
			return errs.Forbidden(msgAdminRoleOnly)
		}
		if cur.IsSystem {
			return errs.Conflict(msgSystemDelete)
		}
		if users > 0 {
			return errs.Conflict("El rol %s está asignado a %d usuario(s); asígneles otro rol antes de eliminarlo.", cur.Name, users)
		}
		return nil
	})
}
