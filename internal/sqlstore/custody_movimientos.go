package sqlstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/errs"
)

// Movements (the movement half of custody.AlbaranStore): reads with their
// product, type, document page and current inventory row in one query,
// and writes that recompute the old and the new item.

// movViewRow is one movement as the reads return it. Every column is
// nullable because the per-document read outer-joins from the document.
type movViewRow struct {
	ID                  *int64     `bun:"id"`
	ProductoID          *int64     `bun:"producto_id"`
	NumeroSerie         *string    `bun:"numero_serie"`
	Descripcion         *string    `bun:"descripcion"`
	AlbaranID           *int64     `bun:"albaran_id"`
	Fecha               *time.Time `bun:"fecha"`
	TipoMovimiento      *string    `bun:"tipo_movimiento"`
	EstadoAnterior      *string    `bun:"estado_anterior"`
	EstadoNuevo         *string    `bun:"estado_nuevo"`
	Cantidad            *int       `bun:"cantidad"`
	CC                  *int       `bun:"cc"`
	Observaciones       *string    `bun:"observaciones"`
	CodigoProducto      *string    `bun:"codigo_producto"`
	ProductoDescripcion *string    `bun:"producto_descripcion"`
	AlbaranNumero       *string    `bun:"albaran_numero"`
	PaginaNumero        *int       `bun:"pagina_numero"`
	InvID               *int64     `bun:"inv_id"`
	InvEstado           *string    `bun:"inv_estado"`
	InvDescripcion      *string    `bun:"inv_descripcion"`
	InvUbicacion        *string    `bun:"inv_ubicacion"`
	InvNotas            *string    `bun:"inv_notas"`

	DocID     *int64     `bun:"doc_id"`
	DocNumero *string    `bun:"doc_numero"`
	DocFecha  *time.Time `bun:"doc_fecha"`
	FullCount int        `bun:"full_count"`
}

const movCols = `m.id, m.producto_id, m.numero_serie, m.descripcion, m.albaran_id, m.fecha, m.tipo_movimiento,
	m.estado_anterior, m.estado_nuevo, m.cantidad, m.cc, m.observaciones,
	p.codigo_producto, p.descripcion AS producto_descripcion,
	al.numero AS albaran_numero, al.pagina_numero,
	i.id AS inv_id, i.estado AS inv_estado, i.descripcion AS inv_descripcion, i.ubicacion AS inv_ubicacion, i.notas AS inv_notas`

const movJoins = ` LEFT JOIN productos AS p ON p.id = m.producto_id
	LEFT JOIN inventario AS i ON i.producto_id = m.producto_id AND i.numero_serie = m.numero_serie`

// movDocSQL reads the movements of the documents (pages) whose ids the
// list subquery ids gives, starting from the documents so that one
// without movements still answers a row. The ids come as a UNION of
// index lookups: an OR, or a non-covering lookup on
// documento_principal_id (mostly NULL, so SQLite's statistics rate it
// poorly), would scan the documents on SQLite.
func movDocSQL(ids string) string {
	return `SELECT al.id AS doc_id, al.numero AS doc_numero, al.fecha AS doc_fecha, ` + movCols + `
	FROM albaranes AS al LEFT JOIN movimientos AS m ON m.albaran_id = al.id` + movJoins + `
	WHERE al.id IN (` + ids + `)
	ORDER BY al.pagina_numero, al.id, m.fecha, m.id`
}

