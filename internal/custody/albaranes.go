package custody

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/thot-security/thot/internal/errs"
)

// Documents ("albaranes") and their movements: validation of what clients
// send, and the rules that decide what a create, edit or delete does. The
// store applies a validated plan in one transaction and recomputes every
// touched item (docs/custody.md has the rule table).

// AlbaranStore is the persistence of documents and movements.
type AlbaranStore interface {
	// CreateAlbaran stores a validated document and its lines, recomputes
	// the touched items and returns the new id.
	CreateAlbaran(ctx context.Context, p *AlbaranPlan) (int64, error)
	// UpdateAlbaran applies edit to the document as it is inside the
	// transaction, then the movement list (nil: movements untouched).
	UpdateAlbaran(ctx context.Context, id int64, edit func(cur *Albaran) (*AlbaranEdit, error), movs *[]MovimientoEdit) error
	// DeleteAlbaran removes a document with its extra pages and movements,
	// returning the file-store names of their images for the caller to
	// delete once the transaction has committed.
	DeleteAlbaran(ctx context.Context, id int64) ([]string, error)
	// AlbaranDetalle reads one document with its companies, users and main
	// document (not found when it does not exist).
	AlbaranDetalle(ctx context.Context, id int64) (*AlbaranDetalle, error)
	// ListAlbaranes returns a page of documents and the total count.
	ListAlbaranes(ctx context.Context, f AlbaranFilter) ([]AlbaranDetalle, int, error)
	// AlbaranPaginas returns every page of the document id belongs to,
	// by pagina_numero.
	AlbaranPaginas(ctx context.Context, id int64) ([]AlbaranDetalle, error)
	// AlbaranMovimientos returns the movements of a document and, with
	// conPaginas, of a main document's extra pages too (not found if the
	// document is).
	AlbaranMovimientos(ctx context.Context, id int64, conPaginas bool) ([]MovimientoDetalle, error)
	// MovimientosPorNumero finds the document whose numero (or registry
	// number) is numero and returns it with its movements; nil when none.
	MovimientosPorNumero(ctx context.Context, numero string) (*AlbaranRef, []MovimientoDetalle, error)
	// AgregarArticulos adds lines to a document, skipping those already on
	// it; it returns how many were added and how many skipped.
	AgregarArticulos(ctx context.Context, id int64, lines []LineaAlbaran) (nuevos, duplicados int, err error)
	// PreviewRegistroSalida tells the next S<year>-NNNN without reserving it.
	PreviewRegistroSalida(ctx context.Context, year int) (string, error)

	ListMovimientos(ctx context.Context, f MovimientoFilter) ([]MovimientoDetalle, int, error)
	// EachMovimiento streams the movements matching f (unpaged) to fn.
	EachMovimiento(ctx context.Context, f MovimientoFilter, fn func(*MovimientoDetalle) error) error
	MovimientoDetalle(ctx context.Context, id int64) (*MovimientoDetalle, error)
	CreateMovimiento(ctx context.Context, albaranID int64, l LineaAlbaran) (int64, error)
	UpdateMovimiento(ctx context.Context, id int64, e MovimientoEdit) error
	DeleteMovimiento(ctx context.Context, id int64) error
}

// FieldValue is one scalar of a request as the client sent it: Set when
// the field was present, Null when it was null, Text its string form
// (numbers and booleans as written in the JSON).
type FieldValue struct {
	Set, Null bool
	Text      string
}

// Val is a present, non-null value (for callers building inputs in Go).
func Val(s string) FieldValue { return FieldValue{Set: true, Text: s} }

// given reports a present value that is neither null nor blank.
func (v FieldValue) given() bool { return v.Set && !v.Null && strings.TrimSpace(v.Text) != "" }

// AlbaranCabecera is the legacy header block some clients nest the document
// number and type in (the shape staging stores).
type AlbaranCabecera struct {
	Numero, NumeroRegistroEntrada, NumeroRegistroSalida FieldValue
	TipoTransaccion                                     FieldValue
	FechaInforme, FechaTransaccionDMA                   FieldValue
	CodigosContabilidad                                 FieldValue
}

// AlbaranFirmaInput is a signature block as sent.
type AlbaranFirmaInput struct {
	Firma, EmpleoRango, NombreApellidos, Cargo FieldValue
}

// AlbaranInput is a document create or edit request. On edit, fields
// that are not Set are left as they are.
type AlbaranInput struct {
	Numero, NumeroRegistroEntrada, NumeroRegistroSalida FieldValue
	Cabecera                                            *AlbaranCabecera
	// Tipo is tipo_documento; TipoAlbaran and TipoOperacion are its legacy
	// aliases (the first given wins).
	Tipo, TipoAlbaran, TipoOperacion FieldValue
	Direccion                        FieldValue
	EmpresaOrigen, EmpresaDestino    FieldValue
	Fecha, FechaInforme              FieldValue
	FechaTransaccion                 FieldValue
	ODMCNumero, CodigoContabilidad   FieldValue
	ObservacionesODMC                FieldValue
	EstadoMaterial                   FieldValue
	DestinatarioTestigo              FieldValue
	DestinatarioOtro                 FieldValue
	DestinatarioOtroEspec            FieldValue
	FirmaA, FirmaB                   AlbaranFirmaInput
	Accesorios, EquiposPrueba        json.RawMessage // nil: not sent
	EsPaginaAdicional                FieldValue
	DocumentoPrincipalID             FieldValue // or the FK name documento_principal
	Articulos                        []ArticuloInput
	Movimientos                      *[]MovimientoInput // edit only: the full list
}

// ArticuloInput is one line of a create or agregar-productos request.
type ArticuloInput struct {
	Codigo, NumeroSerie, Descripcion FieldValue
	Cantidad, CC, Observaciones      FieldValue
	TipoMovimiento                   FieldValue
}

// MovimientoInput is one movement of an edit's `movimientos` list, or the
// body of /api/movimientos/ writes.
type MovimientoInput struct {
	ID, Albaran                                 FieldValue
	ProductoCodigo, NumeroSerie, Descripcion    FieldValue
	Cantidad, CC, Observaciones, TipoMovimiento FieldValue
}

