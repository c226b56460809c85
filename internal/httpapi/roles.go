package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// Roles and the permission catalogue: /api/hps/roles/ (Django
// HpsRoleViewSet) and /api/hps/permissions/.

// HpsRole is a role as the legacy clients read it. permissions is the
// legacy free-form object, now derived: {codename: true} for each grant.
type HpsRole struct {
	ID                 int64           `json:"id"`
	Name               string          `json:"name"`
	Description        string          `json:"description"`
	Permissions        map[string]bool `json:"permissions"`
	GrantedPermissions []string        `json:"granted_permissions"`
	IsSystem           bool            `json:"is_system"`
	CreatedAt          string          `json:"created_at"`
	UpdatedAt          string          `json:"updated_at"`
}

func hpsRole(r *identity.Role) HpsRole {
	out := HpsRole{ID: r.ID, Name: r.Name, Description: r.Description, Permissions: map[string]bool{},
		GrantedPermissions: []string{}, IsSystem: r.IsSystem, CreatedAt: isoTime(r.CreatedAt), UpdatedAt: isoTime(r.UpdatedAt)}
	for _, c := range r.Permissions {
		out.Permissions[c] = true
		out.GrantedPermissions = append(out.GrantedPermissions, c)
	}
	return out
}

// roleWrite is the writable part of a role.
type roleWrite struct {
	Name               *string   `json:"name" maxLength:"50"`
	Description        *string   `json:"description"`
	GrantedPermissions *[]string `json:"granted_permissions" doc:"Permission codenames granted to the role (replaces the current list)"`
}

func (w roleWrite) input() identity.RoleInput {
	return identity.RoleInput{Name: w.Name, Description: w.Description, Permissions: w.GrantedPermissions}
}

type roleListInput struct {
	PageParams
}

type roleIDInput struct {
	ID string `path:"id" doc:"Role id"`
}

type roleWriteInput struct {
	ID   string `path:"id" doc:"Role id"`
	Body roleWrite
}

type roleCreateInput struct {
	Body roleWrite
}

type roleOutput struct{ Body HpsRole }

// roleID parses a path id; anything but an integer is a 404, as in DRF.
func roleID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, &errs.Error{Kind: errs.KindNotFound, Message: "Not found."}
	}
	return id, nil
}

func (s *Server) registerRoles() {
	readRoles := AnyPermission(identity.PermGestionarRoles, identity.PermAsignarRol)
	manageRoles := Permission(identity.PermGestionarRoles)
	tags := []string{"roles"}

	Register(s.API, huma.Operation{OperationID: "roles-list", Method: http.MethodGet, Path: "/api/hps/roles/", Tags: tags,
		Summary: "List roles with their granted permissions"}, readRoles,
		func(ctx context.Context, in *roleListInput) (*struct{ Body List[HpsRole] }, error) {
			roles, err := s.deps.Identity.ListRoles(ctx)
			if err != nil {
				return nil, err
			}
			if err := CheckPage(in.PageParams, len(roles)); err != nil {
				return nil, err
			}
			lo, hi := inMemoryPage(len(roles), in.PageParams)
			items := make([]HpsRole, 0, hi-lo)
			for i := lo; i < hi; i++ {
				items = append(items, hpsRole(&roles[i]))
			}
			return &struct{ Body List[HpsRole] }{Body: NewList(items, in.PageParams, len(roles), RequestURL(ctx))}, nil
		})
	Register(s.API, huma.Operation{OperationID: "roles-create", Method: http.MethodPost, Path: "/api/hps/roles/", Tags: tags,
		Summary: "Create a role", DefaultStatus: http.StatusCreated}, manageRoles,
		func(ctx context.Context, in *roleCreateInput) (*roleOutput, error) {
			r, err := s.deps.Identity.CreateRole(ctx, PrincipalFrom(ctx), in.Body.input())
			if err != nil {
				return nil, err
			}
			return &roleOutput{Body: hpsRole(r)}, nil
		})
	Register(s.API, huma.Operation{OperationID: "roles-get", Method: http.MethodGet, Path: "/api/hps/roles/{id}/", Tags: tags,
		Summary: "One role"}, readRoles,
		func(ctx context.Context, in *roleIDInput) (*roleOutput, error) {
			id, err := roleID(in.ID)
			if err != nil {
				return nil, err
			}
			r, err := s.deps.Identity.Role(ctx, id)
			if err != nil {
				return nil, err
			}
			return &roleOutput{Body: hpsRole(r)}, nil
		})
	update := func(requireName bool) func(context.Context, *roleWriteInput) (*roleOutput, error) {
		return func(ctx context.Context, in *roleWriteInput) (*roleOutput, error) {
			id, err := roleID(in.ID)
			if err != nil {
				return nil, err
			}
			r, err := s.deps.Identity.UpdateRole(ctx, PrincipalFrom(ctx), id, in.Body.input(), requireName)
			if err != nil {
				return nil, err
			}
			return &roleOutput{Body: hpsRole(r)}, nil
		}
	}
	Register(s.API, huma.Operation{OperationID: "roles-update", Method: http.MethodPut, Path: "/api/hps/roles/{id}/", Tags: tags,
		Summary: "Replace a role's name, description and permissions (system roles keep their name)"}, manageRoles, update(true))
	Register(s.API, huma.Operation{OperationID: "roles-patch", Method: http.MethodPatch, Path: "/api/hps/roles/{id}/", Tags: tags,
		Summary: "Change some of a role's fields"}, manageRoles, update(false))
	Register(s.API, huma.Operation{OperationID: "roles-delete", Method: http.MethodDelete, Path: "/api/hps/roles/{id}/", Tags: tags,
		Summary: "Delete a role that is not a system role and that no user holds", DefaultStatus: http.StatusNoContent}, manageRoles,
		func(ctx context.Context, in *roleIDInput) (*struct{}, error) {
			id, err := roleID(in.ID)
			if err != nil {
				return nil, err
			}
			if err := s.deps.Identity.DeleteRole(ctx, PrincipalFrom(ctx), id); err != nil {
				return nil, err
			}
			return &struct{}{}, nil
		})
	Register(s.API, huma.Operation{OperationID: "permissions-list", Method: http.MethodGet, Path: "/api/hps/permissions/", Tags: tags,
		Summary: "The permission codenames roles can be granted"}, readRoles,
		func(ctx context.Context, in *roleListInput) (*struct{ Body List[identity.PermissionInfo] }, error) {
			all := identity.Permissions
			if err := CheckPage(in.PageParams, len(all)); err != nil {
				return nil, err
			}
			lo, hi := inMemoryPage(len(all), in.PageParams)
			return &struct {
				Body List[identity.PermissionInfo]
			}{Body: NewList(append([]identity.PermissionInfo{}, all[lo:hi]...), in.PageParams, len(all), RequestURL(ctx))}, nil
		})
}

// inMemoryPage is the [lo, hi) range of n items that p selects.
func inMemoryPage(n int, p PageParams) (int, int) {
	if !p.Paged() {
		return 0, n
	}
	lo := min(p.Offset(), n)
	return lo, min(lo+p.Limit(), n)
}
