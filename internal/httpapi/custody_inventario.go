package httpapi

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// Inventory: /api/inventario/ (legacy InventarioProductoViewSet). Every
// read is one SQL statement after authentication, whatever the number of
// rows: items come joined to product, type, last movement and document.
// The whole list (no ?page=) is streamed from the database cursor as it is
// encoded, so 20,000 items are never held in memory at once. The state of
// an item is not editable here: it is the replay of its movements
// (documents change it). Reads need productos.ver, writes productos.editar,
// deletes productos.eliminar.

// InventarioJSON is an inventory item (legacy InventarioProductoSerializer).
type InventarioJSON struct {
	ID                   int64           `json:"id"`
	CodigoProducto       string          `json:"codigo_producto"`
	Descripcion          *string         `json:"descripcion"`
	TipoNombre           *string         `json:"tipo_nombre"`
	NumeroSerie          string          `json:"numero_serie"`
	Estado               string          `json:"estado" enum:"activo,inactivo"`
	EstadoDisplay        string          `json:"estado_display"`
	Ubicacion            *string         `json:"ubicacion"`
	UltimaActualizacion  string          `json:"ultima_actualizacion"`
	UltimoMovimientoInfo *MovimientoJSON `json:"ultimo_movimiento_info" doc:"The last movement, in the legacy MovimientoProductoBasicoSerializer shape (17 keys)"`
	Notas                *string         `json:"notas"`
}

func inventarioJSON(it *custody.Item) InventarioJSON {
	out := InventarioJSON{ID: it.ID, CodigoProducto: it.CodigoProducto, Descripcion: it.Descripcion, NumeroSerie: it.NumeroSerie,
		Estado: string(it.Estado), EstadoDisplay: it.Estado.Label(), Ubicacion: it.Ubicacion,
		UltimaActualizacion: isoTime(it.UltimaActualizacion), Notas: it.Notas}
	if it.TipoNombre != "" {
		n := it.TipoNombre
		out.TipoNombre = &n
	}
	if m := it.UltimoMovimiento; m != nil {
		mj := movimientoJSON(m)
		out.UltimoMovimientoInfo = &mj
	}
	return out
}

// drfTimeLayout is isoTime's layout (DRF's datetime rendering).
const drfTimeLayout = "2006-01-02T15:04:05.000000Z07:00"

// appendInventarioJSON writes it exactly as json.Marshal(inventarioJSON(it))
// would, without reflection or intermediate values: the streamed list
// encodes 20,000 of these per request.
func appendInventarioJSON(b []byte, it *custody.Item) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, it.ID, 10)
	b = append(b, `,"codigo_producto":`...)
	b = appendJSONQuoted(b, it.CodigoProducto)
	b = append(b, `,"descripcion":`...)
	b = appendJSONQuotedPtr(b, it.Descripcion)
	b = append(b, `,"tipo_nombre":`...)
	if it.TipoNombre == "" {
		b = append(b, "null"...)
	} else {
		b = appendJSONQuoted(b, it.TipoNombre)
	}
	b = append(b, `,"numero_serie":`...)
	b = appendJSONQuoted(b, it.NumeroSerie)
	b = append(b, `,"estado":`...)
	b = appendJSONQuoted(b, string(it.Estado))
	b = append(b, `,"estado_display":`...)
	b = appendJSONQuoted(b, it.Estado.Label())
	b = append(b, `,"ubicacion":`...)
	b = appendJSONQuotedPtr(b, it.Ubicacion)
	b = append(b, `,"ultima_actualizacion":`...)
	b = appendDRFTime(b, it.UltimaActualizacion)
	b = append(b, `,"ultimo_movimiento_info":`...)
	if m := it.UltimoMovimiento; m == nil {
		b = append(b, "null"...)
	} else {
		b = appendMovimientoJSON(b, m)
	}
	b = append(b, `,"notas":`...)
	b = appendJSONQuotedPtr(b, it.Notas)
	return append(b, '}')
}

