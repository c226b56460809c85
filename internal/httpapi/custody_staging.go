package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"reflect"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// Staging ("línea temporal"): /api/lineas-temporales/ (legacy
// LineaTemporalProductoViewSet, §3.4) and the in-process Excel packing
// list import. Reads need productos.ver and writes productos.editar;
// besides, lines are their owner's: productos.ver_toda_linea_temporal
// sees and edits everyone's, productos.limpiar_toda_linea_temporal purges
// everyone's processed lines, and procesar only ever takes the caller's.

// LineaTemporalJSON is a staging line as the legacy clients read it.
type LineaTemporalJSON struct {
	ID               int64          `json:"id"`
	Usuario          int64          `json:"usuario" doc:"Owner (read-only: always the caller on create)"`
	NumeroAlbaran    string         `json:"numero_albaran"`
	CodigoProducto   string         `json:"codigo_producto"`
	Descripcion      *string        `json:"descripcion"`
	NumeroSerie      string         `json:"numero_serie"`
	BultosTotal      *int           `json:"bultos_total"`
	Observaciones    *string        `json:"observaciones"`
	Procesado        bool           `json:"procesado"`
	Cantidad         int            `json:"cantidad"`
	CC               *int           `json:"cc"`
	TipoProducto     *int64         `json:"tipo_producto" doc:"TipoProducto id"`
	DatosAdicionales map[string]any `json:"datos_adicionales" doc:"Shared header of the staged document (cabecera, empresas, accesorios, equipos_prueba, firmas, observaciones_generales, imagen_temporal_name)"`
	CreatedAt        string         `json:"created_at"`
	UpdatedAt        string         `json:"updated_at"`
}

func lineaTemporalJSON(l *custody.LineaTemporal) LineaTemporalJSON {
	d := l.DatosAdicionales
	if d == nil {
		d = map[string]any{}
	}
	return LineaTemporalJSON{ID: l.ID, Usuario: l.UsuarioID, NumeroAlbaran: l.NumeroAlbaran, CodigoProducto: l.CodigoProducto,
		Descripcion: l.Descripcion, NumeroSerie: l.NumeroSerie, BultosTotal: l.BultosTotal, Observaciones: l.Observaciones,
		Procesado: l.Procesado, Cantidad: l.Cantidad, CC: l.CC, TipoProducto: l.TipoProductoID, DatosAdicionales: d,
		CreatedAt: isoTime(l.CreatedAt), UpdatedAt: isoTime(l.UpdatedAt)}
}

func lineasTemporalesJSON(ls []custody.LineaTemporal) []LineaTemporalJSON {
	out := make([]LineaTemporalJSON, len(ls))
	for i := range ls {
		out[i] = lineaTemporalJSON(&ls[i])
	}
	return out
}

// stagingOpt is a written field that may be absent, null or a value.
type stagingOpt[T any] struct {
	set   bool
	value *T
}

// UnmarshalJSON records presence; huma has validated the type already.
func (o *stagingOpt[T]) UnmarshalJSON(b []byte) error {
	o.set, o.value = true, nil
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	var v T
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	o.value = &v
	return nil
}

// Schema documents the value type, nullable.
func (stagingOpt[T]) Schema(r huma.Registry) *huma.Schema {
	base := r.Schema(reflect.TypeFor[T](), false, "")
	s := *base
	s.Nullable = true
	return &s
}

func (o stagingOpt[T]) ptr() **T {
	if !o.set {
		return nil
	}
	v := o.value
	return &v
}

// lineaWrite is the writable part of a line (usuario, id and timestamps
// are read-only and ignored).
type lineaWrite struct {
	NumeroAlbaran    *string            `json:"numero_albaran"`
	CodigoProducto   *string            `json:"codigo_producto"`
	Descripcion      stagingOpt[string] `json:"descripcion"`
	NumeroSerie      *string            `json:"numero_serie"`
	BultosTotal      stagingOpt[int]    `json:"bultos_total"`
	Observaciones    stagingOpt[string] `json:"observaciones"`
	Procesado        *bool              `json:"procesado"`
	Cantidad         *int               `json:"cantidad"`
	CC               stagingOpt[int]    `json:"cc"`
	TipoProducto     stagingOpt[int64]  `json:"tipo_producto"`
	DatosAdicionales *map[string]any    `json:"datos_adicionales"`
}

