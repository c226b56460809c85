package httpapi_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/httpapi"
	"github.com/thot-security/thot/internal/identity"
)

// albWorld is a server with a custody user (role crypto) and helpers to
// drive documents and look at the inventory directly in the database.
type albWorld struct {
	*stack
	t   testing.TB
	tok string
	uid int64
}

func newAlbWorld(t testing.TB, db *database.DB) *albWorld {
	t.Helper()
	s := newStack(t, db)
	u := s.user("custodio@example.org", "Custodia-Clave-42", identity.RoleCrypto)
	return &albWorld{stack: s, t: t, tok: s.token(u.ID), uid: u.ID}
}

// expect sends a request as the custody user and fails unless the status
// is want.
func (w *albWorld) expect(want int, method, path string, body any) response {
	w.t.Helper()
	r := w.call(method, path, w.tok, body)
	if r.status != want {
		w.t.Fatalf("%s %s: status %d, want %d\n%s", method, path, r.status, want, r.body)
	}
	return r
}

// create posts a document and returns it (201 required).
func (w *albWorld) create(body map[string]any) httpapi.AlbaranResource {
	w.t.Helper()
	return decode[httpapi.AlbaranResource](w.t, w.expect(http.StatusCreated, "POST", "/api/albaranes/", body))
}

func (w *albWorld) del(id int64) {
	w.t.Helper()
	w.expect(http.StatusNoContent, "DELETE", fmt.Sprintf("/api/albaranes/%d/", id), nil)
}

func (w *albWorld) movimientos(id int64) []httpapi.MovimientoResource {
	w.t.Helper()
	return decode[[]httpapi.MovimientoResource](w.t, w.expect(http.StatusOK, "GET", fmt.Sprintf("/api/albaranes/%d/movimientos/?incluir_paginas=true", id), nil))
}

func albLine(codigo, serie string) map[string]any {
	return map[string]any{"codigo": codigo, "numero_serie": serie}
}

// albDoc is a create body; dir "" leaves the direction out.
func albDoc(tipo, dir, numero string, lines ...map[string]any) map[string]any {
	b := map[string]any{"tipo_documento": tipo, "articulos": lines}
	if dir != "" {
		b["direccion_transferencia"] = dir
	}
	if numero != "" {
		b["numero"] = numero
	}
	return b
}

// albItem is an inventory row as stored.
type albItem struct {
	Exists        bool
	Estado        string
	EstadoInicial *string
	UltimoID      *int64
}

func (w *albWorld) item(codigo, serie string) albItem {
	w.t.Helper()
	var rows []struct {
		Estado        string  `bun:"estado"`
		EstadoInicial *string `bun:"estado_inicial"`
		UltimoID      *int64  `bun:"ultimo_movimiento_id"`
	}
	if err := w.db.NewRaw(`SELECT i.estado, i.estado_inicial, i.ultimo_movimiento_id FROM inventario AS i
		JOIN productos AS p ON p.id = i.producto_id WHERE p.codigo_producto = ? AND i.numero_serie = ?`, codigo, serie).Scan(context.Background(), &rows); err != nil {
		w.t.Fatal(err)
	}
	if len(rows) == 0 {
		return albItem{}
	}
	return albItem{Exists: true, Estado: rows[0].Estado, EstadoInicial: rows[0].EstadoInicial, UltimoID: rows[0].UltimoID}
}

func (w *albWorld) count(query string, args ...any) int {
	w.t.Helper()
	var n int
	if err := w.db.NewRaw(query, args...).Scan(context.Background(), &n); err != nil {
		w.t.Fatal(err)
	}
	return n
}

func (w *albWorld) productExists(codigo string) bool {
	return w.count("SELECT count(*) FROM productos WHERE codigo_producto = ?", codigo) > 0
}

// typed creates a typed catalog product (typed products survive their
// documents).
func (w *albWorld) typed(codigo string) {
	w.t.Helper()
	ctx := context.Background()
	if _, err := w.db.NewRaw("INSERT INTO tipos_producto (nombre) VALUES (?) ON CONFLICT (nombre) DO NOTHING", "Cifrador").Exec(ctx); err != nil {
		w.t.Fatal(err)
	}
	if _, err := w.db.NewRaw(`INSERT INTO productos (codigo_producto, descripcion, tipo_id, search, ultima_actualizacion)
		VALUES (?, ?, (SELECT id FROM tipos_producto WHERE nombre = 'Cifrador'), ?, ?)`, codigo, "Producto "+codigo, strings.ToLower(codigo), time.Now().UTC()).Exec(ctx); err != nil {
		w.t.Fatal(err)
	}
}

func (w *albWorld) empresa(nombre string) int64 {
	w.t.Helper()
	var id int64
	if err := w.db.NewRaw(`INSERT INTO empresas (nombre, direccion, ciudad, codigo_postal, provincia, numero_odmc, activa)
		VALUES (?, 'Calle Mayor 1', 'Madrid', '28001', 'Madrid', 'ODMC-7', ?) RETURNING id`, nombre, true).Scan(context.Background(), &id); err != nil {
		w.t.Fatal(err)
	}
	return id
}

func (w *albWorld) mustItem(codigo, serie, estado string) albItem {
	w.t.Helper()
	it := w.item(codigo, serie)
	if !it.Exists || it.Estado != estado {
		w.t.Fatalf("item %s/%s = %+v, want %s", codigo, serie, it, estado)
	}
	return it
}

func (w *albWorld) mustNoItem(codigo, serie string) {
	w.t.Helper()
	if it := w.item(codigo, serie); it.Exists {
		w.t.Fatalf("item %s/%s still exists: %+v", codigo, serie, it)
	}
}

func thisYearSalida(n int) string { return fmt.Sprintf("S%d-%04d", time.Now().UTC().Year(), n) }

