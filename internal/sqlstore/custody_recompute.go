package sqlstore

import (
	"context"
	"sort"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/custody"
)

// recomputeItems brings the inventory rows of keys (and the recorded
// estado_anterior / estado_nuevo of their movements) in line with a replay
// of the movements that remain, inside the caller's transaction. Every
// custody write that creates, edits or deletes a movement or a document
// calls it with every key it touched, before committing; it is the only
// code that writes inventory state.
//
// It runs a constant number of statements per batch of 200 keys, plus one
// per row that actually changes.
func recomputeItems(ctx context.Context, tx bun.Tx, keys []custody.ItemKey) error {
	keys = uniqueKeys(keys)
	// Concurrent writers of the same item must replay one after the other
	// (PostgreSQL; SQLite transactions already hold the only write lock).
	if err := albLockItems(ctx, tx, keys); err != nil {
		return err
	}
	for len(keys) > 0 {
		n := min(len(keys), 200)
		if err := recomputeBatch(ctx, tx, keys[:n]); err != nil {
			return err
		}
		keys = keys[n:]
	}
	return nil
}

func uniqueKeys(keys []custody.ItemKey) []custody.ItemKey {
	seen := map[custody.ItemKey]bool{}
	out := keys[:0:0]
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].ProductoID != out[j].ProductoID {
			return out[i].ProductoID < out[j].ProductoID
		}
		return out[i].NumeroSerie < out[j].NumeroSerie
	})
	return out
}

type invState struct {
	ID            int64
	ProductoID    int64   `bun:"producto_id"`
	NumeroSerie   string  `bun:"numero_serie"`
	Estado        string  `bun:"estado"`
	EstadoInicial *string `bun:"estado_inicial"`
	UltimoID      *int64  `bun:"ultimo_movimiento_id"`
}

type movState struct {
	ID             int64
	ProductoID     int64     `bun:"producto_id"`
	NumeroSerie    string    `bun:"numero_serie"`
	Fecha          time.Time `bun:"fecha"`
	EstadoAnterior string    `bun:"estado_anterior"`
	EstadoNuevo    string    `bun:"estado_nuevo"`
	Tipo           *string   `bun:"tipo_documento"`
	Direccion      *string   `bun:"direccion_transferencia"`
	Descripcion    *string   `bun:"descripcion"`
}

