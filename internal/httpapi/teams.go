package httpapi

import (
	"context"
	"net/http"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// Teams: /api/hps/teams/ (Django HpsTeamViewSet). Who sees what:
// hps.ver_equipos_todos sees every team; hps.ver_equipos_liderados only
// the active teams the caller leads. Changes need hps.gestionar_equipos; a
// caller who does not see every team (a team lead) may only rename and
// describe the teams they lead.

// HpsTeamMember is a user as listed within a team.
type HpsTeamMember struct {
	ID        int64  `json:"id"`
	Email     string `json:"email"`
	FullName  string `json:"full_name"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name"`
	Role      string `json:"role"`
	IsActive  bool   `json:"is_active"`
}

// HpsTeam is a team as the legacy clients read it. team_lead and
// team_lead_id both carry the lead's user id.
type HpsTeam struct {
	ID           string          `json:"id"`
	Name         string          `json:"name"`
	Description  string          `json:"description"`
	TeamLead     *int64          `json:"team_lead"`
	TeamLeadID   *int64          `json:"team_lead_id"`
	TeamLeadName *string         `json:"team_lead_name"`
	IsActive     bool            `json:"is_active"`
	MemberCount  int             `json:"member_count"`
	Members      []HpsTeamMember `json:"members"`
	CreatedAt    string          `json:"created_at"`
	UpdatedAt    string          `json:"updated_at"`
}

// HpsTeamStats is GET /api/hps/teams/stats/.
type HpsTeamStats struct {
	TotalTeams       int `json:"total_teams"`
	ActiveTeams      int `json:"active_teams"`
	TotalMembers     int `json:"total_members"`
	TeamsWithLeaders int `json:"teams_with_leaders"`
}

func hpsTeamMembers(ms []identity.Member) []HpsTeamMember {
	out := make([]HpsTeamMember, len(ms))
	for i, m := range ms {
		out[i] = HpsTeamMember{ID: m.ID, Email: m.Email, FullName: strings.TrimSpace(m.FirstName + " " + m.LastName),
			FirstName: m.FirstName, LastName: m.LastName, Role: m.Role, IsActive: m.IsActive}
	}
	return out
}

func hpsTeam(d *identity.TeamDetail) HpsTeam {
	out := HpsTeam{ID: d.ID, Name: d.Name, Description: d.Description, TeamLead: d.LeadID, TeamLeadID: d.LeadID,
		IsActive: d.IsActive, MemberCount: d.MemberCount, Members: hpsTeamMembers(d.Members),
		CreatedAt: isoTime(d.CreatedAt), UpdatedAt: isoTime(d.UpdatedAt)}
	if d.LeadID != nil {
		n := d.LeadName
		out.TeamLeadName = &n
	}
	return out
}

// teamWrite is the writable part of a team.
type teamWrite struct {
	Name               *string     `json:"name"`
	Description        *string     `json:"description"`
	TeamLeadID         nullableRef `json:"team_lead_id"`
	TeamLeadIDWritable nullableRef `json:"team_lead_id_writable" doc:"Legacy alias of team_lead_id"`
	IsActive           *bool       `json:"is_active"`
}

func (w teamWrite) input() (identity.TeamInput, error) {
	in := identity.TeamInput{Name: w.Name, Description: w.Description, IsActive: w.IsActive}
	lead, field := w.TeamLeadID, "team_lead_id"
	if w.TeamLeadIDWritable.set {
		lead, field = w.TeamLeadIDWritable, "team_lead_id_writable"
	}
	if lead.bad {
		return in, errs.Field(field, "A valid integer is required.")
	}
	in.LeadSet, in.LeadID = lead.set, lead.id
	return in, nil
}

type teamListInput struct {
	PageParams
	IncludeInactive string `query:"include_inactive" doc:"true to list deactivated teams too"`
}

type teamIDInput struct {
	ID string `path:"id" doc:"Team id (UUID)"`
}

type teamWriteInput struct {
	ID   string `path:"id" doc:"Team id (UUID)"`
	Body teamWrite
}

type teamCreateInput struct {
	Body teamWrite
}

type teamMembersInput struct {
	ID string `path:"id" doc:"Team id (UUID)"`
	PageParams
}

type teamOutput struct{ Body HpsTeam }

func isTrue(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "true", "1", "yes", "on":
		return true
	}
	return false
}