func (r *movViewRow) detalle() custody.MovimientoDetalle {
	m := custody.MovimientoDetalle{Movimiento: custody.Movimiento{
		ID: *r.ID, ProductoID: derefInt64(r.ProductoID), ProductoCodigo: deref(r.CodigoProducto), ProductoDescripcion: deref(r.ProductoDescripcion),
		NumeroSerie: deref(r.NumeroSerie), Descripcion: r.Descripcion, AlbaranID: derefInt64(r.AlbaranID), AlbaranNumero: deref(r.AlbaranNumero),
		Tipo: custody.Tipo(deref(r.TipoMovimiento)), EstadoAnterior: custody.Estado(deref(r.EstadoAnterior)),
		EstadoNuevo: custody.Estado(deref(r.EstadoNuevo)), CC: r.CC, Observaciones: r.Observaciones,
	}}
	if r.Fecha != nil {
		m.Fecha = r.Fecha.UTC()
	}
	if r.Cantidad != nil {
		m.Cantidad = *r.Cantidad
	}
	if r.PaginaNumero != nil {
		m.PaginaOrigen = *r.PaginaNumero
	}
	if r.InvID != nil {
		m.Actual = &custody.Item{ID: *r.InvID, ProductoID: m.ProductoID, CodigoProducto: m.ProductoCodigo, NumeroSerie: m.NumeroSerie,
			Estado: custody.Estado(deref(r.InvEstado)), Descripcion: r.InvDescripcion, Ubicacion: r.InvUbicacion, Notas: r.InvNotas}
	}
	return m
}

func derefInt64(p *int64) int64 {
	if p == nil {
		return 0
	}
	return *p
}

func movDetalles(rows []movViewRow) []custody.MovimientoDetalle {
	out := make([]custody.MovimientoDetalle, 0, len(rows))
	for i := range rows {
		if rows[i].ID != nil {
			out = append(out, rows[i].detalle())
		}
	}
	return out
}

// AlbaranMovimientos reads a document's movements in one query.
func (s *Store) AlbaranMovimientos(ctx context.Context, id int64, conPaginas bool) ([]custody.MovimientoDetalle, error) {
	var rows []movViewRow
	q := movDocSQL("SELECT CAST(? AS BIGINT)")
	args := []any{id}
	if conPaginas {
		q = movDocSQL("SELECT CAST(? AS BIGINT) UNION ALL SELECT x.id FROM albaranes AS x WHERE x.documento_principal_id = ?")
		args = append(args, id)
	}
	r, err := s.db.Query(ctx, q, args...)
	if err == nil {
		err = s.db.ScanRows(ctx, r, &rows)
	}
	if err != nil && !isNoRows(err) {
		return nil, database.Translate(err)
	}
	if len(rows) == 0 {
		return nil, errAlbaranNotFound
	}
	return movDetalles(rows), nil
}

// MovimientosPorNumero reads the document numbered numero (or, for a main
// document, with that registry number) with its movements, in one query.
func (s *Store) MovimientosPorNumero(ctx context.Context, numero string) (*custody.AlbaranRef, []custody.MovimientoDetalle, error) {
	var rows []movViewRow
	const doc = `SELECT y.id FROM albaranes AS y WHERE y.numero = ? OR (y.numero_registro_salida = ? AND y.documento_principal_id IS NULL)
		ORDER BY CASE WHEN y.numero = ? THEN 0 ELSE 1 END, y.id LIMIT 1`
	q := movDocSQL("SELECT r.id FROM (" + doc + ") AS r UNION ALL SELECT x.id FROM albaranes AS x WHERE x.documento_principal_id = (" + doc + ")")
	if err := s.db.NewRaw(q, numero, numero, numero, numero, numero, numero).Scan(ctx, &rows); err != nil && !isNoRows(err) {
		return nil, nil, database.Translate(err)
	}
	if len(rows) == 0 {
		return nil, nil, nil
	}
	ref := &custody.AlbaranRef{ID: *rows[0].DocID, Numero: deref(rows[0].DocNumero)}
	if rows[0].DocFecha != nil {
		ref.Fecha = rows[0].DocFecha.UTC()
	}
	return ref, movDetalles(rows), nil
}

var movOrderCols = map[string]string{"fecha": "m.fecha", "id": "m.id", "numero_serie": "m.numero_serie",
	"producto_codigo": "p.codigo_producto", "cantidad": "m.cantidad"}

// ListMovimientos reads a page of movements (and the total) in one query.
func (s *Store) ListMovimientos(ctx context.Context, f custody.MovimientoFilter) ([]custody.MovimientoDetalle, int, error) {
	q, args, cond := movListSQL(f)
	var rows []movViewRow
	if err := s.db.NewRaw(q, args...).Scan(ctx, &rows); err != nil && !isNoRows(err) {
		return nil, 0, database.Translate(err)
	}
	out := movDetalles(rows)
	if f.Limit <= 0 {
		return out, len(out), nil
	}
	carried := 0
	if len(rows) > 0 {
		carried = rows[0].FullCount
	}
	total, err := pageTotal(ctx, s.db, len(rows), f.Offset, carried,
		"SELECT count(*) FROM movimientos AS m LEFT JOIN productos AS p ON p.id = m.producto_id"+cond, args)
	return out, total, err
}

