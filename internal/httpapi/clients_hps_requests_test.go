package httpapi_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
)

// The HPS frontend's request, form-link and request-PDF calls
// (services/hpsService.js as HPSForm, HPSList, HPSManagement,
// PDFViewerEditor, TeamManagement, Dashboard and UserManagement make
// them; the legacy hpsService export of apiService.js; the raw fetch()
// calls of pages/HPSTransferPage.jsx).

// hpsfeRequestReads are the request keys HPSList (row and detail modal),
// TeamManagement and PDFViewerEditor read.
var hpsfeRequestReads = map[string]string{
	"id": "string", "status": "string", "first_name": "string", "first_last_name": "string", "second_last_name": "string",
	"document_type": "string", "document_number": "string", "request_type": "string", "type": "string", "created_at": "string",
	"expires_at": "string|null", "birth_date": "string", "nationality": "string", "birth_place": "string", "email": "string",
	"phone": "string", "notes": "string", "filled_pdf": "string|null",
}

// hpsfeForm is HPSForm's formData as the user fills it in: the readable
// values of constants/hpsOptions.js.
func hpsfeForm(email, doc string) map[string]any {
	return map[string]any{"request_type": "new", "document_type": "DNI / NIF", "document_number": doc, "birth_date": "1990-04-21",
		"first_name": "Lucía", "first_last_name": "Fernández", "second_last_name": "Ortega", "nationality": "ESPAÑA",
		"birth_place": "Zaragoza", "email": email, "phone": "+34 612 345 678"}
}

func hpsfeWith(m map[string]any, kv ...any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		out[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		out[kv[0+i].(string)] = kv[i+1]
	}
	return out
}

