package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/thot-security/thot/internal/benchseed"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/identity"
)

// Catalog, companies and inventory read side (/api/tipos-producto/,
// /api/productos/, /api/empresas/, /api/inventario/).

// catWorld is a stack with a custody user (role crypto: productos.ver,
// editar, eliminar) and a member without custody permissions.
type catWorld struct {
	*stack
	t       *testing.T
	crypto  *identity.User
	tok     string
	member  string
	jefeSup string // jefe_seguridad_suplente: ver + editar, no eliminar
}

func newCatWorld(t *testing.T, db *database.DB) *catWorld {
	t.Helper()
	s := newStack(t, db)
	c := s.user("custodio@example.org", "Custodia-2026-segura", identity.RoleCrypto)
	m := s.user("miembro@example.org", "Custodia-2026-segura", identity.RoleMember)
	j := s.user("suplente@example.org", "Custodia-2026-segura", identity.RoleJefeSeguridadSuplente)
	return &catWorld{stack: s, t: t, crypto: c, tok: s.token(c.ID), member: s.token(m.ID), jefeSup: s.token(j.ID)}
}

// api calls as the custody user and checks the status.
func (w *catWorld) api(method, path string, body any, status int) response {
	w.t.Helper()
	r := w.call(method, path, w.tok, body)
	if r.status != status {
		w.t.Fatalf("%s %s: %d, want %d\n%s", method, path, r.status, status, r.body)
	}
	return r
}

func catObj(t *testing.T, r response) map[string]any { t.Helper(); return decode[map[string]any](t, r) }

func catList(t *testing.T, r response) []map[string]any {
	t.Helper()
	return decode[[]map[string]any](t, r)
}

func catField(t *testing.T, r response, field string) {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(r.body), &m); err != nil || m[field] == nil {
		t.Fatalf("want an error naming %q, got %d %s", field, r.status, r.body)
	}
}

func catAudits(t *testing.T, db *database.DB, table, action string) int {
	t.Helper()
	var n int
	if err := db.NewRaw("SELECT count(*) FROM audit_logs WHERE table_name = ? AND action = ?", table, action).Scan(context.Background(), &n); err != nil {
		t.Fatal(err)
	}
	return n
}

func num(v any) int64 { f, _ := v.(float64); return int64(f) }

func TestCustodyTiposProducto(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newCatWorld(t, db)
		cifra := catObj(t, w.api("POST", "/api/tipos-producto/", map[string]any{"nombre": " Cifrador "}, 201))
		if cifra["nombre"] != "Cifrador" || num(cifra["id"]) == 0 {
			t.Fatalf("created %v", cifra)
		}
		r := w.api("POST", "/api/tipos-producto/", map[string]any{"nombre": "Cifrador"}, 409)
		catField(t, r, "nombre")
		catField(t, w.api("POST", "/api/tipos-producto/", map[string]any{}, 400), "nombre")
		catField(t, w.api("POST", "/api/tipos-producto/", map[string]any{"nombre": strings.Repeat("x", 51)}, 400), "nombre")
		w.api("POST", "/api/tipos-producto/", map[string]any{"nombre": "Antena"}, 201)

		got := catList(t, w.api("GET", "/api/tipos-producto/", nil, 200))
		if len(got) != 2 || got[0]["nombre"] != "Antena" {
			t.Fatalf("list by name: %v", got)
		}
		if got := catList(t, w.api("GET", "/api/tipos-producto/?ordering=-id", nil, 200)); got[0]["nombre"] != "Antena" {
			t.Fatalf("ordering -id: %v", got)
		}
		catField(t, w.api("GET", "/api/tipos-producto/?ordering=color", nil, 400), "ordering")
		if got := catList(t, w.api("GET", "/api/tipos-producto/?search=CIFRA", nil, 200)); len(got) != 1 {
			t.Fatalf("search: %v", got)
		}
		id := num(cifra["id"])
		if r := catObj(t, w.api("PATCH", fmt.Sprintf("/api/tipos-producto/%d/", id), map[string]any{"nombre": "Cifradores"}, 200)); r["nombre"] != "Cifradores" {
			t.Fatalf("rename: %v", r)
		}
		w.api("PUT", fmt.Sprintf("/api/tipos-producto/%d/", id), map[string]any{"nombre": "Antena"}, 409)

		// Deleting a type keeps its products, untyped.
		p := catObj(t, w.api("POST", "/api/productos/", map[string]any{"codigo_producto": "KG-84", "descripcion": "Cifrador KG-84", "tipo": id}, 201))
		if p["tipo_nombre"] != "Cifradores" {
			t.Fatalf("product %v", p)
		}
		if r := w.call("DELETE", fmt.Sprintf("/api/tipos-producto/%d/", id), w.jefeSup, nil); r.status != 403 {
			t.Fatalf("delete without productos.eliminar: %d", r.status)
		}
		w.api("DELETE", fmt.Sprintf("/api/tipos-producto/%d/", id), nil, 204)
		w.api("GET", fmt.Sprintf("/api/tipos-producto/%d/", id), nil, 404)
		p = catObj(t, w.api("GET", fmt.Sprintf("/api/productos/%d/", num(p["id"])), nil, 200))
		if p["tipo"] != nil || p["tipo_nombre"] != nil {
			t.Fatalf("product after its type was deleted: %v", p)
		}
		if catAudits(t, db, "tipos_producto", "create") != 2 || catAudits(t, db, "tipos_producto", "delete") != 1 {
			t.Fatal("type changes are not audited")
		}
		if r := w.call("GET", "/api/tipos-producto/", w.member, nil); r.status != 403 {
			t.Fatalf("member reads types: %d", r.status)
		}
		w.api("GET", "/api/tipos-producto/abc/", nil, 404)
	})
}