// TestAlbaranRuleTable walks every row of the rule table in
// docs/custody.md ("Documents and the inventory").
func TestAlbaranRuleTable(t *testing.T) {
	rows := []struct {
		name string
		run  func(w *albWorld)
	}{
		{"01 create ENTRADA INVENTARIO: in custody", func(w *albWorld) {
			d := w.create(albDoc("INVENTARIO", "", "INV-1", albLine("C1", "S1")))
			if d.DireccionTransferencia == nil || *d.DireccionTransferencia != "ENTRADA" {
				w.t.Fatalf("INVENTARIO without direction: %v", d.DireccionTransferencia)
			}
			it := w.mustItem("C1", "S1", "activo")
			if it.EstadoInicial != nil {
				w.t.Fatalf("baseline of a new item = %v, want null", *it.EstadoInicial)
			}
			ms := w.movimientos(d.ID)
			if len(ms) != 1 || ms[0].EstadoAnterior != "inactivo" || ms[0].EstadoNuevo != "activo" || it.UltimoID == nil || *it.UltimoID != ms[0].ID {
				w.t.Fatalf("movement %+v, item %+v", ms, it)
			}
		}},
		{"02 create SALIDA TRANSFERENCIA: out of custody, S-number", func(w *albWorld) {
			w.create(albDoc("INVENTARIO", "ENTRADA", "INV-1", albLine("C1", "S1")))
			d := w.create(albDoc("TRANSFERENCIA", "SALIDA", "ignored", albLine("C1", "S1")))
			if d.Numero != thisYearSalida(1) || d.NumeroRegistroSalida == nil || *d.NumeroRegistroSalida != d.Numero {
				w.t.Fatalf("numero %q, registro %v", d.Numero, d.NumeroRegistroSalida)
			}
			w.mustItem("C1", "S1", "inactivo")
			if ms := w.movimientos(d.ID); ms[0].EstadoAnterior != "activo" || ms[0].EstadoNuevo != "inactivo" {
				w.t.Fatalf("movement %+v", ms[0])
			}
		}},
		{"03 delete the SALIDA: back in custody", func(w *albWorld) {
			e := w.create(albDoc("INVENTARIO", "ENTRADA", "INV-1", albLine("C1", "S1")))
			d := w.create(albDoc("TRANSFERENCIA", "SALIDA", "", albLine("C1", "S1")))
			w.del(d.ID)
			it := w.mustItem("C1", "S1", "activo")
			if ms := w.movimientos(e.ID); it.UltimoID == nil || *it.UltimoID != ms[0].ID {
				w.t.Fatalf("last movement %v, want the ENTRADA's %d", it.UltimoID, ms[0].ID)
			}
		}},
		{"04 SALIDA of pre-existing stock: baseline in custody", func(w *albWorld) {
			d := w.create(albDoc("TRANSFERENCIA", "SALIDA", "", albLine("OLD", "S9")))
			it := w.mustItem("OLD", "S9", "inactivo")
			if it.EstadoInicial == nil || *it.EstadoInicial != "activo" {
				w.t.Fatalf("baseline %v, want activo", it.EstadoInicial)
			}
			if ms := w.movimientos(d.ID); ms[0].EstadoAnterior != "activo" {
				w.t.Fatalf("movement %+v", ms[0])
			}
		}},
		{"05 delete the SALIDA of pre-existing stock: back in custody, row kept", func(w *albWorld) {
			d := w.create(albDoc("TRANSFERENCIA", "SALIDA", "", albLine("OLD", "S9")))
			w.del(d.ID)
			it := w.mustItem("OLD", "S9", "activo")
			if it.UltimoID != nil || it.EstadoInicial == nil {
				w.t.Fatalf("row %+v: want no last movement and the activo baseline", it)
			}
		}},
		{"06a delete the only ENTRADA: row and untyped product removed", func(w *albWorld) {
			d := w.create(albDoc("INVENTARIO", "ENTRADA", "INV-1", albLine("NEW", "S1")))
			w.del(d.ID)
			w.mustNoItem("NEW", "S1")
			if w.productExists("NEW") {
				w.t.Fatal("untyped product left without movements was kept")
			}
			if n := w.count("SELECT count(*) FROM audit_logs WHERE table_name = 'productos' AND action = 'delete'"); n != 1 {
				w.t.Fatalf("product deletion audits = %d", n)
			}
		}},
		{"06b delete the only ENTRADA: typed product kept", func(w *albWorld) {
			w.typed("TYP")
			d := w.create(albDoc("INVENTARIO", "ENTRADA", "INV-1", albLine("TYP", "S1")))
			w.del(d.ID)
			w.mustNoItem("TYP", "S1")
			if !w.productExists("TYP") {
				w.t.Fatal("typed product removed")
			}
		}},
		{"07 delete an ENTRADA a later SALIDA follows: out of custody", func(w *albWorld) {
			e := w.create(albDoc("INVENTARIO", "ENTRADA", "INV-1", albLine("C1", "S1")))
			d := w.create(albDoc("TRANSFERENCIA", "SALIDA", "", albLine("C1", "S1")))
			w.del(e.ID)
			it := w.mustItem("C1", "S1", "inactivo")
			if ms := w.movimientos(d.ID); ms[0].EstadoAnterior != "inactivo" || it.UltimoID == nil || *it.UltimoID != ms[0].ID {
				w.t.Fatalf("movement %+v, item %+v", ms[0], it)
			}
		}},
		{"02b create SALIDA INVENTARIO: out of custody", func(w *albWorld) {
			w.create(albDoc("INVENTARIO", "ENTRADA", "INV-1", albLine("C1", "S1")))
			w.create(albDoc("INVENTARIO", "SALIDA", "INV-2", albLine("C1", "S1")))
			w.mustItem("C1", "S1", "inactivo")
		}},
		{"09a delete a RECIBO_MANO SALIDA: recomputed", func(w *albWorld) { albOutAndBack(w, "RECIBO_MANO") }},
		{"09b delete a DESTRUCCION: recomputed", func(w *albWorld) { albOutAndBack(w, "DESTRUCCION") }},
		{"09c delete an OTRO SALIDA: recomputed", func(w *albWorld) { albOutAndBack(w, "OTRO") }},
		{"08b delete an ENTRADA TRANSFERENCIA after a SALIDA: out of custody again", func(w *albWorld) {
			w.create(albDoc("INVENTARIO", "ENTRADA", "INV-1", albLine("C1", "S1")))
			w.create(albDoc("TRANSFERENCIA", "SALIDA", "", albLine("C1", "S1")))
			back := w.create(albDoc("INVENTARIO", "ENTRADA", "AC21-IN", albLine("C1", "S1")))
			w.expect(http.StatusOK, "PATCH", fmt.Sprintf("/api/albaranes/%d/", back.ID), map[string]any{"tipo_documento": "TRANSFERENCIA", "direccion_transferencia": "ENTRADA"})
			w.mustItem("C1", "S1", "activo")
			w.del(back.ID)
			w.mustItem("C1", "S1", "inactivo")
		}},
		{"08a delete the only ENTRADA TRANSFERENCIA: row removed", func(w *albWorld) {
			d := w.create(albDoc("INVENTARIO", "ENTRADA", "AC21-IN", albLine("C1", "S1")))
			w.expect(http.StatusOK, "PATCH", fmt.Sprintf("/api/albaranes/%d/", d.ID), map[string]any{"tipo_documento": "TRANSFERENCIA", "direccion_transferencia": "ENTRADA"})
			w.mustItem("C1", "S1", "activo")
			w.del(d.ID)
			w.mustNoItem("C1", "S1")
		}},
		{"09d delete a document without type: recomputed", func(w *albWorld) {
			w.create(albDoc("INVENTARIO", "ENTRADA", "INV-1", albLine("C1", "S1")))
			d := w.create(albDoc("OTRO", "SALIDA", "OT-1", albLine("C1", "S1")))
			if _, err := w.db.NewRaw("UPDATE albaranes SET tipo_documento = NULL WHERE id = ?", d.ID).Exec(context.Background()); err != nil {
				w.t.Fatal(err)
			}
			w.mustItem("C1", "S1", "inactivo")
			w.del(d.ID)
			w.mustItem("C1", "S1", "activo")
		}},
		{"10 a delete recomputes every item once, pages included", func(w *albWorld) {
			w.create(albDoc("INVENTARIO", "ENTRADA", "INV-1", albLine("C1", "S1"), albLine("C1", "S2"), albLine("C1", "S3")))
			main := w.create(albDoc("RECIBO_MANO", "SALIDA", "RM-1", albLine("C1", "S1")))
			w.create(map[string]any{"es_pagina_adicional": true, "documento_principal_id": main.ID, "articulos": []map[string]any{albLine("C1", "S2")}})
			w.create(map[string]any{"es_pagina_adicional": true, "documento_principal_id": main.ID, "articulos": []map[string]any{albLine("C1", "S3")}})
			for _, s := range []string{"S1", "S2", "S3"} {
				w.mustItem("C1", s, "inactivo")
			}
			c := &albStatements{}
			w.db.AddQueryHook(c)
			w.del(main.ID)
			if n := c.matching("FROM k JOIN inventario AS i"); n != 1 {
				w.t.Fatalf("the items were read for recomputing %d times, want once", n)
			}
			for _, s := range []string{"S1", "S2", "S3"} {
				w.mustItem("C1", s, "activo")
			}
		}},
		{"14 create ENTRADA of a non-INVENTARIO type: staged, no document", func(w *albWorld) {
			for _, tipo := range []string{"TRANSFERENCIA", "RECIBO_MANO", "DESTRUCCION", "OTRO", "Recibo en mano"} {
				r := w.expect(http.StatusCreated, "POST", "/api/albaranes/", albDoc(tipo, "ENTRADA", "IN-"+tipo, albLine("C1", "S1")))
				got := decode[map[string]any](w.t, r)
				if got["success"] != true || got["staged"] != true || got["numero_albaran"] != "IN-"+tipo || got["count"] != float64(1) {
					w.t.Fatalf("%s: %s", tipo, r.body)
				}
			}
			if n := w.count("SELECT count(*) FROM albaranes") + w.count("SELECT count(*) FROM productos") + w.count("SELECT count(*) FROM movimientos"); n != 0 {
				w.t.Fatalf("%d rows written", n)
			}
			if n := w.count("SELECT count(*) FROM lineas_temporales WHERE procesado = ?", false); n != 5 {
				w.t.Fatalf("%d lines staged, want 5", n)
			}
		}},
		{"15 create a non-INVENTARIO document without direction: refused", func(w *albWorld) {
			r := w.expect(http.StatusBadRequest, "POST", "/api/albaranes/", albDoc("OTRO", "", "X-1", albLine("C1", "S1")))
			if !strings.Contains(r.body, `"direccion_transferencia"`) {
				w.t.Fatal(r.body)
			}
			r = w.expect(http.StatusBadRequest, "POST", "/api/albaranes/", albDoc("PRESTAMO", "SALIDA", "X-1", albLine("C1", "S1")))
			if !strings.Contains(r.body, `"tipo_documento"`) {
				w.t.Fatal(r.body)
			}
		}},
		{"16 an item already out of custody cannot leave again", func(w *albWorld) {
			w.create(albDoc("TRANSFERENCIA", "SALIDA", "", albLine("C1", "S1")))
			r := w.expect(http.StatusBadRequest, "POST", "/api/albaranes/", albDoc("RECIBO_MANO", "SALIDA", "RM-1", albLine("C2", "S2"), albLine("C1", "S1")))
			body := decode[map[string]map[string]map[string][]string](w.t, r)
			if len(body["articulos"]["1"]["numero_serie"]) != 1 || len(body["articulos"]) != 1 {
				w.t.Fatalf("%s", r.body)
			}
			w.mustNoItem("C2", "S2")
		}},
		{"11 change type and direction: every item recomputed", func(w *albWorld) {
			d := w.create(albDoc("INVENTARIO", "ENTRADA", "INV-1", albLine("C1", "S1"), albLine("C1", "S2")))
			up := decode[httpapi.AlbaranResource](w.t, w.expect(http.StatusOK, "PATCH", fmt.Sprintf("/api/albaranes/%d/", d.ID),
				map[string]any{"tipo_documento": "TRANSFERENCIA", "direccion_transferencia": "SALIDA", "numero": "INV-1"}))
			if up.Numero != thisYearSalida(1) {
				w.t.Fatalf("an edit into an outgoing transfer numbered %q", up.Numero)
			}
			w.mustItem("C1", "S1", "inactivo")
			w.mustItem("C1", "S2", "inactivo")
			for _, m := range w.movimientos(d.ID) {
				if m.TipoMovimiento != "TRANSFERENCIA" || m.EstadoNuevo != "inactivo" {
					w.t.Fatalf("movement %+v", m)
				}
			}
			w.expect(http.StatusOK, "PATCH", fmt.Sprintf("/api/albaranes/%d/", d.ID), map[string]any{"tipo_documento": "INVENTARIO", "direccion_transferencia": "ENTRADA"})
			w.mustItem("C1", "S1", "activo")
			w.mustItem("C1", "S2", "activo")
		}},
		{"12 edit through movimientos: old and new items recomputed", func(w *albWorld) {
			d := w.create(albDoc("INVENTARIO", "ENTRADA", "INV-1", albLine("C1", "A1"), albLine("C1", "A2"), albLine("C1", "A3")))
			ms := w.movimientos(d.ID)
			w.expect(http.StatusOK, "PUT", fmt.Sprintf("/api/albaranes/%d/", d.ID), map[string]any{"movimientos": []map[string]any{
				{"id": ms[0].ID, "numero_serie": "B1"},                   // moved: A1 → B1
				{"id": ms[1].ID, "producto_codigo": "C9", "cantidad": 3}, // moved to another product
				{"producto_codigo": "C1", "numero_serie": "B4"},          // added
				// A3 left out: deleted
			}})
			w.mustNoItem("C1", "A1")
			w.mustNoItem("C1", "A2")
			w.mustNoItem("C1", "A3")
			w.mustItem("C1", "B1", "activo")
			w.mustItem("C9", "A2", "activo")
			w.mustItem("C1", "B4", "activo")
			after := w.movimientos(d.ID)
			if len(after) != 3 || after[0].ID != ms[0].ID || after[1].Cantidad != 3 {
				w.t.Fatalf("movements after edit: %+v", after)
			}
		}},
		{"17 swap two serials on a document", func(w *albWorld) {
			d := w.create(albDoc("INVENTARIO", "ENTRADA", "INV-1", albLine("C1", "A1"), albLine("C1", "A2")))
			ms := w.movimientos(d.ID)
			w.expect(http.StatusOK, "PATCH", fmt.Sprintf("/api/albaranes/%d/", d.ID), map[string]any{"movimientos": []map[string]any{
				{"id": ms[0].ID, "numero_serie": "A2"}, {"id": ms[1].ID, "numero_serie": "A1"}}})
			after := w.movimientos(d.ID)
			if after[0].NumeroSerie != "A2" || after[1].NumeroSerie != "A1" {
				w.t.Fatalf("%+v", after)
			}
			w.mustItem("C1", "A1", "activo")
		}},
		{"13 movement create, edit, delete: recomputed", func(w *albWorld) {
			w.create(albDoc("INVENTARIO", "ENTRADA", "INV-1", albLine("C1", "S1"), albLine("C1", "S2")))
			out := w.create(albDoc("RECIBO_MANO", "SALIDA", "RM-1", albLine("C1", "S1")))
			m := decode[httpapi.MovimientoResource](w.t, w.expect(http.StatusCreated, "POST", "/api/movimientos/",
				map[string]any{"albaran": out.ID, "producto_codigo": "C1", "numero_serie": "S2", "cantidad": 1}))
			if m.EstadoNuevo != "inactivo" || m.TipoMovimiento != "RECIBO_MANO" {
				w.t.Fatalf("%+v", m)
			}
			w.mustItem("C1", "S2", "inactivo")
			w.expect(http.StatusOK, "PATCH", fmt.Sprintf("/api/movimientos/%d/", m.ID), map[string]any{"numero_serie": "S3"})
			w.mustItem("C1", "S2", "activo")
			w.mustItem("C1", "S3", "inactivo")
			w.expect(http.StatusNoContent, "DELETE", fmt.Sprintf("/api/movimientos/%d/", m.ID), nil)
			w.mustItem("C1", "S3", "activo") // pre-existing stock: back in custody
		}},
		{"18 extra pages: <main>-P<n>, total_paginas on every page", func(w *albWorld) {
			main := w.create(albDoc("INVENTARIO", "ENTRADA", "AC-7", albLine("C1", "S1")))
			p2 := w.create(map[string]any{"es_pagina_adicional": true, "documento_principal_id": main.ID, "articulos": []map[string]any{albLine("C1", "S2")}})
			p3 := w.create(map[string]any{"es_pagina_adicional": true, "documento_principal_id": main.ID, "articulos": []map[string]any{albLine("C1", "S3")}})
			if p2.Numero != "AC-7-P2" || p3.Numero != "AC-7-P3" || p3.PaginaNumero != 3 || p3.DocumentoPrincipalInfo == nil || p3.DocumentoPrincipalInfo.Numero != "AC-7" {
				w.t.Fatalf("pages %+v %+v", p2, p3)
			}
			pages := decode[[]httpapi.AlbaranResource](w.t, w.expect(http.StatusOK, "GET", fmt.Sprintf("/api/albaranes/%d/paginas/", p2.ID), nil))
			if len(pages) != 3 {
				w.t.Fatalf("%d pages", len(pages))
			}
			for i, p := range pages {
				if p.PaginaNumero != i+1 || p.TotalPaginas != 3 || p.NumeroPaginasTotal != 3 {
					w.t.Fatalf("page %d: %+v", i, p)
				}
			}
			if ms := w.movimientos(main.ID); len(ms) != 3 || ms[2].PaginaOrigen != 3 || ms[2].PaginaID != p3.ID {
				w.t.Fatalf("movements of the main document: %+v", ms)
			}
			// Without incluir_paginas, each page's own (the frontend reads
			// page by page).
			own := decode[[]httpapi.MovimientoResource](w.t, w.expect(http.StatusOK, "GET", fmt.Sprintf("/api/albaranes/%d/movimientos/", main.ID), nil))
			if len(own) != 1 || own[0].AlbaranID != main.ID {
				w.t.Fatalf("own movements of the main document: %+v", own)
			}
			w.del(p2.ID)
			w.mustNoItem("C1", "S2")
			if n := w.count("SELECT count(*) FROM albaranes WHERE total_paginas = 2"); n != 2 {
				w.t.Fatalf("total_paginas not kept: %d pages say 2", n)
			}
			w.expect(http.StatusOK, "PATCH", fmt.Sprintf("/api/albaranes/%d/", main.ID), map[string]any{"numero": "AC-8"})
			if n := w.count("SELECT count(*) FROM albaranes WHERE numero = 'AC-8-P3'"); n != 1 {
				w.t.Fatal("the extra page was not renumbered after its main document")
			}
			w.del(main.ID)
			if n := w.count("SELECT count(*) FROM albaranes") + w.count("SELECT count(*) FROM inventario"); n != 0 {
				w.t.Fatalf("%d rows left", n)
			}
		}},
	}
	for _, e := range dbtest.Engines(t) {
		t.Run(e.Name, func(t *testing.T) {
			for _, row := range rows {
				t.Run(row.name, func(t *testing.T) {
					w := newAlbWorld(t, e.Open(t))
					row.run(w)
					albCheckInvariant(t, w.db)
				})
			}
		})
	}
}

