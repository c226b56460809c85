package custody

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/filestore"
)

// Staging ("línea temporal", legacy §3.4): incoming AC21s (OCR) and Excel
// packing lists are first staged as lines owned by the user who loaded
// them; the user types the unknown product codes (asignar_tipo) and then
// processes the lines into one ENTRADA document (or an extra page of the
// incoming document with the same registry number).
//
// Rules kept from the legacy, and the defects fixed:
//   - Lines are their owner's; productos.ver_toda_linea_temporal sees (and
//     may edit) everyone's, productos.limpiar_toda_linea_temporal purges
//     everyone's processed lines. procesar only ever takes the caller's own.
//   - bulk_create validates every line (all or nothing) instead of storing
//     whatever came.
//   - procesar turns the typed lines into movements and leaves the lines
//     whose code is not in the catalog or has no type pending, reported
//     (the legacy skipped them silently and still marked them processed);
//     once typed, they join the same document. With no typed line at all
//     it refuses, changing nothing. It refuses unknown document types, unknown
//     companies and unparseable dates instead of storing them; it never
//     merges lines of two different staged documents; it marks processed
//     only the lines now accounted for on the document: those turned into
//     movements, and those whose (product, serial) was already on it (they
//     are reported in "omitidos").
//   - Images live in the file store under generated names
//     ("staging/<user>/<nanos>_AC21.<ext>", then
//     "albaranes/<yyyy>/<mm>/albaran_<id>_AC21.<ext>"); rows record the
//     name, never a filesystem path. A staged image is deleted once no
//     unprocessed line refers to it.

// StagingStore is the persistence of staging and of document images.
type StagingStore interface {
	// ListStaging returns the lines f selects, newest first, and the total.
	ListStaging(ctx context.Context, f StagingFilter) ([]LineaTemporal, int, error)
	// StagingLine returns one line; KindNotFound unless owner is nil or
	// owns it.
	StagingLine(ctx context.Context, id int64, owner *int64) (*LineaTemporal, error)
	// CreateStagingLines stores lines (all or nothing) and audits them.
	CreateStagingLines(ctx context.Context, lines []LineaTemporal) ([]LineaTemporal, error)
	// UpdateStagingLine loads the line (visible to owner), lets change
	// edit it, stores and audits it.
	UpdateStagingLine(ctx context.Context, id int64, owner *int64, change func(*LineaTemporal) error) (*LineaTemporal, error)
	// DeleteStagingLine removes one line and returns it.
	DeleteStagingLine(ctx context.Context, id int64, owner *int64) (*LineaTemporal, error)
	// StagingGroups groups the lines f selects by product code (f's paging
	// is ignored) and lists the product type names.
	StagingGroups(ctx context.Context, f StagingFilter) ([]StagingGroup, []string, error)
	// AssignStagingType get-or-creates the type by name and
	// creates-or-updates the catalog product with it (a new product is
	// described by descripcion, else by a staged line, else "Producto
	// <codigo>").
	AssignStagingType(ctx context.Context, codigo, tipo, descripcion string) (AssignResult, error)
	// ProcessStaging runs procesar in one transaction (see ProcessRequest).
	ProcessStaging(ctx context.Context, req ProcessRequest) (*ProcessResult, error)
	// PurgeStaging deletes the processed lines created before before (of
	// owner, or everyone's when owner is nil) and returns them.
	PurgeStaging(ctx context.Context, owner *int64, before time.Time) ([]LineaTemporal, error)
	// UnreferencedStagingImages returns those of names no unprocessed line
	// refers to any more.
	UnreferencedStagingImages(ctx context.Context, names []string) ([]string, error)
	// DocumentImageName is a document's image name ("" when none).
	DocumentImageName(ctx context.Context, albaranID int64) (string, error)
	// ReplaceDocumentImage records name as the document's image, audited,
	// and returns the previous name.
	ReplaceDocumentImage(ctx context.Context, albaranID int64, name string) (string, error)
}

// StagingFilter selects staging lines.
type StagingFilter struct {
	// Owner restricts to one user's lines; nil means everyone's.
	Owner *int64
	// Procesado filters by state; nil means both.
	Procesado *bool
	Limit     int
	Offset    int
}

// StagingGroup is one product code of GET …/agrupados/.
type StagingGroup struct {
	CodigoProducto string
	Cantidad       int
	Tipificado     bool
	Descripcion    string
	Tipo           *string
}

// AssignResult is the outcome of asignar_tipo.
type AssignResult struct {
	ProductoID  int64
	TipoID      int64
	Created     bool // the catalog product was created
	TipoCreated bool
}

// Viewer is who is asking, as far as staging cares.
type Viewer struct {
	UserID int64
	// SeeAll: productos.ver_toda_linea_temporal.
	SeeAll bool
	// PurgeAll: productos.limpiar_toda_linea_temporal.
	PurgeAll bool
}

func (v Viewer) owner() *int64 {
	if v.SeeAll {
		return nil
	}
	id := v.UserID
	return &id
}

// Limits of staging input.
const (
	// MaxStagingLines bounds one bulk_create or Excel import.
	MaxStagingLines = 5000
	// MaxImageBytes bounds a document image.
	MaxImageBytes int64 = 20 << 20
	maxCodeLen          = 100
	maxTextLen          = 10000
)

// ImageTypes are the accepted document image types (sniffed from the
// content) and the extension each is stored with.
var ImageTypes = map[string]string{
	"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "application/pdf": "pdf",
}

func imagePutOptions() filestore.PutOptions {
	return filestore.PutOptions{MaxBytes: MaxImageBytes, AllowedTypes: []string{"image/png", "image/jpeg", "image/webp", "application/pdf"}}
}

// ---------------------------------------------------------------------
// Loose JSON values. Staged headers come from OCR and from a form; numbers
// may arrive as strings and strings as numbers.

