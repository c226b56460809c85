package httpapi_test

import (
	"bytes"
	"context"
	"io"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/identity"
)

// Templates and request PDFs through the HTTP stack, on both engines,
// with the real AcroForm fixture of internal/clearance/testdata.

const tplPass = "Plantillas-2026!"

func tplFixture(t testing.TB) []byte {
	t.Helper()
	b, err := os.ReadFile("../clearance/testdata/transfer_form.pdf")
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// tplSend sends a multipart body (fields + optional template_pdf / pdf).
func tplSend(t *testing.T, s *stack, method, path, tok string, fields map[string]string, fileField string, data []byte) response {
	t.Helper()
	files := map[string]part{}
	if data != nil {
		files[fileField] = part{filename: "plantilla.pdf", data: data}
	}
	ct, body := multipartBody(t, fields, files)
	return doWith(t, s.srv.Handler(), method, path, ct, body, map[string]string{"Authorization": "Bearer " + tok})
}

func tplCreate(t *testing.T, s *stack, tok, name, typ string, active bool) int64 {
	t.Helper()
	r := tplSend(t, s, "POST", "/api/hps/templates/", tok,
		map[string]string{"name": name, "template_type": typ, "active": strconv.FormatBool(active)}, "template_pdf", tplFixture(t))
	if r.status != 201 {
		t.Fatalf("create template: %d %s", r.status, r.body)
	}
	return decode[struct {
		ID int64 `json:"id"`
	}](t, r).ID
}

type tplJSON struct {
	ID           int64  `json:"id"`
	Name         string `json:"name"`
	TemplateType string `json:"template_type"`
	Active       bool   `json:"active"`
	TemplatePDF  string `json:"template_pdf"`
}

func tplGet(t *testing.T, s *stack, tok string, id int64) tplJSON {
	t.Helper()
	r := s.call("GET", "/api/hps/templates/"+strconv.FormatInt(id, 10)+"/", tok, nil)
	if r.status != 200 {
		t.Fatalf("get template %d: %d %s", id, r.status, r.body)
	}
	return decode[tplJSON](t, r)
}

func tplAuditActions(t *testing.T, db *database.DB, table, record string) map[string]int {
	t.Helper()
	var rows []struct {
		Action string `bun:"action"`
	}
	if err := db.NewRaw("SELECT action FROM audit_logs WHERE table_name = ? AND record_id = ?", table, record).Scan(context.Background(), &rows); err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, r := range rows {
		out[r.Action]++
	}
	return out
}

func TestHPSTemplatesCRUD(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		s := newStack(t, db)
		admin := s.token(s.user("admin@example.org", tplPass, identity.RoleAdmin).ID)
		suplente := s.token(s.user("suplente@example.org", tplPass, identity.RoleJefeSeguridadSuplente).ID)
		member := s.token(s.user("member@example.org", tplPass, identity.RoleMember).ID)

		// Permission, content sniffing, required fields.
		if r := tplSend(t, s, "POST", "/api/hps/templates/", member, map[string]string{"name": "x"}, "template_pdf", tplFixture(t)); r.status != 403 {
			t.Fatalf("member create: %d %s", r.status, r.body)
		}
		r := tplSend(t, s, "POST", "/api/hps/templates/", admin, map[string]string{"name": "falso"}, "template_pdf", []byte("esto no es un PDF, solo texto"))
		if r.status != 400 || !strings.Contains(r.body, "template_pdf") {
			t.Fatalf("non-PDF: %d %s", r.status, r.body)
		}
		r = tplSend(t, s, "POST", "/api/hps/templates/", admin, map[string]string{"name": "x", "template_type": "otro"}, "template_pdf", tplFixture(t))
		if r.status != 400 || !strings.Contains(r.body, "template_type") {
			t.Fatalf("bad type: %d %s", r.status, r.body)
		}
		r = tplSend(t, s, "POST", "/api/hps/templates/", admin, map[string]string{"name": "sin archivo"}, "", nil)
		if r.status != 400 || !strings.Contains(r.body, "template_pdf") {
			t.Fatalf("no file: %d %s", r.status, r.body)
		}
		big := append(append([]byte{}, tplFixture(t)...), make([]byte, clearance.MaxPDFBytes)...)
		if r := tplSend(t, s, "POST", "/api/hps/templates/", admin, map[string]string{"name": "grande"}, "template_pdf", big); r.status != 400 && r.status != 413 {
			t.Fatalf("oversized: %d %s", r.status, r.body)
		}

		// One active per type: the second deactivates the first, which
		// stays with its file.
		id1 := tplCreate(t, s, admin, "Traslado jefe v1", clearance.TemplateJefe, true)
		id2 := tplCreate(t, s, suplente, "Traslado jefe v2", clearance.TemplateJefe, true)
		if a, b := tplGet(t, s, admin, id1), tplGet(t, s, admin, id2); a.Active || !b.Active {
			t.Fatalf("after second: v1 active=%v v2 active=%v", a.Active, b.Active)
		}
		if r := s.call("GET", "/api/hps/templates/"+strconv.FormatInt(id1, 10)+"/pdf/", admin, nil); r.status != 200 ||
			!strings.HasPrefix(r.body, "%PDF-") || !strings.Contains(r.header.Get("Content-Disposition"), "template_"+strconv.FormatInt(id1, 10)+".pdf") {
			t.Fatalf("deactivated template's PDF: %d %q", r.status, r.header.Get("Content-Disposition"))
		}
		idS := tplCreate(t, s, admin, "Traslado suplente", clearance.TemplateSuplente, true)

		list := decode[struct {
			Templates []tplJSON `json:"templates"`
			Total     int       `json:"total"`
		}](t, s.call("GET", "/api/hps/templates/", admin, nil))
		if list.Total != 3 || len(list.Templates) != 3 || list.Templates[0].ID != idS {
			t.Fatalf("list: %+v", list)
		}
		page := decode[struct {
			Templates []tplJSON `json:"templates"`
			Total     int       `json:"total"`
			PerPage   int       `json:"per_page"`
		}](t, s.call("GET", "/api/v1/hps/templates/?page=2&per_page=2", admin, nil))
		if page.Total != 3 || len(page.Templates) != 1 || page.PerPage != 2 {
			t.Fatalf("page 2: %+v", page)
		}
		active := decode[[]tplJSON](t, s.call("GET", "/api/hps/templates/active/", admin, nil))
		if len(active) != 2 {
			t.Fatalf("active: %+v", active)
		}
		byType := decode[[]tplJSON](t, s.call("GET", "/api/hps/templates/by-type/jefe_seguridad/", admin, nil))
		if len(byType) != 2 {
			t.Fatalf("by-type: %+v", byType)
		}
		if r := s.call("GET", "/api/hps/templates/by-type/otro/", admin, nil); r.status != 400 {
			t.Fatalf("by-type otro: %d", r.status)
		}
		if r := s.call("GET", "/api/hps/templates/", member, nil); r.status != 403 {
			t.Fatalf("member list: %d", r.status)
		}

		// FastAPI activate switches back; the peer is deactivated.
		if r := s.call("PUT", "/api/v1/hps/templates/"+strconv.FormatInt(id1, 10)+"/activate", admin, nil); r.status != 200 {
			t.Fatalf("activate: %d %s", r.status, r.body)
		}
		if a, b := tplGet(t, s, admin, id1), tplGet(t, s, admin, id2); !a.Active || b.Active {
			t.Fatalf("after activate: v1 %v v2 %v", a.Active, b.Active)
		}
		// The partial unique index backs the rule whatever the code does.
		if _, err := db.NewRaw("UPDATE hps_templates SET active = TRUE WHERE id = ?", id2).Exec(context.Background()); err == nil {
			t.Fatal("two active templates of one type were accepted by the database")
		}

		// Partial JSON update.
		r = s.call("PATCH", "/api/hps/templates/"+strconv.FormatInt(id2, 10)+"/", admin, map[string]any{"name": "Renombrada", "version": ""})
		if r.status != 200 || decode[tplJSON](t, r).Name != "Renombrada" || tplGet(t, s, admin, id1).Active != true {
			t.Fatalf("patch: %d %s", r.status, r.body)
		}

		// FastAPI: the newest active template; replacing a PDF drops the
		// replaced file once the change commits.
		if one := decode[tplJSON](t, s.call("GET", "/api/v1/hps/templates/active", admin, nil)); !one.Active {
			t.Fatalf("v1 active: %+v", one)
		}
		before, err := s.store.TemplateByID(context.Background(), id2)
		if err != nil {
			t.Fatal(err)
		}
		r = tplSend(t, s, "PUT", "/api/v1/hps/templates/"+strconv.FormatInt(id2, 10)+"/pdf", admin, map[string]string{"name": "v2 bis"}, "template_pdf", tplFixture(t))
		if r.status != 200 || decode[tplJSON](t, r).Name != "v2 bis" {
			t.Fatalf("v1 replace pdf: %d %s", r.status, r.body)
		}
		if _, err := s.files.Stat(context.Background(), before.PDFFile); err == nil {
			t.Errorf("replaced file %s still stored", before.PDFFile)
		}
		if after, _ := s.store.TemplateByID(context.Background(), id2); after.PDFFile == before.PDFFile || after.Active {
			t.Errorf("after replace: %+v", after)
		}

		// Fields: read, edit one, read back.
		fields := decode[map[string]string](t, s.call("GET", "/api/hps/templates/"+strconv.FormatInt(id1, 10)+"/extract-pdf-fields/", admin, nil))
		if v, ok := fields["Teléfono"]; !ok || v != "" || len(fields) != 10 {
			t.Fatalf("fields: %v", fields)
		}
		names := decode[struct {
			Fields []string `json:"fields"`
		}](t, s.call("GET", "/api/v1/hps/templates/"+strconv.FormatInt(id1, 10)+"/extract-pdf-fields?list_only=true", admin, nil))
		if len(names.Fields) != 10 {
			t.Fatalf("list_only: %v", names)
		}
		r = s.call("POST", "/api/hps/templates/"+strconv.FormatInt(id1, 10)+"/edit-pdf/", admin, map[string]string{"TELEFONO": "900 100 200"})
		ed := decode[struct {
			UpdatedFields []string `json:"updated_fields"`
			UpdatedCount  int      `json:"updated_count"`
		}](t, r)
		if r.status != 200 || ed.UpdatedCount != 1 || ed.UpdatedFields[0] != "Teléfono" {
			t.Fatalf("edit-pdf: %d %s", r.status, r.body)
		}
		fields = decode[map[string]string](t, s.call("GET", "/api/hps/templates/"+strconv.FormatInt(id1, 10)+"/extract-pdf-fields/", admin, nil))
		if fields["Teléfono"] != "900 100 200" || fields["Nombre"] != "" {
			t.Fatalf("after edit: %v", fields)
		}
		if r := s.call("POST", "/api/hps/templates/"+strconv.FormatInt(id1, 10)+"/edit-pdf/", admin, map[string]string{"Inexistente": "x"}); r.status != 400 {
			t.Fatalf("edit unknown field: %d %s", r.status, r.body)
		}

		// Delete: refused while a request references it; allowed otherwise.
		hpsInsertRequest(t, db, nil, clearance.Traslado, clearance.Approved, &id1)
		if r := s.call("DELETE", "/api/hps/templates/"+strconv.FormatInt(id1, 10)+"/", admin, nil); r.status != 409 || !strings.Contains(r.body, "template_in_use") {
			t.Fatalf("delete referenced: %d %s", r.status, r.body)
		}
		if r := s.call("DELETE", "/api/v1/hps/templates/"+strconv.FormatInt(idS, 10), admin, nil); r.status != 200 {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		if r := s.call("GET", "/api/hps/templates/"+strconv.FormatInt(idS, 10)+"/", admin, nil); r.status != 404 {
			t.Fatalf("deleted template: %d", r.status)
		}
		if r := s.call("GET", "/api/hps/templates/abc/", admin, nil); r.status != 404 {
			t.Fatalf("bad id: %d", r.status)
		}

		// Audited, in the change's transaction.
		acts := tplAuditActions(t, db, "hps_templates", strconv.FormatInt(id1, 10))
		for _, a := range []string{"create", "deactivate", "activate", "edit_pdf"} {
			if acts[a] == 0 {
				t.Errorf("no %q audit entry for template %d: %v", a, id1, acts)
			}
		}
		if acts := tplAuditActions(t, db, "hps_templates", strconv.FormatInt(idS, 10)); acts["delete"] != 1 {
			t.Errorf("delete audit: %v", acts)
		}
	})
}