func (w *lineaWrite) input() custody.LineaInput {
	return custody.LineaInput{NumeroAlbaran: w.NumeroAlbaran, CodigoProducto: w.CodigoProducto, Descripcion: w.Descripcion.ptr(),
		NumeroSerie: w.NumeroSerie, BultosTotal: w.BultosTotal.ptr(), Observaciones: w.Observaciones.ptr(), Procesado: w.Procesado,
		Cantidad: w.Cantidad, CC: w.CC.ptr(), TipoProductoID: w.TipoProducto.ptr(), DatosAdicionales: w.DatosAdicionales}
}

type stagingListInput struct {
	PageParams
	Procesado string `query:"procesado" doc:"true, false (default) or all"`
}

type stagingIDInput struct {
	ID string `path:"id" doc:"Line id"`
}

type stagingCreateInput struct {
	Body lineaWrite
}

type stagingUpdateInput struct {
	ID   string `path:"id" doc:"Line id"`
	Body lineaWrite
}

type stagingLineOutput struct{ Body LineaTemporalJSON }

// stagingRawInput is an operation whose body thot parses itself (JSON or
// multipart).
type stagingRawInput struct {
	ContentType string `header:"Content-Type"`
	RawBody     []byte `contentType:"multipart/form-data"`
}

// BulkCreateJSON is the answer of bulk_create.
type BulkCreateJSON struct {
	Message       string `json:"message"`
	Count         int    `json:"count"`
	ConImagen     bool   `json:"con_imagen"`
	NumeroAlbaran string `json:"numero_albaran"`
}

// bulkCreateDoc documents the bulk_create body (it is parsed loosely: the
// values come from OCR).
type bulkCreateDoc struct {
	Cabecera       map[string]any   `json:"cabecera" doc:"numero | numero_registro_entrada | numero_registro_salida, tipo_transaccion, fecha_informe (YYYY-MM-DD), fecha_transaccion_dma (DD/MM/YYYY), codigos_contabilidad, odmc_numero"`
	EmpresaOrigen  map[string]any   `json:"empresa_origen" doc:"{id, …}"`
	EmpresaDestino map[string]any   `json:"empresa_destino" doc:"{id, …}"`
	Accesorios     []map[string]any `json:"accesorios" doc:"[{descripcion, cantidad}]"`
	EquiposPrueba  []map[string]any `json:"equipos_prueba" doc:"[{codigo}]"`
	Firmas         map[string]any   `json:"firmas" doc:"{firma_a, firma_b: {nombre, cargo, empleo_rango}}"`
	Observaciones  string           `json:"observaciones"`
	Articulos      []map[string]any `json:"articulos" doc:"[{codigo, numero_serie | numero_serie_inicio | numero_serie_fin, descripcion, cantidad, cc, observaciones}] — at most 5000"`
}

// AgrupadoJSON is one code of GET …/agrupados/.
type AgrupadoJSON struct {
	CodigoProducto string  `json:"codigo_producto"`
	Cantidad       int     `json:"cantidad" doc:"Number of staged lines"`
	Tipificado     bool    `json:"tipificado" doc:"The catalog product exists and has a type"`
	Descripcion    string  `json:"descripcion"`
	Tipo           *string `json:"tipo"`
}

// AgrupadosJSON is GET …/agrupados/.
type AgrupadosJSON struct {
	Productos        []AgrupadoJSON `json:"productos"`
	TiposDisponibles []string       `json:"tipos_disponibles"`
}

type stagingGroupsInput struct {
	Procesado string `query:"procesado" doc:"true, false (default) or all"`
}

type stagingAsignarInput struct {
	Body struct {
		CodigoProducto string `json:"codigo_producto" required:"true"`
		Tipo           string `json:"tipo" required:"true" doc:"Type name; created if it does not exist"`
	}
}

// StagingAsignarJSON is the answer of asignar_tipo.
type StagingAsignarJSON struct {
	Message    string `json:"message"`
	Created    bool   `json:"created" doc:"The catalog product was created"`
	TipoCreado bool   `json:"tipo_creado"`
	ProductoID int64  `json:"producto_id"`
	TipoID     int64  `json:"tipo_id"`
	Codigo     string `json:"codigo_producto"`
	TipoNombre string `json:"tipo"`
}

