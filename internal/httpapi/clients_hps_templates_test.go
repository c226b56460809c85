package httpapi_test

import (
	"strconv"
	"strings"
	"testing"

	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
)

// TestHPSFrontendTemplateService: every call of
// services/templateService.js (TemplateList, TemplateForm,
// TemplatePDFEditor) and TemplateList's download through pdfService.js.
// Several go without the final slash, as the client writes them.
func TestHPSFrontendTemplateService(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newHPSFE(t, db)
		pdf := tplFixture(t)
		var id string

		t.Run("createTemplate", func(t *testing.T) {
			// TemplateForm: name, template_type, active (always true), file.
			r := c.want(t, c.axiosForm("POST", "/api/hps/templates/", c.tokAdmin,
				hpsfeField{name: "name", value: "Traslado jefe"}, hpsfeField{name: "template_type", value: clearance.TemplateJefe},
				hpsfeField{name: "active", value: "true"}, hpsfeField{name: "template_pdf", filename: "plantilla.pdf", data: pdf}), 201, "create")
			p := c.object(t, r)
			hpsfeReads(t, "template", p, map[string]string{"id": "number", "name": "string", "template_type": "string", "created_at": "string"})
			id = strconv.FormatInt(int64(p["id"].(float64)), 10)
			if p["active"] != true {
				t.Errorf("not active: %v", p)
			}
		})
		base := "/api/hps/templates/" + id

		t.Run("getTemplates", func(t *testing.T) {
			// TemplateList: ?page=&per_page=, reads templates and total.
			p := c.object(t, c.want(t, c.axios("GET", "/api/hps/templates/?page=1&per_page=10", c.tokAdmin, nil), 200, "list"))
			hpsfeReads(t, "list", p, map[string]string{"templates": "array", "total": "number"})
			if p["total"] != float64(1) || len(p["templates"].([]any)) != 1 {
				t.Errorf("list %v", p)
			}
			for _, tp := range p["templates"].([]any) {
				hpsfeReads(t, "template", tp.(map[string]any), map[string]string{"id": "number", "name": "string", "template_type": "string", "created_at": "string"})
			}
		})

		t.Run("getTemplate", func(t *testing.T) {
			p := c.object(t, c.want(t, c.axios("GET", base, c.tokAdmin, nil), 200, "one, no slash"))
			if p["name"] != "Traslado jefe" {
				t.Errorf("template %v", p)
			}
		})

		t.Run("getTemplatePDFBytes", func(t *testing.T) {
			// TemplatePDFEditor and downloadTemplate: …/pdf, no slash.
			r := c.want(t, c.axios("GET", base+"/pdf", c.tokAdmin, nil), 200, "PDF, no slash")
			if !strings.HasPrefix(r.body, "%PDF-") || r.header.Get("Content-Type") != "application/pdf" {
				t.Errorf("PDF: %q", r.header.Get("Content-Type"))
			}
		})

		t.Run("handleDownload (TemplateList, pdfService.downloadPDFAsFile)", func(t *testing.T) {
			if r := c.want(t, c.axios("GET", base+"/pdf/", c.tokAdmin, nil), 200, "PDF, slash"); !strings.HasPrefix(r.body, "%PDF-") {
				t.Error("not a PDF")
			}
		})

		t.Run("extractTemplatePDFFields", func(t *testing.T) {
			p := c.object(t, c.want(t, c.axios("GET", base+"/extract-pdf-fields", c.tokAdmin, nil), 200, "fields, no slash"))
			// An empty object makes the editor retry forever.
			if len(p) == 0 {
				t.Error("no fields")
			}
		})

		t.Run("editTemplatePDF", func(t *testing.T) {
			p := c.object(t, c.want(t, c.axios("POST", base+"/edit-pdf/", c.tokAdmin, map[string]any{"Nombre": "JEFE DE SEGURIDAD",
				"Teléfono": "600000000"}), 200, "edit PDF"))
			if p["updated_count"] != float64(2) {
				t.Errorf("edit %v", p)
			}
		})

		t.Run("updateTemplate (with PDF)", func(t *testing.T) {
			// TemplateList's edit with a new file: PUT …/pdf, no slash.
			file := func() string {
				var f string
				if err := db.NewRaw("SELECT pdf_file FROM hps_templates WHERE id = ?", id).Scan(t.Context(), &f); err != nil {
					t.Fatal(err)
				}
				return f
			}
			before := file()
			p := c.object(t, c.want(t, c.axiosForm("PUT", base+"/pdf", c.tokAdmin,
				hpsfeField{name: "name", value: "Traslado jefe v2"}, hpsfeField{name: "template_type", value: clearance.TemplateJefe},
				hpsfeField{name: "template_pdf", filename: "nueva.pdf", data: pdf}), 200, "replace PDF"))
			if p["name"] != "Traslado jefe v2" || file() == before {
				t.Errorf("replaced %v (file %s before and after)", p, before)
			}
			// The same on the Django path with its slash, and on FastAPI's.
			c.want(t, c.axiosForm("PUT", base+"/pdf/", c.tokAdmin, hpsfeField{name: "template_pdf", filename: "nueva.pdf", data: pdf}), 200, "replace PDF, slash")
			c.want(t, c.axiosForm("PUT", "/api/v1/hps/templates/"+id+"/pdf", c.tokAdmin, hpsfeField{name: "template_pdf", filename: "nueva.pdf", data: pdf}), 200, "replace PDF, FastAPI")
		})

		t.Run("updateTemplate (without PDF)", func(t *testing.T) {
			// JSON to PUT …/{id}, no slash (the body must survive).
			p := c.object(t, c.want(t, c.axios("PUT", base, c.tokAdmin, map[string]any{"name": "Traslado jefe v3", "template_type": clearance.TemplateJefe}), 200, "update"))
			if p["name"] != "Traslado jefe v3" {
				t.Errorf("updated %v", p)
			}
		})

		t.Run("deleteTemplate", func(t *testing.T) {
			c.want(t, c.axios("DELETE", base, c.tokAdmin, nil), 200, "delete, no slash")
			c.want(t, c.axios("GET", base, c.tokAdmin, nil), 404, "deleted")
		})
	})
}