func TestCustodyProductos(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newCatWorld(t, db)
		tipo := num(catObj(t, w.api("POST", "/api/tipos-producto/", map[string]any{"nombre": "Cifrador"}, 201))["id"])
		a := catObj(t, w.api("POST", "/api/productos/", map[string]any{"codigo_producto": "EP-200", "descripcion": "Cifrador táctico Epicuro", "tipo": tipo}, 201))
		b := catObj(t, w.api("POST", "/api/productos/", map[string]any{"codigo_producto": "AN-10", "descripcion": "Antena", "tipo": nil}, 201))
		w.api("POST", "/api/productos/", map[string]any{"codigo_producto": "ZZ-1", "descripcion": "Último"}, 201)
		if a["tipo_nombre"] != "Cifrador" || num(a["tipo"]) != tipo || b["tipo"] != nil || b["tipo_nombre"] != nil {
			t.Fatalf("created %v / %v", a, b)
		}
		catField(t, w.api("POST", "/api/productos/", map[string]any{"codigo_producto": "EP-200", "descripcion": "otra"}, 409), "codigo_producto")
		catField(t, w.api("POST", "/api/productos/", map[string]any{"codigo_producto": "X-1", "descripcion": "x", "tipo": 999}, 400), "tipo")
		catField(t, w.api("POST", "/api/productos/", map[string]any{"codigo_producto": "X-1", "descripcion": "x", "tipo": "uno"}, 400), "tipo")
		catField(t, w.api("POST", "/api/productos/", map[string]any{"descripcion": "x"}, 400), "codigo_producto")
		catField(t, w.api("POST", "/api/productos/", map[string]any{"codigo_producto": "X-1"}, 400), "descripcion")

		codes := func(path string) []string {
			var out []string
			for _, p := range catList(t, w.api("GET", path, nil, 200)) {
				out = append(out, p["codigo_producto"].(string))
			}
			return out
		}
		cases := []struct {
			path string
			want []string
		}{
			{"/api/productos/", []string{"AN-10", "EP-200", "ZZ-1"}},
			{"/api/productos/?ordering=-codigo_producto", []string{"ZZ-1", "EP-200", "AN-10"}},
			{"/api/productos/?ordering=descripcion", []string{"AN-10", "EP-200", "ZZ-1"}},
			{"/api/productos/?search=tactico", []string{"EP-200"}}, // accents folded
			{"/api/productos/?search=ULTIMO", []string{"ZZ-1"}},    // case and accents folded
			{"/api/productos/?search=ep-2", []string{"EP-200"}},    // code
			{"/api/productos/?codigo_producto=AN-10", []string{"AN-10"}},
			{"/api/productos/?codigo_producto__in=AN-10,ZZ-1,NOPE", []string{"AN-10", "ZZ-1"}},
			{fmt.Sprintf("/api/productos/?tipo=%d", tipo), []string{"EP-200"}},
			{"/api/productos/?search=100%25", nil},
		}
		for _, c := range cases {
			if got := codes(c.path); !slices.Equal(got, c.want) {
				t.Errorf("%s: %v, want %v", c.path, got, c.want)
			}
		}
		catField(t, w.api("GET", "/api/productos/?ordering=precio", nil, 400), "ordering")
		page := catObj(t, w.api("GET", "/api/productos/?page=2&page_size=2", nil, 200))
		if num(page["count"]) != 3 || len(page["results"].([]any)) != 1 || page["previous"] == nil || page["next"] != nil {
			t.Fatalf("page 2: %v", page)
		}
		w.api("GET", "/api/productos/?page=3&page_size=2", nil, 404)

		// PATCH keeps what is not sent; "tipo": null untypes; search follows.
		id := num(a["id"])
		p := catObj(t, w.api("PATCH", fmt.Sprintf("/api/productos/%d/", id), map[string]any{"descripcion": "Cifrador estratégico"}, 200))
		if p["codigo_producto"] != "EP-200" || num(p["tipo"]) != tipo {
			t.Fatalf("patch: %v", p)
		}
		if got := codes("/api/productos/?search=estrategico"); !slices.Equal(got, []string{"EP-200"}) {
			t.Fatalf("search after edit: %v", got)
		}
		p = catObj(t, w.api("PATCH", fmt.Sprintf("/api/productos/%d/", id), map[string]any{"tipo": nil}, 200))
		if p["tipo"] != nil {
			t.Fatalf("untype: %v", p)
		}
		catField(t, w.api("PUT", fmt.Sprintf("/api/productos/%d/", id), map[string]any{"codigo_producto": "EP-201"}, 400), "descripcion")
		w.api("PATCH", fmt.Sprintf("/api/productos/%d/", id), map[string]any{"codigo_producto": "AN-10"}, 409)

		// A product with inventory cannot be deleted; one without can.
		w.api("POST", "/api/inventario/", map[string]any{"producto": id, "numero_serie": "S-1"}, 201)
		w.api("DELETE", fmt.Sprintf("/api/productos/%d/", id), nil, 409)
		w.api("DELETE", fmt.Sprintf("/api/productos/%d/", num(b["id"])), nil, 204)
		w.api("GET", fmt.Sprintf("/api/productos/%d/", num(b["id"])), nil, 404)
		if r := w.call("POST", "/api/productos/", w.member, map[string]any{"codigo_producto": "M", "descripcion": "m"}); r.status != 403 {
			t.Fatalf("member creates a product: %d", r.status)
		}
		if catAudits(t, db, "productos", "create") != 3 || catAudits(t, db, "productos", "update") != 2 || catAudits(t, db, "productos", "delete") != 1 {
			t.Fatal("product changes are not all audited")
		}
	})
}