type stagingProcesarInput struct {
	Body *struct {
		NumeroAlbaran  string         `json:"numero_albaran" doc:"Which staged document, when lines of several are pending"`
		Cabecera       map[string]any `json:"cabecera" doc:"Overrides of the staged header (merged key by key)"`
		EmpresaOrigen  any            `json:"empresa_origen"`
		EmpresaDestino any            `json:"empresa_destino"`
		Accesorios     any            `json:"accesorios"`
		EquiposPrueba  any            `json:"equipos_prueba"`
		Firmas         any            `json:"firmas"`
		Observaciones  any            `json:"observaciones"`
	}
}

// ProcesarJSON is the answer of procesar.
type ProcesarJSON struct {
	Detail       string            `json:"detail"`
	AlbaranID    int64             `json:"albaran_id"`
	Numero       string            `json:"numero"`
	PaginaNumero int               `json:"pagina_numero"`
	Procesados   int               `json:"procesados" doc:"Movements created"`
	Omitidos     []custody.Omitido `json:"omitidos" doc:"Lines already on the document (marked processed, no movement)"`
	ConImagen    bool              `json:"con_imagen"`
	Pendientes   []custody.Omitido `json:"pendientes" doc:"Lines left in staging because their code has no type; once typed, procesar adds them to this same document"`
	// CodigosSinTipo are the codes of the pending lines.
	CodigosSinTipo  []string `json:"codigos_sin_tipo"`
	OtrosDocumentos []string `json:"otros_documentos" doc:"The caller's other staged documents, left pending (procesar takes one document at a time)"`
}

func procesarJSON(res *custody.ProcessResult) ProcesarJSON {
	nonNil := func(o []custody.Omitido) []custody.Omitido {
		if o == nil {
			return []custody.Omitido{}
		}
		return o
	}
	strs := func(v []string) []string {
		if v == nil {
			return []string{}
		}
		return v
	}
	n := strconv.Itoa(res.Procesados)
	var detail string
	switch {
	case res.Continuacion:
		detail = n + " movimientos añadidos al documento " + res.Numero + "."
	case res.PaginaNumero > 1:
		detail = "Página " + strconv.Itoa(res.PaginaNumero) + " (" + res.Numero + ") añadida con " + n + " movimientos."
	default:
		detail = "Documento " + res.Numero + " creado con " + n + " movimientos."
	}
	if len(res.Pendientes) > 0 {
		detail += " " + strconv.Itoa(len(res.Pendientes)) + " líneas quedan en la línea temporal porque sus productos no tienen tipo (" +
			strings.Join(res.CodigosSinTipo, ", ") + "); asígneles uno y vuelva a procesar."
	}
	if len(res.OtrosDocumentos) > 0 {
		detail += " Quedan pendientes otros documentos: " + strings.Join(res.OtrosDocumentos, ", ") + "."
	}
	return ProcesarJSON{Detail: detail, AlbaranID: res.AlbaranID, Numero: res.Numero, PaginaNumero: res.PaginaNumero,
		Procesados: res.Procesados, Omitidos: nonNil(res.Omitidos), ConImagen: res.ConImagen, Pendientes: nonNil(res.Pendientes),
		CodigosSinTipo: strs(res.CodigosSinTipo), OtrosDocumentos: strs(res.OtrosDocumentos)}
}

type stagingLimpiarInput struct {
	Body *struct {
		Dias any `json:"dias" doc:"Delete processed lines older than this many days (integer ≥ 0, default 30)"`
	}
}

// StagingMessageJSON is {message, count}.
type StagingMessageJSON struct {
	Message string `json:"message"`
	Count   int    `json:"count"`
}

// ExcelImportJSON is the answer of import-excel.
type ExcelImportJSON struct {
	NumeroAlbaran string              `json:"numero_albaran"`
	Hoja          string              `json:"hoja"`
	Staged        int                 `json:"staged"`
	Skipped       []custody.ExcelSkip `json:"skipped" doc:"Rows not staged, with their spreadsheet row number and why"`
	Lineas        []LineaTemporalJSON `json:"lineas"`
}

// stagingViewer is the caller as staging sees it.
func stagingViewer(ctx context.Context) custody.Viewer {
	p := PrincipalFrom(ctx)
	return custody.Viewer{UserID: p.User.ID, SeeAll: p.Can(identity.PermVerTodaLineaTemporal),
		PurgeAll: p.Can(identity.PermLimpiarLineaTemporal)}
}

