package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// Product types (/api/tipos-producto/) and the catalog (/api/productos/,
// with the hygiene actions productos-sin-tipo, limpiar-huerfanos and
// asignar-tipo-automatico). Reads need productos.ver, writes
// productos.editar, deletes productos.eliminar.

// TipoProductoJSON is a product type.
type TipoProductoJSON struct {
	ID     int64  `json:"id"`
	Nombre string `json:"nombre"`
}

// ProductoJSON is a catalog product (legacy CatalogoProductoSerializer).
type ProductoJSON struct {
	ID             int64   `json:"id"`
	CodigoProducto string  `json:"codigo_producto"`
	Descripcion    string  `json:"descripcion"`
	Tipo           *int64  `json:"tipo" doc:"Product type id; null for an untyped product"`
	TipoNombre     *string `json:"tipo_nombre"`
}

func productoJSON(p *custody.Producto) ProductoJSON {
	out := ProductoJSON{ID: p.ID, CodigoProducto: p.CodigoProducto, Descripcion: p.Descripcion, Tipo: p.TipoID}
	if p.TipoID != nil {
		n := p.TipoNombre
		out.TipoNombre = &n
	}
	return out
}

// parseCustodyID parses an integer path id; anything else is a 404, as in DRF.
func parseCustodyID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, &errs.Error{Kind: errs.KindNotFound, Message: "No encontrado."}
	}
	return id, nil
}

// nullableRef is a written foreign key: an integer, a numeric string, or
// null ("" too). Absent means unchanged.
type nullableRef struct {
	set bool
	id  *int64
	bad bool
}

// UnmarshalJSON records the value; a bad value becomes a field error.
func (o *nullableRef) UnmarshalJSON(b []byte) error {
	o.set, o.id, o.bad = true, nil, false
	b = bytes.TrimSpace(b)
	s := string(b)
	if s == "null" {
		return nil
	}
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			o.bad = true
			return nil
		}
		if s = strings.TrimSpace(s); s == "" {
			return nil
		}
	}
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		o.bad = true
		return nil
	}
	o.id = &id
	return nil
}

// Schema documents the accepted values.
func (nullableRef) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Description: "Id (integer or numeric string); null or \"\" for none."}
}

// looseFlag is a JSON boolean that also accepts the strings and numbers HTML
// forms send ("true", "1", 1).
type looseFlag bool

// UnmarshalJSON reads true, "true", "1", 1, "yes", "on" as true.
func (f *looseFlag) UnmarshalJSON(b []byte) error {
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	switch x := v.(type) {
	case bool:
		*f = looseFlag(x)
	case float64:
		*f = x != 0
	case string:
		*f = looseFlag(isTrue(x))
	default:
		*f = false
	}
	return nil
}

// Schema documents the accepted values.
func (looseFlag) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Description: "Boolean (true/false; \"true\"/\"1\" are accepted)."}
}

type custodyIDInput struct {
	ID string `path:"id" doc:"Integer id"`
}

type tipoWrite struct {
	Nombre *string `json:"nombre" doc:"Unique type name (at most 50 characters)"`
}

type tipoWriteInput struct {
	ID   string `path:"id" doc:"Integer id"`
	Body tipoWrite
}

type tipoListInput struct {
	PageParams
	Search   string `query:"search" doc:"Substring of the name (case and accents ignored)"`
	Ordering string `query:"ordering" doc:"id or nombre, \"-\" for descending; comma-separated"`
}

type productoWrite struct {
	CodigoProducto *string     `json:"codigo_producto" doc:"Unique product code (part number), at most 50 characters"`
	Descripcion    *string     `json:"descripcion"`
	Tipo           nullableRef `json:"tipo"`
}

func (w productoWrite) input() (custody.ProductoInput, error) {
	if w.Tipo.bad {
		return custody.ProductoInput{}, custody.ErrTipoNoExiste
	}
	return custody.ProductoInput{CodigoProducto: w.CodigoProducto, Descripcion: w.Descripcion, TipoSet: w.Tipo.set, TipoID: w.Tipo.id}, nil
}

