package identity

import (
	"context"
	"net/mail"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/errs"
)

// Profiles are users as administrators manage them: the legacy
// HpsUserProfile, which thot folds into users, so a profile's id is its
// user's id.
//
// Who sees whom (ProfileScopeOf):
//   - hps.ver_perfiles_todos: everybody;
//   - hps.ver_perfiles_equipos: themselves and the users with an active
//     membership in a team they lead;
//   - anyone else: themselves.
//
// Who changes whom (manageScopeOf): administrators and holders of
// hps.ver_equipos_todos (the org-wide roles: admin, jefe_seguridad) act on
// every user; everybody else only on themselves and the members of the
// teams they lead. Within that scope each change needs its own codename:
// hps.crear_perfil to create users and issue temporary passwords,
// hps.editar_perfil_equipo to edit, activate and deactivate, and
// hps.asignar_rol to change a role. Further:
//   - nobody changes their own role, deactivates or deletes themselves, or
//     resets their own password through these operations;
//   - only an administrator edits, deactivates or deletes an administrator,
//     or assigns the admin role;
//   - a non-administrator may only assign a role whose permissions they hold
//     themselves, and may not take over a more privileged account: resetting
//     the password, or changing the e-mail, username or role, of a user whose
//     role grants something the caller lacks is refused;
//   - permanent deletion is for administrators only.

// ProfileScope says which users a query may return.
type ProfileScope struct {
	// All lifts the restriction.
	All bool
	// SelfID is always in scope.
	SelfID int64
	// Teams: users with an active membership in one of these teams.
	Teams []string
}

// ProfileQuery selects profiles.
type ProfileQuery struct {
	Scope ProfileScope
	// ID selects one user.
	ID int64
	// Email matches the e-mail exactly, ignoring case.
	Email string
	// Search matches e-mail, username, first, last or full name, ignoring
	// case (ASCII only on SQLite).
	Search   string
	Role     string
	TeamID   string
	IsActive *bool
	// Limit 0 returns every match (and the count is their number).
	Limit, Offset int
}

// ProfileStats counts the users in a scope.
type ProfileStats struct {
	Total, Active int
	// ByRole counts users per role name; every role is present.
	ByRole map[string]int
}

// ProfileChanges are the columns an update sets; nil leaves one as it is.
type ProfileChanges struct {
	Email, Username, FirstName, LastName *string
	RoleID                               *int64
	TeamID                               *string
	IsActive                             *bool
}

// ProfileStore persists user profiles as administrators manage them.
// Every mutation is audited in its own transaction; deactivation revokes
// the user's tokens.
type ProfileStore interface {
	// ListProfiles returns the matching users by id and their total count.
	ListProfiles(ctx context.Context, q ProfileQuery) ([]User, int, error)
	ProfileStats(ctx context.Context, scope ProfileScope) (ProfileStats, error)
	// CreateProfile inserts u with its team membership. Conflicts name the
	// field (email, username); a missing team is a team_id field error.
	CreateProfile(ctx context.Context, u *User) error
	// UpdateProfile applies ch (same errors as CreateProfile); moving a
	// user who leads their current team is a conflict.
	UpdateProfile(ctx context.Context, id int64, ch ProfileChanges) error
	// SetUserActive activates or deactivates; deactivation revokes every
	// token of the user. action is the audit action.
	SetUserActive(ctx context.Context, id int64, active bool, action string) error
	// DeleteUserPermanently removes the user and only its own rows
	// (memberships, tokens); Conflict when other data refers to the user.
	DeleteUserPermanently(ctx context.Context, id int64) error
	// SetTemporaryPassword stores an administrator-issued password and
	// revokes the user's tokens.
	SetTemporaryPassword(ctx context.Context, id int64, hash string) error
}

// ProfileScopeOf is the set of users p may see.
func ProfileScopeOf(p *Principal) ProfileScope {
	switch {
	case p.Can(PermVerPerfilesTodos):
		return ProfileScope{All: true}
	case p.Can(PermVerPerfilesEquipos):
		return ProfileScope{SelfID: p.User.ID, Teams: p.LedTeams}
	default:
		return ProfileScope{SelfID: p.User.ID}
	}
}

// orgWide reports whether p manages users in every team.
func orgWide(p *Principal) bool { return p.IsAdmin() || p.Can(PermVerEquiposTodos) }

// manageScopeOf is the set of users p may change (each change still needs
// its codename).
func manageScopeOf(p *Principal) ProfileScope {
	if orgWide(p) {
		return ProfileScope{All: true}
	}
	return ProfileScope{SelfID: p.User.ID, Teams: p.LedTeams}
}

