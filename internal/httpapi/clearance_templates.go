package httpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/filestore"
	"github.com/thot-security/thot/internal/identity"
)

// Transfer-form PDF templates (hps.gestionar_plantillas): the Django
// /api/hps/templates/ routes and the FastAPI /api/v1/hps/templates/ ones,
// on the same handlers. Uploads are sniffed as PDFs and size-limited by the
// file store; activating a template deactivates (never deletes) the other
// active one of its type.

// HPSTemplateJSON is a template (Django shape; the FastAPI clients read
// the same keys minus the URLs). template_pdf is the API URL of the file,
// never a storage path.
type HPSTemplateJSON struct {
	ID             int64     `json:"id"`
	Name           string    `json:"name"`
	Description    string    `json:"description"`
	TemplatePDF    string    `json:"template_pdf"`
	TemplatePDFURL string    `json:"template_pdf_url"`
	TemplateType   string    `json:"template_type"`
	Version        string    `json:"version"`
	Active         bool      `json:"active"`
	CreatedAt      time.Time `json:"created_at"`
	UpdatedAt      time.Time `json:"updated_at"`
}

// HPSTemplateListJSON is the template list (Django {templates, total};
// FastAPI adds page and per_page).
type HPSTemplateListJSON struct {
	Templates []HPSTemplateJSON `json:"templates"`
	Total     int               `json:"total"`
	Page      int               `json:"page"`
	PerPage   int               `json:"per_page"`
}

// HPSTemplateRequest documents the template body (multipart with
// template_pdf, or JSON without it on updates).
type HPSTemplateRequest struct {
	Name         *string `json:"name,omitempty" doc:"Required on create"`
	Description  *string `json:"description,omitempty"`
	TemplateType *string `json:"template_type,omitempty" enum:"jefe_seguridad,jefe_seguridad_suplente"`
	Version      *string `json:"version,omitempty" doc:"Default 1.0"`
	Active       *bool   `json:"active,omitempty" doc:"Default true on create; true deactivates the other active template of the type"`
}

// HPSPDFFieldsEditJSON answers a template's edit-pdf.
type HPSPDFFieldsEditJSON struct {
	Detail        string   `json:"detail"`
	UpdatedFields []string `json:"updated_fields"`
	UpdatedCount  int      `json:"updated_count"`
}

// HPSMessageJSON is a plain {message} answer.
type HPSMessageJSON struct {
	Message string `json:"message"`
}

// hpsPDFOutput serves a stored PDF.
type hpsPDFOutput struct {
	ContentType         string `header:"Content-Type"`
	ContentLength       string `header:"Content-Length"`
	ContentDisposition  string `header:"Content-Disposition"`
	XContentTypeOptions string `header:"X-Content-Type-Options"`
	CacheControl        string `header:"Cache-Control"`
	ETag                string `header:"ETag"`
	Body                func(huma.Context)
}

// pdfResponses documents a PDF download.
var pdfResponses = map[string]*huma.Response{"200": {Description: "The PDF", Content: map[string]*huma.MediaType{"application/pdf": {}}}}

// servePDF opens key and serves it as a PDF named filename.
func (s *Server) servePDF(ctx context.Context, key, filename string, inline bool) (*hpsPDFOutput, error) {
	rc, obj, err := s.deps.Clearance.OpenPDF(ctx, key)
	if err != nil {
		return nil, err
	}
	return pdfOutput(rc, obj, filename, inline), nil
}

// pdfOutput serves an open PDF (personal data: never cached, never
// sniffed), inline or as an attachment.
func pdfOutput(rc io.ReadCloser, obj filestore.Object, filename string, inline bool) *hpsPDFOutput {
	disp := "attachment"
	if inline {
		disp = "inline"
	}
	return &hpsPDFOutput{ContentType: "application/pdf", ContentLength: strconv.FormatInt(obj.Size, 10),
		ContentDisposition: contentDisposition(disp, filename), XContentTypeOptions: "nosniff",
		CacheControl: "private, no-store", ETag: `"` + obj.SHA256 + `"`,
		Body: func(hctx huma.Context) {
			defer rc.Close()
			hctx.SetStatus(http.StatusOK)
			_, _ = io.Copy(hctx.BodyWriter(), rc)
		}}
}

