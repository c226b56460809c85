package sqlstore

import (
	"context"
	"fmt"
	"hash/fnv"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"
	"github.com/uptrace/bun/dialect"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/errs"
)

// Documents ("albaranes", custody.AlbaranStore). Every write runs in one
// transaction that ends by recomputing each touched item (old and new
// keys) once, with audit rows for the documents and movements it changed.

// albViewRow is a document with its companies, users, main document and
// page count, read in one query (albSelect + albFrom).
type albViewRow struct {
	albaranRow `bun:",extend"`

	EOID           *int64  `bun:"eo_id,scanonly"`
	EONombre       *string `bun:"eo_nombre,scanonly"`
	EODireccion    *string `bun:"eo_direccion,scanonly"`
	EOCiudad       *string `bun:"eo_ciudad,scanonly"`
	EOCodigoPostal *string `bun:"eo_codigo_postal,scanonly"`
	EOProvincia    *string `bun:"eo_provincia,scanonly"`
	EONumeroODMC   *string `bun:"eo_numero_odmc,scanonly"`
	EOActiva       *bool   `bun:"eo_activa,scanonly"`
	EDID           *int64  `bun:"ed_id,scanonly"`
	EDNombre       *string `bun:"ed_nombre,scanonly"`
	EDDireccion    *string `bun:"ed_direccion,scanonly"`
	EDCiudad       *string `bun:"ed_ciudad,scanonly"`
	EDCodigoPostal *string `bun:"ed_codigo_postal,scanonly"`
	EDProvincia    *string `bun:"ed_provincia,scanonly"`
	EDNumeroODMC   *string `bun:"ed_numero_odmc,scanonly"`
	EDActiva       *bool   `bun:"ed_activa,scanonly"`

	PrNumero     *string    `bun:"pr_numero,scanonly"`
	PrFecha      *time.Time `bun:"pr_fecha,scanonly"`
	PaginasExtra int        `bun:"paginas_extra,scanonly"`
	FullCount    int        `bun:"full_count,scanonly"`
}

// The users and the main document are scalar subqueries rather than
// joins: the list statements are sent with their arguments inlined, so
// PostgreSQL plans each one, and planning a six-way join cost about twice
// the whole of this form.
const albSelect = `SELECT a.*, (SELECT u.username FROM users AS u WHERE u.id = a.created_by_id) AS created_by_username,
	(SELECT u.username FROM users AS u WHERE u.id = a.updated_by_id) AS updated_by_username,
	eo.id AS eo_id, eo.nombre AS eo_nombre, eo.direccion AS eo_direccion, eo.ciudad AS eo_ciudad, eo.codigo_postal AS eo_codigo_postal,
	eo.provincia AS eo_provincia, eo.numero_odmc AS eo_numero_odmc, eo.activa AS eo_activa,
	ed.id AS ed_id, ed.nombre AS ed_nombre, ed.direccion AS ed_direccion, ed.ciudad AS ed_ciudad, ed.codigo_postal AS ed_codigo_postal,
	ed.provincia AS ed_provincia, ed.numero_odmc AS ed_numero_odmc, ed.activa AS ed_activa,
	(SELECT pr.numero FROM albaranes AS pr WHERE pr.id = a.documento_principal_id) AS pr_numero,
	(SELECT pr.fecha FROM albaranes AS pr WHERE pr.id = a.documento_principal_id) AS pr_fecha,
	(SELECT count(*) FROM albaranes AS x WHERE x.documento_principal_id = COALESCE(a.documento_principal_id, a.id)) AS paginas_extra`

const albFrom = ` FROM albaranes AS a
	LEFT JOIN empresas AS eo ON eo.id = a.empresa_origen_id
	LEFT JOIN empresas AS ed ON ed.id = a.empresa_destino_id`

func albEmpresa(id *int64, nombre, direccion, ciudad, cp, provincia, odmc *string, activa *bool) *custody.Empresa {
	if id == nil {
		return nil
	}
	e := &custody.Empresa{ID: *id, Nombre: deref(nombre), Direccion: deref(direccion), Ciudad: deref(ciudad),
		CodigoPostal: deref(cp), Provincia: deref(provincia), NumeroODMC: deref(odmc)}
	if activa != nil {
		e.Activa = *activa
	}
	return e
}