func TestCustodyCatalogHygiene(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newCatWorld(t, db)
		cifra := num(catObj(t, w.api("POST", "/api/tipos-producto/", map[string]any{"nombre": "Cifrador"}, 201))["id"])
		radio := num(catObj(t, w.api("POST", "/api/tipos-producto/", map[string]any{"nombre": "Radio"}, 201))["id"])
		w.api("POST", "/api/productos/", map[string]any{"codigo_producto": "KG-84A", "descripcion": "Cifrador de línea", "tipo": cifra}, 201)
		w.api("POST", "/api/productos/", map[string]any{"codigo_producto": "PRC-117", "descripcion": "Radio táctica portátil multibanda", "tipo": radio}, 201)
		byCode := w.api("POST", "/api/productos/", map[string]any{"codigo_producto": "KG 84-B", "descripcion": "Equipo desconocido"}, 201)
		byDesc := w.api("POST", "/api/productos/", map[string]any{"codigo_producto": "XYZ", "descripcion": "Radio portátil de repuesto"}, 201)
		w.api("POST", "/api/productos/", map[string]any{"codigo_producto": "QQQ-999", "descripcion": "Nada que ver"}, 201)
		stock := catObj(t, w.api("POST", "/api/productos/", map[string]any{"codigo_producto": "STOCK-1", "descripcion": "Con existencias"}, 201))
		w.api("POST", "/api/inventario/", map[string]any{"codigo_producto": "STOCK-1", "numero_serie": "A1"}, 201)

		sin := catObj(t, w.api("GET", "/api/productos/productos-sin-tipo/", nil, 200))
		if num(sin["total"]) != 4 || num(sin["huerfanos"]) != 3 || num(sin["con_movimientos"]) != 1 {
			t.Fatalf("productos-sin-tipo: %v", sin)
		}
		for _, p := range sin["productos"].([]any) {
			p := p.(map[string]any)
			if (num(p["id"]) == num(stock["id"])) == p["es_huerfano"].(bool) {
				t.Fatalf("es_huerfano wrong: %v", p)
			}
			for _, k := range []string{"codigo_producto", "descripcion", "ultima_actualizacion", "movimientos_count"} {
				if _, ok := p[k]; !ok {
					t.Fatalf("missing %s in %v", k, p)
				}
			}
		}

		// Suggestions: same 4 first characters (spaces and hyphens
		// ignored) and ≥30 % common description words.
		sug := catObj(t, w.api("POST", "/api/productos/asignar-tipo-automatico/", map[string]any{}, 200))
		if sug["requiere_confirmacion"] != true || num(sug["total_sugerencias"]) != 2 {
			t.Fatalf("suggestions: %v", sug)
		}
		want := map[int64]int64{num(catObj(t, byCode)["id"]): cifra, num(catObj(t, byDesc)["id"]): radio}
		for _, s := range sug["asignaciones_sugeridas"].([]any) {
			s := s.(map[string]any)
			if want[num(s["producto_id"])] != num(s["tipo_sugerido_id"]) || s["razon"] == "" {
				t.Fatalf("suggestion %v, want %v", s, want)
			}
		}
		// A bad assignment rejects the whole list.
		r := w.api("POST", "/api/productos/asignar-tipo-automatico/", map[string]any{"aplicar": true,
			"asignaciones": []any{map[string]any{"producto_id": num(catObj(t, byCode)["id"]), "tipo_id": cifra}, map[string]any{"producto_id": 99999, "tipo_id": cifra}}}, 400)
		if !strings.Contains(r.body, `"asignaciones"`) || !strings.Contains(r.body, `"1"`) {
			t.Fatalf("per-line error: %s", r.body)
		}
		if n := num(catObj(t, w.api("GET", "/api/productos/productos-sin-tipo/", nil, 200))["total"]); n != 4 {
			t.Fatalf("a rejected list changed %d products", 4-n)
		}
		// aplicar without a list applies the suggestions, in one go.
		done := catObj(t, w.api("POST", "/api/productos/asignar-tipo-automatico/", map[string]any{"aplicar": "true"}, 200))
		if done["success"] != true || num(done["total_asignadas"]) != 2 {
			t.Fatalf("apply: %v", done)
		}
		if p := catObj(t, w.api("GET", fmt.Sprintf("/api/productos/%d/", num(catObj(t, byDesc)["id"])), nil, 200)); p["tipo_nombre"] != "Radio" {
			t.Fatalf("after apply: %v", p)
		}

		// limpiar-huerfanos: preview, then delete only what nothing uses.
		if r := w.call("POST", "/api/productos/limpiar-huerfanos/", w.jefeSup, map[string]any{}); r.status != 403 {
			t.Fatalf("limpiar without productos.eliminar: %d", r.status)
		}
		prev := catObj(t, w.api("POST", "/api/productos/limpiar-huerfanos/", map[string]any{"confirmar": false}, 200))
		if num(prev["total"]) != 1 || prev["requiere_confirmacion"] != true {
			t.Fatalf("preview: %v", prev)
		}
		before := catAudits(t, db, "productos", "delete")
		res := catObj(t, w.api("POST", "/api/productos/limpiar-huerfanos/", map[string]any{"confirmar": true}, 200))
		if num(res["eliminados"]) != 1 || res["productos_eliminados"].([]any)[0].(map[string]any)["codigo"] != "QQQ-999" {
			t.Fatalf("limpiar: %v", res)
		}
		if catAudits(t, db, "productos", "delete") != before+1 {
			t.Fatal("deleted orphans are not audited")
		}
		left := catObj(t, w.api("GET", "/api/productos/productos-sin-tipo/", nil, 200))
		if num(left["total"]) != 1 || num(left["huerfanos"]) != 0 {
			t.Fatalf("after limpiar: %v", left)
		}
	})
}

