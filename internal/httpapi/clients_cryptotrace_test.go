package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/identity"
)

// Contract tests for the cryptotrace Next.js frontend (legacy repository,
// branch development: cryptotrace/cryptotrace-frontend/src). Each test is
// named after the client file, each subtest after the call, and sends the
// request exactly as that file does:
//
//   - lib/api.ts apiFetch: NEXT_PUBLIC_API_URL (…/api) + endpoint, always
//     `Content-Type: application/json` (also on GET, DELETE and bodiless
//     POSTs), `Authorization: Bearer`;
//   - the pages' own fetch(): only the headers they write;
//   - uploads: FormData, the browser's multipart Content-Type, Bearer;
//   - paths with their final slash as written.
//
// Then it checks the fields the page reads. docs/api-compat.md's
// "cryptotrace frontend" table lists every call with its test.
// (Session calls — /token/, /token/refresh/, cambiar-password — are in the
// sessions tests.)

// ctClient is a custodian using the frontend.
type ctClient struct {
	*stack
	t     *testing.T
	token string
	uid   int64
}

func newCTClient(t *testing.T, db *database.DB) *ctClient {
	t.Helper()
	s := newStack(t, db)
	u := s.user("custodia@example.org", "Cliente-Cripto-2026", identity.RoleCrypto)
	return &ctClient{stack: s, t: t, token: s.token(u.ID), uid: u.ID}
}

// send builds a request with exactly these headers and body.
func (c *ctClient) send(method, path string, headers map[string]string, body []byte) response {
	c.t.Helper()
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	rec := httptest.NewRecorder()
	c.srv.Handler().ServeHTTP(rec, req)
	return response{rec.Code, rec.Header(), rec.Body.String()}
}

// apiFetch is lib/api.ts apiFetch(endpoint, {method, body}).
func (c *ctClient) apiFetch(method, endpoint, body string) response {
	c.t.Helper()
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	return c.send(method, "/api"+endpoint, map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + c.token}, b)
}

// fetch is a page's own fetch() with the Authorization header and the
// extra headers it writes.
func (c *ctClient) fetch(method, path string, extra map[string]string, body string) response {
	c.t.Helper()
	h := map[string]string{"Authorization": "Bearer " + c.token}
	for k, v := range extra {
		h[k] = v
	}
	var b []byte
	if body != "" {
		b = []byte(body)
	}
	return c.send(method, path, h, b)
}

// formData is fetch(url, {method: 'POST', headers: {Authorization}, body: formData}).
func (c *ctClient) formData(path string, fields map[string]string, files map[string]part) response {
	c.t.Helper()
	ct, body := multipartBody(c.t, fields, files)
	return c.send("POST", path, map[string]string{"Content-Type": ct, "Authorization": "Bearer " + c.token}, []byte(body))
}

// want checks the status and that a JSON answer says so in its
// Content-Type (apiFetch parses only application/json).
func (c *ctClient) want(r response, status int) response {
	c.t.Helper()
	if r.status != status {
		c.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if r.body != "" && (strings.HasPrefix(r.body, "{") || strings.HasPrefix(r.body, "[")) &&
		!strings.Contains(r.header.Get("Content-Type"), "application/json") {
		c.t.Fatalf("JSON answer with Content-Type %q", r.header.Get("Content-Type"))
	}
	return r
}

func (c *ctClient) obj(r response, status int) map[string]any {
	c.t.Helper()
	return decode[map[string]any](c.t, c.want(r, status))
}

func (c *ctClient) list(r response, status int) []map[string]any {
	c.t.Helper()
	return decode[[]map[string]any](c.t, c.want(r, status))
}

func (c *ctClient) count(query string, args ...any) int {
	c.t.Helper()
	var n int
	if err := c.db.NewRaw(query, args...).Scan(context.Background(), &n); err != nil {
		c.t.Fatalf("%s: %v", query, err)
	}
	return n
}

// hasKeys fails unless m has every key.
func hasKeys(t *testing.T, what string, m map[string]any, keys ...string) {
	t.Helper()
	for _, k := range keys {
		if _, ok := m[k]; !ok {
			t.Fatalf("%s lacks %q: %v", what, k, m)
		}
	}
}

func js(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func id(v any) int64 { return num(v) }

// ctWorld is what the pages find: two companies, a type, a typed and an
// untyped product, an orphan, and an incoming INVENTARIO document with
// two items in custody.
type ctWorld struct {
	origen, destino int64
	tipo            int64
	doc             int64
}

func (c *ctClient) seed() ctWorld {
	c.t.Helper()
	var w ctWorld
	w.origen = id(c.obj(c.apiFetch("POST", "/empresas/", js(map[string]any{"nombre": "Proveedor Cifra S.A.", "direccion": "Calle Mayor 1",
		"ciudad": "Madrid", "codigo_postal": "28001", "provincia": "Madrid", "numero_odmc": "ODMC-11"})), 201)["id"])
	w.destino = id(c.obj(c.apiFetch("POST", "/empresas/", js(map[string]any{"nombre": "Unidad Receptora", "direccion": "Av. Sur 9",
		"ciudad": "Sevilla", "codigo_postal": "41001", "provincia": "Sevilla", "numero_odmc": "ODMC-22"})), 201)["id"])
	w.tipo = id(c.obj(c.apiFetch("POST", "/tipos-producto/", js(map[string]any{"nombre": "Cifrador"})), 201)["id"])
	c.want(c.apiFetch("POST", "/productos/", js(map[string]any{"codigo_producto": "KG-84", "descripcion": "Cifrador KG-84", "tipo": w.tipo})), 201)
	c.want(c.apiFetch("POST", "/productos/", js(map[string]any{"codigo_producto": "HUERFANO-1", "descripcion": "Sin uso"})), 201)
	w.doc = id(c.obj(c.apiFetch("POST", "/albaranes/", js(map[string]any{"numero": "INV-1", "tipo_documento": "INVENTARIO",
		"direccion_transferencia": "ENTRADA", "empresa_origen": w.origen, "empresa_destino": w.destino, "fecha_informe": "2026-03-01",
		"articulos": []any{map[string]any{"codigo": "KG-84", "numero_serie": "SN-1"}, map[string]any{"codigo": "KG-84", "numero_serie": "SN-2"},
			map[string]any{"codigo": "PRC-117", "numero_serie": "R-1", "descripcion": "Radio"}}})), 201)["id"])
	return w
}

func TestCryptotraceEmpresasTable(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newCTClient(t, db)
		w := c.seed()
		t.Run("fetchEmpresas GET /empresas/", func(t *testing.T) {
			es := c.list(c.apiFetch("GET", "/empresas/", ""), 200)
			if len(es) != 2 {
				t.Fatalf("%v", es)
			}
			hasKeys(t, "empresa", es[0], "id", "nombre", "direccion", "ciudad", "codigo_postal", "provincia", "numero_odmc")
		})
		t.Run("deleteEmpresa DELETE /empresas/{id}/", func(t *testing.T) {
			extra := id(c.obj(c.apiFetch("POST", "/empresas/", js(map[string]any{"nombre": "Baja S.L.", "direccion": "x", "ciudad": "x",
				"codigo_postal": "1", "provincia": "x"})), 201)["id"])
			r := c.want(c.apiFetch("DELETE", fmt.Sprintf("/empresas/%d/", extra), ""), 204)
			if r.body != "" {
				t.Fatalf("204 with a body: %q", r.body)
			}
			for _, e := range c.list(c.apiFetch("GET", "/empresas/", ""), 200) {
				if id(e["id"]) == extra {
					t.Fatal("a deleted company is still listed")
				}
			}
			_ = w
		})
	})
}