// movListSQL is the list statement for f (with the total on a page), its
// arguments, and its WHERE clause alone.
func movListSQL(f custody.MovimientoFilter) (query string, args []any, cond string) {
	var where []string
	add := func(c string, a ...any) { where = append(where, c); args = append(args, a...) }
	if f.AlbaranID != nil {
		add("m.albaran_id = ?", *f.AlbaranID)
	}
	if f.ProductoID != nil {
		add("m.producto_id = ?", *f.ProductoID)
	}
	if f.Codigo != "" {
		add("p.codigo_producto = ?", f.Codigo)
	}
	if f.NumeroSerie != "" {
		add("m.numero_serie = ?", f.NumeroSerie)
	}
	if f.Tipo != nil {
		add("m.tipo_movimiento = ?", string(*f.Tipo))
	}
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	order := f.Ordering
	if len(order) == 0 {
		order = []custody.SortKey{{Field: "fecha", Desc: true}}
	}
	sel := "SELECT " + movCols
	if f.Limit > 0 {
		sel += ", count(*) OVER () AS full_count"
	}
	query = sel + " FROM movimientos AS m JOIN albaranes AS al ON al.id = m.albaran_id" + movJoins + cond +
		" ORDER BY " + orderSQL(order, movOrderCols, "m.id DESC") + limitSQL(f.Limit, f.Offset)
	return query, args, cond
}

// EachMovimiento streams the movements matching f (unpaged) to fn from
// one query, row by row: the whole history (100,000 movements in the
// benchmark set) is never held at once. On SQLite, whose single
// connection must not wait on a slow client, the rows are read first, as
// in EachInventario.
func (s *Store) EachMovimiento(ctx context.Context, f custody.MovimientoFilter, fn func(*custody.MovimientoDetalle) error) error {
	f.Limit, f.Offset = 0, 0
	q, args, _ := movListSQL(f)
	if s.db.Engine == database.SQLite {
		var rows []movViewRow
		if err := s.db.NewRaw(q, args...).Scan(ctx, &rows); err != nil && !isNoRows(err) {
			return database.Translate(err)
		}
		for i := range rows {
			if rows[i].ID == nil {
				continue
			}
			d := rows[i].detalle()
			rows[i] = movViewRow{} // let the converted row go
			if err := fn(&d); err != nil {
				return err
			}
		}
		return nil
	}
	rs, err := s.db.QueryContext(ctx, q, args...)
	if err != nil {
		return database.Translate(err)
	}
	defer rs.Close()
	for rs.Next() {
		var row movViewRow
		if err := s.db.ScanRow(ctx, rs, &row); err != nil {
			return database.Translate(err)
		}
		if row.ID == nil {
			continue
		}
		d := row.detalle()
		if err := fn(&d); err != nil {
			return err
		}
	}
	return database.Translate(rs.Err())
}

var errMovimientoNotFound = &errs.Error{Kind: errs.KindNotFound, Message: "Not found."}

// MovimientoDetalle reads one movement in one query.
func (s *Store) MovimientoDetalle(ctx context.Context, id int64) (*custody.MovimientoDetalle, error) {
	var rows []movViewRow
	q := "SELECT " + movCols + " FROM movimientos AS m JOIN albaranes AS al ON al.id = m.albaran_id" + movJoins + " WHERE m.id = ?"
	if err := s.db.NewRaw(q, id).Scan(ctx, &rows); err != nil && !isNoRows(err) {
		return nil, database.Translate(err)
	}
	if len(rows) == 0 {
		return nil, errMovimientoNotFound
	}
	d := rows[0].detalle()
	return &d, nil
}

// --- writes ----------------------------------------------------------------------