// LineaAlbaran is a validated line to store. Index is its position in the
// request, for per-line errors.
type LineaAlbaran struct {
	Index         int
	Codigo        string
	NumeroSerie   string
	Descripcion   *string
	Tipo          Tipo
	Cantidad      int
	CC            *int
	Observaciones *string
}

// MovimientoEdit is a validated change to one movement: ID 0 adds a new
// one (edit lists). Only the Set* fields change an existing movement.
type MovimientoEdit struct {
	Index          int
	ID             int64
	Codigo         *string
	NumeroSerie    *string
	Descripcion    *string
	SetDescripcion bool
	Cantidad       *int
	CC             *int
	SetCC          bool
	Observaciones  *string
	SetObs         bool
	Tipo           *Tipo
}

// AlbaranPlan is a validated document ready to store.
type AlbaranPlan struct {
	Albaran Albaran
	Lineas  []LineaAlbaran
	// PrincipalID makes the document an extra page: the store numbers it
	// "<main>-P<n>" and keeps total_paginas right on every page.
	PrincipalID *int64
	// AsignarRegistro allocates S<year>-NNNN (outgoing transfers); the
	// number becomes numero and numero_registro_salida.
	AsignarRegistro bool
	RegistroYear    int
	// Attach, when set, stores the new document's image once its id is
	// known, inside the creating transaction, and returns the file-store
	// name to record (an error rolls the document back).
	Attach func(ctx context.Context, albaranID int64) (string, error)
}

// AlbaranEdit is what an edit decided, given the document as it was.
type AlbaranEdit struct {
	Albaran Albaran
	// Reclasificado: tipo or direccion changed; every item of the document
	// (and of its pages) is recomputed.
	Reclasificado bool
	// AsignarRegistro: the document just became an outgoing transfer.
	AsignarRegistro bool
	RegistroYear    int
}

// AlbaranRef is the {id, numero, fecha} of a document.
type AlbaranRef struct {
	ID     int64
	Numero string
	Fecha  time.Time
}

// AlbaranDetalle is a document with what its JSON shows besides its own
// columns.
type AlbaranDetalle struct {
	Albaran
	EmpresaOrigen, EmpresaDestino *Empresa
	Principal                     *AlbaranRef
	NumeroPaginasTotal            int
}

// MovimientoDetalle is a movement with its item's current inventory row
// (nil when there is none).
type MovimientoDetalle struct {
	Movimiento
	Actual *Item
}

// AlbaranFilter narrows ListAlbaranes.
type AlbaranFilter struct {
	Tipo                          *Tipo
	Direccion                     *Direccion
	Empresa                       *int64 // origin or destination
	EmpresaOrigen, EmpresaDestino *int64
	Desde, Hasta                  *time.Time // fecha, inclusive dates
	Search                        string     // folded
	// NumeroRegistro selects the main documents whose number or registry
	// number (entrada or salida) is exactly this ("" for no filter).
	NumeroRegistro  string
	SoloPrincipales bool
	Ordering        []SortKey
	Limit, Offset   int
}

// MovimientoFilter narrows ListMovimientos.
type MovimientoFilter struct {
	AlbaranID   *int64
	ProductoID  *int64
	Codigo      string
	NumeroSerie string
	Tipo        *Tipo
	Ordering    []SortKey
	Limit       int
	Offset      int
}

// AlbaranOrderings are the fields documents can be ordered by.
var AlbaranOrderings = []string{"fecha", "numero", "created_at", "id"}

// MovimientoOrderings are the fields movements can be ordered by.
var MovimientoOrderings = []string{"fecha", "id", "numero_serie", "producto_codigo", "cantidad"}

// Label is the display text (estado_material_display).
func (e EstadoMaterial) Label() string {
	switch e {
	case Recibido:
		return "Recibido"
	case Inventariado:
		return "Inventariado"
	case Destruido:
		return "Destruido"
	}
	return ""
}

// Messages shown to clients (DRF wording where DRF has one).
const (
	albMsgRequired = "This field is required."
	albMsgInteger  = "A valid integer is required."
	albMsgBoolean  = "Must be a valid boolean."
	albMsgDate     = "Date has wrong format. Use one of these formats instead: YYYY-MM-DD, DD/MM/YYYY."
	albMsgDatetime = "Datetime has wrong format. Use one of these formats instead: YYYY-MM-DDThh:mm[:ss[.uuuuuu]][+HH:MM|-HH:MM|Z], YYYY-MM-DD."
	albMsgMinZero  = "Ensure this value is greater than or equal to 0."
	albMaxNumero   = 100
	albMaxLinea    = 100
)

// MsgStaging explains why incoming documents are refused here.
const MsgStaging = "Incoming (ENTRADA) documents of this type must go through staging: POST /api/lineas-temporales/bulk_create/ " +
	"(or import-excel/), type the product codes, then POST /api/lineas-temporales/procesar/. Only INVENTARIO documents can be entered directly."

// ---- scalar parsing -------------------------------------------------------

func albInt(v FieldValue) (*int, string) {
	if !v.Set || v.Null || strings.TrimSpace(v.Text) == "" {
		return nil, ""
	}
	t := strings.TrimSpace(v.Text)
	n, err := strconv.Atoi(t)
	if err != nil {
		// 3.0 is an integer written as a float.
		f, ferr := strconv.ParseFloat(t, 64)
		if ferr != nil || f != float64(int(f)) {
			return nil, albMsgInteger
		}
		n = int(f)
	}
	return &n, ""
}

func albID(v FieldValue) (*int64, string) {
	if !v.Set || v.Null || strings.TrimSpace(v.Text) == "" {
		return nil, ""
	}
	t := strings.TrimSpace(v.Text)
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n <= 0 {
		return nil, fmt.Sprintf("Incorrect type. Expected pk value, received %q.", t)
	}
	return &n, ""
}

func albBool(v FieldValue) (bool, string) {
	switch strings.ToLower(strings.TrimSpace(v.Text)) {
	case "true", "1", "yes", "on", "si", "sí", "t", "y":
		return true, ""
	case "false", "0", "no", "off", "f", "n", "":
		return false, ""
	}
	return false, albMsgBoolean
}