var (
	errNotFound   = &errs.Error{Kind: errs.KindNotFound, Message: "Not found."}
	errNotYours   = errs.Forbidden("Solo puede gestionar usuarios de los equipos que lidera.")
	errAdminOnly  = errs.Forbidden("Solo un administrador puede modificar a un administrador.")
	errOutranked  = errs.Forbidden("No puede modificar el acceso de un usuario con más permisos que usted.")
	errNoRoles    = errs.Forbidden("No tiene permiso para asignar roles.")
	errOwnRole    = errs.Forbidden("No puede cambiar su propio rol.")
	errNoEdit     = errs.Forbidden("No tiene permiso para editar perfiles.")
	errSelf       = errs.Forbidden("No puede realizar esta acción sobre su propio usuario.")
	errGrantAbove = errs.Forbidden("No puede asignar un rol con permisos que usted no tiene.")
)

// impliedBy maps a codename to the broader ones that include it, so that
// "todos" holders count as holding the narrower grant when roles are
// compared.
var impliedBy = map[string][]string{
	PermVerAuditLogsPropios:   {PermVerAuditLogsTodos},
	PermVerPerfilesEquipos:    {PermVerPerfilesTodos},
	PermVerEquiposLiderados:   {PermVerEquiposTodos},
	PermVerSolicitudesEquipos: {PermVerSolicitudesTodas},
	PermVerSolicitudesPropias: {PermVerSolicitudesTodas, PermVerSolicitudesEquipos},
}

// holds reports whether p holds codename or a broader one.
func holds(p *Principal, codename string) bool {
	if p.Can(codename) {
		return true
	}
	return slices.ContainsFunc(impliedBy[codename], p.Can)
}

// exceeds reports whether role grants something p lacks (or is admin).
func exceeds(p *Principal, role *Role) bool {
	if p.IsAdmin() {
		return false
	}
	if role == nil {
		return false
	}
	if role.Name == RoleAdmin {
		return true
	}
	for _, c := range role.Permissions {
		if !holds(p, c) {
			return true
		}
	}
	return false
}

func isAdminUser(u *User) bool { return u.IsSuperuser || u.RoleName == RoleAdmin }

// findProfile returns user id if it is in scope, NotFound otherwise.
func (s *Service) findProfile(ctx context.Context, scope ProfileScope, id int64) (*User, error) {
	if id <= 0 {
		return nil, errNotFound
	}
	us, _, err := s.store.ListProfiles(ctx, ProfileQuery{Scope: scope, ID: id})
	if err != nil {
		return nil, err
	}
	if len(us) == 0 {
		return nil, errNotFound
	}
	return &us[0], nil
}

// ListProfiles returns the profiles p may see matching q (whose Scope is
// replaced).
func (s *Service) ListProfiles(ctx context.Context, p *Principal, q ProfileQuery) ([]User, int, error) {
	q.Scope = ProfileScopeOf(p)
	q.ID = 0
	q.Search = strings.TrimSpace(q.Search)
	return s.store.ListProfiles(ctx, q)
}

// Profile returns one profile p may see; NotFound otherwise.
func (s *Service) Profile(ctx context.Context, p *Principal, id int64) (*User, error) {
	return s.findProfile(ctx, ProfileScopeOf(p), id)
}

// ProfileStats counts the users p may see.
func (s *Service) ProfileStats(ctx context.Context, p *Principal) (ProfileStats, error) {
	return s.store.ProfileStats(ctx, ProfileScopeOf(p))
}

// SearchUsers is the user picker: at least two characters, at most limit
// (1..50) users p may see. Callers must be able to manage users (the HTTP
// route requires it), so that plain members cannot enumerate accounts.
func (s *Service) SearchUsers(ctx context.Context, p *Principal, q string, limit int) ([]User, error) {
	q = strings.TrimSpace(q)
	if utf8.RuneCountInString(q) < 2 {
		return nil, errs.Field("q", "Ensure this field has at least 2 characters.")
	}
	if limit < 1 || limit > 50 {
		return nil, errs.Field("limit", "Ensure this value is between 1 and 50.")
	}
	us, _, err := s.store.ListProfiles(ctx, ProfileQuery{Scope: ProfileScopeOf(p), Search: q, Limit: limit})
	return us, err
}