// movAuditRow is a movement as it is before a change, with its product.
type movAuditRow struct {
	ID             int64   `bun:"id"`
	ProductoID     int64   `bun:"producto_id"`
	NumeroSerie    string  `bun:"numero_serie"`
	AlbaranID      int64   `bun:"albaran_id"`
	TipoMovimiento string  `bun:"tipo_movimiento"`
	Cantidad       int     `bun:"cantidad"`
	CC             *int    `bun:"cc"`
	Observaciones  *string `bun:"observaciones"`
	Descripcion    *string `bun:"descripcion"`
	Codigo         string  `bun:"codigo_producto,scanonly"`
	TipoID         *int64  `bun:"tipo_id,scanonly"`
}

func (m *movAuditRow) values() map[string]any {
	return map[string]any{"albaran_id": m.AlbaranID, "producto_id": m.ProductoID, "numero_serie": m.NumeroSerie,
		"tipo_movimiento": m.TipoMovimiento, "cantidad": m.Cantidad, "cc": m.CC, "observaciones": m.Observaciones, "descripcion": m.Descripcion}
}

func (m *movAuditRow) key() custody.ItemKey {
	return custody.ItemKey{ProductoID: m.ProductoID, NumeroSerie: m.NumeroSerie}
}

const movCurSelect = `SELECT m.id, m.producto_id, m.numero_serie, m.albaran_id, m.tipo_movimiento, m.cantidad, m.cc, m.observaciones, m.descripcion,
	p.codigo_producto, p.tipo_id FROM movimientos AS m JOIN productos AS p ON p.id = m.producto_id`

// movProducto resolves the product of an edited movement: get-or-create
// by code; a product that is new or untyped takes the type of the
// product the movement had (legacy §3.3).
func movProducto(ctx context.Context, tx bun.Tx, codigo string, descripcion *string, oldTipo *int64) (int64, error) {
	id, _, err := productoID(ctx, tx, codigo, deref(descripcion), true)
	if err != nil || oldTipo == nil {
		return id, err
	}
	res, err := tx.NewRaw("UPDATE productos SET tipo_id = ?, ultima_actualizacion = ? WHERE id = ? AND tipo_id IS NULL", *oldTipo, time.Now().UTC(), id).Exec(ctx)
	if err != nil {
		return 0, err
	}
	if n, _ := res.RowsAffected(); n > 0 {
		err = writeAudit(ctx, tx, audit.Entry{Action: audit.ActionUpdate, TableName: "productos", RecordID: itoa(id),
			OldValues: map[string]any{"tipo_id": nil}, NewValues: map[string]any{"tipo_id": *oldTipo, "motivo": "tipo del producto anterior del movimiento"}})
	}
	return id, err
}

// movTarget is an edited movement's product and serial after the edit.
type movTarget struct {
	edit custody.MovimientoEdit
	cur  *movAuditRow // nil for a new movement
	key  custody.ItemKey
}

func (t *movTarget) codigo() string {
	if t.edit.Codigo != nil {
		return *t.edit.Codigo
	}
	return t.cur.Codigo
}

func (t *movTarget) serie() string {
	if t.edit.NumeroSerie != nil {
		return *t.edit.NumeroSerie
	}
	return t.cur.NumeroSerie
}

func (t *movTarget) moved() bool { return t.cur != nil && t.key != t.cur.key() }

// movResolve finds each target's product (creating it when needed) and
// key.
func movResolve(ctx context.Context, tx bun.Tx, ts []movTarget) error {
	for i := range ts {
		t := &ts[i]
		pid := int64(0)
		if t.cur != nil && t.codigo() == t.cur.Codigo {
			pid = t.cur.ProductoID
		} else {
			var oldTipo *int64
			if t.cur != nil {
				oldTipo = t.cur.TipoID
			}
			var err error
			if pid, err = movProducto(ctx, tx, t.codigo(), t.edit.Descripcion, oldTipo); err != nil {
				return err
			}
		}
		t.key = custody.ItemKey{ProductoID: pid, NumeroSerie: t.serie()}
	}
	return nil
}

func movLineErr(field string, index int, name, msg string) error {
	fe := errs.FieldErrors{}
	fe.Nest(field, map[string]any{strconv.Itoa(index): map[string]any{name: []string{msg}}})
	return fe.Err()
}