// hpsInsertRequest writes a request row directly (the creation paths are
// tested elsewhere); returns its id.
func hpsInsertRequest(t testing.TB, db *database.DB, userID *int64, form clearance.FormType, status clearance.Status, templateID *int64) string {
	t.Helper()
	id, now := uuid.NewString(), time.Now().UTC()
	rt := clearance.New
	if form == clearance.Traslado {
		rt = clearance.Transfer
	}
	if _, err := db.NewRaw(`INSERT INTO hps_requests (id, user_id, request_type, status, form_type, template_id, document_type, document_number,
		birth_date, first_name, first_last_name, second_last_name, nationality, birth_place, email, phone, created_at, updated_at)
		VALUES (?, ?, ?, ?, ?, ?, '206', ?, ?, 'María José', 'Muñoz', 'Güell: Ibáñez', '1', 'A Coruña', 'maria@example.es', '600111222', ?, ?)`,
		id, userID, string(rt), string(status), string(form), templateID, "DOC"+id[:8], time.Date(1985, 3, 7, 0, 0, 0, 0, time.UTC), now, now).
		Exec(context.Background()); err != nil {
		t.Fatal(err)
	}
	return id
}

func TestHPSRequestPDFs(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		s := newStack(t, db)
		ctx := context.Background()
		adminU := s.user("admin@example.org", tplPass, identity.RoleAdmin)
		admin := s.token(adminU.ID)
		applicant := s.user("maria@example.org", tplPass, identity.RoleMember)
		other := s.user("otro@example.org", tplPass, identity.RoleMember)
		leadU := s.user("lead@example.org", tplPass, identity.RoleTeamLead)
		w := &pfWorld{stack: s}
		w.newTeam("Norte", leadU, applicant)
		w.newTeam("Sur", s.user("lead2@example.org", tplPass, identity.RoleTeamLead), other)
		appTok, otherTok, leadTok := s.token(applicant.ID), s.token(other.ID), s.token(leadU.ID)

		// Without an active template there is no PDF (and no error).
		r0 := &clearance.Request{ID: uuid.NewString(), FirstName: "Ana", FirstLastName: "Pérez", BirthDate: time.Date(1990, 1, 2, 0, 0, 0, 0, time.UTC)}
		if tid, key, err := s.clear.FillTransfer(ctx, r0, "jefe_seguridad"); err != nil || tid != nil || key != "" {
			t.Fatalf("no template: %v %q %v", tid, key, err)
		}

		// The template is chosen by the creator's role.
		jefe := tplCreate(t, s, admin, "Jefe", clearance.TemplateJefe, true)
		sup := tplCreate(t, s, admin, "Suplente", clearance.TemplateSuplente, true)
		if r := s.call("POST", "/api/hps/templates/"+strconv.FormatInt(sup, 10)+"/edit-pdf/", admin, map[string]string{"Observaciones": "Plantilla del suplente"}); r.status != 200 {
			t.Fatalf("mark suplente: %d %s", r.status, r.body)
		}
		id := hpsInsertRequest(t, db, &applicant.ID, clearance.Traslado, clearance.Pending, nil)
		req, err := s.store.RequestByID(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		for role, want := range map[string]int64{"jefe_seguridad_suplente": sup, "jefe_seguridad": jefe, "admin": jefe} {
			tid, _, err := s.clear.FillTransfer(ctx, req, role)
			if err != nil || tid == nil || *tid != want {
				t.Fatalf("role %s: template %v, want %d (%v)", role, tid, want, err)
			}
		}
		tid, key, err := s.clear.FillTransfer(ctx, req, "jefe_seguridad_suplente")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.NewRaw("UPDATE hps_requests SET filled_pdf = ?, template_id = ? WHERE id = ?", key, *tid, id).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		base := "/api/hps/requests/" + id + "/"

		// Download within scope; 404 outside it.
		for name, tok := range map[string]string{"applicant": appTok, "lead": leadTok, "admin": admin} {
			r := s.call("GET", base+"filled-pdf/", tok, nil)
			if r.status != 200 || !strings.HasPrefix(r.body, "%PDF-") || r.header.Get("Content-Type") != "application/pdf" {
				t.Fatalf("%s filled-pdf: %d %v", name, r.status, r.header)
			}
			cd := r.header.Get("Content-Disposition")
			if !strings.Contains(cd, `filename="Mar_a Jos_ Mu_oz G_ell_ Ib__ez - Traslado HPS.pdf"`) || !strings.Contains(cd, "filename*=UTF-8''Mar%C3%ADa%20Jos%C3%A9%20Mu%C3%B1oz%20G%C3%BCell_%20Ib%C3%A1%C3%B1ez%20-%20Traslado%20HPS.pdf") {
				t.Fatalf("Content-Disposition %q", cd)
			}
		}
		if r := s.call("GET", "/api/v1/hps/"+id+"/filled-pdf", admin, nil); r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("v1 filled-pdf: %d %q", r.status, r.header.Get("Content-Disposition"))
		}
		for _, p := range []string{base + "filled-pdf/", base + "response-pdf/", base + "extract-pdf-fields/", "/api/v1/hps/" + id + "/filled-pdf"} {
			if r := s.call("GET", p, otherTok, nil); r.status != 404 {
				t.Fatalf("outsider GET %s: %d", p, r.status)
			}
		}
		if r := s.call("GET", base+"filled-pdf/", "", nil); r.status != 401 {
			t.Fatalf("anonymous: %d", r.status)
		}

		// The fields read back, Spanish characters intact, from the
		// suplente's template.
		fields := decode[map[string]string](t, s.call("GET", base+"extract-pdf-fields/", appTok, nil))
		want := map[string]string{"Nombre": "MARÍA JOSÉ", "Apellidos": "MUÑOZ GÜELL: IBÁÑEZ", "Fecha de nacimiento": "07/03/1985",
			"LugarNacimiento": "A CORUÑA", "Email": "maria@example.es", "Teléfono": "600111222", "Observaciones": "Plantilla del suplente"}
		for k, v := range want {
			if fields[k] != v {
				t.Errorf("%s = %q, want %q", k, fields[k], v)
			}
		}

		// Edit: the applicant may not, an outsider sees nothing, the
		// applicant's team lead may; only the named fields change.
		edit := map[string]string{"lugar de nacimiento": "Cádiz", "Fecha de nacimiento": "1985-03-08"}
		if r := s.call("POST", base+"edit-filled-pdf/", appTok, edit); r.status != 403 {
			t.Fatalf("applicant edit: %d %s", r.status, r.body)
		}
		if r := s.call("POST", base+"edit-filled-pdf/", otherTok, edit); r.status != 404 {
			t.Fatalf("outsider edit: %d %s", r.status, r.body)
		}
		r := s.call("POST", base+"edit-filled-pdf/", leadTok, edit)
		if r.status != 200 {
			t.Fatalf("lead edit: %d %s", r.status, r.body)
		}
		if got := decode[struct {
			UpdatedFields int      `json:"updated_fields"`
			FieldNames    []string `json:"field_names"`
		}](t, r); got.UpdatedFields != 2 {
			t.Fatalf("edit answer: %s", r.body)
		}
		after := decode[map[string]string](t, s.call("GET", base+"extract-pdf-fields/", admin, nil))
		for k, v := range fields {
			switch k {
			case "LugarNacimiento":
				v = "Cádiz"
			case "Fecha de nacimiento":
				v = "08/03/1985"
			}
			if after[k] != v {
				t.Errorf("after edit %s = %q, want %q", k, after[k], v)
			}
		}
		if acts := tplAuditActions(t, db, "hps_requests", id); acts["edit_filled_pdf"] != 1 {
			t.Errorf("edit audit: %v", acts)
		}

		// Response PDF: approvers only, a PDF only, status unchanged.
		if r := s.call("GET", base+"response-pdf/", admin, nil); r.status != 404 {
			t.Fatalf("response before upload: %d", r.status)
		}
		if r := tplSend(t, s, "POST", base+"upload-response-pdf/", leadTok, nil, "pdf", tplFixture(t)); r.status != 403 {
			t.Fatalf("lead upload: %d %s", r.status, r.body)
		}
		if r := tplSend(t, s, "POST", base+"upload-response-pdf/", admin, nil, "pdf", []byte("GIF89a no es un pdf")); r.status != 400 || !strings.Contains(r.body, `"pdf"`) {
			t.Fatalf("non-PDF response: %d %s", r.status, r.body)
		}
		if r := tplSend(t, s, "POST", "/api/v1/hps/"+id+"/upload-response-pdf", admin, nil, "pdf_file", tplFixture(t)); r.status != 200 {
			t.Fatalf("upload: %d %s", r.status, r.body)
		}
		r = s.call("GET", base+"response-pdf/", appTok, nil)
		if r.status != 200 || !strings.Contains(r.header.Get("Content-Disposition"), `filename="hps_response_`+id+`.pdf"`) {
			t.Fatalf("response-pdf: %d %q", r.status, r.header.Get("Content-Disposition"))
		}
		if cur, _ := s.store.RequestByID(ctx, id); cur.Status != clearance.Pending || cur.ResponsePDF == "" {
			t.Fatalf("after upload: status %s, response %q", cur.Status, cur.ResponsePDF)
		}
		if acts := tplAuditActions(t, db, "hps_requests", id); acts["upload_response_pdf"] != 1 {
			t.Errorf("upload audit: %v", acts)
		}

		// Only a pending transfer's form can be edited; only transfers
		// have a response PDF.
		if _, err := db.NewRaw("UPDATE hps_requests SET status = 'submitted' WHERE id = ?", id).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		if r := s.call("POST", base+"edit-filled-pdf/", admin, edit); r.status != 400 {
			t.Fatalf("edit submitted: %d %s", r.status, r.body)
		}
		plain := hpsInsertRequest(t, db, &other.ID, clearance.Solicitud, clearance.Pending, nil)
		if r := tplSend(t, s, "POST", "/api/hps/requests/"+plain+"/upload-response-pdf/", admin, nil, "pdf", tplFixture(t)); r.status != 400 {
			t.Fatalf("upload on a non-transfer: %d %s", r.status, r.body)
		}
		if r := s.call("GET", "/api/hps/requests/"+plain+"/filled-pdf/", otherTok, nil); r.status != 404 {
			t.Fatalf("no filled PDF: %d", r.status)
		}
		if r := s.call("GET", "/api/hps/requests/not-a-uuid/filled-pdf/", admin, nil); r.status != 404 {
			t.Fatalf("bad id: %d", r.status)
		}
	})
}