type productoWriteInput struct {
	ID   string `path:"id" doc:"Integer id"`
	Body productoWrite
}

type productoListInput struct {
	PageParams
	Search           string `query:"search" doc:"Substring of the code or description (case and accents ignored)"`
	Ordering         string `query:"ordering" doc:"codigo_producto, descripcion, ultima_actualizacion or id; \"-\" for descending; comma-separated"`
	CodigoProducto   string `query:"codigo_producto" doc:"Exact product code"`
	CodigoProductoIn string `query:"codigo_producto__in" doc:"Comma-separated product codes"`
	Tipo             string `query:"tipo" doc:"Type id"`
}

func (in *productoListInput) query() (custody.CatalogQuery, error) {
	order, err := custody.ParseOrdering(in.Ordering, custody.ProductoOrdering)
	if err != nil {
		return custody.CatalogQuery{}, err
	}
	q := custody.CatalogQuery{Search: in.Search, Codigo: strings.TrimSpace(in.CodigoProducto), Order: order, Limit: in.Limit(), Offset: in.Offset()}
	if in.CodigoProductoIn != "" {
		q.CodigoIn = []string{}
		for _, c := range strings.Split(in.CodigoProductoIn, ",") {
			if c = strings.TrimSpace(c); c != "" {
				q.CodigoIn = append(q.CodigoIn, c)
			}
		}
	}
	if t := strings.TrimSpace(in.Tipo); t != "" {
		id, err := strconv.ParseInt(t, 10, 64)
		if err != nil {
			return q, errs.Field("tipo", "Introduzca un número entero válido.")
		}
		q.TipoID = &id
	}
	return q, nil
}

// ProductoSinTipoJSON is one untyped product.
type ProductoSinTipoJSON struct {
	ID                  int64  `json:"id"`
	CodigoProducto      string `json:"codigo_producto"`
	Descripcion         string `json:"descripcion"`
	UltimaActualizacion string `json:"ultima_actualizacion"`
	MovimientosCount    int    `json:"movimientos_count"`
	EsHuerfano          bool   `json:"es_huerfano" doc:"No movement and no inventory row refer to it: limpiar-huerfanos would delete it"`
}

// ProductosSinTipoJSON is GET /api/productos/productos-sin-tipo/.
type ProductosSinTipoJSON struct {
	Productos      []ProductoSinTipoJSON `json:"productos"`
	Total          int                   `json:"total"`
	Huerfanos      int                   `json:"huerfanos"`
	ConMovimientos int                   `json:"con_movimientos"`
}

// HuerfanoJSON is a product limpiar-huerfanos deletes or would delete.
type HuerfanoJSON struct {
	ID          int64  `json:"id"`
	Codigo      string `json:"codigo"`
	Descripcion string `json:"descripcion"`
}

// LimpiarHuerfanosJSON answers limpiar-huerfanos: a preview
// (productos_a_eliminar, requiere_confirmacion) or the result (success,
// eliminados, productos_eliminados).
type LimpiarHuerfanosJSON struct {
	ProductosAEliminar   []HuerfanoJSON `json:"productos_a_eliminar,omitempty"`
	Total                *int           `json:"total,omitempty"`
	RequiereConfirmacion bool           `json:"requiere_confirmacion,omitempty"`
	Success              bool           `json:"success,omitempty"`
	Eliminados           *int           `json:"eliminados,omitempty"`
	ProductosEliminados  []HuerfanoJSON `json:"productos_eliminados,omitempty"`
	Mensaje              string         `json:"mensaje"`
}

// LimpiarHuerfanosRequest is the body of limpiar-huerfanos.
type LimpiarHuerfanosRequest struct {
	Confirmar *looseFlag `json:"confirmar" doc:"true: delete; false: only list what would be deleted; absent: list, or delete when the same user repeats the call within two minutes and the orphans are exactly those listed (the catalog page's two bare calls)"`
}

type limpiarInput struct {
	Body LimpiarHuerfanosRequest
}