func TestCustodyEmpresas(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newCatWorld(t, db)
		e := catObj(t, w.api("POST", "/api/empresas/", map[string]any{"nombre": "Indra Sistemas", "direccion": "Av. de Bruselas 35",
			"ciudad": "Alcobendas", "codigo_postal": "28108", "provincia": "Madrid", "numero_odmc": "ODMC-7",
			"cryptocustodios": []any{map[string]any{"empleo_rango": "Comandante", "nombre_apellidos": "Ana Ruiz", "cargo": "Jefa"},
				map[string]any{"nombre_apellidos": "Luis Gil"}}}, 201))
		if e["direccion_completa"] != "Av. de Bruselas 35, 28108 Alcobendas, Madrid" || e["activa"] != true {
			t.Fatalf("created %v", e)
		}
		cs := e["cryptocustodios"].([]any)
		if len(cs) != 2 || cs[0].(map[string]any)["nombre_apellidos"] != "Ana Ruiz" || num(cs[0].(map[string]any)["id"]) == 0 {
			t.Fatalf("custodians %v", cs)
		}
		w.api("POST", "/api/empresas/", map[string]any{"nombre": "Airbus"}, 201)
		catField(t, w.api("POST", "/api/empresas/", map[string]any{"ciudad": "x"}, 400), "nombre")
		r := w.api("POST", "/api/empresas/", map[string]any{"nombre": "X", "cryptocustodios": []any{map[string]any{"cargo": "x"}}}, 400)
		if !strings.Contains(r.body, `"cryptocustodios":{"0":{"nombre_apellidos"`) {
			t.Fatalf("per-line custodian error: %s", r.body)
		}
		id := num(e["id"])
		e = catObj(t, w.api("PATCH", fmt.Sprintf("/api/empresas/%d/", id), map[string]any{"ciudad": "Madrid",
			"cryptocustodios": []any{map[string]any{"nombre_apellidos": "Eva Sanz"}}}, 200))
		if e["nombre"] != "Indra Sistemas" || len(e["cryptocustodios"].([]any)) != 1 {
			t.Fatalf("patch replaces custodians: %v", e)
		}
		e = catObj(t, w.api("PATCH", fmt.Sprintf("/api/empresas/%d/", id), map[string]any{"numero_odmc": "ODMC-8"}, 200))
		if len(e["cryptocustodios"].([]any)) != 1 {
			t.Fatalf("patch without the list keeps custodians: %v", e)
		}
		names := func(path string) []string {
			var out []string
			for _, x := range catList(t, w.api("GET", path, nil, 200)) {
				out = append(out, x["nombre"].(string))
			}
			return out
		}
		if got := names("/api/empresas/"); !slices.Equal(got, []string{"Airbus", "Indra Sistemas"}) {
			t.Fatalf("list: %v", got)
		}
		w.api("DELETE", fmt.Sprintf("/api/empresas/%d/", id), nil, 204)
		if got := names("/api/empresas/"); !slices.Equal(got, []string{"Airbus"}) {
			t.Fatalf("list after soft delete: %v", got)
		}
		if got := names("/api/empresas/?incluir_inactivas=true&ordering=-nombre"); !slices.Equal(got, []string{"Indra Sistemas", "Airbus"}) {
			t.Fatalf("incluir_inactivas: %v", got)
		}
		if got := names("/api/empresas/?search=indra&incluir_inactivas=true"); len(got) != 1 {
			t.Fatalf("search: %v", got)
		}
		if e := catObj(t, w.api("GET", fmt.Sprintf("/api/empresas/%d/", id), nil, 200)); e["activa"] != false {
			t.Fatalf("deactivated company: %v", e)
		}
		w.api("DELETE", "/api/empresas/424242/", nil, 404)
		if catAudits(t, db, "empresas", "deactivate") != 1 || catAudits(t, db, "empresas", "update") != 2 {
			t.Fatal("company changes are not audited")
		}
	})
}

