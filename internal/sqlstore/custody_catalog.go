package sqlstore

import (
	"context"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/errs"
)

// Product types and the catalog (custody.CatalogStore).

// custodyLike is a LIKE pattern (ESCAPE '!') matching s as a substring.
func custodyLike(s string) string {
	r := strings.NewReplacer("!", "!!", "%", "!%", "_", "!_")
	return "%" + r.Replace(s) + "%"
}

// custodyForUpdate locks the selected rows (of the named aliases, for
// queries with outer joins) on PostgreSQL; SQLite's write transactions are
// already exclusive.
func (s *Store) custodyForUpdate(of ...string) string {
	if s.db.Engine != database.Postgres {
		return ""
	}
	if len(of) > 0 {
		return " FOR UPDATE OF " + strings.Join(of, ", ")
	}
	return " FOR UPDATE"
}

// orderSQL renders keys with the column each field maps to, plus a final
// tie-breaker.
func orderSQL(keys []custody.SortKey, cols map[string]string, tie string) string {
	parts := make([]string, 0, len(keys)+1)
	for _, k := range keys {
		c, ok := cols[k.Field]
		if !ok {
			continue
		}
		if k.Desc {
			c += " DESC"
		}
		parts = append(parts, c)
	}
	parts = append(parts, tie)
	return strings.Join(parts, ", ")
}

func limitSQL(limit, offset int) string {
	if limit <= 0 {
		return ""
	}
	return " LIMIT " + itoa(int64(limit)) + " OFFSET " + itoa(int64(max(offset, 0)))
}

// productoSearch is the folded text ?search= matches on products.
func productoSearch(codigo, descripcion string) string {
	return custody.Fold(codigo + " " + descripcion)
}

// --- types -------------------------------------------------------------------

type tipoRow struct {
	ID     int64  `bun:"id"`
	Nombre string `bun:"nombre"`
	Total  int    `bun:"total_count"`
}

// ListTiposProducto lists types with the total count, in one query.
func (s *Store) ListTiposProducto(ctx context.Context, q custody.CatalogQuery) ([]custody.TipoProducto, int, error) {
	where, args := "1 = 1", []any{}
	if q.Search != "" {
		// Type names are short; lower() folds their ASCII letters on both
		// engines, and the pattern is folded the same way.
		where += " AND lower(nombre) LIKE ? ESCAPE '!'"
		args = append(args, custodyLike(custody.Fold(q.Search)))
	}
	order := q.Order
	if len(order) == 0 {
		order = []custody.SortKey{{Field: "nombre"}}
	}
	sql := "SELECT id, nombre, (SELECT count(*) FROM tipos_producto WHERE " + where + ") AS total_count FROM tipos_producto WHERE " + where +
		" ORDER BY " + orderSQL(order, map[string]string{"id": "id", "nombre": "nombre"}, "id") + limitSQL(q.Limit, q.Offset)
	var rows []tipoRow
	if err := s.db.NewRaw(sql, append(append([]any{}, args...), args...)...).Scan(ctx, &rows); err != nil && !isNoRows(err) {
		return nil, 0, database.Translate(err)
	}
	out := make([]custody.TipoProducto, len(rows))
	total := 0
	for i, r := range rows {
		out[i] = custody.TipoProducto{ID: r.ID, Nombre: r.Nombre}
		total = r.Total
	}
	return out, total, nil
}

// TipoProducto returns one type.
func (s *Store) TipoProducto(ctx context.Context, id int64) (*custody.TipoProducto, error) {
	var t custody.TipoProducto
	if err := s.db.NewRaw("SELECT id, nombre FROM tipos_producto WHERE id = ?", id).Scan(ctx, &t.ID, &t.Nombre); err != nil {
		if isNoRows(err) {
			return nil, errNotFound("Tipo de producto")
		}
		return nil, database.Translate(err)
	}
	return &t, nil
}

func tipoConflict(err error) error {
	if database.IsUnique(err, "nombre") {
		return custody.ErrTipoNombreTaken
	}
	return err
}