// appendMovimientoJSON writes m exactly as json.Marshal(movimientoJSON(m))
// would (the last movement of each streamed item).
func appendMovimientoJSON(b []byte, m *custody.Movimiento) []byte {
	b = append(b, `{"id":`...)
	b = strconv.AppendInt(b, m.ID, 10)
	b = append(b, `,"producto_codigo":`...)
	b = appendJSONQuoted(b, m.ProductoCodigo)
	b = append(b, `,"producto_descripcion":`...)
	b = appendJSONQuoted(b, m.ProductoDescripcion)
	b = append(b, `,"numero_serie":`...)
	b = appendJSONQuoted(b, m.NumeroSerie)
	b = append(b, `,"descripcion":`...)
	b = appendJSONQuotedPtr(b, m.Descripcion)
	b = append(b, `,"albaran_numero":`...)
	b = appendJSONQuoted(b, m.AlbaranNumero)
	b = append(b, `,"albaran_id":`...)
	b = strconv.AppendInt(b, m.AlbaranID, 10)
	b = append(b, `,"fecha":`...)
	b = appendDRFTime(b, m.Fecha)
	b = append(b, `,"tipo_movimiento":`...)
	b = appendJSONQuoted(b, string(m.Tipo))
	b = append(b, `,"tipo_movimiento_display":`...)
	b = appendJSONQuoted(b, m.Tipo.Label())
	b = append(b, `,"estado_anterior":`...)
	b = appendJSONQuoted(b, string(m.EstadoAnterior))
	b = append(b, `,"estado_nuevo":`...)
	b = appendJSONQuoted(b, string(m.EstadoNuevo))
	b = append(b, `,"cantidad":`...)
	b = strconv.AppendInt(b, int64(m.Cantidad), 10)
	b = append(b, `,"cc":`...)
	if m.CC == nil {
		b = append(b, "null"...)
	} else {
		b = strconv.AppendInt(b, int64(*m.CC), 10)
	}
	b = append(b, `,"observaciones":`...)
	b = appendJSONQuotedPtr(b, m.Observaciones)
	b = append(b, `,"pagina_origen":`...)
	b = strconv.AppendInt(b, int64(m.PaginaOrigen), 10)
	b = append(b, `,"pagina_id":`...)
	b = strconv.AppendInt(b, m.AlbaranID, 10)
	return append(b, '}')
}

// appendDRFTime writes t as isoTime does ("2006-01-02T15:04:05.000000Z",
// quoted), without time.Format's layout parsing: two per item.
func appendDRFTime(b []byte, t time.Time) []byte {
	t = t.UTC()
	year, month, day := t.Date()
	hour, minute, sec := t.Clock()
	if year < 0 || year > 9999 {
		return strconv.AppendQuote(b, t.Format(drfTimeLayout))
	}
	d2 := func(b []byte, v int) []byte { return append(b, byte('0'+v/10), byte('0'+v%10)) }
	b = append(b, '"', byte('0'+year/1000), byte('0'+year/100%10), byte('0'+year/10%10), byte('0'+year%10), '-')
	b = d2(b, int(month))
	b = append(b, '-')
	b = d2(b, day)
	b = append(b, 'T')
	b = d2(b, hour)
	b = append(b, ':')
	b = d2(b, minute)
	b = append(b, ':')
	b = d2(b, sec)
	us := t.Nanosecond() / 1000
	b = append(b, '.', byte('0'+us/100000), byte('0'+us/10000%10), byte('0'+us/1000%10), byte('0'+us/100%10), byte('0'+us/10%10), byte('0'+us%10), 'Z', '"')
	return b
}

func appendJSONQuotedPtr(b []byte, s *string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	return appendJSONQuoted(b, *s)
}

const jsonHexDigits = "0123456789abcdef"