func (r *albViewRow) detalle() custody.AlbaranDetalle {
	d := custody.AlbaranDetalle{Albaran: *r.albaran(), NumeroPaginasTotal: 1 + r.PaginasExtra}
	d.EmpresaOrigen = albEmpresa(r.EOID, r.EONombre, r.EODireccion, r.EOCiudad, r.EOCodigoPostal, r.EOProvincia, r.EONumeroODMC, r.EOActiva)
	d.EmpresaDestino = albEmpresa(r.EDID, r.EDNombre, r.EDDireccion, r.EDCiudad, r.EDCodigoPostal, r.EDProvincia, r.EDNumeroODMC, r.EDActiva)
	if r.DocumentoPrincipalID != nil && r.PrNumero != nil {
		ref := &custody.AlbaranRef{ID: *r.DocumentoPrincipalID, Numero: *r.PrNumero}
		if r.PrFecha != nil {
			ref.Fecha = r.PrFecha.UTC()
		}
		d.Principal = ref
	}
	return d
}

var errAlbaranNotFound = &errs.Error{Kind: errs.KindNotFound, Message: "Not found."}

// AlbaranDetalle reads one document in one query.
func (s *Store) AlbaranDetalle(ctx context.Context, id int64) (*custody.AlbaranDetalle, error) {
	var row albViewRow
	if err := s.db.QueryOne(ctx, &row, albSelect+albFrom+" WHERE a.id = ?", id); err != nil {
		if isNoRows(err) {
			return nil, errAlbaranNotFound
		}
		return nil, database.Translate(err)
	}
	d := row.detalle()
	return &d, nil
}

var albOrderCols = map[string]string{"fecha": "a.fecha", "numero": "a.numero", "created_at": "a.created_at", "id": "a.id"}

// ListAlbaranes reads a page of documents (and the total, on a page) in
// one query.
func (s *Store) ListAlbaranes(ctx context.Context, f custody.AlbaranFilter) ([]custody.AlbaranDetalle, int, error) {
	var where []string
	var args []any
	add := func(cond string, a ...any) { where = append(where, cond); args = append(args, a...) }
	if f.Tipo != nil {
		add("a.tipo_documento = ?", string(*f.Tipo))
	}
	if f.Direccion != nil {
		add("a.direccion_transferencia = ?", string(*f.Direccion))
	}
	if f.Empresa != nil {
		add("(a.empresa_origen_id = ? OR a.empresa_destino_id = ?)", *f.Empresa, *f.Empresa)
	}
	if f.EmpresaOrigen != nil {
		add("a.empresa_origen_id = ?", *f.EmpresaOrigen)
	}
	if f.EmpresaDestino != nil {
		add("a.empresa_destino_id = ?", *f.EmpresaDestino)
	}
	if f.Desde != nil {
		add("a.fecha >= ?", f.Desde.UTC())
	}
	if f.Hasta != nil {
		add("a.fecha < ?", f.Hasta.UTC().AddDate(0, 0, 1))
	}
	if f.Search != "" {
		add("a.search LIKE ? ESCAPE '!'", custodyLike(f.Search))
	}
	if f.NumeroRegistro != "" {
		// Extra pages carry their main document's registry numbers: the
		// main document answers for them.
		add("(a.numero = ? OR a.numero_registro_entrada = ? OR a.numero_registro_salida = ?) AND a.documento_principal_id IS NULL",
			f.NumeroRegistro, f.NumeroRegistro, f.NumeroRegistro)
	}
	if f.SoloPrincipales {
		add("a.documento_principal_id IS NULL")
	}
	cond := ""
	if len(where) > 0 {
		cond = " WHERE " + strings.Join(where, " AND ")
	}
	order := f.Ordering
	if len(order) == 0 {
		order = []custody.SortKey{{Field: "fecha", Desc: true}}
	}
	sel := albSelect
	if f.Limit > 0 {
		sel += ", count(*) OVER () AS full_count"
	}
	q := sel + albFrom + cond + " ORDER BY " + orderSQL(order, albOrderCols, "a.id DESC") + limitSQL(f.Limit, f.Offset)
	var rows []albViewRow
	if err := s.db.NewRaw(q, args...).Scan(ctx, &rows); err != nil && !isNoRows(err) {
		return nil, 0, database.Translate(err)
	}
	out := make([]custody.AlbaranDetalle, len(rows))
	for i := range rows {
		out[i] = rows[i].detalle()
	}
	if f.Limit <= 0 {
		return out, len(out), nil
	}
	carried := 0
	if len(rows) > 0 {
		carried = rows[0].FullCount
	}
	total, err := pageTotal(ctx, s.db, len(rows), f.Offset, carried, "SELECT count(*) FROM albaranes AS a"+cond, args)
	return out, total, err
}