func TestCryptotraceEmpresaForm(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newCTClient(t, db)
		// The form's state starts with pais, which the API does not have.
		form := map[string]any{"nombre": "Nueva S.A.", "direccion": "Calle 2", "ciudad": "Bilbao", "codigo_postal": "48001",
			"provincia": "Bizkaia", "pais": "", "numero_odmc": ""}
		var created map[string]any
		t.Run("createEmpresa POST /empresas/", func(t *testing.T) {
			created = c.obj(c.apiFetch("POST", "/empresas/", js(form)), 201)
			if created["nombre"] != "Nueva S.A." || created["activa"] != true || id(created["id"]) == 0 {
				t.Fatalf("%v", created)
			}
		})
		t.Run("updateEmpresa PUT /empresas/{id}/", func(t *testing.T) {
			// The edit form sends the company as listed, plus its own fields.
			e := created
			e["pais"], e["ciudad"] = "España", "Getxo"
			got := c.obj(c.apiFetch("PUT", fmt.Sprintf("/empresas/%d/", id(e["id"])), js(e)), 200)
			if got["ciudad"] != "Getxo" || got["nombre"] != "Nueva S.A." {
				t.Fatalf("%v", got)
			}
		})
	})
}

func TestCryptotraceInventarioTable(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newCTClient(t, db)
		c.seed()
		t.Run("fetchInventario GET /inventario/", func(t *testing.T) {
			items := c.list(c.apiFetch("GET", "/inventario/", ""), 200)
			if len(items) != 3 {
				t.Fatalf("%d items", len(items))
			}
			it := items[0]
			hasKeys(t, "item", it, "id", "codigo_producto", "descripcion", "tipo_nombre", "numero_serie", "estado", "estado_display",
				"ubicacion", "ultimo_movimiento_info", "notas")
			um := it["ultimo_movimiento_info"].(map[string]any)
			// All 17 keys of the legacy MovimientoProductoBasicoSerializer.
			legacy := []string{"id", "producto_codigo", "producto_descripcion", "numero_serie", "descripcion", "albaran_numero", "albaran_id",
				"fecha", "tipo_movimiento", "tipo_movimiento_display", "estado_anterior", "estado_nuevo", "cantidad", "cc", "observaciones",
				"pagina_origen", "pagina_id"}
			if len(um) != len(legacy) {
				t.Errorf("ultimo_movimiento_info has %d keys, want %d: %v", len(um), len(legacy), um)
			}
			hasKeys(t, "ultimo_movimiento_info", um, legacy...)
			if um["tipo_movimiento_display"] != "Inventario" || um["albaran_numero"] != "INV-1" || num(um["cc"]) != 1 ||
				um["producto_codigo"] != it["codigo_producto"] || um["numero_serie"] != it["numero_serie"] || num(um["pagina_id"]) != num(um["albaran_id"]) ||
				num(um["pagina_origen"]) != 1 || num(um["cantidad"]) != 1 || it["estado_display"] != "En custodia" {
				t.Fatalf("%v", it)
			}
			// The streamed list and the one-item read say the same.
			one := c.obj(c.apiFetch("GET", fmt.Sprintf("/inventario/%d/", id(it["id"])), ""), 200)
			if js(one) != js(it) {
				t.Fatalf("list %s\nitem %s", js(it), js(one))
			}
		})
		t.Run("fetchInventarioResumen GET /inventario/resumen/", func(t *testing.T) {
			r := c.obj(c.apiFetch("GET", "/inventario/resumen/", ""), 200)
			if num(r["total"]) != 3 || num(r["en_custodia"]) != 3 || num(r["fuera_custodia"]) != 0 {
				t.Fatalf("%v", r)
			}
		})
	})
}

func TestCryptotraceGestionCatalogo(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newCTClient(t, db)
		c.seed()
		t.Run("obtenerProductosSinTipo GET /productos/productos-sin-tipo/", func(t *testing.T) {
			r := c.obj(c.apiFetch("GET", "/productos/productos-sin-tipo/", ""), 200)
			ps := r["productos"].([]any)
			if num(r["total"]) != 2 || num(r["huerfanos"]) != 1 || num(r["con_movimientos"]) != 1 || len(ps) != 2 {
				t.Fatalf("%v", r)
			}
			hasKeys(t, "producto sin tipo", ps[0].(map[string]any), "id", "codigo_producto", "descripcion", "ultima_actualizacion",
				"movimientos_count", "es_huerfano")
		})
		// The page calls limpiarProductosHuerfanos(false), shows a confirm
		// dialog with the count, then limpiarProductosHuerfanos(true); api.ts
		// drops the argument, so both are the same bare POST.
		bare := func() map[string]any { return c.obj(c.apiFetch("POST", "/productos/limpiar-huerfanos/", ""), 200) }
		t.Run("limpiarProductosHuerfanos POST /productos/limpiar-huerfanos/ (preview, cancel)", func(t *testing.T) {
			p := bare()
			if p["requiere_confirmacion"] != true || num(p["total"]) != 1 {
				t.Fatalf("%v", p)
			}
			// Cancelling sends nothing; an explicit confirmar:false ends the
			// pending confirmation (so does another user's call: per user).
			c.obj(c.apiFetch("POST", "/productos/limpiar-huerfanos/", `{"confirmar": false}`), 200)
			if p := bare(); p["requiere_confirmacion"] != true {
				t.Fatalf("after confirmar:false a bare call must preview: %v", p)
			}
		})
		t.Run("limpiarProductosHuerfanos POST /productos/limpiar-huerfanos/ (confirmed)", func(t *testing.T) {
			// Pending from the previous subtest's last preview; a new orphan
			// changes the set, so the repeat previews again instead.
			c.want(c.apiFetch("POST", "/productos/", js(map[string]any{"codigo_producto": "HUERFANO-2", "descripcion": "Otro"})), 201)
			p := bare()
			if p["requiere_confirmacion"] != true || num(p["total"]) != 2 {
				t.Fatalf("changed set must preview: %v", p)
			}
			d := bare()
			if d["success"] != true || num(d["eliminados"]) != 2 || !strings.Contains(d["mensaje"].(string), "eliminaron") {
				t.Fatalf("%v", d)
			}
			if n := c.count("SELECT count(*) FROM productos WHERE codigo_producto LIKE 'HUERFANO-%'"); n != 0 {
				t.Fatalf("%d orphans left", n)
			}
			if n := c.count("SELECT count(*) FROM productos WHERE codigo_producto = 'PRC-117'"); n != 1 {
				t.Fatal("an untyped product with movements was deleted")
			}
			if p := bare(); p["requiere_confirmacion"] != true || num(p["total"]) != 0 {
				t.Fatalf("%v", p)
			}
		})
		t.Run("asignarTiposAutomatico POST /productos/asignar-tipos-automatico/", func(t *testing.T) {
			// PRC-117's description shares no word with KG-84's and its code
			// no prefix: add one that does.
			c.want(c.apiFetch("POST", "/productos/", js(map[string]any{"codigo_producto": "KG-84A", "descripcion": "Cifrador nuevo"})), 201)
			for i := 0; i < 2; i++ { // "Asignación Automática", then "Aplicar Todas": both bare
				r := c.obj(c.apiFetch("POST", "/productos/asignar-tipos-automatico/", ""), 200)
				sug := r["asignaciones_sugeridas"].([]any)
				if r["requiere_confirmacion"] != true || num(r["total_sugerencias"]) != 1 || len(sug) != 1 {
					t.Fatalf("%v", r)
				}
				hasKeys(t, "sugerencia", sug[0].(map[string]any), "producto_id", "codigo", "descripcion", "tipo_sugerido_id", "tipo_sugerido_nombre", "razon")
			}
			if n := c.count("SELECT count(*) FROM productos WHERE codigo_producto = 'KG-84A' AND tipo_id IS NULL"); n != 1 {
				t.Fatal("a bare call applied a guessed type")
			}
		})
	})
}

