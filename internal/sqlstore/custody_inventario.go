package sqlstore

import (
	"context"
	"database/sql"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/errs"
)

// The inventory read side (custody.InventoryStore). Every list is ONE
// statement whatever its size: the items joined to their product, type,
// last movement and that movement's document, with the total count as an
// uncorrelated scalar subquery (evaluated once) for pages. The state
// columns are written only by recomputeItems; the writes here touch the
// descriptive columns, or register/remove stock that has no movements,
// keeping the running totals with adjustResumen.

// The last movement's columns are the legacy MovimientoProductoBasicoSerializer's
// (ultimo_movimiento_info): all from rows the statement joins anyway.
const inventarioSelect = `SELECT i.id, i.producto_id, p.codigo_producto, i.descripcion, t.nombre, i.numero_serie, i.estado, i.ubicacion,
	i.ultima_actualizacion, i.notas, m.id, m.tipo_movimiento, m.fecha, m.albaran_id, a.numero, m.estado_anterior, m.estado_nuevo,
	p.descripcion, m.descripcion, m.cantidad, m.cc, m.observaciones, a.pagina_numero`

// inventarioFrom joins an item to its product, type, and last movement
// with that movement's document. The wanted plan walks inventario in
// primary-key order with index lookups (memoized for products, types and
// documents), so the first row leaves at once and the list streams. On
// PostgreSQL the plain "m.id = i.ultimo_movimiento_id" lets the planner
// hash all 100,000 movements instead and sort the 20,000 wide rows at the
// end (spilling to disk with the default work_mem) before the first row
// goes out; "= ANY(ARRAY[…])" is indexable but not hashable, which leaves
// it the nested loop (same total time, measured, with the first row in
// about a millisecond instead of about 50). LATERAL … OFFSET 0 would also
// do, but its cost estimate crosses jit_above_cost and JIT compilation
// costs more than the sort. SQLite always plans these nested loops.
func (s *Store) inventarioFrom() string {
	last := "m.id = i.ultimo_movimiento_id"
	if s.db.Engine == database.Postgres {
		last = "m.id = ANY(ARRAY[i.ultimo_movimiento_id])"
	}
	return ` FROM inventario AS i
	JOIN productos AS p ON p.id = i.producto_id
	LEFT JOIN tipos_producto AS t ON t.id = p.tipo_id
	LEFT JOIN movimientos AS m ON ` + last + `
	LEFT JOIN albaranes AS a ON a.id = m.albaran_id`
}

var inventarioOrderCols = map[string]string{"codigo_producto": "p.codigo_producto", "numero_serie": "i.numero_serie",
	"estado": "i.estado", "ubicacion": "i.ubicacion", "ultima_actualizacion": "i.ultima_actualizacion", "id": "i.id"}

// inventarioWhere renders q's filters on inventory alias a. Product
// filters select the (few) matching products first and reach the items
// through the (producto_id, numero_serie) index, instead of matching a
// pattern against every inventory row.
func inventarioWhere(q custody.InventarioQuery, a string) (string, []any) {
	conds := []string{"1 = 1"}
	var args []any
	if q.Estado != nil {
		conds = append(conds, a+".estado = ?")
		args = append(args, string(*q.Estado))
	}
	if q.Ubicacion != nil {
		conds = append(conds, a+".ubicacion = ?")
		args = append(args, *q.Ubicacion)
	}
	if q.NumeroSerie != "" {
		conds = append(conds, "lower("+a+".numero_serie) LIKE ? ESCAPE '!'")
		args = append(args, custodyLike(strings.ToLower(strings.TrimSpace(q.NumeroSerie))))
	}
	if q.CodigoProducto != "" {
		conds = append(conds, a+".producto_id IN (SELECT id FROM productos WHERE lower(codigo_producto) LIKE ? ESCAPE '!')")
		args = append(args, custodyLike(strings.ToLower(strings.TrimSpace(q.CodigoProducto))))
	}
	if q.TipoID != nil {
		conds = append(conds, a+".producto_id IN (SELECT id FROM productos WHERE tipo_id = ?)")
		args = append(args, *q.TipoID)
	}
	if q.Search != "" {
		pat := custodyLike(custody.Fold(q.Search))
		conds = append(conds, "("+a+".search LIKE ? ESCAPE '!' OR "+a+".producto_id IN (SELECT id FROM productos WHERE search LIKE ? ESCAPE '!'))")
		args = append(args, pat, pat)
	}
	return strings.Join(conds, " AND "), args
}

