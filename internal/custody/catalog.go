package custody

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/thot-security/thot/internal/errs"
)

// CatalogStore persists product types and catalog products. Mutations
// write their audit entries in the same transaction.
type CatalogStore interface {
	// ListTiposProducto returns types ordered by q.Order (nombre by
	// default), and the total matching count.
	ListTiposProducto(ctx context.Context, q CatalogQuery) ([]TipoProducto, int, error)
	// TipoProducto returns one type (NotFound when missing).
	TipoProducto(ctx context.Context, id int64) (*TipoProducto, error)
	// CreateTipoProducto inserts t and sets its ID. A duplicate name is a
	// Conflict on "nombre".
	CreateTipoProducto(ctx context.Context, t *TipoProducto) error
	// RenameTipoProducto changes a type's name.
	RenameTipoProducto(ctx context.Context, id int64, nombre string) (*TipoProducto, error)
	// DeleteTipoProducto removes a type; its products become untyped.
	DeleteTipoProducto(ctx context.Context, id int64) error

	// ListProductos returns catalog products and the total matching count.
	ListProductos(ctx context.Context, q CatalogQuery) ([]Producto, int, error)
	// Producto returns one product with its type name.
	Producto(ctx context.Context, id int64) (*Producto, error)
	// CreateProducto inserts p (search column included) and sets ID and
	// UltimaActualizacion. A duplicate code is a Conflict on
	// "codigo_producto"; an unknown type an Invalid on "tipo".
	CreateProducto(ctx context.Context, p *Producto) error
	// UpdateProducto loads the product in a transaction, lets apply change
	// it, and stores the result.
	UpdateProducto(ctx context.Context, id int64, apply func(p *Producto) error) (*Producto, error)
	// DeleteProducto removes a product that has no movements and no
	// inventory rows (Conflict otherwise).
	DeleteProducto(ctx context.Context, id int64) error

	// ProductosSinTipo returns the untyped products with their movement
	// counts, newest change first, in one query.
	ProductosSinTipo(ctx context.Context) ([]ProductoSinTipo, error)
	// DeleteHuerfanos deletes, in one transaction, the untyped products
	// that have no movements and no inventory rows (only those among only,
	// when only is not nil), and returns them.
	DeleteHuerfanos(ctx context.Context, only []int64) ([]ProductoSinTipo, error)
	// ProductosTipados returns every product that has a type.
	ProductosTipados(ctx context.Context) ([]Producto, error)
	// AsignarTipos sets the type of each product in one transaction. An
	// unknown product or type rejects the whole list (Invalid on
	// "asignaciones", per index).
	AsignarTipos(ctx context.Context, as []Asignacion) ([]AsignacionHecha, error)
}

// CatalogQuery narrows and orders a catalog list.
type CatalogQuery struct {
	// Search matches the folded code and description (products) or name
	// (types), as a substring.
	Search string
	// Codigo matches a product code exactly; CodigoIn any of the codes.
	Codigo   string
	CodigoIn []string
	// TipoID keeps the products of one type; SinTipo the untyped ones.
	TipoID  *int64
	SinTipo bool
	Order   []SortKey
	Limit   int
	Offset  int
}

// SortKey is one field of an ?ordering= list.
type SortKey struct {
	Field string
	Desc  bool
}

// ParseOrdering reads DRF's ?ordering= ("a,-b") against the allowed field
// names; an unknown field is an Invalid error on "ordering". Empty means
// def.
func ParseOrdering(value string, allowed []string, def ...SortKey) ([]SortKey, error) {
	value = strings.TrimSpace(value)
	if value == "" {
		return def, nil
	}
	var out []SortKey
	for _, part := range strings.Split(value, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k := SortKey{Field: strings.TrimPrefix(part, "-"), Desc: strings.HasPrefix(part, "-")}
		ok := false
		for _, a := range allowed {
			if a == k.Field {
				ok = true
				break
			}
		}
		if !ok {
			return nil, errs.Field("ordering", "Campo de ordenación desconocido: "+k.Field+". Valores permitidos: "+strings.Join(allowed, ", ")+".")
		}
		out = append(out, k)
	}
	if len(out) == 0 {
		return def, nil
	}
	return out, nil
}

