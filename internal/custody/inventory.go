package custody

import (
	"context"
	"strings"

	"github.com/thot-security/thot/internal/errs"
)

// InventoryStore reads the inventory (which only recomputeItems writes
// from movements) and registers or removes stock that has no movements.
// Every list is one query whatever its size: items come joined to their
// product, type, last movement and its document.
type InventoryStore interface {
	// ListInventario returns one page of items (all when q.Limit is 0) and
	// the total matching count, in one query.
	ListInventario(ctx context.Context, q InventarioQuery) ([]Item, int, error)
	// EachInventario calls fn for each matching item in order, reading
	// them from one query without holding them all; fn's *Item is reused
	// between calls. An error from fn stops the iteration and is returned.
	EachInventario(ctx context.Context, q InventarioQuery, fn func(*Item) error) error
	// InventarioItem returns one item (NotFound when missing).
	InventarioItem(ctx context.Context, id int64) (*Item, error)
	// HistorialInventario returns the movements of the item's product and
	// serial, newest first (NotFound when the item is missing).
	HistorialInventario(ctx context.Context, id int64) ([]Movimiento, error)
	// ResumenInventario reads the running totals (constant cost).
	ResumenInventario(ctx context.Context) (Resumen, error)
	// ResumenFiltrado counts the items matching q in one query.
	ResumenFiltrado(ctx context.Context, q InventarioQuery) (Resumen, error)
	// RegistrarInventario inserts stock that pre-dates the system, without
	// a movement: its baseline (estado_inicial) is its state. A Conflict
	// when the item exists; the running totals follow.
	RegistrarInventario(ctx context.Context, in NuevoItem) (*Item, error)
	// UpdateInventario loads the item in a transaction, lets apply change
	// the descriptive fields, and stores them.
	UpdateInventario(ctx context.Context, id int64, apply func(it *Item) error) (*Item, error)
	// DeleteInventario removes an item that has no movements (Conflict
	// otherwise); the running totals follow.
	DeleteInventario(ctx context.Context, id int64) error
}

// InventarioQuery narrows and orders an inventory list.
type InventarioQuery struct {
	Estado         *Estado
	Ubicacion      *string // exact
	NumeroSerie    string  // substring, case-insensitive
	CodigoProducto string  // substring of the product code, case-insensitive
	TipoID         *int64
	// Search matches the folded serial, location, notes and the product's
	// code and description.
	Search string
	Order  []SortKey
	Limit  int
	Offset int
}

// Filtered reports whether q narrows the inventory.
func (q InventarioQuery) Filtered() bool {
	return q.Estado != nil || q.Ubicacion != nil || q.NumeroSerie != "" || q.CodigoProducto != "" || q.TipoID != nil || q.Search != ""
}

// InventarioOrdering lists the orderable inventory fields.
var InventarioOrdering = []string{"codigo_producto", "numero_serie", "estado", "ubicacion", "ultima_actualizacion", "id"}

// ParseEstado reads an ?estado= value; anything but activo/inactivo is an
// Invalid error on "estado".
func ParseEstado(s string) (Estado, error) {
	switch Estado(strings.ToLower(strings.TrimSpace(s))) {
	case Activo:
		return Activo, nil
	case Inactivo:
		return Inactivo, nil
	}
	return "", errs.Field("estado", "Seleccione una opción válida: activo o inactivo.")
}

// NuevoItem registers stock without a movement.
type NuevoItem struct {
	ProductoID     int64
	CodigoProducto string
	NumeroSerie    string
	Estado         Estado
	Descripcion    *string
	Ubicacion      *string
	Notas          *string
}

// ItemInput is an inventory update: only the descriptive fields change.
// Estado, NumeroSerie and CodigoProducto are accepted only when they equal
// the current values (clients send back the whole object).
type ItemInput struct {
	Descripcion, Ubicacion, Notas                *string
	DescripcionSet, UbicacionSet, NotasSet       bool
	Estado, NumeroSerie, CodigoProducto          *string
	EstadoSet, NumeroSerieSet, CodigoProductoSet bool
}

// Messages of the inventory rules.
const (
	msgEstadoDerivado   = "El estado de un artículo se deriva de sus movimientos: cámbielo con un documento (entrada, salida, destrucción), no editando el inventario."
	msgSerieFija        = "El número de serie identifica el artículo y no se puede cambiar; registre el artículo correcto y elimine este si no tiene movimientos."
	msgProductoFijo     = "El producto identifica el artículo y no se puede cambiar."
	msgItemConMovs      = "El artículo tiene movimientos: se retira deshaciendo o eliminando sus documentos, no borrando el inventario."
	msgItemExiste       = "Ya existe un artículo de inventario con este producto y número de serie."
	msgProductoRequired = "Indique el producto (id) o su codigo_producto."
)

