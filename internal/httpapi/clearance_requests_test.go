package httpapi_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/httpapi"
	"github.com/thot-security/thot/internal/identity"
	"github.com/thot-security/thot/internal/mail"
)

// HPS request tests. hpsr* helpers are this file's.

const hpsrPass = "Solicitudes-HPS-2026"

// hpsrWorld: an approver (jefe_seguridad), an admin who is also an
// applicant, a lead of team Norte, its member m1, m2 who is a member of
// Norte by membership only (primary team Sur), and an outsider in Sur.
type hpsrWorld struct {
	*stack
	t                                                testing.TB
	approver, admin, lead, m1, m2, outsider          *identity.User
	tokApprover, tokAdmin, tokLead, tokM1, tokM2, tk string
	norte, sur                                       string
	seq                                              int
}

func newHPSRWorld(t testing.TB, db *database.DB) *hpsrWorld {
	t.Helper()
	w := &hpsrWorld{stack: newStack(t, db), t: t}
	w.approver = w.user("jefe@example.org", hpsrPass, identity.RoleJefeSeguridad)
	w.admin = w.user("admin@example.org", hpsrPass, identity.RoleAdmin)
	w.lead = w.user("lead@example.org", hpsrPass, identity.RoleTeamLead)
	w.m1 = w.user("m1@example.org", hpsrPass, identity.RoleMember)
	w.m2 = w.user("m2@example.org", hpsrPass, identity.RoleMember)
	w.outsider = w.user("fuera@example.org", hpsrPass, identity.RoleMember)
	w.norte = w.team("Norte", w.lead)
	w.sur = w.team("Sur", w.approver)
	w.member(w.norte, w.lead, true, true)
	w.member(w.norte, w.m1, false, true)
	w.member(w.norte, w.admin, false, true)
	w.member(w.sur, w.m2, false, true)
	w.member(w.norte, w.m2, false, false)
	w.member(w.sur, w.outsider, false, true)
	w.tokApprover, w.tokAdmin, w.tokLead = w.token(w.approver.ID), w.token(w.admin.ID), w.token(w.lead.ID)
	w.tokM1, w.tokM2, w.tk = w.token(w.m1.ID), w.token(w.m2.ID), w.token(w.outsider.ID)
	return w
}

func (w *hpsrWorld) exec(q string, args ...any) {
	w.t.Helper()
	if _, err := w.db.NewRaw(q, args...).Exec(context.Background()); err != nil {
		w.t.Fatal(err)
	}
}

func (w *hpsrWorld) team(name string, lead *identity.User) string {
	w.t.Helper()
	id, now := uuid.NewString(), time.Now().UTC()
	w.exec("INSERT INTO teams (id, name, description, lead_id, is_active, created_at, updated_at) VALUES (?, ?, '', ?, TRUE, ?, ?)", id, name, lead.ID, now, now)
	return id
}

// member adds an active membership; primary also makes it the user's
// primary team.
func (w *hpsrWorld) member(team string, u *identity.User, lead, primary bool) {
	w.t.Helper()
	w.exec("INSERT INTO team_memberships (team_id, user_id, is_lead, is_active, created_at) VALUES (?, ?, ?, TRUE, ?)", team, u.ID, lead, time.Now().UTC())
	if primary {
		w.exec("UPDATE users SET team_id = ? WHERE id = ?", team, u.ID)
	}
}

// body is a valid create body for u.
func (w *hpsrWorld) body(u *identity.User, first string) map[string]any {
	w.seq++
	return map[string]any{"request_type": "new", "document_type": "206", "document_number": fmt.Sprintf("%08dz", w.seq),
		"birth_date": "1985-06-15", "first_name": first, "first_last_name": "García", "second_last_name": "López",
		"nationality": "1", "birth_place": "Madrid", "email": u.Email, "phone": "+34 600-123-456"}
}

// seed stores a request of u in status st directly (closing u's open
// one first, so the one-open rule holds).
func (w *hpsrWorld) seed(u *identity.User, st clearance.Status, first string) string {
	w.t.Helper()
	w.exec("UPDATE hps_requests SET status = 'rejected' WHERE user_id = ? AND status IN ('pending', 'waiting_dps', 'submitted')", u.ID)
	w.seq++
	now := time.Now().UTC()
	uid := u.ID
	r := &clearance.Request{ID: uuid.NewString(), UserID: &uid, RequestType: clearance.New, Status: st, FormType: clearance.Solicitud,
		DocumentType: "206", DocumentNumber: fmt.Sprintf("%08dS", w.seq), BirthDate: time.Date(1985, 6, 15, 0, 0, 0, 0, time.UTC),
		FirstName: first, FirstLastName: "García", Nationality: "1", BirthPlace: "Madrid", Email: u.Email, Phone: "600123456",
		DataSource: "manual", CreatedAt: now, UpdatedAt: now}
	if st == clearance.Approved {
		exp := time.Now().UTC().AddDate(1, 0, 0)
		r.ExpiresAt = &exp
	}
	if err := w.store.CreateRequest(context.Background(), r); err != nil {
		w.t.Fatal(err)
	}
	return r.ID
}

