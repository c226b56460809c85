package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/identity"
)

// The user picker and the e-mail check (Django /api/users/...). The
// legacy let any authenticated user enumerate every account through them;
// here they need the ability to create or edit users, and answer only
// about users the caller may see.

// UserSearchItem is one search result.
type UserSearchItem struct {
	ID        int64   `json:"id"`
	Email     string  `json:"email"`
	Username  string  `json:"username"`
	FirstName string  `json:"first_name"`
	LastName  string  `json:"last_name"`
	IsActive  bool    `json:"is_active"`
	Role      *string `json:"role" doc:"Role name"`
	TeamID    *string `json:"team_id"`
}

// UserSearchBody is {users: [...]}.
type UserSearchBody struct {
	Users []UserSearchItem `json:"users"`
}

// UserCheckBody is {exists}.
type UserCheckBody struct {
	Exists bool `json:"exists"`
}

// userManagers may use the picker and the check. Deliberately not
// hps.ver_perfiles_todos, which the seeded matrix gives every member.
var userManagers = AnyPermission(identity.PermCrearPerfil, identity.PermEditarPerfilEquipo)

func (s *Server) registerUsers() {
	tags := []string{"users"}
	Register(s.API, huma.Operation{OperationID: "users-search", Method: http.MethodGet, Path: "/api/users/search/query/", Tags: tags,
		Summary: "Find users by e-mail, username or name (at least 2 characters). For user managers only, so members cannot enumerate accounts; results limited to the profiles the caller may see"},
		userManagers,
		func(ctx context.Context, in *struct {
			Q     string `query:"q" doc:"At least 2 characters"`
			Limit int    `query:"limit" default:"10" doc:"1 to 50"`
		}) (*struct{ Body UserSearchBody }, error) {
			us, err := s.deps.Identity.SearchUsers(ctx, PrincipalFrom(ctx), in.Q, in.Limit)
			if err != nil {
				return nil, err
			}
			out := UserSearchBody{Users: make([]UserSearchItem, len(us))}
			for i, u := range us {
				out.Users[i] = UserSearchItem{ID: u.ID, Email: u.Email, Username: u.Username, FirstName: u.FirstName, LastName: u.LastName,
					IsActive: u.IsActive, Role: nonEmpty(u.RoleName), TeamID: u.TeamID}
			}
			return &struct{ Body UserSearchBody }{Body: out}, nil
		})
	Register(s.API, huma.Operation{OperationID: "users-check", Method: http.MethodGet, Path: "/api/users/check/{email}/", Tags: tags,
		Summary:   "Whether a user with this e-mail exists (200 {exists:true} or 404 {exists:false}). For user managers only, about the profiles they may see",
		Responses: map[string]*huma.Response{"404": {Description: "No such user: {\"exists\": false}"}}},
		userManagers,
		func(ctx context.Context, in *struct {
			Email string `path:"email"`
		}) (*struct {
			Status int
			Body   UserCheckBody
		}, error) {
			ok, err := s.deps.Identity.EmailExists(ctx, PrincipalFrom(ctx), in.Email)
			if err != nil {
				return nil, err
			}
			out := &struct {
				Status int
				Body   UserCheckBody
			}{Status: http.StatusOK, Body: UserCheckBody{Exists: ok}}
			if !ok {
				out.Status = http.StatusNotFound
			}
			return out, nil
		})
}