// TestHPSFrontendHpsService: every call of services/hpsService.js.
func TestHPSFrontendHpsService(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newHPSFE(t, db)
		tplCreate(t, c.stack, c.tokAdmin, "Traslado jefe", clearance.TemplateJefe, true)

		var link map[string]any
		t.Run("createToken", func(t *testing.T) {
			// UserManagement's "Generar token HPS" as the security chief.
			r := c.want(t, c.axios("POST", "/api/hps/tokens/", c.tokApprover, map[string]any{"email": "nueva.persona@example.org",
				"purpose": "Solicitud HPS para Nueva Persona", "hours_valid": 72}), 201, "create link")
			link = c.object(t, r)
			hpsfeReads(t, "link", link, map[string]string{"url": "string", "expires_at": "string", "token": "string"})
			if !strings.Contains(link["url"].(string), "/hps-form?token=") {
				t.Errorf("url %v", link["url"])
			}
		})
		token, _ := link["token"].(string)

		t.Run("validateToken", func(t *testing.T) {
			// URLSearchParams({token}) + append('email'): '@' is %40.
			q := url.Values{}
			q.Set("token", token)
			q.Add("email", "nueva.persona@example.org")
			p := c.object(t, c.want(t, c.axios("GET", "/api/hps/tokens/validate/?"+q.Encode(), "", nil), 200, "validate"))
			hpsfeReads(t, "validation", p, map[string]string{"is_valid": "boolean", "email": "string", "requested_by_name": "string",
				"purpose": "string", "expires_at": "string"})
			if p["is_valid"] != true || p["requested_by_name"] != "Test jefe_seguridad" || p["purpose"] != "Solicitud HPS para Nueva Persona" {
				t.Errorf("validation %v (the form shows \"Solicitado por: <requested_by_name>\")", p)
			}
		})

		t.Run("createRequestWithToken", func(t *testing.T) {
			// HPSForm with a token: no user_id, hps_type from the link's
			// type (nueva); the token goes unencoded in the URL.
			r := c.want(t, c.axios("POST", "/api/hps/requests/public/?token="+token+"&hps_type=nueva", "",
				hpsfeForm("nueva.persona@example.org", "11111111H")), 201, "public form")
			p := c.object(t, r)
			if p["document_type"] != "DNI / NIF" || p["nationality"] != "ESPAÑA" || p["status"] != "pending" || p["type"] != "solicitud" {
				t.Errorf("public request %v", p)
			}
			if strings.Contains(r.body, "temp_password") {
				t.Error("a password in the answer")
			}
		})

		var traslado string
		t.Run("createRequestWithToken (traslado)", func(t *testing.T) {
			l := c.object(t, c.want(t, c.axios("POST", "/api/hps/tokens/", c.tokApprover, map[string]any{"email": "traslado@example.org",
				"purpose": "Traspaso", "hours_valid": 72}), 201, "link"))
			p := c.object(t, c.want(t, c.axios("POST", "/api/hps/requests/public/?token="+l["token"].(string)+"&hps_type=traslado", "",
				hpsfeWith(hpsfeForm("traslado@example.org", "22222222J"), "request_type", "transfer", "nationality", "FRANCIA",
					"document_type", "Pasaporte")), 201, "public transfer"))
			if p["type"] != "traslado" || p["request_type"] != "transfer" || p["filled_pdf"] == nil || p["nationality"] != "FRANCIA" {
				t.Errorf("transfer %v", p)
			}
			traslado = p["id"].(string)
		})

		t.Run("createRequest", func(t *testing.T) {
			// The logged-in form: user_id is the caller's id.
			p := c.object(t, c.want(t, c.axios("POST", "/api/hps/requests/", c.tokM2, hpsfeWith(hpsfeForm(c.m2.Email, "33333333P"), "user_id", c.m2.ID)), 201, "form"))
			hpsfeReads(t, "created", p, hpsfeRequestReads)
			if p["document_type"] != "DNI / NIF" || p["nationality"] != "ESPAÑA" || p["user_id"] != float64(c.m2.ID) {
				t.Errorf("created %v", p)
			}
			// After a success the form resets to the codes 206 and 1.
			p = c.object(t, c.want(t, c.axios("POST", "/api/hps/requests/", c.tk, hpsfeWith(hpsfeForm(c.outsider.Email, "44444444A"),
				"user_id", c.outsider.ID, "document_type", "206", "nationality", "1")), 201, "form after a reset"))
			if p["document_type"] != "DNI / NIF" || p["nationality"] != "ESPAÑA" {
				t.Errorf("codes stored as %v / %v", p["document_type"], p["nationality"])
			}
			// Older spellings (hpsService.DOCUMENT_TYPES, legacy data).
			p = c.object(t, c.want(t, c.axios("POST", "/api/hps/requests/", c.tokLead, hpsfeWith(hpsfeForm(c.lead.Email, "X1234567L"),
				"user_id", c.lead.ID, "document_type", "PASSPORT", "nationality", "Española")), 201, "legacy spellings"))
			if p["document_type"] != "Pasaporte" || p["nationality"] != "ESPAÑA" {
				t.Errorf("legacy spellings stored as %v / %v", p["document_type"], p["nationality"])
			}
			// An unknown value: 400 with a detail the form shows and the
			// accepted values on the field.
			r := c.want(t, c.axios("POST", "/api/hps/requests/", c.tokApprover, hpsfeWith(hpsfeForm(c.approver.Email, "55555555K"),
				"user_id", c.approver.ID, "nationality", "Atlántida")), 400, "unknown nationality")
			b := c.object(t, r)
			if d, _ := b["detail"].(string); !strings.Contains(d, "nationality") || !strings.Contains(d, "Atlántida") {
				t.Errorf("detail %v", b["detail"])
			}
			if n := b["nationality"].([]any); len(n) != 1 || !strings.Contains(n[0].(string), "ESPAÑA, DESCONOCIDO, AFGANISTAN") {
				t.Errorf("nationality %v", b["nationality"])
			}
		})

		t.Run("getRequest", func(t *testing.T) {
			p := c.object(t, c.want(t, c.axios("GET", "/api/hps/requests/"+traslado+"/", c.tokApprover, nil), 200, "request"))
			hpsfeReads(t, "request", p, hpsfeRequestReads)
			if p["filled_pdf"] == nil { // PDFViewerEditor: no filled_pdf → "no PDF"
				t.Error("no filled_pdf")
			}
		})

		t.Run("getFilledPDFBytes", func(t *testing.T) {
			// responseType arraybuffer/blob: Accept stays application/json.
			r := c.want(t, c.axios("GET", "/api/hps/requests/"+traslado+"/filled-pdf/", c.tokApprover, nil), 200, "filled PDF")
			if !strings.HasPrefix(r.body, "%PDF-") || r.header.Get("Content-Type") != "application/pdf" {
				t.Errorf("filled PDF: %q %.20q", r.header.Get("Content-Type"), r.body)
			}
		})

		t.Run("extractPDFFields", func(t *testing.T) {
			p := c.object(t, c.want(t, c.axios("GET", "/api/hps/requests/"+traslado+"/extract-pdf-fields/", c.tokApprover, nil), 200, "fields"))
			if len(p) == 0 || p["Nombre"] != "LUCÍA" || p["Nacionalidad"] != "FRANCIA" {
				t.Errorf("fields %v", p)
			}
		})

		t.Run("editFilledPDF", func(t *testing.T) {
			// HPSList's "Editar" modal keys, filled from the request.
			r := c.want(t, c.axios("POST", "/api/hps/requests/"+traslado+"/edit-filled-pdf/", c.tokApprover, map[string]any{
				"Nombre": "Lucía", "Apellidos": "Fernández Ortega", "DNI": "22222222J", "Fecha de nacimiento": "1990-04-21",
				"Nacionalidad": "FRANCIA", "LugarNacimiento": "Zaragoza", "Teléfono": "612345678", "Email": "traslado@example.org"}), 200, "edit PDF")
			if p := c.object(t, r); p["success"] != true || p["updated_fields"] == float64(0) {
				t.Errorf("edit %v", p)
			}
		})

		t.Run("previewResponsePDF", func(t *testing.T) {
			c.want(t, c.axios("GET", "/api/hps/requests/"+traslado+"/response-pdf/", c.tokApprover, nil), 404, "no response PDF yet")
			if r := tplSend(t, c.stack, "POST", "/api/hps/requests/"+traslado+"/upload-response-pdf/", c.tokAdmin, nil, "pdf", tplFixture(t)); r.status != 200 {
				t.Fatalf("upload response: %d %s", r.status, r.body)
			}
			r := c.want(t, c.axios("GET", "/api/hps/requests/"+traslado+"/response-pdf/", c.tokApprover, nil), 200, "response PDF")
			if !strings.HasPrefix(r.body, "%PDF-") {
				t.Error("not a PDF")
			}
		})

		t.Run("uploadModifiedPDF", func(t *testing.T) {
			r := c.want(t, c.axiosForm("POST", "/api/hps/requests/"+traslado+"/upload-filled-pdf/", c.tokApprover,
				hpsfeField{name: "pdf_file", filename: "modified.pdf", data: tplFixture(t)}), 200, "upload modified PDF")
			if p := c.object(t, r); p["status"] != "submitted" {
				t.Errorf("upload %v", p)
			}
		})

		// A pending request of m1 (Norte) for the decisions.
		id := c.seed(c.m1, clearance.Pending, "Marta")
		t.Run("submitRequest", func(t *testing.T) {
			p := c.object(t, c.want(t, c.axios("POST", "/api/hps/requests/"+id+"/submit/", c.tokApprover, map[string]any{"notes": "Enviada a entidad externa"}), 200, "submit"))
			if p["status"] != "submitted" || p["notes"] != "Enviada a entidad externa" {
				t.Errorf("submitted %v", p)
			}
		})

		t.Run("approveRequest", func(t *testing.T) {
			// HPSList: expires_at = now + 365 days (ISO date), notes fixed;
			// URLSearchParams, no body.
			exp := time.Now().UTC().Add(365 * 24 * time.Hour).Format(time.DateOnly)
			q := url.Values{}
			q.Set("expires_at", exp)
			q.Add("notes", "Aprobada automáticamente")
			p := c.object(t, c.want(t, c.axios("POST", "/api/hps/requests/"+id+"/approve/?"+q.Encode(), c.tokApprover, nil), 200, "approve"))
			if p["status"] != "approved" || p["expires_at"] != exp || p["notes"] != "Aprobada automáticamente" {
				t.Errorf("approved %v %v %v", p["status"], p["expires_at"], p["notes"])
			}
		})

		t.Run("rejectRequest", func(t *testing.T) {
			// HPSList: ?notes=Rechazada (encodeURIComponent), no body.
			sid := c.seed(c.m1, clearance.Submitted, "Marta")
			p := c.object(t, c.want(t, c.axios("POST", "/api/hps/requests/"+sid+"/reject/?notes="+url.PathEscape("Rechazada"), c.tokApprover, nil), 200, "reject"))
			if p["status"] != "rejected" || p["notes"] != "Rechazada" {
				t.Errorf("rejected %v %v", p["status"], p["notes"])
			}
			// rejectRequest(id) with the default notes '': no query at all.
			sid = c.seed(c.m1, clearance.Submitted, "Marta")
			p = c.object(t, c.want(t, c.axios("POST", "/api/hps/requests/"+sid+"/reject/", c.tokApprover, nil), 200, "reject without reason"))
			if p["status"] != "rejected" || p["notes"] != clearance.NoReason {
				t.Errorf("rejected without reason %v %v", p["status"], p["notes"])
			}
		})

		t.Run("updateRequest", func(t *testing.T) {
			p := c.object(t, c.want(t, c.axios("PUT", "/api/hps/requests/"+id+"/", c.tokApprover, map[string]any{"notes": "Renovar en 2027"}), 200, "update"))
			if p["notes"] != "Renovar en 2027" {
				t.Errorf("updated %v", p["notes"])
			}
		})

		t.Run("getStats", func(t *testing.T) {
			// HPSManagement and Dashboard.
			p := c.object(t, c.want(t, c.axios("GET", "/api/hps/requests/stats/", c.tokApprover, nil), 200, "stats"))
			hpsfeReads(t, "stats", p, map[string]string{"total_requests": "number", "pending_requests": "number", "waiting_dps_requests": "number",
				"submitted_requests": "number", "approved_requests": "number", "rejected_requests": "number"})
		})

		t.Run("getTeamHps", func(t *testing.T) {
			// TeamManagement: the lead's team (user.team_id).
			rs := decode[[]map[string]any](t, c.want(t, c.axios("GET", "/api/hps/requests/team/"+c.norte+"/", c.tokLead, nil), 200, "team HPS"))
			if len(rs) == 0 {
				t.Fatal("no team requests")
			}
			for _, r := range rs {
				hpsfeReads(t, "team request", r, map[string]string{"id": "string", "status": "string", "request_type": "string",
					"first_name": "string", "first_last_name": "string", "email": "string", "created_at": "string"})
			}
		})

		t.Run("getPendingRequests", func(t *testing.T) {
			rs := decode[[]map[string]any](t, c.want(t, c.axios("GET", "/api/hps/requests/pending/list/", c.tokApprover, nil), 200, "pending"))
			for _, r := range rs {
				if r["status"] != "pending" {
					t.Errorf("pending list holds %v", r["status"])
				}
			}
		})

		t.Run("getSubmittedRequests", func(t *testing.T) {
			// "Solicitudes enviadas": the client's label for submitted.
			rs := decode[[]map[string]any](t, c.want(t, c.axios("GET", "/api/hps/requests/submitted/list/", c.tokApprover, nil), 200, "submitted"))
			if len(rs) == 0 {
				t.Fatal("no submitted requests")
			}
			for _, r := range rs {
				if r["status"] != "submitted" {
					t.Errorf("submitted list holds %v", r["status"])
				}
			}
		})

		t.Run("deleteRequest", func(t *testing.T) {
			c.want(t, c.axios("DELETE", "/api/hps/requests/"+id+"/", c.tokAdmin, nil), 204, "delete")
			c.want(t, c.axios("GET", "/api/hps/requests/"+id+"/", c.tokAdmin, nil), 404, "deleted")
		})

		t.Run("getTokenInfo", func(t *testing.T) {
			// Defined, never called by a page. As on the Django backend the
			// path is a token detail with id "info": login required, then
			// no such link.
			c.want(t, c.axios("GET", "/api/hps/tokens/info/?token="+token, "", nil), 401, "token info, anonymous")
			c.want(t, c.axios("GET", "/api/hps/tokens/info/?token="+token, c.tokAdmin, nil), 404, "token info")
		})
	})
}