// invWorld is a catWorld on the 1/100 benchmark data set.
func newInvWorld(t *testing.T, db *database.DB) *catWorld {
	t.Helper()
	w := newCatWorld(t, db)
	if err := benchseed.Seed(context.Background(), db, benchseed.Small()); err != nil {
		t.Fatal(err)
	}
	return w
}

type resumen struct {
	Total, EnCustodia, FueraCustodia int
}

func (w *catWorld) resumen(query string) resumen {
	w.t.Helper()
	m := catObj(w.t, w.api("GET", "/api/inventario/resumen/"+query, nil, 200))
	return resumen{int(num(m["total"])), int(num(m["en_custodia"])), int(num(m["fuera_custodia"]))}
}

func TestCustodyInventarioList(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newInvWorld(t, db)
		all := catList(t, w.api("GET", "/api/inventario/", nil, 200))
		if len(all) != 200 {
			t.Fatalf("full list: %d items", len(all))
		}
		first := all[0]
		for _, k := range []string{"id", "codigo_producto", "descripcion", "tipo_nombre", "numero_serie", "estado", "estado_display",
			"ubicacion", "ultima_actualizacion", "ultimo_movimiento_info", "notas"} {
			if _, ok := first[k]; !ok {
				t.Fatalf("item lacks %s: %v", k, first)
			}
		}
		um := first["ultimo_movimiento_info"].(map[string]any)
		if first["codigo_producto"] != "CT-00001" || first["estado"] != "activo" || first["estado_display"] != "En custodia" ||
			um["producto_codigo"] != "CT-00001" || um["tipo_movimiento"] != "TRANSFERENCIA" || um["estado_nuevo"] != "activo" ||
			um["estado_anterior"] != "inactivo" || !strings.HasPrefix(um["albaran_numero"].(string), "ENT-") || first["tipo_nombre"] != "Tipo 01" {
			t.Fatalf("first item %v", first)
		}
		count := func(path string) int { return len(catList(t, w.api("GET", path, nil, 200))) }
		cases := []struct {
			path string
			want int
		}{
			{"/api/inventario/?estado=activo", 100},
			{"/api/inventario/?estado=INACTIVO", 100},
			{"/api/inventario/?codigo_producto=ct-00004", 10},
			{"/api/inventario/?codigo_producto=CT-0001", 100}, // CT-00010 … CT-00019
			{"/api/inventario/?numero_serie=sn-00003-0", 9},
			{"/api/inventario/?numero_serie=SN-00003-01", 1},
			{"/api/inventario/?ubicacion=Armario%203", 0},
			{"/api/inventario/?tipo=2", 10},
			{"/api/inventario/?search=ct-00020", 10},
			{"/api/inventario/?search=talos", 30}, // description of products 1, 9, 17
			{"/api/inventario/?codigo_producto=CT-00005&estado=activo", 5},
			{"/api/inventario/?codigo_producto=nada", 0},
		}
		for _, c := range cases {
			if got := count(c.path); got != c.want {
				t.Errorf("%s: %d items, want %d", c.path, got, c.want)
			}
		}
		// ubicacion is an exact match on a value the data has.
		loc := ""
		for _, it := range all {
			if u, ok := it["ubicacion"].(string); ok {
				loc = u
				break
			}
		}
		for _, it := range catList(t, w.api("GET", "/api/inventario/?ubicacion="+url.QueryEscape(loc), nil, 200)) {
			if it["ubicacion"] != loc {
				t.Fatalf("ubicacion filter returned %v", it)
			}
		}
		catField(t, w.api("GET", "/api/inventario/?estado=perdido", nil, 400), "estado")
		catField(t, w.api("GET", "/api/inventario/?ordering=precio", nil, 400), "ordering")
		catField(t, w.api("GET", "/api/inventario/?tipo=x", nil, 400), "tipo")

		desc := catList(t, w.api("GET", "/api/inventario/?ordering=-codigo_producto,numero_serie", nil, 200))
		if desc[0]["codigo_producto"] != "CT-00020" || desc[0]["numero_serie"] != "SN-00020-01" || desc[199]["codigo_producto"] != "CT-00001" {
			t.Fatalf("ordering: first %v last %v", desc[0], desc[199])
		}
		page := catObj(t, w.api("GET", "/api/inventario/?page=3&page_size=15&estado=inactivo", nil, 200))
		res := page["results"].([]any)
		if num(page["count"]) != 100 || len(res) != 15 || page["next"] == nil || page["previous"] == nil {
			t.Fatalf("page: count %v, %d results", page["count"], len(res))
		}
		w.api("GET", "/api/inventario/?page=9&page_size=15&estado=inactivo", nil, 404)
		if r := w.call("GET", "/api/inventario/", w.member, nil); r.status != 403 {
			t.Fatalf("member lists the inventory: %d", r.status)
		}
		if r := w.call("GET", "/api/inventario/", "", nil); r.status != 401 {
			t.Fatalf("anonymous lists the inventory: %d", r.status)
		}

		if got := w.resumen(""); got != (resumen{200, 100, 100}) {
			t.Fatalf("resumen %+v", got)
		}
		if got := w.resumen("?codigo_producto=CT-00002"); got != (resumen{10, 5, 5}) {
			t.Fatalf("filtered resumen %+v", got)
		}
		catField(t, w.api("GET", "/api/inventario/resumen/?estado=x", nil, 400), "estado")
	})
}

