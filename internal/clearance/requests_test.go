package clearance

import (
	"strings"
	"testing"
	"time"

	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
	"github.com/thot-security/thot/internal/mail"
)

// wantMoves is the policy of docs/clearance.md written out independently
// of the transitions table: "from→to" → who may. Anything absent is not a
// move at all.
var wantMoves = map[string]string{
	"pending→waiting_dps":   "approver team_lead system",
	"pending→submitted":     "approver team_lead extension system",
	"waiting_dps→submitted": "approver team_lead extension system",
	"submitted→approved":    "approver system",
	"pending→rejected":      "approver system",
	"waiting_dps→rejected":  "approver system",
	"submitted→rejected":    "approver system",
	"approved→expired":      "system",
}

// TestStateMachineTable walks every actor × every (from, to) pair of
// states: allowed moves pass, a move the machine has but not for this
// actor is 403, a move it does not have is 409, an unknown target is 400.
func TestStateMachineTable(t *testing.T) {
	checked := 0
	for _, from := range Statuses {
		for _, to := range Statuses {
			who, isMove := wantMoves[string(from)+"→"+string(to)]
			for _, a := range Actors {
				err := CheckTransition(a, from, to)
				allowed := isMove && strings.Contains(" "+who+" ", " "+string(a)+" ")
				switch {
				case allowed && err != nil:
					t.Errorf("%s %s→%s: %v, want allowed", a, from, to, err)
				case allowed:
				case isMove && !errs.Is(err, errs.KindForbidden):
					t.Errorf("%s %s→%s: %v, want forbidden (403)", a, from, to, err)
				case !isMove && !errs.Is(err, errs.KindConflict):
					t.Errorf("%s %s→%s: %v, want conflict (409)", a, from, to, err)
				}
				if Allowed(a, from, to) != allowed {
					t.Errorf("Allowed(%s, %s, %s) = %v, want %v", a, from, to, !allowed, allowed)
				}
				checked++
			}
		}
	}
	for _, a := range Actors {
		for _, bad := range []Status{"", "aprobada", "APPROVED", "cualquier cosa"} {
			err := CheckTransition(a, Pending, bad)
			e, ok := errs.As(err)
			if !ok || e.Kind != errs.KindInvalid || e.Fields["status"] == nil {
				t.Errorf("%s pending→%q: %v, want 400 on field status", a, bad, err)
			}
		}
	}
	if checked != len(Statuses)*len(Statuses)*len(Actors) {
		t.Fatalf("checked %d combinations", checked)
	}
	// Nobody may ever leave a final state, and nobody but the system may
	// expire.
	for _, a := range Actors {
		for _, to := range Statuses {
			if Allowed(a, Rejected, to) || Allowed(a, Expired, to) {
				t.Errorf("%s may leave a final state towards %s", a, to)
			}
		}
	}
}

func principal(id int64, perms []string, led ...string) *identity.Principal {
	p := &identity.Principal{User: &identity.User{ID: id, IsActive: true}, Perms: map[string]bool{}, LedTeams: led}
	for _, c := range perms {
		p.Perms[c] = true
	}
	return p
}

// TestActorAndScope: who is who on a request, and who sees it. An
// approver is only the applicant on their own request (no self-approval);
// a lead is a lead only of teams the applicant is a member of.
func TestActorAndScope(t *testing.T) {
	uid := int64(7)
	r := &Request{UserID: &uid, ApplicantTeams: []string{"t1", "t2"}}
	approver := []string{identity.PermGestionarSolicitudes, identity.PermVerSolicitudesTodas}
	lead := []string{identity.PermVerSolicitudesEquipos}
	cases := []struct {
		name  string
		p     *identity.Principal
		actor Actor
		sees  bool
	}{
		{"approver", principal(1, approver), ActorApprover, true},
		{"approver is the applicant", principal(7, approver), ActorApplicant, true},
		{"lead of a team of the applicant", principal(2, lead, "t9", "t2"), ActorTeamLead, true},
		{"lead of another team", principal(3, lead, "t9"), ActorOther, false},
		{"led teams without the permission", principal(4, nil, "t1"), ActorOther, false},
		{"applicant", principal(7, nil), ActorApplicant, true},
		{"another member", principal(5, nil), ActorOther, false},
		{"sees all but does not manage", principal(6, []string{identity.PermVerSolicitudesTodas}), ActorOther, true},
	}
	for _, c := range cases {
		if got := ActorFor(c.p, r); got != c.actor {
			t.Errorf("%s: actor %s, want %s", c.name, got, c.actor)
		}
		if got := ScopeOf(c.p).Sees(r); got != c.sees {
			t.Errorf("%s: sees %v, want %v", c.name, got, c.sees)
		}
	}
}

