package identity

// Permission codenames. They are fixed by the code (every route declares
// the one it needs); roles are data and are granted codenames by admins.
// The first 21 are the legacy cryptotrace RBAC codenames (hps_core
// migration 0008); the productos.* custody codenames were added by thot
// because the legacy left those endpoints open to any user.
const (
	PermVerPerfil             = "hps.ver_perfil"
	PermGestionarRoles        = "hps.gestionar_roles"
	PermVerEquiposTodos       = "hps.ver_equipos_todos"
	PermVerEquiposLiderados   = "hps.ver_equipos_liderados"
	PermGestionarEquipos      = "hps.gestionar_equipos"
	PermVerSolicitudesTodas   = "hps.ver_solicitudes_todas"
	PermVerSolicitudesEquipos = "hps.ver_solicitudes_equipos"
	PermVerSolicitudesPropias = "hps.ver_solicitudes_propias"
	PermCrearTokens           = "hps.crear_tokens"
	PermVerTodosTokens        = "hps.ver_todos_tokens"
	PermGestionarPlantillas   = "hps.gestionar_plantillas"
	PermVerAuditLogsTodos     = "hps.ver_audit_logs_todos"
	PermVerAuditLogsPropios   = "hps.ver_audit_logs_propios"
	PermVerPerfilesTodos      = "hps.ver_perfiles_todos"
	PermVerPerfilesEquipos    = "hps.ver_perfiles_equipos"
	PermCrearPerfil           = "hps.crear_perfil"
	PermEditarPerfilEquipo    = "hps.editar_perfil_equipo"
	PermAsignarRol            = "hps.asignar_rol"
	PermVerTodasConversacion  = "chat.ver_todas_conversaciones"
	PermVerTodaLineaTemporal  = "productos.ver_toda_linea_temporal"
	PermLimpiarLineaTemporal  = "productos.limpiar_toda_linea_temporal"

	// HPS request decisions and machine keys (thot; the legacy checked
	// role names for these).
	PermGestionarSolicitudes = "hps.gestionar_solicitudes"
	PermGestionarClavesAPI   = "hps.gestionar_claves_api"

	PermProductosVer      = "productos.ver"
	PermProductosEditar   = "productos.editar"
	PermProductosEliminar = "productos.eliminar"
)

// PermissionInfo describes one codename.
type PermissionInfo struct {
	Codename string `json:"codename"`
	Name     string `json:"name"`
	Category string `json:"category"`
}

// Permissions lists every codename, in display order.
var Permissions = []PermissionInfo{
	{PermVerPerfil, "Ver su propio perfil", "hps"},
	{PermGestionarRoles, "Gestionar roles y permisos", "hps"},
	{PermVerEquiposTodos, "Ver todos los equipos", "hps"},
	{PermVerEquiposLiderados, "Ver los equipos que lidera", "hps"},
	{PermGestionarEquipos, "Gestionar equipos", "hps"},
	{PermVerSolicitudesTodas, "Ver todas las solicitudes HPS", "hps"},
	{PermVerSolicitudesEquipos, "Ver las solicitudes HPS de sus equipos", "hps"},
	{PermVerSolicitudesPropias, "Ver sus solicitudes HPS", "hps"},
	{PermCrearTokens, "Crear enlaces de formulario HPS", "hps"},
	{PermVerTodosTokens, "Ver y revocar enlaces de formulario", "hps"},
	{PermGestionarPlantillas, "Gestionar plantillas PDF", "hps"},
	{PermVerAuditLogsTodos, "Ver todo el registro de auditoría", "hps"},
	{PermVerAuditLogsPropios, "Ver su registro de auditoría", "hps"},
	{PermVerPerfilesTodos, "Ver todos los perfiles", "hps"},
	{PermVerPerfilesEquipos, "Ver los perfiles de sus equipos", "hps"},
	{PermCrearPerfil, "Crear usuarios", "hps"},
	{PermEditarPerfilEquipo, "Editar perfiles de sus equipos", "hps"},
	{PermAsignarRol, "Asignar roles", "hps"},
	{PermVerTodasConversacion, "Ver todas las conversaciones del chat", "chat"},
	{PermVerTodaLineaTemporal, "Ver la línea temporal de todos", "productos"},
	{PermLimpiarLineaTemporal, "Limpiar la línea temporal de todos", "productos"},
	{PermGestionarSolicitudes, "Tramitar, aprobar y rechazar solicitudes HPS", "hps"},
	{PermGestionarClavesAPI, "Gestionar claves API (extensión del navegador)", "hps"},
	{PermProductosVer, "Ver catálogo, inventario, albaranes y movimientos", "productos"},
	{PermProductosEditar, "Crear y modificar albaranes, movimientos y catálogo", "productos"},
	{PermProductosEliminar, "Eliminar albaranes, movimientos y productos", "productos"},
}