// AlbaranPaginas returns all pages of the document id belongs to.
func (s *Store) AlbaranPaginas(ctx context.Context, id int64) ([]custody.AlbaranDetalle, error) {
	var rows []albViewRow
	q := `WITH mn AS (SELECT COALESCE(z.documento_principal_id, z.id) AS id FROM albaranes AS z WHERE z.id = ?) ` + albSelect + albFrom +
		` WHERE a.id IN (SELECT mn.id FROM mn UNION ALL SELECT p.id FROM albaranes AS p WHERE p.documento_principal_id = (SELECT mn.id FROM mn))
		ORDER BY a.pagina_numero, a.id`
	if err := s.db.NewRaw(q, id).Scan(ctx, &rows); err != nil && !isNoRows(err) {
		return nil, database.Translate(err)
	}
	if len(rows) == 0 {
		return nil, errAlbaranNotFound
	}
	out := make([]custody.AlbaranDetalle, len(rows))
	for i := range rows {
		out[i] = rows[i].detalle()
	}
	return out, nil
}

// --- transaction helpers -------------------------------------------------------

// albLockDoc reads a document header, locking its row on PostgreSQL.
func (s *Store) albLockDoc(ctx context.Context, tx bun.Tx, id int64) (*albaranRow, error) {
	var rows []albaranRow
	if err := tx.NewRaw("SELECT a.* FROM albaranes AS a WHERE a.id = ?"+s.custodyForUpdate(), id).Scan(ctx, &rows); err != nil && !isNoRows(err) {
		return nil, err
	}
	if len(rows) == 0 {
		return nil, errAlbaranNotFound
	}
	return &rows[0], nil
}

// albPages reads the extra pages of a main document, locked.
func (s *Store) albPages(ctx context.Context, tx bun.Tx, mainID int64) ([]albaranRow, error) {
	var rows []albaranRow
	err := tx.NewRaw(`SELECT a.* FROM albaranes AS a WHERE a.id IN (SELECT p.id FROM albaranes AS p WHERE p.documento_principal_id = ?)
		ORDER BY a.pagina_numero`+s.custodyForUpdate(), mainID).Scan(ctx, &rows)
	if err != nil && !isNoRows(err) {
		return nil, err
	}
	return rows, nil
}

// albAllocRegistro reserves the year's next registry number that no
// document uses yet, as numero or as a main document's registry number (a
// document typed in by hand, or an incoming one carrying the sender's
// number, may already hold it: the counter then moves past it).
func albAllocRegistro(ctx context.Context, tx bun.Tx, year int, except int64) (string, error) {
	for range 1000 {
		n, err := nextRegistroSalida(ctx, tx, year)
		if err != nil {
			return "", err
		}
		var taken int
		if err := tx.NewRaw(`SELECT count(*) FROM albaranes WHERE (numero = ? OR (numero_registro_salida = ? AND documento_principal_id IS NULL)) AND id <> ?`,
			n, n, except).Scan(ctx, &taken); err != nil {
			return "", err
		}
		if taken == 0 {
			return n, nil
		}
	}
	return "", errs.Conflict("No free registry number for %d.", year)
}

func albNumeroConflict(numero string) error {
	msg := fmt.Sprintf("An albarán numbered %q already exists; document numbers are unique.", numero)
	return &errs.Error{Kind: errs.KindConflict, Message: msg, Fields: map[string]any{"numero": []string{msg}}}
}

// albNumeroLibre refuses a number another document has.
func albNumeroLibre(ctx context.Context, tx bun.Tx, numero string, except int64) error {
	var n int
	if err := tx.NewRaw("SELECT count(*) FROM albaranes WHERE numero = ? AND id <> ?", numero, except).Scan(ctx, &n); err != nil {
		return err
	}
	if n > 0 {
		return albNumeroConflict(numero)
	}
	return nil
}

// albUniqueErr turns a unique violation on a document write into the
// duplicate-number conflict (the index backs the check in a race).
func albUniqueErr(err error, numero string) error {
	if database.IsUnique(err, "") {
		return albNumeroConflict(numero)
	}
	return err
}

// albCheckEmpresas refuses company ids that do not exist (a 400 naming
// the field rather than a foreign-key conflict).
func albCheckEmpresas(ctx context.Context, tx bun.Tx, a *custody.Albaran) error {
	fe := errs.FieldErrors{}
	for _, c := range []struct {
		name string
		id   *int64
	}{{"empresa_origen", a.EmpresaOrigenID}, {"empresa_destino", a.EmpresaDestinoID}} {
		if c.id == nil {
			continue
		}
		var n int
		if err := tx.NewRaw("SELECT count(*) FROM empresas WHERE id = ?", *c.id).Scan(ctx, &n); err != nil {
			return err
		}
		if n == 0 {
			fe.Add(c.name, fmt.Sprintf("Invalid pk \"%d\" - object does not exist.", *c.id))
		}
	}
	return fe.Err()
}

// albSyncPaginas sets total_paginas on every page of a main document to
// the number of pages it has.
func albSyncPaginas(ctx context.Context, tx bun.Tx, mainID int64) error {
	_, err := tx.NewRaw(`UPDATE albaranes SET total_paginas = 1 + (SELECT count(*) FROM albaranes AS x WHERE x.documento_principal_id = ?)
		WHERE id = ? OR documento_principal_id = ?`, mainID, mainID, mainID).Exec(ctx)
	return err
}