// TestApplyAndStatusNotice: what each move records, and the e-mail it
// sends to the applicant's account address.
func TestApplyAndStatusNotice(t *testing.T) {
	s := NewService(nil, nil, nil, nil, Config{ApprovalYears: 5})
	now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
	s.SetClock(func() time.Time { return now })
	uid, by := int64(7), int64(1)
	cur := &Request{ID: "r1", UserID: &uid, Status: Submitted, RequestType: Renewal, DocumentNumber: "12345678Z",
		FirstName: "Íñigo", FirstLastName: "Muñoz", Email: "form@example.org", User: &Person{ID: 7, Email: "cuenta@example.org"}}

	a := s.Apply(cur, Approved, &by, TransitionInput{Notes: "ok"})
	if a.Status != Approved || *a.ApprovedByID != by || !a.ApprovedAt.Equal(now) || a.Notes != "ok" {
		t.Fatalf("approve recorded %+v", a)
	}
	if want := time.Date(2031, 3, 10, 0, 0, 0, 0, time.UTC); !a.ExpiresAt.Equal(want) {
		t.Errorf("default expiry %v, want %v", a.ExpiresAt, want)
	}
	if cur.Status != Submitted {
		t.Error("Apply changed its input")
	}
	exp := time.Date(2027, 1, 1, 0, 0, 0, 0, time.UTC)
	if a := s.Apply(cur, Approved, &by, TransitionInput{ExpiresAt: &exp}); !a.ExpiresAt.Equal(exp) {
		t.Errorf("given expiry %v", a.ExpiresAt)
	}
	n := StatusNotice(a, Submitted)
	if n.To != "cuenta@example.org" || n.Template != mail.TemplateHPSApproved || n.Key != "hps-status:r1:approved" {
		t.Errorf("approved notice %+v", n)
	}
	if d := n.Data.(mail.HPSApprovedData); d.Name != "Íñigo Muñoz" || d.RequestType != "Renovación HPS" || !d.ExpiresAt.Equal(*a.ExpiresAt) {
		t.Errorf("approved data %+v", d)
	}

	rj := s.Apply(cur, Rejected, &by, TransitionInput{Reason: "Falta documentación"})
	if rj.Notes != "Falta documentación" || *rj.ApprovedByID != by {
		t.Errorf("reject recorded %+v", rj)
	}
	if n := StatusNotice(rj, Submitted); n.Template != mail.TemplateHPSRejected || n.Data.(mail.HPSRejectedData).Reason != "Falta documentación" {
		t.Errorf("rejected notice %+v", n)
	}

	pend := *cur
	pend.Status, pend.User = Pending, nil
	sb := s.Apply(&pend, Submitted, &by, TransitionInput{})
	if *sb.SubmittedByID != by || !sb.SubmittedAt.Equal(now) {
		t.Errorf("submit recorded %+v", sb)
	}
	n = StatusNotice(sb, Pending)
	if n.To != "form@example.org" || n.Template != mail.TemplateHPSStatus {
		t.Errorf("status notice without an account %+v", n)
	}
	if d := n.Data.(mail.HPSStatusData); d.OldStatus != "pending" || d.NewStatus != "submitted" {
		t.Errorf("status data %+v", d)
	}
}

// TestTransitionInputChecks: an expiry must be in the future, checked
// before anything is read; a rejection without a reason is accepted
// (Apply records NoReason).
func TestTransitionInputChecks(t *testing.T) {
	s := NewService(nil, nil, nil, nil, Config{})
	s.SetClock(func() time.Time { return time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC) })
	today := s.Today()
	past, tomorrow := today.AddDate(0, 0, -1), today.AddDate(0, 0, 1)
	for i, c := range []struct {
		to    Status
		in    TransitionInput
		field string
	}{
		{Rejected, TransitionInput{}, ""},
		{Rejected, TransitionInput{Reason: "motivo"}, ""},
		{Approved, TransitionInput{ExpiresAt: &today}, "expires_at"},
		{Approved, TransitionInput{ExpiresAt: &past}, "expires_at"},
		{Approved, TransitionInput{ExpiresAt: &tomorrow}, ""},
		{Submitted, TransitionInput{}, ""},
	} {
		err := s.checkTransitionInput(c.to, c.in)
		e, _ := errs.As(err)
		switch {
		case c.field == "" && err != nil:
			t.Errorf("%d: %v", i, err)
		case c.field != "" && (e == nil || e.Fields[c.field] == nil):
			t.Errorf("%d: %v, want 400 on %s", i, err, c.field)
		}
	}
}

// TestRejectWithoutReason: a rejection records its reason, the notes when
// no reason is given, and NoReason when neither is (the status e-mail
// says the same).
func TestRejectWithoutReason(t *testing.T) {
	s := NewService(nil, nil, nil, nil, Config{})
	by := int64(7)
	cur := &Request{ID: "r", Status: Submitted, Notes: "anterior"}
	for _, c := range []struct {
		in   TransitionInput
		want string
	}{
		{TransitionInput{Reason: "Documentación incompleta"}, "Documentación incompleta"},
		{TransitionInput{}, NoReason},
	} {
		next := s.Apply(cur, Rejected, &by, c.in)
		if next.Notes != c.want || next.Status != Rejected || next.ApprovedByID == nil || *next.ApprovedByID != by {
			t.Errorf("%+v: notes %q status %s", c.in, next.Notes, next.Status)
		}
		if d, ok := StatusNotice(next, Submitted).Data.(mail.HPSRejectedData); !ok || d.Reason != c.want {
			t.Errorf("%+v: e-mail %+v", c.in, StatusNotice(next, Submitted).Data)
		}
	}
}