// TestHPSFrontendHPSList: HPSList's pager as hpsService.getRequests
// computes it (pages = ceil(count / per_page), page = data.page || the
// page asked for) over the filters it sends, and a page that no longer
// exists after a change.
func TestHPSFrontendHPSList(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newHPSFE(t, db)
		for i := 0; i < 11; i++ {
			hpsInsertRequest(t, db, nil, clearance.Solicitud, clearance.Approved, nil)
		}
		hpsInsertRequest(t, db, nil, clearance.Traslado, clearance.Pending, nil)
		const total = 12
		list := func(t *testing.T, page, perPage int, extra string) ([]any, int, int, int) {
			t.Helper()
			path := "/api/hps/requests/?page=" + strconv.Itoa(page) + "&per_page=" + strconv.Itoa(perPage) + extra
			return hpsfePager(t, c.want(t, c.axios("GET", path, c.tokApprover, nil), 200, path), page, perPage)
		}

		t.Run("getRequests", func(t *testing.T) {
			rows, n, pages, page := list(t, 1, 10, "")
			if n != total || pages != 2 || page != 1 || len(rows) != 10 {
				t.Fatalf("first page: %d rows, total %d, pages %d, page %d", len(rows), n, pages, page)
			}
			for _, r := range rows {
				hpsfeReads(t, "row", r.(map[string]any), hpsfeRequestReads)
			}
		})

		t.Run("getRequests (per page)", func(t *testing.T) {
			seen := map[string]bool{}
			for p := 1; p <= 3; p++ {
				rows, n, pages, page := list(t, p, 5, "")
				want := 5
				if p == 3 {
					want = 2
				}
				if n != total || pages != 3 || page != p || len(rows) != want {
					t.Errorf("page %d of 5: %d rows, total %d, pages %d, page %d", p, len(rows), n, pages, page)
				}
				for _, r := range rows {
					seen[r.(map[string]any)["id"].(string)] = true
				}
			}
			if len(seen) != total {
				t.Errorf("three pages of 5 showed %d different requests, want %d", len(seen), total)
			}
			// per_page 25 and 50, as the select offers.
			if rows, _, pages, _ := list(t, 1, 25, ""); len(rows) != total || pages != 1 {
				t.Errorf("25 per page: %d rows, %d pages", len(rows), pages)
			}
		})

		t.Run("getRequests (filters)", func(t *testing.T) {
			rows, n, pages, _ := list(t, 1, 10, "&status=pending&hps_type=traslado")
			if n != 1 || pages != 1 || len(rows) != 1 || rows[0].(map[string]any)["type"] != "traslado" {
				t.Errorf("filtered: %d rows, total %d", len(rows), n)
			}
		})

		t.Run("getRequests (page past the end)", func(t *testing.T) {
			// On page 3 of 5 per page, the last two requests go away (a
			// delete, a filter): the pager asks for page 3 again.
			c.exec("DELETE FROM hps_requests WHERE id IN (SELECT id FROM hps_requests WHERE status = 'approved' ORDER BY created_at LIMIT 2)")
			rows, n, pages, page := list(t, 3, 5, "")
			if n != total-2 || pages != 2 || page != 2 || len(rows) != 5 {
				t.Fatalf("past the end: %d rows, total %d, pages %d, page %d (want the last page, 2 of 2)", len(rows), n, pages, page)
			}
			// "Anterior" from there (prev.page - 1 = 2, then 1) works.
			if rows, _, _, page := list(t, 1, 5, ""); page != 1 || len(rows) != 5 {
				t.Errorf("back to page 1: %d rows, page %d", len(rows), page)
			}
			// Nothing left at all: page 1, empty, no 404.
			c.exec("DELETE FROM hps_requests")
			if rows, n, pages, page := list(t, 4, 10, ""); n != 0 || pages != 0 || page != 1 || len(rows) != 0 {
				t.Errorf("empty list: %d rows, total %d, pages %d, page %d", len(rows), n, pages, page)
			}
		})
	})
}