func (s *Server) registerTeams() {
	readTeams := AnyPermission(identity.PermVerEquiposTodos, identity.PermVerEquiposLiderados)
	manageTeams := Permission(identity.PermGestionarEquipos)
	tags := []string{"teams"}

	Register(s.API, huma.Operation{OperationID: "teams-list", Method: http.MethodGet, Path: "/api/hps/teams/", Tags: tags,
		Summary: "List the teams the caller may see, with members"}, readTeams,
		func(ctx context.Context, in *teamListInput) (*struct{ Body List[HpsTeam] }, error) {
			teams, n, err := s.deps.Identity.ListTeams(ctx, PrincipalFrom(ctx), isTrue(in.IncludeInactive), in.Limit(), in.Offset())
			if err != nil {
				return nil, err
			}
			if err := CheckPage(in.PageParams, n); err != nil {
				return nil, err
			}
			items := make([]HpsTeam, len(teams))
			for i := range teams {
				items[i] = hpsTeam(&teams[i])
			}
			return &struct{ Body List[HpsTeam] }{Body: NewList(items, in.PageParams, n, RequestURL(ctx))}, nil
		})
	Register(s.API, huma.Operation{OperationID: "teams-create", Method: http.MethodPost, Path: "/api/hps/teams/", Tags: tags,
		Summary: "Create a team (a lead is promoted from member to team_lead)", DefaultStatus: http.StatusCreated}, manageTeams,
		func(ctx context.Context, in *teamCreateInput) (*teamOutput, error) {
			ti, err := in.Body.input()
			if err != nil {
				return nil, err
			}
			d, err := s.deps.Identity.CreateTeam(ctx, PrincipalFrom(ctx), ti)
			if err != nil {
				return nil, err
			}
			return &teamOutput{Body: hpsTeam(d)}, nil
		})
	Register(s.API, huma.Operation{OperationID: "teams-stats", Method: http.MethodGet, Path: "/api/hps/teams/stats/", Tags: tags,
		Summary: "Counts over the teams the caller may see"}, readTeams,
		func(ctx context.Context, _ *struct{}) (*struct{ Body HpsTeamStats }, error) {
			st, err := s.deps.Identity.TeamStats(ctx, PrincipalFrom(ctx))
			if err != nil {
				return nil, err
			}
			return &struct{ Body HpsTeamStats }{Body: HpsTeamStats{TotalTeams: st.TotalTeams, ActiveTeams: st.ActiveTeams,
				TotalMembers: st.TotalMembers, TeamsWithLeaders: st.TeamsWithLeaders}}, nil
		})
	Register(s.API, huma.Operation{OperationID: "teams-get", Method: http.MethodGet, Path: "/api/hps/teams/{id}/", Tags: tags,
		Summary: "One team with its members"}, readTeams,
		func(ctx context.Context, in *teamIDInput) (*teamOutput, error) {
			d, err := s.deps.Identity.Team(ctx, PrincipalFrom(ctx), in.ID)
			if err != nil {
				return nil, err
			}
			return &teamOutput{Body: hpsTeam(d)}, nil
		})
	update := func(requireName bool) func(context.Context, *teamWriteInput) (*teamOutput, error) {
		return func(ctx context.Context, in *teamWriteInput) (*teamOutput, error) {
			ti, err := in.Body.input()
			if err != nil {
				return nil, err
			}
			d, err := s.deps.Identity.UpdateTeam(ctx, PrincipalFrom(ctx), in.ID, ti, requireName)
			if err != nil {
				return nil, err
			}
			return &teamOutput{Body: hpsTeam(d)}, nil
		}
	}
	Register(s.API, huma.Operation{OperationID: "teams-update", Method: http.MethodPut, Path: "/api/hps/teams/{id}/", Tags: tags,
		Summary: "Change a team (name required; an absent team_lead_id keeps the lead)"}, manageTeams, update(true))
	Register(s.API, huma.Operation{OperationID: "teams-patch", Method: http.MethodPatch, Path: "/api/hps/teams/{id}/", Tags: tags,
		Summary: "Change some of a team's fields"}, manageTeams, update(false))
	Register(s.API, huma.Operation{OperationID: "teams-delete", Method: http.MethodDelete, Path: "/api/hps/teams/{id}/", Tags: tags,
		Summary: "Deactivate a team with no active members besides its lead", DefaultStatus: http.StatusNoContent}, manageTeams,
		func(ctx context.Context, in *teamIDInput) (*struct{}, error) {
			if err := s.deps.Identity.DeactivateTeam(ctx, PrincipalFrom(ctx), in.ID); err != nil {
				return nil, err
			}
			return &struct{}{}, nil
		})
	Register(s.API, huma.Operation{OperationID: "teams-members", Method: http.MethodGet, Path: "/api/hps/teams/{id}/members/", Tags: tags,
		Summary: "The members of a team"}, readTeams,
		func(ctx context.Context, in *teamMembersInput) (*struct{ Body List[HpsTeamMember] }, error) {
			ms, err := s.deps.Identity.TeamMembers(ctx, PrincipalFrom(ctx), in.ID)
			if err != nil {
				return nil, err
			}
			if err := CheckPage(in.PageParams, len(ms)); err != nil {
				return nil, err
			}
			lo, hi := inMemoryPage(len(ms), in.PageParams)
			return &struct {
				Body List[HpsTeamMember]
			}{Body: NewList(hpsTeamMembers(ms[lo:hi]), in.PageParams, len(ms), RequestURL(ctx))}, nil
		})
}