// CreateTipoProducto inserts a type.
func (s *Store) CreateTipoProducto(ctx context.Context, t *custody.TipoProducto) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewRaw("INSERT INTO tipos_producto (nombre) VALUES (?) RETURNING id", t.Nombre).Scan(ctx, &t.ID); err != nil {
			return tipoConflict(err)
		}
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionCreate, TableName: "tipos_producto", RecordID: itoa(t.ID),
			NewValues: map[string]any{"nombre": t.Nombre}})
	})
}

// RenameTipoProducto changes a type's name.
func (s *Store) RenameTipoProducto(ctx context.Context, id int64, nombre string) (*custody.TipoProducto, error) {
	t := &custody.TipoProducto{ID: id, Nombre: nombre}
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var old string
		if err := tx.NewRaw("SELECT nombre FROM tipos_producto WHERE id = ?"+s.custodyForUpdate(), id).Scan(ctx, &old); err != nil {
			if isNoRows(err) {
				return errNotFound("Tipo de producto")
			}
			return err
		}
		if old == nombre {
			return nil
		}
		if _, err := tx.NewRaw("UPDATE tipos_producto SET nombre = ? WHERE id = ?", nombre, id).Exec(ctx); err != nil {
			return tipoConflict(err)
		}
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionUpdate, TableName: "tipos_producto", RecordID: itoa(id),
			OldValues: map[string]any{"nombre": old}, NewValues: map[string]any{"nombre": nombre}})
	})
	if err != nil {
		return nil, err
	}
	return t, nil
}

// DeleteTipoProducto removes a type; the foreign key (ON DELETE SET NULL)
// leaves its products untyped. The audit entry lists them.
func (s *Store) DeleteTipoProducto(ctx context.Context, id int64) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var nombre string
		if err := tx.NewRaw("SELECT nombre FROM tipos_producto WHERE id = ?"+s.custodyForUpdate(), id).Scan(ctx, &nombre); err != nil {
			if isNoRows(err) {
				return errNotFound("Tipo de producto")
			}
			return err
		}
		var codes []string
		if err := tx.NewRaw("SELECT codigo_producto FROM productos WHERE tipo_id = ? ORDER BY codigo_producto", id).Scan(ctx, &codes); err != nil && !isNoRows(err) {
			return err
		}
		now := time.Now().UTC()
		if _, err := tx.NewRaw("UPDATE productos SET tipo_id = NULL, ultima_actualizacion = ?, updated_by_id = ? WHERE tipo_id = ?",
			now, audit.ActorFrom(ctx).UserID, id).Exec(ctx); err != nil {
			return err
		}
		if _, err := tx.NewRaw("DELETE FROM tipos_producto WHERE id = ?", id).Exec(ctx); err != nil {
			return err
		}
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionDelete, TableName: "tipos_producto", RecordID: itoa(id),
			OldValues: map[string]any{"nombre": nombre, "productos_sin_tipo": nonNil(codes)}})
	})
}

// --- products ----------------------------------------------------------------

type productoRow struct {
	ID                  int64     `bun:"id"`
	CodigoProducto      string    `bun:"codigo_producto"`
	Descripcion         string    `bun:"descripcion"`
	TipoID              *int64    `bun:"tipo_id"`
	TipoNombre          *string   `bun:"tipo_nombre"`
	UltimaActualizacion time.Time `bun:"ultima_actualizacion"`
	Total               int       `bun:"total_count"`
}

func (r *productoRow) producto() custody.Producto {
	p := custody.Producto{ID: r.ID, CodigoProducto: r.CodigoProducto, Descripcion: r.Descripcion, TipoID: r.TipoID,
		UltimaActualizacion: r.UltimaActualizacion.UTC()}
	if r.TipoNombre != nil {
		p.TipoNombre = *r.TipoNombre
	}
	return p
}