// TestHPSFrontendApiServiceHps: the older hpsService export of
// services/apiService.js (ReportsPage, which no route renders, and calls
// no page makes): JSON bodies on approve and reject.
func TestHPSFrontendApiServiceHps(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newHPSFE(t, db)
		t.Run("getHPSRequests", func(t *testing.T) {
			c.seed(c.m1, clearance.Pending, "Marta")
			rs := decode[[]map[string]any](t, c.want(t, c.axios("GET", "/api/hps/requests/?status=pending", c.tokApprover, nil), 200, "pending"))
			if len(rs) != 1 {
				t.Errorf("%d pending", len(rs))
			}
		})
		t.Run("getHPSStats", func(t *testing.T) {
			c.want(t, c.axios("GET", "/api/hps/requests/stats/", c.tokApprover, nil), 200, "stats")
		})
		t.Run("approveHPSRequest", func(t *testing.T) {
			id := c.seed(c.m1, clearance.Submitted, "Marta")
			exp := time.Now().UTC().AddDate(2, 0, 0).Format(time.DateOnly)
			p := c.object(t, c.want(t, c.axios("POST", "/api/hps/requests/"+id+"/approve/", c.tokApprover, map[string]any{"expires_at": exp, "notes": "ok"}), 200, "approve"))
			if p["expires_at"] != exp || p["notes"] != "ok" {
				t.Errorf("approved %v %v", p["expires_at"], p["notes"])
			}
		})
		t.Run("rejectHPSRequest", func(t *testing.T) {
			id := c.seed(c.m1, clearance.Submitted, "Marta")
			p := c.object(t, c.want(t, c.axios("POST", "/api/hps/requests/"+id+"/reject/", c.tokApprover, map[string]any{"notes": "Falta la DPS"}), 200, "reject"))
			if p["notes"] != "Falta la DPS" {
				t.Errorf("rejected %v", p["notes"])
			}
		})
		t.Run("updateHPSRequest and deleteHPSRequest", func(t *testing.T) {
			id := c.seed(c.m1, clearance.Submitted, "Marta")
			c.want(t, c.axios("PUT", "/api/hps/requests/"+id+"/", c.tokApprover, map[string]any{"status": "rejected", "notes": "No procede"}), 200, "update")
			c.want(t, c.axios("DELETE", "/api/hps/requests/"+id+"/", c.tokAdmin, nil), 204, "delete")
		})
	})
}

