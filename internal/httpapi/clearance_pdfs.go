package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// A request's PDFs: the filled transfer form and the government response,
// read within the reader's scope (a request they may not see is 404, as a
// missing one; the legacy FastAPI served any id to anyone logged in).

type hpsRequestIDInput struct {
	ID string `path:"id" doc:"Request id (UUID)"`
}

type hpsRequestUploadInput struct {
	ID          string `path:"id" doc:"Request id (UUID)"`
	ContentType string `header:"Content-Type"`
	RawBody     []byte `contentType:"multipart/form-data"`
}

type hpsRequestEditInput struct {
	ID   string `path:"id" doc:"Request id (UUID)"`
	Body map[string]any
}

// HPSResponseUploadJSON answers a response-PDF upload.
type HPSResponseUploadJSON struct {
	Message        string `json:"message"`
	ResponsePDFURL string `json:"response_pdf_url"`
}

// HPSFilledUploadJSON answers upload-filled-pdf.
type HPSFilledUploadJSON struct {
	Message string `json:"message"`
	Status  string `json:"status"`
}

// HPSEditPDFJSON answers edit-filled-pdf (the Django keys, plus the
// FastAPI message).
type HPSEditPDFJSON struct {
	Success       bool     `json:"success"`
	Detail        string   `json:"detail"`
	Message       string   `json:"message"`
	UpdatedFields int      `json:"updated_fields"`
	FieldNames    []string `json:"field_names"`
}

// responsePDFPath is the API path of a request's response PDF.
func responsePDFPath(ctx context.Context, id string) string {
	p := "/api/hps/requests/" + id + "/response-pdf/"
	if u := RequestURL(ctx); u != nil && u.Host != "" {
		return u.Scheme + "://" + u.Host + p
	}
	return p
}

// responsePDFFields and filledPDFFields are the multipart names accepted
// for an uploaded PDF: "pdf" (documented) and the legacy spellings.
var (
	responsePDFFields = []string{"pdf", "pdf_file", "response_pdf", "file"}
	filledPDFFields   = []string{"pdf", "pdf_file", "filled_pdf", "file"}
)

// uploadedPDF reads the first of names present in a multipart body.
func uploadedPDF(contentType string, body []byte, names []string) ([]byte, error) {
	form, err := multipartForm(contentType, body, "pdf")
	if err != nil {
		return nil, err
	}
	defer func() { _ = form.RemoveAll() }()
	for _, f := range names {
		d, _, ok, err := formFile(form, f)
		if err != nil {
			return nil, err
		}
		if ok {
			return d, nil
		}
	}
	return nil, errs.Field("pdf", "No se ha enviado ningún archivo.")
}