// contentDisposition names a download: an ASCII fallback and, when the
// name is not plain ASCII, the UTF-8 name (RFC 6266 / 5987), so "Muñoz"
// survives in every browser.
func contentDisposition(disp, filename string) string {
	ascii := strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e || r == '"' || r == '\\' {
			return '_'
		}
		return r
	}, filename)
	v := disp + `; filename="` + ascii + `"`
	if ascii == filename {
		return v
	}
	var b strings.Builder
	for _, c := range []byte(filename) {
		if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte("!#$&+-.^_`|~", c) >= 0) {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return v + "; filename*=UTF-8''" + b.String()
}

func hpsTemplateURL(ctx context.Context, id int64) string {
	p := "/api/hps/templates/" + strconv.FormatInt(id, 10) + "/pdf/"
	if u := RequestURL(ctx); u != nil && u.Host != "" {
		return u.Scheme + "://" + u.Host + p
	}
	return p
}

func hpsTemplateJSON(ctx context.Context, t *clearance.Template) HPSTemplateJSON {
	u := hpsTemplateURL(ctx, t.ID)
	return HPSTemplateJSON{ID: t.ID, Name: t.Name, Description: t.Description, TemplatePDF: u, TemplatePDFURL: u,
		TemplateType: t.TemplateType, Version: t.Version, Active: t.Active, CreatedAt: t.CreatedAt, UpdatedAt: t.UpdatedAt}
}

func hpsTemplatesJSON(ctx context.Context, ts []clearance.Template) []HPSTemplateJSON {
	out := make([]HPSTemplateJSON, len(ts))
	for i := range ts {
		out[i] = hpsTemplateJSON(ctx, &ts[i])
	}
	return out
}

type hpsTemplateIDInput struct {
	ID string `path:"id" doc:"Template id"`
}

type hpsTemplateListInput struct {
	Page     int    `query:"page" minimum:"0"`
	PerPage  int    `query:"per_page" minimum:"0" maximum:"1000" doc:"Default 10 when page is given"`
	PageSize int    `query:"page_size" minimum:"0" maximum:"1000" doc:"Alias of per_page"`
	Active   string `query:"active" doc:"true or false"`
	Type     string `query:"template_type"`
}

type hpsTemplateTypeInput struct {
	Type string `path:"template_type" doc:"jefe_seguridad or jefe_seguridad_suplente"`
}

type hpsTemplateBodyInput struct {
	ID          string `path:"id" doc:"Template id"`
	ContentType string `header:"Content-Type"`
	RawBody     []byte `contentType:"multipart/form-data"`
}

type hpsTemplateCreateInput struct {
	ContentType string `header:"Content-Type"`
	RawBody     []byte `contentType:"multipart/form-data"`
}

type hpsFieldsInput struct {
	ID       string `path:"id" doc:"Template id"`
	ListOnly bool   `query:"list_only" doc:"Answer {fields: [names]} instead of {name: value}"`
}

type hpsEditFieldsInput struct {
	ID   string `path:"id"`
	Body map[string]any
}

// parseBool reads a form or query boolean ("true", "1", "on", …).
func parseBool(field, v string) (*bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "":
		return nil, nil
	case "true", "1", "yes", "on", "t", "si", "sí":
		b := true
		return &b, nil
	case "false", "0", "no", "off", "f":
		b := false
		return &b, nil
	}
	return nil, errs.Field(field, "Debe ser true o false.")
}