func recomputeBatch(ctx context.Context, tx bun.Tx, keys []custody.ItemKey) error {
	// A keys CTE joined to the tables gets index lookups on both engines
	// (SQLite scans for "(a, b) IN (VALUES …)").
	cte, args := albKeysCTE(keys)
	var inv []invState
	if err := tx.NewRaw(cte+` SELECT i.id, i.producto_id, i.numero_serie, i.estado, i.estado_inicial, i.ultimo_movimiento_id
		FROM k JOIN inventario AS i ON i.producto_id = k.p AND i.numero_serie = k.s`, args...).Scan(ctx, &inv); err != nil && !isNoRows(err) {
		return err
	}
	var movs []movState
	if err := tx.NewRaw(cte+` SELECT m.id, m.producto_id, m.numero_serie, m.fecha, m.estado_anterior, m.estado_nuevo, m.descripcion,
			a.tipo_documento, a.direccion_transferencia
		FROM k JOIN movimientos AS m ON m.producto_id = k.p AND m.numero_serie = k.s
		JOIN albaranes AS a ON a.id = m.albaran_id
		ORDER BY m.producto_id, m.numero_serie, m.fecha, m.id`, args...).Scan(ctx, &movs); err != nil && !isNoRows(err) {
		return err
	}
	rows := map[custody.ItemKey]*invState{}
	for i := range inv {
		rows[custody.ItemKey{ProductoID: inv[i].ProductoID, NumeroSerie: inv[i].NumeroSerie}] = &inv[i]
	}
	byKey := map[custody.ItemKey][]movState{}
	for _, m := range movs {
		k := custody.ItemKey{ProductoID: m.ProductoID, NumeroSerie: m.NumeroSerie}
		byKey[k] = append(byKey[k], m)
	}
	now := time.Now().UTC()
	var delta resumenDelta
	for _, k := range keys {
		row := rows[k]
		ms := byKey[k]
		steps := make([]custody.Step, len(ms))
		for i, m := range ms {
			tipo, dir := custody.Tipo(deref(m.Tipo)), custody.Direccion(deref(m.Direccion))
			steps[i] = custody.Step{ID: m.ID, Nuevo: custody.EstadoNuevo(tipo, dir)}
		}
		var baseline *custody.Estado
		switch {
		case row != nil && row.EstadoInicial != nil:
			e := custody.Estado(*row.EstadoInicial)
			baseline = &e
		case row == nil && len(steps) > 0:
			baseline = custody.Baseline(steps[0].Nuevo)
		}
		out := custody.Replay(baseline, steps)
		for i, m := range ms {
			if string(out.Anterior[i]) != m.EstadoAnterior || string(steps[i].Nuevo) != m.EstadoNuevo {
				if _, err := tx.NewRaw("UPDATE movimientos SET estado_anterior = ?, estado_nuevo = ? WHERE id = ?",
					string(out.Anterior[i]), string(steps[i].Nuevo), m.ID).Exec(ctx); err != nil {
					return err
				}
			}
		}
		var last *int64
		if out.Last != 0 {
			l := out.Last
			last = &l
		}
		switch {
		case !out.Exists && row != nil:
			if _, err := tx.NewRaw("DELETE FROM inventario WHERE id = ?", row.ID).Exec(ctx); err != nil {
				return err
			}
			delta.remove(row.Estado)
		case out.Exists && row == nil:
			var desc *string
			if len(ms) > 0 {
				desc = ms[0].Descripcion
			}
			var base *string
			if baseline != nil {
				b := string(*baseline)
				base = &b
			}
			if _, err := tx.NewRaw(`INSERT INTO inventario (producto_id, numero_serie, descripcion, estado, estado_inicial, ultimo_movimiento_id, ultima_actualizacion, search)
				SELECT ?, ?, COALESCE(?, p.descripcion), ?, ?, ?, ?, ? FROM productos AS p WHERE p.id = ?`,
				k.ProductoID, k.NumeroSerie, desc, string(out.Estado), base, last, now, custody.Fold(k.NumeroSerie), k.ProductoID).Exec(ctx); err != nil {
				return err
			}
			delta.add(string(out.Estado))
		case out.Exists && (row.Estado != string(out.Estado) || !sameID(row.UltimoID, last)):
			if _, err := tx.NewRaw("UPDATE inventario SET estado = ?, ultimo_movimiento_id = ?, ultima_actualizacion = ? WHERE id = ?",
				string(out.Estado), last, now, row.ID).Exec(ctx); err != nil {
				return err
			}
			delta.remove(row.Estado)
			delta.add(string(out.Estado))
		}
	}
	return delta.apply(ctx, tx)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func sameID(a, b *int64) bool {
	if a == nil || b == nil {
		return a == nil && b == nil
	}
	return *a == *b
}

// resumenDelta accumulates changes to the running totals of
// inventario_resumen, applied once per batch.
type resumenDelta struct{ total, activos, inactivos int }

func (d *resumenDelta) add(estado string) {
	d.total++
	if estado == string(custody.Activo) {
		d.activos++
	} else {
		d.inactivos++
	}
}

func (d *resumenDelta) remove(estado string) {
	d.total--
	if estado == string(custody.Activo) {
		d.activos--
	} else {
		d.inactivos--
	}
}

func (d resumenDelta) apply(ctx context.Context, db bun.IDB) error {
	if d == (resumenDelta{}) {
		return nil
	}
	_, err := db.NewRaw("UPDATE inventario_resumen SET total = total + ?, en_custodia = en_custodia + ?, fuera_custodia = fuera_custodia + ? WHERE id = 1",
		d.total, d.activos, d.inactivos).Exec(ctx)
	return err
}

// adjustResumen lets direct inventory writes (manual registration or
// removal of an item without movements) keep the totals right.
func adjustResumen(ctx context.Context, db bun.IDB, added, removed string) error {
	var d resumenDelta
	if added != "" {
		d.add(added)
	}
	if removed != "" {
		d.remove(removed)
	}
	return d.apply(ctx, db)
}