// TestCustodyInventarioStreamEncoding checks that the streamed full list
// (hand-written JSON) is byte-for-byte what encoding/json gives for the
// same items in a page, with characters that need escaping.
func TestCustodyInventarioStreamEncoding(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newInvWorld(t, db)
		tricky := "Caja <A&B> \"fuerte\" \\ ñandú\n\t\u2028 \x01 fin"
		w.api("PATCH", "/api/inventario/7/", map[string]any{"notas": tricky, "ubicacion": "Sala ☃", "descripcion": ""}, 200)
		var stream, paged []json.RawMessage
		if err := json.Unmarshal([]byte(w.api("GET", "/api/inventario/?ordering=id", nil, 200).body), &stream); err != nil {
			t.Fatal(err)
		}
		var page struct{ Results []json.RawMessage }
		if err := json.Unmarshal([]byte(w.api("GET", "/api/inventario/?ordering=id&page=1&page_size=1000", nil, 200).body), &page); err != nil {
			t.Fatal(err)
		}
		paged = page.Results
		if len(stream) != 200 || len(paged) != 200 {
			t.Fatalf("%d streamed, %d paged", len(stream), len(paged))
		}
		for i := range stream {
			if !bytes.Equal(stream[i], paged[i]) {
				t.Fatalf("item %d differs:\nstream %s\npaged  %s", i, stream[i], paged[i])
			}
		}
		var it map[string]any
		_ = json.Unmarshal(stream[6], &it)
		if it["notas"] != tricky || it["descripcion"] != nil || it["ubicacion"] != "Sala ☃" {
			t.Fatalf("round trip: %v", it)
		}
		// An empty result is still an array.
		if r := w.api("GET", "/api/inventario/?codigo_producto=nada", nil, 200); strings.TrimSpace(r.body) != "[]" {
			t.Fatalf("empty list: %q", r.body)
		}
	})
}