func TestCryptotraceProductosTable(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newCTClient(t, db)
		w := c.seed()
		t.Run("fetchProductos GET /productos/", func(t *testing.T) {
			ps := c.list(c.apiFetch("GET", "/productos/", ""), 200)
			if len(ps) != 3 {
				t.Fatalf("%v", ps)
			}
			hasKeys(t, "producto", ps[0], "id", "codigo_producto", "descripcion", "tipo", "tipo_nombre")
		})
		t.Run("fetchTiposProducto GET /tipos-producto/", func(t *testing.T) {
			ts := c.list(c.apiFetch("GET", "/tipos-producto/", ""), 200)
			if len(ts) != 1 || ts[0]["nombre"] != "Cifrador" || id(ts[0]["id"]) != w.tipo {
				t.Fatalf("%v", ts)
			}
		})
		t.Run("crearProductoCatalogo POST /productos/", func(t *testing.T) {
			// The <select> gives the type id as a string.
			p := c.obj(c.apiFetch("POST", "/productos/", js(map[string]any{"codigo_producto": "TACLANE", "descripcion": "Cifrador IP",
				"tipo": fmt.Sprint(w.tipo)})), 201)
			if p["tipo_nombre"] != "Cifrador" || p["codigo_producto"] != "TACLANE" {
				t.Fatalf("%v", p)
			}
		})
	})
}

func TestCryptotraceProductoDetalle(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newCTClient(t, db)
		c.seed()
		t.Run("fetchProductoById GET /productos/{id}/", func(t *testing.T) {
			ps := c.list(c.apiFetch("GET", "/productos/", ""), 200)
			p := c.obj(c.apiFetch("GET", fmt.Sprintf("/productos/%d/", id(ps[0]["id"])), ""), 200)
			hasKeys(t, "producto", p, "codigo_producto", "descripcion")
		})
	})
}

// ac21PNG is the scan the upload page sends (a canvas blob).
var ac21PNG = pngBytes

func TestCryptotraceAlbaranesTable(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newCTClient(t, db)
		w := c.seed()
		t.Run("fetchDocumentosPrincipales GET /albaranes/principales/", func(t *testing.T) {
			ds := c.list(c.apiFetch("GET", "/albaranes/principales/", ""), 200)
			if len(ds) != 1 {
				t.Fatalf("%v", ds)
			}
			hasKeys(t, "albarán", ds[0], "id", "numero", "fecha", "empresa_origen", "empresa_destino", "direccion_transferencia", "total_paginas")
		})
		t.Run("generar-ac21-html GET /albaranes/{id}/generar-ac21-html/", func(t *testing.T) {
			r := c.fetch("GET", fmt.Sprintf("/api/albaranes/%d/generar-ac21-html/", w.doc), map[string]string{"Content-Type": "application/json"}, "")
			if r.status != 200 || !strings.HasPrefix(r.header.Get("Content-Type"), "text/html") || !strings.Contains(r.body, "INV-1") {
				t.Fatalf("%d %s", r.status, r.header.Get("Content-Type"))
			}
		})
		t.Run("deleteAlbaran DELETE /albaranes/{id}/", func(t *testing.T) {
			c.want(c.apiFetch("DELETE", fmt.Sprintf("/albaranes/%d/", w.doc), ""), 204)
			if n := c.count("SELECT count(*) FROM albaranes"); n != 0 {
				t.Fatal("not deleted")
			}
		})
	})
}

func TestCryptotraceAlbaranDetail(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newCTClient(t, db)
		w := c.seed()
		t.Run("fetchAlbaranById GET /albaranes/{id}/", func(t *testing.T) {
			d := c.obj(c.apiFetch("GET", fmt.Sprintf("/albaranes/%d/", w.doc), ""), 200)
			if d["numero"] != "INV-1" || id(d["empresa_origen"]) != w.origen || d["direccion_transferencia"] != "ENTRADA" {
				t.Fatalf("%v", d)
			}
			hasKeys(t, "albarán", d, "fecha", "empresa_destino")
		})
	})
}

func TestCryptotraceAlbaranMovimientos(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newCTClient(t, db)
		w := c.seed()
		t.Run("fetchMovimientosAlbaran GET /albaranes/{id}/movimientos/", func(t *testing.T) {
			ms := c.list(c.apiFetch("GET", fmt.Sprintf("/albaranes/%d/movimientos/", w.doc), ""), 200)
			if len(ms) != 3 || ms[0]["producto_codigo"] != "KG-84" || ms[0]["estado_nuevo"] != "activo" {
				t.Fatalf("%v", ms)
			}
			hasKeys(t, "movimiento", ms[0], "id", "producto_codigo", "producto_descripcion", "numero_serie", "fecha", "estado_anterior", "estado_nuevo")
		})
	})
}

func TestCryptotraceAlbaranesActions(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newCTClient(t, db)
		t.Run("fetchProductosAgrupados GET /lineas-temporales/agrupados/", func(t *testing.T) {
			r := c.obj(c.apiFetch("GET", "/lineas-temporales/agrupados/", ""), 200)
			if ps, ok := r["productos"].([]any); !ok || len(ps) != 0 {
				t.Fatalf("%v", r)
			}
		})
	})
}

