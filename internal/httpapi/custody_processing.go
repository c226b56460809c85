package httpapi

import (
	"context"
	"net/http"
	"strconv"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// The legacy processing service's contract (legacy-cryptotrace §7.1) on
// thot's in-process Excel import. The cryptotrace frontend uploads packing
// lists to {NEXT_PUBLIC_PROCESSING_URL}/upload-excel/, which production
// nginx mapped to /processing/; pointing that variable at thot's
// /processing keeps the page working unchanged. The rows are staged for
// the caller exactly as POST /api/lineas-temporales/import-excel/ does.
//
// Differences from the legacy service, on purpose: it checked only that an
// Authorization header was present (thot needs a valid token with
// productos.editar, as the import it forwarded to did); it saved the upload
// under the client's file name (thot never writes it to disk); and it
// answered every failure with 200 {error, traceback} (thot answers 4xx
// naming the field, so the page shows its error message instead of
// "procesado correctamente" with nothing staged).

// ProcessingArticulo is one staged row as the legacy service forwarded it.
type ProcessingArticulo struct {
	Codigo        string  `json:"codigo"`
	Descripcion   *string `json:"descripcion"`
	NumeroSerie   string  `json:"numero_serie"`
	Observaciones *string `json:"observaciones"`
	Cantidad      int     `json:"cantidad"`
	CC            *int    `json:"cc"`
}

// ProcessingStructured is the payload the legacy service built.
type ProcessingStructured struct {
	Cabecera  map[string]any       `json:"cabecera" doc:"{numero: the first row's Packing List}"`
	Articulos []ProcessingArticulo `json:"articulos"`
}

// ProcessingUploadJSON answers POST /processing/upload-excel/.
type ProcessingUploadJSON struct {
	Filename        string               `json:"filename"`
	StructuredData  ProcessingStructured `json:"structured_data"`
	BackendResponse BulkCreateJSON       `json:"backend_response" doc:"What staging answered (bulk_create's shape)"`
	Hoja            string               `json:"hoja" doc:"The sheet read"`
	Skipped         any                  `json:"skipped" doc:"Rows not staged, with their spreadsheet row number and why"`
}

func (s *Server) registerProcessing() {
	Register(s.API, huma.Operation{OperationID: "processing-upload-excel", Method: http.MethodPost, Path: "/processing/upload-excel/",
		Tags:    []string{"lineas-temporales"},
		Summary: "Stage an Excel (.xlsx) packing list (the legacy processing service's contract, for the cryptotrace frontend)",
		Description: "multipart/form-data with the workbook in `file`; the same import as POST /api/lineas-temporales/import-excel/, " +
			"answered in the legacy service's shape {filename, structured_data, backend_response}.",
		SkipValidateBody: true, // parsed by the handler (multipart)
		RequestBody: rawBodyDoc(s.API, nil, "", map[string]*huma.Schema{
			"file": {Type: huma.TypeString, Format: "binary", Description: "The .xlsx workbook"},
		})}, Permission(identity.PermProductosEditar),
		func(ctx context.Context, in *stagingRawInput) (*struct{ Body ProcessingUploadJSON }, error) {
			form, err := multipartForm(in.ContentType, in.RawBody, "file")
			if err != nil {
				return nil, err
			}
			defer func() { _ = form.RemoveAll() }()
			data, name, ok, err := formFile(form, "file")
			if err != nil {
				return nil, err
			}
			if !ok {
				return nil, errs.Field("file", "No file was submitted.")
			}
			res, err := s.deps.Custody.ImportExcel(ctx, stagingViewer(ctx), name, data)
			if err != nil {
				return nil, err
			}
			arts := make([]ProcessingArticulo, len(res.Lines))
			for i, l := range res.Lines {
				arts[i] = ProcessingArticulo{Codigo: l.CodigoProducto, Descripcion: l.Descripcion, NumeroSerie: l.NumeroSerie,
					Observaciones: l.Observaciones, Cantidad: l.Cantidad, CC: l.CC}
			}
			n := len(res.Lines)
			return &struct{ Body ProcessingUploadJSON }{Body: ProcessingUploadJSON{
				Filename:       name,
				StructuredData: ProcessingStructured{Cabecera: map[string]any{"numero": res.Numero}, Articulos: arts},
				BackendResponse: BulkCreateJSON{Message: strconv.Itoa(n) + " líneas preparadas para el documento " + res.Numero + ".",
					Count: n, NumeroAlbaran: res.Numero},
				Hoja: res.Sheet, Skipped: res.Skipped,
			}}, nil
		})
}
