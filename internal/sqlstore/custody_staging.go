package sqlstore

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/errs"
)

// Staging lines ("línea temporal"), procesar, and document images
// (custody.StagingStore).

var _ custody.StagingStore = (*Store)(nil)

type stagingRow struct {
	bun.BaseModel    `bun:"table:lineas_temporales,alias:lt"`
	ID               int64     `bun:"id,pk,autoincrement"`
	UsuarioID        int64     `bun:"usuario_id,notnull"`
	NumeroAlbaran    string    `bun:"numero_albaran,notnull"`
	CodigoProducto   string    `bun:"codigo_producto,notnull"`
	Descripcion      *string   `bun:"descripcion"`
	NumeroSerie      string    `bun:"numero_serie,notnull"`
	BultosTotal      *int      `bun:"bultos_total"`
	Observaciones    *string   `bun:"observaciones"`
	Procesado        bool      `bun:"procesado,notnull"`
	Cantidad         int       `bun:"cantidad,notnull"`
	CC               *int      `bun:"cc"`
	TipoProductoID   *int64    `bun:"tipo_producto_id"`
	DatosAdicionales string    `bun:"datos_adicionales,notnull"`
	CreatedAt        time.Time `bun:"created_at,notnull"`
	UpdatedAt        time.Time `bun:"updated_at,notnull"`
}

func fromLinea(l *custody.LineaTemporal) (*stagingRow, error) {
	d := l.DatosAdicionales
	if d == nil {
		d = map[string]any{}
	}
	b, err := json.Marshal(d)
	if err != nil {
		return nil, errs.Field("datos_adicionales", "Value must be valid JSON.")
	}
	return &stagingRow{ID: l.ID, UsuarioID: l.UsuarioID, NumeroAlbaran: l.NumeroAlbaran, CodigoProducto: l.CodigoProducto,
		Descripcion: l.Descripcion, NumeroSerie: l.NumeroSerie, BultosTotal: l.BultosTotal, Observaciones: l.Observaciones,
		Procesado: l.Procesado, Cantidad: l.Cantidad, CC: l.CC, TipoProductoID: l.TipoProductoID, DatosAdicionales: string(b),
		CreatedAt: l.CreatedAt.UTC(), UpdatedAt: l.UpdatedAt.UTC()}, nil
}