// albOutAndBack: an ENTRADA, a SALIDA of tipo, then deleting the SALIDA.
func albOutAndBack(w *albWorld, tipo string) {
	w.t.Helper()
	w.create(albDoc("INVENTARIO", "ENTRADA", "INV-1", albLine("C1", "S1")))
	d := w.create(albDoc(tipo, "SALIDA", tipo+"-1", albLine("C1", "S1")))
	w.mustItem("C1", "S1", "inactivo")
	w.del(d.ID)
	w.mustItem("C1", "S1", "activo")
}

// TestAlbaranAllOrNothing: one invalid line rejects the whole document
// with per-line errors and writes nothing at all.
func TestAlbaranAllOrNothing(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newAlbWorld(t, db)
		w.create(albDoc("INVENTARIO", "ENTRADA", "INV-0", albLine("K0", "S0")))
		before := albFingerprint(w)
		lines := []map[string]any{albLine("K1", "S1"), albLine("K2", "S2"), albLine("K3", "S3"), {"codigo": "K4"}, albLine("K5", "S5")}
		for _, doc := range []map[string]any{
			albDoc("INVENTARIO", "ENTRADA", "INV-1", lines...),
			albDoc("TRANSFERENCIA", "SALIDA", "", lines...), // would also have taken a registry number
		} {
			r := w.expect(http.StatusBadRequest, "POST", "/api/albaranes/", doc)
			got := decode[map[string]any](t, r)
			want := map[string]any{"articulos": map[string]any{"3": map[string]any{"numero_serie": []any{"This field is required."}}}}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Fatalf("body %s", r.body)
			}
			if after := albFingerprint(w); after != before {
				t.Fatalf("rows written: %v → %v", before, after)
			}
		}
		// Every bad line is reported, each under its index.
		r := w.expect(http.StatusBadRequest, "POST", "/api/albaranes/", albDoc("INVENTARIO", "ENTRADA", "INV-2",
			albLine("K1", "S1"), map[string]any{"numero_serie": "S2", "cantidad": -1}, map[string]any{"codigo": "K3", "numero_serie": "S3", "cantidad": "tres"}, albLine("K1", "S1")))
		got := decode[map[string]map[string]map[string][]string](t, r)["articulos"]
		if len(got) != 3 || len(got["1"]["codigo"]) != 1 || len(got["1"]["cantidad"]) != 1 || len(got["2"]["cantidad"]) != 1 || len(got["3"]["numero_serie"]) != 1 {
			t.Fatalf("per-line errors %s", r.body)
		}
		if after := albFingerprint(w); after != before {
			t.Fatalf("rows written: %v → %v", before, after)
		}
		if n := decode[httpapi.SiguienteRegistroResult](t, w.expect(http.StatusOK, "GET", "/api/albaranes/siguiente-numero-registro-salida/", nil)); n.NumeroRegistroSalida != thisYearSalida(1) {
			t.Fatalf("a refused outgoing transfer used up a registry number: next is %s", n.NumeroRegistroSalida)
		}
	})
}