// EmailExists reports whether a user p may see has this e-mail (any case).
func (s *Service) EmailExists(ctx context.Context, p *Principal, email string) (bool, error) {
	email = strings.TrimSpace(email)
	if email == "" {
		return false, nil
	}
	us, _, err := s.store.ListProfiles(ctx, ProfileQuery{Scope: ProfileScopeOf(p), Email: email})
	return len(us) > 0, err
}

// target loads a user p may see (NotFound) and change (Forbidden).
func (s *Service) target(ctx context.Context, p *Principal, id int64) (*User, error) {
	u, err := s.findProfile(ctx, ProfileScopeOf(p), id)
	if err != nil {
		return nil, err
	}
	if sc := manageScopeOf(p); !sc.All && u.ID != p.User.ID {
		if _, err := s.findProfile(ctx, sc, id); errs.Is(err, errs.KindNotFound) {
			return nil, errNotYours
		} else if err != nil {
			return nil, err
		}
	}
	if isAdminUser(u) && !p.IsAdmin() {
		return nil, errAdminOnly
	}
	return u, nil
}

// roleOf loads the role of u with its permissions (nil without a role).
func (s *Service) roleOf(ctx context.Context, u *User) (*Role, error) {
	if u.RoleID == nil {
		return nil, nil
	}
	return s.store.RoleByID(ctx, *u.RoleID)
}

// guardTakeover refuses p changing the access (password, login, role) of
// a user more privileged than p.
func (s *Service) guardTakeover(ctx context.Context, p *Principal, u *User) error {
	if p.IsAdmin() {
		return nil
	}
	r, err := s.roleOf(ctx, u)
	if err != nil {
		return err
	}
	if exceeds(p, r) {
		return errOutranked
	}
	return nil
}

// RoleRef names a role by id or by name (the legacy clients send either).
type RoleRef struct {
	ID   int64
	Name string
}

// lookupRole finds the role a client names, by id or name, with its
// codenames; an unknown one is a role field error.
func (s *Service) lookupRole(ctx context.Context, ref RoleRef) (*Role, error) {
	ref.Name = strings.TrimSpace(ref.Name)
	if ref.ID > 0 {
		r, err := s.store.RoleByID(ctx, ref.ID)
		if errs.Is(err, errs.KindNotFound) {
			return nil, errs.Field("role", "Rol no válido.")
		}
		return r, err
	}
	if ref.Name == "" {
		return nil, errs.Field("role", "This field may not be blank.")
	}
	roles, err := s.store.ListRoles(ctx)
	if err != nil {
		return nil, err
	}
	// A role created with a legacy spelling as its own name wins.
	name := ref.Name
	if !slices.ContainsFunc(roles, func(r Role) bool { return r.Name == name }) {
		name = CanonicalRoleName(name)
	}
	for i := range roles {
		if roles[i].Name == name {
			return &roles[i], nil
		}
	}
	return nil, errs.Field("role", "Rol no válido.")
}

// checkGrant refuses p assigning r: admin only by administrators, and
// nothing granting more than p holds.
func checkGrant(p *Principal, r *Role) error {
	if r.Name == RoleAdmin && !p.IsAdmin() {
		return errs.Forbidden("Solo un administrador puede asignar el rol de administrador.")
	}
	if exceeds(p, r) {
		return errGrantAbove
	}
	return nil
}

// checkTeam validates a team id input: "" means AICOX.
func checkTeam(p *Principal, team string) (string, error) {
	team = strings.TrimSpace(team)
	if team == "" {
		team = AICOXTeamID
	}
	id, err := uuid.Parse(team)
	if err != nil {
		return "", errs.Field("team_id", "Must be a valid UUID.")
	}
	team = id.String()
	if !orgWide(p) && !p.Leads(team) {
		return "", errNotYours
	}
	return team, nil
}

// checkEmail applies the e-mail rules (required, valid, at most 254).
func checkEmail(fe errs.FieldErrors, email string) {
	switch {
	case email == "":
		fe.Add("email", "This field is required.")
	case utf8.RuneCountInString(email) > 254:
		fe.Add("email", "Ensure this field has no more than 254 characters.")
	default:
		if a, err := mail.ParseAddress(email); err != nil || a.Address != email {
			fe.Add("email", "Enter a valid email address.")
		}
	}
}

func checkLen(fe errs.FieldErrors, field, v string, max int) {
	if utf8.RuneCountInString(v) > max {
		fe.Add(field, "Ensure this field has no more than "+strconv.Itoa(max)+" characters.")
	}
}

