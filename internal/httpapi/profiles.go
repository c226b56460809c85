package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// User profiles as administrators manage them (Django
// /api/hps/user/profiles/). A profile's id is its user's id. Visibility
// and the rules on who may change whom are identity's (profiles.go); the
// route rules below are only the first gate.

// ProfileBody is the legacy HpsUserProfile shape.
type ProfileBody struct {
	ID                 int64   `json:"id" doc:"The user id (a profile is its user)"`
	UserID             int64   `json:"user_id"`
	Email              string  `json:"email"`
	Username           string  `json:"username"`
	FirstName          string  `json:"first_name"`
	LastName           string  `json:"last_name"`
	FullName           string  `json:"full_name" doc:"First and last name; the e-mail when both are empty (the HPS frontend sorts and initials by it)"`
	Role               *string `json:"role" doc:"Role name, as the legacy serializer (the HPS frontend shows it with role.replace)"`
	RoleID             *int64  `json:"role_id" doc:"Role id"`
	RoleName           *string `json:"role_name"`
	TeamID             *string `json:"team_id"`
	TeamName           *string `json:"team_name"`
	DefaultTeamID      *string `json:"default_team_id"`
	IsActive           bool    `json:"is_active"`
	IsTempPassword     bool    `json:"is_temp_password"`
	MustChangePassword bool    `json:"must_change_password"`
	EmailVerified      bool    `json:"email_verified"`
	HPSRequestsCount   int     `json:"hps_requests_count" doc:"Number of HPS requests of the user"`
	CreatedAt          string  `json:"created_at"`
	UpdatedAt          string  `json:"updated_at"`
}

func nonEmpty(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func profileBody(u *identity.User) ProfileBody {
	b := ProfileBody{ID: u.ID, UserID: u.ID, Email: u.Email, Username: u.Username, FirstName: u.FirstName, LastName: u.LastName,
		FullName: u.FullName(), Role: nonEmpty(u.RoleName), RoleID: u.RoleID, RoleName: nonEmpty(u.RoleName), TeamID: u.TeamID, TeamName: nonEmpty(u.TeamName),
		DefaultTeamID: u.DefaultTeamID, IsActive: u.IsActive, IsTempPassword: u.IsTempPassword,
		MustChangePassword: u.PasswordChangeRequired(), EmailVerified: u.EmailVerified, HPSRequestsCount: u.HPSRequests,
		CreatedAt: isoTime(u.DateJoined), UpdatedAt: isoTime(u.DateJoined)}
	if u.UpdatedAt != nil {
		b.UpdatedAt = isoTime(*u.UpdatedAt)
	}
	if b.FullName == "" {
		b.FullName = u.Email
	}
	return b
}

// ProfileMessage is {message, …profile}.
type ProfileMessage struct {
	Message string `json:"message"`
	ProfileBody
}

// ProfileSearchBody is GET /api/hps/user/profiles/search/ (the FastAPI
// user search's shape, which the HPS frontend's userService was written for).
type ProfileSearchBody struct {
	Users      []ProfileBody `json:"users"`
	Query      string        `json:"query"`
	TotalFound int           `json:"total_found" doc:"Matches in the caller's scope (users holds at most limit of them)"`
}

// ProfileStatsBody is GET /api/hps/user/profiles/stats/.
type ProfileStatsBody struct {
	TotalUsers            int            `json:"total_users"`
	ActiveUsers           int            `json:"active_users"`
	UsersByRole           map[string]int `json:"users_by_role"`
	Crypto                int            `json:"crypto"`
	Members               int            `json:"members"`
	TeamLeaders           int            `json:"team_leaders"`
	Admin                 int            `json:"admin"`
	JefeSeguridad         int            `json:"jefe_seguridad"`
	JefeSeguridadSuplente int            `json:"jefe_seguridad_suplente"`
}

// profileRole is a role given by id or by name (legacy clients send
// either, under role or role_writable).
type profileRole struct{ ref identity.RoleRef }

// UnmarshalJSON accepts a number, a numeric string (an id) or a name.
func (r *profileRole) UnmarshalJSON(b []byte) error {
	var id int64
	if err := json.Unmarshal(b, &id); err == nil {
		r.ref.ID = id
		return nil
	}
	var name string
	if err := json.Unmarshal(b, &name); err != nil {
		return fmt.Errorf("cannot unmarshal role: expected a role name or id")
	}
	if n, err := strconv.ParseInt(name, 10, 64); err == nil {
		r.ref.ID = n
	} else {
		r.ref.Name = name
	}
	return nil
}

// Schema documents a name or an id.
func (profileRole) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Description: "Role name (e.g. \"member\") or role id.",
		OneOf: []*huma.Schema{{Type: huma.TypeString}, {Type: huma.TypeInteger}}}
}