// editPayload is AC21Detail.tsx guardarCambios' PATCH body, built from the
// document and its movements as the page holds them: empty strings for what is
// null, company ids, movements re-sent with cc defaulting to 1, and
// accesorios / equipos_prueba JSON.stringify'd.
func editPayload(doc map[string]any, movs []map[string]any, accesorios, equipos []map[string]any) map[string]any {
	or := func(v any, d any) any {
		if v == nil || v == "" || v == false {
			return d
		}
		return v
	}
	ms := make([]any, len(movs))
	for i, m := range movs {
		ms[i] = map[string]any{"id": m["id"], "producto_codigo": or(m["producto_codigo"], or(m["descripcion"], "")), "descripcion": or(m["descripcion"], ""),
			"cantidad": or(m["cantidad"], 1), "numero_serie": or(m["numero_serie"], ""), "cc": or(m["cc"], 1), "observaciones": or(m["observaciones"], "")}
	}
	acc, _ := json.Marshal(accesorios)
	eq, _ := json.Marshal(equipos)
	return map[string]any{
		"numero_registro_salida": or(doc["numero_registro_salida"], ""), "numero_registro_entrada": or(doc["numero_registro_entrada"], ""),
		"fecha_informe": or(doc["fecha_informe"], ""), "fecha_transaccion": or(doc["fecha_transaccion"], ""),
		"tipo_documento": or(doc["tipo_documento"], ""), "codigo_contabilidad": or(doc["codigo_contabilidad"], ""),
		"observaciones_odmc": or(doc["observaciones_odmc"], ""), "estado_material": or(doc["estado_material"], ""),
		"empresa_origen": or(doc["empresa_origen"], ""), "empresa_destino": or(doc["empresa_destino"], ""),
		"firma_a_nombre_apellidos": or(doc["firma_a_nombre_apellidos"], ""), "firma_a_cargo": or(doc["firma_a_cargo"], ""),
		"firma_a_empleo_rango": or(doc["firma_a_empleo_rango"], ""), "firma_b_nombre_apellidos": or(doc["firma_b_nombre_apellidos"], ""),
		"firma_b_cargo": or(doc["firma_b_cargo"], ""), "firma_b_empleo_rango": or(doc["firma_b_empleo_rango"], ""),
		"destinatario_autorizado_testigo":          or(doc["destinatario_autorizado_testigo"], false),
		"destinatario_autorizado_otro":             or(doc["destinatario_autorizado_otro"], false),
		"destinatario_autorizado_otro_especificar": or(doc["destinatario_autorizado_otro_especificar"], ""),
		"movimientos": ms, "accesorios": string(acc), "equipos_prueba": string(eq),
	}
}

// stageAndProcess stages an incoming AC21 as the upload page does and
// processes it as the staging page does; it returns the new document.
func (c *ctClient) stageAndProcess(registro string, arts ...map[string]any) map[string]any {
	c.t.Helper()
	for _, a := range arts {
		c.want(c.apiFetch("POST", "/lineas-temporales/asignar-tipo/", js(map[string]any{"codigo_producto": a["codigo_producto"], "tipo": "Cifrador"})), 200)
	}
	payload := uploadPayload(registro, arts...)
	c.obj(c.formData("/api/albaranes/", map[string]string{"data": js(payload)}, map[string]part{"imagen_documento": {"blob", ac21PNG}}), 201)
	p := c.obj(c.apiFetch("POST", "/lineas-temporales/procesar/", ""), 201)
	return c.obj(c.apiFetch("GET", fmt.Sprintf("/albaranes/%d/", id(p["albaran_id"])), ""), 200)
}

// uploadPayload is upload-ac21/page.tsx handleConfirmContinuado's payload
// for an OCR'd incoming AC21: {...processedData, numero, …,
// direccion_transferencia: "ENTRADA", articulos}.
func uploadPayload(registro string, arts ...map[string]any) map[string]any {
	list := make([]any, len(arts))
	for i, a := range arts {
		list[i] = a
	}
	empresa := func(nombre string) map[string]any {
		return map[string]any{"nombre": nombre, "direccion": "", "codigo_postal": "", "ciudad": "", "provincia": "", "pais": "",
			"numero_odmc": "", "nif": "", "telefono": "", "email": ""}
	}
	return map[string]any{
		"cabecera": map[string]any{"numero_registro_salida": "", "fecha_transaccion": "2026-03-15", "numero_registro_entrada": registro,
			"fecha_informe": "2026-03-14", "odmc_numero": "ODMC-9", "tipo_transaccion": "TRANSFERENCIA"},
		"empresa_origen": empresa("Proveedor Cifra S.A."), "empresa_destino": empresa("Unidad Receptora"),
		"articulos":  list,
		"accesorios": []any{map[string]any{"descripcion": "Cable", "cantidad": 2}}, "equipos_prueba": []any{map[string]any{"codigo": "EP-1"}},
		"observaciones": "",
		"firmas": map[string]any{"firma_a": map[string]any{"nombre": "Ana Pérez", "cargo": "Custodia", "empleo_rango": "Cte.", "firma": ""},
			"firma_b": map[string]any{"nombre": "", "cargo": "", "empleo_rango": "", "firma": ""}},
		"numero": "", "numero_registro_salida": "", "tipo_documento": "TRANSFERENCIA", "direccion_transferencia": "ENTRADA",
	}
}

// ocrLine is an OCR'd AC21 line as the page keeps it: no codigo, the code
// in codigo_producto (typed by hand) or only a description, serial ranges.
func ocrLine(codigo, serie string) map[string]any {
	return map[string]any{"codigo_producto": codigo, "descripcion": "Equipo " + codigo, "cantidad": 1, "numero_serie_inicio": serie,
		"numero_serie_fin": serie, "cc": 1, "observaciones": "", "tipo": "Cifrador"}
}