// albLockItems serialises concurrent writers of the same items on
// PostgreSQL (transaction-scoped advisory locks, taken in key order) so
// each recompute sees every movement committed before it, and a check of
// an item's current state stays true until commit. SQLite write
// transactions are exclusive already. (It belongs in recomputeItems, so
// that every writer takes it; until then, albRecompute pairs them.)
func albLockItems(ctx context.Context, tx bun.Tx, keys []custody.ItemKey) error {
	if tx.Dialect().Name() != dialect.PG || len(keys) == 0 {
		return nil
	}
	ids := make([]int64, 0, len(keys))
	seen := map[int64]bool{}
	for _, k := range keys {
		h := fnv.New64a()
		fmt.Fprintf(h, "item\x00%d\x00%s", k.ProductoID, k.NumeroSerie)
		id := int64(h.Sum64())
		if !seen[id] {
			seen[id] = true
			ids = append(ids, id)
		}
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for len(ids) > 0 {
		n := min(len(ids), 500)
		vals := strings.TrimSuffix(strings.Repeat("(CAST(? AS BIGINT)), ", n), ", ")
		args := make([]any, n)
		for i := range n {
			args[i] = ids[i]
		}
		var got []int64
		if err := tx.NewRaw("SELECT 1 FROM (SELECT k FROM (VALUES "+vals+") AS v (k) ORDER BY k) AS s, LATERAL (SELECT pg_advisory_xact_lock(s.k)) AS l", args...).Scan(ctx, &got); err != nil && !isNoRows(err) {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// albRecompute locks and recomputes the touched items.
func albRecompute(ctx context.Context, tx bun.Tx, keys []custody.ItemKey) error {
	if err := albLockItems(ctx, tx, keys); err != nil {
		return err
	}
	return recomputeItems(ctx, tx, keys)
}

// albEstados returns the current inventory state of each key, "" for an
// item without a row.
func albEstados(ctx context.Context, tx bun.Tx, keys []custody.ItemKey) ([]custody.Estado, error) {
	out := make([]custody.Estado, len(keys))
	if len(keys) == 0 {
		return out, nil
	}
	got := map[custody.ItemKey]custody.Estado{}
	uk := uniqueKeys(keys)
	for len(uk) > 0 {
		n := min(len(uk), 200)
		cte, args := albKeysCTE(uk[:n])
		var rows []struct {
			ProductoID  int64  `bun:"producto_id"`
			NumeroSerie string `bun:"numero_serie"`
			Estado      string `bun:"estado"`
		}
		if err := tx.NewRaw(cte+` SELECT i.producto_id, i.numero_serie, i.estado FROM k
			JOIN inventario AS i ON i.producto_id = k.p AND i.numero_serie = k.s`, args...).Scan(ctx, &rows); err != nil && !isNoRows(err) {
			return nil, err
		}
		for _, r := range rows {
			got[custody.ItemKey{ProductoID: r.ProductoID, NumeroSerie: r.NumeroSerie}] = custody.Estado(r.Estado)
		}
		uk = uk[n:]
	}
	for i, k := range keys {
		out[i] = got[k]
	}
	return out, nil
}

// albKeysCTE is "WITH k (p, s) AS (VALUES …)" for keys: joined to an
// index it is an index lookup per key on both engines, where SQLite runs
// "(a, b) IN (VALUES …)" as a scan of the whole index.
func albKeysCTE(keys []custody.ItemKey) (string, []any) {
	var b strings.Builder
	args := make([]any, 0, 2*len(keys))
	b.WriteString("WITH k (p, s) AS (VALUES ")
	for i, k := range keys {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("(CAST(? AS BIGINT), CAST(? AS TEXT))")
		args = append(args, k.ProductoID, k.NumeroSerie)
	}
	b.WriteString(")")
	return b.String(), args
}

// albCheckOutgoing applies custody.OutgoingLineErrors to lines whose
// keys are keys[i], skipping keys in exempt (items the document itself
// already moves).
func albCheckOutgoing(ctx context.Context, tx bun.Tx, field string, lines []custody.LineaAlbaran, keys []custody.ItemKey, exempt map[custody.ItemKey]bool) error {
	estados, err := albEstados(ctx, tx, keys)
	if err != nil {
		return err
	}
	for i, k := range keys {
		if exempt[k] {
			estados[i] = ""
		}
	}
	return custody.OutgoingLineErrors(field, lines, estados)
}

// albProductos resolves (creating untyped products as needed) the
// product of each line and returns the item keys, in line order.
func albProductos(ctx context.Context, tx bun.Tx, lines []custody.LineaAlbaran) ([]custody.ItemKey, error) {
	keys := make([]custody.ItemKey, len(lines))
	ids := map[string]int64{}
	for i, l := range lines {
		id, ok := ids[l.Codigo]
		if !ok {
			var err error
			if id, _, err = productoID(ctx, tx, l.Codigo, deref(l.Descripcion), true); err != nil {
				return nil, err
			}
			ids[l.Codigo] = id
		}
		keys[i] = custody.ItemKey{ProductoID: id, NumeroSerie: l.NumeroSerie}
	}
	return keys, nil
}

func albNewMovements(lines []custody.LineaAlbaran, keys []custody.ItemKey) []NewMovement {
	out := make([]NewMovement, len(lines))
	for i, l := range lines {
		out[i] = NewMovement{ProductoID: keys[i].ProductoID, NumeroSerie: l.NumeroSerie, Descripcion: l.Descripcion, Tipo: l.Tipo,
			Cantidad: l.Cantidad, CC: l.CC, Observaciones: l.Observaciones}
	}
	return out
}

// albPruneProductos removes catalog products among ids left with no
// movements, no inventory row and no type (the legacy removed the product
// of a deleted INVENTARIO document; untyped leftovers are what remains of
// that intent).
func albPruneProductos(ctx context.Context, tx bun.Tx, ids []int64) error {
	if len(ids) == 0 {
		return nil
	}
	var rows []struct {
		ID             int64  `bun:"id"`
		CodigoProducto string `bun:"codigo_producto"`
		Descripcion    string `bun:"descripcion"`
	}
	err := tx.NewRaw(`SELECT p.id, p.codigo_producto, p.descripcion FROM productos AS p WHERE p.id IN (?) AND p.tipo_id IS NULL
		AND NOT EXISTS (SELECT 1 FROM movimientos AS m WHERE m.producto_id = p.id)
		AND NOT EXISTS (SELECT 1 FROM inventario AS i WHERE i.producto_id = p.id)`, bun.In(albUniqueIDs(ids))).Scan(ctx, &rows)
	if err != nil && !isNoRows(err) {
		return err
	}
	if len(rows) == 0 {
		return nil
	}
	del := make([]int64, len(rows))
	entries := make([]audit.Entry, len(rows))
	for i, r := range rows {
		del[i] = r.ID
		entries[i] = audit.Entry{Action: audit.ActionDelete, TableName: "productos", RecordID: itoa(r.ID),
			OldValues: map[string]any{"codigo_producto": r.CodigoProducto, "descripcion": r.Descripcion, "motivo": "sin movimientos, inventario ni tipo"}}
	}
	if _, err := tx.NewRaw("DELETE FROM productos WHERE id IN (?)", bun.In(del)).Exec(ctx); err != nil {
		return err
	}
	return albWriteAudits(ctx, tx, entries)
}

func albUniqueIDs(ids []int64) []int64 {
	seen := map[int64]bool{}
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

// albWriteAudits records many entries with one statement per 500.
func albWriteAudits(ctx context.Context, tx bun.Tx, es []audit.Entry) error {
	a := audit.ActorFrom(ctx)
	ua := a.UserAgent
	if len(ua) > 512 {
		ua = ua[:512]
	}
	now := time.Now().UTC()
	for len(es) > 0 {
		n := min(len(es), 500)
		rows := make([]auditRow, n)
		for i, e := range es[:n] {
			rows[i] = auditRow{ID: uuid.NewString(), UserID: a.UserID, Actor: a.Name, Action: e.Action, TableName: e.TableName,
				RecordID: e.RecordID, IPAddress: a.IP, UserAgent: ua, CreatedAt: now}
			var err error
			if rows[i].OldValues, err = jsonOrNil(e.OldValues); err != nil {
				return err
			}
			if rows[i].NewValues, err = jsonOrNil(e.NewValues); err != nil {
				return err
			}
		}
		if _, err := tx.NewInsert().Model(&rows).Exec(ctx); err != nil {
			return err
		}
		es = es[n:]
	}
	return nil
}

// --- create ----------------------------------------------------------------------

// CreateAlbaran stores a validated document with its lines.
func (s *Store) CreateAlbaran(ctx context.Context, p *custody.AlbaranPlan) (int64, error) {
	var id int64
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		a := p.Albaran
		uid := audit.ActorFrom(ctx).UserID
		a.CreatedByID, a.UpdatedByID = uid, uid
		var mainID int64
		if p.PrincipalID != nil {
			main, err := s.albLockDoc(ctx, tx, *p.PrincipalID)
			if errs.Is(err, errs.KindNotFound) || (err == nil && main.DocumentoPrincipalID != nil) {
				return errs.Field("documento_principal_id", fmt.Sprintf("Invalid pk \"%d\" - not a main document.", *p.PrincipalID))
			}
			if err != nil {
				return err
			}
			var last int
			if err := tx.NewRaw("SELECT max(pagina_numero) FROM albaranes WHERE id = ? OR documento_principal_id = ?", main.ID, main.ID).Scan(ctx, &last); err != nil {
				return err
			}
			mainID = main.ID
			a.DocumentoPrincipalID = &mainID
			a.PaginaNumero = last + 1
			a.Numero = fmt.Sprintf("%s-P%d", main.Numero, a.PaginaNumero)
		}
		if p.AsignarRegistro {
			n, err := albAllocRegistro(ctx, tx, p.RegistroYear, 0)
			if err != nil {
				return err
			}
			a.Numero, a.NumeroRegistroSalida = n, &n
		}
		if err := albNumeroLibre(ctx, tx, a.Numero, 0); err != nil {
			return err
		}
		if err := albCheckEmpresas(ctx, tx, &a); err != nil {
			return err
		}
		keys, err := albProductos(ctx, tx, p.Lineas)
		if err != nil {
			return err
		}
		if err := albLockItems(ctx, tx, keys); err != nil {
			return err
		}
		if a.Outgoing() {
			if err := albCheckOutgoing(ctx, tx, "articulos", p.Lineas, keys, nil); err != nil {
				return err
			}
		}
		if err := insertAlbaran(ctx, tx, &a); err != nil {
			return albUniqueErr(err, a.Numero)
		}
		if _, err := insertMovements(ctx, tx, a.ID, albNewMovements(p.Lineas, keys)); err != nil {
			return err
		}
		if mainID != 0 {
			if err := albSyncPaginas(ctx, tx, mainID); err != nil {
				return err
			}
		}
		if p.Attach != nil {
			name, err := p.Attach(ctx, a.ID)
			if err != nil {
				return err
			}
			if err := setDocumentImage(ctx, tx, a.ID, "", name); err != nil {
				return err
			}
		}
		id = a.ID
		return albRecompute(ctx, tx, keys)
	})
	return id, err
}

// AgregarArticulos adds the lines not yet on the document.
func (s *Store) AgregarArticulos(ctx context.Context, id int64, lines []custody.LineaAlbaran) (int, int, error) {
	var nuevos, dups int
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		row, err := s.albLockDoc(ctx, tx, id)
		if err != nil {
			return err
		}
		doc := row.albaran()
		var have []struct {
			Codigo string `bun:"codigo_producto"`
			Serie  string `bun:"numero_serie"`
		}
		if err := tx.NewRaw(`SELECT p.codigo_producto, m.numero_serie FROM movimientos AS m JOIN productos AS p ON p.id = m.producto_id
			WHERE m.albaran_id = ?`, id).Scan(ctx, &have); err != nil && !isNoRows(err) {
			return err
		}
		on := map[[2]string]bool{}
		for _, h := range have {
			on[[2]string{h.Codigo, h.Serie}] = true
		}
		fresh := lines[:0:0]
		for _, l := range lines {
			if on[[2]string{l.Codigo, l.NumeroSerie}] {
				dups++
				continue
			}
			fresh = append(fresh, l)
		}
		if len(fresh) == 0 {
			return nil
		}
		keys, err := albProductos(ctx, tx, fresh)
		if err != nil {
			return err
		}
		if err := albLockItems(ctx, tx, keys); err != nil {
			return err
		}
		if doc.Outgoing() {
			if err := albCheckOutgoing(ctx, tx, "articulos", fresh, keys, nil); err != nil {
				return err
			}
		}
		if _, err := insertMovements(ctx, tx, id, albNewMovements(fresh, keys)); err != nil {
			return err
		}
		old := albaranAudit(doc)
		doc.UpdatedByID = audit.ActorFrom(ctx).UserID
		doc.UpdatedAt = time.Now().UTC()
		if _, err := tx.NewRaw("UPDATE albaranes SET updated_by_id = ?, updated_at = ? WHERE id = ?", doc.UpdatedByID, doc.UpdatedAt, id).Exec(ctx); err != nil {
			return err
		}
		if err := writeAudit(ctx, tx, audit.Entry{Action: audit.ActionUpdate, TableName: "albaranes", RecordID: itoa(id), OldValues: old,
			NewValues: map[string]any{"articulos_agregados": len(fresh)}}); err != nil {
			return err
		}
		nuevos = len(fresh)
		return albRecompute(ctx, tx, keys)
	})
	return nuevos, dups, err
}

// --- update ----------------------------------------------------------------------

// UpdateAlbaran applies an edit and, when given, a movement list.
func (s *Store) UpdateAlbaran(ctx context.Context, id int64, edit func(cur *custody.Albaran) (*custody.AlbaranEdit, error), movs *[]custody.MovimientoEdit) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		row, err := s.albLockDoc(ctx, tx, id)
		if err != nil {
			return err
		}
		old := row.albaran()
		cur := *old
		e, err := edit(&cur)
		if err != nil {
			return err
		}
		a := e.Albaran
		a.ID, a.CreatedAt, a.CreatedByID, a.ImagenDocumento = old.ID, old.CreatedAt, old.CreatedByID, old.ImagenDocumento
		a.UpdatedByID = audit.ActorFrom(ctx).UserID
		a.UpdatedAt = time.Now().UTC()
		if e.AsignarRegistro {
			n, err := albAllocRegistro(ctx, tx, e.RegistroYear, id)
			if err != nil {
				return err
			}
			a.Numero, a.NumeroRegistroSalida = n, &n
		}
		if a.Numero != old.Numero {
			if err := albNumeroLibre(ctx, tx, a.Numero, id); err != nil {
				return err
			}
		}
		if err := albCheckEmpresas(ctx, tx, &a); err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model(fromAlbaran(&a)).WherePK().ExcludeColumn("id", "created_at", "created_by_id", "imagen_documento").Exec(ctx); err != nil {
			return albUniqueErr(err, a.Numero)
		}
		var keys []custody.ItemKey
		var prune []int64
		docs := []int64{id}
		if a.DocumentoPrincipalID == nil {
			pageKeys, pageIDs, err := s.albSyncPageHeaders(ctx, tx, old, &a, e.Reclasificado)
			if err != nil {
				return err
			}
			keys = append(keys, pageKeys...)
			docs = append(docs, pageIDs...)
		}
		if e.Reclasificado {
			if old.Tipo != nil && a.Tipo != nil && *old.Tipo != *a.Tipo {
				if _, err := tx.NewRaw("UPDATE movimientos SET tipo_movimiento = ? WHERE albaran_id = ? AND tipo_movimiento = ?",
					string(*a.Tipo), id, string(*old.Tipo)).Exec(ctx); err != nil {
					return err
				}
			}
			ks, err := albDocKeys(ctx, tx, []int64{id})
			if err != nil {
				return err
			}
			keys = append(keys, ks...)
		}
		if movs != nil {
			ks, ps, err := s.albApplyMovimientos(ctx, tx, &a, *movs)
			if err != nil {
				return err
			}
			keys = append(keys, ks...)
			prune = append(prune, ps...)
		}
		if err := writeAudit(ctx, tx, audit.Entry{Action: audit.ActionUpdate, TableName: "albaranes", RecordID: itoa(id),
			OldValues: albaranAudit(old), NewValues: albaranAudit(&a)}); err != nil {
			return err
		}
		if err := albRecompute(ctx, tx, keys); err != nil {
			return err
		}
		return albPruneProductos(ctx, tx, prune)
	})
}