// NewProfile is the input to CreateProfile.
type NewProfile struct {
	Email, Username, FirstName, LastName string
	// Role is assigned when set; member otherwise.
	Role *RoleRef
	// TeamID: nil places the user in the creator's team (team-scoped
	// creators) or AICOX; "" means AICOX.
	TeamID *string
	// Password is optional; see CreateProfile.
	Password string
	// MustChangePassword, with a password, says whether the user must
	// replace it at first login (default true: the creator knows it).
	MustChangePassword *bool
}

// CreateProfile creates an active user. With a password, the password
// policy applies and the user must change it at first login unless the
// creator says otherwise. Without one, the account gets an unusable
// password and must_change_password: nobody can log in to it until an
// administrator issues a temporary password with ResetProfilePassword
// (POST /api/hps/user/profiles/{id}/reset-password/), which hands it to
// that administrator once. No password is ever returned by creation.
func (s *Service) CreateProfile(ctx context.Context, p *Principal, in NewProfile) (*User, error) {
	fe := errs.FieldErrors{}
	in.Email = strings.TrimSpace(in.Email)
	in.Username = strings.TrimSpace(in.Username)
	in.FirstName = strings.TrimSpace(in.FirstName)
	in.LastName = strings.TrimSpace(in.LastName)
	checkEmail(fe, in.Email)
	if in.Username == "" {
		in.Username = in.Email
	}
	checkLen(fe, "username", in.Username, 150)
	checkLen(fe, "first_name", in.FirstName, 150)
	checkLen(fe, "last_name", in.LastName, 150)
	if in.Password != "" {
		for _, m := range CheckPassword(in.Password, in.Email, in.FirstName, in.LastName) {
			fe.Add("password", m)
		}
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}

	u := &User{Username: in.Username, Email: in.Email, FirstName: in.FirstName, LastName: in.LastName,
		IsActive: true, DateJoined: s.now()}
	if in.Role != nil {
		r, err := s.lookupRole(ctx, *in.Role)
		if err != nil {
			return nil, err
		}
		if r.Name != RoleMember {
			if !p.Can(PermAsignarRol) {
				return nil, errNoRoles
			}
			if err := checkGrant(p, r); err != nil {
				return nil, err
			}
		}
		u.RoleID = &r.ID
	}
	var team string
	switch {
	case in.TeamID != nil:
		t, err := checkTeam(p, *in.TeamID)
		if err != nil {
			return nil, err
		}
		team = t
	case orgWide(p):
		team = AICOXTeamID
	case len(p.LedTeams) > 0:
		team = p.LedTeams[0]
	default:
		return nil, errNotYours
	}
	u.TeamID = &team

	if in.Password != "" {
		hash, err := s.hasher.Hash(in.Password)
		if err != nil {
			return nil, errs.Internal(err)
		}
		must := in.MustChangePassword == nil || *in.MustChangePassword
		u.PasswordHash, u.MustChangePassword, u.IsTempPassword = hash, must, must
	} else {
		u.PasswordHash, u.MustChangePassword = Unusable(), true
	}
	if err := s.store.CreateProfile(ctx, u); err != nil {
		return nil, err
	}
	return s.findProfile(ctx, ProfileScope{All: true}, u.ID)
}

// ProfileUpdate is a partial update; nil fields are left alone.
type ProfileUpdate struct {
	Email, Username, FirstName, LastName *string
	Role                                 *RoleRef
	// TeamID "" means AICOX.
	TeamID   *string
	IsActive *bool
}