func TestCryptotraceAC21Detail(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newCTClient(t, db)
		w := c.seed()
		doc := c.stageAndProcess("E-2026-7", ocrLine("KG-84", "SN-10"), ocrLine("KG-84", "SN-11"))
		docID := id(doc["id"])
		if doc["tiene_imagen_documento"] != true {
			t.Fatalf("%v", doc)
		}
		t.Run("obtenerPaginasDocumento GET /albaranes/{id}/paginas/", func(t *testing.T) {
			ps := c.list(c.apiFetch("GET", fmt.Sprintf("/albaranes/%d/paginas/", docID), ""), 200)
			if len(ps) != 1 || id(ps[0]["id"]) != docID {
				t.Fatalf("%v", ps)
			}
		})
		t.Run("fetchEmpresas GET /empresas/", func(t *testing.T) {
			if es := c.list(c.apiFetch("GET", "/empresas/", ""), 200); len(es) != 2 {
				t.Fatalf("%v", es)
			}
		})
		t.Run("imagen-documento GET /albaranes/{id}/imagen-documento/", func(t *testing.T) {
			r := c.fetch("GET", fmt.Sprintf("/api/albaranes/%d/imagen-documento/", docID), nil, "")
			if r.status != 200 || r.body != string(ac21PNG) || r.header.Get("Content-Type") != "image/png" {
				t.Fatalf("%d %q", r.status, r.header.Get("Content-Type"))
			}
			if r := c.fetch("GET", fmt.Sprintf("/api/albaranes/%d/imagen-documento/", w.doc), nil, ""); r.status != 404 {
				t.Fatalf("no image: %d", r.status)
			}
		})
		var movs []map[string]any
		t.Run("loadMovimientos GET /albaranes/{id}/movimientos/", func(t *testing.T) {
			movs = c.list(c.fetch("GET", fmt.Sprintf("/api/albaranes/%d/movimientos/", docID), nil, ""), 200)
			if len(movs) != 2 {
				t.Fatalf("%v", movs)
			}
			hasKeys(t, "movimiento", movs[0], "id", "producto_codigo", "descripcion", "cantidad", "numero_serie", "cc", "observaciones")
			if num(movs[0]["cc"]) != 1 {
				t.Fatalf("cc %v", movs[0]["cc"])
			}
		})
		t.Run("handlePrintAC21 GET /albaranes/{id}/generar-ac21-html/", func(t *testing.T) {
			r := c.fetch("GET", fmt.Sprintf("/api/albaranes/%d/generar-ac21-html/", docID), map[string]string{"Content-Type": "application/json"}, "")
			if r.status != 200 || !strings.Contains(r.body, "KG-84") {
				t.Fatalf("%d", r.status)
			}
		})
		t.Run("guardarCambios PATCH /albaranes/{id}/", func(t *testing.T) {
			doc["observaciones_odmc"], doc["empresa_origen"], doc["empresa_destino"] = "Revisado", w.origen, w.destino
			movs[1]["observaciones"] = "caja 2"
			body := editPayload(doc, movs, []map[string]any{{"descripcion": "Cable", "cantidad": 3}, {"descripcion": "Antena", "cantidad": 1}},
				[]map[string]any{{"codigo": "EP-2"}})
			if _, ok := body["accesorios"].(string); !ok {
				t.Fatal("the page sends accesorios as a string")
			}
			got := c.obj(c.fetch("PATCH", fmt.Sprintf("/api/albaranes/%d/", docID), map[string]string{"Content-Type": "application/json"}, js(body)), 200)
			acc, _ := got["accesorios"].([]any)
			eq, _ := got["equipos_prueba"].([]any)
			if len(acc) != 2 || acc[0].(map[string]any)["descripcion"] != "Cable" || num(acc[0].(map[string]any)["cantidad"]) != 3 ||
				len(eq) != 1 || eq[0].(map[string]any)["codigo"] != "EP-2" || got["observaciones_odmc"] != "Revisado" || id(got["empresa_origen"]) != w.origen {
				t.Fatalf("%v", got)
			}
			ms := c.list(c.fetch("GET", fmt.Sprintf("/api/albaranes/%d/movimientos/", docID), nil, ""), 200)
			if len(ms) != 2 || ms[1]["observaciones"] != "caja 2" || num(ms[1]["cc"]) != 1 {
				t.Fatalf("%v", ms)
			}
			// Saved again as it now reads (lists, as the page re-parses them).
			again := editPayload(got, ms, []map[string]any{{"descripcion": "Cable", "cantidad": 3}, {"descripcion": "Antena", "cantidad": 1}}, nil)
			c.want(c.fetch("PATCH", fmt.Sprintf("/api/albaranes/%d/", docID), map[string]string{"Content-Type": "application/json"}, js(again)), 200)
		})
		t.Run("guardarCambios PATCH with accesorios that are not a list", func(t *testing.T) {
			before := c.obj(c.apiFetch("GET", fmt.Sprintf("/albaranes/%d/", docID), ""), 200)
			for _, bad := range []string{`"cable"`, `"{\"descripcion\":\"x\"}"`, `7`} {
				r := c.want(c.fetch("PATCH", fmt.Sprintf("/api/albaranes/%d/", docID), map[string]string{"Content-Type": "application/json"},
					`{"observaciones_odmc": "no", "accesorios": `+bad+`}`), 400)
				if !strings.Contains(r.body, `"accesorios"`) {
					t.Fatalf("%s: %s", bad, r.body)
				}
			}
			after := c.obj(c.apiFetch("GET", fmt.Sprintf("/albaranes/%d/", docID), ""), 200)
			if after["observaciones_odmc"] != before["observaciones_odmc"] {
				t.Fatal("a refused edit wrote a field")
			}
		})
	})
}

func TestCryptotraceGestionLineaTemporal(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newCTClient(t, db)
		c.seed()
		// An incoming AC21 staged by the upload page: one typed code, one
		// unknown.
		c.obj(c.formData("/api/albaranes/", map[string]string{"data": js(uploadPayload("E-2026-8", ocrLine("KG-84", "SN-20"), ocrLine("NUEVO-9", "N-1")))},
			map[string]part{"imagen_documento": {"blob", ac21PNG}}), 201)
		t.Run("fetchProductosAgrupados GET /lineas-temporales/agrupados/", func(t *testing.T) {
			r := c.obj(c.apiFetch("GET", "/lineas-temporales/agrupados/", ""), 200)
			ps := r["productos"].([]any)
			if len(ps) != 2 || len(r["tipos_disponibles"].([]any)) != 1 {
				t.Fatalf("%v", r)
			}
			hasKeys(t, "grupo", ps[0].(map[string]any), "codigo_producto", "cantidad", "tipificado", "descripcion", "tipo")
		})
		t.Run("procesarAlbaran POST /lineas-temporales/procesar/ (a code without type)", func(t *testing.T) {
			// The page warns that untyped products "se procesarán sin tipo"
			// and sends the bare POST: the typed line is filed, the other
			// stays in staging, reported.
			p := c.obj(c.apiFetch("POST", "/lineas-temporales/procesar/", ""), 201)
			if num(p["procesados"]) != 1 || strings.Join(toStrings(p["codigos_sin_tipo"]), ",") != "NUEVO-9" || len(p["pendientes"].([]any)) != 1 ||
				!strings.Contains(p["detail"].(string), "NUEVO-9") {
				t.Fatalf("%v", p)
			}
			g := c.obj(c.apiFetch("GET", "/lineas-temporales/agrupados/", ""), 200)
			if ps := g["productos"].([]any); len(ps) != 1 || ps[0].(map[string]any)["codigo_producto"] != "NUEVO-9" || ps[0].(map[string]any)["tipificado"] != false {
				t.Fatalf("%v", g)
			}
		})
		t.Run("guardarTipoProducto POST /lineas-temporales/asignar-tipo/", func(t *testing.T) {
			r := c.obj(c.apiFetch("POST", "/lineas-temporales/asignar-tipo/", js(map[string]any{"codigo_producto": "NUEVO-9", "tipo": "Radio"})), 200)
			if r["message"] == "" || r["created"] != true {
				t.Fatalf("%v", r)
			}
		})
		t.Run("procesarAlbaran POST /lineas-temporales/procesar/ (typed now: same document)", func(t *testing.T) {
			p := c.obj(c.apiFetch("POST", "/lineas-temporales/procesar/", ""), 201)
			if num(p["procesados"]) != 1 || len(p["pendientes"].([]any)) != 0 {
				t.Fatalf("%v", p)
			}
			ms := c.list(c.apiFetch("GET", fmt.Sprintf("/albaranes/%d/movimientos/", id(p["albaran_id"])), ""), 200)
			if len(ms) != 2 || c.count("SELECT count(*) FROM albaranes WHERE numero = 'E-2026-8'") != 1 {
				t.Fatalf("%v", ms)
			}
			if g := c.obj(c.apiFetch("GET", "/lineas-temporales/agrupados/", ""), 200); len(g["productos"].([]any)) != 0 {
				t.Fatalf("%v", g)
			}
		})
	})
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	out := make([]string, len(l))
	for i, x := range l {
		out[i], _ = x.(string)
	}
	return out
}