// TestAlbaranDuplicateNumero: document numbers are unique; a duplicate is a
// 409 naming the number, and nothing is written.
func TestAlbaranDuplicateNumero(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newAlbWorld(t, db)
		d := w.create(albDoc("INVENTARIO", "ENTRADA", "AC-1", albLine("K1", "S1")))
		before := albFingerprint(w)
		r := w.expect(http.StatusConflict, "POST", "/api/albaranes/", albDoc("INVENTARIO", "ENTRADA", "AC-1", albLine("K2", "S2")))
		if !strings.Contains(r.body, `AC-1`) || !strings.Contains(r.body, `"numero"`) || !strings.Contains(r.body, `"detail"`) {
			t.Fatalf("409 body %s", r.body)
		}
		if after := albFingerprint(w); after != before {
			t.Fatalf("rows written: %v → %v", before, after)
		}
		// numero_registro_entrada is the fallback number; it collides too.
		w.expect(http.StatusConflict, "POST", "/api/albaranes/", map[string]any{"numero_registro_entrada": "AC-1", "tipo_documento": "inventario"})
		other := w.create(albDoc("INVENTARIO", "ENTRADA", "AC-2"))
		w.expect(http.StatusConflict, "PATCH", fmt.Sprintf("/api/albaranes/%d/", other.ID), map[string]any{"numero": "AC-1"})
		w.expect(http.StatusOK, "PATCH", fmt.Sprintf("/api/albaranes/%d/", d.ID), map[string]any{"numero": "AC-1"}) // unchanged is fine
		// A registry number already held by another document is skipped,
		// not a dead end.
		w.create(albDoc("INVENTARIO", "ENTRADA", thisYearSalida(1)))
		if out := w.create(albDoc("TRANSFERENCIA", "SALIDA", "", albLine("K9", "S9"))); out.Numero != thisYearSalida(2) {
			t.Fatalf("allocated %s next to a hand-typed %s", out.Numero, thisYearSalida(1))
		}
	})
}

// TestAlbaranConcurrentRegistroNumbers: 50 outgoing transfers created at
// once get 50 distinct, consecutive registry numbers.
func TestAlbaranConcurrentRegistroNumbers(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newAlbWorld(t, db)
		const n = 50
		year := time.Now().UTC().Year()
		var wg sync.WaitGroup
		numeros := make([]string, n)
		errc := make(chan string, n)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r := w.call("POST", "/api/albaranes/", w.tok, albDoc("TRANSFERENCIA", "SALIDA", "", albLine("LOT", fmt.Sprintf("S%02d", i))))
				if r.status != http.StatusCreated {
					errc <- fmt.Sprintf("status %d: %s", r.status, r.body)
					return
				}
				var d httpapi.AlbaranResource
				if err := jsonUnmarshal(r.body, &d); err != nil {
					errc <- err.Error()
					return
				}
				if d.NumeroRegistroSalida == nil || *d.NumeroRegistroSalida != d.Numero {
					errc <- "numero and registry number differ: " + d.Numero
				}
				numeros[i] = d.Numero
			}()
		}
		close(start)
		wg.Wait()
		close(errc)
		for e := range errc {
			t.Fatal(e)
		}
		sort.Strings(numeros)
		for i, got := range numeros {
			if want := fmt.Sprintf("S%d-%04d", year, i+1); got != want {
				t.Fatalf("numbers %v: position %d is %s, want %s", numeros, i, got, want)
			}
		}
		if next := decode[httpapi.SiguienteRegistroResult](t, w.expect(http.StatusOK, "GET", fmt.Sprintf("/api/albaranes/siguiente-numero-registro-salida/?a%%C3%%B1o=%d", year), nil)); next.NumeroRegistroSalida != fmt.Sprintf("S%d-%04d", year, n+1) || next.Anio != year || !next.Success {
			t.Fatalf("preview after %d: %+v", n, next)
		}
		albCheckInvariant(t, w.db)
	})
}