// appendJSONQuoted quotes s as encoding/json does (HTML-safe escapes,
// U+2028/U+2029 escaped, invalid UTF-8 replaced by U+FFFD).
func appendJSONQuoted(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			default:
				b = append(b, '\\', 'u', '0', '0', jsonHexDigits[c>>4], jsonHexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', jsonHexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// MovimientoJSON is a movement in the legacy MovimientoProductoSerializer
// shape, without the unreliable inventario_actual (an item's history).
type MovimientoJSON struct {
	ID                    int64   `json:"id"`
	ProductoCodigo        string  `json:"producto_codigo"`
	ProductoDescripcion   string  `json:"producto_descripcion"`
	NumeroSerie           string  `json:"numero_serie"`
	Descripcion           *string `json:"descripcion"`
	AlbaranNumero         string  `json:"albaran_numero"`
	AlbaranID             int64   `json:"albaran_id"`
	Fecha                 string  `json:"fecha"`
	TipoMovimiento        string  `json:"tipo_movimiento"`
	TipoMovimientoDisplay string  `json:"tipo_movimiento_display"`
	EstadoAnterior        string  `json:"estado_anterior"`
	EstadoNuevo           string  `json:"estado_nuevo"`
	Cantidad              int     `json:"cantidad"`
	CC                    *int    `json:"cc"`
	Observaciones         *string `json:"observaciones"`
	PaginaOrigen          int     `json:"pagina_origen" doc:"Page number of the document page the movement is on"`
	PaginaID              int64   `json:"pagina_id" doc:"Id of that page"`
}

func movimientoJSON(m *custody.Movimiento) MovimientoJSON {
	return MovimientoJSON{ID: m.ID, ProductoCodigo: m.ProductoCodigo, ProductoDescripcion: m.ProductoDescripcion,
		NumeroSerie: m.NumeroSerie, Descripcion: m.Descripcion, AlbaranNumero: m.AlbaranNumero, AlbaranID: m.AlbaranID,
		Fecha: isoTime(m.Fecha), TipoMovimiento: string(m.Tipo), TipoMovimientoDisplay: m.Tipo.Label(),
		EstadoAnterior: string(m.EstadoAnterior), EstadoNuevo: string(m.EstadoNuevo), Cantidad: m.Cantidad, CC: m.CC,
		Observaciones: m.Observaciones, PaginaOrigen: m.PaginaOrigen, PaginaID: m.AlbaranID}
}

// ResumenJSON is GET /api/inventario/resumen/.
type ResumenJSON struct {
	Total         int `json:"total"`
	EnCustodia    int `json:"en_custodia"`
	FueraCustodia int `json:"fuera_custodia"`
}

// InventarioFilters are the list filters (also accepted by resumen, as
// the legacy did).
type InventarioFilters struct {
	Estado         string `query:"estado" doc:"activo or inactivo"`
	Ubicacion      string `query:"ubicacion" doc:"Exact location"`
	NumeroSerie    string `query:"numero_serie" doc:"Substring of the serial number, case-insensitive"`
	CodigoProducto string `query:"codigo_producto" doc:"Substring of the product code, case-insensitive"`
	Tipo           string `query:"tipo" doc:"Product type id"`
	Search         string `query:"search" doc:"Substring of serial, location, notes, product code or description (case and accents ignored)"`
}

func (f InventarioFilters) query() (custody.InventarioQuery, error) {
	q := custody.InventarioQuery{NumeroSerie: f.NumeroSerie, CodigoProducto: f.CodigoProducto, Search: f.Search}
	if strings.TrimSpace(f.Estado) != "" {
		e, err := custody.ParseEstado(f.Estado)
		if err != nil {
			return q, err
		}
		q.Estado = &e
	}
	if f.Ubicacion != "" {
		u := f.Ubicacion
		q.Ubicacion = &u
	}
	if t := strings.TrimSpace(f.Tipo); t != "" {
		id, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return q, errs.Field("tipo", "Introduzca un número entero válido.")
		}
		q.TipoID = &id
	}
	return q, nil
}

type inventarioListInput struct {
	PageParams
	InventarioFilters
	Ordering string `query:"ordering" doc:"codigo_producto, numero_serie, estado, ubicacion, ultima_actualizacion or id; \"-\" for descending; comma-separated"`
}

type inventarioResumenInput struct {
	InventarioFilters
}

type inventarioCreate struct {
	Producto       nullableRef `json:"producto" doc:"Catalog product id (or give codigo_producto)"`
	CodigoProducto string      `json:"codigo_producto" doc:"Catalog product code (when producto is not given)"`
	NumeroSerie    string      `json:"numero_serie"`
	Estado         string      `json:"estado" doc:"activo (default) or inactivo: the state the stock was in before the system"`
	Descripcion    *string     `json:"descripcion"`
	Ubicacion      *string     `json:"ubicacion"`
	Notas          *string     `json:"notas"`
}

// presentString is a string field whose presence (and null) is recorded.
type presentString struct {
	set bool
	v   *string
}

// UnmarshalJSON records a string or null; other values count as a
// (wrong) string so they fail the rule that reads them.
func (p *presentString) UnmarshalJSON(b []byte) error {
	p.set, p.v = true, nil
	if string(b) == "null" {
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		s = string(b)
	}
	p.v = &s
	return nil
}

// Schema documents the field as a nullable string.
func (presentString) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Type: huma.TypeString, Nullable: true}
}