// Orderable fields of the catalog lists.
var (
	TipoOrdering     = []string{"id", "nombre"}
	ProductoOrdering = []string{"codigo_producto", "descripcion", "ultima_actualizacion", "id"}
)

// ProductoSinTipo is one row of GET /api/productos/productos-sin-tipo/.
type ProductoSinTipo struct {
	ID                  int64
	CodigoProducto      string
	Descripcion         string
	UltimaActualizacion time.Time
	MovimientosCount    int
	InventarioCount     int
}

// EsHuerfano reports whether the product can be removed: nothing refers
// to it (the legacy looked at movements only; an inventory row without
// movements is registered stock and keeps the product).
func (p ProductoSinTipo) EsHuerfano() bool { return p.MovimientosCount == 0 && p.InventarioCount == 0 }

// Asignacion gives a product a type.
type Asignacion struct {
	ProductoID int64
	TipoID     int64
}

// AsignacionHecha is an applied assignment, for the answer.
type AsignacionHecha struct {
	ProductoID int64
	Codigo     string
	TipoID     int64
	Tipo       string
}

// Sugerencia is a suggested type for an untyped product.
type Sugerencia struct {
	ProductoID  int64
	Codigo      string
	Descripcion string
	TipoID      int64
	TipoNombre  string
	Razon       string
}

// Messages of the catalog rules.
const (
	msgTipoNombreTaken   = "Ya existe un tipo de producto con este nombre."
	msgCodigoTaken       = "Ya existe un producto con este código."
	msgProductoEnUso     = "El producto tiene movimientos o inventario y no se puede eliminar; retire antes sus documentos."
	msgRequired          = "Este campo es requerido."
	msgBlank             = "Este campo no puede estar en blanco."
	msgTipoNoExiste      = "El tipo de producto indicado no existe."
	msgMaxLength         = "Asegúrese de que este campo no tenga más de %d caracteres."
	maxTipoNombre        = 50
	maxCodigoProducto    = 50
	msgAsignacionVacia   = "Indique al menos una asignación o deje que se apliquen las sugeridas."
	msgAsignacionInvalid = "producto_id y tipo_id deben ser enteros positivos."
)

// ErrTipoNombreTaken is the conflict for a duplicate type name.
var ErrTipoNombreTaken = &errs.Error{Kind: errs.KindConflict, Message: msgTipoNombreTaken,
	Fields: map[string]any{"nombre": []string{msgTipoNombreTaken}}}

// ErrCodigoTaken is the conflict for a duplicate product code.
var ErrCodigoTaken = &errs.Error{Kind: errs.KindConflict, Message: msgCodigoTaken,
	Fields: map[string]any{"codigo_producto": []string{msgCodigoTaken}}}

// ErrProductoEnUso refuses deleting a product that has history.
var ErrProductoEnUso = errs.Conflict(msgProductoEnUso)

// ErrTipoNoExiste is the field error for an unknown type id.
var ErrTipoNoExiste = errs.Field("tipo", msgTipoNoExiste)

func maxLen(fe errs.FieldErrors, field, v string, n int) {
	if utf8.RuneCountInString(v) > n {
		fe.Add(field, strings.Replace(msgMaxLength, "%d", strconv.Itoa(n), 1))
	}
}

// --- types -------------------------------------------------------------------

// ListTiposProducto lists product types.
func (s *Service) ListTiposProducto(ctx context.Context, q CatalogQuery) ([]TipoProducto, int, error) {
	return s.store.ListTiposProducto(ctx, q)
}

// TipoProducto returns one type.
func (s *Service) TipoProducto(ctx context.Context, id int64) (*TipoProducto, error) {
	return s.store.TipoProducto(ctx, id)
}

