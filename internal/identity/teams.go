package identity

import (
	"context"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/errs"
)

// TeamStore persists teams and memberships. Mutations write their audit
// entries in the same transaction.
type TeamStore interface {
	// ListTeams returns the teams f selects, ordered by name, with member
	// counts and lead names, and the total count before paging.
	ListTeams(ctx context.Context, f TeamFilter) ([]Team, int, error)
	// TeamByID returns one team (NotFound when missing or not a UUID).
	TeamByID(ctx context.Context, id string) (*Team, error)
	// TeamMembers returns the users with an active membership in each of
	// the teams, by team id, in one query.
	TeamMembers(ctx context.Context, teamIDs []string) (map[string][]Member, error)
	// TeamStats counts the teams f selects (paging ignored).
	TeamStats(ctx context.Context, f TeamFilter) (TeamStats, error)
	// SaveTeam creates or changes a team in one transaction (see
	// TeamChange) and returns it as stored.
	SaveTeam(ctx context.Context, c TeamChange) (*Team, error)
}

// TeamFilter selects teams.
type TeamFilter struct {
	IncludeInactive bool
	// Scoped restricts the selection to IDs (a team lead's own teams);
	// an empty IDs then selects nothing.
	Scoped bool
	IDs    []string
	// Limit (0 = all) and Offset page the list.
	Limit, Offset int
}

// TeamStats is the teams overview.
type TeamStats struct {
	TotalTeams       int
	ActiveTeams      int
	TotalMembers     int
	TeamsWithLeaders int
}

// TeamDetail is a team with its members.
type TeamDetail struct {
	Team
	Members []Member
}

// TeamChange is one team mutation. The store, in one transaction: loads
// the current team (nil when ID is empty: a new team), calls Apply for the
// proposed state, reads the TeamFacts that state needs, calls Check, and
// then writes the team, the lead's membership, team and role (promotion
// and demotion per RoleWhenLeading / RoleWhenNotLeading), moves the users
// of a deactivated team to AICOX, and audits every row it changes.
type TeamChange struct {
	ID     string
	Action string // audit action for the team row
	Apply  func(cur *Team) (Team, error)
	Check  func(f TeamFacts) error
}

// TeamFacts is what the team rules need from the database, read in the
// change's transaction.
type TeamFacts struct {
	Current *Team // nil on create
	Next    Team
	// Lead describes Next.LeadID; nil when there is none.
	Lead *LeadFacts
	// NameTaken: another active team has Next.Name (case-insensitively;
	// on SQLite only ASCII letters fold).
	NameTaken bool
	// OtherActiveMembers counts active users with an active membership in
	// the current team other than its current lead.
	OtherActiveMembers int
}

// LeadFacts describes a proposed team lead.
type LeadFacts struct {
	Found    bool
	IsActive bool
	RoleName string
	// LeadsTeam is the name of another active team the user leads.
	LeadsTeam string
}

// TeamInput is a create or update request. Nil fields are left unchanged;
// LeadSet with a nil LeadID removes the lead.
type TeamInput struct {
	Name        *string
	Description *string
	LeadSet     bool
	LeadID      *int64
	IsActive    *bool
}

// Messages of the team rules.
const (
	msgTeamNameTaken     = "Ya existe un equipo activo con este nombre."
	msgTeamNameLength    = "El nombre debe tener entre 2 y 100 caracteres."
	msgLeadNotFound      = "El usuario indicado no existe."
	msgLeadInactive      = "El jefe de equipo debe ser un usuario activo."
	msgLeadBusy          = "Este usuario ya es jefe del equipo activo «%s»."
	msgTeamCreateOnly    = "Solo quien ve todos los equipos puede crear equipos."
	msgTeamDeleteOnly    = "Solo quien ve todos los equipos puede desactivar equipos."
	msgTeamLeadOnly      = "Solo quien ve todos los equipos puede cambiar el jefe de un equipo."
	msgAICOXDeactivate   = "El equipo AICOX es el equipo por defecto y no se puede desactivar."
	msgTeamActiveMembers = "El equipo tiene %d miembro(s) activo(s) además del jefe; muévalos a otro equipo antes de desactivarlo."
)

// ErrTeamNameTaken and ErrLeadBusy are the conflicts answered for a
// duplicate active name and a lead who already leads an active team
// (also when the database's unique indexes catch a race).
var (
	ErrTeamNameTaken = &errs.Error{Kind: errs.KindConflict, Fields: map[string]any{"name": []string{msgTeamNameTaken}}}
	ErrLeadBusy      = &errs.Error{Kind: errs.KindConflict, Fields: map[string]any{"team_lead_id": []string{"Este usuario ya es jefe de otro equipo activo."}}}
)

// errTeamNotFound is answered for a team that does not exist or that the
// caller may not see.
var errTeamNotFound = &errs.Error{Kind: errs.KindNotFound, Message: "Not found."}