// inventarioSQL is the list statement; withCount adds the total.
func (s *Store) inventarioSQL(q custody.InventarioQuery, withCount bool) (string, []any) {
	where, args := inventarioWhere(q, "i")
	var b strings.Builder
	b.WriteString(inventarioSelect)
	var all []any
	if withCount {
		cwhere, cargs := inventarioWhere(q, "c")
		b.WriteString(", (SELECT count(*) FROM inventario AS c WHERE " + cwhere + ")")
		all = append(all, cargs...)
	}
	all = append(all, args...)
	b.WriteString(s.inventarioFrom())
	b.WriteString(" WHERE " + where)
	b.WriteString(" ORDER BY " + orderSQL(q.Order, inventarioOrderCols, "i.id"))
	b.WriteString(limitSQL(q.Limit, q.Offset))
	return b.String(), all
}

// itemScanner scans inventory rows into a reused Item.
type itemScanner struct {
	item              custody.Item
	mov               custody.Movimiento
	desc, tipo, ubic  sql.NullString
	notas             sql.NullString
	mID, mAlb         sql.NullInt64
	mTipo, mNum       sql.NullString
	mAnt, mNuevo      sql.NullString
	mFecha            sql.NullTime
	pDesc, mDesc      sql.NullString
	mObs              sql.NullString
	mCant, mCC, mPag  sql.NullInt64
	mDescBuf, mObsBuf string
	mCCBuf            int
	estado            string
	total             int64
	dest              []any
	descBuf, ubicBuf  string
	notasBuf, tipoBuf string
}

func newItemScanner(withCount bool) *itemScanner {
	s := &itemScanner{}
	s.dest = []any{&s.item.ID, &s.item.ProductoID, &s.item.CodigoProducto, &s.desc, &s.tipo, &s.item.NumeroSerie, &s.estado, &s.ubic,
		&s.item.UltimaActualizacion, &s.notas, &s.mID, &s.mTipo, &s.mFecha, &s.mAlb, &s.mNum, &s.mAnt, &s.mNuevo,
		&s.pDesc, &s.mDesc, &s.mCant, &s.mCC, &s.mObs, &s.mPag}
	if withCount {
		s.dest = append(s.dest, &s.total)
	}
	return s
}

func (s *itemScanner) scan(rows *sql.Rows) error {
	if err := rows.Scan(s.dest...); err != nil {
		return err
	}
	it := &s.item
	it.Estado = custody.Estado(s.estado)
	it.UltimaActualizacion = it.UltimaActualizacion.UTC()
	it.Descripcion, it.Ubicacion, it.Notas = nil, nil, nil
	if s.desc.Valid {
		s.descBuf = s.desc.String
		it.Descripcion = &s.descBuf
	}
	if s.ubic.Valid {
		s.ubicBuf = s.ubic.String
		it.Ubicacion = &s.ubicBuf
	}
	if s.notas.Valid {
		s.notasBuf = s.notas.String
		it.Notas = &s.notasBuf
	}
	it.TipoNombre = ""
	if s.tipo.Valid {
		it.TipoNombre = s.tipo.String
	}
	it.UltimoMovimiento = nil
	if s.mID.Valid {
		s.mov = custody.Movimiento{ID: s.mID.Int64, ProductoID: it.ProductoID, ProductoCodigo: it.CodigoProducto, NumeroSerie: it.NumeroSerie,
			AlbaranID: s.mAlb.Int64, AlbaranNumero: s.mNum.String, Fecha: s.mFecha.Time.UTC(), Tipo: custody.Tipo(s.mTipo.String),
			EstadoAnterior: custody.Estado(s.mAnt.String), EstadoNuevo: custody.Estado(s.mNuevo.String),
			ProductoDescripcion: s.pDesc.String, Cantidad: int(s.mCant.Int64), PaginaOrigen: int(s.mPag.Int64)}
		if s.mDesc.Valid {
			s.mDescBuf = s.mDesc.String
			s.mov.Descripcion = &s.mDescBuf
		}
		if s.mObs.Valid {
			s.mObsBuf = s.mObs.String
			s.mov.Observaciones = &s.mObsBuf
		}
		if s.mCC.Valid {
			s.mCCBuf = int(s.mCC.Int64)
			s.mov.CC = &s.mCCBuf
		}
		it.UltimoMovimiento = &s.mov
	}
	return nil
}