// TestHPSFillTransferFallback: a template whose form cannot be filled
// still yields a PDF (the legacy's generated fallback), tied to it.
func TestHPSFillTransferFallback(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		s := newStack(t, db)
		ctx := context.Background()
		admin := s.token(s.user("admin@example.org", tplPass, identity.RoleAdmin).ID)
		r := &clearance.Request{ID: uuid.NewString(), FirstName: "Iñigo", FirstLastName: "Ortúzar", DocumentNumber: "X1234567L",
			BirthDate: time.Date(1970, 5, 4, 0, 0, 0, 0, time.UTC), Email: "inigo@example.es"}
		plain, err := clearance.SummaryPDF(r)
		if err != nil {
			t.Fatal(err)
		}
		res := tplSend(t, s, "POST", "/api/hps/templates/", admin, map[string]string{"name": "Sin formulario", "template_type": clearance.TemplateSuplente}, "template_pdf", plain)
		if res.status != 201 {
			t.Fatalf("create: %d %s", res.status, res.body)
		}
		// No jefe template: the suplente one is the fallback for any role.
		tid, key, err := s.clear.FillTransfer(ctx, r, "jefe_seguridad")
		if err != nil || tid == nil || key != clearance.FilledPDFName(r.ID, "") {
			t.Fatalf("fallback fill: %v %q %v", tid, key, err)
		}
		obj, err := s.files.Stat(ctx, key)
		if err != nil || obj.ContentType != "application/pdf" || obj.Size == 0 {
			t.Fatalf("stored: %+v %v", obj, err)
		}
		rc, _, err := s.files.Open(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		defer rc.Close()
		b, _ := io.ReadAll(rc)
		if bytes.Equal(b, plain) {
			t.Fatal("the unfillable template was stored as the filled form; want the generated summary")
		}
	})
}