// movOutgoing applies the outgoing rule to the targets that bring a new
// item onto an outgoing document; exempt holds the items the document
// already moves.
func movOutgoing(ctx context.Context, tx bun.Tx, field string, doc *custody.Albaran, ts []movTarget, exempt map[custody.ItemKey]bool) error {
	if !doc.Outgoing() {
		return nil
	}
	var lines []custody.LineaAlbaran
	var keys []custody.ItemKey
	for _, t := range ts {
		if t.cur == nil || t.moved() {
			lines = append(lines, custody.LineaAlbaran{Index: t.edit.Index, Codigo: t.codigo(), NumeroSerie: t.serie()})
			keys = append(keys, t.key)
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return albCheckOutgoing(ctx, tx, field, lines, keys, exempt)
}

// movUpdate writes an edited movement (its key already resolved) and
// audits it.
func movUpdate(ctx context.Context, tx bun.Tx, t *movTarget) error {
	c := t.cur
	e := t.edit
	upd := *c
	upd.ProductoID, upd.NumeroSerie = t.key.ProductoID, t.key.NumeroSerie
	if e.Cantidad != nil {
		upd.Cantidad = *e.Cantidad
	}
	if e.SetCC {
		upd.CC = e.CC
	}
	if e.SetObs {
		upd.Observaciones = e.Observaciones
	}
	if e.SetDescripcion {
		upd.Descripcion = e.Descripcion
	}
	if e.Tipo != nil {
		upd.TipoMovimiento = string(*e.Tipo)
	}
	if _, err := tx.NewRaw(`UPDATE movimientos SET producto_id = ?, numero_serie = ?, cantidad = ?, cc = ?, observaciones = ?, descripcion = ?, tipo_movimiento = ?
		WHERE id = ?`, upd.ProductoID, upd.NumeroSerie, upd.Cantidad, upd.CC, upd.Observaciones, upd.Descripcion, upd.TipoMovimiento, c.ID).Exec(ctx); err != nil {
		return err
	}
	return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionUpdate, TableName: "movimientos", RecordID: itoa(c.ID),
		OldValues: c.values(), NewValues: upd.values()})
}

