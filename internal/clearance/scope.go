package clearance

import (
	"slices"

	"github.com/thot-security/thot/internal/identity"
)

// Scope is what a user may read: every request, those of the teams they
// lead (by membership, not only the primary team), or only their own. One
// scope serves lists, stats, single reads, PDFs and every filter; the
// store applies it in SQL.
type Scope struct {
	All      bool
	UserID   int64
	LedTeams []string // only with hps.ver_solicitudes_equipos
}

// ScopeOf is p's reading scope. Everyone sees their own requests.
func ScopeOf(p *identity.Principal) Scope {
	s := Scope{UserID: p.User.ID}
	switch {
	case p.Can(identity.PermVerSolicitudesTodas):
		s.All = true
	case p.Can(identity.PermVerSolicitudesEquipos):
		s.LedTeams = p.LedTeams
	}
	return s
}

// Sees reports whether the scope covers r (r.ApplicantTeams loaded).
func (s Scope) Sees(r *Request) bool {
	if s.All || (r.UserID != nil && *r.UserID == s.UserID) {
		return true
	}
	for _, t := range r.ApplicantTeams {
		if slices.Contains(s.LedTeams, t) {
			return true
		}
	}
	return false
}

// ActorFor classifies p for a transition on r (r.ApplicantTeams loaded).
func ActorFor(p *identity.Principal, r *Request) Actor {
	switch {
	case r.UserID != nil && *r.UserID == p.User.ID:
		return ActorApplicant
	case p.Can(identity.PermGestionarSolicitudes):
		return ActorApprover
	case p.Can(identity.PermVerSolicitudesEquipos):
		for _, t := range r.ApplicantTeams {
			if slices.Contains(p.LedTeams, t) {
				return ActorTeamLead
			}
		}
	}
	return ActorOther
}