// TestHPSTemplateActivateConcurrent: activations racing on one type end
// with exactly one active template, each answered 200 or 409, never 500.
func TestHPSTemplateActivateConcurrent(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		s := newStack(t, db)
		admin := s.token(s.user("admin@example.org", tplPass, identity.RoleAdmin).ID)
		ids := make([]int64, 4)
		for i := range ids {
			ids[i] = tplCreate(t, s, admin, "v"+strconv.Itoa(i), clearance.TemplateJefe, false)
		}
		codes := make(chan int, len(ids))
		var wg sync.WaitGroup
		for _, id := range ids {
			wg.Add(1)
			go func() {
				defer wg.Done()
				codes <- s.call("PUT", "/api/hps/templates/"+strconv.FormatInt(id, 10)+"/activate/", admin, nil).status
			}()
		}
		wg.Wait()
		close(codes)
		for c := range codes {
			if c != 200 && c != 409 {
				t.Errorf("activate answered %d", c)
			}
		}
		var n int
		if err := db.NewRaw("SELECT count(*) FROM hps_templates WHERE active AND template_type = ?", clearance.TemplateJefe).Scan(context.Background(), &n); err != nil {
			t.Fatal(err)
		}
		if n != 1 {
			t.Fatalf("%d active templates of one type", n)
		}
	})
}