// stagingID parses a path id; anything but a positive integer is a 404.
func stagingID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, &errs.Error{Kind: errs.KindNotFound, Message: "Not found."}
	}
	return id, nil
}

// parseProcesado reads ?procesado=true|false|all (default false).
func parseProcesado(s string) (*bool, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "false", "0", "no":
		f := false
		return &f, nil
	case "true", "1", "yes", "si", "sí":
		t := true
		return &t, nil
	case "all", "todos", "todas":
		return nil, nil
	}
	return nil, errs.Field("procesado", "Use true, false o all.")
}

// parseDias reads limpiar_procesados' dias: an integer ≥ 0 (also as a
// numeric string), 30 when absent.
func parseDias(v any) (int, error) {
	bad := errs.Field("dias", "A valid integer is required.")
	switch x := v.(type) {
	case nil:
		return 30, nil
	case float64:
		if x != float64(int64(x)) || x > 1e9 || x < -1e9 {
			return 0, bad
		}
		return int(x), nil
	case string:
		x = strings.TrimSpace(x)
		if x == "" {
			return 30, nil
		}
		n, err := strconv.Atoi(x)
		if err != nil {
			return 0, bad
		}
		return n, nil
	}
	return 0, bad
}

// multipartForm parses a multipart body already read into memory. A body
// that is not multipart is a 400 naming field.
func multipartForm(contentType string, body []byte, field string) (*multipart.Form, error) {
	mt, params, err := mime.ParseMediaType(contentType)
	if err != nil || !strings.HasPrefix(mt, "multipart/") || params["boundary"] == "" {
		return nil, errs.Field(field, "Envíe el archivo como multipart/form-data en el campo "+field+".")
	}
	// The body is in memory already (and capped by the upload limit), so
	// parts stay in memory too: nothing is written to temporary files.
	form, err := multipart.NewReader(bytes.NewReader(body), params["boundary"]).ReadForm(int64(len(body)) + 1<<20)
	if err != nil {
		return nil, errs.Field(field, "El cuerpo multipart/form-data está mal formado.")
	}
	return form, nil
}

// formFile reads one uploaded file of form; ok is false when absent.
func formFile(form *multipart.Form, field string) (data []byte, filename string, ok bool, err error) {
	fhs := form.File[field]
	if len(fhs) == 0 {
		return nil, "", false, nil
	}
	f, err := fhs[0].Open()
	if err != nil {
		return nil, "", false, errs.Field(field, "No se puede leer el archivo enviado.")
	}
	defer f.Close()
	data, err = io.ReadAll(f)
	if err != nil {
		return nil, "", false, errs.Field(field, "No se puede leer el archivo enviado.")
	}
	return data, fhs[0].Filename, true, nil
}

// jsonParseError is DRF's answer to a body that does not parse.
func jsonParseError(err error) error {
	return &errs.Error{Kind: errs.KindInvalid, Message: "JSON parse error - " + err.Error()}
}

// bulkPayload reads bulk_create's body: JSON, or multipart with the JSON
// in `data` and an optional `imagen_documento` file.
func bulkPayload(contentType string, body []byte) (*custody.BulkPayload, *custody.Upload, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	raw := body
	var img *custody.Upload
	if strings.HasPrefix(mt, "multipart/") {
		form, err := multipartForm(contentType, body, "data")
		if err != nil {
			return nil, nil, err
		}
		defer func() { _ = form.RemoveAll() }()
		vals := form.Value["data"]
		if len(vals) == 0 || strings.TrimSpace(vals[0]) == "" {
			return nil, nil, errs.Field("data", "This field is required.")
		}
		raw = []byte(vals[0])
		data, _, ok, err := formFile(form, "imagen_documento")
		if err != nil {
			return nil, nil, err
		}
		if ok {
			img = &custody.Upload{Data: data}
		}
	} else if mt != "" && mt != "application/json" {
		return nil, nil, &errs.Error{Kind: errs.KindInvalid, Message: "Unsupported media type \"" + mt + "\" in request: use application/json or multipart/form-data."}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var p custody.BulkPayload
	if err := dec.Decode(&p); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return nil, nil, errs.Field(strings.SplitN(te.Field, ".", 2)[0], "Tipo de valor no válido.")
		}
		return nil, nil, jsonParseError(err)
	}
	return &p, img, nil
}