// ProfileInput is the create and update body. Fields left out are not
// changed (PUT is partial too).
type ProfileInput struct {
	Email              *string      `json:"email,omitempty" doc:"Required on create; unique ignoring case"`
	Username           *string      `json:"username,omitempty" doc:"Defaults to the e-mail"`
	FirstName          *string      `json:"first_name,omitempty"`
	LastName           *string      `json:"last_name,omitempty"`
	FullName           *string      `json:"full_name,omitempty" doc:"Create only: split at the first space into first_name and last_name when those are not given (the HPS frontend's users page sends only this)"`
	Role               *profileRole `json:"role,omitempty" nullable:"true" doc:"Role name or id; needs hps.asignar_rol (member is the default on create)"`
	RoleWritable       *profileRole `json:"role_writable,omitempty" nullable:"true" doc:"Legacy name of role"`
	TeamID             *string      `json:"team_id,omitempty" nullable:"true" doc:"Team UUID; \"\" means AICOX"`
	TeamIDWritable     *string      `json:"team_id_writable,omitempty" nullable:"true" doc:"Legacy name of team_id"`
	IsActive           *bool        `json:"is_active,omitempty" doc:"Update only"`
	Password           *string      `json:"password,omitempty" doc:"Create only, optional. Without it the account cannot log in until an administrator issues a temporary password (reset-password)"`
	MustChangePassword *bool        `json:"must_change_password,omitempty" doc:"Create with a password only: whether it must be changed at first login (default true)"`
}

// role and team return the given value and the input name it came under
// (the legacy *_writable names win).
func (in *ProfileInput) role() (*identity.RoleRef, string) {
	switch {
	case in.RoleWritable != nil:
		return &in.RoleWritable.ref, "role_writable"
	case in.Role != nil:
		return &in.Role.ref, "role"
	}
	return nil, "role"
}

func (in *ProfileInput) team() (*string, string) {
	if in.TeamIDWritable != nil {
		return in.TeamIDWritable, "team_id_writable"
	}
	return in.TeamID, "team_id"
}

