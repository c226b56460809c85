package identity

import (
	"slices"
	"time"
)

// Role is a named set of permission codenames. Roles are data.
type Role struct {
	ID          int64
	Name        string
	Description string
	IsSystem    bool
	Permissions []string
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Team groups users; a team has at most one lead, and a user leads at most
// one active team.
type Team struct {
	ID          string
	Name        string
	Description string
	LeadID      *int64
	LeadName    string
	IsActive    bool
	MemberCount int
	CreatedAt   time.Time
	UpdatedAt   time.Time
}

// Member is a user as listed within a team.
type Member struct {
	ID        int64
	Email     string
	FirstName string
	LastName  string
	Role      string
	IsActive  bool
	IsLead    bool
	LastLogin *time.Time
}

// Principal is an authenticated caller with the permissions its role
// grants right now (read from the database on every request).
type Principal struct {
	User  *User
	Perms map[string]bool
	// LedTeams are the active teams this user leads.
	LedTeams []string
	// TokenID is the jti of the access token used, if any.
	TokenID string
	// SessionID is the session of that token ("" for a legacy token).
	SessionID string
}

// Can reports whether the principal holds codename. Superusers hold all.
func (p *Principal) Can(codename string) bool {
	if p == nil || p.User == nil || !p.User.IsActive {
		return false
	}
	return p.User.IsSuperuser || p.Perms[codename]
}

// IsAdmin reports whether the principal has the admin role or is a superuser.
func (p *Principal) IsAdmin() bool {
	return p != nil && p.User != nil && (p.User.IsSuperuser || p.User.RoleName == RoleAdmin)
}

// Leads reports whether the principal leads the active team teamID.
func (p *Principal) Leads(teamID string) bool {
	return p != nil && slices.Contains(p.LedTeams, teamID)
}