// Role names seeded by migration. Roles are data; these are only the ones
// code refers to.
const (
	RoleAdmin                 = "admin"
	RoleJefeSeguridad         = "jefe_seguridad"
	RoleJefeSeguridadSuplente = "jefe_seguridad_suplente"
	RoleTeamLead              = "team_lead"
	RoleCrypto                = "crypto"
	RoleMember                = "member"
)

// legacyRoleNames are spellings the legacy code and clients used for a
// role that never existed under that name: the HPS frontend's team page
// offers "team_leader", and the legacy role checks accepted it and
// "security_chief" beside the real names.
var legacyRoleNames = map[string]string{
	"team_leader":    RoleTeamLead,
	"security_chief": RoleJefeSeguridad,
}

// CanonicalRoleName maps a legacy spelling to the role it meant; any
// other name is returned as it is.
func CanonicalRoleName(name string) string {
	if c, ok := legacyRoleNames[name]; ok {
		return c
	}
	return name
}

// AICOXTeamID is the default team (legacy fixed UUID).
const AICOXTeamID = "d8574c01-851f-4716-9ac9-bbda45469bdf"

// DefaultRoles is the seeded role → codename matrix (legacy-cryptotrace
// §2.2, plus the productos.* custody codenames).
var DefaultRoles = []struct {
	Name, Description string
	Permissions       []string
}{
	{RoleAdmin, "Administrador del sistema con acceso completo", allCodenames()},
	{RoleJefeSeguridad, "Jefe de Seguridad", without(allCodenames(), PermGestionarRoles, PermVerAuditLogsPropios, PermVerPerfilesEquipos, PermVerTodasConversacion)},
	{RoleJefeSeguridadSuplente, "Jefe de Seguridad Suplente", []string{
		PermVerPerfil, PermVerEquiposLiderados, PermGestionarEquipos, PermVerSolicitudesEquipos, PermVerSolicitudesPropias,
		PermCrearTokens, PermGestionarPlantillas, PermVerAuditLogsPropios, PermVerPerfilesTodos, PermVerPerfilesEquipos,
		PermCrearPerfil, PermEditarPerfilEquipo, PermAsignarRol, PermVerTodaLineaTemporal, PermLimpiarLineaTemporal,
		PermProductosVer, PermProductosEditar,
	}},
	{RoleTeamLead, "Jefe de equipo con permisos de gestión de equipo", []string{
		PermVerPerfil, PermVerEquiposLiderados, PermGestionarEquipos, PermVerSolicitudesEquipos, PermVerSolicitudesPropias,
		PermVerAuditLogsPropios, PermVerPerfilesTodos, PermVerPerfilesEquipos, PermCrearPerfil, PermEditarPerfilEquipo,
	}},
	{RoleCrypto, "Crypto: custodia de material cifrado", []string{
		PermVerPerfil, PermVerSolicitudesPropias, PermVerAuditLogsPropios, PermVerPerfilesTodos,
		PermVerTodaLineaTemporal, PermLimpiarLineaTemporal, PermProductosVer, PermProductosEditar, PermProductosEliminar,
	}},
	{RoleMember, "Miembro del equipo con acceso básico", []string{
		PermVerPerfil, PermVerSolicitudesPropias, PermVerAuditLogsPropios, PermVerPerfilesTodos,
	}},
}

func allCodenames() []string {
	out := make([]string, len(Permissions))
	for i, p := range Permissions {
		out[i] = p.Codename
	}
	return out
}

func without(list []string, drop ...string) []string {
	skip := map[string]bool{}
	for _, d := range drop {
		skip[d] = true
	}
	var out []string
	for _, c := range list {
		if !skip[c] {
			out = append(out, c)
		}
	}
	return out
}

// IsCodename reports whether c is a known permission codename.
func IsCodename(c string) bool {
	for _, p := range Permissions {
		if p.Codename == c {
			return true
		}
	}
	return false
}