// renameFields reports field errors under the names the client used.
func renameFields(err error, names map[string]string) error {
	e, ok := errs.As(err)
	if !ok || len(e.Fields) == 0 {
		return err
	}
	c := *e
	c.Fields = make(map[string]any, len(e.Fields))
	for k, v := range e.Fields {
		if n, ok := names[k]; ok {
			k = n
		}
		c.Fields[k] = v
	}
	return &c
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

type profileListInput struct {
	PageParams
	Search   string `query:"search" doc:"Part of the e-mail, username or name"`
	Role     string `query:"role" doc:"Role name"`
	TeamID   string `query:"team_id" doc:"Primary team UUID"`
	IsActive string `query:"is_active" enum:"true,false," doc:"true or false"`
}

type profileIDInput struct {
	ID int64 `path:"id" doc:"User id"`
}

type profileWriteInput struct {
	ID   int64 `path:"id" doc:"User id"`
	Body *ProfileInput
}

type profileOutput struct{ Body ProfileBody }

type profileMessageOutput struct{ Body ProfileMessage }

// PermanentDeleteBody answers a permanent delete.
type PermanentDeleteBody struct {
	Message string `json:"message"`
	UserID  int64  `json:"user_id"`
}

// TemporaryPasswordBody carries an issued temporary password, once.
type TemporaryPasswordBody struct {
	TemporaryPassword string `json:"temporary_password"`
}

func (s *Server) registerProfiles() {
	const base = "/api/hps/user/profiles/"
	tags := []string{"users"}
	read := AnyPermission(identity.PermVerPerfil, identity.PermVerPerfilesTodos, identity.PermVerPerfilesEquipos)

	Register(s.API, huma.Operation{OperationID: "profiles-list", Method: http.MethodGet, Path: base, Tags: tags,
		Summary: "List the profiles the caller may see (all, the teams they lead, or only their own)"}, read,
		func(ctx context.Context, in *profileListInput) (*struct{ Body List[ProfileBody] }, error) {
			q := identity.ProfileQuery{Search: in.Search, Role: in.Role, TeamID: in.TeamID, Limit: in.Limit(), Offset: in.Offset()}
			if in.IsActive != "" {
				v := in.IsActive == "true"
				q.IsActive = &v
			}
			us, n, err := s.deps.Identity.ListProfiles(ctx, PrincipalFrom(ctx), q)
			if err != nil {
				return nil, err
			}
			if err := CheckPage(in.PageParams, n); err != nil {
				return nil, err
			}
			items := make([]ProfileBody, len(us))
			for i := range us {
				items[i] = profileBody(&us[i])
			}
			return &struct{ Body List[ProfileBody] }{Body: NewList(items, in.PageParams, n, RequestURL(ctx))}, nil
		})

	Register(s.API, huma.Operation{OperationID: "profiles-search", Method: http.MethodGet, Path: base + "search/", Tags: tags,
		Summary: "Find profiles by e-mail, username or name (at least 2 characters), among those the caller may list"}, read,
		func(ctx context.Context, in *struct {
			Q     string `query:"q" doc:"At least 2 characters"`
			Limit int    `query:"limit" default:"10" minimum:"1" maximum:"50" doc:"1 to 50"`
		}) (*struct{ Body ProfileSearchBody }, error) {
			q := strings.TrimSpace(in.Q)
			if len([]rune(q)) < 2 {
				return nil, errs.Field("q", "Escriba al menos 2 caracteres.")
			}
			// The list's own scope and query: a search never shows a
			// profile the list would not.
			us, n, err := s.deps.Identity.ListProfiles(ctx, PrincipalFrom(ctx), identity.ProfileQuery{Search: q, Limit: in.Limit})
			if err != nil {
				return nil, err
			}
			out := ProfileSearchBody{Users: make([]ProfileBody, len(us)), Query: q, TotalFound: n}
			for i := range us {
				out.Users[i] = profileBody(&us[i])
			}
			return &struct{ Body ProfileSearchBody }{Body: out}, nil
		})

	Register(s.API, huma.Operation{OperationID: "profiles-stats", Method: http.MethodGet, Path: base + "stats/", Tags: tags,
		Summary: "Count the profiles the caller may see, in total and per role"}, read,
		func(ctx context.Context, _ *struct{}) (*struct{ Body ProfileStatsBody }, error) {
			st, err := s.deps.Identity.ProfileStats(ctx, PrincipalFrom(ctx))
			if err != nil {
				return nil, err
			}
			r := st.ByRole
			return &struct{ Body ProfileStatsBody }{Body: ProfileStatsBody{TotalUsers: st.Total, ActiveUsers: st.Active, UsersByRole: r,
				Crypto: r[identity.RoleCrypto], Members: r[identity.RoleMember], TeamLeaders: r[identity.RoleTeamLead], Admin: r[identity.RoleAdmin],
				JefeSeguridad: r[identity.RoleJefeSeguridad], JefeSeguridadSuplente: r[identity.RoleJefeSeguridadSuplente]}}, nil
		})

	Register(s.API, huma.Operation{OperationID: "profiles-create", Method: http.MethodPost, Path: base, Tags: tags, DefaultStatus: http.StatusCreated,
		Summary: "Create a user; without a password it cannot log in until an administrator issues a temporary one (reset-password). Team leads create in their team"},
		Permission(identity.PermCrearPerfil),
		func(ctx context.Context, in *struct{ Body ProfileInput }) (*profileOutput, error) {
			b := &in.Body
			role, roleField := b.role()
			team, teamField := b.team()
			if b.IsActive != nil && !*b.IsActive {
				return nil, errs.Field("is_active", "New users are active; deactivate them afterwards.")
			}
			first, last := deref(b.FirstName), deref(b.LastName)
			if strings.TrimSpace(first) == "" && b.FullName != nil {
				// As the legacy serializer: "Ana María López" → Ana / María López.
				f, l, _ := strings.Cut(strings.TrimSpace(*b.FullName), " ")
				first = f
				if strings.TrimSpace(last) == "" {
					last = strings.TrimSpace(l)
				}
			}
			u, err := s.deps.Identity.CreateProfile(ctx, PrincipalFrom(ctx), identity.NewProfile{Email: deref(b.Email), Username: deref(b.Username),
				FirstName: first, LastName: last, Role: role, TeamID: team, Password: deref(b.Password),
				MustChangePassword: b.MustChangePassword})
			if err != nil {
				return nil, renameFields(err, map[string]string{"role": roleField, "team_id": teamField})
			}
			return &profileOutput{Body: profileBody(u)}, nil
		})

	Register(s.API, huma.Operation{OperationID: "profiles-get", Method: http.MethodGet, Path: base + "{id}/", Tags: tags,
		Summary: "One profile the caller may see"}, read,
		func(ctx context.Context, in *profileIDInput) (*profileOutput, error) {
			u, err := s.deps.Identity.Profile(ctx, PrincipalFrom(ctx), in.ID)
			if err != nil {
				return nil, err
			}
			return &profileOutput{Body: profileBody(u)}, nil
		})

	update := func(ctx context.Context, in *profileWriteInput) (*profileOutput, error) {
		b := in.Body
		if b == nil {
			b = &ProfileInput{}
		}
		if b.Password != nil && *b.Password != "" {
			// The legacy serializer silently dropped it; a detail says why
			// nothing changed, and the HPS frontend shows detail, so the
			// edit goes through once the field is left empty.
			return nil, &errs.Error{Kind: errs.KindInvalid,
				Message: "La contraseña no se cambia al editar un usuario: deje el campo vacío y use «restablecer contraseña».",
				Fields:  map[string]any{"password": []string{"Passwords are not set here: use reset-password (administrators) or the password change."}}}
		}
		role, roleField := b.role()
		team, teamField := b.team()
		u, err := s.deps.Identity.UpdateProfile(ctx, PrincipalFrom(ctx), in.ID, identity.ProfileUpdate{Email: b.Email, Username: b.Username,
			FirstName: b.FirstName, LastName: b.LastName, Role: role, TeamID: team, IsActive: b.IsActive})
		if err != nil {
			return nil, renameFields(err, map[string]string{"role": roleField, "team_id": teamField})
		}
		return &profileOutput{Body: profileBody(u)}, nil
	}
	edit := AnyPermission(identity.PermEditarPerfilEquipo, identity.PermAsignarRol)
	const editSummary = "Change a profile in the caller's management scope (partial, also with PUT); a role change needs hps.asignar_rol, never one's own"
	Register(s.API, huma.Operation{OperationID: "profiles-update", Method: http.MethodPut, Path: base + "{id}/", Tags: tags, Summary: editSummary}, edit, update)
	Register(s.API, huma.Operation{OperationID: "profiles-partial-update", Method: http.MethodPatch, Path: base + "{id}/", Tags: tags, Summary: editSummary}, edit, update)

	setActive := func(active bool, action, message string) func(context.Context, *profileIDInput) (*profileMessageOutput, error) {
		return func(ctx context.Context, in *profileIDInput) (*profileMessageOutput, error) {
			u, err := s.deps.Identity.SetProfileActive(ctx, PrincipalFrom(ctx), in.ID, active, action)
			if err != nil {
				return nil, err
			}
			return &profileMessageOutput{Body: ProfileMessage{Message: message, ProfileBody: profileBody(u)}}, nil
		}
	}
	manage := Permission(identity.PermEditarPerfilEquipo)
	Register(s.API, huma.Operation{OperationID: "profiles-delete", Method: http.MethodDelete, Path: base + "{id}/", Tags: tags,
		Summary: "Soft delete: deactivate the user (never oneself) and revoke their tokens; nothing is erased"}, manage,
		setActive(false, audit.ActionDelete, "Usuario eliminado (desactivado) exitosamente"))
	Register(s.API, huma.Operation{OperationID: "profiles-deactivate", Method: http.MethodPost, Path: base + "{id}/deactivate/", Tags: tags,
		Summary: "Deactivate a user (never oneself) and revoke their tokens"}, manage,
		setActive(false, audit.ActionDeactivate, "Usuario desactivado exitosamente"))
	Register(s.API, huma.Operation{OperationID: "profiles-activate", Method: http.MethodPost, Path: base + "{id}/activate/", Tags: tags,
		Summary: "Activate a user"}, manage,
		setActive(true, audit.ActionActivate, "Usuario activado exitosamente"))

	Register(s.API, huma.Operation{OperationID: "profiles-delete-permanent", Method: http.MethodDelete, Path: base + "{id}/permanent/", Tags: tags,
		Summary: "Administrators only: erase a user and its memberships and tokens; 409 when other data refers to the user (deactivate instead)"},
		Permission(identity.PermCrearPerfil),
		func(ctx context.Context, in *profileIDInput) (*struct{ Body PermanentDeleteBody }, error) {
			u, err := s.deps.Identity.DeleteProfilePermanently(ctx, PrincipalFrom(ctx), in.ID)
			if err != nil {
				return nil, err
			}
			return &struct{ Body PermanentDeleteBody }{Body: PermanentDeleteBody{Message: "Usuario eliminado permanentemente", UserID: u.ID}}, nil
		})

	Register(s.API, huma.Operation{OperationID: "profiles-reset-password", Method: http.MethodPost, Path: base + "{id}/reset-password/", Tags: tags,
		Summary: "Issue a temporary password, returned once in this response; the user must change it and loses every session"},
		Permission(identity.PermCrearPerfil),
		func(ctx context.Context, in *profileIDInput) (*struct {
			CacheControl string `header:"Cache-Control"`
			Body         TemporaryPasswordBody
		}, error) {
			pw, err := s.deps.Identity.ResetProfilePassword(ctx, PrincipalFrom(ctx), in.ID)
			if err != nil {
				return nil, err
			}
			return &struct {
				CacheControl string `header:"Cache-Control"`
				Body         TemporaryPasswordBody
			}{CacheControl: "no-store", Body: TemporaryPasswordBody{TemporaryPassword: pw}}, nil
		})
}