// detach returns a copy of the scanned item that owns its pointers.
func (s *itemScanner) detach() custody.Item {
	it := s.item
	if it.Descripcion != nil {
		v := *it.Descripcion
		it.Descripcion = &v
	}
	if it.Ubicacion != nil {
		v := *it.Ubicacion
		it.Ubicacion = &v
	}
	if it.Notas != nil {
		v := *it.Notas
		it.Notas = &v
	}
	if it.UltimoMovimiento != nil {
		m := *it.UltimoMovimiento
		if m.Descripcion != nil {
			v := *m.Descripcion
			m.Descripcion = &v
		}
		if m.Observaciones != nil {
			v := *m.Observaciones
			m.Observaciones = &v
		}
		if m.CC != nil {
			v := *m.CC
			m.CC = &v
		}
		it.UltimoMovimiento = &m
	}
	return it
}

// scanItems reads inventory rows into fn, one reused scanner, and closes
// rows.
func scanItems(rows *sql.Rows, err error, withCount bool, fn func(*itemScanner) error) error {
	if err != nil {
		return err
	}
	defer rows.Close()
	sc := newItemScanner(withCount)
	for rows.Next() {
		if err := sc.scan(rows); err != nil {
			return err
		}
		if err := fn(sc); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ListInventario returns a page (or everything) and the total count.
//
// The inventory lists go through bun with their arguments inlined, not
// through database.Query: their selectivity is in the LIKE patterns, and
// a cached generic plan, which cannot see the pattern, scans every item
// (measured on PostgreSQL: 1,279 req/s bound against ~2,000 inlined for a
// product-code filter).
func (s *Store) ListInventario(ctx context.Context, q custody.InventarioQuery) ([]custody.Item, int, error) {
	query, args := s.inventarioSQL(q, true)
	out := []custody.Item{}
	total := 0
	rows, err := s.db.QueryLiteral(ctx, query, args...)
	err = scanItems(rows, err, true, func(sc *itemScanner) error {
		out = append(out, sc.detach())
		total = int(sc.total)
		return nil
	})
	if err != nil {
		return nil, 0, database.Translate(err)
	}
	return out, total, nil
}

// EachInventario streams the matching items to fn from one query. On
// PostgreSQL it reads from the open cursor as fn consumes (one pooled
// connection for the response); on SQLite, whose single connection must
// not wait on a slow client, it reads everything first and then calls fn.
func (s *Store) EachInventario(ctx context.Context, q custody.InventarioQuery, fn func(*custody.Item) error) error {
	q.Limit, q.Offset = 0, 0
	query, args := s.inventarioSQL(q, false)
	if s.db.Engine == database.SQLite {
		var items []custody.Item
		rows, err := s.db.QueryLiteral(ctx, query, args...)
		if err := scanItems(rows, err, false, func(sc *itemScanner) error {
			items = append(items, sc.detach())
			return nil
		}); err != nil {
			return database.Translate(err)
		}
		for i := range items {
			if err := fn(&items[i]); err != nil {
				return err
			}
		}
		return nil
	}
	var fnErr error
	rows, err := s.db.QueryLiteral(ctx, query, args...)
	err = scanItems(rows, err, false, func(sc *itemScanner) error {
		fnErr = fn(&sc.item)
		return fnErr
	})
	if fnErr != nil {
		return fnErr
	}
	return database.Translate(err)
}

func (s *Store) inventarioByID(ctx context.Context, db bun.IDB, id int64, lock string) (*custody.Item, error) {
	var out *custody.Item
	rows, err := db.QueryContext(ctx, inventarioSelect+s.inventarioFrom()+" WHERE i.id = ?"+lock, id)
	err = scanItems(rows, err, false, func(sc *itemScanner) error {
		it := sc.detach()
		out = &it
		return nil
	})
	if err != nil {
		return nil, err
	}
	if out == nil {
		return nil, errNotFound("Inventario")
	}
	return out, nil
}

// InventarioItem returns one item.
func (s *Store) InventarioItem(ctx context.Context, id int64) (*custody.Item, error) {
	it, err := s.inventarioByID(ctx, s.db, id, "")
	return it, database.Translate(err)
}

// HistorialInventario returns the item's movements, newest first, in one
// query (the item row comes along, so a missing item is told apart from
// an item without movements).
func (s *Store) HistorialInventario(ctx context.Context, id int64) ([]custody.Movimiento, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT p.codigo_producto, p.descripcion, i.numero_serie,
			m.id, m.descripcion, a.numero, m.albaran_id, m.fecha, m.tipo_movimiento, m.estado_anterior, m.estado_nuevo,
			m.cantidad, m.cc, m.observaciones, a.pagina_numero
		FROM inventario AS i
		JOIN productos AS p ON p.id = i.producto_id
		LEFT JOIN movimientos AS m ON m.producto_id = i.producto_id AND m.numero_serie = i.numero_serie
		LEFT JOIN albaranes AS a ON a.id = m.albaran_id
		WHERE i.id = ?
		ORDER BY m.fecha DESC, m.id DESC`, id)
	if err != nil {
		return nil, database.Translate(err)
	}
	defer rows.Close()
	found := false
	out := []custody.Movimiento{}
	for rows.Next() {
		found = true
		var (
			codigo, pdesc, serie         string
			mID, alb, cant, cc, pag      sql.NullInt64
			mdesc, num, tipo, ant, nuevo sql.NullString
			obs                          sql.NullString
			fecha                        sql.NullTime
		)
		if err := rows.Scan(&codigo, &pdesc, &serie, &mID, &mdesc, &num, &alb, &fecha, &tipo, &ant, &nuevo, &cant, &cc, &obs, &pag); err != nil {
			return nil, database.Translate(err)
		}
		if !mID.Valid {
			continue
		}
		m := custody.Movimiento{ID: mID.Int64, ProductoCodigo: codigo, ProductoDescripcion: pdesc, NumeroSerie: serie,
			AlbaranID: alb.Int64, AlbaranNumero: num.String, Fecha: fecha.Time.UTC(), Tipo: custody.Tipo(tipo.String),
			EstadoAnterior: custody.Estado(ant.String), EstadoNuevo: custody.Estado(nuevo.String), Cantidad: int(cant.Int64),
			PaginaOrigen: int(pag.Int64)}
		if mdesc.Valid {
			v := mdesc.String
			m.Descripcion = &v
		}
		if cc.Valid {
			v := int(cc.Int64)
			m.CC = &v
		}
		if obs.Valid {
			v := obs.String
			m.Observaciones = &v
		}
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, database.Translate(err)
	}
	if !found {
		return nil, database.Translate(errNotFound("Inventario"))
	}
	return out, nil
}

// ResumenInventario reads the one-row running totals.
func (s *Store) ResumenInventario(ctx context.Context) (custody.Resumen, error) {
	var r custody.Resumen
	err := s.db.QueryRowContext(ctx, "SELECT total, en_custodia, fuera_custodia FROM inventario_resumen WHERE id = 1").Scan(&r.Total, &r.EnCustodia, &r.FueraCustodia)
	return r, database.Translate(err)
}

// ResumenFiltrado counts the matching items in one query.
func (s *Store) ResumenFiltrado(ctx context.Context, q custody.InventarioQuery) (custody.Resumen, error) {
	where, args := inventarioWhere(q, "i")
	var r custody.Resumen
	err := s.db.QueryRowContext(ctx, `SELECT count(*),
			COALESCE(sum(CASE WHEN i.estado = 'activo' THEN 1 ELSE 0 END), 0),
			COALESCE(sum(CASE WHEN i.estado = 'inactivo' THEN 1 ELSE 0 END), 0)
		FROM inventario AS i WHERE `+where, args...).Scan(&r.Total, &r.EnCustodia, &r.FueraCustodia)
	return r, database.Translate(err)
}

// inventarioSearch is the folded text ?search= matches on an item itself
// (the product's code and description are matched through productos).
func inventarioSearch(serie string, desc, ubic, notas *string) string {
	parts := []string{serie}
	for _, p := range []*string{desc, ubic, notas} {
		if p != nil {
			parts = append(parts, *p)
		}
	}
	return custody.Fold(strings.Join(parts, " "))
}

func itemAudit(it *custody.Item) map[string]any {
	return map[string]any{"producto_id": it.ProductoID, "codigo_producto": it.CodigoProducto, "numero_serie": it.NumeroSerie,
		"estado": it.Estado, "descripcion": it.Descripcion, "ubicacion": it.Ubicacion, "notas": it.Notas}
}

// RegistrarInventario inserts stock without a movement.
func (s *Store) RegistrarInventario(ctx context.Context, in custody.NuevoItem) (*custody.Item, error) {
	var out *custody.Item
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var (
			pid   int64
			pdesc string
			err   error
		)
		if in.ProductoID > 0 {
			err = tx.NewRaw("SELECT id, descripcion FROM productos WHERE id = ?", in.ProductoID).Scan(ctx, &pid, &pdesc)
		} else {
			err = tx.NewRaw("SELECT id, descripcion FROM productos WHERE codigo_producto = ?", in.CodigoProducto).Scan(ctx, &pid, &pdesc)
		}
		if isNoRows(err) {
			if in.ProductoID > 0 {
				return errs.Field("producto", "El producto indicado no existe.")
			}
			return errs.Field("codigo_producto", "El código "+in.CodigoProducto+" no está en el catálogo: créelo antes en /api/productos/.")
		}
		if err != nil {
			return err
		}
		var n int
		if err := tx.NewRaw(`SELECT (SELECT count(*) FROM inventario WHERE producto_id = ? AND numero_serie = ?)
			+ (SELECT count(*) FROM movimientos WHERE producto_id = ? AND numero_serie = ?)`, pid, in.NumeroSerie, pid, in.NumeroSerie).Scan(ctx, &n); err != nil {
			return err
		}
		if n > 0 {
			return custody.ErrItemExiste
		}
		desc := in.Descripcion
		if desc == nil || strings.TrimSpace(*desc) == "" {
			desc = &pdesc
		}
		var id int64
		if err := tx.NewRaw(`INSERT INTO inventario (producto_id, numero_serie, descripcion, estado, estado_inicial, ubicacion, ultimo_movimiento_id, ultima_actualizacion, notas, search)
			VALUES (?, ?, ?, ?, ?, ?, NULL, ?, ?, ?) RETURNING id`, pid, in.NumeroSerie, desc, string(in.Estado), string(in.Estado), in.Ubicacion,
			time.Now().UTC().Truncate(time.Microsecond), in.Notas, inventarioSearch(in.NumeroSerie, desc, in.Ubicacion, in.Notas)).Scan(ctx, &id); err != nil {
			if database.IsUnique(err, "") {
				return custody.ErrItemExiste
			}
			return err
		}
		if err := adjustResumen(ctx, tx, string(in.Estado), ""); err != nil {
			return err
		}
		it, err := s.inventarioByID(ctx, tx, id, "")
		if err != nil {
			return err
		}
		out = it
		nv := itemAudit(it)
		nv["estado_inicial"] = in.Estado
		nv["motivo"] = "alta sin movimiento (existencias previas)"
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionCreate, TableName: "inventario", RecordID: itoa(id), NewValues: nv})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateInventario changes an item's descriptive columns.
func (s *Store) UpdateInventario(ctx context.Context, id int64, apply func(it *custody.Item) error) (*custody.Item, error) {
	var out *custody.Item
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		cur, err := s.inventarioByID(ctx, tx, id, s.custodyForUpdate("i"))
		if err != nil {
			return err
		}
		old := itemAudit(cur)
		it := *cur
		if err := apply(&it); err != nil {
			return err
		}
		if eqStr(it.Descripcion, cur.Descripcion) && eqStr(it.Ubicacion, cur.Ubicacion) && eqStr(it.Notas, cur.Notas) {
			out = cur
			return nil
		}
		it.UltimaActualizacion = time.Now().UTC().Truncate(time.Microsecond)
		if _, err := tx.NewRaw("UPDATE inventario SET descripcion = ?, ubicacion = ?, notas = ?, search = ?, ultima_actualizacion = ? WHERE id = ?",
			it.Descripcion, it.Ubicacion, it.Notas, inventarioSearch(it.NumeroSerie, it.Descripcion, it.Ubicacion, it.Notas), it.UltimaActualizacion, id).Exec(ctx); err != nil {
			return err
		}
		out = &it
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionUpdate, TableName: "inventario", RecordID: itoa(id), OldValues: old, NewValues: itemAudit(&it)})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func eqStr(a, b *string) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// DeleteInventario removes an item that has no movements.
func (s *Store) DeleteInventario(ctx context.Context, id int64) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		cur, err := s.inventarioByID(ctx, tx, id, s.custodyForUpdate("i"))
		if err != nil {
			return err
		}
		var n int
		if err := tx.NewRaw("SELECT count(*) FROM movimientos WHERE producto_id = ? AND numero_serie = ?", cur.ProductoID, cur.NumeroSerie).Scan(ctx, &n); err != nil {
			return err
		}
		if n > 0 {
			return custody.ErrItemConMovimientos
		}
		if _, err := tx.NewRaw("DELETE FROM inventario WHERE id = ?", id).Exec(ctx); err != nil {
			return err
		}
		if err := adjustResumen(ctx, tx, "", string(cur.Estado)); err != nil {
			return err
		}
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionDelete, TableName: "inventario", RecordID: itoa(id), OldValues: itemAudit(cur)})
	})
}