func (w *hpsrWorld) status(id string) string {
	w.t.Helper()
	var st string
	if err := w.db.NewRaw("SELECT status FROM hps_requests WHERE id = ?", id).Scan(context.Background(), &st); err != nil {
		w.t.Fatal(err)
	}
	return st
}

func (w *hpsrWorld) count(q string, args ...any) int {
	w.t.Helper()
	var n int
	if err := w.db.NewRaw(q, args...).Scan(context.Background(), &n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

func (w *hpsrWorld) mails(id string) int {
	return w.count("SELECT count(*) FROM mail_messages WHERE idempotency_key LIKE ?", "hps-status:"+id+":%")
}

func (w *hpsrWorld) expect(status int, method, path, token string, body any) response {
	w.t.Helper()
	r := w.call(method, path, token, body)
	if r.status != status {
		w.t.Fatalf("%s %s: %d, want %d\n%.400s", method, path, r.status, status, r.body)
	}
	return r
}

// hpsrMove is one way to ask for a transition, on one of the two APIs.
type hpsrMove struct {
	name string
	do   func(w *hpsrWorld, id, token string) response
}

func hpsrDjango(action string, body map[string]any) hpsrMove {
	return hpsrMove{"django " + action, func(w *hpsrWorld, id, token string) response {
		if body == nil {
			return w.call("POST", "/api/hps/requests/"+id+"/"+action+"/", token, nil)
		}
		return w.call("POST", "/api/hps/requests/"+id+"/"+action+"/", token, body)
	}}
}

func hpsrV1(action string, query string) hpsrMove {
	return hpsrMove{"fastapi " + action, func(w *hpsrWorld, id, token string) response {
		return w.call("POST", "/api/v1/hps/"+id+"/"+action+query, token, nil)
	}}
}

func hpsrPut(method, prefix, st string) hpsrMove {
	return hpsrMove{method + " " + prefix + " status=" + st, func(w *hpsrWorld, id, token string) response {
		suffix := "/"
		if strings.HasPrefix(prefix, "/api/v1/") {
			suffix = ""
		}
		return w.call(method, prefix+id+suffix, token, map[string]any{"status": st, "notes": "motivo del cambio"})
	}}
}

// TestHPSRequestTransitionsByActor walks real users through approve,
// reject, submit and status changes on both APIs: the approver may do
// everything the machine allows a person, a lead of the applicant's team
// may only move it towards submission, an administrator may not decide
// their own request, and someone outside the scope does not even see it.
func TestHPSRequestTransitionsByActor(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newHPSRWorld(t, db)
		type actor struct {
			name      string
			token     func() string
			applicant func() *identity.User
		}
		approver := actor{"approver", func() string { return w.tokApprover }, func() *identity.User { return w.m1 }}
		lead := actor{"lead of the applicant", func() string { return w.tokLead }, func() *identity.User { return w.m1 }}
		selfAdmin := actor{"admin on own request", func() string { return w.tokAdmin }, func() *identity.User { return w.admin }}
		applicant := actor{"applicant", func() string { return w.tokM1 }, func() *identity.User { return w.m1 }}
		other := actor{"other member", func() string { return w.tk }, func() *identity.User { return w.m1 }}

		approveD, approveV := hpsrDjango("approve", map[string]any{"notes": "ok"}), hpsrV1("approve", "?notes=ok")
		rejectD, rejectV := hpsrDjango("reject", map[string]any{"notes": "Falta la DPS"}), hpsrV1("reject", "?notes=Falta%20la%20DPS")
		rejectNoReason, rejectNoReasonV := hpsrDjango("reject", map[string]any{}), hpsrV1("reject", "")
		submitD, submitV := hpsrDjango("submit", nil), hpsrV1("submit", "")
		cases := []struct {
			a     actor
			from  clearance.Status
			moves []hpsrMove
			want  int
			to    clearance.Status // expected status afterwards when want is 200
		}{
			{approver, clearance.Submitted, []hpsrMove{approveD, approveV, hpsrPut("PUT", "/api/hps/requests/", "approved"), hpsrPut("PUT", "/api/v1/hps/", "approved")}, 200, clearance.Approved},
			{approver, clearance.Pending, []hpsrMove{approveD, approveV}, 409, ""},
			{approver, clearance.Approved, []hpsrMove{approveD, rejectD, submitV}, 409, ""},
			{approver, clearance.Pending, []hpsrMove{rejectD, rejectV, hpsrPut("PATCH", "/api/hps/requests/", "rejected")}, 200, clearance.Rejected},
			{approver, clearance.Submitted, []hpsrMove{rejectNoReason, rejectNoReasonV}, 200, clearance.Rejected},
			{approver, clearance.Pending, []hpsrMove{submitD, submitV}, 200, clearance.Submitted},
			{approver, clearance.Pending, []hpsrMove{hpsrPut("PATCH", "/api/hps/requests/", "waiting_dps")}, 200, clearance.WaitingDPS},
			{approver, clearance.Approved, []hpsrMove{hpsrPut("PUT", "/api/hps/requests/", "expired")}, 403, ""},
			{approver, clearance.Pending, []hpsrMove{hpsrPut("PUT", "/api/hps/requests/", "cualquier cosa"), hpsrPut("PUT", "/api/v1/hps/", "APROBADA")}, 400, ""},
			{lead, clearance.Pending, []hpsrMove{submitD, submitV, hpsrPut("PUT", "/api/hps/requests/", "submitted")}, 200, clearance.Submitted},
			{lead, clearance.WaitingDPS, []hpsrMove{submitD}, 200, clearance.Submitted},
			{lead, clearance.Submitted, []hpsrMove{approveD, approveV, rejectD, rejectV, hpsrPut("PUT", "/api/hps/requests/", "approved")}, 403, ""},
			{selfAdmin, clearance.Submitted, []hpsrMove{approveD, approveV, rejectD, hpsrPut("PUT", "/api/hps/requests/", "approved")}, 403, ""},
			{selfAdmin, clearance.Pending, []hpsrMove{submitD, submitV}, 403, ""},
			{applicant, clearance.Pending, []hpsrMove{submitD, submitV, hpsrPut("PATCH", "/api/hps/requests/", "waiting_dps")}, 403, ""},
			{applicant, clearance.Submitted, []hpsrMove{approveD, rejectV}, 403, ""},
			{other, clearance.Submitted, []hpsrMove{approveD, approveV, rejectD, submitV, hpsrPut("PUT", "/api/hps/requests/", "approved")}, 404, ""},
		}
		for _, c := range cases {
			for _, m := range c.moves {
				id := w.seed(c.a.applicant(), c.from, "Ana")
				r := m.do(w, id, c.a.token())
				if r.status != c.want {
					t.Errorf("%s, %s from %s: %d, want %d\n%.300s", c.a.name, m.name, c.from, r.status, c.want, r.body)
					continue
				}
				got := w.status(id)
				switch {
				case c.want == 200 && got != string(c.to):
					t.Errorf("%s, %s from %s: status %s, want %s", c.a.name, m.name, c.from, got, c.to)
				case c.want != 200 && got != string(c.from):
					t.Errorf("%s, %s from %s: refused but status became %s", c.a.name, m.name, c.from, got)
				}
				if r.status == 400 && strings.Contains(m.name, "reject") && !strings.Contains(r.body, `"notes"`) {
					t.Errorf("reject without a reason: %s, want a 400 on notes", r.body)
				}
				wantMails := 0
				if c.want == 200 {
					wantMails = 1
				}
				if n := w.mails(id); n != wantMails {
					t.Errorf("%s, %s from %s: %d mails queued, want %d", c.a.name, m.name, c.from, n, wantMails)
				}
			}
		}

		// Approval records who, when and the expiry; a past expiry is 400.
		id := w.seed(w.m1, clearance.Submitted, "Ana")
		w.expect(400, "POST", "/api/hps/requests/"+id+"/approve/", w.tokApprover, map[string]any{"expires_at": "2020-01-01"})
		w.expect(400, "POST", "/api/v1/hps/"+id+"/approve?expires_at=ayer", w.tokApprover, nil)
		exp := w.clear.Today().AddDate(2, 0, 0).Format(time.DateOnly)
		got := decode[httpapi.HpsRequest](t, w.expect(200, "POST", "/api/hps/requests/"+id+"/approve/", w.tokApprover, map[string]any{"expires_at": exp, "notes": "Concedida"}))
		if got.Status != "approved" || got.ApprovedBy == nil || *got.ApprovedBy != w.approver.ID || got.ApprovedAt == nil ||
			got.ExpiresAt == nil || *got.ExpiresAt != exp || got.Notes != "Concedida" || *got.ApprovedByEmail != "jefe@example.org" || got.CanBeApproved {
			t.Errorf("approved request %+v", got)
		}
		id = w.seed(w.m1, clearance.Submitted, "Ana")
		v1 := decode[httpapi.V1HPSRequest](t, w.expect(200, "POST", "/api/v1/hps/"+id+"/approve", w.tokApprover, nil))
		if want := w.clear.Today().AddDate(5, 0, 0).Format(time.DateOnly); v1.ExpiresAt == nil || *v1.ExpiresAt != want || v1.ApprovedByUser == nil {
			t.Errorf("default expiry %v, want %s", v1.ExpiresAt, want)
		}
		if n := w.count("SELECT count(*) FROM audit_logs WHERE table_name = 'hps_requests' AND record_id = ? AND action = 'status_change' AND user_id = ?", id, w.approver.ID); n != 1 {
			t.Errorf("%d status_change audit entries, want 1", n)
		}

		// POST /api/hps/approve/{email}/ approves the submitted request.
		id = w.seed(w.m1, clearance.Submitted, "Ana")
		w.expect(200, "POST", "/api/hps/approve/M1@example.org/", w.tokApprover, nil)
		if st := w.status(id); st != "approved" {
			t.Errorf("approve by e-mail: %s", st)
		}
		w.expect(404, "POST", "/api/hps/approve/m1@example.org/", w.tokApprover, nil)
		w.expect(404, "POST", "/api/hps/approve/nadie@example.org/", w.tokApprover, nil)
		id = w.seed(w.admin, clearance.Submitted, "Root")
		w.expect(403, "POST", "/api/hps/approve/admin@example.org/", w.tokAdmin, nil)

		// Notes and expiry alone: an approver's edit, no mail.
		id = w.seed(w.m1, clearance.Pending, "Ana")
		w.expect(200, "PATCH", "/api/hps/requests/"+id+"/", w.tokApprover, map[string]any{"notes": "Llamar al interesado"})
		w.expect(403, "PATCH", "/api/hps/requests/"+id+"/", w.tokLead, map[string]any{"notes": "x"})
		w.expect(400, "PATCH", "/api/hps/requests/"+id+"/", w.tokApprover, map[string]any{"expires_at": "2099-01-01"})
		if n := w.mails(id); n != 0 {
			t.Errorf("an edit queued %d mails", n)
		}
	})
}