// albApplyMovimientos replaces a document's movement list: entries with an
// id are edited, entries without one added, movements missing from the
// list deleted. It returns every touched key (old and new) and the
// products that may have been left unused.
func (s *Store) albApplyMovimientos(ctx context.Context, tx bun.Tx, doc *custody.Albaran, edits []custody.MovimientoEdit) ([]custody.ItemKey, []int64, error) {
	const field = "movimientos"
	var cur []movAuditRow
	if err := tx.NewRaw(movCurSelect+" WHERE m.albaran_id = ?", doc.ID).Scan(ctx, &cur); err != nil && !isNoRows(err) {
		return nil, nil, err
	}
	byID := map[int64]*movAuditRow{}
	onDoc := map[custody.ItemKey]bool{}
	for i := range cur {
		byID[cur[i].ID] = &cur[i]
		onDoc[cur[i].key()] = true
	}
	ts := make([]movTarget, len(edits))
	listed := map[int64]bool{}
	for i, e := range edits {
		ts[i].edit = e
		if e.ID != 0 {
			c, ok := byID[e.ID]
			if !ok {
				return nil, nil, movLineErr(field, e.Index, "id", fmt.Sprintf("Movement %d is not on this document.", e.ID))
			}
			ts[i].cur = c
			listed[e.ID] = true
		}
	}
	if err := movResolve(ctx, tx, ts); err != nil {
		return nil, nil, err
	}
	seen := map[custody.ItemKey]int{}
	for _, t := range ts {
		if first, ok := seen[t.key]; ok {
			return nil, nil, movLineErr(field, t.edit.Index, "numero_serie",
				fmt.Sprintf("Duplicate of line %d: product %s with serial %s appears twice on this document.", first, t.codigo(), t.serie()))
		}
		seen[t.key] = t.edit.Index
	}
	var keys []custody.ItemKey
	var prune []int64
	for i := range cur {
		keys = append(keys, cur[i].key())
	}
	for _, t := range ts {
		keys = append(keys, t.key)
	}
	if err := albLockItems(ctx, tx, keys); err != nil {
		return nil, nil, err
	}
	if err := movOutgoing(ctx, tx, field, doc, ts, onDoc); err != nil {
		return nil, nil, err
	}
	// Deleted: on the document but not in the list.
	var gone []int64
	var entries []audit.Entry
	for i := range cur {
		if !listed[cur[i].ID] {
			gone = append(gone, cur[i].ID)
			prune = append(prune, cur[i].ProductoID)
			entries = append(entries, audit.Entry{Action: audit.ActionDelete, TableName: "movimientos", RecordID: itoa(cur[i].ID), OldValues: cur[i].values()})
		}
	}
	if len(gone) > 0 {
		if _, err := tx.NewRaw("DELETE FROM movimientos WHERE id IN (?)", bun.In(gone)).Exec(ctx); err != nil {
			return nil, nil, err
		}
		if err := albWriteAudits(ctx, tx, entries); err != nil {
			return nil, nil, err
		}
	}
	// Moved keys first step aside, so that swapping two serials does not
	// trip the (product, serial, document) unique index half-way.
	for _, t := range ts {
		if t.moved() {
			if _, err := tx.NewRaw("UPDATE movimientos SET numero_serie = ? WHERE id = ?", fmt.Sprintf("%s\u2063~%d", t.cur.NumeroSerie, t.cur.ID), t.cur.ID).Exec(ctx); err != nil {
				return nil, nil, err
			}
		}
	}
	var fresh []NewMovement
	for i := range ts {
		t := &ts[i]
		if t.cur == nil {
			tipo := custody.Inventario
			if t.edit.Tipo != nil {
				tipo = *t.edit.Tipo
			} else if doc.Tipo != nil {
				tipo = *doc.Tipo
			}
			n := NewMovement{ProductoID: t.key.ProductoID, NumeroSerie: t.key.NumeroSerie, Descripcion: t.edit.Descripcion, Tipo: tipo, Cantidad: 1,
				CC: t.edit.CC, Observaciones: t.edit.Observaciones}
			if t.edit.Cantidad != nil {
				n.Cantidad = *t.edit.Cantidad
			}
			fresh = append(fresh, n)
			continue
		}
		if t.key.ProductoID != t.cur.ProductoID {
			prune = append(prune, t.cur.ProductoID)
		}
		if err := movUpdate(ctx, tx, t); err != nil {
			return nil, nil, err
		}
	}
	if len(fresh) > 0 {
		if _, err := insertMovements(ctx, tx, doc.ID, fresh); err != nil {
			return nil, nil, err
		}
	}
	return keys, prune, nil
}

func movDuplicate(field string) error {
	msg := "The fields producto, numero_serie, albaran must make a unique set: this product and serial number are already on the document."
	return &errs.Error{Kind: errs.KindInvalid, Fields: map[string]any{field: []string{msg}}}
}

// CreateMovimiento adds one movement to a document.
func (s *Store) CreateMovimiento(ctx context.Context, albaranID int64, l custody.LineaAlbaran) (int64, error) {
	var id int64
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		row, err := s.albLockDoc(ctx, tx, albaranID)
		if errs.Is(err, errs.KindNotFound) {
			return errs.Field("albaran", fmt.Sprintf("Invalid pk \"%d\" - object does not exist.", albaranID))
		}
		if err != nil {
			return err
		}
		doc := row.albaran()
		if l.Tipo == "" {
			l.Tipo = custody.Inventario
			if doc.Tipo != nil {
				l.Tipo = *doc.Tipo
			}
		}
		keys, err := albProductos(ctx, tx, []custody.LineaAlbaran{l})
		if err != nil {
			return err
		}
		var n int
		if err := tx.NewRaw("SELECT count(*) FROM movimientos WHERE producto_id = ? AND numero_serie = ? AND albaran_id = ?",
			keys[0].ProductoID, keys[0].NumeroSerie, albaranID).Scan(ctx, &n); err != nil {
			return err
		}
		if n > 0 {
			return movDuplicate("non_field_errors")
		}
		if err := albLockItems(ctx, tx, keys); err != nil {
			return err
		}
		if doc.Outgoing() {
			estados, err := albEstados(ctx, tx, keys)
			if err != nil {
				return err
			}
			if estados[0] == custody.Inactivo {
				return errs.Field("numero_serie", custody.MsgFueraDeCustodia(l.Codigo, l.NumeroSerie))
			}
		}
		if _, err := insertMovements(ctx, tx, albaranID, albNewMovements([]custody.LineaAlbaran{l}, keys)); err != nil {
			return err
		}
		if err := tx.NewRaw("SELECT id FROM movimientos WHERE producto_id = ? AND numero_serie = ? AND albaran_id = ?",
			keys[0].ProductoID, keys[0].NumeroSerie, albaranID).Scan(ctx, &id); err != nil {
			return err
		}
		return albRecompute(ctx, tx, keys)
	})
	return id, err
}