func (r *stagingRow) linea() custody.LineaTemporal {
	l := custody.LineaTemporal{ID: r.ID, UsuarioID: r.UsuarioID, NumeroAlbaran: r.NumeroAlbaran, CodigoProducto: r.CodigoProducto,
		Descripcion: r.Descripcion, NumeroSerie: r.NumeroSerie, BultosTotal: r.BultosTotal, Observaciones: r.Observaciones,
		Procesado: r.Procesado, Cantidad: r.Cantidad, CC: r.CC, TipoProductoID: r.TipoProductoID,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
	// Numbers stay json.Number: serials and codes must not lose digits.
	dec := json.NewDecoder(strings.NewReader(r.DatosAdicionales))
	dec.UseNumber()
	if err := dec.Decode(&l.DatosAdicionales); err != nil || l.DatosAdicionales == nil {
		l.DatosAdicionales = map[string]any{}
	}
	return l
}

// stagingAudit is what the audit log records of a line.
func stagingAudit(l *custody.LineaTemporal) map[string]any {
	return map[string]any{"usuario_id": l.UsuarioID, "numero_albaran": l.NumeroAlbaran, "codigo_producto": l.CodigoProducto,
		"numero_serie": l.NumeroSerie, "descripcion": l.Descripcion, "bultos_total": l.BultosTotal, "observaciones": l.Observaciones,
		"procesado": l.Procesado, "cantidad": l.Cantidad, "cc": l.CC, "tipo_producto_id": l.TipoProductoID,
		"datos_adicionales": l.DatosAdicionales}
}

// stagingLock locks selected rows on PostgreSQL (SQLite write
// transactions are exclusive already).
func (s *Store) stagingLock() string {
	if s.db.Engine == database.Postgres {
		return " FOR UPDATE"
	}
	return ""
}

// writeAuditBatch records many entries with one statement per 500.
func writeAuditBatch(ctx context.Context, tx bun.Tx, entries []audit.Entry) error {
	if len(entries) == 0 {
		return nil
	}
	a := audit.ActorFrom(ctx)
	now := time.Now().UTC()
	ua := a.UserAgent
	if len(ua) > 512 {
		ua = ua[:512]
	}
	rows := make([]auditRow, len(entries))
	for i, e := range entries {
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
	for len(rows) > 0 {
		n := min(len(rows), 500)
		chunk := rows[:n]
		if _, err := tx.NewInsert().Model(&chunk).Exec(ctx); err != nil {
			return err
		}
		rows = rows[n:]
	}
	return nil
}

// inList renders "(?, ?, …)" for n values.
func inList(n int) string {
	return "(" + strings.TrimSuffix(strings.Repeat("?, ", n), ", ") + ")"
}

func int64Args(ids []int64) []any {
	out := make([]any, len(ids))
	for i, id := range ids {
		out[i] = id
	}
	return out
}

func stagingNotFound() error { return &errs.Error{Kind: errs.KindNotFound, Message: "Not found."} }

// ListStaging implements custody.StagingStore.
func (s *Store) ListStaging(ctx context.Context, f custody.StagingFilter) ([]custody.LineaTemporal, int, error) {
	var rows []stagingRow
	q := s.db.NewSelect().Model(&rows)
	if f.Owner != nil {
		q = q.Where("usuario_id = ?", *f.Owner)
	}
	if f.Procesado != nil {
		q = q.Where("procesado = ?", *f.Procesado)
	}
	q = q.OrderExpr("created_at DESC, id DESC")
	var n int
	var err error
	if f.Limit > 0 {
		var n64 int64
		n64, err = q.Limit(int64(f.Limit)).Offset(int64(f.Offset)).ScanAndCount(ctx)
		n = int(n64)
	} else {
		err = q.Scan(ctx)
		n = len(rows)
	}
	if err != nil && !isNoRows(err) {
		return nil, 0, database.Translate(err)
	}
	out := make([]custody.LineaTemporal, len(rows))
	for i := range rows {
		out[i] = rows[i].linea()
	}
	return out, n, nil
}

func stagingByID(ctx context.Context, db bun.IDB, id int64, owner *int64, lock string) (*custody.LineaTemporal, error) {
	var row stagingRow
	q := "SELECT * FROM lineas_temporales WHERE id = ?"
	args := []any{id}
	if owner != nil {
		q += " AND usuario_id = ?"
		args = append(args, *owner)
	}
	if err := db.NewRaw(q+lock, args...).Scan(ctx, &row); err != nil {
		if isNoRows(err) {
			return nil, stagingNotFound()
		}
		return nil, err
	}
	l := row.linea()
	return &l, nil
}

// StagingLine implements custody.StagingStore.
func (s *Store) StagingLine(ctx context.Context, id int64, owner *int64) (*custody.LineaTemporal, error) {
	l, err := stagingByID(ctx, s.db, id, owner, "")
	return l, database.Translate(err)
}

// checkTipoProducto refuses a tipo_producto id that does not exist.
func checkTipoProducto(ctx context.Context, tx bun.Tx, lines []custody.LineaTemporal) error {
	ids := map[int64]bool{}
	for _, l := range lines {
		if l.TipoProductoID != nil {
			ids[*l.TipoProductoID] = true
		}
	}
	for id := range ids {
		var n int
		if err := tx.NewRaw("SELECT count(*) FROM tipos_producto WHERE id = ?", id).Scan(ctx, &n); err != nil {
			return err
		}
		if n == 0 {
			return errs.Field("tipo_producto", `Invalid pk "`+itoa(id)+`" - object does not exist.`)
		}
	}
	return nil
}

// CreateStagingLines implements custody.StagingStore.
func (s *Store) CreateStagingLines(ctx context.Context, lines []custody.LineaTemporal) ([]custody.LineaTemporal, error) {
	now := time.Now().UTC()
	rows := make([]stagingRow, len(lines))
	for i := range lines {
		lines[i].CreatedAt, lines[i].UpdatedAt = now, now
		r, err := fromLinea(&lines[i])
		if err != nil {
			return nil, err
		}
		r.ID = 0
		rows[i] = *r
	}
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := checkTipoProducto(ctx, tx, lines); err != nil {
			return err
		}
		for off := 0; off < len(rows); off += 500 {
			chunk := rows[off:min(off+500, len(rows))]
			if _, err := tx.NewInsert().Model(&chunk).Returning("id").Exec(ctx); err != nil {
				return err
			}
		}
		entries := make([]audit.Entry, len(rows))
		for i := range rows {
			lines[i].ID = rows[i].ID
			entries[i] = audit.Entry{Action: audit.ActionCreate, TableName: "lineas_temporales", RecordID: itoa(rows[i].ID),
				NewValues: stagingAudit(&lines[i])}
		}
		return writeAuditBatch(ctx, tx, entries)
	})
	if err != nil {
		return nil, err
	}
	return lines, nil
}