// TestHPSFrontendHPSTransferPage: the transfer page calls the API with
// fetch() and no credentials (as against the Django backend, where these
// routes needed a login too): 401, never a 500 or a leak. With a login the
// same calls work, the upload under the page's field name filled_pdf, and
// the request carries the template_id the page reads.
func TestHPSFrontendHPSTransferPage(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newHPSFE(t, db)
		tpl := tplCreate(t, c.stack, c.tokAdmin, "Traslado", clearance.TemplateJefe, true)
		id := hpsInsertRequest(t, db, &c.m1.ID, clearance.Traslado, clearance.Pending, &tpl)
		tplPath := "/api/hps/templates/" + strconv.FormatInt(tpl, 10) + "/pdf/"
		upload := hpsfeField{name: "filled_pdf", filename: "traspaso.pdf", data: tplFixture(t)}

		t.Run("fetchTransferData", func(t *testing.T) {
			c.want(t, c.fetch("GET", "/api/hps/requests/"+id+"/", nil), 401, "anonymous")
			p := c.object(t, c.want(t, c.fetch("GET", "/api/hps/requests/"+id+"/", map[string]string{"Authorization": "Bearer " + c.tokApprover}), 200, "logged in"))
			if p["template_id"] != float64(tpl) {
				t.Errorf("template_id %v", p["template_id"])
			}
		})
		t.Run("downloadTemplate", func(t *testing.T) {
			c.want(t, c.fetch("GET", tplPath, nil), 401, "anonymous")
			c.want(t, c.fetch("GET", tplPath, map[string]string{"Authorization": "Bearer " + c.tokAdmin}), 200, "logged in")
		})
		t.Run("handleFileUpload", func(t *testing.T) {
			path := "/api/hps/requests/" + id + "/upload-filled-pdf/"
			c.want(t, c.fetch("POST", path, nil, upload), 401, "anonymous")
			if cur, _ := c.store.RequestByID(context.Background(), id); cur.Status != clearance.Pending || cur.FilledPDF != "" {
				t.Fatalf("a refused upload changed the request: %s %q", cur.Status, cur.FilledPDF)
			}
			p := c.object(t, c.want(t, c.fetch("POST", path, map[string]string{"Authorization": "Bearer " + c.tokLead}, upload), 200, "lead uploads"))
			if p["status"] != "submitted" {
				t.Errorf("upload %v", p)
			}
		})
	})
}