// ErrItemExiste is the conflict for registering an existing item.
var ErrItemExiste = &errs.Error{Kind: errs.KindConflict, Message: msgItemExiste,
	Fields: map[string]any{"numero_serie": []string{msgItemExiste}}}

// ErrItemConMovimientos refuses deleting an item that has movements.
var ErrItemConMovimientos = errs.Conflict(msgItemConMovs)

// ListInventario returns a page of the inventory.
func (s *Service) ListInventario(ctx context.Context, q InventarioQuery) ([]Item, int, error) {
	return s.store.ListInventario(ctx, q)
}

// EachInventario streams the inventory.
func (s *Service) EachInventario(ctx context.Context, q InventarioQuery, fn func(*Item) error) error {
	return s.store.EachInventario(ctx, q, fn)
}

// InventarioItem returns one item.
func (s *Service) InventarioItem(ctx context.Context, id int64) (*Item, error) {
	return s.store.InventarioItem(ctx, id)
}

// HistorialInventario returns an item's movements, newest first.
func (s *Service) HistorialInventario(ctx context.Context, id int64) ([]Movimiento, error) {
	return s.store.HistorialInventario(ctx, id)
}

// ResumenInventario counts the items in and out of custody: the running
// totals without filters, one counting query with them.
func (s *Service) ResumenInventario(ctx context.Context, q InventarioQuery) (Resumen, error) {
	if q.Filtered() {
		return s.store.ResumenFiltrado(ctx, q)
	}
	return s.store.ResumenInventario(ctx)
}

// RegistrarInventario records stock that was already held when the
// system started (no document moves it in): the item's baseline is the
// given state, default activo.
func (s *Service) RegistrarInventario(ctx context.Context, in NuevoItem) (*Item, error) {
	fe := errs.FieldErrors{}
	in.NumeroSerie = strings.TrimSpace(in.NumeroSerie)
	in.CodigoProducto = strings.TrimSpace(in.CodigoProducto)
	if in.NumeroSerie == "" {
		fe.Add("numero_serie", msgRequired)
	}
	maxLen(fe, "numero_serie", in.NumeroSerie, 100)
	if in.ProductoID <= 0 && in.CodigoProducto == "" {
		fe.Add("producto", msgProductoRequired)
	}
	if in.Estado == "" {
		in.Estado = Activo
	} else if e, err := ParseEstado(string(in.Estado)); err != nil {
		fe.Add("estado", "Seleccione una opción válida: activo o inactivo.")
	} else {
		in.Estado = e
	}
	if in.Ubicacion != nil {
		maxLen(fe, "ubicacion", *in.Ubicacion, 100)
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	return s.store.RegistrarInventario(ctx, in)
}

// UpdateInventario changes an item's description, location and notes.
// The state is not editable: it is the replay of the item's movements.
func (s *Service) UpdateInventario(ctx context.Context, id int64, in ItemInput) (*Item, error) {
	return s.store.UpdateInventario(ctx, id, func(it *Item) error {
		fe := errs.FieldErrors{}
		if in.EstadoSet && (in.Estado == nil || !strings.EqualFold(strings.TrimSpace(*in.Estado), string(it.Estado))) {
			fe.Add("estado", msgEstadoDerivado)
		}
		if in.NumeroSerieSet && (in.NumeroSerie == nil || strings.TrimSpace(*in.NumeroSerie) != it.NumeroSerie) {
			fe.Add("numero_serie", msgSerieFija)
		}
		if in.CodigoProductoSet && (in.CodigoProducto == nil || strings.TrimSpace(*in.CodigoProducto) != it.CodigoProducto) {
			fe.Add("codigo_producto", msgProductoFijo)
		}
		if in.UbicacionSet {
			it.Ubicacion = trimmedOrNil(in.Ubicacion)
			if it.Ubicacion != nil {
				maxLen(fe, "ubicacion", *it.Ubicacion, 100)
			}
		}
		if in.NotasSet {
			it.Notas = trimmedOrNil(in.Notas)
		}
		if in.DescripcionSet {
			it.Descripcion = trimmedOrNil(in.Descripcion)
		}
		return fe.Err()
	})
}

// DeleteInventario removes an item registered without movements.
func (s *Service) DeleteInventario(ctx context.Context, id int64) error {
	return s.store.DeleteInventario(ctx, id)
}

// trimmedOrNil keeps null as null and an empty string as null (DRF's
// allow_blank + null on these columns).
func trimmedOrNil(s *string) *string {
	if s == nil {
		return nil
	}
	v := strings.TrimSpace(*s)
	if v == "" {
		return nil
	}
	return &v
}