type inventarioUpdate struct {
	Descripcion    presentString `json:"descripcion"`
	Ubicacion      presentString `json:"ubicacion"`
	Notas          presentString `json:"notas"`
	Estado         presentString `json:"estado" doc:"Read-only: accepted only when equal to the current state (it changes through documents)"`
	NumeroSerie    presentString `json:"numero_serie" doc:"Read-only: accepted only when unchanged"`
	CodigoProducto presentString `json:"codigo_producto" doc:"Read-only: accepted only when unchanged"`
}

func (u inventarioUpdate) input() custody.ItemInput {
	return custody.ItemInput{
		Descripcion: u.Descripcion.v, DescripcionSet: u.Descripcion.set,
		Ubicacion: u.Ubicacion.v, UbicacionSet: u.Ubicacion.set,
		Notas: u.Notas.v, NotasSet: u.Notas.set,
		Estado: u.Estado.v, EstadoSet: u.Estado.set,
		NumeroSerie: u.NumeroSerie.v, NumeroSerieSet: u.NumeroSerie.set,
		CodigoProducto: u.CodigoProducto.v, CodigoProductoSet: u.CodigoProducto.set,
	}
}

type inventarioUpdateInput struct {
	ID   string `path:"id" doc:"Integer id"`
	Body inventarioUpdate
}

// streamFlushEvery is how many items go out between explicit flushes of
// the streamed list, so the client starts reading early.
const streamFlushEvery = 1000