// TestHPSRequestNoticesOnce: each transition queues exactly one mail, to
// the applicant's account address, with the template of the new state;
// a refused move queues nothing; and a change that fails after its mail
// was queued rolls the mail back with it.
func TestHPSRequestNoticesOnce(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newHPSRWorld(t, db)
		body := w.body(w.m1, "Íñigo")
		body["email"] = "otra-direccion@example.org"
		body["user_id"] = w.m1.ID
		created := decode[httpapi.HpsRequest](t, w.expect(201, "POST", "/api/hps/requests/", w.tokM1, body))
		id := created.ID
		w.expect(200, "POST", "/api/hps/requests/"+id+"/submit/", w.tokLead, nil)
		w.expect(409, "POST", "/api/hps/requests/"+id+"/submit/", w.tokLead, nil)
		w.expect(200, "POST", "/api/hps/requests/"+id+"/reject/", w.tokApprover, map[string]any{"notes": "Documento ilegible"})
		w.expect(409, "POST", "/api/hps/requests/"+id+"/approve/", w.tokApprover, nil)
		var rows []struct {
			Template string `bun:"template"`
			ToAddr   string `bun:"to_addr"`
			Subject  string `bun:"subject"`
			Text     string `bun:"body_text"`
		}
		if err := db.NewRaw("SELECT template, to_addr, subject, body_text FROM mail_messages WHERE idempotency_key LIKE ? ORDER BY created_at, template",
			"hps-status:"+id+":%").Scan(context.Background(), &rows); err != nil {
			t.Fatal(err)
		}
		if len(rows) != 2 || rows[0].Template != mail.TemplateHPSStatus || rows[1].Template != mail.TemplateHPSRejected {
			t.Fatalf("queued %+v", rows)
		}
		for _, r := range rows {
			if r.ToAddr != "m1@example.org" || !strings.Contains(r.Subject, created.DocumentNumber) || !strings.Contains(r.Text, "Íñigo") {
				t.Errorf("mail %+v", r)
			}
		}
		if !strings.Contains(rows[0].Text, "en trámite") || !strings.Contains(rows[0].Text, "Enviada") {
			t.Errorf("the status mail does not say where the request is: %s", rows[0].Text)
		}
		if !strings.Contains(rows[1].Text, "Documento ilegible") {
			t.Errorf("the rejection mail lacks the reason: %s", rows[1].Text)
		}

		// Rollback: the second notice cannot be queued, so neither the
		// status change nor the first mail survive.
		id = w.seed(w.m1, clearance.Pending, "Ana")
		_, err := w.store.ApplyTransition(context.Background(), id, func(cur *clearance.Request) (*clearance.Request, []clearance.Notice, error) {
			next := *cur
			next.Status = clearance.Submitted
			good := clearance.StatusNotice(&next, cur.Status)
			bad := good
			bad.To, bad.Key = "no es una dirección", "hps-status:"+id+":otra"
			return &next, []clearance.Notice{good, bad}, nil
		})
		if err == nil {
			t.Fatal("a change whose mail cannot be queued committed")
		}
		if st := w.status(id); st != "pending" {
			t.Errorf("status %s after the rollback", st)
		}
		if n := w.mails(id); n != 0 {
			t.Errorf("%d mails survived the rollback", n)
		}
		if n := w.count("SELECT count(*) FROM audit_logs WHERE record_id = ? AND action = 'status_change'", id); n != 0 {
			t.Errorf("%d audit entries survived the rollback", n)
		}
	})
}