// ParseFechaDocumento reads a date as clients send it: YYYY-MM-DD, DD/MM/YYYY or
// an ISO date-time (its date part). ok is false for anything else.
func ParseFechaDocumento(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02", "02/01/2006", "2/1/2006", "02-01-2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	if t, ok := albDatetime(s); ok {
		return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC), true
	}
	return time.Time{}, false
}

func albDatetime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02T15:04", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

func albDate(v FieldValue) (*time.Time, string) {
	if !v.Set || v.Null || strings.TrimSpace(v.Text) == "" {
		return nil, ""
	}
	t, ok := ParseFechaDocumento(v.Text)
	if !ok {
		return nil, albMsgDate
	}
	return &t, ""
}

func albText(v FieldValue) *string {
	if !v.Set || v.Null {
		return nil
	}
	s := v.Text
	return &s
}

// ParseEstadoMaterial accepts a key or a label in any case.
func ParseEstadoMaterial(s string) (EstadoMaterial, bool) {
	n := Fold(s)
	for _, e := range []EstadoMaterial{Recibido, Inventariado, Destruido} {
		if n == strings.ToLower(string(e)) {
			return e, true
		}
	}
	return "", false
}

// albAccesorios accepts a list of {descripcion, cantidad}, also as a
// string holding it (JSONList); null and the legacy empty object {} mean
// none.
func albAccesorios(raw json.RawMessage) ([]Accesorio, bool) {
	items, ok := albJSONObjects(raw)
	if !ok {
		return nil, false
	}
	out := make([]Accesorio, 0, len(items))
	for _, it := range items {
		a := Accesorio{Descripcion: albJSONText(it["descripcion"])}
		if c := albJSONText(it["cantidad"]); c != "" {
			n, msg := albInt(Val(c))
			if msg != "" {
				return nil, false
			}
			a.Cantidad = *n
		}
		out = append(out, a)
	}
	return out, true
}

func albEquipos(raw json.RawMessage) ([]EquipoPrueba, bool) {
	items, ok := albJSONObjects(raw)
	if !ok {
		return nil, false
	}
	out := make([]EquipoPrueba, 0, len(items))
	for _, it := range items {
		out = append(out, EquipoPrueba{Codigo: albJSONText(it["codigo"])})
	}
	return out, true
}

func albJSONObjects(raw json.RawMessage) ([]map[string]any, bool) {
	items, err := JSONList(raw)
	return items, err == nil
}

func albJSONText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	b, _ := json.Marshal(v)
	return string(b)
}

// DefaultCC is a movement's CC (the AC21's accounting legend code) when
// none is given: the legacy model's default.
const DefaultCC = 1

// ccOrDefault is the CC of a new line: the given value, DefaultCC when
// the field is absent or blank, nil only when sent as an explicit null.
func ccOrDefault(v FieldValue, n *int) *int {
	if n != nil || (v.Set && v.Null) {
		return n
	}
	d := DefaultCC
	return &d
}

// msg0 reports that fe has no error for field.
func msg0(fe errs.FieldErrors, field string) bool {
	_, bad := fe[field]
	return !bad
}

// albFirstGiven returns the first value that is present and not blank.
func albFirstGiven(vs ...FieldValue) (FieldValue, bool) {
	for _, v := range vs {
		if v.given() {
			return v, true
		}
	}
	return FieldValue{}, false
}

// ---- header ---------------------------------------------------------------

// albApplyHeader copies the Set fields of in onto a, collecting format errors.
// Tipo, direccion, numero and the page fields are handled by the callers.
func albApplyHeader(a *Albaran, in *AlbaranInput, fe errs.FieldErrors) {
	if in.EmpresaOrigen.Set {
		id, msg := albID(in.EmpresaOrigen)
		if msg != "" {
			fe.Add("empresa_origen", msg)
		}
		a.EmpresaOrigenID = id
	}
	if in.EmpresaDestino.Set {
		id, msg := albID(in.EmpresaDestino)
		if msg != "" {
			fe.Add("empresa_destino", msg)
		}
		a.EmpresaDestinoID = id
	}
	if in.Fecha.given() {
		if t, ok := albDatetime(in.Fecha.Text); ok {
			a.Fecha = t
		} else {
			fe.Add("fecha", albMsgDatetime)
		}
	}
	dates := []struct {
		name string
		v    FieldValue
		dst  **time.Time
	}{{"fecha_informe", in.FechaInforme, &a.FechaInforme}, {"fecha_transaccion", in.FechaTransaccion, &a.FechaTransaccion}}
	for _, d := range dates {
		if d.v.Set {
			t, msg := albDate(d.v)
			if msg != "" {
				fe.Add(d.name, msg)
			}
			*d.dst = t
		}
	}
	texts := []struct {
		v   FieldValue
		dst *string
	}{{in.ODMCNumero, &a.ODMCNumero}, {in.CodigoContabilidad, &a.CodigoContabilidad}, {in.ObservacionesODMC, &a.ObservacionesODMC},
		{in.NumeroRegistroEntrada, &a.NumeroRegistroEntrada}}
	for _, t := range texts {
		if t.v.Set {
			*t.dst = strings.TrimSpace(t.v.Text)
		}
	}
	if in.EstadoMaterial.Set {
		a.EstadoMaterial = nil
		if in.EstadoMaterial.given() {
			if e, ok := ParseEstadoMaterial(in.EstadoMaterial.Text); ok {
				a.EstadoMaterial = &e
			} else {
				fe.Add("estado_material", fmt.Sprintf("%q is not a valid choice.", in.EstadoMaterial.Text))
			}
		}
	}
	bools := []struct {
		name string
		v    FieldValue
		dst  *bool
	}{{"destinatario_autorizado_testigo", in.DestinatarioTestigo, &a.DestinatarioTestigo},
		{"destinatario_autorizado_otro", in.DestinatarioOtro, &a.DestinatarioOtro}}
	for _, b := range bools {
		if b.v.Set && !b.v.Null {
			v, msg := albBool(b.v)
			if msg != "" {
				fe.Add(b.name, msg)
			}
			*b.dst = v
		}
	}
	if in.DestinatarioOtroEspec.Set {
		a.DestinatarioOtroEspec = albText(in.DestinatarioOtroEspec)
	}
	firmas := []struct {
		in  AlbaranFirmaInput
		dst *Firma
	}{{in.FirmaA, &a.FirmaA}, {in.FirmaB, &a.FirmaB}}
	for _, f := range firmas {
		for _, p := range []struct {
			v   FieldValue
			dst **string
		}{{f.in.Firma, &f.dst.Firma}, {f.in.EmpleoRango, &f.dst.EmpleoRango}, {f.in.NombreApellidos, &f.dst.NombreApellidos}, {f.in.Cargo, &f.dst.Cargo}} {
			if p.v.Set {
				*p.dst = albText(p.v)
			}
		}
	}
	if in.Accesorios != nil {
		if acc, ok := albAccesorios(in.Accesorios); ok {
			a.Accesorios = acc
		} else {
			fe.Add("accesorios", "Expected a list of {descripcion, cantidad} objects, or a string holding one.")
		}
	}
	if in.EquiposPrueba != nil {
		if eq, ok := albEquipos(in.EquiposPrueba); ok {
			a.EquiposPrueba = eq
		} else {
			fe.Add("equipos_prueba", "Expected a list of {codigo} objects, or a string holding one.")
		}
	}
}