// albSyncPageHeaders keeps a main document's extra pages in line with it:
// numbered "<main>-P<n>", and, when the main document changed type or
// direction, of the same type, direction and registry number. It returns
// the items of re-classified pages and the page ids.
func (s *Store) albSyncPageHeaders(ctx context.Context, tx bun.Tx, old, a *custody.Albaran, reclasificado bool) ([]custody.ItemKey, []int64, error) {
	registroChanged := deref(old.NumeroRegistroSalida) != deref(a.NumeroRegistroSalida)
	if a.Numero == old.Numero && !reclasificado && !registroChanged {
		return nil, nil, nil
	}
	pages, err := s.albPages(ctx, tx, a.ID)
	if err != nil || len(pages) == 0 {
		return nil, nil, err
	}
	var keys []custody.ItemKey
	ids := make([]int64, 0, len(pages))
	for i := range pages {
		pg := pages[i].albaran()
		before := albaranAudit(pg)
		oldTipo := pg.Tipo
		pg.Numero = fmt.Sprintf("%s-P%d", a.Numero, pg.PaginaNumero)
		if reclasificado {
			pg.Tipo, pg.Direccion = a.Tipo, a.Direccion
		}
		if registroChanged {
			pg.NumeroRegistroSalida = a.NumeroRegistroSalida
		}
		pg.UpdatedByID, pg.UpdatedAt = a.UpdatedByID, a.UpdatedAt
		if pg.Numero != pages[i].Numero {
			if err := albNumeroLibre(ctx, tx, pg.Numero, pg.ID); err != nil {
				return nil, nil, err
			}
		}
		if _, err := tx.NewUpdate().Model(fromAlbaran(pg)).WherePK().ExcludeColumn("id", "created_at", "created_by_id", "imagen_documento").Exec(ctx); err != nil {
			return nil, nil, albUniqueErr(err, pg.Numero)
		}
		if err := writeAudit(ctx, tx, audit.Entry{Action: audit.ActionUpdate, TableName: "albaranes", RecordID: itoa(pg.ID),
			OldValues: before, NewValues: albaranAudit(pg)}); err != nil {
			return nil, nil, err
		}
		ids = append(ids, pg.ID)
		if reclasificado {
			if oldTipo != nil && pg.Tipo != nil && *oldTipo != *pg.Tipo {
				if _, err := tx.NewRaw("UPDATE movimientos SET tipo_movimiento = ? WHERE albaran_id = ? AND tipo_movimiento = ?",
					string(*pg.Tipo), pg.ID, string(*oldTipo)).Exec(ctx); err != nil {
					return nil, nil, err
				}
			}
			ks, err := albDocKeys(ctx, tx, []int64{pg.ID})
			if err != nil {
				return nil, nil, err
			}
			keys = append(keys, ks...)
		}
	}
	return keys, ids, nil
}