const productoCols = "p.id, p.codigo_producto, p.descripcion, p.tipo_id, t.nombre AS tipo_nombre, p.ultima_actualizacion"

var productoOrderCols = map[string]string{"codigo_producto": "p.codigo_producto", "descripcion": "p.descripcion",
	"ultima_actualizacion": "p.ultima_actualizacion", "id": "p.id"}

// productoWhere renders q's filters on alias a.
func productoWhere(q custody.CatalogQuery, a string) (string, []any) {
	var conds []string
	var args []any
	if q.Search != "" {
		conds = append(conds, a+".search LIKE ? ESCAPE '!'")
		args = append(args, custodyLike(custody.Fold(q.Search)))
	}
	if q.Codigo != "" {
		conds = append(conds, a+".codigo_producto = ?")
		args = append(args, q.Codigo)
	}
	if q.CodigoIn != nil {
		if len(q.CodigoIn) == 0 {
			conds = append(conds, "1 = 0")
		} else {
			conds = append(conds, a+".codigo_producto IN (?)")
			args = append(args, bun.In(q.CodigoIn))
		}
	}
	if q.TipoID != nil {
		conds = append(conds, a+".tipo_id = ?")
		args = append(args, *q.TipoID)
	}
	if q.SinTipo {
		conds = append(conds, a+".tipo_id IS NULL")
	}
	if len(conds) == 0 {
		return "1 = 1", nil
	}
	return strings.Join(conds, " AND "), args
}

// ListProductos lists products with their type names and the total
// count, in one query.
func (s *Store) ListProductos(ctx context.Context, q custody.CatalogQuery) ([]custody.Producto, int, error) {
	where, args := productoWhere(q, "p")
	cwhere, cargs := productoWhere(q, "c")
	order := q.Order
	if len(order) == 0 {
		order = []custody.SortKey{{Field: "codigo_producto"}}
	}
	sql := "SELECT " + productoCols + ", (SELECT count(*) FROM productos AS c WHERE " + cwhere + ") AS total_count" +
		" FROM productos AS p LEFT JOIN tipos_producto AS t ON t.id = p.tipo_id WHERE " + where +
		" ORDER BY " + orderSQL(order, productoOrderCols, "p.id") + limitSQL(q.Limit, q.Offset)
	var rows []productoRow
	if err := s.db.NewRaw(sql, append(cargs, args...)...).Scan(ctx, &rows); err != nil && !isNoRows(err) {
		return nil, 0, database.Translate(err)
	}
	out := make([]custody.Producto, len(rows))
	total := 0
	for i := range rows {
		out[i] = rows[i].producto()
		total = rows[i].Total
	}
	return out, total, nil
}

func productoByID(ctx context.Context, db bun.IDB, id int64, lock string) (*custody.Producto, error) {
	var r productoRow
	if err := db.NewRaw("SELECT "+productoCols+", 0 AS total_count FROM productos AS p LEFT JOIN tipos_producto AS t ON t.id = p.tipo_id WHERE p.id = ?"+lock, id).Scan(ctx, &r); err != nil {
		if isNoRows(err) {
			return nil, errNotFound("Producto")
		}
		return nil, err
	}
	p := r.producto()
	return &p, nil
}

// Producto returns one product.
func (s *Store) Producto(ctx context.Context, id int64) (*custody.Producto, error) {
	p, err := productoByID(ctx, s.db, id, "")
	return p, database.Translate(err)
}

// checkTipo turns an unknown type id into a field error (and fills the
// name).
func checkTipo(ctx context.Context, tx bun.Tx, p *custody.Producto) error {
	if p.TipoID == nil {
		p.TipoNombre = ""
		return nil
	}
	if err := tx.NewRaw("SELECT nombre FROM tipos_producto WHERE id = ?", *p.TipoID).Scan(ctx, &p.TipoNombre); err != nil {
		if isNoRows(err) {
			return custody.ErrTipoNoExiste
		}
		return err
	}
	return nil
}