// UpdateMovimiento edits one movement, recomputing its old and new item.
func (s *Store) UpdateMovimiento(ctx context.Context, id int64, e custody.MovimientoEdit) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var cur []movAuditRow
		if err := tx.NewRaw(movCurSelect+" WHERE m.id = ?"+s.custodyForUpdate("m"), id).Scan(ctx, &cur); err != nil && !isNoRows(err) {
			return err
		}
		if len(cur) == 0 {
			return errMovimientoNotFound
		}
		row, err := s.albLockDoc(ctx, tx, cur[0].AlbaranID)
		if err != nil {
			return err
		}
		doc := row.albaran()
		ts := []movTarget{{edit: e, cur: &cur[0]}}
		if err := movResolve(ctx, tx, ts); err != nil {
			return err
		}
		t := &ts[0]
		if t.moved() {
			var n int
			if err := tx.NewRaw("SELECT count(*) FROM movimientos WHERE producto_id = ? AND numero_serie = ? AND albaran_id = ? AND id <> ?",
				t.key.ProductoID, t.key.NumeroSerie, doc.ID, id).Scan(ctx, &n); err != nil {
				return err
			}
			if n > 0 {
				return movDuplicate("numero_serie")
			}
		}
		keys := []custody.ItemKey{cur[0].key(), t.key}
		if err := albLockItems(ctx, tx, keys); err != nil {
			return err
		}
		if t.moved() && doc.Outgoing() {
			estados, err := albEstados(ctx, tx, []custody.ItemKey{t.key})
			if err != nil {
				return err
			}
			if estados[0] == custody.Inactivo {
				return errs.Field("numero_serie", custody.MsgFueraDeCustodia(t.codigo(), t.serie()))
			}
		}
		if err := movUpdate(ctx, tx, t); err != nil {
			return err
		}
		if err := albRecompute(ctx, tx, keys); err != nil {
			return err
		}
		if t.key.ProductoID != cur[0].ProductoID {
			return albPruneProductos(ctx, tx, []int64{cur[0].ProductoID})
		}
		return nil
	})
}

// DeleteMovimiento removes one movement and recomputes its item.
func (s *Store) DeleteMovimiento(ctx context.Context, id int64) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var cur []movAuditRow
		if err := tx.NewRaw(movCurSelect+" WHERE m.id = ?"+s.custodyForUpdate("m"), id).Scan(ctx, &cur); err != nil && !isNoRows(err) {
			return err
		}
		if len(cur) == 0 {
			return errMovimientoNotFound
		}
		c := cur[0]
		keys := []custody.ItemKey{c.key()}
		if err := albLockItems(ctx, tx, keys); err != nil {
			return err
		}
		if _, err := tx.NewRaw("DELETE FROM movimientos WHERE id = ?", id).Exec(ctx); err != nil {
			return err
		}
		if err := writeAudit(ctx, tx, audit.Entry{Action: audit.ActionDelete, TableName: "movimientos", RecordID: itoa(id), OldValues: c.values()}); err != nil {
			return err
		}
		if err := albRecompute(ctx, tx, keys); err != nil {
			return err
		}
		return albPruneProductos(ctx, tx, []int64{c.ProductoID})
	})
}