// tipoInput is the type as sent, from tipo_documento or its aliases.
func (in *AlbaranInput) tipoInput() (FieldValue, bool) {
	vs := []FieldValue{in.Tipo, in.TipoAlbaran, in.TipoOperacion}
	if in.Cabecera != nil {
		vs = append(vs, in.Cabecera.TipoTransaccion)
	}
	if v, ok := albFirstGiven(vs...); ok {
		return v, true
	}
	// Present but blank or null: an explicit "no type".
	for _, v := range vs {
		if v.Set {
			return v, true
		}
	}
	return FieldValue{}, false
}

// albClassify validates the type and direction of a document, filling the
// INVENTARIO default direction. It returns false when they are unusable.
func albClassify(a *Albaran, fe errs.FieldErrors) bool {
	if a.Tipo == nil {
		if _, bad := fe["tipo_documento"]; !bad {
			fe.Add("tipo_documento", albMsgRequired)
		}
		return false
	}
	if a.Direccion == nil {
		if *a.Tipo != Inventario {
			fe.Add("direccion_transferencia", fmt.Sprintf("This field is required for a %s document (ENTRADA or SALIDA).", *a.Tipo))
			return false
		}
		d := Entrada
		a.Direccion = &d
	}
	return true
}

func albSetTipo(a *Albaran, v FieldValue, fe errs.FieldErrors) {
	a.Tipo = nil
	if !v.given() {
		return
	}
	t, ok := ParseTipo(v.Text)
	if !ok {
		fe.Add("tipo_documento", fmt.Sprintf("%q is not a valid choice (TRANSFERENCIA, INVENTARIO, DESTRUCCION, RECIBO_MANO, OTRO).", v.Text))
		return
	}
	a.Tipo = &t
}

func albSetDireccion(a *Albaran, v FieldValue, fe errs.FieldErrors) {
	a.Direccion = nil
	if !v.given() {
		return
	}
	d, ok := ParseDireccion(v.Text)
	if !ok {
		fe.Add("direccion_transferencia", fmt.Sprintf("%q is not a valid choice (ENTRADA or SALIDA).", v.Text))
		return
	}
	a.Direccion = &d
}

// IsRegistroSalida reports an outgoing transfer, whose number is its
// registry number S<year>-NNNN.
func (a *Albaran) IsRegistroSalida() bool {
	return a.Tipo != nil && *a.Tipo == Transferencia && a.Direccion != nil && *a.Direccion == Salida
}

// Outgoing reports a document whose movements take items out of custody.
func (a *Albaran) Outgoing() bool {
	return EstadoNuevo(albTipo(a), albDireccion(a)) == Inactivo
}

func albTipo(a *Albaran) Tipo {
	if a.Tipo == nil {
		return ""
	}
	return *a.Tipo
}

func albDireccion(a *Albaran) Direccion {
	if a.Direccion == nil {
		return ""
	}
	return *a.Direccion
}

// albRegistroYear is the year of fecha_transaccion, or of now.
func albRegistroYear(a *Albaran, now time.Time) int {
	if a.FechaTransaccion != nil {
		return a.FechaTransaccion.Year()
	}
	return now.Year()
}

// ---- lines ----------------------------------------------------------------

// ParseArticulos validates document lines. Errors are per line under
// field ({"articulos": {"3": {"numero_serie": [...]}}}); a (codigo,
// numero_serie) repeated in the request is an error on the later line
// unless skipDup, in which case the repeat is dropped and counted.
func ParseArticulos(field string, in []ArticuloInput, docTipo Tipo, skipDup bool) ([]LineaAlbaran, int, error) {
	lines := make([]LineaAlbaran, 0, len(in))
	lineErrs := map[string]any{}
	seen := map[[2]string]int{}
	dups := 0
	for i, a := range in {
		fe := errs.FieldErrors{}
		l := LineaAlbaran{Index: i, Codigo: strings.TrimSpace(a.Codigo.Text), NumeroSerie: strings.TrimSpace(a.NumeroSerie.Text), Cantidad: 1, Tipo: docTipo}
		if a.Codigo.Null || l.Codigo == "" {
			fe.Add("codigo", albMsgRequired)
		} else if len(l.Codigo) > albMaxLinea {
			fe.Add("codigo", fmt.Sprintf("Ensure this field has no more than %d characters.", albMaxLinea))
		}
		if a.NumeroSerie.Null || l.NumeroSerie == "" {
			fe.Add("numero_serie", albMsgRequired)
		} else if len(l.NumeroSerie) > albMaxLinea {
			fe.Add("numero_serie", fmt.Sprintf("Ensure this field has no more than %d characters.", albMaxLinea))
		}
		if n, msg := albInt(a.Cantidad); msg != "" {
			fe.Add("cantidad", msg)
		} else if n != nil {
			if *n < 0 {
				fe.Add("cantidad", albMsgMinZero)
			}
			l.Cantidad = *n
		}
		if n, msg := albInt(a.CC); msg != "" {
			fe.Add("cc", msg)
		} else {
			l.CC = ccOrDefault(a.CC, n)
		}
		if a.Descripcion.given() {
			l.Descripcion = albText(a.Descripcion)
		}
		if a.Observaciones.Set && !a.Observaciones.Null {
			l.Observaciones = albText(a.Observaciones)
		}
		// The line's own type when it is a valid one, else the document's
		// (legacy); an unknown value is not an error there either.
		if t, ok := ParseTipo(a.TipoMovimiento.Text); ok && a.TipoMovimiento.given() {
			l.Tipo = t
		}
		if l.Tipo == "" {
			l.Tipo = Inventario
		}
		if len(fe) == 0 {
			k := [2]string{l.Codigo, l.NumeroSerie}
			if first, ok := seen[k]; ok {
				if skipDup {
					dups++
					continue
				}
				fe.Add("numero_serie", fmt.Sprintf("Duplicate of line %d: product %s with serial %s appears twice in this request.", first, l.Codigo, l.NumeroSerie))
			} else {
				seen[k] = i
			}
		}
		if len(fe) > 0 {
			lineErrs[strconv.Itoa(i)] = map[string]any(fe)
			continue
		}
		lines = append(lines, l)
	}
	if len(lineErrs) > 0 {
		out := errs.FieldErrors{}
		out.Nest(field, lineErrs)
		return nil, 0, out.Err()
	}
	return lines, dups, nil
}