// rawBodyDoc documents a body thot parses itself.
func rawBodyDoc(api huma.API, jsonType reflect.Type, jsonName string, parts map[string]*huma.Schema) *huma.RequestBody {
	rb := &huma.RequestBody{Required: true, Content: map[string]*huma.MediaType{}}
	if jsonType != nil {
		rb.Content["application/json"] = &huma.MediaType{Schema: api.OpenAPI().Components.Schemas.Schema(jsonType, true, jsonName)}
	}
	rb.Content["multipart/form-data"] = &huma.MediaType{Schema: &huma.Schema{Type: huma.TypeObject, Properties: parts}}
	return rb
}

func (s *Server) registerStaging() {
	read := Permission(identity.PermProductosVer)
	write := Permission(identity.PermProductosEditar)
	tags := []string{"lineas-temporales"}
	const base = "/api/lineas-temporales/"

	Register(s.API, huma.Operation{OperationID: "lineas-temporales-list", Method: http.MethodGet, Path: base, Tags: tags,
		Summary: "List staging lines: the caller's own, everyone's with productos.ver_toda_linea_temporal"}, read,
		func(ctx context.Context, in *stagingListInput) (*struct{ Body List[LineaTemporalJSON] }, error) {
			proc, err := parseProcesado(in.Procesado)
			if err != nil {
				return nil, err
			}
			ls, n, err := s.deps.Custody.ListStaging(ctx, stagingViewer(ctx), proc, in.Limit(), in.Offset())
			if err != nil {
				return nil, err
			}
			if err := CheckPage(in.PageParams, n); err != nil {
				return nil, err
			}
			return &struct{ Body List[LineaTemporalJSON] }{Body: NewList(lineasTemporalesJSON(ls), in.PageParams, n, RequestURL(ctx))}, nil
		})
	Register(s.API, huma.Operation{OperationID: "lineas-temporales-create", Method: http.MethodPost, Path: base, Tags: tags,
		Summary: "Stage one line for the caller", DefaultStatus: http.StatusCreated}, write,
		func(ctx context.Context, in *stagingCreateInput) (*stagingLineOutput, error) {
			l, err := s.deps.Custody.CreateStagingLine(ctx, stagingViewer(ctx), in.Body.input())
			if err != nil {
				return nil, err
			}
			return &stagingLineOutput{Body: lineaTemporalJSON(l)}, nil
		})
	Register(s.API, huma.Operation{OperationID: "lineas-temporales-get", Method: http.MethodGet, Path: base + "{id}/", Tags: tags,
		Summary: "One staging line (404 unless visible to the caller)"}, read,
		func(ctx context.Context, in *stagingIDInput) (*stagingLineOutput, error) {
			id, err := stagingID(in.ID)
			if err != nil {
				return nil, err
			}
			l, err := s.deps.Custody.StagingLine(ctx, stagingViewer(ctx), id)
			if err != nil {
				return nil, err
			}
			return &stagingLineOutput{Body: lineaTemporalJSON(l)}, nil
		})
	update := func(full bool) func(context.Context, *stagingUpdateInput) (*stagingLineOutput, error) {
		return func(ctx context.Context, in *stagingUpdateInput) (*stagingLineOutput, error) {
			id, err := stagingID(in.ID)
			if err != nil {
				return nil, err
			}
			l, err := s.deps.Custody.UpdateStagingLine(ctx, stagingViewer(ctx), id, in.Body.input(), full)
			if err != nil {
				return nil, err
			}
			return &stagingLineOutput{Body: lineaTemporalJSON(l)}, nil
		}
	}
	Register(s.API, huma.Operation{OperationID: "lineas-temporales-update", Method: http.MethodPut, Path: base + "{id}/", Tags: tags,
		Summary: "Replace a staging line (usuario is read-only)"}, write, update(true))
	Register(s.API, huma.Operation{OperationID: "lineas-temporales-patch", Method: http.MethodPatch, Path: base + "{id}/", Tags: tags,
		Summary: "Change some fields of a staging line"}, write, update(false))
	Register(s.API, huma.Operation{OperationID: "lineas-temporales-delete", Method: http.MethodDelete, Path: base + "{id}/", Tags: tags,
		Summary: "Delete a staging line", DefaultStatus: http.StatusNoContent}, write,
		func(ctx context.Context, in *stagingIDInput) (*struct{}, error) {
			id, err := stagingID(in.ID)
			if err != nil {
				return nil, err
			}
			return nil, s.deps.Custody.DeleteStagingLine(ctx, s.deps.Files, stagingViewer(ctx), id)
		})

	Register(s.API, huma.Operation{OperationID: "lineas-temporales-bulk-create", Method: http.MethodPost, Path: base + "bulk_create/", Tags: tags,
		Summary: "Stage a whole document (OCR'd AC21 or packing list), all lines or none, with an optional image",
		Description: "JSON, or multipart/form-data with the JSON in `data` and an optional `imagen_documento` file " +
			"(PNG, JPEG, WebP or PDF). One line per articulo; datos_adicionales holds the shared header.",
		DefaultStatus:    http.StatusCreated,
		SkipValidateBody: true, // parsed by the handler (JSON or multipart)
		RequestBody: rawBodyDoc(s.API, reflect.TypeFor[bulkCreateDoc](), "BulkCreateRequest", map[string]*huma.Schema{
			"data":             {Type: huma.TypeString, Description: "The JSON body, as text"},
			"imagen_documento": {Type: huma.TypeString, Format: "binary", Description: "Scan of the document (PNG, JPEG, WebP or PDF)"},
		})}, write,
		func(ctx context.Context, in *stagingRawInput) (*struct{ Body BulkCreateJSON }, error) {
			p, img, err := bulkPayload(in.ContentType, in.RawBody)
			if err != nil {
				return nil, err
			}
			res, err := s.deps.Custody.BulkStage(ctx, s.deps.Files, stagingViewer(ctx), p, img)
			if err != nil {
				return nil, err
			}
			return &struct{ Body BulkCreateJSON }{Body: BulkCreateJSON{
				Message: strconv.Itoa(len(res.Lines)) + " líneas preparadas para el documento " + res.Numero + ".",
				Count:   len(res.Lines), ConImagen: res.ConImagen, NumeroAlbaran: res.Numero}}, nil
		})

	Register(s.API, huma.Operation{OperationID: "lineas-temporales-agrupados", Method: http.MethodGet, Path: base + "agrupados/", Tags: tags,
		Summary: "Visible staging lines grouped by product code, with whether each code is typed, and the available types"}, read,
		func(ctx context.Context, in *stagingGroupsInput) (*struct{ Body AgrupadosJSON }, error) {
			proc, err := parseProcesado(in.Procesado)
			if err != nil {
				return nil, err
			}
			groups, tipos, err := s.deps.Custody.StagingGroups(ctx, stagingViewer(ctx), proc)
			if err != nil {
				return nil, err
			}
			out := AgrupadosJSON{Productos: make([]AgrupadoJSON, len(groups)), TiposDisponibles: tipos}
			for i, g := range groups {
				out.Productos[i] = AgrupadoJSON{CodigoProducto: g.CodigoProducto, Cantidad: g.Cantidad, Tipificado: g.Tipificado,
					Descripcion: g.Descripcion, Tipo: g.Tipo}
			}
			return &struct{ Body AgrupadosJSON }{Body: out}, nil
		})

	asignarTipo := func(ctx context.Context, in *stagingAsignarInput) (*struct{ Body StagingAsignarJSON }, error) {
		res, err := s.deps.Custody.AssignStagingType(ctx, in.Body.CodigoProducto, in.Body.Tipo)
		if err != nil {
			return nil, err
		}
		codigo, tipo := strings.TrimSpace(in.Body.CodigoProducto), strings.TrimSpace(in.Body.Tipo)
		msg := "Tipo " + tipo + " asignado al producto " + codigo + "."
		if res.Created {
			msg = "Producto " + codigo + " creado con el tipo " + tipo + "."
		}
		return &struct{ Body StagingAsignarJSON }{Body: StagingAsignarJSON{Message: msg, Created: res.Created, TipoCreado: res.TipoCreated,
			ProductoID: res.ProductoID, TipoID: res.TipoID, Codigo: codigo, TipoNombre: tipo}}, nil
	}
	Register(s.API, huma.Operation{OperationID: "lineas-temporales-asignar-tipo", Method: http.MethodPost, Path: base + "asignar_tipo/", Tags: tags,
		Summary: "Give a product code a type: get-or-create the type by name, create-or-update the catalog product"}, write, asignarTipo)
	// The frontend's api.ts (guardarTipoProducto) spells it with a hyphen.
	Register(s.API, huma.Operation{OperationID: "lineas-temporales-asignar-tipo-guion", Method: http.MethodPost, Path: base + "asignar-tipo/", Tags: tags,
		Summary: "Same as asignar_tipo/ (the spelling the cryptotrace frontend calls)"}, write, asignarTipo)

	Register(s.API, huma.Operation{OperationID: "lineas-temporales-procesar", Method: http.MethodPost, Path: base + "procesar/", Tags: tags,
		Summary: "Turn the caller's pending lines into an ENTRADA document (or a new page of the incoming document with the same registry number)",
		Description: "Lines whose code is not in the catalog or has no type stay in staging, reported in `pendientes` and " +
			"`codigos_sin_tipo`; once typed, the next procesar adds them to the same document. With no typed line at all it refuses " +
			"(400 with `codigos_sin_tipo`) and writes nothing. Lines already on the document are skipped, reported in `omitidos` " +
			"and marked processed. With lines of several staged documents pending and no `numero_albaran` (nor overrides), " +
			"the document staged first is processed and the others are listed in `otros_documentos`.",
		DefaultStatus: http.StatusCreated}, write,
		func(ctx context.Context, in *stagingProcesarInput) (*struct{ Body ProcesarJSON }, error) {
			var pi custody.ProcesarInput
			if b := in.Body; b != nil {
				pi = custody.ProcesarInput{NumeroAlbaran: b.NumeroAlbaran, Cabecera: b.Cabecera, EmpresaOrigen: b.EmpresaOrigen,
					EmpresaDestino: b.EmpresaDestino, Accesorios: b.Accesorios, EquiposPrueba: b.EquiposPrueba, Firmas: b.Firmas,
					Observaciones: b.Observaciones}
			}
			res, err := s.deps.Custody.ProcessStaging(ctx, s.deps.Files, stagingViewer(ctx), pi)
			if err != nil {
				return nil, err
			}
			return &struct{ Body ProcesarJSON }{Body: procesarJSON(res)}, nil
		})

	Register(s.API, huma.Operation{OperationID: "lineas-temporales-limpiar-procesados", Method: http.MethodPost, Path: base + "limpiar_procesados/", Tags: tags,
		Summary: "Delete processed lines older than `dias` days: the caller's, everyone's with productos.limpiar_toda_linea_temporal"}, write,
		func(ctx context.Context, in *stagingLimpiarInput) (*struct{ Body StagingMessageJSON }, error) {
			var raw any
			if in.Body != nil {
				raw = in.Body.Dias
			}
			dias, err := parseDias(raw)
			if err != nil {
				return nil, err
			}
			n, err := s.deps.Custody.PurgeStaging(ctx, s.deps.Files, stagingViewer(ctx), dias)
			if err != nil {
				return nil, err
			}
			return &struct{ Body StagingMessageJSON }{Body: StagingMessageJSON{
				Message: strconv.Itoa(n) + " líneas procesadas eliminadas.", Count: n}}, nil
		})

	Register(s.API, huma.Operation{OperationID: "lineas-temporales-import-excel", Method: http.MethodPost, Path: base + "import-excel/", Tags: tags,
		Summary: "Stage an Excel (.xlsx) packing list for the caller",
		Description: "multipart/form-data with the workbook in `file`. Columns (headers matched ignoring case, accents, spaces and " +
			"punctuation): Packing List, Part. N, Descripción, S/N, BULTOS TOTAL, OBSERVACIONES. At most 5000 data rows. " +
			"Answers with what was staged and every row skipped and why.",
		DefaultStatus:    http.StatusCreated,
		SkipValidateBody: true, // parsed by the handler (JSON or multipart)
		RequestBody: rawBodyDoc(s.API, nil, "", map[string]*huma.Schema{
			"file": {Type: huma.TypeString, Format: "binary", Description: "The .xlsx workbook"},
		})}, write,
		func(ctx context.Context, in *stagingRawInput) (*struct{ Body ExcelImportJSON }, error) {
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
			return &struct{ Body ExcelImportJSON }{Body: ExcelImportJSON{NumeroAlbaran: res.Numero, Hoja: res.Sheet, Staged: len(res.Lines),
				Skipped: res.Skipped, Lineas: lineasTemporalesJSON(res.Lines)}}, nil
		})

	s.registerDocumentImages()
}