// UpdateStagingLine implements custody.StagingStore.
func (s *Store) UpdateStagingLine(ctx context.Context, id int64, owner *int64, change func(*custody.LineaTemporal) error) (*custody.LineaTemporal, error) {
	var out *custody.LineaTemporal
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		l, err := stagingByID(ctx, tx, id, owner, s.stagingLock())
		if err != nil {
			return err
		}
		old := stagingAudit(l)
		if err := change(l); err != nil {
			return err
		}
		if err := checkTipoProducto(ctx, tx, []custody.LineaTemporal{*l}); err != nil {
			return err
		}
		l.UpdatedAt = time.Now().UTC()
		row, err := fromLinea(l)
		if err != nil {
			return err
		}
		if _, err := tx.NewUpdate().Model(row).WherePK().ExcludeColumn("id", "usuario_id", "created_at").Exec(ctx); err != nil {
			return err
		}
		out = l
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionUpdate, TableName: "lineas_temporales", RecordID: itoa(id),
			OldValues: old, NewValues: stagingAudit(l)})
	})
	return out, err
}

// DeleteStagingLine implements custody.StagingStore.
func (s *Store) DeleteStagingLine(ctx context.Context, id int64, owner *int64) (*custody.LineaTemporal, error) {
	var out *custody.LineaTemporal
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		l, err := stagingByID(ctx, tx, id, owner, s.stagingLock())
		if err != nil {
			return err
		}
		if _, err := tx.NewRaw("DELETE FROM lineas_temporales WHERE id = ?", id).Exec(ctx); err != nil {
			return err
		}
		out = l
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionDelete, TableName: "lineas_temporales", RecordID: itoa(id),
			OldValues: stagingAudit(l)})
	})
	return out, err
}

// StagingGroups implements custody.StagingStore: one grouped query over
// the lines joined to the catalog and the types, and one for the types.
func (s *Store) StagingGroups(ctx context.Context, f custody.StagingFilter) ([]custody.StagingGroup, []string, error) {
	where := []string{"1 = 1"}
	var args []any
	if f.Owner != nil {
		where = append(where, "l.usuario_id = ?")
		args = append(args, *f.Owner)
	}
	if f.Procesado != nil {
		where = append(where, "l.procesado = ?")
		args = append(args, *f.Procesado)
	}
	var rows []struct {
		CodigoProducto string  `bun:"codigo_producto"`
		Cantidad       int     `bun:"cantidad"`
		Catalogo       *string `bun:"catalogo"`
		Staged         *string `bun:"staged"`
		Tipo           *string `bun:"tipo"`
	}
	err := s.db.NewRaw(`SELECT l.codigo_producto, count(*) AS cantidad, MAX(p.descripcion) AS catalogo,
			MAX(l.descripcion) AS staged, MAX(t.nombre) AS tipo
		FROM lineas_temporales AS l
		LEFT JOIN productos AS p ON p.codigo_producto = l.codigo_producto
		LEFT JOIN tipos_producto AS t ON t.id = p.tipo_id
		WHERE `+strings.Join(where, " AND ")+`
		GROUP BY l.codigo_producto ORDER BY l.codigo_producto`, args...).Scan(ctx, &rows)
	if err != nil && !isNoRows(err) {
		return nil, nil, database.Translate(err)
	}
	out := make([]custody.StagingGroup, len(rows))
	for i, r := range rows {
		g := custody.StagingGroup{CodigoProducto: r.CodigoProducto, Cantidad: r.Cantidad, Tipo: r.Tipo, Tipificado: r.Tipo != nil}
		switch {
		case r.Catalogo != nil && *r.Catalogo != "":
			g.Descripcion = *r.Catalogo
		case r.Staged != nil:
			g.Descripcion = *r.Staged
		}
		out[i] = g
	}
	var tipos []string
	if err := s.db.NewRaw("SELECT nombre FROM tipos_producto ORDER BY nombre").Scan(ctx, &tipos); err != nil && !isNoRows(err) {
		return nil, nil, database.Translate(err)
	}
	if tipos == nil {
		tipos = []string{}
	}
	return out, tipos, nil
}

