package httpapi

import (
	"context"
	"net/http"
	"regexp"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// The AC21 output of a document: the HTML form the legacy pdf-generator
// service produced (now rendered in-process) and a printable PDF.

type ac21Input struct {
	ID string `path:"id" doc:"Document id: the main document or any of its pages (the whole document is rendered)"`
}

type ac21HTMLOutput struct {
	ContentType string `header:"Content-Type"`
	CSP         string `header:"Content-Security-Policy"`
	CacheCtl    string `header:"Cache-Control"`
	Body        []byte
}

type ac21PDFOutput struct {
	ContentType        string `header:"Content-Type"`
	ContentDisposition string `header:"Content-Disposition"`
	CacheCtl           string `header:"Cache-Control"`
	Body               []byte
}

// ac21DocID parses a path id; anything but a positive integer is a 404.
func ac21DocID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, &errs.Error{Kind: errs.KindNotFound, Message: "Not found."}
	}
	return id, nil
}

// ac21FileName keeps a document number safe inside a quoted
// Content-Disposition filename.
var ac21Unsafe = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func ac21FileName(numero string) string {
	n := ac21Unsafe.ReplaceAllString(numero, "_")
	if n == "" {
		n = "documento"
	}
	return "AC21-" + n + ".pdf"
}

func (s *Server) registerAC21() {
	read := Permission(identity.PermProductosVer)
	tags := []string{"albaranes"}
	load := func(ctx context.Context, raw string) (*custody.AC21, error) {
		id, err := ac21DocID(raw)
		if err != nil {
			return nil, err
		}
		return s.deps.Custody.AC21(ctx, id)
	}

	Register(s.API, huma.Operation{OperationID: "albaranes-generar-ac21-html", Method: http.MethodGet,
		Path: "/api/albaranes/{id}/generar-ac21-html/", Tags: tags,
		Summary:     "AC21 form of a document as HTML",
		Description: "Renders the whole document (every page, lines in page order) as the AC21 form: 21 lines a page, or the stored per-page structure of a multi-page document; pages are separated by CSS page breaks.",
		Responses: map[string]*huma.Response{"200": {Description: "The AC21 form",
			Content: map[string]*huma.MediaType{"text/html": {Schema: &huma.Schema{Type: "string"}}}}},
	}, read,
		func(ctx context.Context, in *ac21Input) (*ac21HTMLOutput, error) {
			v, err := load(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			b, err := custody.RenderAC21HTML(v)
			if err != nil {
				return nil, err
			}
			return &ac21HTMLOutput{ContentType: "text/html; charset=utf-8", CSP: custody.AC21StyleCSP, CacheCtl: "no-store", Body: b}, nil
		})

	Register(s.API, huma.Operation{OperationID: "albaranes-ac21-pdf", Method: http.MethodGet,
		Path: "/api/albaranes/{id}/ac21.pdf", Tags: tags,
		Summary:     "AC21 form of a document as a printable PDF",
		Description: "The same form and paging as generar-ac21-html, drawn on A4 sheets.",
		Responses: map[string]*huma.Response{"200": {Description: "The AC21 form (A4 PDF)",
			Content: map[string]*huma.MediaType{"application/pdf": {Schema: &huma.Schema{Type: "string", Format: "binary"}}}}},
	}, read,
		func(ctx context.Context, in *ac21Input) (*ac21PDFOutput, error) {
			v, err := load(ctx, in.ID)
			if err != nil {
				return nil, err
			}
			b, err := custody.RenderAC21PDF(v)
			if err != nil {
				return nil, err
			}
			return &ac21PDFOutput{ContentType: "application/pdf", CacheCtl: "no-store",
				ContentDisposition: `inline; filename="` + ac21FileName(v.NumeroAlbaran) + `"`, Body: b}, nil
		})
}