// TestAlbaranConcurrentExitsOfOneItem: documents racing to take out the
// same item: exactly one wins, the others are told it is out of custody
// already (PostgreSQL: the per-item lock makes the second one see the
// first's movement).
func TestAlbaranConcurrentExitsOfOneItem(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newAlbWorld(t, db)
		w.typed("HOT")
		w.create(albDoc("INVENTARIO", "ENTRADA", "INV-1", albLine("HOT", "S1")))
		const n = 20
		var wg sync.WaitGroup
		var created, refused atomic.Int64
		errc := make(chan string, n)
		start := make(chan struct{})
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				r := w.call("POST", "/api/albaranes/", w.tok, albDoc("RECIBO_MANO", "SALIDA", fmt.Sprintf("RM-%d", i), albLine("HOT", "S1")))
				switch {
				case r.status == http.StatusCreated:
					created.Add(1)
				case r.status == http.StatusBadRequest && strings.Contains(r.body, "out of custody"):
					refused.Add(1)
				default:
					errc <- fmt.Sprintf("status %d: %s", r.status, r.body)
				}
			}()
		}
		close(start)
		wg.Wait()
		close(errc)
		for e := range errc {
			t.Fatal(e)
		}
		if created.Load() != 1 || refused.Load() != n-1 {
			t.Fatalf("%d created, %d refused; want 1 and %d", created.Load(), refused.Load(), n-1)
		}
		w.mustItem("HOT", "S1", "inactivo")
		albCheckInvariant(t, w.db)
	})
}

// TestAlbaranAudit: every mutation leaves audit rows by the acting user.
func TestAlbaranAudit(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newAlbWorld(t, db)
		audits := func(table, action string) int {
			return w.count("SELECT count(*) FROM audit_logs WHERE table_name = ? AND action = ? AND user_id = ?", table, action, w.uid)
		}
		d := w.create(albDoc("INVENTARIO", "ENTRADA", "AC-1", albLine("K1", "S1"), albLine("K1", "S2")))
		if audits("albaranes", "create") != 1 || audits("movimientos", "create") != 2 || audits("productos", "create") != 1 {
			t.Fatalf("create audits: albaranes %d, movimientos %d, productos %d", audits("albaranes", "create"), audits("movimientos", "create"), audits("productos", "create"))
		}
		ms := w.movimientos(d.ID)
		w.expect(http.StatusOK, "PATCH", fmt.Sprintf("/api/albaranes/%d/", d.ID), map[string]any{"observaciones_odmc": "revisado",
			"movimientos": []map[string]any{{"id": ms[0].ID, "cantidad": 2}, {"producto_codigo": "K1", "numero_serie": "S3"}}})
		if audits("albaranes", "update") != 1 || audits("movimientos", "update") != 1 || audits("movimientos", "create") != 3 || audits("movimientos", "delete") != 1 {
			t.Fatalf("edit audits: albaranes update %d, movimientos update %d, create %d, delete %d",
				audits("albaranes", "update"), audits("movimientos", "update"), audits("movimientos", "create"), audits("movimientos", "delete"))
		}
		var old, nw string
		if err := w.db.NewRaw(`SELECT old_values, new_values FROM audit_logs WHERE table_name = 'albaranes' AND action = 'update'`).Scan(context.Background(), &old, &nw); err != nil {
			t.Fatal(err)
		}
		if strings.Contains(old, "revisado") || !strings.Contains(nw, "revisado") {
			t.Fatalf("update audit old %s new %s", old, nw)
		}
		m := decode[httpapi.MovimientoResource](t, w.expect(http.StatusCreated, "POST", "/api/movimientos/", map[string]any{"albaran": d.ID, "producto_codigo": "K1", "numero_serie": "S4"}))
		w.expect(http.StatusOK, "PUT", fmt.Sprintf("/api/movimientos/%d/", m.ID), map[string]any{"observaciones": "caja 2"})
		w.expect(http.StatusNoContent, "DELETE", fmt.Sprintf("/api/movimientos/%d/", m.ID), nil)
		if audits("movimientos", "create") != 4 || audits("movimientos", "update") != 2 || audits("movimientos", "delete") != 2 {
			t.Fatal("movement CRUD audits missing")
		}
		w.del(d.ID)
		if audits("albaranes", "delete") != 1 || audits("movimientos", "delete") != 4 || audits("productos", "delete") != 1 {
			t.Fatalf("delete audits: albaranes %d, movimientos %d, productos %d", audits("albaranes", "delete"), audits("movimientos", "delete"), audits("productos", "delete"))
		}
	})
}

// albStatements records the SQL the server runs.
type albStatements struct {
	mu  sync.Mutex
	sql []string
}

func (c *albStatements) BeforeQuery(ctx context.Context, e *bun.QueryEvent) context.Context {
	c.mu.Lock()
	c.sql = append(c.sql, e.Query)
	c.mu.Unlock()
	return ctx
}

func (c *albStatements) AfterQuery(context.Context, *bun.QueryEvent) {}

func (c *albStatements) matching(fragment string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n := 0
	for _, q := range c.sql {
		if strings.Contains(q, fragment) {
			n++
		}
	}
	return n
}

// albQueries counts the SQL statements the server runs.
type albQueries struct{ n atomic.Int64 }

func (c *albQueries) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	c.n.Add(1)
	return ctx
}

func (c *albQueries) AfterQuery(context.Context, *bun.QueryEvent) {}