// TestHPSRequestCreate: who may create for whom, the applicant account's
// resolution, validation, and the one-open-request rule, also under 10
// concurrent creations.
func TestHPSRequestCreate(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newHPSRWorld(t, db)
		// Own request; form_type follows request_type.
		b := w.body(w.m1, "Ana")
		b["request_type"] = "transfer"
		r := decode[httpapi.HpsRequest](t, w.expect(201, "POST", "/api/hps/requests/", w.tokM1, b))
		if r.Status != "pending" || r.FormType != "traslado" || r.Type != "traslado" || *r.User != w.m1.ID || *r.SubmittedBy != w.m1.ID ||
			r.DocumentNumber != fmt.Sprintf("%08dZ", w.seq) || r.Phone != "34600123456" || *r.UserEmail != "m1@example.org" || r.DataSource != "manual" {
			t.Errorf("created %+v", r)
		}
		if n := w.count("SELECT count(*) FROM audit_logs WHERE table_name = 'hps_requests' AND record_id = ? AND action = 'create'", r.ID); n != 1 {
			t.Errorf("%d create audit entries", n)
		}
		// One open request per person: again for m1, by anyone, on either API.
		w.expect(409, "POST", "/api/hps/requests/", w.tokM1, w.body(w.m1, "Ana"))
		b = w.body(w.m1, "Ana")
		b["user_id"] = w.m1.ID
		if r := w.expect(409, "POST", "/api/v1/hps/", w.tokApprover, b); !strings.Contains(r.body, "open_request_exists") {
			t.Errorf("409 body %s", r.body)
		}
		// The same document number is the same person.
		b = w.body(w.m2, "Ana")
		b["document_number"] = r.DocumentNumber
		w.expect(409, "POST", "/api/hps/requests/", w.tokM2, b)

		// A lead creates for a member of the team (by e-mail or id); not
		// for someone outside it; an approver for anyone.
		w.expect(201, "POST", "/api/hps/requests/", w.tokLead, w.body(w.m2, "Berta"))
		b = w.body(w.outsider, "Carla")
		w.expect(403, "POST", "/api/hps/requests/", w.tokLead, b)
		b["user_id"] = fmt.Sprint(w.outsider.ID)
		w.expect(403, "POST", "/api/hps/requests/", w.tokM1, b)
		v1 := decode[httpapi.V1HPSRequest](t, w.expect(201, "POST", "/api/v1/hps/", w.tokApprover, b))
		if v1.UserID == nil || *v1.UserID != fmt.Sprint(w.outsider.ID) || v1.Type != "solicitud" || v1.SubmittedByUser == nil || v1.SubmittedByUser.Email != "jefe@example.org" {
			t.Errorf("v1 created %+v", v1)
		}
		if strings.Contains(w.call("GET", "/api/v1/hps/"+v1.ID, w.tokApprover, nil).body, "temp_password") {
			t.Error("the FastAPI shape carries temp_password")
		}
		// Unknown account: 400 naming the field; a member with an unknown
		// e-mail files for themself.
		b = w.body(w.m1, "Dora")
		b["user_id"] = 999999
		if r := w.expect(400, "POST", "/api/hps/requests/", w.tokApprover, b); !strings.Contains(r.body, `"user_id"`) {
			t.Errorf("unknown user_id: %s", r.body)
		}
		b = map[string]any{"request_type": "new", "document_type": "206", "document_number": "55555555K", "birth_date": "1980-01-01",
			"first_name": "Eva", "first_last_name": "Ruiz", "nationality": "1", "birth_place": "Soria", "email": "desconocida@example.org", "phone": "600000000"}
		if r := w.expect(400, "POST", "/api/hps/requests/", w.tokApprover, b); !strings.Contains(r.body, `"email"`) {
			t.Errorf("unknown e-mail for an approver: %s", r.body)
		}
		nuevo := w.user("nuevo@example.org", hpsrPass, identity.RoleMember)
		mine := decode[httpapi.HpsRequest](t, w.expect(201, "POST", "/api/hps/requests/", w.token(nuevo.ID), b))
		if *mine.User != nuevo.ID {
			t.Errorf("an unknown e-mail filed for user %d, want the caller", *mine.User)
		}
		// Validation: per-field 400s.
		bad := decode[map[string]any](t, w.expect(400, "POST", "/api/hps/requests/", w.tokM2, map[string]any{"request_type": "x", "birth_date": "2020-01-01", "phone": "12"}))
		for _, f := range []string{"request_type", "birth_date", "phone", "document_type", "first_name", "email"} {
			if bad[f] == nil {
				t.Errorf("no error on %s: %v", f, bad)
			}
		}
		w.expect(400, "POST", "/api/hps/requests/", w.tokM2, map[string]any{"user_id": "abc"})

		// Ten concurrent creations for one person: exactly one wins.
		w.exec("UPDATE hps_requests SET status = 'rejected' WHERE user_id = ?", w.outsider.ID)
		var wins, conflicts, others atomic.Int32
		var wg sync.WaitGroup
		for i := range 10 {
			b := w.body(w.outsider, "Fran")
			b["document_number"] = fmt.Sprintf("CONC%04d", i)
			wg.Add(1)
			go func() {
				defer wg.Done()
				switch r := w.call("POST", "/api/hps/requests/", w.tk, b); r.status {
				case 201:
					wins.Add(1)
				case 409:
					conflicts.Add(1)
				default:
					others.Add(1)
					t.Errorf("concurrent create: %d %s", r.status, r.body)
				}
			}()
		}
		wg.Wait()
		if wins.Load() != 1 || conflicts.Load() != 9 {
			t.Errorf("concurrent creates: %d won, %d conflicts, %d others", wins.Load(), conflicts.Load(), others.Load())
		}
		if n := w.count("SELECT count(*) FROM hps_requests WHERE user_id = ? AND status = 'pending'", w.outsider.ID); n != 1 {
			t.Errorf("%d open requests after the race", n)
		}

		// Delete: approvers only, not their own; audited; gone.
		w.expect(403, "DELETE", "/api/hps/requests/"+r.ID+"/", w.tokLead, nil)
		own := w.seed(w.admin, clearance.Approved, "Root")
		w.expect(403, "DELETE", "/api/hps/requests/"+own+"/", w.tokAdmin, nil)
		w.expect(204, "DELETE", "/api/hps/requests/"+r.ID+"/", w.tokApprover, nil)
		w.expect(404, "GET", "/api/hps/requests/"+r.ID+"/", w.tokApprover, nil)
		if n := w.count("SELECT count(*) FROM audit_logs WHERE record_id = ? AND action = 'delete'", r.ID); n != 1 {
			t.Errorf("%d delete audit entries", n)
		}
		w.expect(200, "DELETE", "/api/v1/hps/"+v1.ID, w.tokApprover, nil)
	})
}

