package httpapi_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"sort"
	"testing"
	"time"

	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
)

// albCheckInvariant checks the inventory against a from-scratch replay:
// for every inventory row and every item with movements, custody.Replay of
// the remaining movements (ordered by fecha then id, here in Go) from the
// row's estado_inicial must give the row's state and last movement, and
// each movement's recorded states; a row without movements must carry its
// baseline; no item with movements may lack a row; and the running totals
// in inventario_resumen must equal COUNT(*) by estado.
func albCheckInvariant(t testing.TB, db *database.DB) {
	t.Helper()
	ctx := context.Background()
	var movs []struct {
		ID             int64     `bun:"id"`
		ProductoID     int64     `bun:"producto_id"`
		NumeroSerie    string    `bun:"numero_serie"`
		Fecha          time.Time `bun:"fecha"`
		EstadoAnterior string    `bun:"estado_anterior"`
		EstadoNuevo    string    `bun:"estado_nuevo"`
		Tipo           *string   `bun:"tipo_documento"`
		Direccion      *string   `bun:"direccion_transferencia"`
	}
	if err := db.NewRaw(`SELECT m.id, m.producto_id, m.numero_serie, m.fecha, m.estado_anterior, m.estado_nuevo, a.tipo_documento, a.direccion_transferencia
		FROM movimientos AS m JOIN albaranes AS a ON a.id = m.albaran_id`).Scan(ctx, &movs); err != nil && len(movs) != 0 {
		t.Fatal(err)
	}
	sort.SliceStable(movs, func(i, j int) bool {
		a, b := movs[i], movs[j]
		if a.ProductoID != b.ProductoID {
			return a.ProductoID < b.ProductoID
		}
		if a.NumeroSerie != b.NumeroSerie {
			return a.NumeroSerie < b.NumeroSerie
		}
		if !a.Fecha.Equal(b.Fecha) {
			return a.Fecha.Before(b.Fecha)
		}
		return a.ID < b.ID
	})
	var rows []struct {
		ID            int64   `bun:"id"`
		ProductoID    int64   `bun:"producto_id"`
		NumeroSerie   string  `bun:"numero_serie"`
		Estado        string  `bun:"estado"`
		EstadoInicial *string `bun:"estado_inicial"`
		UltimoID      *int64  `bun:"ultimo_movimiento_id"`
	}
	if err := db.NewRaw("SELECT id, producto_id, numero_serie, estado, estado_inicial, ultimo_movimiento_id FROM inventario").Scan(ctx, &rows); err != nil && len(rows) != 0 {
		t.Fatal(err)
	}
	byKey := map[custody.ItemKey][]int{}
	for i, m := range movs {
		k := custody.ItemKey{ProductoID: m.ProductoID, NumeroSerie: m.NumeroSerie}
		byKey[k] = append(byKey[k], i)
	}
	seen := map[custody.ItemKey]bool{}
	activos, inactivos := 0, 0
	for _, r := range rows {
		k := custody.ItemKey{ProductoID: r.ProductoID, NumeroSerie: r.NumeroSerie}
		seen[k] = true
		if r.Estado == "activo" {
			activos++
		} else {
			inactivos++
		}
		idx := byKey[k]
		var base *custody.Estado
		if r.EstadoInicial != nil {
			e := custody.Estado(*r.EstadoInicial)
			base = &e
		}
		if len(idx) == 0 && base == nil {
			t.Fatalf("item %v: inventory row without movements and without a baseline", k)
		}
		steps := make([]custody.Step, len(idx))
		for i, j := range idx {
			m := movs[j]
			steps[i] = custody.Step{ID: m.ID, Nuevo: custody.EstadoNuevo(custody.Tipo(deref(m.Tipo)), custody.Direccion(deref(m.Direccion))), Fecha: m.Fecha}
		}
		out := custody.Replay(base, steps)
		var last int64
		if r.UltimoID != nil {
			last = *r.UltimoID
		}
		if !out.Exists || string(out.Estado) != r.Estado || out.Last != last {
			t.Fatalf("item %v: row {estado %s, last %d, baseline %v}, replay {exists %v, estado %s, last %d}",
				k, r.Estado, last, deref(r.EstadoInicial), out.Exists, out.Estado, out.Last)
		}
		for i, j := range idx {
			m := movs[j]
			if m.EstadoAnterior != string(out.Anterior[i]) || m.EstadoNuevo != string(steps[i].Nuevo) {
				t.Fatalf("item %v movement %d: recorded %s→%s, replay %s→%s", k, m.ID, m.EstadoAnterior, m.EstadoNuevo, out.Anterior[i], steps[i].Nuevo)
			}
		}
	}
	for k := range byKey {
		if !seen[k] {
			t.Fatalf("item %v has movements but no inventory row", k)
		}
	}
	var res struct {
		Total         int `bun:"total"`
		EnCustodia    int `bun:"en_custodia"`
		FueraCustodia int `bun:"fuera_custodia"`
	}
	if err := db.NewRaw("SELECT total, en_custodia, fuera_custodia FROM inventario_resumen WHERE id = 1").Scan(ctx, &res); err != nil {
		t.Fatal(err)
	}
	if res.Total != len(rows) || res.EnCustodia != activos || res.FueraCustodia != inactivos {
		t.Fatalf("inventario_resumen %+v, counted total %d, activos %d, inactivos %d", res, len(rows), activos, inactivos)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// albFingerprint counts the rows a refused request must not have touched.
func albFingerprint(w *albWorld) [6]int {
	return [6]int{
		w.count("SELECT count(*) FROM albaranes"), w.count("SELECT count(*) FROM movimientos"),
		w.count("SELECT count(*) FROM productos"), w.count("SELECT count(*) FROM inventario"),
		w.count("SELECT count(*) FROM audit_logs"), w.count("SELECT COALESCE(sum(ultimo), 0) FROM registro_contadores"),
	}
}

// albRandom drives random document and movement operations.
type albRandom struct {
	w   *albWorld
	rnd *rand.Rand
	seq int
}

var albCombos = [][2]string{
	{"INVENTARIO", "ENTRADA"}, {"INVENTARIO", "SALIDA"}, {"TRANSFERENCIA", "SALIDA"}, {"RECIBO_MANO", "SALIDA"},
	{"DESTRUCCION", "SALIDA"}, {"OTRO", "SALIDA"}, {"TRANSFERENCIA", "ENTRADA"}, {"RECIBO_MANO", "ENTRADA"},
}

func (r *albRandom) codigo() string { return fmt.Sprintf("P%d", r.rnd.IntN(3)) }
func (r *albRandom) serie() string  { return fmt.Sprintf("s%d", r.rnd.IntN(4)) }

func (r *albRandom) ids(query string) []int64 {
	var ids []int64
	if err := r.w.db.NewRaw(query).Scan(context.Background(), &ids); err != nil && len(ids) != 0 {
		r.w.t.Fatal(err)
	}
	return ids
}

func (r *albRandom) pick(ids []int64) (int64, bool) {
	if len(ids) == 0 {
		return 0, false
	}
	return ids[r.rnd.IntN(len(ids))], true
}

func (r *albRandom) lines(n int) []map[string]any {
	out := make([]map[string]any, n)
	for i := range out {
		out[i] = albLine(r.codigo(), r.serie())
	}
	return out
}

// step runs one random operation and returns its description and
// response (nil when there was nothing to operate on).
func (r *albRandom) step() (string, *response) {
	w := r.w
	r.seq++
	call := func(desc, method, path string, body any) (string, *response) {
		resp := w.call(method, path, w.tok, body)
		return fmt.Sprintf("%s %s %s %v", desc, method, path, body), &resp
	}
	switch op := r.rnd.IntN(100); {
	case op < 28: // create a document
		c := albCombos[0] // INVENTARIO ENTRADA, or one of the outgoing kinds
		if r.rnd.IntN(5) >= 2 {
			c = albCombos[1+r.rnd.IntN(5)]
		}
		numero := fmt.Sprintf("D%d", r.seq)
		if r.rnd.IntN(15) == 0 {
			numero = "D1" // sometimes a duplicate
		}
		return call("create", "POST", "/api/albaranes/", albDoc(c[0], c[1], numero, r.lines(1+r.rnd.IntN(3))...))
	case op < 33: // extra page
		main, ok := r.pick(r.ids("SELECT id FROM albaranes WHERE documento_principal_id IS NULL"))
		if !ok {
			return "", nil
		}
		return call("page", "POST", "/api/albaranes/", map[string]any{"es_pagina_adicional": true, "documento_principal_id": main, "articulos": r.lines(1 + r.rnd.IntN(2))})
	case op < 43: // re-classify
		id, ok := r.pick(r.ids("SELECT id FROM albaranes"))
		if !ok {
			return "", nil
		}
		c := albCombos[r.rnd.IntN(len(albCombos))]
		return call("reclassify", "PATCH", fmt.Sprintf("/api/albaranes/%d/", id), map[string]any{"tipo_documento": c[0], "direccion_transferencia": c[1]})
	case op < 58: // edit through the movimientos list
		id, ok := r.pick(r.ids("SELECT id FROM albaranes"))
		if !ok {
			return "", nil
		}
		var cur []struct {
			ID int64 `bun:"id"`
		}
		_ = w.db.NewRaw("SELECT id FROM movimientos WHERE albaran_id = ? ORDER BY id", id).Scan(context.Background(), &cur)
		list := []map[string]any{}
		for _, m := range cur {
			switch r.rnd.IntN(4) {
			case 0: // dropped: deleted
			case 1:
				list = append(list, map[string]any{"id": m.ID, "numero_serie": r.serie()})
			case 2:
				list = append(list, map[string]any{"id": m.ID, "producto_codigo": r.codigo(), "cantidad": r.rnd.IntN(3)})
			default:
				list = append(list, map[string]any{"id": m.ID})
			}
		}
		if r.rnd.IntN(2) == 0 {
			list = append(list, map[string]any{"producto_codigo": r.codigo(), "numero_serie": r.serie()})
		}
		return call("edit-list", "PATCH", fmt.Sprintf("/api/albaranes/%d/", id), map[string]any{"movimientos": list})
	case op < 72: // delete a document
		id, ok := r.pick(r.ids("SELECT id FROM albaranes"))
		if !ok {
			return "", nil
		}
		return call("delete", "DELETE", fmt.Sprintf("/api/albaranes/%d/", id), nil)
	case op < 82: // add a movement
		id, ok := r.pick(r.ids("SELECT id FROM albaranes"))
		if !ok {
			return "", nil
		}
		return call("mov-create", "POST", "/api/movimientos/", map[string]any{"albaran": id, "producto_codigo": r.codigo(), "numero_serie": r.serie()})
	case op < 90: // edit a movement
		id, ok := r.pick(r.ids("SELECT id FROM movimientos"))
		if !ok {
			return "", nil
		}
		body := map[string]any{"numero_serie": r.serie()}
		if r.rnd.IntN(2) == 0 {
			body["producto_codigo"] = r.codigo()
		}
		return call("mov-update", "PATCH", fmt.Sprintf("/api/movimientos/%d/", id), body)
	case op < 96: // delete a movement
		id, ok := r.pick(r.ids("SELECT id FROM movimientos"))
		if !ok {
			return "", nil
		}
		return call("mov-delete", "DELETE", fmt.Sprintf("/api/movimientos/%d/", id), nil)
	default: // agregar-productos
		id, ok := r.pick(r.ids("SELECT id FROM albaranes"))
		if !ok {
			return "", nil
		}
		return call("agregar", "POST", fmt.Sprintf("/api/albaranes/%d/agregar-productos/", id), map[string]any{"articulos": r.lines(1 + r.rnd.IntN(3))})
	}
}

// TestAlbaranPropertyReplay runs seeded random sequences of creating,
// editing and deleting documents and movements over a small pool of
// products and serials; after every step the inventory must equal a
// from-scratch replay (albCheckInvariant), and a refused step (400/409)
// must have written nothing.
func TestAlbaranPropertyReplay(t *testing.T) {
	const steps = 250
	seeds := []uint64{1, 2, 3, 4, 5, 6, 7, 8}
	if testing.Short() {
		seeds = seeds[:1]
	}
	for _, e := range dbtest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			for _, seed := range seeds {
				t.Run(fmt.Sprintf("seed%d", seed), func(t *testing.T) {
					w := newAlbWorld(t, e.Open(t))
					w.typed("P2") // a typed product must survive its documents
					r := &albRandom{w: w, rnd: rand.New(rand.NewPCG(seed, 42))}
					statuses := map[int]int{}
					for i := 0; i < steps; i++ {
						before := albFingerprint(w)
						desc, resp := r.step()
						if resp == nil {
							continue
						}
						statuses[resp.status]++
						switch resp.status {
						case http.StatusOK, http.StatusCreated, http.StatusNoContent:
						case http.StatusBadRequest, http.StatusConflict:
							if after := albFingerprint(w); after != before {
								t.Fatalf("step %d %s: refused (%d) but wrote: %v → %v\n%s", i, desc, resp.status, before, after, resp.body)
							}
						default:
							t.Fatalf("step %d %s: status %d\n%s", i, desc, resp.status, resp.body)
						}
						albCheckInvariant(t, w.db)
					}
					if !w.productExists("P2") {
						t.Fatal("the typed product was removed")
					}
					// Undo everything: only the baselines of pre-existing
					// stock may remain, back in custody.
					for _, id := range r.ids("SELECT id FROM albaranes WHERE documento_principal_id IS NULL") {
						w.del(id)
					}
					albCheckInvariant(t, w.db)
					if n := w.count("SELECT count(*) FROM inventario WHERE estado <> 'activo' OR estado_inicial IS NULL OR ultimo_movimiento_id IS NOT NULL"); n != 0 {
						t.Fatalf("%d inventory rows are not pre-existing stock back in custody", n)
					}
					if statuses[http.StatusOK]+statuses[http.StatusCreated]+statuses[http.StatusNoContent] < steps/2 {
						t.Fatalf("too few successful steps to mean anything: %v", statuses)
					}
					t.Logf("statuses: %v", statuses)
				})
			}
		})
	}
}