func TestCryptotraceUploadExcelForm(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newCTClient(t, db)
		xlsx := e2ePackingList(t, "PL-2026-90", [][2]string{{"KG-84", "SN-001"}, {"TACLANE-X", "SN-100"}})
		t.Run("uploadExcel POST {PROCESSING_URL}/upload-excel/", func(t *testing.T) {
			// NEXT_PUBLIC_PROCESSING_URL = <thot>/processing, as production nginx mapped it.
			r := c.obj(c.formData("/processing/upload-excel/", nil, map[string]part{"file": {"packing.xlsx", xlsx}}), 200)
			sd := r["structured_data"].(map[string]any)
			arts := sd["articulos"].([]any)
			br := r["backend_response"].(map[string]any)
			if r["filename"] != "packing.xlsx" || sd["cabecera"].(map[string]any)["numero"] != "PL-2026-90" || len(arts) != 2 || num(br["count"]) != 2 {
				t.Fatalf("%v", r)
			}
			hasKeys(t, "articulo", arts[0].(map[string]any), "codigo", "descripcion", "numero_serie", "observaciones", "cantidad", "cc")
			if num(arts[0].(map[string]any)["cc"]) != 1 || c.count("SELECT count(*) FROM lineas_temporales WHERE usuario_id = ? AND procesado = ?", c.uid, false) != 2 {
				t.Fatalf("%v", arts)
			}
		})
		t.Run("uploadExcel without a token", func(t *testing.T) {
			ct, body := multipartBody(t, nil, map[string]part{"file": {"packing.xlsx", xlsx}})
			if r := c.send("POST", "/processing/upload-excel/", map[string]string{"Content-Type": ct}, []byte(body)); r.status != 401 {
				t.Fatalf("%d %s", r.status, r.body)
			}
		})
		t.Run("uploadExcel with an .xls (the page accepts the extension)", func(t *testing.T) {
			r := c.want(c.formData("/processing/upload-excel/", nil, map[string]part{"file": {"packing.xls", append([]byte{0xD0, 0xCF, 0x11, 0xE0}, make([]byte, 64)...)}}), 400)
			if !strings.Contains(r.body, `"file"`) {
				t.Fatal(r.body)
			}
		})
	})
}

func TestCryptotraceCrearAC21Salida(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newCTClient(t, db)
		w := c.seed()
		// An incoming AC21 of two pages to take out again.
		in := c.stageAndProcess("E-2026-9", ocrLine("KG-84", "SN-30"), ocrLine("KG-84", "SN-31"))
		c.obj(c.apiFetch("POST", fmt.Sprintf("/albaranes/%d/paginas/", id(in["id"])), js(uploadPayload("E-2026-9", ocrLine("KG-84", "SN-32")))), 201)
		c.obj(c.apiFetch("POST", "/lineas-temporales/procesar/", ""), 201)
		var numero string
		t.Run("obtenerSiguienteNumeroRegistroSalida GET /albaranes/siguiente-numero-registro-salida/", func(t *testing.T) {
			r := c.obj(c.apiFetch("GET", "/albaranes/siguiente-numero-registro-salida/", ""), 200)
			numero, _ = r["numero_registro_salida"].(string)
			if !strings.HasPrefix(numero, "S") || !strings.HasSuffix(numero, "-0001") {
				t.Fatalf("%v", r)
			}
		})
		t.Run("fetchEmpresas, fetchProductos, fetchInventario", func(t *testing.T) {
			c.list(c.apiFetch("GET", "/empresas/", ""), 200)
			c.list(c.apiFetch("GET", "/productos/", ""), 200)
			for _, it := range c.list(c.apiFetch("GET", "/inventario/", ""), 200) {
				hasKeys(t, "item", it, "id", "codigo_producto", "numero_serie", "descripcion")
			}
		})
		var lineas []map[string]any
		t.Run("cargarDatosAC21Entrada GET /albaranes/{id}/, …/paginas/, …/movimientos/", func(t *testing.T) {
			d := c.obj(c.apiFetch("GET", fmt.Sprintf("/albaranes/%d/", id(in["id"])), ""), 200)
			if num(d["total_paginas"]) != 2 {
				t.Fatalf("%v", d)
			}
			hasKeys(t, "albarán", d, "documento_principal", "empresa_destino_info", "empresa_origen_info", "accesorios", "equipos_prueba")
			pages := c.list(c.apiFetch("GET", fmt.Sprintf("/albaranes/%d/paginas/", id(in["id"])), ""), 200)
			if len(pages) != 2 || num(pages[1]["pagina_numero"]) != 2 {
				t.Fatalf("%v", pages)
			}
			for _, p := range pages {
				for _, m := range c.list(c.apiFetch("GET", fmt.Sprintf("/albaranes/%d/movimientos/", id(p["id"])), ""), 200) {
					hasKeys(t, "movimiento", m, "producto_codigo", "numero_serie", "observaciones")
					lineas = append(lineas, m)
				}
			}
			if len(lineas) != 3 {
				t.Fatalf("%d lines over the pages", len(lineas))
			}
		})
		comunes := func() map[string]any {
			return map[string]any{"fecha": "2026-04-02T10:00:00.000Z", "numero_registro_salida": numero, "fecha_informe": "2026-04-02",
				"fecha_transaccion": "2026-04-02", "numero_registro_entrada": "", "empresa_origen": w.destino, "empresa_destino": w.origen,
				"tipo_documento": "TRANSFERENCIA", "direccion_transferencia": "SALIDA", "accesorios": []any{}, "equipos_prueba": []any{},
				"destinatario_autorizado_testigo": false, "destinatario_autorizado_otro": false, "destinatario_autorizado_otro_especificar": nil,
				"firma_a_nombre_apellidos": "Ana", "firma_a_cargo": "Jefa", "firma_a_empleo_rango": "Cte.", "firma_a": "",
				"firma_b_nombre_apellidos": "Luis", "firma_b_cargo": "Testigo", "firma_b_empleo_rango": "", "firma_b": "", "observaciones_odmc": ""}
		}
		line := func(m map[string]any) map[string]any {
			return map[string]any{"codigo": m["producto_codigo"], "cantidad": 1, "numero_serie": m["numero_serie"], "observaciones": m["observaciones"]}
		}
		t.Run("handleSubmit POST /albaranes/ (multi-page)", func(t *testing.T) {
			var principal any
			for i, page := range [][]map[string]any{lineas[:2], lineas[2:]} {
				d := comunes()
				arts := []any{}
				for _, m := range page {
					arts = append(arts, line(m))
				}
				d["articulos"], d["pagina_numero"], d["total_paginas"] = arts, i+1, 2
				d["numero"] = numero
				if i > 0 {
					d["numero"] = fmt.Sprintf("%s-P%d", numero, i+1)
					d["documento_principal_id"], d["es_pagina_adicional"] = principal, true
				}
				r := c.obj(c.apiFetch("POST", "/albaranes/", js(d)), 201)
				if r["error"] != nil {
					t.Fatalf("%v", r)
				}
				if i == 0 {
					principal = r["id"]
					if r["numero"] != numero {
						t.Fatalf("numero %v, want %s", r["numero"], numero)
					}
				} else if id(r["documento_principal"]) != id(principal) || r["numero"] != numero+"-P2" {
					t.Fatalf("%v", r)
				}
			}
			if r := c.obj(c.apiFetch("GET", "/inventario/resumen/", ""), 200); num(r["fuera_custodia"]) != 3 {
				t.Fatalf("%v", r)
			}
		})
		t.Run("handleSubmit POST /albaranes/ (single page)", func(t *testing.T) {
			next, _ := c.obj(c.apiFetch("GET", "/albaranes/siguiente-numero-registro-salida/", ""), 200)["numero_registro_salida"].(string)
			d := comunes()
			d["numero"], d["numero_registro_salida"] = next, next
			d["articulos"] = []any{map[string]any{"codigo": "KG-84", "cantidad": 1, "numero_serie": "SN-1", "observaciones": ""}}
			d["estado_material"] = "RECIBIDO"
			r := c.obj(c.apiFetch("POST", "/albaranes/", js(d)), 201)
			if r["numero"] != next || r["direccion_transferencia"] != "SALIDA" {
				t.Fatalf("%v", r)
			}
		})
	})
}