// SugerenciaJSON is a suggested type.
type SugerenciaJSON struct {
	ProductoID         int64  `json:"producto_id"`
	Codigo             string `json:"codigo"`
	Descripcion        string `json:"descripcion"`
	TipoSugeridoID     int64  `json:"tipo_sugerido_id"`
	TipoSugeridoNombre string `json:"tipo_sugerido_nombre"`
	Razon              string `json:"razon"`
}

// AsignacionJSON is an applied assignment.
type AsignacionJSON struct {
	ProductoID int64  `json:"producto_id"`
	Codigo     string `json:"codigo"`
	TipoID     int64  `json:"tipo_id"`
	Tipo       string `json:"tipo"`
}

// AsignarTipoJSON answers asignar-tipo-automatico: suggestions, or what
// was applied.
type AsignarTipoJSON struct {
	AsignacionesSugeridas  []SugerenciaJSON `json:"asignaciones_sugeridas,omitempty"`
	TotalSugerencias       *int             `json:"total_sugerencias,omitempty"`
	RequiereConfirmacion   bool             `json:"requiere_confirmacion,omitempty"`
	Success                bool             `json:"success,omitempty"`
	AsignacionesRealizadas []AsignacionJSON `json:"asignaciones_realizadas,omitempty"`
	TotalAsignadas         *int             `json:"total_asignadas,omitempty"`
	Mensaje                string           `json:"mensaje"`
}

// AsignacionRequest is one requested assignment.
type AsignacionRequest struct {
	ProductoID int64 `json:"producto_id"`
	TipoID     int64 `json:"tipo_id"`
}

// AsignarTipoRequest is the body of asignar-tipo-automatico.
type AsignarTipoRequest struct {
	Aplicar      looseFlag           `json:"aplicar" doc:"false or absent: only suggest"`
	Asignaciones []AsignacionRequest `json:"asignaciones" doc:"Assignments to apply; empty with aplicar applies the suggested ones"`
}

type asignarInput struct {
	Body AsignarTipoRequest
}