// RoleWhenLeading is the role a user gets on becoming a team lead: a
// member is promoted to team_lead; other roles are kept.
func RoleWhenLeading(role string) string {
	if role == RoleMember {
		return RoleTeamLead
	}
	return role
}

// RoleWhenNotLeading is the role a former lead keeps: a team_lead who
// leads no other active team goes back to member.
func RoleWhenNotLeading(role string, leadsOther bool) string {
	if role == RoleTeamLead && !leadsOther {
		return RoleMember
	}
	return role
}

// PrimaryTeamWhenLeading is the user's primary team after becoming lead
// of teamID: it moves there from AICOX or from no team; otherwise it stays.
func PrimaryTeamWhenLeading(cur *string, teamID string) *string {
	if cur == nil || *cur == AICOXTeamID {
		return &teamID
	}
	return cur
}

// CanonicalTeamID returns id in canonical UUID form, or false.
func CanonicalTeamID(id string) (string, bool) {
	u, err := uuid.Parse(strings.TrimSpace(id))
	if err != nil {
		return "", false
	}
	return u.String(), true
}

func sameLeadID(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// seesAllTeams: hps.ver_equipos_todos; otherwise a caller sees the teams
// they lead (hps.ver_equipos_liderados).
func seesAllTeams(p *Principal) bool { return p.Can(PermVerEquiposTodos) }

// teamFilterFor is the filter restricting p to the teams they may see.
func teamFilterFor(p *Principal, includeInactive bool) (TeamFilter, error) {
	if seesAllTeams(p) {
		return TeamFilter{IncludeInactive: includeInactive}, nil
	}
	if p.Can(PermVerEquiposLiderados) {
		return TeamFilter{Scoped: true, IDs: append([]string{}, p.LedTeams...)}, nil
	}
	return TeamFilter{}, errs.Forbidden("You do not have permission to perform this action.")
}

// visibleTeamID canonicalises id and checks p may see that team.
func visibleTeamID(p *Principal, id string) (string, error) {
	id, ok := CanonicalTeamID(id)
	if !ok {
		return "", errTeamNotFound
	}
	if _, err := teamFilterFor(p, false); err != nil {
		return "", err
	}
	if !seesAllTeams(p) && !p.Leads(id) {
		return "", errTeamNotFound
	}
	return id, nil
}

// ListTeams returns the teams p may see with their members; limit 0
// means all.
func (s *Service) ListTeams(ctx context.Context, p *Principal, includeInactive bool, limit, offset int) ([]TeamDetail, int, error) {
	f, err := teamFilterFor(p, includeInactive)
	if err != nil {
		return nil, 0, err
	}
	f.Limit, f.Offset = limit, offset
	teams, n, err := s.store.ListTeams(ctx, f)
	if err != nil {
		return nil, 0, err
	}
	ids := make([]string, len(teams))
	for i, t := range teams {
		ids[i] = t.ID
	}
	members, err := s.store.TeamMembers(ctx, ids)
	if err != nil {
		return nil, 0, err
	}
	out := make([]TeamDetail, len(teams))
	for i, t := range teams {
		out[i] = TeamDetail{Team: t, Members: members[t.ID]}
	}
	return out, n, nil
}

// Team returns one team p may see, with its members.
func (s *Service) Team(ctx context.Context, p *Principal, id string) (*TeamDetail, error) {
	id, err := visibleTeamID(p, id)
	if err != nil {
		return nil, err
	}
	return s.teamDetail(ctx, id)
}

func (s *Service) teamDetail(ctx context.Context, id string) (*TeamDetail, error) {
	t, err := s.store.TeamByID(ctx, id)
	if err != nil {
		return nil, err
	}
	return s.withMembers(ctx, t)
}

func (s *Service) withMembers(ctx context.Context, t *Team) (*TeamDetail, error) {
	members, err := s.store.TeamMembers(ctx, []string{t.ID})
	if err != nil {
		return nil, err
	}
	return &TeamDetail{Team: *t, Members: members[t.ID]}, nil
}

// TeamMembers lists the members of a team p may see.
func (s *Service) TeamMembers(ctx context.Context, p *Principal, id string) ([]Member, error) {
	d, err := s.Team(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return d.Members, nil
}

// TeamStats counts the teams p may see.
func (s *Service) TeamStats(ctx context.Context, p *Principal) (TeamStats, error) {
	f, err := teamFilterFor(p, true)
	if err != nil {
		return TeamStats{}, err
	}
	return s.store.TeamStats(ctx, f)
}

// validateTeamInput trims and checks the fields present; name is required
// when requireName is set (create, PUT).
func validateTeamInput(in *TeamInput, requireName bool) error {
	fe := errs.FieldErrors{}
	if in.Name != nil {
		n := strings.TrimSpace(*in.Name)
		in.Name = &n
		switch l := utf8.RuneCountInString(n); {
		case l == 0:
			fe.Add("name", "This field may not be blank.")
		case l < 2 || l > 100:
			fe.Add("name", msgTeamNameLength)
		}
	} else if requireName {
		fe.Add("name", "This field is required.")
	}
	if in.Description != nil {
		d := strings.TrimSpace(*in.Description)
		in.Description = &d
	}
	return fe.Err()
}

// checkTeamFacts applies the rules that need the database.
func checkTeamFacts(f TeamFacts) error {
	if f.Next.IsActive && f.NameTaken {
		return ErrTeamNameTaken
	}
	cur := f.Current
	activating := f.Next.IsActive && (cur == nil || !cur.IsActive)
	if f.Next.IsActive && f.Lead != nil && (cur == nil || activating || !sameLeadID(cur.LeadID, f.Next.LeadID)) {
		switch {
		case !f.Lead.Found:
			return errs.Field("team_lead_id", msgLeadNotFound)
		case !f.Lead.IsActive:
			return errs.Field("team_lead_id", msgLeadInactive)
		case f.Lead.LeadsTeam != "":
			return &errs.Error{Kind: errs.KindConflict, Fields: map[string]any{"team_lead_id": []string{fmt.Sprintf(msgLeadBusy, f.Lead.LeadsTeam)}}}
		}
	}
	if cur != nil && cur.IsActive && !f.Next.IsActive {
		if cur.ID == AICOXTeamID {
			return errs.Conflict(msgAICOXDeactivate)
		}
		if f.OtherActiveMembers > 0 {
			return errs.Conflict(msgTeamActiveMembers, f.OtherActiveMembers)
		}
	}
	return nil
}

// applyTeamInput returns cur changed by in. Deactivating a team removes
// its lead.
func applyTeamInput(cur Team, in TeamInput) Team {
	next := cur
	if in.Name != nil {
		next.Name = *in.Name
	}
	if in.Description != nil {
		next.Description = *in.Description
	}
	if in.LeadSet {
		next.LeadID = in.LeadID
	}
	if in.IsActive != nil {
		next.IsActive = *in.IsActive
	}
	if !next.IsActive {
		next.LeadID = nil
	}
	return next
}

// CreateTeam creates a team on behalf of p (who must see all teams).
func (s *Service) CreateTeam(ctx context.Context, p *Principal, in TeamInput) (*TeamDetail, error) {
	if !seesAllTeams(p) {
		return nil, errs.Forbidden(msgTeamCreateOnly)
	}
	if err := validateTeamInput(&in, true); err != nil {
		return nil, err
	}
	t, err := s.store.SaveTeam(ctx, TeamChange{Action: audit.ActionCreate, Check: checkTeamFacts,
		Apply: func(*Team) (Team, error) {
			return applyTeamInput(Team{IsActive: true}, in), nil
		}})
	if err != nil {
		return nil, err
	}
	return s.withMembers(ctx, t)
}

// UpdateTeam changes a team on behalf of p. A caller who does not see all
// teams (a team lead) may only change the name and description of the
// teams they lead.
func (s *Service) UpdateTeam(ctx context.Context, p *Principal, id string, in TeamInput, requireName bool) (*TeamDetail, error) {
	id, err := visibleTeamID(p, id)
	if err != nil {
		return nil, err
	}
	if err := validateTeamInput(&in, requireName); err != nil {
		return nil, err
	}
	all := seesAllTeams(p)
	t, err := s.store.SaveTeam(ctx, TeamChange{ID: id, Action: audit.ActionUpdate, Check: checkTeamFacts,
		Apply: func(cur *Team) (Team, error) {
			if !all {
				if in.LeadSet && !sameLeadID(in.LeadID, cur.LeadID) {
					return *cur, errs.Forbidden(msgTeamLeadOnly)
				}
				if in.IsActive != nil && *in.IsActive != cur.IsActive {
					return *cur, errs.Forbidden(msgTeamDeleteOnly)
				}
			}
			return applyTeamInput(*cur, in), nil
		}})
	if err != nil {
		return nil, err
	}
	return s.withMembers(ctx, t)
}

// DeactivateTeam soft-deletes a team (DELETE): it must have no active
// members besides its lead, who stops leading it. Deactivating an
// inactive team changes nothing.
func (s *Service) DeactivateTeam(ctx context.Context, p *Principal, id string) error {
	id, err := visibleTeamID(p, id)
	if err != nil {
		return err
	}
	if !seesAllTeams(p) {
		return errs.Forbidden(msgTeamDeleteOnly)
	}
	off := false
	_, err = s.store.SaveTeam(ctx, TeamChange{ID: id, Action: audit.ActionDeactivate, Check: checkTeamFacts,
		Apply: func(cur *Team) (Team, error) {
			return applyTeamInput(*cur, TeamInput{IsActive: &off}), nil
		}})
	return err
}