// albDocKeys returns the items moved by the given documents.
func albDocKeys(ctx context.Context, tx bun.Tx, docs []int64) ([]custody.ItemKey, error) {
	var rows []struct {
		ProductoID  int64  `bun:"producto_id"`
		NumeroSerie string `bun:"numero_serie"`
	}
	if err := tx.NewRaw("SELECT producto_id, numero_serie FROM movimientos WHERE albaran_id IN (?)", bun.In(docs)).Scan(ctx, &rows); err != nil && !isNoRows(err) {
		return nil, err
	}
	keys := make([]custody.ItemKey, len(rows))
	for i, r := range rows {
		keys[i] = custody.ItemKey{ProductoID: r.ProductoID, NumeroSerie: r.NumeroSerie}
	}
	return keys, nil
}

// --- delete ----------------------------------------------------------------------

// DeleteAlbaran deletes a document (a main document with its extra
// pages), its movements, and recomputes every touched item once.
func (s *Store) DeleteAlbaran(ctx context.Context, id int64) ([]string, error) {
	var images []string
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		images = images[:0]
		row, err := s.albLockDoc(ctx, tx, id)
		if err != nil {
			return err
		}
		docs := []albaranRow{*row}
		if row.DocumentoPrincipalID == nil {
			pages, err := s.albPages(ctx, tx, id)
			if err != nil {
				return err
			}
			docs = append(docs, pages...)
		}
		ids := make([]int64, len(docs))
		for i := range docs {
			ids[i] = docs[i].ID
			if docs[i].ImagenDocumento != "" {
				images = append(images, docs[i].ImagenDocumento)
			}
		}
		var movs []movAuditRow
		if err := tx.NewRaw(`SELECT id, producto_id, numero_serie, albaran_id, tipo_movimiento, cantidad, cc, observaciones, descripcion
			FROM movimientos WHERE albaran_id IN (?)`, bun.In(ids)).Scan(ctx, &movs); err != nil && !isNoRows(err) {
			return err
		}
		entries := make([]audit.Entry, 0, len(docs)+len(movs))
		keys := make([]custody.ItemKey, len(movs))
		prods := make([]int64, len(movs))
		for i := range movs {
			entries = append(entries, audit.Entry{Action: audit.ActionDelete, TableName: "movimientos", RecordID: itoa(movs[i].ID), OldValues: movs[i].values()})
			keys[i] = custody.ItemKey{ProductoID: movs[i].ProductoID, NumeroSerie: movs[i].NumeroSerie}
			prods[i] = movs[i].ProductoID
		}
		for i := len(docs) - 1; i >= 0; i-- {
			entries = append(entries, audit.Entry{Action: audit.ActionDelete, TableName: "albaranes", RecordID: itoa(docs[i].ID), OldValues: albaranAudit(docs[i].albaran())})
		}
		if _, err := tx.NewRaw("DELETE FROM movimientos WHERE albaran_id IN (?)", bun.In(ids)).Exec(ctx); err != nil {
			return err
		}
		if len(ids) > 1 {
			if _, err := tx.NewRaw("DELETE FROM albaranes WHERE documento_principal_id = ?", id).Exec(ctx); err != nil {
				return err
			}
		}
		if _, err := tx.NewRaw("DELETE FROM albaranes WHERE id = ?", id).Exec(ctx); err != nil {
			return err
		}
		if row.DocumentoPrincipalID != nil {
			if err := albSyncPaginas(ctx, tx, *row.DocumentoPrincipalID); err != nil {
				return err
			}
		}
		if err := albWriteAudits(ctx, tx, entries); err != nil {
			return err
		}
		if err := albRecompute(ctx, tx, keys); err != nil {
			return err
		}
		return albPruneProductos(ctx, tx, prods)
	})
	if err != nil {
		return nil, err
	}
	return images, nil
}