func (s *Server) registerCatalog() {
	ver := Permission(identity.PermProductosVer)
	editar := Permission(identity.PermProductosEditar)
	eliminar := Permission(identity.PermProductosEliminar)
	tipoTags, prodTags := []string{"tipos-producto"}, []string{"productos"}
	cs := func() *custody.Service { return s.deps.Custody }

	// --- types
	Register(s.API, huma.Operation{OperationID: "tipos-producto-list", Method: http.MethodGet, Path: "/api/tipos-producto/", Tags: tipoTags,
		Summary: "List product types"}, ver,
		func(ctx context.Context, in *tipoListInput) (*struct{ Body List[TipoProductoJSON] }, error) {
			order, err := custody.ParseOrdering(in.Ordering, custody.TipoOrdering)
			if err != nil {
				return nil, err
			}
			ts, n, err := cs().ListTiposProducto(ctx, custody.CatalogQuery{Search: in.Search, Order: order, Limit: in.Limit(), Offset: in.Offset()})
			if err != nil {
				return nil, err
			}
			if err := CheckPage(in.PageParams, n); err != nil {
				return nil, err
			}
			items := make([]TipoProductoJSON, len(ts))
			for i, t := range ts {
				items[i] = TipoProductoJSON(t)
			}
			return &struct{ Body List[TipoProductoJSON] }{Body: NewList(items, in.PageParams, n, RequestURL(ctx))}, nil
		})
	Register(s.API, huma.Operation{OperationID: "tipos-producto-create", Method: http.MethodPost, Path: "/api/tipos-producto/", Tags: tipoTags,
		Summary: "Create a product type (unique name: 409 when taken)", DefaultStatus: http.StatusCreated}, editar,
		func(ctx context.Context, in *struct{ Body tipoWrite }) (*struct{ Body TipoProductoJSON }, error) {
			t, err := cs().CreateTipoProducto(ctx, in.Body.Nombre)
			if err != nil {
				return nil, err
			}
			return &struct{ Body TipoProductoJSON }{Body: TipoProductoJSON(*t)}, nil
		})
	Register(s.API, huma.Operation{OperationID: "tipos-producto-get", Method: http.MethodGet, Path: "/api/tipos-producto/{id}/", Tags: tipoTags,
		Summary: "One product type"}, ver,
		func(ctx context.Context, in *custodyIDInput) (*struct{ Body TipoProductoJSON }, error) {
			id, err := parseCustodyID(in.ID)
			if err != nil {
				return nil, err
			}
			t, err := cs().TipoProducto(ctx, id)
			if err != nil {
				return nil, err
			}
			return &struct{ Body TipoProductoJSON }{Body: TipoProductoJSON(*t)}, nil
		})
	updateTipo := func(partial bool) func(context.Context, *tipoWriteInput) (*struct{ Body TipoProductoJSON }, error) {
		return func(ctx context.Context, in *tipoWriteInput) (*struct{ Body TipoProductoJSON }, error) {
			id, err := parseCustodyID(in.ID)
			if err != nil {
				return nil, err
			}
			t, err := cs().UpdateTipoProducto(ctx, id, in.Body.Nombre, partial)
			if err != nil {
				return nil, err
			}
			return &struct{ Body TipoProductoJSON }{Body: TipoProductoJSON(*t)}, nil
		}
	}
	Register(s.API, huma.Operation{OperationID: "tipos-producto-update", Method: http.MethodPut, Path: "/api/tipos-producto/{id}/", Tags: tipoTags,
		Summary: "Rename a product type"}, editar, updateTipo(false))
	Register(s.API, huma.Operation{OperationID: "tipos-producto-patch", Method: http.MethodPatch, Path: "/api/tipos-producto/{id}/", Tags: tipoTags,
		Summary: "Rename a product type"}, editar, updateTipo(true))
	Register(s.API, huma.Operation{OperationID: "tipos-producto-delete", Method: http.MethodDelete, Path: "/api/tipos-producto/{id}/", Tags: tipoTags,
		Summary: "Delete a product type; its products are kept and become untyped", DefaultStatus: http.StatusNoContent}, eliminar,
		func(ctx context.Context, in *custodyIDInput) (*struct{}, error) {
			id, err := parseCustodyID(in.ID)
			if err != nil {
				return nil, err
			}
			return &struct{}{}, cs().DeleteTipoProducto(ctx, id)
		})

	// --- products
	Register(s.API, huma.Operation{OperationID: "productos-list", Method: http.MethodGet, Path: "/api/productos/", Tags: prodTags,
		Summary: "List catalog products (search, ordering, codigo_producto, codigo_producto__in, tipo)"}, ver,
		func(ctx context.Context, in *productoListInput) (*struct{ Body List[ProductoJSON] }, error) {
			q, err := in.query()
			if err != nil {
				return nil, err
			}
			ps, n, err := cs().ListProductos(ctx, q)
			if err != nil {
				return nil, err
			}
			if err := CheckPage(in.PageParams, n); err != nil {
				return nil, err
			}
			items := make([]ProductoJSON, len(ps))
			for i := range ps {
				items[i] = productoJSON(&ps[i])
			}
			return &struct{ Body List[ProductoJSON] }{Body: NewList(items, in.PageParams, n, RequestURL(ctx))}, nil
		})
	Register(s.API, huma.Operation{OperationID: "productos-create", Method: http.MethodPost, Path: "/api/productos/", Tags: prodTags,
		Summary: "Create a catalog product (unique code: 409 when taken)", DefaultStatus: http.StatusCreated}, editar,
		func(ctx context.Context, in *struct{ Body productoWrite }) (*struct{ Body ProductoJSON }, error) {
			pi, err := in.Body.input()
			if err != nil {
				return nil, err
			}
			p, err := cs().CreateProducto(ctx, pi)
			if err != nil {
				return nil, err
			}
			return &struct{ Body ProductoJSON }{Body: productoJSON(p)}, nil
		})
	Register(s.API, huma.Operation{OperationID: "productos-sin-tipo", Method: http.MethodGet, Path: "/api/productos/productos-sin-tipo/", Tags: prodTags,
		Summary: "Untyped products with their movement counts, newest change first"}, ver,
		func(ctx context.Context, _ *struct{}) (*struct{ Body ProductosSinTipoJSON }, error) {
			ps, err := cs().ProductosSinTipo(ctx)
			if err != nil {
				return nil, err
			}
			out := ProductosSinTipoJSON{Productos: make([]ProductoSinTipoJSON, len(ps)), Total: len(ps)}
			for i, p := range ps {
				out.Productos[i] = ProductoSinTipoJSON{ID: p.ID, CodigoProducto: p.CodigoProducto, Descripcion: p.Descripcion,
					UltimaActualizacion: isoTime(p.UltimaActualizacion), MovimientosCount: p.MovimientosCount, EsHuerfano: p.EsHuerfano()}
				if p.EsHuerfano() {
					out.Huerfanos++
				}
			}
			out.ConMovimientos = out.Total - out.Huerfanos
			return &struct{ Body ProductosSinTipoJSON }{Body: out}, nil
		})
	Register(s.API, huma.Operation{OperationID: "productos-limpiar-huerfanos", Method: http.MethodPost, Path: "/api/productos/limpiar-huerfanos/", Tags: prodTags,
		Summary: "Preview, or with confirmar delete, the untyped products that no movement or inventory row refers to"}, eliminar,
		func(ctx context.Context, in *limpiarInput) (*struct{ Body LimpiarHuerfanosJSON }, error) {
			var (
				ps        []custody.ProductoSinTipo
				confirmar bool
				err       error
			)
			uid := PrincipalFrom(ctx).User.ID
			if in.Body.Confirmar == nil {
				ps, confirmar, err = cs().LimpiarHuerfanosRepetido(ctx, uid)
			} else {
				confirmar = bool(*in.Body.Confirmar)
				cs().ForgetConfirmacion(uid)
				ps, err = cs().LimpiarHuerfanos(ctx, confirmar)
			}
			if err != nil {
				return nil, err
			}
			list := make([]HuerfanoJSON, len(ps))
			for i, p := range ps {
				list[i] = HuerfanoJSON{ID: p.ID, Codigo: p.CodigoProducto, Descripcion: p.Descripcion}
			}
			n := len(list)
			out := LimpiarHuerfanosJSON{}
			if confirmar {
				out.Success, out.Eliminados, out.ProductosEliminados = true, &n, list
				out.Mensaje = "Se eliminaron " + strconv.Itoa(n) + " productos huérfanos del catálogo"
			} else {
				out.ProductosAEliminar, out.Total, out.RequiereConfirmacion = list, &n, true
				out.Mensaje = "Se encontraron " + strconv.Itoa(n) + " productos huérfanos para eliminar. Confirma la operación."
			}
			return &struct{ Body LimpiarHuerfanosJSON }{Body: out}, nil
		})
	asignarAutomatico := func(ctx context.Context, in *asignarInput) (*struct{ Body AsignarTipoJSON }, error) {
		out := AsignarTipoJSON{}
		if !in.Body.Aplicar {
			sug, err := cs().SugerirTipos(ctx)
			if err != nil {
				return nil, err
			}
			list := make([]SugerenciaJSON, len(sug))
			for i, x := range sug {
				list[i] = SugerenciaJSON{ProductoID: x.ProductoID, Codigo: x.Codigo, Descripcion: x.Descripcion,
					TipoSugeridoID: x.TipoID, TipoSugeridoNombre: x.TipoNombre, Razon: x.Razon}
			}
			n := len(list)
			out.AsignacionesSugeridas, out.TotalSugerencias, out.RequiereConfirmacion = list, &n, true
			out.Mensaje = "Asignaciones automáticas sugeridas. Confirma para aplicar."
			return &struct{ Body AsignarTipoJSON }{Body: out}, nil
		}
		as := make([]custody.Asignacion, len(in.Body.Asignaciones))
		for i, a := range in.Body.Asignaciones {
			as[i] = custody.Asignacion{ProductoID: a.ProductoID, TipoID: a.TipoID}
		}
		done, err := cs().AsignarTipoAutomatico(ctx, as)
		if err != nil {
			return nil, err
		}
		list := make([]AsignacionJSON, len(done))
		for i, d := range done {
			list[i] = AsignacionJSON{ProductoID: d.ProductoID, Codigo: d.Codigo, TipoID: d.TipoID, Tipo: d.Tipo}
		}
		n := len(list)
		out.Success, out.AsignacionesRealizadas, out.TotalAsignadas = true, list, &n
		out.Mensaje = "Se asignaron tipos a " + strconv.Itoa(n) + " productos"
		return &struct{ Body AsignarTipoJSON }{Body: out}, nil
	}
	const asignarSummary = "Suggest types for untyped products from similar typed ones; with aplicar, apply the given (or suggested) assignments in one transaction"
	Register(s.API, huma.Operation{OperationID: "productos-asignar-tipo-automatico", Method: http.MethodPost, Path: "/api/productos/asignar-tipo-automatico/", Tags: prodTags,
		Summary: asignarSummary}, editar, asignarAutomatico)
	// The frontend's api.ts (asignarTiposAutomatico) calls the plural.
	Register(s.API, huma.Operation{OperationID: "productos-asignar-tipos-automatico", Method: http.MethodPost, Path: "/api/productos/asignar-tipos-automatico/", Tags: prodTags,
		Summary:     asignarSummary + " (the spelling the cryptotrace frontend calls)",
		Description: "A call without `aplicar` only suggests, even when repeated: type guesses are applied only when asked for."}, editar, asignarAutomatico)
	Register(s.API, huma.Operation{OperationID: "productos-get", Method: http.MethodGet, Path: "/api/productos/{id}/", Tags: prodTags,
		Summary: "One catalog product"}, ver,
		func(ctx context.Context, in *custodyIDInput) (*struct{ Body ProductoJSON }, error) {
			id, err := parseCustodyID(in.ID)
			if err != nil {
				return nil, err
			}
			p, err := cs().Producto(ctx, id)
			if err != nil {
				return nil, err
			}
			return &struct{ Body ProductoJSON }{Body: productoJSON(p)}, nil
		})
	updateProducto := func(full bool) func(context.Context, *productoWriteInput) (*struct{ Body ProductoJSON }, error) {
		return func(ctx context.Context, in *productoWriteInput) (*struct{ Body ProductoJSON }, error) {
			id, err := parseCustodyID(in.ID)
			if err != nil {
				return nil, err
			}
			pi, err := in.Body.input()
			if err != nil {
				return nil, err
			}
			p, err := cs().UpdateProducto(ctx, id, pi, full)
			if err != nil {
				return nil, err
			}
			return &struct{ Body ProductoJSON }{Body: productoJSON(p)}, nil
		}
	}
	Register(s.API, huma.Operation{OperationID: "productos-update", Method: http.MethodPut, Path: "/api/productos/{id}/", Tags: prodTags,
		Summary: "Replace a catalog product"}, editar, updateProducto(true))
	Register(s.API, huma.Operation{OperationID: "productos-patch", Method: http.MethodPatch, Path: "/api/productos/{id}/", Tags: prodTags,
		Summary: "Change some fields of a catalog product"}, editar, updateProducto(false))
	Register(s.API, huma.Operation{OperationID: "productos-delete", Method: http.MethodDelete, Path: "/api/productos/{id}/", Tags: prodTags,
		Summary: "Delete a catalog product that has no movements and no inventory (409 otherwise)", DefaultStatus: http.StatusNoContent}, eliminar,
		func(ctx context.Context, in *custodyIDInput) (*struct{}, error) {
			id, err := parseCustodyID(in.ID)
			if err != nil {
				return nil, err
			}
			return &struct{}{}, cs().DeleteProducto(ctx, id)
		})
}