func validTipoNombre(nombre *string) (string, error) {
	fe := errs.FieldErrors{}
	if nombre == nil {
		fe.Add("nombre", msgRequired)
		return "", fe.Err()
	}
	n := strings.TrimSpace(*nombre)
	if n == "" {
		fe.Add("nombre", msgBlank)
	}
	maxLen(fe, "nombre", n, maxTipoNombre)
	return n, fe.Err()
}

// CreateTipoProducto adds a type; the name is required and unique.
func (s *Service) CreateTipoProducto(ctx context.Context, nombre *string) (*TipoProducto, error) {
	n, err := validTipoNombre(nombre)
	if err != nil {
		return nil, err
	}
	t := &TipoProducto{Nombre: n}
	if err := s.store.CreateTipoProducto(ctx, t); err != nil {
		return nil, err
	}
	return t, nil
}

// UpdateTipoProducto renames a type (nil keeps the name, for PATCH).
func (s *Service) UpdateTipoProducto(ctx context.Context, id int64, nombre *string, partial bool) (*TipoProducto, error) {
	if nombre == nil && partial {
		return s.store.TipoProducto(ctx, id)
	}
	n, err := validTipoNombre(nombre)
	if err != nil {
		return nil, err
	}
	return s.store.RenameTipoProducto(ctx, id, n)
}

// DeleteTipoProducto removes a type. Its products are kept and become
// untyped (they then show in productos-sin-tipo): removing a type must not
// remove catalog entries, and with them the custody history, as the
// legacy CASCADE did.
func (s *Service) DeleteTipoProducto(ctx context.Context, id int64) error {
	return s.store.DeleteTipoProducto(ctx, id)
}

// --- products ----------------------------------------------------------------

// ProductoInput is a create or update request; nil fields are left
// unchanged on PATCH. TipoSet tells "tipo": null (untype) from absent.
type ProductoInput struct {
	CodigoProducto *string
	Descripcion    *string
	TipoSet        bool
	TipoID         *int64
}

// ListProductos lists the catalog.
func (s *Service) ListProductos(ctx context.Context, q CatalogQuery) ([]Producto, int, error) {
	return s.store.ListProductos(ctx, q)
}

// Producto returns one catalog product.
func (s *Service) Producto(ctx context.Context, id int64) (*Producto, error) {
	return s.store.Producto(ctx, id)
}

// apply validates in and writes it into p; full requires every field
// (create, PUT).
func (in ProductoInput) apply(p *Producto, full bool) error {
	fe := errs.FieldErrors{}
	if in.CodigoProducto != nil {
		c := strings.TrimSpace(*in.CodigoProducto)
		if c == "" {
			fe.Add("codigo_producto", msgBlank)
		}
		maxLen(fe, "codigo_producto", c, maxCodigoProducto)
		p.CodigoProducto = c
	} else if full {
		fe.Add("codigo_producto", msgRequired)
	}
	if in.Descripcion != nil {
		d := strings.TrimSpace(*in.Descripcion)
		if d == "" {
			fe.Add("descripcion", msgBlank)
		}
		p.Descripcion = d
	} else if full {
		fe.Add("descripcion", msgRequired)
	}
	if in.TipoSet {
		if in.TipoID != nil && *in.TipoID <= 0 {
			fe.Add("tipo", msgTipoNoExiste)
		}
		p.TipoID = in.TipoID
	}
	return fe.Err()
}

// CreateProducto adds a catalog product.
func (s *Service) CreateProducto(ctx context.Context, in ProductoInput) (*Producto, error) {
	p := &Producto{}
	if err := in.apply(p, true); err != nil {
		return nil, err
	}
	if err := s.store.CreateProducto(ctx, p); err != nil {
		return nil, err
	}
	return p, nil
}

// UpdateProducto changes a product (full: PUT semantics).
func (s *Service) UpdateProducto(ctx context.Context, id int64, in ProductoInput, full bool) (*Producto, error) {
	return s.store.UpdateProducto(ctx, id, func(p *Producto) error { return in.apply(p, full) })
}

// DeleteProducto removes a product nothing refers to.
func (s *Service) DeleteProducto(ctx context.Context, id int64) error {
	return s.store.DeleteProducto(ctx, id)
}