func (s *Server) registerInventario() {
	ver := Permission(identity.PermProductosVer)
	editar := Permission(identity.PermProductosEditar)
	eliminar := Permission(identity.PermProductosEliminar)
	tags := []string{"inventario"}
	cs := func() *custody.Service { return s.deps.Custody }

	listSchema := s.API.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[List[InventarioJSON]](), true, "")
	Register(s.API, huma.Operation{OperationID: "inventario-list", Method: http.MethodGet, Path: "/api/inventario/", Tags: tags,
		Summary: "List the inventory (filters, search, ordering); the whole list is streamed",
		Responses: map[string]*huma.Response{"200": {Description: "Items: a bare array streamed from the database (default), or a page with ?page=",
			Content: map[string]*huma.MediaType{"application/json": {Schema: listSchema}}}}}, ver,
		func(ctx context.Context, in *inventarioListInput) (*huma.StreamResponse, error) {
			q, err := in.query()
			if err != nil {
				return nil, err
			}
			if q.Order, err = custody.ParseOrdering(in.Ordering, custody.InventarioOrdering); err != nil {
				return nil, err
			}
			if in.Paged() {
				q.Limit, q.Offset = in.Limit(), in.Offset()
				items, n, err := cs().ListInventario(ctx, q)
				if err != nil {
					return nil, err
				}
				if err := CheckPage(in.PageParams, n); err != nil {
					return nil, err
				}
				out := make([]InventarioJSON, len(items))
				for i := range items {
					out[i] = inventarioJSON(&items[i])
				}
				return jsonResponse(NewList(out, in.PageParams, n, RequestURL(ctx)))
			}
			return &huma.StreamResponse{Body: func(hctx huma.Context) { s.streamInventario(hctx, q) }}, nil
		})
	Register(s.API, huma.Operation{OperationID: "inventario-resumen", Method: http.MethodGet, Path: "/api/inventario/resumen/", Tags: tags,
		Summary: "Items in and out of custody (running totals; counted when filters are given)"}, ver,
		func(ctx context.Context, in *inventarioResumenInput) (*struct{ Body ResumenJSON }, error) {
			q, err := in.query()
			if err != nil {
				return nil, err
			}
			r, err := cs().ResumenInventario(ctx, q)
			if err != nil {
				return nil, err
			}
			return &struct{ Body ResumenJSON }{Body: ResumenJSON{Total: r.Total, EnCustodia: r.EnCustodia, FueraCustodia: r.FueraCustodia}}, nil
		})
	Register(s.API, huma.Operation{OperationID: "inventario-create", Method: http.MethodPost, Path: "/api/inventario/", Tags: tags,
		Summary: "Register stock held before the system, without a movement (409 if the item exists)", DefaultStatus: http.StatusCreated}, editar,
		func(ctx context.Context, in *struct{ Body inventarioCreate }) (*struct{ Body InventarioJSON }, error) {
			if in.Body.Producto.bad {
				return nil, errs.Field("producto", "El producto indicado no existe.")
			}
			ni := custody.NuevoItem{CodigoProducto: in.Body.CodigoProducto, NumeroSerie: in.Body.NumeroSerie, Estado: custody.Estado(in.Body.Estado),
				Descripcion: in.Body.Descripcion, Ubicacion: in.Body.Ubicacion, Notas: in.Body.Notas}
			if in.Body.Producto.id != nil {
				ni.ProductoID = *in.Body.Producto.id
			}
			it, err := cs().RegistrarInventario(ctx, ni)
			if err != nil {
				return nil, err
			}
			return &struct{ Body InventarioJSON }{Body: inventarioJSON(it)}, nil
		})
	Register(s.API, huma.Operation{OperationID: "inventario-get", Method: http.MethodGet, Path: "/api/inventario/{id}/", Tags: tags,
		Summary: "One inventory item"}, ver,
		func(ctx context.Context, in *custodyIDInput) (*struct{ Body InventarioJSON }, error) {
			id, err := parseCustodyID(in.ID)
			if err != nil {
				return nil, err
			}
			it, err := cs().InventarioItem(ctx, id)
			if err != nil {
				return nil, err
			}
			return &struct{ Body InventarioJSON }{Body: inventarioJSON(it)}, nil
		})
	Register(s.API, huma.Operation{OperationID: "inventario-historial", Method: http.MethodGet, Path: "/api/inventario/{id}/historial/", Tags: tags,
		Summary: "The movements of the item's product and serial, newest first"}, ver,
		func(ctx context.Context, in *custodyIDInput) (*struct{ Body []MovimientoJSON }, error) {
			id, err := parseCustodyID(in.ID)
			if err != nil {
				return nil, err
			}
			ms, err := cs().HistorialInventario(ctx, id)
			if err != nil {
				return nil, err
			}
			out := make([]MovimientoJSON, len(ms))
			for i := range ms {
				out[i] = movimientoJSON(&ms[i])
			}
			return &struct{ Body []MovimientoJSON }{Body: out}, nil
		})
	update := func(ctx context.Context, in *inventarioUpdateInput) (*struct{ Body InventarioJSON }, error) {
		id, err := parseCustodyID(in.ID)
		if err != nil {
			return nil, err
		}
		it, err := cs().UpdateInventario(ctx, id, in.Body.input())
		if err != nil {
			return nil, err
		}
		return &struct{ Body InventarioJSON }{Body: inventarioJSON(it)}, nil
	}
	Register(s.API, huma.Operation{OperationID: "inventario-update", Method: http.MethodPut, Path: "/api/inventario/{id}/", Tags: tags,
		Summary: "Change an item's description, location and notes (the state changes only through documents)"}, editar, update)
	Register(s.API, huma.Operation{OperationID: "inventario-patch", Method: http.MethodPatch, Path: "/api/inventario/{id}/", Tags: tags,
		Summary: "Change an item's description, location or notes (the state changes only through documents)"}, editar, update)
	Register(s.API, huma.Operation{OperationID: "inventario-delete", Method: http.MethodDelete, Path: "/api/inventario/{id}/", Tags: tags,
		Summary: "Remove an item registered without movements (409 when it has movements)", DefaultStatus: http.StatusNoContent}, eliminar,
		func(ctx context.Context, in *custodyIDInput) (*struct{}, error) {
			id, err := parseCustodyID(in.ID)
			if err != nil {
				return nil, err
			}
			return &struct{}{}, cs().DeleteInventario(ctx, id)
		})
}