// MsgFueraDeCustodia refuses taking out an item already out of custody.
func MsgFueraDeCustodia(codigo, serie string) string {
	return fmt.Sprintf("Item %s / %s is out of custody (inactivo) already; it cannot leave again. Check its history before issuing this document.", codigo, serie)
}

// OutgoingLineErrors is the rule for lines of a document that takes items
// out of custody: an item whose inventory row says it is already out of
// custody cannot leave again (that would hide a custody error). Items
// without a row are stock that pre-dated the system and may leave.
// estados[i] is the current state of lines[i]'s item, "" without a row.
func OutgoingLineErrors(field string, lines []LineaAlbaran, estados []Estado) error {
	lineErrs := map[string]any{}
	for i, l := range lines {
		if estados[i] == Inactivo {
			lineErrs[strconv.Itoa(l.Index)] = map[string]any{"numero_serie": []string{MsgFueraDeCustodia(l.Codigo, l.NumeroSerie)}}
		}
	}
	if len(lineErrs) == 0 {
		return nil
	}
	fe := errs.FieldErrors{}
	fe.Nest(field, lineErrs)
	return fe.Err()
}

// ParseMovimientos validates an edit's `movimientos` list: every entry
// needs producto_codigo and numero_serie (existing ones may omit them to
// keep theirs), ids are unique, (codigo, serie) pairs too.
func ParseMovimientos(field string, in []MovimientoInput) ([]MovimientoEdit, error) {
	out := make([]MovimientoEdit, 0, len(in))
	lineErrs := map[string]any{}
	ids := map[int64]int{}
	for i, m := range in {
		e, fe := albMovimientoEdit(m, i, true)
		if e.ID != 0 {
			if first, ok := ids[e.ID]; ok {
				fe.Add("id", fmt.Sprintf("Movement %d is listed twice (line %d).", e.ID, first))
			}
			ids[e.ID] = i
		}
		if len(fe) > 0 {
			lineErrs[strconv.Itoa(i)] = map[string]any(fe)
			continue
		}
		out = append(out, e)
	}
	if len(lineErrs) > 0 {
		fe := errs.FieldErrors{}
		fe.Nest(field, lineErrs)
		return nil, fe.Err()
	}
	return out, nil
}

// albMovimientoEdit reads one movement change. New movements (no id)
// need producto_codigo and numero_serie.
func albMovimientoEdit(m MovimientoInput, i int, list bool) (MovimientoEdit, errs.FieldErrors) {
	fe := errs.FieldErrors{}
	e := MovimientoEdit{Index: i}
	if list {
		if id, msg := albID(m.ID); msg != "" {
			fe.Add("id", msg)
		} else if id != nil {
			e.ID = *id
		}
	}
	text := func(name string, v FieldValue, required bool) *string {
		if !v.Set {
			if required {
				fe.Add(name, albMsgRequired)
			}
			return nil
		}
		s := strings.TrimSpace(v.Text)
		if v.Null || s == "" {
			fe.Add(name, "This field may not be blank.")
			return nil
		}
		if len(s) > albMaxLinea {
			fe.Add(name, fmt.Sprintf("Ensure this field has no more than %d characters.", albMaxLinea))
		}
		return &s
	}
	isNew := list && e.ID == 0
	e.Codigo = text("producto_codigo", m.ProductoCodigo, isNew)
	e.NumeroSerie = text("numero_serie", m.NumeroSerie, isNew)
	if m.Cantidad.Set {
		n, msg := albInt(m.Cantidad)
		switch {
		case msg != "":
			fe.Add("cantidad", msg)
		case n == nil:
			one := 1
			e.Cantidad = &one
		case *n < 0:
			fe.Add("cantidad", albMsgMinZero)
		default:
			e.Cantidad = n
		}
	}
	if m.CC.Set {
		n, msg := albInt(m.CC)
		if msg != "" {
			fe.Add("cc", msg)
		}
		e.CC, e.SetCC = n, true
	}
	if isNew && msg0(fe, "cc") {
		e.CC, e.SetCC = ccOrDefault(m.CC, e.CC), true
	}
	if m.Descripcion.Set {
		e.Descripcion, e.SetDescripcion = albText(m.Descripcion), true
	}
	if m.Observaciones.Set {
		e.Observaciones, e.SetObs = albText(m.Observaciones), true
	}
	if m.TipoMovimiento.given() {
		t, ok := ParseTipo(m.TipoMovimiento.Text)
		if !ok {
			fe.Add("tipo_movimiento", fmt.Sprintf("%q is not a valid choice.", m.TipoMovimiento.Text))
		} else {
			e.Tipo = &t
		}
	}
	return e, fe
}

// ---- service --------------------------------------------------------------

// ListAlbaranes returns documents matching f and the total count.
func (s *Service) ListAlbaranes(ctx context.Context, f AlbaranFilter) ([]AlbaranDetalle, int, error) {
	return s.store.ListAlbaranes(ctx, f)
}