// TestAlbaranReadsShapeAndQueryCount: the document shape, and reads that
// cost at most 2 statements (1 of them authentication) whatever the size.
func TestAlbaranReadsShapeAndQueryCount(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newAlbWorld(t, db)
		de, para := w.empresa("Origen SA"), w.empresa("Destino SL")
		w.typed("K1")
		main := w.create(map[string]any{"numero": "AC-9", "tipo_documento": "Inventario", "empresa_origen": de, "empresa_destino": fmt.Sprint(para),
			"fecha_informe": "03/02/2025", "fecha_transaccion": "2025-02-04", "estado_material": "inventariado", "odmc_numero": "ODMC-1",
			"accesorios": []map[string]any{{"descripcion": "Cable", "cantidad": "2"}}, "equipos_prueba": map[string]any{},
			"firma_a_nombre_apellidos": "Ana Pérez", "destinatario_autorizado_testigo": "true",
			"articulos": []map[string]any{{"codigo": "K1", "numero_serie": "S1", "cantidad": "1", "cc": 4, "observaciones": "ok"}}})
		page := w.create(map[string]any{"es_pagina_adicional": true, "documento_principal": main.ID, "articulos": []map[string]any{albLine("K1", "S2")}})
		got := decode[map[string]any](t, w.expect(http.StatusOK, "GET", fmt.Sprintf("/api/albaranes/%d/", page.ID), nil))
		for _, k := range []string{"id", "numero", "fecha", "pagina_numero", "total_paginas", "documento_principal", "direccion_transferencia",
			"empresa_origen", "empresa_destino", "tipo_documento", "odmc_numero", "fecha_informe", "numero_registro_salida", "fecha_transaccion",
			"numero_registro_entrada", "codigo_contabilidad", "accesorios", "equipos_prueba", "estado_material", "destinatario_autorizado_testigo",
			"destinatario_autorizado_otro", "destinatario_autorizado_otro_especificar", "firma_a", "firma_a_empleo_rango", "firma_a_nombre_apellidos",
			"firma_a_cargo", "firma_b", "firma_b_empleo_rango", "firma_b_nombre_apellidos", "firma_b_cargo", "observaciones_odmc", "created_by",
			"updated_by", "created_at", "updated_at", "empresa_origen_info", "empresa_destino_info", "created_by_username", "updated_by_username",
			"tipo_documento_display", "direccion_transferencia_display", "estado_material_display", "es_documento_principal",
			"documento_principal_info", "numero_paginas_total", "tiene_imagen_documento", "imagen_documento_url"} {
			if _, ok := got[k]; !ok {
				t.Errorf("document JSON lacks %q", k)
			}
		}
		if _, ok := got["imagen_documento"]; ok {
			t.Error("imagen_documento is exposed")
		}
		m := decode[httpapi.AlbaranResource](t, w.expect(http.StatusOK, "GET", fmt.Sprintf("/api/albaranes/%d/", main.ID), nil))
		if m.EmpresaOrigenInfo == nil || m.EmpresaOrigenInfo.Nombre != "Origen SA" || m.EmpresaOrigenInfo.DireccionCompleta != "Calle Mayor 1, 28001 Madrid, Madrid" ||
			m.EmpresaDestinoInfo == nil || m.EmpresaDestinoInfo.ID != para || m.CreatedByUsername == nil || *m.CreatedByUsername != "custodio@example.org" ||
			*m.TipoDocumentoDisplay != "Inventario" || *m.DireccionTransferenciaDisplay != "Entrada" || *m.EstadoMaterialDisplay != "Inventariado" ||
			*m.FechaInforme != "2025-02-03" || *m.FechaTransaccion != "2025-02-04" || !m.EsDocumentoPrincipal || m.NumeroPaginasTotal != 2 ||
			len(m.Accesorios) != 1 || m.Accesorios[0].Cantidad != 2 || len(m.EquiposPrueba) != 0 || !m.DestinatarioAutorizadoTestigo ||
			m.ImagenDocumentoURL != nil || m.TieneImagenDocumento || m.DocumentoPrincipalInfo != nil {
			t.Fatalf("main document %+v", m)
		}
		p := decode[httpapi.AlbaranResource](t, w.expect(http.StatusOK, "GET", fmt.Sprintf("/api/albaranes/%d/", page.ID), nil))
		if p.EsDocumentoPrincipal || p.DocumentoPrincipalInfo == nil || p.DocumentoPrincipalInfo.ID != main.ID || p.EmpresaOrigenInfo == nil {
			t.Fatalf("extra page %+v", p)
		}
		if _, err := w.db.NewRaw("UPDATE albaranes SET imagen_documento = 'albaranes/ac9.png' WHERE id = ?", main.ID).Exec(context.Background()); err != nil {
			t.Fatal(err)
		}
		m = decode[httpapi.AlbaranResource](t, w.expect(http.StatusOK, "GET", fmt.Sprintf("/api/albaranes/%d/", main.ID), nil))
		if !m.TieneImagenDocumento || m.ImagenDocumentoURL == nil || *m.ImagenDocumentoURL != fmt.Sprintf("/api/albaranes/%d/imagen-documento/", main.ID) {
			t.Fatalf("image URL %v", m.ImagenDocumentoURL)
		}
		ms := w.movimientos(main.ID)
		if len(ms) != 2 || ms[0].ProductoCodigo != "K1" || ms[0].ProductoDescripcion != "Producto K1" || ms[0].AlbaranNumero != "AC-9" ||
			ms[0].TipoMovimientoDisplay != "Inventario" || *ms[0].CC != 4 || *ms[0].Observaciones != "ok" || ms[0].PaginaOrigen != 1 ||
			ms[1].AlbaranNumero != "AC-9-P2" || ms[0].InventarioActual == nil || ms[0].InventarioActual.Estado != "activo" {
			t.Fatalf("movements %+v", ms)
		}

		// Query counts: more documents must not mean more statements.
		for i := range 30 {
			w.create(albDoc("INVENTARIO", "ENTRADA", fmt.Sprintf("BULK-%02d", i), albLine("K1", fmt.Sprintf("B%02d", i)), albLine("K7", fmt.Sprintf("B%02d", i))))
		}
		c := &albQueries{}
		db.AddQueryHook(c)
		for _, path := range []string{
			fmt.Sprintf("/api/albaranes/%d/", main.ID), fmt.Sprintf("/api/albaranes/%d/", page.ID),
			"/api/albaranes/", "/api/albaranes/?page=1&page_size=5", "/api/albaranes/?page=2&page_size=25&search=bulk&ordering=-numero",
			"/api/albaranes/principales/", fmt.Sprintf("/api/albaranes/%d/paginas/", main.ID), fmt.Sprintf("/api/albaranes/%d/movimientos/", main.ID),
			"/api/movimientos/", "/api/movimientos/?page=1&page_size=10", fmt.Sprintf("/api/movimientos/%d/", ms[0].ID),
		} {
			c.n.Store(0)
			w.expect(http.StatusOK, "GET", path, nil)
			if n := c.n.Load(); n > 2 || n < 2 && !strings.Contains(path, "page=") && path != "/api/albaranes/" {
				t.Errorf("GET %s ran %d statements, want ≤ 2 (authentication included)", path, n)
			}
		}
		c.n.Store(0)
		w.expect(http.StatusOK, "POST", "/api/albaranes/productos-de-albaran/", map[string]any{"numero": "AC-9"})
		if n := c.n.Load(); n > 2 {
			t.Errorf("productos-de-albaran ran %d statements", n)
		}
	})
}

// TestAlbaranListFilters: filters, search, ordering and paging.
func TestAlbaranListFilters(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newAlbWorld(t, db)
		e := w.empresa("Empresa Ñ")
		w.create(map[string]any{"numero": "INV-ÁRBOL", "tipo_documento": "INVENTARIO", "empresa_destino": e, "odmc_numero": "ODMC-55",
			"articulos": []map[string]any{albLine("K1", "S1")}})
		w.create(albDoc("TRANSFERENCIA", "SALIDA", "", albLine("K1", "S1")))
		w.create(albDoc("RECIBO_MANO", "SALIDA", "RM-1", albLine("K2", "S1")))
		list := func(q string) []string {
			t.Helper()
			var out []string
			for _, d := range decode[[]httpapi.AlbaranResource](t, w.expect(http.StatusOK, "GET", "/api/albaranes/"+q, nil)) {
				out = append(out, d.Numero)
			}
			return out
		}
		s1 := thisYearSalida(1)
		for q, want := range map[string]string{
			"":                                    "RM-1 " + s1 + " INV-ÁRBOL",
			"?ordering=numero":                    "INV-ÁRBOL RM-1 " + s1,
			"?ordering=-id":                       "RM-1 " + s1 + " INV-ÁRBOL",
			"?tipo_documento=transferencia":       s1,
			"?tipo_documento=Recibo%20en%20mano":  "RM-1",
			"?direccion_transferencia=entrada":    "INV-ÁRBOL",
			"?search=arbol":                       "INV-ÁRBOL",
			"?search=odmc-55":                     "INV-ÁRBOL",
			"?search=" + s1[:5]:                   s1,
			fmt.Sprintf("?empresa=%d", e):         "INV-ÁRBOL",
			fmt.Sprintf("?empresa_destino=%d", e): "INV-ÁRBOL",
			fmt.Sprintf("?empresa_origen=%d", e):  "",
			"?fecha_desde=2000-01-01&ordering=id": "INV-ÁRBOL " + s1 + " RM-1",
			"?fecha_hasta=2000-01-01":             "",
			"?fecha_hasta=" + time.Now().UTC().Format("2006-01-02") + "&ordering=id": "INV-ÁRBOL " + s1 + " RM-1",
		} {
			if got := strings.Join(list(q), " "); got != want {
				t.Errorf("GET /api/albaranes/%s = %q, want %q", q, got, want)
			}
		}
		for q, field := range map[string]string{"?ordering=estado": "ordering", "?tipo_documento=PRESTAMO": "tipo_documento",
			"?empresa=x": "empresa", "?fecha_desde=mañana": "fecha_desde", "?direccion_transferencia=arriba": "direccion_transferencia"} {
			r := w.expect(http.StatusBadRequest, "GET", "/api/albaranes/"+q, nil)
			if !strings.Contains(r.body, `"`+field+`"`) {
				t.Errorf("%s: %s", q, r.body)
			}
		}
		page := decode[struct {
			Count   int                       `json:"count"`
			Next    *string                   `json:"next"`
			Results []httpapi.AlbaranResource `json:"results"`
		}](t, w.expect(http.StatusOK, "GET", "/api/albaranes/?page=1&page_size=2&ordering=id", nil))
		if page.Count != 3 || len(page.Results) != 2 || page.Next == nil || page.Results[0].Numero != "INV-ÁRBOL" {
			t.Fatalf("page %+v", page)
		}
		w.expect(http.StatusNotFound, "GET", "/api/albaranes/?page=3&page_size=2", nil)
		w.expect(http.StatusNotFound, "GET", "/api/albaranes/abc/", nil)
		w.expect(http.StatusNotFound, "GET", "/api/albaranes/999/", nil)
	})
}