// looseString renders a scalar JSON value as trimmed text ("" for null,
// objects and lists).
func looseString(v any) string {
	switch x := v.(type) {
	case string:
		return strings.TrimSpace(x)
	case json.Number:
		return x.String()
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return strconv.Itoa(x)
	case int64:
		return strconv.FormatInt(x, 10)
	case bool:
		if x {
			return "true"
		}
		return "false"
	}
	return ""
}

var errNotInt = errors.New("not an integer")

// looseInt reads an optional integer: a JSON number without fraction or
// a numeric string. ok is false when absent (null or "").
func looseInt(v any) (n int, ok bool, err error) {
	var s string
	switch x := v.(type) {
	case nil:
		return 0, false, nil
	case string:
		s = strings.TrimSpace(x)
		if s == "" {
			return 0, false, nil
		}
	case json.Number:
		s = x.String()
	case float64:
		s = strconv.FormatFloat(x, 'f', -1, 64)
	case int:
		return x, true, nil
	case int64:
		return int(x), true, nil
	default:
		return 0, false, errNotInt
	}
	if i, err := strconv.Atoi(s); err == nil {
		return i, true, nil
	}
	// "3.0" (spreadsheets, OCR) is an integer too.
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != float64(int64(f)) || f > 1e9 || f < -1e9 {
		return 0, false, errNotInt
	}
	return int(f), true, nil
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

func firstNonEmpty(vals ...any) string {
	for _, v := range vals {
		if s := looseString(v); s != "" {
			return s
		}
	}
	return ""
}

func strOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// ---------------------------------------------------------------------
// Single lines (the CRUD of /api/lineas-temporales/).

// LineaInput is a written staging line; nil fields are absent (PATCH).
type LineaInput struct {
	NumeroAlbaran    *string
	CodigoProducto   *string
	Descripcion      **string
	NumeroSerie      *string
	BultosTotal      **int
	Observaciones    **string
	Procesado        *bool
	Cantidad         *int
	CC               **int
	TipoProductoID   **int64
	DatosAdicionales *map[string]any
}

// apply validates in and writes it onto l. With full (PUT/POST), the
// required fields must be present.
func (in LineaInput) apply(l *LineaTemporal, full bool) error {
	fe := errs.FieldErrors{}
	text := func(field string, v *string, dst *string) {
		if v == nil {
			if full {
				fe.Add(field, "This field is required.")
			}
			return
		}
		s := strings.TrimSpace(*v)
		switch {
		case s == "":
			fe.Add(field, "This field may not be blank.")
		case len([]rune(s)) > maxCodeLen:
			fe.Add(field, fmt.Sprintf("Ensure this field has no more than %d characters.", maxCodeLen))
		default:
			*dst = s
		}
	}
	text("numero_albaran", in.NumeroAlbaran, &l.NumeroAlbaran)
	text("codigo_producto", in.CodigoProducto, &l.CodigoProducto)
	text("numero_serie", in.NumeroSerie, &l.NumeroSerie)
	optText := func(field string, v **string, dst **string) {
		if v == nil {
			return
		}
		if *v != nil && len(**v) > maxTextLen {
			fe.Add(field, fmt.Sprintf("Ensure this field has no more than %d characters.", maxTextLen))
			return
		}
		*dst = *v
	}
	optText("descripcion", in.Descripcion, &l.Descripcion)
	optText("observaciones", in.Observaciones, &l.Observaciones)
	if in.BultosTotal != nil {
		if *in.BultosTotal != nil && **in.BultosTotal < 0 {
			fe.Add("bultos_total", "Ensure this value is greater than or equal to 0.")
		} else {
			l.BultosTotal = *in.BultosTotal
		}
	}
	if in.Cantidad != nil {
		if *in.Cantidad < 0 {
			fe.Add("cantidad", "Ensure this value is greater than or equal to 0.")
		} else {
			l.Cantidad = *in.Cantidad
		}
	}
	if in.CC != nil {
		l.CC = *in.CC
	}
	if in.Procesado != nil {
		l.Procesado = *in.Procesado
	}
	if in.TipoProductoID != nil {
		l.TipoProductoID = *in.TipoProductoID
	}
	if in.DatosAdicionales != nil {
		l.DatosAdicionales = *in.DatosAdicionales
		if l.DatosAdicionales == nil {
			l.DatosAdicionales = map[string]any{}
		}
	}
	return fe.Err()
}

// ListStaging lists the lines the viewer may see.
func (s *Service) ListStaging(ctx context.Context, v Viewer, procesado *bool, limit, offset int) ([]LineaTemporal, int, error) {
	return s.store.ListStaging(ctx, StagingFilter{Owner: v.owner(), Procesado: procesado, Limit: limit, Offset: offset})
}

// StagingLine returns one visible line.
func (s *Service) StagingLine(ctx context.Context, v Viewer, id int64) (*LineaTemporal, error) {
	return s.store.StagingLine(ctx, id, v.owner())
}

// CreateStagingLine stages one line for the viewer (usuario is always the
// caller).
func (s *Service) CreateStagingLine(ctx context.Context, v Viewer, in LineaInput) (*LineaTemporal, error) {
	cc := DefaultCC
	l := LineaTemporal{UsuarioID: v.UserID, Cantidad: 1, CC: &cc, DatosAdicionales: map[string]any{}}
	if err := in.apply(&l, true); err != nil {
		return nil, err
	}
	out, err := s.store.CreateStagingLines(ctx, []LineaTemporal{l})
	if err != nil {
		return nil, err
	}
	return &out[0], nil
}

// UpdateStagingLine changes a visible line (PUT with full, PATCH without).
func (s *Service) UpdateStagingLine(ctx context.Context, v Viewer, id int64, in LineaInput, full bool) (*LineaTemporal, error) {
	return s.store.UpdateStagingLine(ctx, id, v.owner(), func(l *LineaTemporal) error { return in.apply(l, full) })
}

// DeleteStagingLine deletes a visible line (and its staged image when no
// other pending line refers to it).
func (s *Service) DeleteStagingLine(ctx context.Context, files filestore.Store, v Viewer, id int64) error {
	l, err := s.store.DeleteStagingLine(ctx, id, v.owner())
	if err != nil {
		return err
	}
	s.dropStagedImages(ctx, files, []LineaTemporal{*l})
	return nil
}

// StagingGroups is GET …/agrupados/ over the lines the viewer sees.
func (s *Service) StagingGroups(ctx context.Context, v Viewer, procesado *bool) ([]StagingGroup, []string, error) {
	return s.store.StagingGroups(ctx, StagingFilter{Owner: v.owner(), Procesado: procesado})
}

// AssignStagingType is POST …/asignar_tipo/.
func (s *Service) AssignStagingType(ctx context.Context, codigo, tipo string) (AssignResult, error) {
	codigo, tipo = strings.TrimSpace(codigo), strings.TrimSpace(tipo)
	fe := errs.FieldErrors{}
	switch {
	case codigo == "":
		fe.Add("codigo_producto", "This field is required.")
	case len([]rune(codigo)) > maxCodeLen:
		fe.Add("codigo_producto", fmt.Sprintf("Ensure this field has no more than %d characters.", maxCodeLen))
	}
	switch {
	case tipo == "":
		fe.Add("tipo", "This field is required.")
	case len([]rune(tipo)) > 50:
		fe.Add("tipo", "Ensure this field has no more than 50 characters.")
	}
	if err := fe.Err(); err != nil {
		return AssignResult{}, err
	}
	return s.store.AssignStagingType(ctx, codigo, tipo, "")
}

// PurgeStaging is POST …/limpiar_procesados/: deletes processed lines
// older than dias days, the viewer's own or (PurgeAll) everyone's.
func (s *Service) PurgeStaging(ctx context.Context, files filestore.Store, v Viewer, dias int) (int, error) {
	if dias < 0 {
		return 0, errs.Field("dias", "Ensure this value is greater than or equal to 0.")
	}
	if dias > 36500 {
		return 0, errs.Field("dias", "Ensure this value is less than or equal to 36500.")
	}
	var owner *int64
	if !v.PurgeAll {
		id := v.UserID
		owner = &id
	}
	gone, err := s.store.PurgeStaging(ctx, owner, s.now().Add(-time.Duration(dias)*24*time.Hour))
	if err != nil {
		return 0, err
	}
	s.dropStagedImages(ctx, files, gone)
	return len(gone), nil
}

// dropStagedImages deletes the staged images of lines once no pending
// line refers to them. Failures only leave a file behind; they are not the
// caller's problem.
func (s *Service) dropStagedImages(ctx context.Context, files filestore.Store, lines []LineaTemporal) {
	if files == nil {
		return
	}
	seen := map[string]bool{}
	var names []string
	for _, l := range lines {
		if n := stagedImageName(l.DatosAdicionales, l.UsuarioID); n != "" && !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	if len(names) == 0 {
		return
	}
	ctx = context.WithoutCancel(ctx)
	gone, err := s.store.UnreferencedStagingImages(ctx, names)
	if err != nil {
		return
	}
	for _, n := range gone {
		_ = files.Delete(ctx, n)
	}
}

// stagedImageName is the staged image a line's header refers to. Only
// names under the line owner's "staging/<id>/" count: a client-written
// datos_adicionales must not make thot move or delete another file, nor
// file another user's scan.
func stagedImageName(d map[string]any, owner int64) string {
	n, _ := d["imagen_temporal_name"].(string)
	if !strings.HasPrefix(n, "staging/"+strconv.FormatInt(owner, 10)+"/") || filestore.ValidName(n) != nil {
		return ""
	}
	return n
}

// ---------------------------------------------------------------------
// bulk_create

// BulkPayload is the body of POST …/bulk_create/ (the OCR'd AC21 or a
// packing list). Values are kept loose: they come from OCR.
type BulkPayload struct {
	Numero                 any              `json:"numero,omitempty"`
	Cabecera               map[string]any   `json:"cabecera,omitempty"`
	EmpresaOrigen          any              `json:"empresa_origen,omitempty"`
	EmpresaDestino         any              `json:"empresa_destino,omitempty"`
	Accesorios             any              `json:"accesorios,omitempty"`
	EquiposPrueba          any              `json:"equipos_prueba,omitempty"`
	Firmas                 any              `json:"firmas,omitempty"`
	EstadoMaterial         any              `json:"estado_material,omitempty"`
	Observaciones          any              `json:"observaciones,omitempty"`
	ObservacionesGenerales any              `json:"observaciones_generales,omitempty"`
	Articulos              []map[string]any `json:"articulos"`
}

// Upload is an uploaded file's content.
type Upload struct {
	Data []byte
}

// BulkResult is the answer of bulk_create and the Excel import.
type BulkResult struct {
	Numero    string
	Lines     []LineaTemporal
	ConImagen bool
}

// documentNumber is the staged document's number: cabecera.numero, then
// its registry numbers, then a top-level numero.
func documentNumber(cab map[string]any, top any) string {
	return firstNonEmpty(cab["numero"], cab["numero_registro_entrada"], cab["numero_registro_salida"], top)
}

// header is the shared datos_adicionales of a payload's lines.
func (p *BulkPayload) header() map[string]any {
	h := map[string]any{}
	cab := map[string]any{}
	for k, v := range p.Cabecera {
		cab[k] = v
	}
	if _, ok := cab["numero"]; !ok && looseString(p.Numero) != "" {
		cab["numero"] = looseString(p.Numero)
	}
	h["cabecera"] = cab
	set := func(k string, v any) {
		if v != nil {
			h[k] = v
		}
	}
	set("empresa_origen", p.EmpresaOrigen)
	set("empresa_destino", p.EmpresaDestino)
	set("accesorios", p.Accesorios)
	set("equipos_prueba", p.EquiposPrueba)
	set("firmas", p.Firmas)
	set("estado_material", p.EstadoMaterial)
	if p.Observaciones != nil {
		h["observaciones_generales"] = p.Observaciones
	} else {
		set("observaciones_generales", p.ObservacionesGenerales)
	}
	return h
}

// stagingLines validates the payload and builds the lines (all or
// nothing: per-line errors are nested under "articulos").
func (p *BulkPayload) stagingLines(userID int64) (string, []LineaTemporal, error) {
	numero := documentNumber(p.Cabecera, p.Numero)
	fe := errs.FieldErrors{}
	if numero == "" {
		fe.Nest("cabecera", map[string]any{"numero": []string{"Indique el número del documento (numero, numero_registro_entrada o numero_registro_salida)."}})
	} else if len([]rune(numero)) > maxCodeLen {
		fe.Nest("cabecera", map[string]any{"numero": []string{fmt.Sprintf("Ensure this field has no more than %d characters.", maxCodeLen)}})
	}
	switch {
	case len(p.Articulos) == 0:
		fe.Add("articulos", "Se necesita al menos un artículo.")
	case len(p.Articulos) > MaxStagingLines:
		fe.Add("articulos", fmt.Sprintf("Como mucho %d artículos por envío.", MaxStagingLines))
	}
	if err := fe.Err(); err != nil {
		e := err.(*errs.Error)
		e.Message = "No se puede preparar el documento: revise los campos indicados."
		return "", nil, e
	}
	header := p.header()
	lineErrs := map[string]any{}
	lines := make([]LineaTemporal, 0, len(p.Articulos))
	for i, a := range p.Articulos {
		l, le := articuloLine(a)
		if len(le) > 0 {
			lineErrs[strconv.Itoa(i)] = map[string]any(le)
			continue
		}
		l.UsuarioID, l.NumeroAlbaran, l.DatosAdicionales = userID, numero, header
		lines = append(lines, l)
	}
	if len(lineErrs) > 0 {
		return "", nil, &errs.Error{Kind: errs.KindInvalid, Message: "Hay artículos no válidos; no se ha preparado ninguno.",
			Fields: map[string]any{"articulos": lineErrs}}
	}
	return numero, lines, nil
}

// articuloLine validates one articulo.
func articuloLine(a map[string]any) (LineaTemporal, errs.FieldErrors) {
	fe := errs.FieldErrors{}
	l := LineaTemporal{Cantidad: 1}
	code := firstNonEmpty(a["codigo"], a["codigo_producto"])
	switch {
	case code == "":
		fe.Add("codigo", "This field is required.")
	case len([]rune(code)) > maxCodeLen:
		fe.Add("codigo", fmt.Sprintf("Ensure this field has no more than %d characters.", maxCodeLen))
	}
	serial := firstNonEmpty(a["numero_serie"], a["numero_serie_inicio"], a["numero_serie_fin"])
	switch {
	case serial == "":
		fe.Add("numero_serie", "This field is required (numero_serie, numero_serie_inicio o numero_serie_fin).")
	case len([]rune(serial)) > maxCodeLen:
		fe.Add("numero_serie", fmt.Sprintf("Ensure this field has no more than %d characters.", maxCodeLen))
	}
	l.CodigoProducto, l.NumeroSerie = code, serial
	if n, ok, err := looseInt(a["cantidad"]); err != nil {
		fe.Add("cantidad", "A valid integer is required.")
	} else if ok {
		if n < 0 {
			fe.Add("cantidad", "Ensure this value is greater than or equal to 0.")
		}
		l.Cantidad = n
	}
	if n, ok, err := looseInt(a["cc"]); err != nil {
		fe.Add("cc", "A valid integer is required.")
	} else if ok {
		l.CC = &n
	} else if v, sent := a["cc"]; !sent || v != nil {
		// Absent or blank: the legacy default (an explicit null stays null).
		d := DefaultCC
		l.CC = &d
	}
	if n, ok, err := looseInt(a["bultos_total"]); err != nil {
		fe.Add("bultos_total", "A valid integer is required.")
	} else if ok && n >= 0 {
		l.BultosTotal = &n
	}
	for field, dst := range map[string]**string{"descripcion": &l.Descripcion, "observaciones": &l.Observaciones} {
		s := looseString(a[field])
		if len(s) > maxTextLen {
			fe.Add(field, fmt.Sprintf("Ensure this field has no more than %d characters.", maxTextLen))
		}
		*dst = strOrNil(s)
	}
	return l, fe
}

// BulkStage is POST …/bulk_create/: validates the payload, stores the
// image (if any) in the file store and stages one line per articulo for
// the viewer.
func (s *Service) BulkStage(ctx context.Context, files filestore.Store, v Viewer, p *BulkPayload, img *Upload) (*BulkResult, error) {
	numero, lines, err := p.stagingLines(v.UserID)
	if err != nil {
		return nil, err
	}
	return s.stage(ctx, files, v, numero, lines, img)
}

func (s *Service) stage(ctx context.Context, files filestore.Store, v Viewer, numero string, lines []LineaTemporal, img *Upload) (*BulkResult, error) {
	var stored string
	if img != nil && len(img.Data) > 0 {
		if files == nil {
			return nil, errs.New(errs.KindUnavailable, "File storage is not configured.")
		}
		name, err := s.putStagedImage(ctx, files, v.UserID, img.Data)
		if err != nil {
			return nil, err
		}
		stored = name
		// One header map is shared by every line: copy before adding.
		h := map[string]any{}
		for k, val := range lines[0].DatosAdicionales {
			h[k] = val
		}
		h["tiene_imagen_documento"] = true
		h["imagen_temporal_name"] = name
		for i := range lines {
			lines[i].DatosAdicionales = h
		}
	}
	out, err := s.store.CreateStagingLines(ctx, lines)
	if err != nil {
		if stored != "" {
			_ = files.Delete(context.WithoutCancel(ctx), stored)
		}
		return nil, err
	}
	return &BulkResult{Numero: numero, Lines: out, ConImagen: stored != ""}, nil
}

// sniffImage checks an image's type from its bytes and returns the
// extension to store it with. field names the offending form field.
func sniffImage(data []byte, field string) (string, error) {
	if len(data) == 0 {
		return "", errs.Field(field, "The submitted file is empty.")
	}
	if int64(len(data)) > MaxImageBytes {
		return "", errs.Field(field, fmt.Sprintf("The file is too large; the limit is %d MiB.", MaxImageBytes>>20))
	}
	ct, _, _ := strings.Cut(http.DetectContentType(data[:min(len(data), 512)]), ";")
	ext, ok := ImageTypes[ct]
	if !ok {
		return "", errs.Field(field, "Tipo de archivo no admitido ("+ct+"): se aceptan PNG, JPEG, WebP y PDF.")
	}
	return ext, nil
}

// StagingImageName is where a staged image goes.
func StagingImageName(userID int64, at time.Time, ext string) (string, error) {
	return filestore.SafeName("staging", strconv.FormatInt(userID, 10), fmt.Sprintf("%d_AC21.%s", at.UnixNano(), ext))
}

// DocumentImageName is where a document's image goes; a non-empty suffix
// keeps a replacement from overwriting the current file.
func DocumentImageName(albaranID int64, at time.Time, ext, suffix string) (string, error) {
	base := fmt.Sprintf("albaran_%d_AC21", albaranID)
	if suffix != "" {
		base += "_" + suffix
	}
	return filestore.SafeName("albaranes", at.UTC().Format("2006"), at.UTC().Format("01"), base+"."+ext)
}

func (s *Service) putStagedImage(ctx context.Context, files filestore.Store, userID int64, data []byte) (string, error) {
	ext, err := sniffImage(data, "imagen_documento")
	if err != nil {
		return "", err
	}
	name, err := StagingImageName(userID, s.now(), ext)
	if err != nil {
		return "", err
	}
	if _, err := files.Put(ctx, name, bytes.NewReader(data), imagePutOptions()); err != nil {
		return "", renameFileField(err, "imagen_documento")
	}
	return name, nil
}

// renameFileField reports the file store's "file" errors under field.
func renameFileField(err error, field string) error {
	e, ok := errs.As(err)
	if !ok || e.Fields == nil {
		return err
	}
	c := *e
	c.Fields = map[string]any{}
	for k, v := range e.Fields {
		if k == "file" {
			k = field
		}
		c.Fields[k] = v
	}
	return &c
}

// ---------------------------------------------------------------------
// Document images

// DocumentImage opens a document's image; KindNotFound when it has none.
func (s *Service) DocumentImage(ctx context.Context, files filestore.Store, albaranID int64) (io.ReadCloser, filestore.Object, error) {
	name, err := s.store.DocumentImageName(ctx, albaranID)
	if err != nil {
		return nil, filestore.Object{}, err
	}
	if name == "" || files == nil {
		return nil, filestore.Object{}, errs.New(errs.KindNotFound, "El documento no tiene imagen.")
	}
	rc, obj, err := files.Open(ctx, name)
	if errs.Is(err, errs.KindNotFound) {
		return nil, filestore.Object{}, errs.New(errs.KindNotFound, "El documento no tiene imagen.")
	}
	return rc, obj, err
}

// AttachDocumentImage stores an image for a document, replacing (and,
// once recorded, deleting) the previous one. It returns the new name.
func (s *Service) AttachDocumentImage(ctx context.Context, files filestore.Store, albaranID int64, data []byte) (string, error) {
	if files == nil {
		return "", errs.New(errs.KindUnavailable, "File storage is not configured.")
	}
	current, err := s.store.DocumentImageName(ctx, albaranID)
	if err != nil {
		return "", err
	}
	ext, err := sniffImage(data, "imagen_documento")
	if err != nil {
		return "", err
	}
	now := s.now()
	name, err := DocumentImageName(albaranID, now, ext, "")
	if err != nil {
		return "", err
	}
	if name == current {
		if name, err = DocumentImageName(albaranID, now, ext, strconv.FormatInt(now.UnixNano(), 36)); err != nil {
			return "", err
		}
	}
	if _, err := files.Put(ctx, name, bytes.NewReader(data), imagePutOptions()); err != nil {
		return "", renameFileField(err, "imagen_documento")
	}
	old, err := s.store.ReplaceDocumentImage(ctx, albaranID, name)
	if err != nil {
		_ = files.Delete(context.WithoutCancel(ctx), name)
		return "", err
	}
	if old != "" && old != name {
		_ = files.Delete(context.WithoutCancel(ctx), old)
	}
	return name, nil
}

// ---------------------------------------------------------------------
// procesar

// ProcesarInput is the body of POST …/procesar/: overrides of the staged
// header (a nil field keeps the staged value) and, when the caller has
// lines of more than one staged document pending, which one to process.
type ProcesarInput struct {
	NumeroAlbaran  string
	Cabecera       map[string]any
	EmpresaOrigen  any
	EmpresaDestino any
	Accesorios     any
	EquiposPrueba  any
	Firmas         any
	Observaciones  any
}

// ProcessRequest is what the store runs in one transaction: select the
// caller's pending lines, let Plan turn them into a document, check it
// against the database, write it, and call Attach (if set) with the new
// document's id to file the staged image.
type ProcessRequest struct {
	UserID        int64
	NumeroAlbaran string
	Plan          func(lines []LineaTemporal) (*ProcessPlan, error)
	Attach        func(ctx context.Context, albaranID int64, staged string) (string, error)
}

// ProcessPlan is the document procesar will write.
type ProcessPlan struct {
	// Albaran is the header of a new main document; when a main ENTRADA
	// document already carries Registro, the store adds a page to it
	// instead (see PageFrom).
	Albaran  Albaran
	Registro string
	Lines    []LineaTemporal
	// Image is the staged image to move onto the document ("" for none).
	Image string
	// Continuation is the document an earlier procesar of these lines
	// created (their ContinuationKey): the lines join it instead of
	// starting a new document, when it is still the document their number
	// designates. 0 for none.
	Continuation int64
	// OtrosDocumentos are the numbers of the caller's other staged
	// documents, left pending.
	OtrosDocumentos []string
}

// ContinuationKey is the datos_adicionales key procesar writes on the
// lines it leaves pending for lack of a type: the id of the document it
// created from their batch, which they join once typed.
const ContinuationKey = "albaran_id"

// MotivoSinTipo is why a line stays pending.
const MotivoSinTipo = "El producto no tiene tipo (o no está en el catálogo): asígnele uno (asignar-tipo) y vuelva a procesar."

func (in ProcesarInput) hasOverrides() bool {
	return len(in.Cabecera) > 0 || in.EmpresaOrigen != nil || in.EmpresaDestino != nil || in.Accesorios != nil ||
		in.EquiposPrueba != nil || in.Firmas != nil || in.Observaciones != nil
}

// Omitido is a staged line procesar did not turn into a movement.
type Omitido struct {
	LineaID        int64  `json:"linea_id"`
	CodigoProducto string `json:"codigo_producto"`
	NumeroSerie    string `json:"numero_serie"`
	Motivo         string `json:"motivo"`
}

// ProcessResult is the answer of procesar.
type ProcessResult struct {
	AlbaranID    int64
	Numero       string
	PaginaNumero int
	Procesados   int
	Omitidos     []Omitido
	ConImagen    bool
	// Pendientes are the lines left in staging because their code has no
	// type; CodigosSinTipo their codes.
	Pendientes     []Omitido
	CodigosSinTipo []string
	// OtrosDocumentos are the caller's other staged documents, untouched.
	OtrosDocumentos []string
	// Continuacion: the lines joined the document an earlier procesar of
	// their batch created.
	Continuacion bool
}

// CodigosDe lists the distinct product codes of lines, sorted (nil when
// there are none).
func CodigosDe(lines []LineaTemporal) []string {
	seen := map[string]bool{}
	var out []string
	for _, l := range lines {
		if !seen[l.CodigoProducto] {
			seen[l.CodigoProducto] = true
			out = append(out, l.CodigoProducto)
		}
	}
	sort.Strings(out)
	return out
}

// ErrCodigosSinTipo is procesar's refusal when codes are unknown or untyped.
func ErrCodigosSinTipo(codes []string) error {
	sort.Strings(codes)
	return &errs.Error{Kind: errs.KindInvalid, Code: "codigos_sin_tipo",
		Message: "Hay productos sin tipo o que no están en el catálogo; asígneles un tipo (asignar_tipo) antes de procesar: " + strings.Join(codes, ", ") + ".",
		Extra:   map[string]any{"codigos_sin_tipo": codes}}
}

// PageFrom is the extra page n of main carrying plan's data: number
// "<main>-P<n>", registry numbers, type, direction and companies of the
// main document; dates, lists, remarks and signatures from the plan.
func PageFrom(main *Albaran, plan *Albaran, n int) Albaran {
	p := *plan
	p.ID = 0
	p.Numero = fmt.Sprintf("%s-P%d", main.Numero, n)
	p.PaginaNumero, p.TotalPaginas = n, n
	id := main.ID
	p.DocumentoPrincipalID = &id
	p.NumeroRegistroEntrada, p.NumeroRegistroSalida = main.NumeroRegistroEntrada, main.NumeroRegistroSalida
	p.Tipo, p.Direccion = main.Tipo, main.Direccion
	p.EmpresaOrigenID, p.EmpresaDestinoID = main.EmpresaOrigenID, main.EmpresaDestinoID
	return p
}

// SplitDuplicates separates lines whose (code, serial) is in existing or
// earlier in lines (they are already on the document) from the rest.
func SplitDuplicates(lines []LineaTemporal, existing map[[2]string]bool, numero string) (keep []LineaTemporal, omit []Omitido) {
	seen := map[[2]string]bool{}
	for _, l := range lines {
		k := [2]string{l.CodigoProducto, l.NumeroSerie}
		switch {
		case existing[k]:
			omit = append(omit, Omitido{l.ID, l.CodigoProducto, l.NumeroSerie, "Ya figura en el documento " + numero + "."})
		case seen[k]:
			omit = append(omit, Omitido{l.ID, l.CodigoProducto, l.NumeroSerie, "Repetido en las líneas a procesar."})
		default:
			seen[k] = true
			keep = append(keep, l)
		}
	}
	return keep, omit
}

// ProcessStaging is POST …/procesar/.
func (s *Service) ProcessStaging(ctx context.Context, files filestore.Store, v Viewer, in ProcesarInput) (*ProcessResult, error) {
	now := s.now()
	var processed []LineaTemporal
	req := ProcessRequest{
		UserID: v.UserID, NumeroAlbaran: strings.TrimSpace(in.NumeroAlbaran),
		Plan: func(lines []LineaTemporal) (*ProcessPlan, error) {
			processed = lines
			return planDocument(lines, in, now, v.UserID)
		},
	}
	var stored string
	if files != nil {
		req.Attach = func(ctx context.Context, albaranID int64, staged string) (string, error) {
			name, err := s.moveStagedImage(ctx, files, albaranID, staged, now)
			stored = name
			return name, err
		}
	}
	res, err := s.store.ProcessStaging(ctx, req)
	if err != nil {
		if stored != "" {
			_ = files.Delete(context.WithoutCancel(ctx), stored)
		}
		return nil, err
	}
	// Every selected line is now processed: their staged images go once
	// no pending line refers to them.
	s.dropStagedImages(ctx, files, processed)
	return res, nil
}

// moveStagedImage copies a staged image to the document's name. A staged
// file that is gone is not an error: the document is filed without image.
func (s *Service) moveStagedImage(ctx context.Context, files filestore.Store, albaranID int64, staged string, now time.Time) (string, error) {
	rc, obj, err := files.Open(ctx, staged)
	if errs.Is(err, errs.KindNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	defer rc.Close()
	ct, _, _ := strings.Cut(obj.ContentType, ";")
	ext, ok := ImageTypes[ct]
	if !ok {
		return "", nil
	}
	name, err := DocumentImageName(albaranID, now, ext, "")
	if err != nil {
		return "", err
	}
	if _, err := files.Put(ctx, name, rc, imagePutOptions()); err != nil {
		return "", err
	}
	return name, nil
}

// planDocument turns the caller's pending lines and the overrides into
// the document to write (legacy §3.4 step 4, with the validation the
// legacy lacked).
func planDocument(lines []LineaTemporal, in ProcesarInput, now time.Time, userID int64) (*ProcessPlan, error) {
	if len(lines) == 0 {
		if in.NumeroAlbaran != "" {
			return nil, errs.Invalid("No tiene líneas pendientes del documento %s.", in.NumeroAlbaran)
		}
		return nil, errs.Invalid("No tiene líneas pendientes de procesar.")
	}
	docs := map[string]bool{}
	for _, l := range lines {
		docs[l.NumeroAlbaran] = true
	}
	var otros []string
	if len(docs) > 1 {
		nums := make([]string, 0, len(docs))
		for n := range docs {
			nums = append(nums, n)
		}
		sort.Strings(nums)
		if in.hasOverrides() {
			// Overrides name one document's header: which one must be said.
			return nil, &errs.Error{Kind: errs.KindInvalid,
				Message: "Tiene líneas pendientes de varios documentos; indique cuál procesar en numero_albaran.",
				Fields:  map[string]any{"numero_albaran": []string{"Elija uno de: " + strings.Join(nums, ", ") + "."}}}
		}
		// The staging page's "Procesar" sends nothing: process the document
		// staged first (lines come in id order) and leave the others
		// pending, never merging two documents into one.
		first := lines[0].NumeroAlbaran
		mine := make([]LineaTemporal, 0, len(lines))
		for _, l := range lines {
			if l.NumeroAlbaran == first {
				mine = append(mine, l)
			}
		}
		lines = mine
		for _, n := range nums {
			if n != first {
				otros = append(otros, n)
			}
		}
	}
	// Header: the first staged line's, then the overrides.
	h := map[string]any{}
	for k, v := range lines[0].DatosAdicionales {
		h[k] = v
	}
	cab := map[string]any{}
	for k, v := range asMap(h["cabecera"]) {
		cab[k] = v
	}
	for k, v := range in.Cabecera {
		cab[k] = v
	}
	override := func(k string, v any) {
		if v != nil {
			h[k] = v
		}
	}
	override("empresa_origen", in.EmpresaOrigen)
	override("empresa_destino", in.EmpresaDestino)
	override("accesorios", in.Accesorios)
	override("equipos_prueba", in.EquiposPrueba)
	override("firmas", in.Firmas)
	override("observaciones_generales", in.Observaciones)

	fe := errs.FieldErrors{}
	cabErr := map[string]any{}
	numero := documentNumber(cab, nil)
	if numero == "" {
		numero = lines[0].NumeroAlbaran
	}
	if numero == "" {
		cabErr["numero"] = []string{"Indique el número del documento (numero, numero_registro_entrada o numero_registro_salida)."}
	} else if len([]rune(numero)) > maxCodeLen {
		cabErr["numero"] = []string{fmt.Sprintf("Ensure this field has no more than %d characters.", maxCodeLen)}
	}
	tipo := Inventario
	if raw := looseString(cab["tipo_transaccion"]); raw != "" {
		t, ok := ParseTipo(raw)
		if !ok {
			cabErr["tipo_transaccion"] = []string{fmt.Sprintf("Tipo de documento desconocido %q: use TRANSFERENCIA, INVENTARIO, DESTRUCCION, RECIBO_MANO u OTRO.", raw)}
		}
		tipo = t
	}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	fechaInforme, ok := parseDate(cab["fecha_informe"])
	if !ok {
		cabErr["fecha_informe"] = []string{"Fecha no válida: use AAAA-MM-DD o DD/MM/AAAA."}
	}
	rawTx := cab["fecha_transaccion_dma"]
	txField := "fecha_transaccion_dma"
	if looseString(rawTx) == "" {
		rawTx, txField = cab["fecha_transaccion"], "fecha_transaccion"
	}
	fechaTx, ok := parseDate(rawTx)
	if !ok {
		cabErr[txField] = []string{"Fecha no válida: use DD/MM/AAAA o AAAA-MM-DD."}
	}
	if len(cabErr) > 0 {
		fe.Nest("cabecera", cabErr)
	}
	origen, err := empresaRef(h["empresa_origen"])
	if err != nil {
		fe.Nest("empresa_origen", map[string]any{"id": []string{err.Error()}})
	}
	destino, err := empresaRef(h["empresa_destino"])
	if err != nil {
		fe.Nest("empresa_destino", map[string]any{"id": []string{err.Error()}})
	}
	acc, err := accesorios(h["accesorios"])
	if err != nil {
		fe.Add("accesorios", err.Error())
	}
	eq, err := equipos(h["equipos_prueba"])
	if err != nil {
		fe.Add("equipos_prueba", err.Error())
	}
	firmaA, firmaB, err := firmas(h["firmas"])
	if err != nil {
		fe.Add("firmas", err.Error())
	}
	obs := looseString(h["observaciones_generales"])
	if obs == "" {
		obs = looseString(h["observaciones"])
	}
	if err := fe.Err(); err != nil {
		e := err.(*errs.Error)
		e.Message = "No se puede procesar: revise los datos del documento."
		return nil, e
	}
	// fecha is the report date when there is one; otherwise insertAlbaran
	// stamps the current time.
	var fecha time.Time
	if fechaInforme == nil {
		fechaInforme = &today
	} else {
		fecha = *fechaInforme
	}
	if fechaTx == nil {
		fechaTx = &today
	}
	entrada := Entrada
	uid := userID
	a := Albaran{
		Numero: numero, Fecha: fecha, PaginaNumero: 1, TotalPaginas: 1, Direccion: &entrada, Tipo: &tipo,
		EmpresaOrigenID: origen, EmpresaDestinoID: destino, ODMCNumero: looseString(cab["odmc_numero"]),
		FechaInforme: fechaInforme, FechaTransaccion: fechaTx,
		NumeroRegistroEntrada: looseString(cab["numero_registro_entrada"]),
		NumeroRegistroSalida:  strOrNil(looseString(cab["numero_registro_salida"])),
		CodigoContabilidad:    codigosContabilidad(cab), Accesorios: acc, EquiposPrueba: eq,
		FirmaA: firmaA, FirmaB: firmaB, ObservacionesODMC: obs, CreatedByID: &uid, UpdatedByID: &uid,
	}
	if raw, ok := h["estado_material"].(string); ok {
		// The upload page keeps the key it picked ("RECIBIDO"…).
		if e, ok := ParseEstadoMaterial(raw); ok {
			a.EstadoMaterial = &e
		}
	} else if em := asMap(h["estado_material"]); em != nil {
		for _, x := range []struct {
			key string
			v   EstadoMaterial
		}{{"recibido", Recibido}, {"inventariado", Inventariado}, {"destruido", Destruido}} {
			if b, _ := em[x.key].(bool); b {
				v := x.v
				a.EstadoMaterial = &v
				break
			}
		}
	}
	// Lines staged without a CC (older rows) get the legacy default.
	for i := range lines {
		if lines[i].CC == nil {
			d := DefaultCC
			lines[i].CC = &d
		}
	}
	plan := &ProcessPlan{
		Albaran:         a,
		Registro:        firstNonEmpty(cab["numero_registro_entrada"], cab["numero_registro_salida"]),
		Lines:           lines,
		Image:           stagedImageName(h, userID),
		OtrosDocumentos: otros,
	}
	if id, ok, _ := looseInt(h[ContinuationKey]); ok && id > 0 {
		plan.Continuation = int64(id)
	}
	return plan, nil
}

// parseDate reads YYYY-MM-DD or DD/MM/YYYY (also with "-" or "."). ok is
// false for text that is neither; nil for empty.
func parseDate(v any) (*time.Time, bool) {
	s := looseString(v)
	if s == "" {
		return nil, true
	}
	if len(s) > 10 && s[4] == '-' {
		s = s[:10] // an ISO timestamp
	}
	for _, layout := range []string{"2006-01-02", "02/01/2006", "2/1/2006", "02-01-2006", "02.01.2006", "2006/01/02"} {
		if t, err := time.Parse(layout, s); err == nil {
			t = t.UTC()
			return &t, true
		}
	}
	return nil, false
}

// empresaRef reads {id} (or a bare id) of a company; a company without id
// (OCR gives names only) is none.
func empresaRef(v any) (*int64, error) {
	raw := v
	if m, ok := v.(map[string]any); ok {
		raw = m["id"]
	} else if _, ok := v.(string); ok && looseString(v) == "" {
		return nil, nil
	}
	n, ok, err := looseInt(raw)
	if err != nil || (ok && n <= 0) {
		return nil, errors.New("A valid integer is required.")
	}
	if !ok {
		return nil, nil
	}
	id := int64(n)
	return &id, nil
}

func accesorios(v any) ([]Accesorio, error) {
	list, err := objectList(v)
	if err != nil {
		return nil, err
	}
	out := []Accesorio{}
	for _, m := range list {
		d := looseString(m["descripcion"])
		if d == "" {
			continue
		}
		n, ok, err := looseInt(m["cantidad"])
		if err != nil || n < 0 {
			return nil, errors.New("cantidad debe ser un entero no negativo.")
		}
		if !ok {
			n = 1
		}
		out = append(out, Accesorio{Descripcion: d, Cantidad: n})
	}
	return out, nil
}

func equipos(v any) ([]EquipoPrueba, error) {
	list, err := objectList(v)
	if err != nil {
		return nil, err
	}
	out := []EquipoPrueba{}
	for _, m := range list {
		if c := looseString(m["codigo"]); c != "" {
			out = append(out, EquipoPrueba{Codigo: c})
		}
	}
	return out, nil
}

// firmas reads {firma_a|firma_b: {nombre, cargo, empleo_rango}}.
func firmas(v any) (Firma, Firma, error) {
	if v == nil {
		return Firma{}, Firma{}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return Firma{}, Firma{}, errors.New("Se esperaba un objeto {firma_a, firma_b}.")
	}
	one := func(x any) Firma {
		f := asMap(x)
		return Firma{
			NombreApellidos: strOrNil(firstNonEmpty(f["nombre"], f["nombre_apellidos"])),
			Cargo:           strOrNil(looseString(f["cargo"])),
			EmpleoRango:     strOrNil(looseString(f["empleo_rango"])),
		}
	}
	return one(m["firma_a"]), one(m["firma_b"]), nil
}

// codigosContabilidad reads codigos_contabilidad (text or a list) or
// codigo_contabilidad.
func codigosContabilidad(cab map[string]any) string {
	for _, k := range []string{"codigos_contabilidad", "codigo_contabilidad"} {
		switch x := cab[k].(type) {
		case []any:
			parts := []string{}
			for _, it := range x {
				if s := looseString(it); s != "" {
					parts = append(parts, s)
				}
			}
			if len(parts) > 0 {
				return strings.Join(parts, ", ")
			}
		default:
			if s := looseString(x); s != "" {
				return s
			}
		}
	}
	return ""
}