// AssignStagingType implements custody.StagingStore.
func (s *Store) AssignStagingType(ctx context.Context, codigo, tipo, descripcion string) (custody.AssignResult, error) {
	var res custody.AssignResult
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		tipoID, created, err := tipoByName(ctx, tx, tipo)
		if err != nil {
			return err
		}
		res.TipoID, res.TipoCreated = tipoID, created
		if descripcion == "" {
			// A staged line's description beats "Producto <codigo>".
			var d []string
			if err := tx.NewRaw(`SELECT descripcion FROM lineas_temporales
				WHERE codigo_producto = ? AND descripcion IS NOT NULL AND descripcion <> '' ORDER BY id LIMIT 1`, codigo).Scan(ctx, &d); err != nil && !isNoRows(err) {
				return err
			}
			if len(d) > 0 {
				descripcion = d[0]
			}
		}
		pid, pcreated, err := productoID(ctx, tx, codigo, descripcion, true)
		if err != nil {
			return err
		}
		res.ProductoID, res.Created = pid, pcreated
		var cur struct {
			TipoID *int64 `bun:"tipo_id"`
		}
		if err := tx.NewRaw("SELECT tipo_id FROM productos WHERE id = ?"+s.stagingLock(), pid).Scan(ctx, &cur); err != nil {
			return err
		}
		if cur.TipoID != nil && *cur.TipoID == tipoID {
			return nil
		}
		uid := audit.ActorFrom(ctx).UserID
		if _, err := tx.NewRaw("UPDATE productos SET tipo_id = ?, updated_by_id = ?, ultima_actualizacion = ? WHERE id = ?",
			tipoID, uid, time.Now().UTC(), pid).Exec(ctx); err != nil {
			return err
		}
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionUpdate, TableName: "productos", RecordID: itoa(pid),
			OldValues: map[string]any{"tipo_id": cur.TipoID}, NewValues: map[string]any{"tipo_id": tipoID, "tipo": tipo}})
	})
	return res, err
}

// tipoByName finds a product type by name (exactly, then ignoring case)
// or creates it.
func tipoByName(ctx context.Context, tx bun.Tx, nombre string) (int64, bool, error) {
	var ids []int64
	if err := tx.NewRaw("SELECT id FROM tipos_producto WHERE nombre = ? OR lower(nombre) = lower(?) ORDER BY CASE WHEN nombre = ? THEN 0 ELSE 1 END, id LIMIT 1",
		nombre, nombre, nombre).Scan(ctx, &ids); err != nil && !isNoRows(err) {
		return 0, false, err
	}
	if len(ids) > 0 {
		return ids[0], false, nil
	}
	if err := tx.NewRaw("INSERT INTO tipos_producto (nombre) VALUES (?) ON CONFLICT (nombre) DO NOTHING RETURNING id", nombre).Scan(ctx, &ids); err != nil && !isNoRows(err) {
		return 0, false, err
	}
	if len(ids) == 0 { // created concurrently
		var id int64
		if err := tx.NewRaw("SELECT id FROM tipos_producto WHERE nombre = ?", nombre).Scan(ctx, &id); err != nil {
			return 0, false, err
		}
		return id, false, nil
	}
	return ids[0], true, writeAudit(ctx, tx, audit.Entry{Action: audit.ActionCreate, TableName: "tipos_producto", RecordID: itoa(ids[0]),
		NewValues: map[string]any{"nombre": nombre}})
}

