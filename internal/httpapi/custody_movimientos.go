package httpapi

import (
	"context"
	"encoding/json"
	"net/http"
	"reflect"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/identity"
)

// Movements (legacy MovimientoProductoViewSet). Every write recomputes the
// items it touches (old and new product/serial) in its transaction. Reads
// need productos.ver, create/edit productos.editar, delete
// productos.eliminar.

// MovimientoInventarioActual is the item's current inventory row.
type MovimientoInventarioActual struct {
	ID          int64   `json:"id"`
	Estado      string  `json:"estado"`
	Descripcion *string `json:"descripcion"`
	NumeroSerie string  `json:"numero_serie"`
	Ubicacion   *string `json:"ubicacion"`
	Notas       *string `json:"notas"`
}

// MovimientoResource is a movement (legacy MovimientoProductoSerializer)
// with the item's current inventory row.
type MovimientoResource struct {
	MovimientoJSON
	InventarioActual *MovimientoInventarioActual `json:"inventario_actual" doc:"The item's current inventory row, null when there is none"`
}

func movimientoResource(m *custody.MovimientoDetalle) MovimientoResource {
	out := MovimientoResource{MovimientoJSON: movimientoJSON(&m.Movimiento)}
	if a := m.Actual; a != nil {
		out.InventarioActual = &MovimientoInventarioActual{ID: a.ID, Estado: string(a.Estado), Descripcion: a.Descripcion,
			NumeroSerie: a.NumeroSerie, Ubicacion: a.Ubicacion, Notas: a.Notas}
	}
	return out
}

func movimientoResources(ms []custody.MovimientoDetalle) []MovimientoResource {
	out := make([]MovimientoResource, len(ms))
	for i := range ms {
		out[i] = movimientoResource(&ms[i])
	}
	return out
}

type movListInput struct {
	PageParams
	Albaran        string `query:"albaran" doc:"Document (page) id"`
	Producto       string `query:"producto" doc:"Catalog product id"`
	ProductoCodigo string `query:"producto_codigo" doc:"Product code (exact)"`
	Codigo         string `query:"codigo" doc:"Alias of producto_codigo"`
	NumeroSerie    string `query:"numero_serie" doc:"Serial number (exact)"`
	TipoMovimiento string `query:"tipo_movimiento"`
	Ordering       string `query:"ordering" doc:"fecha, id, numero_serie, producto_codigo or cantidad; '-' for descending (default -fecha)"`
}

type movIDInput struct {
	ID string `path:"id" doc:"Movement id"`
}

type movWriteInput struct {
	ID   string `path:"id" doc:"Movement id"`
	Body albMovimientoWrite
}

type movOutput struct{ Body MovimientoResource }

func (s *Server) registerMovimientos() {
	tags := []string{"movimientos"}
	read := Permission(identity.PermProductosVer)
	write := Permission(identity.PermProductosEditar)
	del := Permission(identity.PermProductosEliminar)

	listSchema := s.API.OpenAPI().Components.Schemas.Schema(reflect.TypeFor[List[MovimientoResource]](), true, "")
	Register(s.API, huma.Operation{OperationID: "movimientos-list", Method: http.MethodGet, Path: "/api/movimientos/", Tags: tags,
		Summary: "List movements (newest first); the whole list is streamed",
		Responses: map[string]*huma.Response{"200": {Description: "Movements: a bare array streamed from the database (default), or a page with ?page=",
			Content: map[string]*huma.MediaType{"application/json": {Schema: listSchema}}}}}, read,
		func(ctx context.Context, in *movListInput) (*huma.StreamResponse, error) {
			codigo := in.ProductoCodigo
			if codigo == "" {
				codigo = in.Codigo
			}
			f, err := custody.MovimientoQuery{Albaran: in.Albaran, Producto: in.Producto, Codigo: codigo, NumeroSerie: in.NumeroSerie,
				Tipo: in.TipoMovimiento, Ordering: in.Ordering, Limit: in.Limit(), Offset: in.Offset()}.Filter()
			if err != nil {
				return nil, err
			}
			if !in.Paged() {
				// The whole history can be 100,000 movements: stream it.
				return &huma.StreamResponse{Body: func(hctx huma.Context) {
					streamArray(s, hctx, "movements", func(fn func(*custody.MovimientoDetalle) error) error {
						return s.deps.Custody.EachMovimiento(hctx.Context(), f, fn)
					}, func(b []byte, m *custody.MovimientoDetalle) ([]byte, error) {
						j, err := json.Marshal(movimientoResource(m))
						return append(b, j...), err
					})
				}}, nil
			}
			ms, total, err := s.deps.Custody.ListMovimientos(ctx, f)
			if err != nil {
				return nil, err
			}
			if err := CheckPage(in.PageParams, total); err != nil {
				return nil, err
			}
			return jsonResponse(NewList(movimientoResources(ms), in.PageParams, total, RequestURL(ctx)))
		})

	Register(s.API, huma.Operation{OperationID: "movimientos-get", Method: http.MethodGet, Path: "/api/movimientos/{id}/", Tags: tags,
		Summary: "One movement"}, read,
		func(ctx context.Context, in *movIDInput) (*movOutput, error) {
			id, err := albPathID(in.ID)
			if err != nil {
				return nil, err
			}
			m, err := s.deps.Custody.GetMovimiento(ctx, id)
			if err != nil {
				return nil, err
			}
			return &movOutput{Body: movimientoResource(m)}, nil
		})

	Register(s.API, huma.Operation{OperationID: "movimientos-create", Method: http.MethodPost, Path: "/api/movimientos/", Tags: tags,
		DefaultStatus: http.StatusCreated,
		Summary:       "Add a movement to a document (albaran, producto_codigo, numero_serie, …); its item is recomputed"}, write,
		func(ctx context.Context, in *struct{ Body albMovimientoWrite }) (*movOutput, error) {
			m, err := s.deps.Custody.CreateMovimiento(ctx, in.Body.input())
			if err != nil {
				return nil, err
			}
			return &movOutput{Body: movimientoResource(m)}, nil
		})

	update := func(ctx context.Context, in *movWriteInput) (*movOutput, error) {
		id, err := albPathID(in.ID)
		if err != nil {
			return nil, err
		}
		m, err := s.deps.Custody.UpdateMovimiento(ctx, id, in.Body.input())
		if err != nil {
			return nil, err
		}
		return &movOutput{Body: movimientoResource(m)}, nil
	}
	const updDesc = "A new producto_codigo or numero_serie recomputes both the old and the new item. The document cannot be changed."
	Register(s.API, huma.Operation{OperationID: "movimientos-update", Method: http.MethodPut, Path: "/api/movimientos/{id}/", Tags: tags,
		Summary: "Edit a movement (fields left out are kept)", Description: updDesc}, write, update)
	Register(s.API, huma.Operation{OperationID: "movimientos-patch", Method: http.MethodPatch, Path: "/api/movimientos/{id}/", Tags: tags,
		Summary: "Edit some fields of a movement", Description: updDesc}, write, update)

	Register(s.API, huma.Operation{OperationID: "movimientos-delete", Method: http.MethodDelete, Path: "/api/movimientos/{id}/", Tags: tags,
		DefaultStatus: http.StatusNoContent, Summary: "Delete a movement; its item is recomputed"}, del,
		func(ctx context.Context, in *movIDInput) (*struct{}, error) {
			id, err := albPathID(in.ID)
			if err != nil {
				return nil, err
			}
			return &struct{}{}, s.deps.Custody.DeleteMovimiento(ctx, id)
		})
}