func TestCustodyInventarioItem(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		w := newInvWorld(t, db)
		it := catObj(t, w.api("GET", "/api/inventario/2/", nil, 200))
		if it["numero_serie"] != "SN-00001-02" || it["estado"] != "inactivo" {
			t.Fatalf("item 2: %v", it)
		}
		hist := catList(t, w.api("GET", "/api/inventario/2/historial/", nil, 200))
		if len(hist) != benchseed.Steps(1) {
			t.Fatalf("historial: %d movements", len(hist))
		}
		if hist[0]["fecha"].(string) < hist[1]["fecha"].(string) || hist[len(hist)-1]["tipo_movimiento"] != "INVENTARIO" ||
			hist[0]["estado_nuevo"] != "inactivo" || hist[0]["tipo_movimiento_display"] != "Transferencia" || hist[0]["producto_codigo"] != "CT-00001" {
			t.Fatalf("historial order or shape: %v", hist)
		}
		if num(it["ultimo_movimiento_info"].(map[string]any)["id"]) != num(hist[0]["id"]) {
			t.Fatalf("last movement %v is not the newest of %v", it["ultimo_movimiento_info"], hist[0])
		}
		w.api("GET", "/api/inventario/99999/historial/", nil, 404)
		w.api("GET", "/api/inventario/99999/", nil, 404)

		// Descriptive fields change; the state does not.
		r := w.api("PATCH", "/api/inventario/2/", map[string]any{"estado": "activo", "ubicacion": "Cámara 1"}, 400)
		catField(t, r, "estado")
		if got := catObj(t, w.api("GET", "/api/inventario/2/", nil, 200)); got["ubicacion"] == "Cámara 1" {
			t.Fatal("a rejected update wrote the location")
		}
		u := catObj(t, w.api("PUT", "/api/inventario/2/", map[string]any{"estado": "inactivo", "numero_serie": "SN-00001-02",
			"codigo_producto": "CT-00001", "ubicacion": "Cámara 1", "notas": "revisado"}, 200))
		if u["ubicacion"] != "Cámara 1" || u["notas"] != "revisado" || u["estado"] != "inactivo" {
			t.Fatalf("update: %v", u)
		}
		if n := len(catList(t, w.api("GET", "/api/inventario/?search=camara", nil, 200))); n != 1 {
			t.Fatalf("search by the new location: %d", n)
		}
		catField(t, w.api("PATCH", "/api/inventario/2/", map[string]any{"numero_serie": "OTRO"}, 400), "numero_serie")
		if w.resumen("") != (resumen{200, 100, 100}) {
			t.Fatal("editing descriptive fields moved the totals")
		}

		// Stock that pre-dates the system: registered without a movement,
		// in the totals, deletable only while it has no movements.
		reg := catObj(t, w.api("POST", "/api/inventario/", map[string]any{"codigo_producto": "CT-00003", "numero_serie": "PREVIO-1",
			"ubicacion": "Caja fuerte"}, 201))
		if reg["estado"] != "activo" || reg["ultimo_movimiento_info"] != nil || reg["descripcion"] == nil {
			t.Fatalf("registered: %v", reg)
		}
		out := catObj(t, w.api("POST", "/api/inventario/", map[string]any{"producto": 4, "numero_serie": "PREVIO-2", "estado": "inactivo"}, 201))
		if w.resumen("") != (resumen{202, 101, 101}) {
			t.Fatalf("totals after registering: %+v", w.resumen(""))
		}
		catField(t, w.api("POST", "/api/inventario/", map[string]any{"codigo_producto": "CT-00003", "numero_serie": "PREVIO-1"}, 409), "numero_serie")
		w.api("POST", "/api/inventario/", map[string]any{"codigo_producto": "CT-00001", "numero_serie": "SN-00001-01"}, 409)
		catField(t, w.api("POST", "/api/inventario/", map[string]any{"codigo_producto": "NO-EXISTE", "numero_serie": "1"}, 400), "codigo_producto")
		catField(t, w.api("POST", "/api/inventario/", map[string]any{"codigo_producto": "CT-00003", "numero_serie": "X", "estado": "roto"}, 400), "estado")
		catField(t, w.api("POST", "/api/inventario/", map[string]any{"codigo_producto": "CT-00003"}, 400), "numero_serie")
		if w.resumen("") != (resumen{202, 101, 101}) {
			t.Fatal("a rejected registration moved the totals")
		}

		w.api("DELETE", "/api/inventario/2/", nil, 409)
		if r := w.call("DELETE", fmt.Sprintf("/api/inventario/%d/", num(reg["id"])), w.jefeSup, nil); r.status != 403 {
			t.Fatalf("delete without productos.eliminar: %d", r.status)
		}
		w.api("DELETE", fmt.Sprintf("/api/inventario/%d/", num(reg["id"])), nil, 204)
		w.api("DELETE", fmt.Sprintf("/api/inventario/%d/", num(out["id"])), nil, 204)
		if w.resumen("") != (resumen{200, 100, 100}) {
			t.Fatalf("totals after deleting: %+v", w.resumen(""))
		}
		if catAudits(t, db, "inventario", "create") != 2 || catAudits(t, db, "inventario", "delete") != 2 || catAudits(t, db, "inventario", "update") != 1 {
			t.Fatal("inventory changes are not all audited")
		}
	})
}