// PurgeStaging implements custody.StagingStore.
func (s *Store) PurgeStaging(ctx context.Context, owner *int64, before time.Time) ([]custody.LineaTemporal, error) {
	var out []custody.LineaTemporal
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		q := "SELECT * FROM lineas_temporales WHERE procesado = ? AND created_at < ?"
		args := []any{true, before.UTC()}
		if owner != nil {
			q += " AND usuario_id = ?"
			args = append(args, *owner)
		}
		var rows []stagingRow
		if err := tx.NewRaw(q+" ORDER BY id"+s.stagingLock(), args...).Scan(ctx, &rows); err != nil && !isNoRows(err) {
			return err
		}
		ids := make([]int64, len(rows))
		entries := make([]audit.Entry, len(rows))
		for i := range rows {
			l := rows[i].linea()
			out = append(out, l)
			ids[i] = l.ID
			entries[i] = audit.Entry{Action: audit.ActionDelete, TableName: "lineas_temporales", RecordID: itoa(l.ID), OldValues: stagingAudit(&l)}
		}
		for off := 0; off < len(ids); off += 500 {
			chunk := ids[off:min(off+500, len(ids))]
			if _, err := tx.NewRaw("DELETE FROM lineas_temporales WHERE id IN "+inList(len(chunk)), int64Args(chunk)...).Exec(ctx); err != nil {
				return err
			}
		}
		return writeAuditBatch(ctx, tx, entries)
	})
	return out, err
}

// UnreferencedStagingImages implements custody.StagingStore. The match is
// on the JSON text (portable across engines); a false match only keeps a
// file a little longer.
func (s *Store) UnreferencedStagingImages(ctx context.Context, names []string) ([]string, error) {
	var out []string
	for _, n := range names {
		var c int
		if err := s.db.NewRaw("SELECT count(*) FROM lineas_temporales WHERE procesado = ? AND CAST(datos_adicionales AS TEXT) LIKE ?",
			false, "%"+n+"%").Scan(ctx, &c); err != nil {
			return nil, database.Translate(err)
		}
		if c == 0 {
			out = append(out, n)
		}
	}
	return out, nil
}

// DocumentImageName implements custody.StagingStore.
func (s *Store) DocumentImageName(ctx context.Context, albaranID int64) (string, error) {
	var name string
	if err := s.db.NewRaw("SELECT imagen_documento FROM albaranes WHERE id = ?", albaranID).Scan(ctx, &name); err != nil {
		if isNoRows(err) {
			return "", stagingNotFound()
		}
		return "", database.Translate(err)
	}
	return name, nil
}

// ReplaceDocumentImage implements custody.StagingStore.
func (s *Store) ReplaceDocumentImage(ctx context.Context, albaranID int64, name string) (string, error) {
	var old string
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewRaw("SELECT imagen_documento FROM albaranes WHERE id = ?"+s.stagingLock(), albaranID).Scan(ctx, &old); err != nil {
			if isNoRows(err) {
				return stagingNotFound()
			}
			return err
		}
		return setDocumentImage(ctx, tx, albaranID, old, name)
	})
	return old, err
}

func setDocumentImage(ctx context.Context, tx bun.Tx, albaranID int64, old, name string) error {
	if _, err := tx.NewRaw("UPDATE albaranes SET imagen_documento = ?, updated_by_id = ?, updated_at = ? WHERE id = ?",
		name, audit.ActorFrom(ctx).UserID, time.Now().UTC(), albaranID).Exec(ctx); err != nil {
		return err
	}
	return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionUpdate, TableName: "albaranes", RecordID: itoa(albaranID),
		OldValues: map[string]any{"imagen_documento": old}, NewValues: map[string]any{"imagen_documento": name}})
}