// ProductosSinTipo lists the untyped products.
func (s *Service) ProductosSinTipo(ctx context.Context) ([]ProductoSinTipo, error) {
	return s.store.ProductosSinTipo(ctx)
}

// LimpiarHuerfanos previews (confirmar false) or deletes the untyped
// products nothing refers to. The deletion re-checks inside its own
// transaction, so a product that got a movement since the preview stays.
func (s *Service) LimpiarHuerfanos(ctx context.Context, confirmar bool) ([]ProductoSinTipo, error) {
	if confirmar {
		return s.store.DeleteHuerfanos(ctx, nil)
	}
	return s.huerfanos(ctx)
}

func (s *Service) huerfanos(ctx context.Context) ([]ProductoSinTipo, error) {
	all, err := s.store.ProductosSinTipo(ctx)
	if err != nil {
		return nil, err
	}
	out := []ProductoSinTipo{}
	for _, p := range all {
		if p.EsHuerfano() {
			out = append(out, p)
		}
	}
	return out, nil
}

// RepeatConfirmWindow is how long a bare limpiar-huerfanos preview stays
// confirmable by repeating the call.
const RepeatConfirmWindow = 2 * time.Minute

// LimpiarHuerfanosRepetido is limpiar-huerfanos called without confirmar,
// as the catalog page sends it twice: "Limpiar" (preview, then a
// confirmation dialog) and, once the user accepts, the same bare call
// again (its api.ts drops the confirmar argument). The first call
// previews and remembers, for this user, exactly which products it
// listed; a repeat by the same user within RepeatConfirmWindow, while the
// orphans are still exactly those, deletes them (deleted true). Anything
// else previews afresh. Only untyped products that nothing refers to can
// go, the set the user was shown; the memory is per process, so behind
// several instances a repeat may preview again (never delete more).
func (s *Service) LimpiarHuerfanosRepetido(ctx context.Context, userID int64) (list []ProductoSinTipo, deleted bool, err error) {
	cur, err := s.huerfanos(ctx)
	if err != nil {
		return nil, false, err
	}
	ids := make([]int64, len(cur))
	for i, p := range cur {
		ids[i] = p.ID
	}
	fp := idsFingerprint(ids)
	now := s.now()
	s.confirmMu.Lock()
	prev, armed := s.confirm[userID]
	delete(s.confirm, userID)
	for k, v := range s.confirm { // drop stale entries as we go
		if now.After(v.until) {
			delete(s.confirm, k)
		}
	}
	repeat := armed && !now.After(prev.until) && prev.fingerprint == fp && len(ids) > 0
	if !repeat && len(ids) > 0 {
		s.confirm[userID] = pendingConfirm{fingerprint: fp, until: now.Add(RepeatConfirmWindow)}
	}
	s.confirmMu.Unlock()
	if !repeat {
		return cur, false, nil
	}
	out, err := s.store.DeleteHuerfanos(ctx, ids)
	return out, true, err
}

// ForgetConfirmacion drops a pending repeat-confirmation of the user (an
// explicit confirmar: false, or an explicit confirmation, ends it).
func (s *Service) ForgetConfirmacion(userID int64) {
	s.confirmMu.Lock()
	delete(s.confirm, userID)
	s.confirmMu.Unlock()
}

// pendingConfirm is a bare preview waiting for its repeat.
type pendingConfirm struct {
	fingerprint string
	until       time.Time
}