// hpsrCounter counts the SQL statements the server runs.
type hpsrCounter struct{ n atomic.Int64 }

func (c *hpsrCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *hpsrCounter) AfterQuery(context.Context, *bun.QueryEvent) {}

// TestHPSRequestVisibility: each scope on lists, stats, single reads and
// every filter; a lead sees the teams they lead by membership, not only
// primary teams; invalid filter values are 400s naming the parameter; and
// every read costs at most 2 statements whatever the page size.
func TestHPSRequestVisibility(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newHPSRWorld(t, db)
		ids := map[string]string{
			"m1":       w.seed(w.m1, clearance.Pending, "Íñigo"),
			"m2":       w.seed(w.m2, clearance.Submitted, "Berta"),
			"outsider": w.seed(w.outsider, clearance.Approved, "Carla"),
			"lead":     w.seed(w.lead, clearance.Pending, "Dora"),
		}
		w.exec("UPDATE hps_requests SET request_type = 'transfer', form_type = 'traslado' WHERE id = ?", ids["m2"])
		names := func(token, query string) []string {
			t.Helper()
			rs := decode[[]httpapi.HpsRequest](t, w.expect(200, "GET", "/api/hps/requests/"+query, token, nil))
			out := make([]string, len(rs))
			for i, r := range rs {
				out[i] = r.FirstName
			}
			return out
		}
		cases := []struct {
			who, token, query string
			want              string
		}{
			{"approver", w.tokApprover, "", "Dora Carla Berta Íñigo"},
			{"lead", w.tokLead, "", "Dora Berta Íñigo"},
			{"member", w.tokM1, "", "Íñigo"},
			{"member by membership", w.tokM2, "", "Berta"},
			{"approver", w.tokApprover, "?status=pending", "Dora Íñigo"},
			{"approver", w.tokApprover, "?status=pending,submitted", "Dora Berta Íñigo"},
			{"lead", w.tokLead, "?status=approved", ""},
			{"approver", w.tokApprover, "?request_type=transfer", "Berta"},
			{"approver", w.tokApprover, "?hps_type=traspaso", "Berta"},
			{"approver", w.tokApprover, "?form_type=solicitud", "Dora Carla Íñigo"},
			{"approver", w.tokApprover, "?team=" + w.sur, "Carla Berta"},
			{"lead", w.tokLead, "?team_id=" + w.sur, "Berta"},
			{"lead", w.tokLead, "?team=" + w.norte, "Dora Berta Íñigo"},
			{"member", w.tokM1, "?team=" + w.norte, "Íñigo"},
			{"approver", w.tokApprover, fmt.Sprintf("?user=%d", w.m2.ID), "Berta"},
			{"lead", w.tokLead, fmt.Sprintf("?user_id=%d", w.outsider.ID), ""},
			{"approver", w.tokApprover, "?search=INIGO", "Íñigo"},
			{"approver", w.tokApprover, "?search=garcía", "Dora Carla Berta Íñigo"},
			{"lead", w.tokLead, "?search=carla", ""},
			{"approver", w.tokApprover, "?expiring=400", "Carla"},
			{"approver", w.tokApprover, "?expiring=30", ""},
			{"approver", w.tokApprover, "?expiring_before=" + time.Now().AddDate(2, 0, 0).Format(time.DateOnly), "Carla"},
			{"lead", w.tokLead, "?expiring=400", ""},
		}
		for _, c := range cases {
			if got := strings.Join(names(c.token, c.query), " "); got != c.want {
				t.Errorf("%s %s: %q, want %q", c.who, c.query, got, c.want)
			}
		}
		// Document number search.
		var doc string
		if err := db.NewRaw("SELECT document_number FROM hps_requests WHERE id = ?", ids["outsider"]).Scan(context.Background(), &doc); err != nil {
			t.Fatal(err)
		}
		if got := names(w.tokApprover, "?search="+strings.ToLower(doc)); len(got) != 1 || got[0] != "Carla" {
			t.Errorf("search by document number: %v", got)
		}

		// Single reads: outside the scope is 404 like a missing one.
		for _, c := range []struct {
			token, id string
			want      int
		}{
			{w.tokApprover, ids["outsider"], 200}, {w.tokLead, ids["m2"], 200}, {w.tokLead, ids["outsider"], 404},
			{w.tokM1, ids["m1"], 200}, {w.tokM1, ids["m2"], 404}, {w.tokM1, "no-es-un-uuid", 404}, {w.tokM1, uuid.NewString(), 404},
		} {
			w.expect(c.want, "GET", "/api/hps/requests/"+c.id+"/", c.token, nil)
			w.expect(c.want, "GET", "/api/v1/hps/"+c.id, c.token, nil)
		}
		full := decode[map[string]any](t, w.expect(200, "GET", "/api/hps/requests/"+ids["m1"]+"/", w.tokM1, nil))
		for _, k := range []string{"id", "user", "request_type", "status", "form_type", "type", "template", "filled_pdf", "response_pdf",
			"document_type", "document_number", "birth_date", "first_name", "first_last_name", "second_last_name", "nationality", "birth_place",
			"email", "phone", "submitted_by", "submitted_at", "approved_by", "approved_at", "expires_at", "notes", "security_clearance_level",
			"government_expediente", "company_name", "company_nif", "internal_code", "job_position", "auto_processed", "source_pdf_filename",
			"auto_processed_at", "government_document_type", "data_source", "original_status_text", "created_at", "updated_at", "is_expired",
			"can_be_approved", "filled_pdf_url", "response_pdf_url", "template_pdf_url", "user_email", "user_full_name", "submitted_by_email", "approved_by_email"} {
			if _, ok := full[k]; !ok {
				t.Errorf("Django shape lacks %q", k)
			}
		}
		v1 := decode[map[string]any](t, w.expect(200, "GET", "/api/v1/hps/"+ids["m1"], w.tokM1, nil))
		for _, k := range []string{"government_expediente", "company_nif", "security_clearance_level", "temp_password"} {
			if _, ok := v1[k]; ok {
				t.Errorf("FastAPI shape exposes %q", k)
			}
		}
		w.exec("UPDATE hps_requests SET filled_pdf = 'hps/filled/x.pdf' WHERE id = ?", ids["m1"])
		if r := decode[httpapi.HpsRequest](t, w.expect(200, "GET", "/api/hps/requests/"+ids["m1"]+"/", w.tokM1, nil)); r.FilledPDFURL == nil ||
			!strings.HasSuffix(*r.FilledPDFURL, "/api/hps/requests/"+ids["m1"]+"/filled-pdf/") || r.ResponsePDFURL != nil {
			t.Errorf("PDF URLs %v %v", r.FilledPDFURL, r.ResponsePDFURL)
		}

		// Stats within scope, on both APIs.
		for _, path := range []string{"/api/hps/requests/stats/", "/api/v1/hps/stats"} {
			st := decode[httpapi.HpsRequestStats](t, w.expect(200, "GET", path, w.tokApprover, nil))
			if st.TotalRequests != 4 || st.PendingRequests != 2 || st.SubmittedRequests != 1 || st.ApprovedRequests != 1 ||
				st.RequestsByType["transfer"] != 1 || st.RequestsByType["new"] != 3 || st.ExpiringSoon != 0 {
				t.Errorf("approver stats %+v", st)
			}
			st = decode[httpapi.HpsRequestStats](t, w.expect(200, "GET", path, w.tokLead, nil))
			if st.TotalRequests != 3 || st.ApprovedRequests != 0 || st.PendingRequests != 2 {
				t.Errorf("lead stats %+v", st)
			}
			st = decode[httpapi.HpsRequestStats](t, w.expect(200, "GET", path, w.tokM1, nil))
			if st.TotalRequests != 1 || st.PendingRequests != 1 {
				t.Errorf("member stats %+v", st)
			}
		}
		v1st := decode[httpapi.V1HPSStats](t, w.expect(200, "GET", "/api/v1/hps/stats", w.tokLead, nil))
		if len(v1st.RecentRequests) != 3 || v1st.RecentRequests[0].FirstName != "Dora" || v1st.RecentRequests[0].User != nil || v1st.TotalRequests != 3 {
			t.Errorf("v1 stats recent_requests %+v", v1st)
		}
		if v1st := decode[httpapi.V1HPSStats](t, w.expect(200, "GET", "/api/v1/hps/stats", w.tk, nil)); len(v1st.RecentRequests) != 1 || v1st.ApprovedRequests != 1 {
			t.Errorf("outsider v1 stats %+v", v1st)
		}
		nobody := w.user("sin-solicitudes@example.org", hpsrPass, identity.RoleMember)
		if v1st := decode[httpapi.V1HPSStats](t, w.expect(200, "GET", "/api/v1/hps/stats", w.token(nobody.ID), nil)); len(v1st.RecentRequests) != 0 ||
			v1st.TotalRequests != 0 || v1st.RequestsByType["new"] != 0 {
			t.Errorf("empty v1 stats %+v", v1st)
		}
		w.exec("UPDATE hps_requests SET expires_at = ? WHERE id = ?", time.Now().UTC().AddDate(0, 0, 100), ids["outsider"])
		if st := decode[httpapi.HpsRequestStats](t, w.expect(200, "GET", "/api/hps/requests/stats/", w.tokApprover, nil)); st.ExpiringSoon != 1 {
			t.Errorf("expiring soon %d, want 1", st.ExpiringSoon)
		}

		// The special lists.
		if got := strings.Join(func() []string {
			rs := decode[[]httpapi.HpsRequest](t, w.expect(200, "GET", "/api/hps/requests/pending/list/", w.tokLead, nil))
			var n []string
			for _, r := range rs {
				n = append(n, r.FirstName)
			}
			return n
		}(), " "); got != "Íñigo Dora" {
			t.Errorf("pending list %q (oldest first)", got)
		}
		if rs := decode[[]httpapi.HpsRequest](t, w.expect(200, "GET", "/api/hps/requests/submitted/list/", w.tokApprover, nil)); len(rs) != 1 || rs[0].Status != "submitted" {
			t.Errorf("submitted list %+v", rs)
		}
		if rs := decode[[]httpapi.HpsRequest](t, w.expect(200, "GET", "/api/hps/requests/team/"+w.sur+"/", w.tokLead, nil)); len(rs) != 1 || rs[0].FirstName != "Berta" {
			t.Errorf("team list %+v", rs)
		}
		if rs := decode[[]httpapi.V1HPSRequest](t, w.expect(200, "GET", "/api/v1/hps/team/"+w.norte, w.tokM1, nil)); len(rs) != 1 {
			t.Errorf("v1 team list %+v", rs)
		}

		// Pagination on both APIs.
		page := decode[map[string]any](t, w.expect(200, "GET", "/api/hps/requests/?page=2&page_size=3", w.tokApprover, nil))
		if page["count"] != float64(4) || len(page["results"].([]any)) != 1 || page["previous"] == nil {
			t.Errorf("page %v", page)
		}
		l := decode[httpapi.V1HPSList](t, w.expect(200, "GET", "/api/v1/hps/?page=2&per_page=3&status=pending,submitted,approved", w.tokApprover, nil))
		if l.Total != 4 || l.Page != 2 || l.PerPage != 3 || l.Pages != 2 || len(l.Requests) != 1 {
			t.Errorf("v1 page %+v", l)
		}
		if l := decode[httpapi.V1HPSList](t, w.expect(200, "GET", "/api/v1/hps/?page=9", w.tokApprover, nil)); l.Total != 4 || len(l.Requests) != 0 || l.Pages != 1 {
			t.Errorf("v1 page past the end %+v", l)
		}
		// Past the end: the last page, saying so (DRF's 404 stranded the
		// HPS frontend's pager).
		if page := decode[map[string]any](t, w.expect(200, "GET", "/api/hps/requests/?page=9", w.tokApprover, nil)); page["count"] != float64(4) ||
			page["page"] != float64(1) || len(page["results"].([]any)) != 4 {
			t.Errorf("page past the end %v", page)
		}
		if l := decode[httpapi.V1HPSList](t, w.expect(200, "GET", "/api/v1/hps/", w.tokLead, nil)); l.Total != 3 || l.PerPage != 10 || l.Pages != 1 {
			t.Errorf("v1 default page %+v", l)
		}

		// Invalid filter values: 400 naming the parameter.
		for _, q := range []string{"status=aprobada", "request_type=alta", "form_type=otro", "hps_type=otro", "user=abc", "user_id=-1",
			"team=norte", "team_id=123", "expiring_before=2026-13-01", "expiring=pronto", "expiring=-3"} {
			field := q[:strings.Index(q, "=")]
			for _, path := range []string{"/api/hps/requests/?", "/api/v1/hps/?", "/api/hps/requests/stats/?"} {
				r := w.call("GET", path+q, w.tokApprover, nil)
				if r.status != 400 || !strings.Contains(r.body, `"`+field+`"`) {
					t.Errorf("GET %s%s: %d %.200s, want 400 on %s", path, q, r.status, r.body, field)
				}
			}
		}
		for _, q := range []string{"page=0", "per_page=0", "per_page=5000", "page=x"} {
			if r := w.call("GET", "/api/v1/hps/?"+q, w.tokApprover, nil); r.status != 400 {
				t.Errorf("GET /api/v1/hps/?%s: %d", q, r.status)
			}
		}

		// At most 2 statements (authentication + one), whatever the size.
		for i := range 25 {
			u := w.user(fmt.Sprintf("extra%02d@example.org", i), hpsrPass, identity.RoleMember)
			w.member(w.norte, u, false, false)
			w.seed(u, clearance.Submitted, "Extra")
		}
		c := &hpsrCounter{}
		db.AddQueryHook(c)
		for _, tok := range []string{w.tokApprover, w.tokLead, w.tokM1} {
			for _, path := range []string{"/api/hps/requests/", "/api/hps/requests/?page=1&page_size=5", "/api/hps/requests/?search=extra&team=" + w.norte,
				"/api/hps/requests/stats/", "/api/v1/hps/stats", "/api/v1/hps/?per_page=50", "/api/hps/requests/" + ids["m1"] + "/",
				"/api/v1/hps/" + ids["m1"], "/api/hps/requests/pending/list/", "/api/hps/requests/team/" + w.norte + "/"} {
				c.n.Store(0)
				r := w.call("GET", path, tok, nil)
				if r.status != 200 && r.status != 404 {
					t.Errorf("GET %s: %d %s", path, r.status, r.body)
				}
				if n := c.n.Load(); n > 2 {
					t.Errorf("GET %s ran %d statements, want ≤ 2", path, n)
				}
			}
		}
		_ = url.QueryEscape
		_ = http.StatusOK
	})
}