// jsonResponse answers v as JSON from an operation that otherwise streams
// (huma operations have one response type).
func jsonResponse(v any) (*huma.StreamResponse, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	return &huma.StreamResponse{Body: func(hctx huma.Context) {
		hctx.SetHeader("Content-Type", "application/json")
		hctx.SetStatus(http.StatusOK)
		_, _ = hctx.BodyWriter().Write(b)
	}}, nil
}

// streamInventario writes the inventory as a JSON array from the store's
// cursor.
func (s *Server) streamInventario(hctx huma.Context, q custody.InventarioQuery) {
	streamArray(s, hctx, "inventory", func(fn func(*custody.Item) error) error {
		return s.deps.Custody.EachInventario(hctx.Context(), q, fn)
	}, func(b []byte, it *custody.Item) ([]byte, error) { return appendInventarioJSON(b, it), nil })
}

// streamArray writes a JSON array element by element as each yields
// them (from a database cursor), flushing every streamFlushEvery
// elements. Until the first element is written an error can still be
// answered properly; after that the response is cut short (and logged).
func streamArray[T any](s *Server, hctx huma.Context, what string, each func(fn func(*T) error) error, appendJSON func([]byte, *T) ([]byte, error)) {
	ctx := hctx.Context()
	var (
		bw      *bufio.Writer
		buf     = make([]byte, 0, 1024)
		started bool
		n       int
	)
	start := func() {
		hctx.SetHeader("Content-Type", "application/json")
		hctx.SetStatus(http.StatusOK)
		bw = bufio.NewWriterSize(hctx.BodyWriter(), 32<<10)
		_ = bw.WriteByte('[')
		started = true
	}
	flush := func() {
		_ = bw.Flush()
		if f, ok := hctx.BodyWriter().(http.Flusher); ok {
			f.Flush()
		}
	}
	t0 := time.Now()
	err := each(func(it *T) error {
		var err error
		buf = buf[:0]
		if started {
			buf = append(buf, ',')
		}
		if buf, err = appendJSON(buf, it); err != nil {
			return err
		}
		if !started {
			start()
		}
		if _, err := bw.Write(buf); err != nil {
			return err
		}
		n++
		if n%streamFlushEvery == 0 {
			flush()
		}
		return nil
	})
	if err != nil && !started {
		s.writeHumaError(hctx, err)
		return
	}
	if err != nil {
		logger(ctx).Warn(what+" stream cut short", "err", err, "items", n, "elapsed", time.Since(t0))
		_ = bw.Flush()
		return
	}
	if !started {
		start()
	}
	_ = bw.WriteByte(']')
	flush()
}