func TestCryptotraceUploadAC21(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newCTClient(t, db)
		w := c.seed()
		t.Run("fetchProductosTipificados GET /productos/", func(t *testing.T) {
			for _, p := range c.list(c.apiFetch("GET", "/productos/", ""), 200) {
				hasKeys(t, "producto", p, "codigo_producto", "tipo_nombre", "tipo")
			}
		})
		t.Run("createEmpresa POST /empresas/ (alta from the OCR)", func(t *testing.T) {
			e := c.obj(c.apiFetch("POST", "/empresas/", js(map[string]any{"nombre": "OCR S.A.", "direccion": "Calle 3", "codigo_postal": "28002",
				"ciudad": "Madrid", "provincia": "Madrid", "pais": "España", "numero_odmc": "", "nif": "B1", "telefono": "", "email": "",
				"activa": true})), 201)
			if e["nombre"] != "OCR S.A." {
				t.Fatalf("%v", e)
			}
		})
		t.Run("verificarDocumentoExistente GET /albaranes/?numero_registro= (none)", func(t *testing.T) {
			if l := c.list(c.apiFetch("GET", "/albaranes/?numero_registro=E-2026-10", ""), 200); len(l) != 0 {
				t.Fatalf("%d documents for an unknown number", len(l))
			}
		})
		t.Run("obtenerProductosDeAlbaran POST /albaranes/productos-de-albaran/ (none)", func(t *testing.T) {
			r := c.obj(c.apiFetch("POST", "/albaranes/productos-de-albaran/", js(map[string]any{"numero": "E-2026-10"})), 200)
			if len(r["productos"].([]any)) != 0 || r["albaran_id"] != nil {
				t.Fatalf("%v", r)
			}
		})
		t.Run("guardarTipoProducto POST /lineas-temporales/asignar-tipo/", func(t *testing.T) {
			r := c.obj(c.apiFetch("POST", "/lineas-temporales/asignar-tipo/", js(map[string]any{"codigo_producto": "EQUIPO RADIO", "tipo": "Radio"})), 200)
			if r["message"] == "" {
				t.Fatalf("%v", r)
			}
		})
		t.Run("saveAC21Data POST /albaranes/ multipart (data + imagen_documento)", func(t *testing.T) {
			// One line with its code typed by hand, one with only the OCR
			// description ("Equipo radio" is shown as EQUIPO RADIO).
			lines := []map[string]any{ocrLine("KG-84", "SN-40"), {"descripcion": "Equipo  radio ", "cantidad": "1", "numero_serie_inicio": "R-77",
				"numero_serie_fin": "R-77", "cc": 0, "observaciones": ""}}
			r := c.obj(c.formData("/api/albaranes/", map[string]string{"data": js(uploadPayload("E-2026-10", lines...))},
				map[string]part{"imagen_documento": {"blob", ac21PNG}}), 201)
			if r["success"] != true || r["staged"] != true || num(r["count"]) != 2 || r["con_imagen"] != true || r["numero_albaran"] != "E-2026-10" {
				t.Fatalf("%v", r)
			}
			if n := c.count("SELECT count(*) FROM albaranes WHERE numero = 'E-2026-10'"); n != 0 {
				t.Fatal("an incoming AC21 became a document before its codes were typed")
			}
			if n := c.count("SELECT count(*) FROM lineas_temporales WHERE codigo_producto = 'EQUIPO RADIO' AND numero_serie = 'R-77'"); n != 1 {
				t.Fatal("the description-only line was not staged under the code the page shows")
			}
			p := c.obj(c.apiFetch("POST", "/lineas-temporales/procesar/", ""), 201)
			d := c.obj(c.apiFetch("GET", fmt.Sprintf("/albaranes/%d/", id(p["albaran_id"])), ""), 200)
			if d["tiene_imagen_documento"] != true || d["direccion_transferencia"] != "ENTRADA" || d["tipo_documento"] != "TRANSFERENCIA" {
				t.Fatalf("%v", d)
			}
		})
		t.Run("verificarDocumentoExistente GET /albaranes/?numero_registro= (exists)", func(t *testing.T) {
			l := c.list(c.apiFetch("GET", "/albaranes/?numero_registro=E-2026-10", ""), 200)
			if len(l) != 1 || l[0]["numero_registro_entrada"] != "E-2026-10" {
				t.Fatalf("%v", l)
			}
			hasKeys(t, "documento existente", l[0], "id", "numero", "fecha", "total_paginas", "empresa_origen_info", "empresa_destino_info")
			if l := c.list(c.apiFetch("GET", "/albaranes/?numero_registro=", ""), 200); len(l) != 2 {
				t.Fatalf("an empty filter filters: %d", len(l))
			}
		})
		var existente map[string]any
		t.Run("obtenerProductosDeAlbaran POST /albaranes/productos-de-albaran/ (exists)", func(t *testing.T) {
			r := c.obj(c.apiFetch("POST", "/albaranes/productos-de-albaran/", js(map[string]any{"numero": "E-2026-10"})), 200)
			ps := r["productos"].([]any)
			if len(ps) != 2 || r["albaran_numero"] != "E-2026-10" {
				t.Fatalf("%v", r)
			}
			hasKeys(t, "producto", ps[0].(map[string]any), "codigo", "numero_serie")
			existente = c.list(c.apiFetch("GET", "/albaranes/?numero_registro=E-2026-10", ""), 200)[0]
		})
		t.Run("handleAgregarAExistente POST /albaranes/ multipart (modo agregar_a_existente)", func(t *testing.T) {
			p := uploadPayload("E-2026-10", ocrLine("KG-84", "SN-40"), ocrLine("KG-84", "SN-41"))
			p["modo"] = "agregar_a_existente"
			delete(p, "direccion_transferencia") // {...processedData, modo, articulos}
			delete(p, "tipo_documento")
			r := c.obj(c.formData("/api/albaranes/", map[string]string{"data": js(p)}, map[string]part{"imagen_documento": {"blob", ac21PNG}}), 200)
			if r["success"] != true || num(r["nuevos"]) != 1 || num(r["duplicados"]) != 1 {
				t.Fatalf("%v", r)
			}
		})
		t.Run("crearPaginaAdicional POST /albaranes/{id}/paginas/", func(t *testing.T) {
			p := uploadPayload("E-2026-10", ocrLine("KG-84", "SN-50"))
			p["es_pagina_adicional"], p["documento_principal_id"] = true, existente["id"]
			delete(p, "direccion_transferencia")
			delete(p, "tipo_documento")
			r := c.obj(c.apiFetch("POST", fmt.Sprintf("/albaranes/%d/paginas/", id(existente["id"])), js(p)), 201)
			if r["success"] != true || r["staged"] != true {
				t.Fatalf("%v", r)
			}
			pr := c.obj(c.apiFetch("POST", "/lineas-temporales/procesar/", ""), 201)
			if num(pr["pagina_numero"]) != 2 || pr["numero"] != "E-2026-10-P2" {
				t.Fatalf("%v", pr)
			}
			if n := c.count("SELECT total_paginas FROM albaranes WHERE id = ?", id(existente["id"])); n != 2 {
				t.Fatalf("total_paginas %d", n)
			}
			c.want(c.apiFetch("POST", "/albaranes/999999/paginas/", js(p)), 404)
		})
		t.Run("saveAC21Data POST /albaranes/ multipart, created directly: document and image together", func(t *testing.T) {
			// An incoming INVENTARIO is entered directly. Its companies are
			// the objects the page shows, with the id of a known company.
			p := uploadPayload("INV-OCR-1", ocrLine("KG-84", "SN-60"))
			p["tipo_documento"], p["numero"] = "INVENTARIO", "INV-OCR-1"
			p["empresa_origen"] = map[string]any{"id": w.origen, "nombre": "Proveedor Cifra S.A.", "es_nueva": false}
			p["empresa_destino"] = map[string]any{"id": w.destino, "nombre": "Unidad Receptora"}
			r := c.obj(c.formData("/api/albaranes/", map[string]string{"data": js(p)}, map[string]part{"imagen_documento": {"blob", ac21PNG}}), 201)
			if r["success"] != true || r["tiene_imagen_documento"] != true || r["numero"] != "INV-OCR-1" {
				t.Fatalf("%v", r)
			}
			img := c.fetch("GET", fmt.Sprintf("/api/albaranes/%d/imagen-documento/", id(r["id"])), nil, "")
			if img.status != 200 || img.body != string(ac21PNG) {
				t.Fatalf("image %d", img.status)
			}
			files := func() int {
				n := 0
				for _, d := range []string{"albaranes"} {
					n += countFiles(t, c.files.Dir(), d)
				}
				return n
			}
			before, docs := files(), c.count("SELECT count(*) FROM albaranes")
			// The document fails (the number is taken): no file is left.
			c.want(c.formData("/api/albaranes/", map[string]string{"data": js(p)}, map[string]part{"imagen_documento": {"blob", ac21PNG}}), 409)
			// The image fails (not an image): no document.
			p["numero"] = "INV-OCR-2"
			r2 := c.want(c.formData("/api/albaranes/", map[string]string{"data": js(p)}, map[string]part{"imagen_documento": {"notas.txt", []byte("texto plano")}}), 400)
			if !strings.Contains(r2.body, "imagen_documento") {
				t.Fatal(r2.body)
			}
			// A data field that is not JSON names it.
			r3 := c.want(c.formData("/api/albaranes/", map[string]string{"data": "{no es json"}, nil), 400)
			if r3.body == "" {
				t.Fatal("empty 400")
			}
			if files() != before || c.count("SELECT count(*) FROM albaranes") != docs {
				t.Fatalf("files %d → %d, documents %d → %d", before, files(), docs, c.count("SELECT count(*) FROM albaranes"))
			}
		})
		t.Run("saveAC21Data POST /albaranes/ JSON (no image)", func(t *testing.T) {
			p := uploadPayload("E-2026-11", ocrLine("KG-84", "SN-70"))
			p["estado_material"] = "RECIBIDO" // handleEstadoMaterialChange
			r := c.obj(c.send("POST", "/api/albaranes/", map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + c.token},
				[]byte(js(p))), 201)
			if r["success"] != true || r["staged"] != true || r["con_imagen"] != false {
				t.Fatalf("%v", r)
			}
			pr := c.obj(c.apiFetch("POST", "/lineas-temporales/procesar/", ""), 201)
			d := c.obj(c.apiFetch("GET", fmt.Sprintf("/albaranes/%d/", id(pr["albaran_id"])), ""), 200)
			if d["estado_material"] != "RECIBIDO" || d["fecha_transaccion"] != "2026-03-15" || d["odmc_numero"] != "ODMC-9" {
				t.Fatalf("%v", d)
			}
		})
		t.Run("create of an incoming document with its header at the top level (no cabecera)", func(t *testing.T) {
			r := c.obj(c.apiFetch("POST", "/albaranes/", js(map[string]any{"numero_registro_entrada": "E-2026-12", "tipo_documento": "Recibo en mano",
				"direccion_transferencia": "ENTRADA", "fecha_informe": "2026-05-01", "codigo_contabilidad": "CC-9",
				"articulos": []any{map[string]any{"codigo": "KG-84", "numero_serie": "SN-80"}}})), 201)
			if r["staged"] != true || r["numero_albaran"] != "E-2026-12" {
				t.Fatalf("%v", r)
			}
			pr := c.obj(c.apiFetch("POST", "/lineas-temporales/procesar/", ""), 201)
			d := c.obj(c.apiFetch("GET", fmt.Sprintf("/albaranes/%d/", id(pr["albaran_id"])), ""), 200)
			if d["tipo_documento"] != "RECIBO_MANO" || d["fecha_informe"] != "2026-05-01" || d["codigo_contabilidad"] != "CC-9" ||
				d["numero_registro_entrada"] != "E-2026-12" {
				t.Fatalf("%v", d)
			}
		})
	})
}