func (s *Server) registerHPSRequestPDFs() {
	svc := s.deps.Clearance
	read := Authenticated
	serve := func(response, inline bool) func(ctx context.Context, in *hpsRequestIDInput) (*hpsPDFOutput, error) {
		return func(ctx context.Context, in *hpsRequestIDInput) (*hpsPDFOutput, error) {
			rc, obj, name, err := svc.RequestPDF(ctx, PrincipalFrom(ctx), in.ID, response)
			if err != nil {
				return nil, err
			}
			return pdfOutput(rc, obj, name, inline), nil
		}
	}
	upload := func(ctx context.Context, in *hpsRequestUploadInput) (*struct{ Body HPSResponseUploadJSON }, error) {
		data, err := uploadedPDF(in.ContentType, in.RawBody, responsePDFFields)
		if err != nil {
			return nil, err
		}
		r, err := svc.UploadResponsePDF(ctx, PrincipalFrom(ctx), in.ID, data)
		if err != nil {
			return nil, err
		}
		return &struct{ Body HPSResponseUploadJSON }{Body: HPSResponseUploadJSON{Message: "PDF de respuesta guardado.",
			ResponsePDFURL: responsePDFPath(ctx, r.ID)}}, nil
	}
	uploadFilled := func(ctx context.Context, in *hpsRequestUploadInput) (*struct{ Body HPSFilledUploadJSON }, error) {
		data, err := uploadedPDF(in.ContentType, in.RawBody, filledPDFFields)
		if err != nil {
			return nil, err
		}
		r, err := svc.UploadFilledPDF(ctx, PrincipalFrom(ctx), in.ID, data)
		if err != nil {
			return nil, err
		}
		return &struct{ Body HPSFilledUploadJSON }{Body: HPSFilledUploadJSON{Message: "PDF de traslado guardado; solicitud enviada.",
			Status: string(r.Status)}}, nil
	}
	fields := func(ctx context.Context, in *hpsRequestIDInput) (*struct{ Body map[string]string }, error) {
		fs, err := svc.RequestPDFFields(ctx, PrincipalFrom(ctx), in.ID)
		if err != nil {
			return nil, err
		}
		return &struct{ Body map[string]string }{Body: fs}, nil
	}
	edit := func(ctx context.Context, in *hpsRequestEditInput) (*struct{ Body HPSEditPDFJSON }, error) {
		vals, err := fieldValues(in.Body)
		if err != nil {
			return nil, err
		}
		updated, err := svc.EditRequestPDF(ctx, PrincipalFrom(ctx), in.ID, vals)
		if err != nil {
			return nil, err
		}
		msg := "PDF actualizado: " + strconv.Itoa(len(updated)) + " campo(s)."
		return &struct{ Body HPSEditPDFJSON }{Body: HPSEditPDFJSON{Success: true, Detail: msg, Message: msg,
			UpdatedFields: len(updated), FieldNames: updated}}, nil
	}

	for _, v := range []struct{ prefix, id, slash string }{{"/api/hps/requests/{id}/", "hps-requests", "/"}, {"/api/v1/hps/{id}/", "v1-hps", ""}} {
		tags := []string{"hps-requests"}
		if v.slash == "" {
			tags = []string{"hps-requests", "fastapi"}
		}
		op := func(id, method, path, summary string) huma.Operation {
			return huma.Operation{OperationID: v.id + "-" + id, Method: method, Path: v.prefix + path + v.slash, Tags: tags, Summary: summary}
		}
		o := op("filled-pdf", http.MethodGet, "filled-pdf", "The filled transfer form (\"<name> - Traslado HPS.pdf\"); 404 when none or not visible")
		o.Responses = pdfResponses
		Register(s.API, o, read, serve(false, v.slash == "/"))
		o = op("response-pdf", http.MethodGet, "response-pdf", "The government's response PDF (hps_response_<id>.pdf); 404 when none or not visible")
		o.Responses = pdfResponses
		Register(s.API, o, read, serve(true, v.slash == "/"))
		o = op("upload-response-pdf", http.MethodPost, "upload-response-pdf",
			"Store the government's response PDF of a transfer (multipart `pdf`; sniffed, at most 10 MiB). Changes no status: approve or reject for that")
		o.SkipValidateBody = true
		o.RequestBody = rawBodyDoc(s.API, nil, "", map[string]*huma.Schema{"pdf": {Type: huma.TypeString, Format: "binary", Description: "The PDF"}})
		Register(s.API, o, Permission(identity.PermGestionarSolicitudes), upload)
		o = op("upload-filled-pdf", http.MethodPost, "upload-filled-pdf",
			"Replace a pending transfer's filled form (multipart `pdf`; sniffed, at most 10 MiB) and submit the request (hps.gestionar_solicitudes or a lead of the applicant's team)")
		o.SkipValidateBody = true
		o.RequestBody = rawBodyDoc(s.API, nil, "", map[string]*huma.Schema{"pdf": {Type: huma.TypeString, Format: "binary", Description: "The PDF"}})
		Register(s.API, o, read, uploadFilled)
		Register(s.API, op("extract-pdf-fields", http.MethodGet, "extract-pdf-fields",
			"The filled transfer form's fields {name: value} (\"\" when empty)"), read, fields)
		Register(s.API, op("edit-filled-pdf", http.MethodPost, "edit-filled-pdf",
			"Write {field: value} into a pending transfer's filled form (hps.gestionar_solicitudes or a lead of the applicant's team; fields named *fecha* as dd/mm/yyyy)"), read, edit)
	}
}