func idsFingerprint(ids []int64) string {
	sorted := append([]int64(nil), ids...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	var b strings.Builder
	for _, id := range sorted {
		b.WriteString(strconv.FormatInt(id, 10))
		b.WriteByte(',')
	}
	return b.String()
}

// SugerirTipos computes a type for each untyped product from the typed
// ones (legacy-cryptotrace §3.6), in memory from two queries.
func (s *Service) SugerirTipos(ctx context.Context) ([]Sugerencia, error) {
	sin, _, err := s.store.ListProductos(ctx, CatalogQuery{SinTipo: true, Order: []SortKey{{Field: "codigo_producto"}}})
	if err != nil {
		return nil, err
	}
	if len(sin) == 0 {
		return []Sugerencia{}, nil
	}
	con, err := s.store.ProductosTipados(ctx)
	if err != nil {
		return nil, err
	}
	return Sugerir(sin, con), nil
}

// AsignarTipoAutomatico applies as, or the suggestions when as is empty,
// in one transaction.
func (s *Service) AsignarTipoAutomatico(ctx context.Context, as []Asignacion) ([]AsignacionHecha, error) {
	if len(as) == 0 {
		sug, err := s.SugerirTipos(ctx)
		if err != nil {
			return nil, err
		}
		for _, x := range sug {
			as = append(as, Asignacion{ProductoID: x.ProductoID, TipoID: x.TipoID})
		}
		if len(as) == 0 {
			return []AsignacionHecha{}, nil
		}
	}
	bad := map[string]any{}
	for i, a := range as {
		if a.ProductoID <= 0 || a.TipoID <= 0 {
			bad[strconv.Itoa(i)] = map[string]any{"non_field_errors": []string{msgAsignacionInvalid}}
		}
	}
	if len(bad) > 0 {
		fe := errs.FieldErrors{}
		fe.Nest("asignaciones", bad)
		return nil, fe.Err()
	}
	return s.store.AsignarTipos(ctx, as)
}

// Sugerir pairs each untyped product with the type of the first typed
// product it resembles, by code first and then by description, scanning
// the typed products in type order as the legacy did.
func Sugerir(sinTipo, tipados []Producto) []Sugerencia {
	type ref struct {
		p     *Producto
		code  []rune
		words map[string]bool
	}
	refs := make([]ref, len(tipados))
	for i := range tipados {
		refs[i] = ref{p: &tipados[i], code: normCodigo(tipados[i].CodigoProducto), words: palabras(tipados[i].Descripcion)}
	}
	out := []Sugerencia{}
	for _, p := range sinTipo {
		code, words := normCodigo(p.CodigoProducto), palabras(p.Descripcion)
		for _, r := range refs {
			razon := ""
			switch {
			case codigosSimilares(code, r.code):
				razon = "Código similar a '" + r.p.CodigoProducto + "'"
			case descripcionesSimilares(words, r.words):
				razon = "Descripción similar a '" + r.p.Descripcion + "'"
			default:
				continue
			}
			out = append(out, Sugerencia{ProductoID: p.ID, Codigo: p.CodigoProducto, Descripcion: p.Descripcion,
				TipoID: *r.p.TipoID, TipoNombre: r.p.TipoNombre, Razon: razon})
			break
		}
	}
	return out
}

func normCodigo(c string) []rune {
	return []rune(strings.ToUpper(strings.NewReplacer(" ", "", "-", "").Replace(c)))
}

// codigosSimilares: the same first 4 characters (spaces and hyphens
// ignored), or at least 70 % of positions agreeing over the longer code.
func codigosSimilares(a, b []rune) bool {
	if len(a) >= 4 && len(b) >= 4 && string(a[:4]) == string(b[:4]) {
		return true
	}
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	same := 0
	for i := 0; i < len(a) && i < len(b); i++ {
		if a[i] == b[i] {
			same++
		}
	}
	return float64(same)/float64(max(len(a), len(b))) >= 0.7
}

func palabras(d string) map[string]bool {
	out := map[string]bool{}
	for _, w := range strings.Fields(strings.ToLower(d)) {
		if utf8.RuneCountInString(w) >= 3 {
			out[w] = true
		}
	}
	return out
}

// descripcionesSimilares: at least 30 % of the words of 3+ characters in
// common, over the larger word set.
func descripcionesSimilares(a, b map[string]bool) bool {
	if len(a) == 0 || len(b) == 0 {
		return false
	}
	common := 0
	for w := range a {
		if b[w] {
			common++
		}
	}
	return float64(common)/float64(max(len(a), len(b))) >= 0.3
}