// templateBody reads a template from a multipart form (with an optional
// template_pdf file) or a JSON object. pdf is nil when no file came.
func templateBody(contentType string, body []byte) (in clearance.TemplateInput, pdf []byte, err error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	if !strings.HasPrefix(mt, "multipart/") {
		if mt != "" && mt != "application/json" {
			return in, nil, errs.Field("template_pdf", "Envíe multipart/form-data (con template_pdf) o JSON.")
		}
		var doc HPSTemplateRequest
		if len(body) > 0 {
			if err := json.Unmarshal(body, &doc); err != nil {
				return in, nil, jsonParseError(err)
			}
		}
		return clearance.TemplateInput{Name: doc.Name, Description: doc.Description, TemplateType: doc.TemplateType,
			Version: doc.Version, Active: doc.Active}, nil, nil
	}
	form, err := multipartForm(contentType, body, "template_pdf")
	if err != nil {
		return in, nil, err
	}
	defer func() { _ = form.RemoveAll() }()
	val := func(k string) *string {
		if vs, ok := form.Value[k]; ok && len(vs) > 0 {
			v := vs[0]
			return &v
		}
		return nil
	}
	in = clearance.TemplateInput{Name: val("name"), Description: val("description"), TemplateType: val("template_type"), Version: val("version")}
	if v := val("active"); v != nil {
		if in.Active, err = parseBool("active", *v); err != nil {
			return in, nil, err
		}
	}
	data, _, ok, err := formFile(form, "template_pdf")
	if err != nil {
		return in, nil, err
	}
	if ok {
		if len(data) == 0 {
			return in, nil, errs.Field("template_pdf", "El archivo enviado está vacío.")
		}
		pdf = data
	}
	return in, pdf, nil
}

// fieldValues turns a JSON object into field → text (numbers and booleans
// as their JSON text; null as "").
func fieldValues(body map[string]any) (map[string]string, error) {
	out := make(map[string]string, len(body))
	for k, v := range body {
		switch x := v.(type) {
		case nil:
			out[k] = ""
		case string:
			out[k] = x
		case float64, bool, json.Number:
			out[k] = fmt.Sprint(x)
		default:
			return nil, errs.Field(k, "Debe ser un texto.")
		}
	}
	return out, nil
}