// TestHPSFrontendChat: the chat pages (Chat.jsx, ChatMonitoringPage.jsx,
// chatMonitoringService.js, websocketService.js) talk to the AI agent,
// which thot does not serve yet: every call is a clean JSON 404 (the
// pages catch it and show their empty state), never a 500 or a 405.
func TestHPSFrontendChat(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newHPSFE(t, db)
		for _, call := range []struct{ method, path string }{
			{"POST", "/api/hps/chat/conversations/reset/"},
			{"POST", "/api/hps/chat/conversations/archive-active/"},
			{"GET", "/api/hps/chat/conversations/all/?limit=100"},
			{"GET", "/api/hps/chat/conversations/00000000-0000-4000-8000-000000000000/full/"},
			{"GET", "/api/hps/chat/metrics/realtime"},
			{"GET", "/api/hps/chat/metrics/historical?days=7"},
			{"GET", "/api/hps/chat/performance"},
			{"GET", "/api/hps/chat/topics?limit=10"},
			{"GET", "/api/hps/chat/analytics?days=7"},
			{"GET", "/api/hps/chat/conversations?limit=50&offset=0"},
			{"GET", "/api/hps/chat/conversations/00000000-0000-4000-8000-000000000000/stats"},
			{"POST", "/api/hps/chat/satisfaction"},
			{"POST", "/api/hps/chat/conversations/00000000-0000-4000-8000-000000000000/complete?satisfaction_rating=5"},
			{"POST", "/api/hps/chat/conversations/00000000-0000-4000-8000-000000000000/abandon"},
		} {
			r := c.axios(call.method, call.path, c.tokAdmin, nil)
			if r.status != 404 || !strings.Contains(r.body, `"detail"`) {
				t.Errorf("%s %s: %d %s", call.method, call.path, r.status, r.body)
			}
		}
	})
}