// TestAlbaranActions: productos-de-albaran, the registry preview,
// agregar-productos, principales and paginas.
func TestAlbaranActions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newAlbWorld(t, db)
		year := time.Now().UTC().Year()
		for _, q := range []string{"", fmt.Sprintf("?anio=%d", year), fmt.Sprintf("?year=%d", year)} {
			p := decode[httpapi.SiguienteRegistroResult](t, w.expect(http.StatusOK, "GET", "/api/albaranes/siguiente-numero-registro-salida/"+q, nil))
			if p.NumeroRegistroSalida != thisYearSalida(1) { // previews do not reserve
				t.Fatalf("preview %s: %+v", q, p)
			}
		}
		if p := decode[httpapi.SiguienteRegistroResult](t, w.expect(http.StatusOK, "GET", "/api/albaranes/siguiente-numero-registro-salida/?year=2031", nil)); p.NumeroRegistroSalida != "S2031-0001" || p.Anio != 2031 {
			t.Fatalf("2031: %+v", p)
		}
		w.expect(http.StatusBadRequest, "GET", "/api/albaranes/siguiente-numero-registro-salida/?year=dos", nil)
		// fecha_transaccion decides the registry year.
		old := w.create(map[string]any{"tipo_documento": "TRANSFERENCIA", "direccion_transferencia": "SALIDA", "fecha_transaccion": "2031-05-06",
			"articulos": []map[string]any{albLine("K1", "S1")}})
		if old.Numero != "S2031-0001" {
			t.Fatalf("registry number %s", old.Numero)
		}
		out := w.create(albDoc("TRANSFERENCIA", "SALIDA", "", albLine("K1", "S2")))

		r := decode[httpapi.ProductosDeAlbaranResult](t, w.expect(http.StatusOK, "POST", "/api/albaranes/productos-de-albaran/", map[string]any{"numero": out.Numero}))
		if r.AlbaranID == nil || *r.AlbaranID != out.ID || len(r.Productos) != 1 || r.Productos[0].Codigo != "K1" || r.Productos[0].NumeroSerie != "S2" ||
			r.Productos[0].TipoMovimiento != "TRANSFERENCIA" || r.Productos[0].Descripcion == nil {
			t.Fatalf("productos-de-albaran %+v", r)
		}
		none := w.expect(http.StatusOK, "POST", "/api/albaranes/productos-de-albaran/", map[string]any{"numero": "NOPE"})
		if strings.TrimSpace(none.body) != `{"productos":[],"albaran_id":null}` {
			t.Fatalf("no match: %s", none.body)
		}
		w.expect(http.StatusBadRequest, "POST", "/api/albaranes/productos-de-albaran/", map[string]any{})

		inv := w.create(albDoc("INVENTARIO", "ENTRADA", "INV-1", albLine("K1", "S3")))
		add := decode[httpapi.AgregarProductosResult](t, w.expect(http.StatusOK, "POST", fmt.Sprintf("/api/albaranes/%d/agregar-productos/", inv.ID),
			map[string]any{"articulos": []map[string]any{albLine("K1", "S3"), albLine("K1", "S4"), albLine("K1", "S4"), albLine("K2", "S1")}}))
		if !add.Success || add.Nuevos != 2 || add.Duplicados != 2 || add.Data.ID != inv.ID || add.Message == "" {
			t.Fatalf("agregar %+v", add)
		}
		w.mustItem("K1", "S4", "activo")
		bad := w.expect(http.StatusBadRequest, "POST", fmt.Sprintf("/api/albaranes/%d/agregar-productos/", inv.ID),
			map[string]any{"articulos": []map[string]any{albLine("K3", "S1"), {"codigo": "K3"}}})
		if !strings.Contains(bad.body, `"1"`) || w.productExists("K3") {
			t.Fatalf("agregar with a bad line: %s", bad.body)
		}
		// Out of custody already: refused per line on an outgoing document.
		bad = w.expect(http.StatusBadRequest, "POST", fmt.Sprintf("/api/albaranes/%d/agregar-productos/", out.ID),
			map[string]any{"articulos": []map[string]any{albLine("K1", "S1")}})
		if !strings.Contains(bad.body, "out of custody") {
			t.Fatal(bad.body)
		}
		w.expect(http.StatusNotFound, "POST", "/api/albaranes/999/agregar-productos/", map[string]any{"articulos": []map[string]any{albLine("K1", "S9")}})

		w.create(map[string]any{"es_pagina_adicional": true, "documento_principal_id": inv.ID, "articulos": []map[string]any{albLine("K1", "S5")}})
		principales := decode[[]httpapi.AlbaranResource](t, w.expect(http.StatusOK, "GET", "/api/albaranes/principales/", nil))
		if len(principales) != 3 {
			t.Fatalf("%d main documents", len(principales))
		}
		for _, p := range principales {
			if !p.EsDocumentoPrincipal {
				t.Fatalf("extra page listed as main: %s", p.Numero)
			}
		}
		r = decode[httpapi.ProductosDeAlbaranResult](t, w.expect(http.StatusOK, "POST", "/api/albaranes/productos-de-albaran/", map[string]any{"numero": "INV-1"}))
		if len(r.Productos) != 4 {
			t.Fatalf("a main document's lines include its pages': %+v", r.Productos)
		}
		// An extra page of an extra page is refused.
		pages := decode[[]httpapi.AlbaranResource](t, w.expect(http.StatusOK, "GET", fmt.Sprintf("/api/albaranes/%d/paginas/", inv.ID), nil))
		w.expect(http.StatusBadRequest, "POST", "/api/albaranes/", map[string]any{"es_pagina_adicional": true, "documento_principal_id": pages[1].ID})
		w.expect(http.StatusBadRequest, "POST", "/api/albaranes/", map[string]any{"es_pagina_adicional": true})
	})
}

// TestAlbaranPermissions: reads need productos.ver, writes
// productos.editar, deletes productos.eliminar; anonymous callers get 401.
func TestAlbaranPermissions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newAlbWorld(t, db)
		d := w.create(albDoc("INVENTARIO", "ENTRADA", "INV-1", albLine("K1", "S1")))
		m := w.movimientos(d.ID)[0]
		member := w.user("miembro@example.org", "Miembro-Clave-11", identity.RoleMember)
		mtok := w.token(member.ID)
		for _, c := range []struct{ method, path string }{
			{"GET", "/api/albaranes/"}, {"GET", fmt.Sprintf("/api/albaranes/%d/", d.ID)}, {"POST", "/api/albaranes/"},
			{"PATCH", fmt.Sprintf("/api/albaranes/%d/", d.ID)}, {"DELETE", fmt.Sprintf("/api/albaranes/%d/", d.ID)},
			{"GET", fmt.Sprintf("/api/albaranes/%d/movimientos/", d.ID)}, {"POST", fmt.Sprintf("/api/albaranes/%d/agregar-productos/", d.ID)},
			{"POST", "/api/albaranes/productos-de-albaran/"}, {"GET", "/api/albaranes/siguiente-numero-registro-salida/"},
			{"GET", fmt.Sprintf("/api/albaranes/%d/paginas/", d.ID)}, {"GET", "/api/albaranes/principales/"},
			{"GET", "/api/movimientos/"}, {"GET", fmt.Sprintf("/api/movimientos/%d/", m.ID)}, {"POST", "/api/movimientos/"},
			{"PATCH", fmt.Sprintf("/api/movimientos/%d/", m.ID)}, {"DELETE", fmt.Sprintf("/api/movimientos/%d/", m.ID)},
		} {
			if r := w.call(c.method, c.path, "", map[string]any{}); r.status != http.StatusUnauthorized {
				t.Errorf("anonymous %s %s: %d", c.method, c.path, r.status)
			}
			if r := w.call(c.method, c.path, mtok, map[string]any{}); r.status != http.StatusForbidden {
				t.Errorf("member %s %s: %d", c.method, c.path, r.status)
			}
		}
		// A role that may edit but not delete.
		ctx, now := context.Background(), time.Now().UTC()
		if _, err := w.db.NewRaw("INSERT INTO roles (name, description, is_system, created_at, updated_at) VALUES ('editor', '', FALSE, ?, ?)", now, now).Exec(ctx); err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{identity.PermProductosVer, identity.PermProductosEditar} {
			if _, err := w.db.NewRaw("INSERT INTO role_permissions (role_id, codename) SELECT id, ? FROM roles WHERE name = 'editor'", p).Exec(ctx); err != nil {
				t.Fatal(err)
			}
		}
		ed := w.user("editor@example.org", "Editor-Clave-12", "editor")
		etok := w.token(ed.ID)
		if r := w.call("PATCH", fmt.Sprintf("/api/albaranes/%d/", d.ID), etok, map[string]any{"odmc_numero": "X"}); r.status != http.StatusOK {
			t.Fatalf("editor PATCH: %d %s", r.status, r.body)
		}
		if r := w.call("DELETE", fmt.Sprintf("/api/albaranes/%d/", d.ID), etok, nil); r.status != http.StatusForbidden {
			t.Fatalf("editor DELETE: %d", r.status)
		}
	})
}

