package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// teamRow maps the teams table, with the member count and the lead's
// name joined when read through selectTeams.
type teamRow struct {
	bun.BaseModel `bun:"table:teams,alias:t"`
	ID            string    `bun:"id,pk"`
	Name          string    `bun:"name,notnull"`
	Description   string    `bun:"description,notnull"`
	LeadID        *int64    `bun:"lead_id"`
	IsActive      bool      `bun:"is_active,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	UpdatedAt     time.Time `bun:"updated_at,notnull"`

	// Joined, read-only.
	MemberCount   int     `bun:"member_count,scanonly"`
	LeadFirstName *string `bun:"lead_first_name,scanonly"`
	LeadLastName  *string `bun:"lead_last_name,scanonly"`
	LeadEmail     *string `bun:"lead_email,scanonly"`
}

func (r *teamRow) team() *identity.Team {
	t := &identity.Team{ID: r.ID, Name: r.Name, Description: r.Description, LeadID: r.LeadID, IsActive: r.IsActive,
		MemberCount: r.MemberCount, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	if r.LeadID != nil {
		var first, last string
		if r.LeadFirstName != nil {
			first = *r.LeadFirstName
		}
		if r.LeadLastName != nil {
			last = *r.LeadLastName
		}
		t.LeadName = strings.TrimSpace(first + " " + last)
		if t.LeadName == "" && r.LeadEmail != nil {
			t.LeadName = *r.LeadEmail
		}
	}
	return t
}

// selectTeams starts a team query with the member count (active users
// with an active membership) and the lead's name, without N+1.
func selectTeams(db bun.IDB, model any) *bun.SelectQuery {
	return db.NewSelect().Model(model).
		ColumnExpr("t.*").
		ColumnExpr(`(SELECT count(*) FROM team_memberships AS tm JOIN users AS tu ON tu.id = tm.user_id
			WHERE tm.team_id = t.id AND tm.is_active AND tu.is_active) AS member_count`).
		ColumnExpr("lu.first_name AS lead_first_name, lu.last_name AS lead_last_name, lu.email AS lead_email").
		Join("LEFT JOIN users AS lu ON lu.id = t.lead_id")
}

// filterTeams applies f to a query over teams AS t; false means f selects
// nothing.
func filterTeams(q *bun.SelectQuery, f identity.TeamFilter) (*bun.SelectQuery, bool) {
	if f.Scoped {
		if len(f.IDs) == 0 {
			return q, false
		}
		q = q.Where("t.id IN (?)", bun.In(f.IDs))
	}
	if !f.IncludeInactive {
		q = q.Where("t.is_active")
	}
	return q, true
}

// ListTeams returns a page of teams and the total count (two queries).
func (s *Store) ListTeams(ctx context.Context, f identity.TeamFilter) ([]identity.Team, int, error) {
	var rows []teamRow
	q, ok := filterTeams(selectTeams(s.db, &rows), f)
	if !ok {
		return []identity.Team{}, 0, nil
	}
	n, err := q.Count(ctx)
	if err != nil {
		return nil, 0, database.Translate(err)
	}
	q = q.OrderExpr("t.name, t.id")
	if f.Limit > 0 {
		q = q.Limit(int64(f.Limit)).Offset(int64(f.Offset))
	}
	if err := q.Scan(ctx); err != nil {
		return nil, 0, database.Translate(err)
	}
	out := make([]identity.Team, len(rows))
	for i := range rows {
		out[i] = *rows[i].team()
	}
	return out, int(n), nil
}

// TeamByID returns one team.
func (s *Store) TeamByID(ctx context.Context, id string) (*identity.Team, error) {
	t, err := teamByID(ctx, s.db, id)
	return t, database.Translate(err)
}

func teamByID(ctx context.Context, db bun.IDB, id string) (*identity.Team, error) {
	id, ok := identity.CanonicalTeamID(id)
	if !ok {
		return nil, errNotFound("Team")
	}
	var row teamRow
	if err := selectTeams(db, &row).Where("t.id = ?", id).Scan(ctx); err != nil {
		return nil, err
	}
	return row.team(), nil
}

// teamMemberRow is one membership joined with its user.
type teamMemberRow struct {
	TeamID    string     `bun:"team_id"`
	IsLead    bool       `bun:"is_lead"`
	ID        int64      `bun:"id"`
	Email     string     `bun:"email"`
	FirstName string     `bun:"first_name"`
	LastName  string     `bun:"last_name"`
	IsActive  bool       `bun:"is_active"`
	LastLogin *time.Time `bun:"last_login"`
	RoleName  string     `bun:"role_name"`
}

// TeamMembers returns the users with an active membership in each team
// (active or not: Member.IsActive says), lead first, in one query.
func (s *Store) TeamMembers(ctx context.Context, teamIDs []string) (map[string][]identity.Member, error) {
	out := map[string][]identity.Member{}
	if len(teamIDs) == 0 {
		return out, nil
	}
	var rows []teamMemberRow
	err := s.db.NewSelect().TableExpr("team_memberships AS tm").
		Join("JOIN users AS u ON u.id = tm.user_id").
		Join("LEFT JOIN roles AS r ON r.id = u.role_id").
		ColumnExpr("tm.team_id, tm.is_lead, u.id, u.email, u.first_name, u.last_name, u.is_active, u.last_login").
		ColumnExpr("COALESCE(r.name, '') AS role_name").
		Where("tm.is_active").
		Where("tm.team_id IN (?)", bun.In(teamIDs)).
		OrderExpr("tm.team_id, CASE WHEN tm.is_lead THEN 0 ELSE 1 END, u.first_name, u.last_name, u.id").
		Scan(ctx, &rows)
	if err != nil {
		return nil, database.Translate(err)
	}
	for _, r := range rows {
		out[r.TeamID] = append(out[r.TeamID], identity.Member{ID: r.ID, Email: r.Email, FirstName: r.FirstName, LastName: r.LastName,
			Role: r.RoleName, IsActive: r.IsActive, IsLead: r.IsLead, LastLogin: utcPtr(r.LastLogin)})
	}
	return out, nil
}

// TeamStats counts teams and distinct active members of active teams
// (two queries).
func (s *Store) TeamStats(ctx context.Context, f identity.TeamFilter) (identity.TeamStats, error) {
	var st identity.TeamStats
	q, ok := filterTeams(s.db.NewSelect().TableExpr("teams AS t").
		ColumnExpr("count(*)").
		ColumnExpr("COALESCE(SUM(CASE WHEN t.is_active THEN 1 ELSE 0 END), 0)").
		ColumnExpr("COALESCE(SUM(CASE WHEN t.is_active AND t.lead_id IS NOT NULL THEN 1 ELSE 0 END), 0)"), f)
	if !ok {
		return st, nil
	}
	if err := q.Scan(ctx, &st.TotalTeams, &st.ActiveTeams, &st.TeamsWithLeaders); err != nil {
		return st, database.Translate(err)
	}
	f.IncludeInactive = false
	mq, _ := filterTeams(s.db.NewSelect().TableExpr("team_memberships AS tm").
		Join("JOIN users AS u ON u.id = tm.user_id").
		Join("JOIN teams AS t ON t.id = tm.team_id").
		ColumnExpr("count(DISTINCT tm.user_id)").
		Where("tm.is_active").Where("u.is_active"), f)
	if err := mq.Scan(ctx, &st.TotalMembers); err != nil {
		return st, database.Translate(err)
	}
	return st, nil
}

func teamValues(t *identity.Team) map[string]any {
	if t == nil {
		return nil
	}
	return map[string]any{"name": t.Name, "description": t.Description, "team_lead_id": t.LeadID, "is_active": t.IsActive}
}

func sameLeadID(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// teamUniqueErr turns a violation of the active-team unique indexes into
// the rule's conflict (a concurrent change won the race).
func teamUniqueErr(err error) error {
	switch {
	case database.IsUnique(err, "lead"):
		return identity.ErrLeadBusy
	case database.IsUnique(err, "name"):
		return identity.ErrTeamNameTaken
	}
	return err
}

// SaveTeam runs one team change in one transaction (see
// identity.TeamChange).
func (s *Store) SaveTeam(ctx context.Context, c identity.TeamChange) (*identity.Team, error) {
	var out *identity.Team
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var cur *identity.Team
		if c.ID != "" {
			id, ok := identity.CanonicalTeamID(c.ID)
			if !ok {
				return errNotFound("Team")
			}
			var row teamRow
			if err := s.lockRowsPG(tx.NewSelect().Model(&row).Where("t.id = ?", id)).Scan(ctx); err != nil {
				return err
			}
			cur = row.team()
		}
		var arg *identity.Team
		if cur != nil {
			cp := *cur
			arg = &cp
		}
		next, err := c.Apply(arg)
		if err != nil {
			return err
		}
		if cur == nil {
			next.ID = uuid.NewString()
		} else {
			next.ID = cur.ID
		}
		facts, err := teamFacts(ctx, tx, cur, next)
		if err != nil {
			return err
		}
		if c.Check != nil {
			if err := c.Check(facts); err != nil {
				return err
			}
		}
		if cur != nil && next.Name == cur.Name && next.Description == cur.Description &&
			sameLeadID(next.LeadID, cur.LeadID) && next.IsActive == cur.IsActive {
			out = cur
			return nil
		}
		if err := writeTeam(ctx, tx, cur, &next); err != nil {
			return err
		}
		if err := writeAudit(ctx, tx, audit.Entry{Action: c.Action, TableName: "teams", RecordID: next.ID,
			OldValues: teamValues(cur), NewValues: teamValues(&next)}); err != nil {
			return err
		}
		if out, err = teamByID(ctx, tx, next.ID); err != nil {
			return err
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// teamFacts reads what the team rules need about next.
func teamFacts(ctx context.Context, tx bun.Tx, cur *identity.Team, next identity.Team) (identity.TeamFacts, error) {
	f := identity.TeamFacts{Current: cur, Next: next}
	if next.LeadID != nil {
		lf := &identity.LeadFacts{}
		u, err := loadTeamUser(ctx, tx, *next.LeadID)
		switch {
		case err == nil:
			lf.Found, lf.IsActive, lf.RoleName = true, u.IsActive, u.RoleName
			var names []string
			if err := tx.NewSelect().Model((*teamRow)(nil)).Column("name").
				Where("lead_id = ?", u.ID).Where("is_active").Where("id <> ?", next.ID).
				Limit(1).Scan(ctx, &names); err != nil {
				return f, err
			}
			if len(names) > 0 {
				lf.LeadsTeam = names[0]
			}
		case !errs.Is(err, errs.KindNotFound):
			return f, err
		}
		f.Lead = lf
	}
	if next.IsActive {
		taken, err := tx.NewSelect().Model((*teamRow)(nil)).
			Where("is_active").Where("lower(name) = lower(?)", next.Name).Where("id <> ?", next.ID).Exists(ctx)
		if err != nil {
			return f, err
		}
		f.NameTaken = taken
	}
	if cur != nil && cur.IsActive && !next.IsActive {
		q := tx.NewSelect().TableExpr("team_memberships AS tm").Join("JOIN users AS u ON u.id = tm.user_id").
			Where("tm.team_id = ?", cur.ID).Where("tm.is_active").Where("u.is_active")
		if cur.LeadID != nil {
			q = q.Where("tm.user_id <> ?", *cur.LeadID)
		}
		n, err := q.Count(ctx)
		if err != nil {
			return f, err
		}
		f.OtherActiveMembers = int(n)
	}
	return f, nil
}

// writeTeam stores next and its consequences: the old lead is released
// (is_lead cleared, team_lead demoted when they lead no other active
// team), the new lead is assigned (lead membership, primary team, member
// promoted), and on deactivation the memberships end and users whose
// primary team it was move to AICOX.
func writeTeam(ctx context.Context, tx bun.Tx, cur, next *identity.Team) error {
	now := teamRoleNow()
	row := &teamRow{ID: next.ID, Name: next.Name, Description: next.Description, LeadID: next.LeadID, IsActive: next.IsActive,
		CreatedAt: now, UpdatedAt: now}
	var err error
	if cur == nil {
		_, err = tx.NewInsert().Model(row).Exec(ctx)
	} else {
		_, err = tx.NewUpdate().Model(row).Column("name", "description", "lead_id", "is_active", "updated_at").WherePK().Exec(ctx)
	}
	if err != nil {
		return teamUniqueErr(err)
	}
	var oldLead *int64
	if cur != nil {
		oldLead = cur.LeadID
	}
	leadChanged := !sameLeadID(oldLead, next.LeadID)
	reactivated := cur != nil && !cur.IsActive && next.IsActive
	if leadChanged && oldLead != nil {
		if err := releaseLead(ctx, tx, next.ID, *oldLead); err != nil {
			return err
		}
	}
	if next.LeadID != nil && next.IsActive && (cur == nil || leadChanged || reactivated) {
		if err := assignLead(ctx, tx, next.ID, *next.LeadID); err != nil {
			return err
		}
	}
	if cur != nil && cur.IsActive && !next.IsActive {
		return vacateTeam(ctx, tx, next.ID)
	}
	return nil
}

// releaseLead ends userID's lead of teamID (they stay a member).
func releaseLead(ctx context.Context, tx bun.Tx, teamID string, userID int64) error {
	if _, err := tx.NewUpdate().Table("team_memberships").Set("is_lead = ?", false).
		Where("team_id = ?", teamID).Where("user_id = ?", userID).Exec(ctx); err != nil {
		return err
	}
	u, err := loadTeamUser(ctx, tx, userID)
	if errs.Is(err, errs.KindNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	leadsOther, err := tx.NewSelect().Model((*teamRow)(nil)).
		Where("lead_id = ?", userID).Where("is_active").Where("id <> ?", teamID).Exists(ctx)
	if err != nil {
		return err
	}
	return changeUserRoleTeam(ctx, tx, u, identity.RoleWhenNotLeading(u.RoleName, leadsOther), u.TeamID)
}

// assignLead makes userID the lead of teamID: an active lead membership,
// the team as primary team when it was AICOX or none (leaving AICOX), and
// the team_lead role for a member.
func assignLead(ctx context.Context, tx bun.Tx, teamID string, userID int64) error {
	if err := addMembership(ctx, tx, teamID, userID, true); err != nil {
		return err
	}
	u, err := loadTeamUser(ctx, tx, userID)
	if err != nil {
		return err
	}
	team := identity.PrimaryTeamWhenLeading(u.TeamID, teamID)
	if u.TeamID != nil && *u.TeamID == identity.AICOXTeamID && *team != identity.AICOXTeamID {
		if _, err := tx.NewUpdate().Table("team_memberships").Set("is_active = ?", false).
			Where("team_id = ?", identity.AICOXTeamID).Where("user_id = ?", userID).Exec(ctx); err != nil {
			return err
		}
	}
	return changeUserRoleTeam(ctx, tx, u, identity.RoleWhenLeading(u.RoleName), team)
}

// vacateTeam ends the memberships of a deactivated team and moves the
// users whose primary team it was to AICOX (clearing it as default team).
func vacateTeam(ctx context.Context, tx bun.Tx, teamID string) error {
	var users []teamUser
	err := tx.NewSelect().TableExpr("users AS u").Join("LEFT JOIN roles AS r ON r.id = u.role_id").
		ColumnExpr("u.id, u.is_active, COALESCE(r.name, '') AS role_name, u.team_id, u.default_team_id").
		Where("u.team_id = ?", teamID).WhereOr("u.default_team_id = ?", teamID).
		OrderExpr("u.id").Scan(ctx, &users)
	if err != nil {
		return err
	}
	if _, err := tx.NewUpdate().Table("team_memberships").Set("is_active = ?", false).Set("is_lead = ?", false).
		Where("team_id = ?", teamID).Exec(ctx); err != nil {
		return err
	}
	aicox := identity.AICOXTeamID
	for _, u := range users {
		team, def := u.TeamID, u.DefaultTeamID
		if team != nil && *team == teamID {
			team = &aicox
			if err := addMembership(ctx, tx, aicox, u.ID, false); err != nil {
				return err
			}
		}
		if def != nil && *def == teamID {
			def = nil
		}
		if _, err := tx.NewUpdate().Model((*userRow)(nil)).Set("team_id = ?", team).Set("default_team_id = ?", def).
			Set("updated_at = ?", teamRoleNow()).Where("id = ?", u.ID).Exec(ctx); err != nil {
			return err
		}
		if err := writeAudit(ctx, tx, audit.Entry{Action: audit.ActionUpdate, TableName: "users", RecordID: itoa(u.ID),
			OldValues: map[string]any{"team_id": u.TeamID, "default_team_id": u.DefaultTeamID},
			NewValues: map[string]any{"team_id": team, "default_team_id": def}}); err != nil {
			return err
		}
	}
	return nil
}
