package httpapi

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// Document images (the scanned AC21): served from the file store only to
// callers with productos.ver, never as a public static file (legacy §9.2),
// with the content type sniffed when stored and "nosniff", so an uploaded
// file cannot be made to run as a page.

type documentImageInput struct {
	ID string `path:"id" doc:"Document id"`
}

type documentImageOutput struct {
	ContentType         string `header:"Content-Type"`
	ContentLength       string `header:"Content-Length"`
	ContentDisposition  string `header:"Content-Disposition"`
	XContentTypeOptions string `header:"X-Content-Type-Options"`
	CacheControl        string `header:"Cache-Control"`
	ETag                string `header:"ETag"`
	Body                func(huma.Context)
}

type documentImageUploadInput struct {
	ID          string `path:"id" doc:"Document id"`
	ContentType string `header:"Content-Type"`
	RawBody     []byte `contentType:"multipart/form-data"`
}

// DocumentImageJSON answers an image upload.
type DocumentImageJSON struct {
	Message              string `json:"message"`
	TieneImagenDocumento bool   `json:"tiene_imagen_documento"`
	ImagenDocumentoURL   string `json:"imagen_documento_url"`
}

// DocumentImagePath is the API path of a document's image.
func DocumentImagePath(id int64) string {
	return "/api/albaranes/" + strconv.FormatInt(id, 10) + "/imagen-documento/"
}

// documentImageURL is the absolute URL of a document's image.
func documentImageURL(ctx context.Context, id int64) string {
	p := DocumentImagePath(id)
	if u := RequestURL(ctx); u != nil && u.Host != "" {
		return u.Scheme + "://" + u.Host + p
	}
	return p
}

func (s *Server) registerDocumentImages() {
	tags := []string{"albaranes"}
	Register(s.API, huma.Operation{OperationID: "albaranes-imagen-documento", Method: http.MethodGet, Path: "/api/albaranes/{id}/imagen-documento/",
		Tags: tags, Summary: "The document's scanned image (PNG, JPEG, WebP or PDF), or 404 when it has none",
		Responses: map[string]*huma.Response{"200": {Description: "The image", Content: map[string]*huma.MediaType{
			"image/png": {}, "image/jpeg": {}, "image/webp": {}, "application/pdf": {}}}}},
		Permission(identity.PermProductosVer),
		func(ctx context.Context, in *documentImageInput) (*documentImageOutput, error) {
			id, err := stagingID(in.ID)
			if err != nil {
				return nil, err
			}
			rc, obj, err := s.deps.Custody.DocumentImage(ctx, s.deps.Files, id)
			if err != nil {
				return nil, err
			}
			ct, _, _ := strings.Cut(obj.ContentType, ";")
			ext := custody.ImageTypes[ct]
			if ext == "" {
				// Only the accepted types are ever stored; anything else is
				// served as an opaque download.
				ct, ext = "application/octet-stream", "bin"
			}
			disposition := "inline"
			if ext == "bin" {
				disposition = "attachment"
			}
			return &documentImageOutput{
				ContentType: ct, ContentLength: strconv.FormatInt(obj.Size, 10),
				ContentDisposition:  fmt.Sprintf(`%s; filename="albaran_%d_AC21.%s"`, disposition, id, ext),
				XContentTypeOptions: "nosniff", CacheControl: "private, no-store", ETag: `"` + obj.SHA256 + `"`,
				Body: func(hctx huma.Context) {
					defer rc.Close()
					hctx.SetStatus(http.StatusOK)
					_, _ = io.Copy(hctx.BodyWriter(), rc)
				},
			}, nil
		})
	Register(s.API, huma.Operation{OperationID: "albaranes-imagen-documento-upload", Method: http.MethodPost, Path: "/api/albaranes/{id}/imagen-documento/",
		Tags: tags, Summary: "Attach or replace the document's scanned image (multipart `imagen_documento`: PNG, JPEG, WebP or PDF)",
		SkipValidateBody: true, // parsed by the handler (JSON or multipart)
		RequestBody: rawBodyDoc(s.API, nil, "", map[string]*huma.Schema{
			"imagen_documento": {Type: huma.TypeString, Format: "binary", Description: "The scan"},
		})},
		Permission(identity.PermProductosEditar),
		func(ctx context.Context, in *documentImageUploadInput) (*struct{ Body DocumentImageJSON }, error) {
			id, err := stagingID(in.ID)
			if err != nil {
				return nil, err
			}
			form, err := multipartForm(in.ContentType, in.RawBody, "imagen_documento")
			if err != nil {
				return nil, err
			}
			defer func() { _ = form.RemoveAll() }()
			data, _, ok, err := formFile(form, "imagen_documento")
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, errs.Field("imagen_documento", "No file was submitted.")
			}
			if _, err := s.deps.Custody.AttachDocumentImage(ctx, s.deps.Files, id, data); err != nil {
				return nil, err
			}
			return &struct{ Body DocumentImageJSON }{Body: DocumentImageJSON{Message: "Imagen del documento guardada.",
				TieneImagenDocumento: true, ImagenDocumentoURL: documentImageURL(ctx, id)}}, nil
		})
}