// countFiles counts the files under root/dir (none when it does not exist).
func countFiles(t *testing.T, root, dir string) int {
	t.Helper()
	n := 0
	_ = filepath.WalkDir(filepath.Join(root, dir), func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			n++
		}
		return nil
	})
	return n
}

func TestCryptotraceAPIGuardarEnLineaTemporal(t *testing.T) {
	// api.ts guardarEnLineaTemporal (not called by the development
	// branch's pages; kept working for the later upload page).
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		c := newCTClient(t, db)
		t.Run("guardarEnLineaTemporal POST /lineas-temporales/bulk_create/ multipart", func(t *testing.T) {
			r := c.obj(c.formData("/api/lineas-temporales/bulk_create/", map[string]string{"data": js(ac21("AC21-500", "E-500", art("KG-84", "S1")))},
				map[string]part{"imagen_documento": {"blob", ac21PNG}}), 201)
			if num(r["count"]) != 1 || r["con_imagen"] != true || r["message"] == "" {
				t.Fatalf("%v", r)
			}
		})
		t.Run("guardarEnLineaTemporal POST /lineas-temporales/bulk_create/ JSON", func(t *testing.T) {
			r := c.obj(c.send("POST", "/api/lineas-temporales/bulk_create/", map[string]string{"Content-Type": "application/json", "Authorization": "Bearer " + c.token},
				[]byte(js(ac21("AC21-501", "E-501", art("KG-84", "S2"))))), 201)
			if num(r["count"]) != 1 || r["con_imagen"] != false {
				t.Fatalf("%v", r)
			}
		})
	})
}