// GetAlbaran returns one document.
func (s *Service) GetAlbaran(ctx context.Context, id int64) (*AlbaranDetalle, error) {
	return s.store.AlbaranDetalle(ctx, id)
}

// PlanAlbaran validates a create request into a plan. main is the
// document named by documento_principal_id (nil when none or missing).
// It is pure: the store re-checks what depends on the database.
func PlanAlbaran(in *AlbaranInput, main *Albaran, now time.Time) (*AlbaranPlan, error) {
	fe := errs.FieldErrors{}
	today := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	a := Albaran{Fecha: now, FechaInforme: &today, FechaTransaccion: &today, PaginaNumero: 1, TotalPaginas: 1,
		Accesorios: []Accesorio{}, EquiposPrueba: []EquipoPrueba{}}
	p := &AlbaranPlan{}

	esPagina := false
	if in.EsPaginaAdicional.Set && !in.EsPaginaAdicional.Null {
		v, msg := albBool(in.EsPaginaAdicional)
		if msg != "" {
			fe.Add("es_pagina_adicional", msg)
		}
		esPagina = v
	}
	principalID, msg := albID(in.DocumentoPrincipalID)
	if msg != "" {
		fe.Add("documento_principal_id", msg)
	}
	switch {
	case principalID != nil && main == nil:
		fe.Add("documento_principal_id", fmt.Sprintf("Invalid pk \"%d\" - object does not exist.", *principalID))
	case principalID != nil && main.DocumentoPrincipalID != nil:
		fe.Add("documento_principal_id", fmt.Sprintf("Document %d is itself an extra page; give its main document (%d).", *principalID, *main.DocumentoPrincipalID))
	case principalID != nil:
		p.PrincipalID = principalID
		// A page belongs to its main document: same type, direction,
		// companies and registry numbers unless the request says otherwise.
		a.Tipo, a.Direccion = main.Tipo, main.Direccion
		a.EmpresaOrigenID, a.EmpresaDestinoID = main.EmpresaOrigenID, main.EmpresaDestinoID
		a.NumeroRegistroEntrada, a.NumeroRegistroSalida = main.NumeroRegistroEntrada, main.NumeroRegistroSalida
		a.ODMCNumero, a.CodigoContabilidad = main.ODMCNumero, main.CodigoContabilidad
	case esPagina && msg == "":
		fe.Add("documento_principal_id", "An extra page (es_pagina_adicional) needs the id of its main document.")
	}
	if (esPagina || principalID != nil) && p.PrincipalID == nil {
		// Without its main document, nothing else about a page can be
		// judged (its number and type come from it).
		return nil, fe.Err()
	}

	if in.Cabecera != nil {
		c := in.Cabecera
		if !in.NumeroRegistroEntrada.Set && c.NumeroRegistroEntrada.given() {
			in.NumeroRegistroEntrada = c.NumeroRegistroEntrada
		}
		if !in.FechaInforme.Set && c.FechaInforme.given() {
			in.FechaInforme = c.FechaInforme
		}
		if !in.FechaTransaccion.Set && c.FechaTransaccionDMA.given() {
			in.FechaTransaccion = c.FechaTransaccionDMA
		}
		if !in.CodigoContabilidad.Set && c.CodigosContabilidad.given() {
			in.CodigoContabilidad = c.CodigosContabilidad
		}
	}
	albApplyHeader(&a, in, fe)
	if v, ok := in.tipoInput(); ok {
		albSetTipo(&a, v, fe)
	}
	if in.Direccion.Set {
		albSetDireccion(&a, in.Direccion, fe)
	}
	if albClassify(&a, fe) && *a.Direccion == Entrada && *a.Tipo != Inventario {
		fe.Add("direccion_transferencia", MsgStaging)
		return nil, &errs.Error{Kind: errs.KindInvalid, Message: MsgStaging, Fields: map[string]any(fe)}
	}

	switch {
	case p.PrincipalID != nil:
		// numbered by the store
	case a.IsRegistroSalida():
		p.AsignarRegistro, p.RegistroYear = true, albRegistroYear(&a, now)
	default:
		var cab []FieldValue
		if in.Cabecera != nil {
			cab = []FieldValue{in.Cabecera.Numero, in.Cabecera.NumeroRegistroEntrada, in.Cabecera.NumeroRegistroSalida}
		}
		v, ok := albFirstGiven(append([]FieldValue{in.Numero, in.NumeroRegistroEntrada, in.NumeroRegistroSalida}, cab...)...)
		if !ok {
			fe.Add("numero", "This field is required (numero, numero_registro_entrada or numero_registro_salida).")
		}
		a.Numero = strings.TrimSpace(v.Text)
		if in.NumeroRegistroSalida.given() {
			s := strings.TrimSpace(in.NumeroRegistroSalida.Text)
			a.NumeroRegistroSalida = &s
		}
	}
	if len(a.Numero) > albMaxNumero {
		fe.Add("numero", fmt.Sprintf("Ensure this field has no more than %d characters.", albMaxNumero))
	}

	lines, _, err := ParseArticulos("articulos", in.Articulos, albTipo(&a), false)
	if err != nil {
		e, _ := errs.As(err)
		for k, v := range e.Fields {
			fe[k] = v
		}
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	p.Albaran, p.Lineas = a, lines
	return p, nil
}

// CreateAlbaran validates and stores a new document with its lines, all
// or nothing, and returns it.
func (s *Service) CreateAlbaran(ctx context.Context, in *AlbaranInput) (*AlbaranDetalle, error) {
	main, err := s.principalOf(ctx, in)
	if err != nil {
		return nil, err
	}
	plan, err := PlanAlbaran(in, main, s.now())
	if err != nil {
		return nil, err
	}
	id, err := s.store.CreateAlbaran(ctx, plan)
	if err != nil {
		return nil, err
	}
	return s.store.AlbaranDetalle(ctx, id)
}

// EditAlbaran applies an edit request to the document as it is. It is
// pure; the store calls it inside its transaction.
func EditAlbaran(cur *Albaran, in *AlbaranInput, now time.Time) (*AlbaranEdit, error) {
	fe := errs.FieldErrors{}
	a := *cur
	albApplyHeader(&a, in, fe)
	tipoV, tipoSet := in.tipoInput()
	if tipoSet {
		albSetTipo(&a, tipoV, fe)
	}
	if in.Direccion.Set {
		albSetDireccion(&a, in.Direccion, fe)
	}
	e := &AlbaranEdit{}
	if tipoSet || in.Direccion.Set {
		albClassify(&a, fe)
	}
	e.Reclasificado = albTipo(&a) != albTipo(cur) || albDireccion(&a) != albDireccion(cur)
	page := cur.DocumentoPrincipalID != nil
	switch {
	case page:
		// A page's numbers follow its main document.
		if in.Numero.Set && strings.TrimSpace(in.Numero.Text) != cur.Numero {
			fe.Add("numero", "The number of an extra page is its main document's number with -P<n>; change the main document's number instead.")
		}
	case a.IsRegistroSalida() && !cur.IsRegistroSalida():
		// It has just become an outgoing transfer: it gets its own number
		// (a registry number it carried was the sender's).
		e.AsignarRegistro, e.RegistroYear = true, albRegistroYear(&a, now)
	case a.IsRegistroSalida():
		// numero stays the registry number; numero_registro_salida too.
	default:
		if in.Numero.Set {
			n := strings.TrimSpace(in.Numero.Text)
			switch {
			case n == "" || in.Numero.Null:
				fe.Add("numero", "This field may not be blank.")
			case len(n) > albMaxNumero:
				fe.Add("numero", fmt.Sprintf("Ensure this field has no more than %d characters.", albMaxNumero))
			default:
				a.Numero = n
			}
		}
		if in.NumeroRegistroSalida.Set {
			a.NumeroRegistroSalida = nil
			if in.NumeroRegistroSalida.given() {
				s := strings.TrimSpace(in.NumeroRegistroSalida.Text)
				a.NumeroRegistroSalida = &s
			}
		}
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	e.Albaran = a
	return e, nil
}

// UpdateAlbaran edits a document's header and, when the request carries
// `movimientos`, replaces its movement list (entries with an id are
// edited, entries without are added, missing ones deleted). Every item
// touched, before and after, is recomputed.
func (s *Service) UpdateAlbaran(ctx context.Context, id int64, in *AlbaranInput) (*AlbaranDetalle, error) {
	var movs *[]MovimientoEdit
	if in.Movimientos != nil {
		ms, err := ParseMovimientos("movimientos", *in.Movimientos)
		if err != nil {
			return nil, err
		}
		movs = &ms
	}
	now := s.now()
	err := s.store.UpdateAlbaran(ctx, id, func(cur *Albaran) (*AlbaranEdit, error) { return EditAlbaran(cur, in, now) }, movs)
	if err != nil {
		return nil, err
	}
	return s.store.AlbaranDetalle(ctx, id)
}

// DeleteAlbaran deletes a document, its extra pages and its movements and
// puts every touched item back as the remaining movements say.
func (s *Service) DeleteAlbaran(ctx context.Context, id int64) ([]string, error) {
	return s.store.DeleteAlbaran(ctx, id)
}

// AlbaranPaginas lists every page of a document.
func (s *Service) AlbaranPaginas(ctx context.Context, id int64) ([]AlbaranDetalle, error) {
	return s.store.AlbaranPaginas(ctx, id)
}

// AlbaranMovimientos lists a document's movements; conPaginas adds, for a
// main document, its extra pages' (by page).
func (s *Service) AlbaranMovimientos(ctx context.Context, id int64, conPaginas bool) ([]MovimientoDetalle, error) {
	return s.store.AlbaranMovimientos(ctx, id, conPaginas)
}

// AgregarResult is what agregar-productos reports.
type AgregarResult struct {
	Albaran    *AlbaranDetalle
	Nuevos     int
	Duplicados int
}

// AgregarProductos adds lines to an existing document. Lines already on
// it (or repeated in the request) are skipped and counted; any invalid
// line rejects the whole request.
func (s *Service) AgregarProductos(ctx context.Context, id int64, in []ArticuloInput) (*AgregarResult, error) {
	if len(in) == 0 {
		return nil, errs.Field("articulos", "This list may not be empty.")
	}
	doc, err := s.store.AlbaranDetalle(ctx, id)
	if err != nil {
		return nil, err
	}
	lines, reqDups, err := ParseArticulos("articulos", in, albTipo(&doc.Albaran), true)
	if err != nil {
		return nil, err
	}
	nuevos, dups, err := s.store.AgregarArticulos(ctx, id, lines)
	if err != nil {
		return nil, err
	}
	d, err := s.store.AlbaranDetalle(ctx, id)
	if err != nil {
		return nil, err
	}
	return &AgregarResult{Albaran: d, Nuevos: nuevos, Duplicados: dups + reqDups}, nil
}

// ProductosDeAlbaran returns the document numbered numero (or with that
// registry number) and its movements; nil when there is none.
func (s *Service) ProductosDeAlbaran(ctx context.Context, numero string) (*AlbaranRef, []MovimientoDetalle, error) {
	numero = strings.TrimSpace(numero)
	if numero == "" {
		return nil, nil, errs.Field("numero", albMsgRequired)
	}
	return s.store.MovimientosPorNumero(ctx, numero)
}

// PreviewRegistroSalida tells the next registry number of year without
// reserving it.
func (s *Service) PreviewRegistroSalida(ctx context.Context, year int) (string, error) {
	if year < 1900 || year > 9999 {
		return "", errs.Field("año", "Enter a year between 1900 and 9999.")
	}
	return s.store.PreviewRegistroSalida(ctx, year)
}

// Now is the service clock (UTC).
func (s *Service) Now() time.Time { return s.now() }

// ListMovimientos returns movements matching f and the total count.
func (s *Service) ListMovimientos(ctx context.Context, f MovimientoFilter) ([]MovimientoDetalle, int, error) {
	return s.store.ListMovimientos(ctx, f)
}

// EachMovimiento streams every movement matching f to fn, in f's order.
func (s *Service) EachMovimiento(ctx context.Context, f MovimientoFilter, fn func(*MovimientoDetalle) error) error {
	return s.store.EachMovimiento(ctx, f, fn)
}

// GetMovimiento returns one movement.
func (s *Service) GetMovimiento(ctx context.Context, id int64) (*MovimientoDetalle, error) {
	return s.store.MovimientoDetalle(ctx, id)
}

// CreateMovimiento adds one movement to a document and recomputes its item.
func (s *Service) CreateMovimiento(ctx context.Context, in MovimientoInput) (*MovimientoDetalle, error) {
	fe := errs.FieldErrors{}
	albID, msg := albID(in.Albaran)
	switch {
	case msg != "":
		fe.Add("albaran", msg)
	case albID == nil:
		fe.Add("albaran", albMsgRequired)
	}
	e, lfe := albMovimientoEdit(in, 0, true)
	for k, v := range lfe {
		fe[k] = v
	}
	if e.ID != 0 {
		fe.Add("id", "A new movement cannot name an id.")
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	l := LineaAlbaran{Codigo: *e.Codigo, NumeroSerie: *e.NumeroSerie, Descripcion: e.Descripcion, Cantidad: 1, CC: e.CC, Observaciones: e.Observaciones}
	if e.Cantidad != nil {
		l.Cantidad = *e.Cantidad
	}
	if e.Tipo != nil {
		l.Tipo = *e.Tipo
	}
	id, err := s.store.CreateMovimiento(ctx, *albID, l)
	if err != nil {
		return nil, err
	}
	return s.store.MovimientoDetalle(ctx, id)
}

// UpdateMovimiento changes one movement; a new product or serial
// recomputes both the old and the new item.
func (s *Service) UpdateMovimiento(ctx context.Context, id int64, in MovimientoInput) (*MovimientoDetalle, error) {
	e, fe := albMovimientoEdit(in, 0, false)
	if err := fe.Err(); err != nil {
		return nil, err
	}
	e.ID = id
	if err := s.store.UpdateMovimiento(ctx, id, e); err != nil {
		return nil, err
	}
	return s.store.MovimientoDetalle(ctx, id)
}

// DeleteMovimiento removes one movement and recomputes its item.
func (s *Service) DeleteMovimiento(ctx context.Context, id int64) error {
	return s.store.DeleteMovimiento(ctx, id)
}

// AlbaranQuery is the ?filters of the document list as sent.
type AlbaranQuery struct {
	Tipo, Direccion                        string
	Empresa, EmpresaOrigen, EmpresaDestino string
	Desde, Hasta                           string
	Search, Ordering                       string
	NumeroRegistro                         string
	SoloPrincipales                        bool
	Limit, Offset                          int
}

// Filter validates the query; a bad value is a 400 naming its parameter.
func (q AlbaranQuery) Filter() (AlbaranFilter, error) {
	fe := errs.FieldErrors{}
	f := AlbaranFilter{Search: Fold(q.Search), NumeroRegistro: strings.TrimSpace(q.NumeroRegistro), SoloPrincipales: q.SoloPrincipales,
		Limit: q.Limit, Offset: q.Offset}
	if strings.TrimSpace(q.Tipo) != "" {
		if t, ok := ParseTipo(q.Tipo); ok {
			f.Tipo = &t
		} else {
			fe.Add("tipo_documento", fmt.Sprintf("Select a valid choice. %q is not one of the available choices.", q.Tipo))
		}
	}
	if strings.TrimSpace(q.Direccion) != "" {
		if d, ok := ParseDireccion(q.Direccion); ok {
			f.Direccion = &d
		} else {
			fe.Add("direccion_transferencia", fmt.Sprintf("Select a valid choice. %q is not one of the available choices.", q.Direccion))
		}
	}
	for _, p := range []struct {
		name string
		v    string
		dst  **int64
	}{{"empresa", q.Empresa, &f.Empresa}, {"empresa_origen", q.EmpresaOrigen, &f.EmpresaOrigen}, {"empresa_destino", q.EmpresaDestino, &f.EmpresaDestino}} {
		id, msg := albID(Val(p.v))
		if msg != "" {
			fe.Add(p.name, albMsgInteger)
		}
		*p.dst = id
	}
	for _, p := range []struct {
		name string
		v    string
		dst  **time.Time
	}{{"fecha_desde", q.Desde, &f.Desde}, {"fecha_hasta", q.Hasta, &f.Hasta}} {
		t, msg := albDate(Val(p.v))
		if msg != "" {
			fe.Add(p.name, msg)
		}
		*p.dst = t
	}
	if err := fe.Err(); err != nil {
		return f, err
	}
	var err error
	f.Ordering, err = ParseOrdering(q.Ordering, AlbaranOrderings)
	return f, err
}

// MovimientoQuery is the ?filters of the movement list as sent.
type MovimientoQuery struct {
	Albaran, Producto, Codigo, NumeroSerie, Tipo string
	Ordering                                     string
	Limit, Offset                                int
}

// Filter validates the query; a bad value is a 400 naming its parameter.
func (q MovimientoQuery) Filter() (MovimientoFilter, error) {
	fe := errs.FieldErrors{}
	f := MovimientoFilter{Codigo: strings.TrimSpace(q.Codigo), NumeroSerie: strings.TrimSpace(q.NumeroSerie), Limit: q.Limit, Offset: q.Offset}
	var msg string
	if f.AlbaranID, msg = albID(Val(q.Albaran)); msg != "" {
		fe.Add("albaran", albMsgInteger)
	}
	if f.ProductoID, msg = albID(Val(q.Producto)); msg != "" {
		fe.Add("producto", albMsgInteger)
	}
	if strings.TrimSpace(q.Tipo) != "" {
		if t, ok := ParseTipo(q.Tipo); ok {
			f.Tipo = &t
		} else {
			fe.Add("tipo_movimiento", fmt.Sprintf("Select a valid choice. %q is not one of the available choices.", q.Tipo))
		}
	}
	if err := fe.Err(); err != nil {
		return f, err
	}
	var err error
	f.Ordering, err = ParseOrdering(q.Ordering, MovimientoOrderings)
	return f, err
}

// ParseYear reads the ?año= of the registry-number preview; empty means
// the current year.
func ParseYear(s string, now time.Time) (int, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return now.Year(), nil
	}
	y, err := strconv.Atoi(s)
	if err != nil || y < 1900 || y > 9999 {
		return 0, errs.Field("año", "Enter a year between 1900 and 9999.")
	}
	return y, nil
}
