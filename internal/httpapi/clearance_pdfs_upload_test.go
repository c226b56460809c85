package httpapi_test

import (
	"context"
	"testing"

	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/identity"
)

// TestHPSUploadFilledPDF: the FastAPI upload-filled-pdf replaces a pending
// transfer's form and submits the request through the state machine — for
// an approver or a lead of the applicant's team; never the applicant, never
// a non-transfer, never twice.
func TestHPSUploadFilledPDF(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		s := newStack(t, db)
		ctx := context.Background()
		admin := s.token(s.user("admin@example.org", tplPass, identity.RoleAdmin).ID)
		applicant := s.user("maria@example.org", tplPass, identity.RoleMember)
		leadU := s.user("lead@example.org", tplPass, identity.RoleTeamLead)
		w := &pfWorld{stack: s}
		w.newTeam("Norte", leadU, applicant)
		appTok, leadTok := s.token(applicant.ID), s.token(leadU.ID)
		id := hpsInsertRequest(t, db, &applicant.ID, clearance.Traslado, clearance.Pending, nil)
		path := "/api/v1/hps/" + id + "/upload-filled-pdf"

		if r := tplSend(t, s, "POST", path, appTok, nil, "pdf_file", tplFixture(t)); r.status != 403 {
			t.Fatalf("applicant: %d %s", r.status, r.body)
		}
		if r := tplSend(t, s, "POST", path, leadTok, nil, "pdf_file", []byte("no es un pdf")); r.status != 400 {
			t.Fatalf("non-PDF: %d %s", r.status, r.body)
		}
		if cur, _ := s.store.RequestByID(ctx, id); cur.Status != clearance.Pending || cur.FilledPDF != "" {
			t.Fatalf("refused uploads changed the request: %s %q", cur.Status, cur.FilledPDF)
		}
		r := tplSend(t, s, "POST", path, leadTok, nil, "pdf_file", tplFixture(t))
		if r.status != 200 {
			t.Fatalf("lead upload: %d %s", r.status, r.body)
		}
		cur, err := s.store.RequestByID(ctx, id)
		if err != nil || cur.Status != clearance.Submitted || cur.FilledPDF == "" || cur.SubmittedByID == nil || *cur.SubmittedByID != leadU.ID {
			t.Fatalf("after upload: %+v %v", cur, err)
		}
		if got := s.call("GET", "/api/hps/requests/"+id+"/filled-pdf/", appTok, nil); got.status != 200 || got.body[:5] != "%PDF-" {
			t.Fatalf("filled PDF: %d", got.status)
		}
		acts := tplAuditActions(t, db, "hps_requests", id)
		if acts["upload_filled_pdf"] != 1 || acts["status_change"] != 1 {
			t.Errorf("audit: %v", acts)
		}
		// Submitted now: the form is no longer replaceable.
		if r := tplSend(t, s, "POST", "/api/hps/requests/"+id+"/upload-filled-pdf/", admin, nil, "pdf", tplFixture(t)); r.status != 400 {
			t.Fatalf("second upload: %d %s", r.status, r.body)
		}
		plain := hpsInsertRequest(t, db, &applicant.ID, clearance.Solicitud, clearance.Rejected, nil)
		if r := tplSend(t, s, "POST", "/api/hps/requests/"+plain+"/upload-filled-pdf/", admin, nil, "pdf", tplFixture(t)); r.status != 400 {
			t.Fatalf("non-transfer: %d %s", r.status, r.body)
		}
	})
}