// TestMovimientosList: filters, ordering and validation of /api/movimientos/.
func TestMovimientosList(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newAlbWorld(t, db)
		a := w.create(albDoc("INVENTARIO", "ENTRADA", "INV-1", albLine("K1", "S1"), albLine("K2", "S2")))
		b := w.create(albDoc("OTRO", "SALIDA", "OT-1", albLine("K1", "S1")))
		ids := func(q string) string {
			t.Helper()
			var out []string
			for _, m := range decode[[]httpapi.MovimientoResource](t, w.expect(http.StatusOK, "GET", "/api/movimientos/"+q, nil)) {
				out = append(out, m.AlbaranNumero+"/"+m.ProductoCodigo+"/"+m.NumeroSerie)
			}
			return strings.Join(out, " ")
		}
		for q, want := range map[string]string{
			"":                               "OT-1/K1/S1 INV-1/K2/S2 INV-1/K1/S1",
			"?ordering=id":                   "INV-1/K1/S1 INV-1/K2/S2 OT-1/K1/S1",
			"?ordering=-producto_codigo,id":  "INV-1/K2/S2 INV-1/K1/S1 OT-1/K1/S1",
			fmt.Sprintf("?albaran=%d", b.ID): "OT-1/K1/S1",
			"?producto_codigo=K2":            "INV-1/K2/S2",
			"?codigo=K1&ordering=fecha":      "INV-1/K1/S1 OT-1/K1/S1",
			"?numero_serie=S2":               "INV-1/K2/S2",
			"?tipo_movimiento=otro":          "OT-1/K1/S1",
		} {
			if got := ids(q); got != want {
				t.Errorf("GET /api/movimientos/%s = %q, want %q", q, got, want)
			}
		}
		for q, field := range map[string]string{"?ordering=estado": "ordering", "?albaran=x": "albaran", "?tipo_movimiento=x": "tipo_movimiento"} {
			if r := w.expect(http.StatusBadRequest, "GET", "/api/movimientos/"+q, nil); !strings.Contains(r.body, `"`+field+`"`) {
				t.Errorf("%s: %s", q, r.body)
			}
		}
		for _, c := range []struct {
			body  map[string]any
			field string
		}{
			{map[string]any{"producto_codigo": "K1", "numero_serie": "S9"}, "albaran"},
			{map[string]any{"albaran": 999, "producto_codigo": "K1", "numero_serie": "S9"}, "albaran"},
			{map[string]any{"albaran": a.ID, "numero_serie": "S9"}, "producto_codigo"},
			{map[string]any{"albaran": a.ID, "producto_codigo": "K1", "numero_serie": "S9", "cantidad": -2}, "cantidad"},
			{map[string]any{"albaran": a.ID, "producto_codigo": "K1", "numero_serie": "S1"}, "non_field_errors"},
		} {
			if r := w.expect(http.StatusBadRequest, "POST", "/api/movimientos/", c.body); !strings.Contains(r.body, `"`+c.field+`"`) {
				t.Errorf("%v: %s", c.body, r.body)
			}
		}
		w.expect(http.StatusNotFound, "PATCH", "/api/movimientos/999/", map[string]any{"cantidad": 2})
		w.expect(http.StatusNotFound, "DELETE", "/api/movimientos/999/", nil)
		got := decode[httpapi.MovimientoResource](t, w.expect(http.StatusOK, "PATCH", fmt.Sprintf("/api/movimientos/%d/", w.movimientos(a.ID)[1].ID),
			map[string]any{"cantidad": "5", "cc": "", "descripcion": "Caja"}))
		if got.Cantidad != 5 || got.CC != nil || got.Descripcion == nil || *got.Descripcion != "Caja" {
			t.Fatalf("%+v", got)
		}
		albCheckInvariant(t, w.db)
	})
}

// BenchmarkCreateDelete200Lines creates a 200-line document and deletes it
// through the HTTP handler, over the seeded data set (1/100 of the
// baseline by default, full volume with THOT_BENCH_FULL=1), on SQLite and,
// with THOT_TEST_DATABASE_URL, PostgreSQL. Half the lines are new items,
// half take seeded items out of custody.
func BenchmarkCreateDelete200Lines(b *testing.B) {
	for _, e := range dbtest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			db := e.Open(b)
			s, tok := seededStack(b, db, benchSeedOptions())
			w := &albWorld{stack: s, t: b, tok: tok}
			var seeded []struct {
				Codigo string `bun:"codigo_producto"`
				Serie  string `bun:"numero_serie"`
			}
			if err := db.NewRaw(`SELECT p.codigo_producto, i.numero_serie FROM inventario AS i JOIN productos AS p ON p.id = i.producto_id
				WHERE i.estado = 'activo' ORDER BY i.id LIMIT 100`).Scan(context.Background(), &seeded); err != nil {
				b.Fatal(err)
			}
			lines := make([]map[string]any, 0, 200)
			for _, it := range seeded {
				lines = append(lines, albLine(it.Codigo, it.Serie))
			}
			for i := len(lines); i < 200; i++ {
				lines = append(lines, map[string]any{"codigo": fmt.Sprintf("BK%d", i%20), "numero_serie": fmt.Sprintf("SN-%05d", i), "descripcion": "Equipo"})
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				d := w.create(albDoc("OTRO", "SALIDA", fmt.Sprintf("BENCH-%d", i), lines...))
				w.del(d.ID)
			}
		})
	}
}

// runAlbaranReadBench runs GET path(id of a document in the middle of the
// seeded set) b.N times in parallel.
func runAlbaranReadBench(b *testing.B, path string) {
	for _, e := range dbtest.Engines(b) {
		b.Run(e.Name, func(b *testing.B) {
			db := e.Open(b)
			s, tok := seededStack(b, db, benchSeedOptions())
			var id int64
			if err := db.NewRaw("SELECT id FROM albaranes ORDER BY id LIMIT 1 OFFSET (SELECT count(*) / 2 FROM albaranes)").Scan(context.Background(), &id); err != nil {
				b.Fatal(err)
			}
			url := fmt.Sprintf(path, id)
			h := s.srv.Handler()
			do := func() {
				req := httptest.NewRequest("GET", url, nil)
				req.Header.Set("Authorization", "Bearer "+tok)
				rec := &discardResponse{}
				h.ServeHTTP(rec, req)
				if rec.status != http.StatusOK {
					b.Fatalf("%s: %d", url, rec.status)
				}
			}
			b.ReportAllocs()
			b.SetParallelism(25) // 50 requests in flight on 2 cores, as the c=50 load tests
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					do()
				}
			})
		})
	}
}

// BenchmarkCustodyAlbaranDetalle: GET /api/albaranes/{id}/ (2 statements).
func BenchmarkCustodyAlbaranDetalle(b *testing.B) { runAlbaranReadBench(b, "/api/albaranes/%d/") }

// BenchmarkCustodyAlbaranMovimientos: GET /api/albaranes/{id}/movimientos/
// (20 movements, 2 statements).
func BenchmarkCustodyAlbaranMovimientos(b *testing.B) {
	runAlbaranReadBench(b, "/api/albaranes/%d/movimientos/")
}

func jsonUnmarshal(s string, v any) error { return json.Unmarshal([]byte(s), v) }