func (s *Server) registerHPSTemplates() {
	s.registerHPSRequestPDFs()
	access := Permission(identity.PermGestionarPlantillas)
	tags := []string{"hps-templates"}
	svc := s.deps.Clearance

	list := func(ctx context.Context, in *hpsTemplateListInput) (*struct{ Body HPSTemplateListJSON }, error) {
		active, err := parseBool("active", in.Active)
		if err != nil {
			return nil, err
		}
		f := clearance.TemplateFilter{Active: active, Type: in.Type}
		per := in.PerPage
		if per == 0 {
			per = in.PageSize
		}
		if in.Page > 0 {
			if per == 0 {
				per = 10
			}
			f.Limit, f.Offset = per, (in.Page-1)*per
		}
		ts, n, err := svc.Templates(ctx, f)
		if err != nil {
			return nil, err
		}
		page := in.Page
		if page == 0 {
			page, per = 1, n
		}
		return &struct{ Body HPSTemplateListJSON }{Body: HPSTemplateListJSON{Templates: hpsTemplatesJSON(ctx, ts), Total: n, Page: page, PerPage: per}}, nil
	}
	create := func(ctx context.Context, in *hpsTemplateCreateInput) (*struct{ Body HPSTemplateJSON }, error) {
		ti, pdf, err := templateBody(in.ContentType, in.RawBody)
		if err != nil {
			return nil, err
		}
		t, err := svc.CreateTemplate(ctx, ti, pdf)
		if err != nil {
			return nil, err
		}
		return &struct{ Body HPSTemplateJSON }{Body: hpsTemplateJSON(ctx, t)}, nil
	}
	// byID turns a service call on one template into a handler.
	byID := func(call func(context.Context, int64) (*clearance.Template, error)) func(context.Context, *hpsTemplateIDInput) (*struct{ Body HPSTemplateJSON }, error) {
		return func(ctx context.Context, in *hpsTemplateIDInput) (*struct{ Body HPSTemplateJSON }, error) {
			id, err := clearance.TemplateID(in.ID)
			if err != nil {
				return nil, err
			}
			t, err := call(ctx, id)
			if err != nil {
				return nil, err
			}
			return &struct{ Body HPSTemplateJSON }{Body: hpsTemplateJSON(ctx, t)}, nil
		}
	}
	get := byID(svc.Template)
	update := func(ctx context.Context, in *hpsTemplateBodyInput) (*struct{ Body HPSTemplateJSON }, error) {
		id, err := clearance.TemplateID(in.ID)
		if err != nil {
			return nil, err
		}
		ti, pdf, err := templateBody(in.ContentType, in.RawBody)
		if err != nil {
			return nil, err
		}
		t, err := svc.UpdateTemplate(ctx, id, ti, pdf)
		if err != nil {
			return nil, err
		}
		return &struct{ Body HPSTemplateJSON }{Body: hpsTemplateJSON(ctx, t)}, nil
	}
	del := func(ctx context.Context, in *hpsTemplateIDInput) (*struct{ Body HPSMessageJSON }, error) {
		id, err := clearance.TemplateID(in.ID)
		if err != nil {
			return nil, err
		}
		if err := svc.DeleteTemplate(ctx, id); err != nil {
			return nil, err
		}
		return &struct{ Body HPSMessageJSON }{Body: HPSMessageJSON{Message: "Plantilla eliminada."}}, nil
	}
	activate := byID(svc.ActivateTemplate)
	activeList := func(ctx context.Context, _ *struct{}) (*struct{ Body []HPSTemplateJSON }, error) {
		on := true
		ts, _, err := svc.Templates(ctx, clearance.TemplateFilter{Active: &on})
		if err != nil {
			return nil, err
		}
		return &struct{ Body []HPSTemplateJSON }{Body: hpsTemplatesJSON(ctx, ts)}, nil
	}
	activeOne := func(ctx context.Context, _ *struct{}) (*struct{ Body HPSTemplateJSON }, error) {
		t, err := svc.ActiveTemplate(ctx, "")
		if err != nil {
			return nil, err
		}
		return &struct{ Body HPSTemplateJSON }{Body: hpsTemplateJSON(ctx, t)}, nil
	}
	byType := func(ctx context.Context, in *hpsTemplateTypeInput) (*struct{ Body []HPSTemplateJSON }, error) {
		if !clearance.ValidTemplateType(in.Type) {
			return nil, errs.Field("template_type", "Debe ser jefe_seguridad o jefe_seguridad_suplente.")
		}
		ts, _, err := svc.Templates(ctx, clearance.TemplateFilter{Type: in.Type})
		if err != nil {
			return nil, err
		}
		return &struct{ Body []HPSTemplateJSON }{Body: hpsTemplatesJSON(ctx, ts)}, nil
	}
	pdf := func(ctx context.Context, in *hpsTemplateIDInput) (*hpsPDFOutput, error) {
		id, err := clearance.TemplateID(in.ID)
		if err != nil {
			return nil, err
		}
		t, err := svc.Template(ctx, id)
		if err != nil {
			return nil, err
		}
		return s.servePDF(ctx, t.PDFFile, "template_"+strconv.FormatInt(id, 10)+".pdf", false)
	}
	fields := func(ctx context.Context, in *hpsFieldsInput) (*struct{ Body any }, error) {
		id, err := clearance.TemplateID(in.ID)
		if err != nil {
			return nil, err
		}
		fs, err := svc.TemplateFields(ctx, id)
		if err != nil {
			return nil, err
		}
		return &struct{ Body any }{Body: fieldsBody(fs, in.ListOnly)}, nil
	}
	edit := func(ctx context.Context, in *hpsEditFieldsInput) (*struct{ Body HPSPDFFieldsEditJSON }, error) {
		id, err := clearance.TemplateID(in.ID)
		if err != nil {
			return nil, err
		}
		vals, err := fieldValues(in.Body)
		if err != nil {
			return nil, err
		}
		updated, err := svc.EditTemplatePDF(ctx, id, vals)
		if err != nil {
			return nil, err
		}
		return &struct{ Body HPSPDFFieldsEditJSON }{Body: HPSPDFFieldsEditJSON{Detail: "PDF de la plantilla actualizado.",
			UpdatedFields: updated, UpdatedCount: len(updated)}}, nil
	}

	uploadDoc := func() *huma.RequestBody {
		return rawBodyDoc(s.API, reflect.TypeFor[HPSTemplateRequest](), "HPSTemplateRequest", map[string]*huma.Schema{
			"name": {Type: huma.TypeString}, "description": {Type: huma.TypeString},
			"template_type": {Type: huma.TypeString, Enum: []any{clearance.TemplateJefe, clearance.TemplateSuplente}},
			"version":       {Type: huma.TypeString}, "active": {Type: huma.TypeBoolean},
			"template_pdf": {Type: huma.TypeString, Format: "binary", Description: "The PDF (sniffed; at most 10 MiB)"},
		})
	}
	for _, v := range []struct{ prefix, id, slash string }{{"/api/hps/templates/", "hps-templates", "/"}, {"/api/v1/hps/templates/", "v1-hps-templates", ""}} {
		tg := tags
		if v.slash == "" {
			tg = []string{"hps-templates", "fastapi"}
		}
		op := func(id, method, path, summary string) huma.Operation {
			return huma.Operation{OperationID: v.id + "-" + id, Method: method, Path: v.prefix + path, Tags: tg, Summary: summary}
		}
		o := op("list", http.MethodGet, "", "List templates, newest first ({templates, total, page, per_page}); ?active=, ?template_type=, ?page=&per_page=")
		Register(s.API, o, access, list)
		o = op("create", http.MethodPost, "", "Upload a template (multipart: name, description, template_type, version, active, template_pdf); active deactivates the type's other active template")
		o.DefaultStatus, o.SkipValidateBody, o.RequestBody = http.StatusCreated, true, uploadDoc()
		Register(s.API, o, access, create)
		if v.slash == "/" {
			Register(s.API, op("active", http.MethodGet, "active/", "The active templates (one per type at most)"), access, activeList)
			Register(s.API, op("by-type", http.MethodGet, "by-type/{template_type}/", "Every template of a type, newest first"), access, byType)
		} else {
			Register(s.API, op("active", http.MethodGet, "active", "The newest active template (404 when none)"), access, activeOne)
		}
		Register(s.API, op("get", http.MethodGet, "{id}"+v.slash, "One template"), access, get)
		for _, m := range []string{http.MethodPut, http.MethodPatch} {
			if m == http.MethodPatch && v.slash == "" {
				continue
			}
			o = op(strings.ToLower(m), m, "{id}"+v.slash, "Update a template partially (JSON, or multipart with an optional template_pdf replacing the PDF)")
			o.SkipValidateBody, o.RequestBody = true, uploadDoc()
			Register(s.API, o, access, update)
		}
		Register(s.API, op("delete", http.MethodDelete, "{id}"+v.slash,
			"Delete a template no request references (409 template_in_use otherwise: deactivate it instead)"), access, del)
		Register(s.API, op("activate", http.MethodPut, "{id}/activate"+v.slash, "Activate a template; the type's other active template is deactivated, not deleted"), access, activate)
		if v.slash == "/" {
			Register(s.API, op("activate-post", http.MethodPost, "{id}/activate/", "Activate a template (as PUT)"), access, activate)
		}
		o = op("pdf", http.MethodGet, "{id}/pdf"+v.slash, "The template's PDF (attachment template_<id>.pdf)")
		o.Responses = pdfResponses
		Register(s.API, o, access, pdf)
		// The HPS frontend replaces a template's file with PUT …/{id}/pdf
		// on the Django prefix too (the FastAPI route it was written for).
		o = op("pdf-replace", http.MethodPut, "{id}/pdf"+v.slash, "Update a template replacing its PDF (multipart with template_pdf)")
		o.SkipValidateBody, o.RequestBody = true, uploadDoc()
		Register(s.API, o, access, update)
		Register(s.API, op("extract-pdf-fields", http.MethodGet, "{id}/extract-pdf-fields"+v.slash,
			"The template's form fields: {name: value}, or {fields: [names]} with ?list_only=true"), access, fields)
		Register(s.API, op("edit-pdf", http.MethodPost, "{id}/edit-pdf"+v.slash,
			"Write {field: value} into the template's form (case-insensitive, exact then partial name match)"), access, edit)
	}
}

// fieldsBody is extract-pdf-fields' answer.
func fieldsBody(fs map[string]string, listOnly bool) any {
	if !listOnly {
		return fs
	}
	names := make([]string, 0, len(fs))
	for k := range fs {
		names = append(names, k)
	}
	slices.Sort(names)
	return map[string]any{"fields": names}
}