// ProcessStaging implements custody.StagingStore: everything procesar
// writes happens in this one transaction, and every check runs before
// the first write.
func (s *Store) ProcessStaging(ctx context.Context, req custody.ProcessRequest) (*custody.ProcessResult, error) {
	var res *custody.ProcessResult
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		// 1. The caller's pending lines (locked: a double click processes
		// them once).
		q := "SELECT * FROM lineas_temporales WHERE usuario_id = ? AND procesado = ?"
		args := []any{req.UserID, false}
		if req.NumeroAlbaran != "" {
			q += " AND numero_albaran = ?"
			args = append(args, req.NumeroAlbaran)
		}
		var rows []stagingRow
		if err := tx.NewRaw(q+" ORDER BY id"+s.stagingLock(), args...).Scan(ctx, &rows); err != nil && !isNoRows(err) {
			return err
		}
		lines := make([]custody.LineaTemporal, len(rows))
		for i := range rows {
			lines[i] = rows[i].linea()
		}
		// 2. The document they make.
		plan, err := req.Plan(lines)
		if err != nil {
			return err
		}
		a := plan.Albaran
		// 3. Companies must exist.
		fe := errs.FieldErrors{}
		for field, id := range map[string]*int64{"empresa_origen": a.EmpresaOrigenID, "empresa_destino": a.EmpresaDestinoID} {
			if id == nil {
				continue
			}
			var n int
			if err := tx.NewRaw("SELECT count(*) FROM empresas WHERE id = ?", *id).Scan(ctx, &n); err != nil {
				return err
			}
			if n == 0 {
				fe.Nest(field, map[string]any{"id": []string{"La empresa " + itoa(*id) + " no existe."}})
			}
		}
		if err := fe.Err(); err != nil {
			e := err.(*errs.Error)
			e.Message = "No se puede procesar: revise las empresas."
			return e
		}
		// 4. The codes in the catalog with a type; the others stay pending.
		productos, err := typedProducts(ctx, tx, plan.Lines)
		if err != nil {
			return err
		}
		// 5. The lines join the document an earlier procesar of their batch
		// created (while it is still an incoming document carrying their
		// number), else a new page of the incoming document with the same
		// registry number, else a new main document.
		var cont, main *custody.Albaran
		if plan.Continuation != 0 {
			var cr []albaranRow
			if err := tx.NewRaw("SELECT * FROM albaranes WHERE id = ? AND direccion_transferencia = 'ENTRADA'"+s.stagingLock(),
				plan.Continuation).Scan(ctx, &cr); err != nil && !isNoRows(err) {
				return err
			}
			if len(cr) > 0 {
				c := cr[0].albaran()
				reg := plan.Registro != "" && (c.NumeroRegistroEntrada == plan.Registro || deref(c.NumeroRegistroSalida) == plan.Registro)
				if c.Numero == a.Numero || reg {
					cont = c
				}
			}
		}
		if cont == nil && plan.Registro != "" {
			var mr []albaranRow
			if err := tx.NewRaw(`SELECT * FROM albaranes WHERE documento_principal_id IS NULL AND direccion_transferencia = 'ENTRADA'
				AND (numero_registro_entrada = ? OR numero_registro_salida = ?) ORDER BY id LIMIT 1`+s.stagingLock(),
				plan.Registro, plan.Registro).Scan(ctx, &mr); err != nil && !isNoRows(err) {
				return err
			}
			if len(mr) > 0 {
				main = mr[0].albaran()
			}
		}
		existing := map[[2]string]bool{}
		onDocument := func(docID int64) error {
			var onDoc []struct {
				Codigo string `bun:"codigo_producto"`
				Serie  string `bun:"numero_serie"`
			}
			if err := tx.NewRaw(`SELECT p.codigo_producto, m.numero_serie FROM movimientos AS m
				JOIN productos AS p ON p.id = m.producto_id
				JOIN albaranes AS a ON a.id = m.albaran_id
				WHERE a.id = ? OR a.documento_principal_id = ?`, docID, docID).Scan(ctx, &onDoc); err != nil && !isNoRows(err) {
				return err
			}
			for _, x := range onDoc {
				existing[[2]string{x.Codigo, x.Serie}] = true
			}
			return nil
		}
		docNumero := a.Numero
		switch {
		case cont != nil:
			a = *cont
			docNumero = cont.Numero
			if err := onDocument(cont.ID); err != nil {
				return err
			}
		case main != nil:
			var pageMax int
			if err := tx.NewRaw("SELECT COALESCE(MAX(pagina_numero), 1) FROM albaranes WHERE id = ? OR documento_principal_id = ?",
				main.ID, main.ID).Scan(ctx, &pageMax); err != nil {
				return err
			}
			a = custody.PageFrom(main, &plan.Albaran, pageMax+1)
			docNumero = main.Numero
			if err := onDocument(main.ID); err != nil {
				return err
			}
		}
		if cont == nil {
			var dup int
			if err := tx.NewRaw("SELECT count(*) FROM albaranes WHERE numero = ?", a.Numero).Scan(ctx, &dup); err != nil {
				return err
			}
			if dup > 0 {
				return errs.Conflict("Ya existe un documento con el número %s.", a.Numero)
			}
		}
		keep, omit := custody.SplitDuplicates(plan.Lines, existing, docNumero)
		var typed, pending []custody.LineaTemporal
		for _, l := range keep {
			if _, ok := productos[l.CodigoProducto]; ok {
				typed = append(typed, l)
			} else {
				pending = append(pending, l)
			}
		}
		sinTipo := custody.CodigosDe(pending)
		if len(typed) == 0 {
			if len(pending) > 0 {
				// Nothing to put on a document: refuse, changing nothing.
				return custody.ErrCodigosSinTipo(sinTipo)
			}
			return &errs.Error{Kind: errs.KindConflict, Message: "Todas las líneas pendientes ya figuran en el documento " + docNumero +
				"; no se ha creado nada. Elimínelas de la línea temporal.", Extra: map[string]any{"omitidos": omit}}
		}
		// 6. Write: the document (unless the lines join one), its movements,
		// the inventory.
		if cont == nil {
			if err := insertAlbaran(ctx, tx, &a); err != nil {
				return err
			}
			if main != nil {
				if err := syncPageCount(ctx, tx, main.ID); err != nil {
					return err
				}
			}
		}
		tipo := custody.Inventario
		if a.Tipo != nil && *a.Tipo != "" {
			tipo = *a.Tipo
		}
		movs := make([]NewMovement, len(typed))
		for i, l := range typed {
			movs[i] = NewMovement{ProductoID: productos[l.CodigoProducto], NumeroSerie: l.NumeroSerie, Descripcion: l.Descripcion,
				Tipo: tipo, Cantidad: l.Cantidad, CC: l.CC, Observaciones: l.Observaciones}
		}
		keys, err := insertMovements(ctx, tx, a.ID, movs)
		if err != nil {
			return err
		}
		if err := recomputeItems(ctx, tx, keys); err != nil {
			return err
		}
		res = &custody.ProcessResult{AlbaranID: a.ID, Numero: a.Numero, PaginaNumero: a.PaginaNumero, Procesados: len(typed), Omitidos: omit,
			CodigosSinTipo: sinTipo, OtrosDocumentos: plan.OtrosDocumentos, Continuacion: cont != nil}
		// 7. The staged image becomes the new document's.
		if cont == nil && plan.Image != "" && req.Attach != nil {
			name, err := req.Attach(ctx, a.ID, plan.Image)
			if err != nil {
				return err
			}
			if name != "" {
				if err := setDocumentImage(ctx, tx, a.ID, "", name); err != nil {
					return err
				}
				res.ConImagen = true
			}
		}
		// 8. Mark processed what is now on the document; the untyped lines
		// stay pending, pointing at it.
		pendingIDs := map[int64]bool{}
		for _, l := range pending {
			pendingIDs[l.ID] = true
			res.Pendientes = append(res.Pendientes, custody.Omitido{LineaID: l.ID, CodigoProducto: l.CodigoProducto,
				NumeroSerie: l.NumeroSerie, Motivo: custody.MotivoSinTipo})
		}
		done := make([]int64, 0, len(plan.Lines))
		entries := make([]audit.Entry, 0, len(plan.Lines))
		for _, l := range plan.Lines {
			if pendingIDs[l.ID] {
				continue
			}
			done = append(done, l.ID)
			entries = append(entries, audit.Entry{Action: audit.ActionUpdate, TableName: "lineas_temporales", RecordID: itoa(l.ID),
				OldValues: map[string]any{"procesado": false}, NewValues: map[string]any{"procesado": true, "albaran_id": a.ID}})
		}
		now := time.Now().UTC()
		for off := 0; off < len(done); off += 500 {
			chunk := done[off:min(off+500, len(done))]
			if _, err := tx.NewRaw("UPDATE lineas_temporales SET procesado = ?, updated_at = ? WHERE id IN "+inList(len(chunk)),
				append([]any{true, now}, int64Args(chunk)...)...).Exec(ctx); err != nil {
				return err
			}
		}
		if len(pending) > 0 {
			pe, err := markContinuation(ctx, tx, pending, a.ID, now)
			if err != nil {
				return err
			}
			entries = append(entries, pe...)
		}
		return writeAuditBatch(ctx, tx, entries)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// markContinuation records on lines left pending the document their batch
// went to (custody.ContinuationKey), one UPDATE per distinct header (a
// batch usually shares one) and 500 lines, and returns their audit rows.
func markContinuation(ctx context.Context, tx bun.Tx, lines []custody.LineaTemporal, albaranID int64, now time.Time) ([]audit.Entry, error) {
	byHeader := map[string][]int64{}
	var order []string
	entries := make([]audit.Entry, 0, len(lines))
	for _, l := range lines {
		h := make(map[string]any, len(l.DatosAdicionales)+1)
		for k, v := range l.DatosAdicionales {
			h[k] = v
		}
		old := h[custody.ContinuationKey]
		h[custody.ContinuationKey] = albaranID
		b, err := json.Marshal(h)
		if err != nil {
			return nil, err
		}
		k := string(b)
		if _, ok := byHeader[k]; !ok {
			order = append(order, k)
		}
		byHeader[k] = append(byHeader[k], l.ID)
		entries = append(entries, audit.Entry{Action: audit.ActionUpdate, TableName: "lineas_temporales", RecordID: itoa(l.ID),
			OldValues: map[string]any{custody.ContinuationKey: old}, NewValues: map[string]any{custody.ContinuationKey: albaranID}})
	}
	for _, k := range order {
		ids := byHeader[k]
		for off := 0; off < len(ids); off += 500 {
			chunk := ids[off:min(off+500, len(ids))]
			if _, err := tx.NewRaw("UPDATE lineas_temporales SET datos_adicionales = ?, updated_at = ? WHERE id IN "+inList(len(chunk)),
				append([]any{k, now}, int64Args(chunk)...)...).Exec(ctx); err != nil {
				return nil, err
			}
		}
	}
	return entries, nil
}

// typedProducts maps the codes of lines that are in the catalog with a
// type to their catalog ids; the others are absent from the map.
func typedProducts(ctx context.Context, tx bun.Tx, lines []custody.LineaTemporal) (map[string]int64, error) {
	codes := map[string]bool{}
	for _, l := range lines {
		codes[l.CodigoProducto] = true
	}
	list := make([]string, 0, len(codes))
	for c := range codes {
		list = append(list, c)
	}
	sort.Strings(list)
	ids := map[string]int64{}
	for off := 0; off < len(list); off += 500 {
		chunk := list[off:min(off+500, len(list))]
		args := make([]any, len(chunk))
		for i, c := range chunk {
			args[i] = c
		}
		var found []struct {
			ID     int64  `bun:"id"`
			Codigo string `bun:"codigo_producto"`
			TipoID *int64 `bun:"tipo_id"`
		}
		if err := tx.NewRaw("SELECT id, codigo_producto, tipo_id FROM productos WHERE codigo_producto IN "+inList(len(chunk)), args...).Scan(ctx, &found); err != nil && !isNoRows(err) {
			return nil, err
		}
		for _, f := range found {
			if f.TipoID != nil {
				ids[f.Codigo] = f.ID
			}
		}
	}
	return ids, nil
}

// syncPageCount makes total_paginas the number of pages on every page of
// a multi-page document, auditing each change.
func syncPageCount(ctx context.Context, tx bun.Tx, mainID int64) error {
	var pages []struct {
		ID    int64 `bun:"id"`
		Total int   `bun:"total_paginas"`
	}
	if err := tx.NewRaw("SELECT id, total_paginas FROM albaranes WHERE id = ? OR documento_principal_id = ? ORDER BY id", mainID, mainID).Scan(ctx, &pages); err != nil {
		return err
	}
	n := len(pages)
	for _, p := range pages {
		if p.Total == n {
			continue
		}
		if _, err := tx.NewRaw("UPDATE albaranes SET total_paginas = ? WHERE id = ?", n, p.ID).Exec(ctx); err != nil {
			return err
		}
		if err := writeAudit(ctx, tx, audit.Entry{Action: audit.ActionUpdate, TableName: "albaranes", RecordID: itoa(p.ID),
			OldValues: map[string]any{"total_paginas": p.Total}, NewValues: map[string]any{"total_paginas": n}}); err != nil {
			return err
		}
	}
	return nil
}