func productoConflict(err error) error {
	if database.IsUnique(err, "codigo") {
		return custody.ErrCodigoTaken
	}
	return err
}

func productoAudit(p *custody.Producto) map[string]any {
	return map[string]any{"codigo_producto": p.CodigoProducto, "descripcion": p.Descripcion, "tipo_id": p.TipoID}
}

// CreateProducto inserts a product.
func (s *Store) CreateProducto(ctx context.Context, p *custody.Producto) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := checkTipo(ctx, tx, p); err != nil {
			return err
		}
		p.UltimaActualizacion = time.Now().UTC().Truncate(time.Microsecond)
		actor := audit.ActorFrom(ctx).UserID
		if err := tx.NewRaw(`INSERT INTO productos (codigo_producto, descripcion, tipo_id, search, created_by_id, updated_by_id, ultima_actualizacion)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, p.CodigoProducto, p.Descripcion, p.TipoID, productoSearch(p.CodigoProducto, p.Descripcion),
			actor, actor, p.UltimaActualizacion).Scan(ctx, &p.ID); err != nil {
			return productoConflict(err)
		}
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionCreate, TableName: "productos", RecordID: itoa(p.ID), NewValues: productoAudit(p)})
	})
}

// UpdateProducto changes a product; the search column follows.
func (s *Store) UpdateProducto(ctx context.Context, id int64, apply func(p *custody.Producto) error) (*custody.Producto, error) {
	var out *custody.Producto
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		cur, err := productoByID(ctx, tx, id, s.custodyForUpdate("p"))
		if err != nil {
			return err
		}
		old := productoAudit(cur)
		p := *cur
		if err := apply(&p); err != nil {
			return err
		}
		if err := checkTipo(ctx, tx, &p); err != nil {
			return err
		}
		out = &p
		if p.CodigoProducto == cur.CodigoProducto && p.Descripcion == cur.Descripcion && sameID(p.TipoID, cur.TipoID) {
			return nil
		}
		p.UltimaActualizacion = time.Now().UTC().Truncate(time.Microsecond)
		if _, err := tx.NewRaw(`UPDATE productos SET codigo_producto = ?, descripcion = ?, tipo_id = ?, search = ?, updated_by_id = ?, ultima_actualizacion = ?
			WHERE id = ?`, p.CodigoProducto, p.Descripcion, p.TipoID, productoSearch(p.CodigoProducto, p.Descripcion),
			audit.ActorFrom(ctx).UserID, p.UltimaActualizacion, id).Exec(ctx); err != nil {
			return productoConflict(err)
		}
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionUpdate, TableName: "productos", RecordID: itoa(id),
			OldValues: old, NewValues: productoAudit(&p)})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// productoEnUso counts what refers to a product.
func productoEnUso(ctx context.Context, tx bun.IDB, id int64) (bool, error) {
	var n int
	err := tx.NewRaw(`SELECT (SELECT count(*) FROM movimientos WHERE producto_id = ?) + (SELECT count(*) FROM inventario WHERE producto_id = ?)`, id, id).Scan(ctx, &n)
	return n > 0, err
}

// DeleteProducto removes a product nothing refers to.
func (s *Store) DeleteProducto(ctx context.Context, id int64) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		p, err := productoByID(ctx, tx, id, s.custodyForUpdate("p"))
		if err != nil {
			return err
		}
		used, err := productoEnUso(ctx, tx, id)
		if err != nil {
			return err
		}
		if used {
			return custody.ErrProductoEnUso
		}
		if _, err := tx.NewRaw("DELETE FROM productos WHERE id = ?", id).Exec(ctx); err != nil {
			if errs.Is(database.Translate(err), errs.KindConflict) {
				return custody.ErrProductoEnUso
			}
			return err
		}
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionDelete, TableName: "productos", RecordID: itoa(id), OldValues: productoAudit(p)})
	})
}

type sinTipoRow struct {
	ID                  int64     `bun:"id"`
	CodigoProducto      string    `bun:"codigo_producto"`
	Descripcion         string    `bun:"descripcion"`
	UltimaActualizacion time.Time `bun:"ultima_actualizacion"`
	Movimientos         int       `bun:"movimientos_count"`
	Inventario          int       `bun:"inventario_count"`
}

// sinTipoSQL aggregates movements and inventory rows per untyped product
// in one statement (grouped subqueries joined once, no per-product query).
const sinTipoSQL = `SELECT p.id, p.codigo_producto, p.descripcion, p.ultima_actualizacion,
		COALESCE(m.n, 0) AS movimientos_count, COALESCE(i.n, 0) AS inventario_count
	FROM productos AS p
	LEFT JOIN (SELECT producto_id, count(*) AS n FROM movimientos WHERE producto_id IN (SELECT id FROM productos WHERE tipo_id IS NULL) GROUP BY producto_id) AS m ON m.producto_id = p.id
	LEFT JOIN (SELECT producto_id, count(*) AS n FROM inventario WHERE producto_id IN (SELECT id FROM productos WHERE tipo_id IS NULL) GROUP BY producto_id) AS i ON i.producto_id = p.id
	WHERE p.tipo_id IS NULL
	ORDER BY p.ultima_actualizacion DESC, p.id DESC`

func productosSinTipo(ctx context.Context, db bun.IDB) ([]custody.ProductoSinTipo, error) {
	var rows []sinTipoRow
	if err := db.NewRaw(sinTipoSQL).Scan(ctx, &rows); err != nil && !isNoRows(err) {
		return nil, err
	}
	out := make([]custody.ProductoSinTipo, len(rows))
	for i, r := range rows {
		out[i] = custody.ProductoSinTipo{ID: r.ID, CodigoProducto: r.CodigoProducto, Descripcion: r.Descripcion,
			UltimaActualizacion: r.UltimaActualizacion.UTC(), MovimientosCount: r.Movimientos, InventarioCount: r.Inventario}
	}
	return out, nil
}

// ProductosSinTipo lists untyped products with their counts.
func (s *Store) ProductosSinTipo(ctx context.Context) ([]custody.ProductoSinTipo, error) {
	out, err := productosSinTipo(ctx, s.db)
	return out, database.Translate(err)
}

// DeleteHuerfanos deletes the untyped products nothing refers to, checked
// inside the deleting transaction, one audit entry per product.
func (s *Store) DeleteHuerfanos(ctx context.Context, only []int64) ([]custody.ProductoSinTipo, error) {
	var allowed map[int64]bool
	if only != nil {
		allowed = make(map[int64]bool, len(only))
		for _, id := range only {
			allowed[id] = true
		}
	}
	var deleted []custody.ProductoSinTipo
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		deleted = deleted[:0]
		all, err := productosSinTipo(ctx, tx)
		if err != nil {
			return err
		}
		var ids []int64
		for _, p := range all {
			if p.EsHuerfano() && (allowed == nil || allowed[p.ID]) {
				deleted = append(deleted, p)
				ids = append(ids, p.ID)
			}
		}
		for len(ids) > 0 {
			n := min(len(ids), 500)
			// The conditions are repeated so that a movement added
			// concurrently (PostgreSQL) keeps its product.
			if _, err := tx.NewRaw(`DELETE FROM productos WHERE id IN (?) AND tipo_id IS NULL
				AND NOT EXISTS (SELECT 1 FROM movimientos AS m WHERE m.producto_id = productos.id)
				AND NOT EXISTS (SELECT 1 FROM inventario AS i WHERE i.producto_id = productos.id)`, bun.In(ids[:n])).Exec(ctx); err != nil {
				return err
			}
			ids = ids[n:]
		}
		for _, p := range deleted {
			if err := writeAudit(ctx, tx, audit.Entry{Action: audit.ActionDelete, TableName: "productos", RecordID: itoa(p.ID),
				OldValues: map[string]any{"codigo_producto": p.CodigoProducto, "descripcion": p.Descripcion, "motivo": "limpiar-huerfanos"}}); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	if deleted == nil {
		deleted = []custody.ProductoSinTipo{}
	}
	return deleted, nil
}

// ProductosTipados returns the typed products, by type then code (the
// order the legacy compared them in).
func (s *Store) ProductosTipados(ctx context.Context) ([]custody.Producto, error) {
	var rows []productoRow
	if err := s.db.NewRaw("SELECT "+productoCols+", 0 AS total_count FROM productos AS p JOIN tipos_producto AS t ON t.id = p.tipo_id ORDER BY t.id, p.codigo_producto").Scan(ctx, &rows); err != nil && !isNoRows(err) {
		return nil, database.Translate(err)
	}
	out := make([]custody.Producto, len(rows))
	for i := range rows {
		out[i] = rows[i].producto()
	}
	return out, nil
}

// AsignarTipos applies the assignments in one transaction: an unknown
// product or type rejects the whole list.
func (s *Store) AsignarTipos(ctx context.Context, as []custody.Asignacion) ([]custody.AsignacionHecha, error) {
	var out []custody.AsignacionHecha
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		out = make([]custody.AsignacionHecha, 0, len(as))
		pids, tids := make([]int64, 0, len(as)), make([]int64, 0, len(as))
		for _, a := range as {
			pids, tids = append(pids, a.ProductoID), append(tids, a.TipoID)
		}
		type pRow struct {
			ID     int64  `bun:"id"`
			Codigo string `bun:"codigo_producto"`
			TipoID *int64 `bun:"tipo_id"`
		}
		var prods []pRow
		if err := tx.NewRaw("SELECT id, codigo_producto, tipo_id FROM productos WHERE id IN (?)"+s.custodyForUpdate(), bun.In(pids)).Scan(ctx, &prods); err != nil && !isNoRows(err) {
			return err
		}
		var tipos []custody.TipoProducto
		if err := tx.NewRaw("SELECT id, nombre FROM tipos_producto WHERE id IN (?)", bun.In(tids)).Scan(ctx, &tipos); err != nil && !isNoRows(err) {
			return err
		}
		pm := map[int64]pRow{}
		for _, p := range prods {
			pm[p.ID] = p
		}
		tm := map[int64]string{}
		for _, t := range tipos {
			tm[t.ID] = t.Nombre
		}
		bad := map[string]any{}
		for i, a := range as {
			fe := errs.FieldErrors{}
			if _, ok := pm[a.ProductoID]; !ok {
				fe.Add("producto_id", "El producto "+itoa(a.ProductoID)+" no existe.")
			}
			if _, ok := tm[a.TipoID]; !ok {
				fe.Add("tipo_id", "El tipo "+itoa(a.TipoID)+" no existe.")
			}
			if len(fe) > 0 {
				bad[itoa(int64(i))] = map[string]any(fe)
			}
		}
		if len(bad) > 0 {
			fe := errs.FieldErrors{}
			fe.Nest("asignaciones", bad)
			return fe.Err()
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		actor := audit.ActorFrom(ctx).UserID
		for _, a := range as {
			p := pm[a.ProductoID]
			if _, err := tx.NewRaw("UPDATE productos SET tipo_id = ?, updated_by_id = ?, ultima_actualizacion = ? WHERE id = ?",
				a.TipoID, actor, now, a.ProductoID).Exec(ctx); err != nil {
				return err
			}
			if err := writeAudit(ctx, tx, audit.Entry{Action: audit.ActionUpdate, TableName: "productos", RecordID: itoa(a.ProductoID),
				OldValues: map[string]any{"tipo_id": p.TipoID}, NewValues: map[string]any{"tipo_id": a.TipoID, "motivo": "asignar-tipo-automatico"}}); err != nil {
				return err
			}
			out = append(out, custody.AsignacionHecha{ProductoID: a.ProductoID, Codigo: p.Codigo, TipoID: a.TipoID, Tipo: tm[a.TipoID]})
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}