// UpdateProfile changes a user p may manage (see the package rules).
func (s *Service) UpdateProfile(ctx context.Context, p *Principal, id int64, in ProfileUpdate) (*User, error) {
	u, err := s.target(ctx, p, id)
	if err != nil {
		return nil, err
	}
	self := u.ID == p.User.ID
	var ch ProfileChanges
	fe := errs.FieldErrors{}
	trim := func(v *string) *string {
		if v == nil {
			return nil
		}
		t := strings.TrimSpace(*v)
		return &t
	}
	in.Email, in.Username, in.FirstName, in.LastName = trim(in.Email), trim(in.Username), trim(in.FirstName), trim(in.LastName)
	loginChange := false
	if in.Email != nil && *in.Email != u.Email {
		checkEmail(fe, *in.Email)
		ch.Email, loginChange = in.Email, true
	}
	if in.Username != nil && *in.Username != u.Username {
		if *in.Username == "" {
			fe.Add("username", "This field may not be blank.")
		}
		checkLen(fe, "username", *in.Username, 150)
		ch.Username, loginChange = in.Username, true
	}
	if in.FirstName != nil && *in.FirstName != u.FirstName {
		checkLen(fe, "first_name", *in.FirstName, 150)
		ch.FirstName = in.FirstName
	}
	if in.LastName != nil && *in.LastName != u.LastName {
		checkLen(fe, "last_name", *in.LastName, 150)
		ch.LastName = in.LastName
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	if in.TeamID != nil {
		t, err := checkTeam(p, *in.TeamID)
		if err != nil {
			return nil, err
		}
		if u.TeamID == nil || *u.TeamID != t {
			ch.TeamID = &t
		}
	}
	if in.IsActive != nil && *in.IsActive != u.IsActive {
		if self {
			return nil, errSelf
		}
		ch.IsActive = in.IsActive
	}
	edits := ch.Email != nil || ch.Username != nil || ch.FirstName != nil || ch.LastName != nil || ch.TeamID != nil || ch.IsActive != nil
	if edits && !p.Can(PermEditarPerfilEquipo) {
		return nil, errNoEdit
	}
	if in.Role != nil {
		r, err := s.lookupRole(ctx, *in.Role)
		if err != nil {
			return nil, err
		}
		if u.RoleID == nil || r.ID != *u.RoleID {
			switch {
			case self:
				return nil, errOwnRole
			case !p.Can(PermAsignarRol):
				return nil, errNoRoles
			}
			if err := s.guardTakeover(ctx, p, u); err != nil {
				return nil, err
			}
			if err := checkGrant(p, r); err != nil {
				return nil, err
			}
			ch.RoleID = &r.ID
		}
	}
	if loginChange && !self {
		if err := s.guardTakeover(ctx, p, u); err != nil {
			return nil, err
		}
	}
	if ch != (ProfileChanges{}) {
		if err := s.store.UpdateProfile(ctx, u.ID, ch); err != nil {
			return nil, err
		}
	}
	return s.findProfile(ctx, ProfileScope{All: true}, u.ID)
}

// SetProfileActive activates or deactivates a user p may manage (never
// p). Deactivation revokes the user's tokens and deletes nothing.
// action is the audit action (activate, deactivate, or delete for the
// legacy soft delete).
func (s *Service) SetProfileActive(ctx context.Context, p *Principal, id int64, active bool, action string) (*User, error) {
	u, err := s.target(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if u.ID == p.User.ID {
		return nil, errSelf
	}
	if !p.Can(PermEditarPerfilEquipo) {
		return nil, errNoEdit
	}
	if action == "" {
		action = audit.ActionDeactivate
		if active {
			action = audit.ActionActivate
		}
	}
	if err := s.store.SetUserActive(ctx, u.ID, active, action); err != nil {
		return nil, err
	}
	return s.findProfile(ctx, ProfileScope{All: true}, u.ID)
}

// DeleteProfilePermanently hard-deletes a user: administrators only, never
// themselves, and only when no other data refers to the user (it leads no
// team and has acted on nothing but its own account); otherwise Conflict,
// and deactivation is the way.
func (s *Service) DeleteProfilePermanently(ctx context.Context, p *Principal, id int64) (*User, error) {
	if !p.IsAdmin() {
		return nil, errs.Forbidden("Solo un administrador puede borrar usuarios definitivamente.")
	}
	u, err := s.findProfile(ctx, ProfileScope{All: true}, id)
	if err != nil {
		return nil, err
	}
	if u.ID == p.User.ID {
		return nil, errSelf
	}
	if err := s.store.DeleteUserPermanently(ctx, u.ID); err != nil {
		return nil, err
	}
	return u, nil
}

// ResetProfilePassword issues a temporary password for a user p may
// manage and returns it, for p to hand over: it is shown once and stored
// only hashed. The user must change it at the next login; every token of
// the user is revoked. Audited as password_reset (without the password).
func (s *Service) ResetProfilePassword(ctx context.Context, p *Principal, id int64) (string, error) {
	u, err := s.target(ctx, p, id)
	if err != nil {
		return "", err
	}
	if u.ID == p.User.ID {
		return "", errs.Forbidden("Use el cambio de contraseña para su propio usuario.")
	}
	if err := s.guardTakeover(ctx, p, u); err != nil {
		return "", err
	}
	pw := TemporaryPassword()
	hash, err := s.hasher.Hash(pw)
	if err != nil {
		return "", errs.Internal(err)
	}
	if err := s.store.SetTemporaryPassword(ctx, u.ID, hash); err != nil {
		return "", err
	}
	return pw, nil
}
