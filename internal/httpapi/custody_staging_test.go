package httpapi_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"mime/multipart"
	"net/http/httptest"
	"sort"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"
	"github.com/xuri/excelize/v2"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/identity"
)

// stagingFixture is a stack with the users staging tests need: two
// custodians with productos.ver/editar only (they see their own lines), a
// crypto user (sees and purges everyone's) and a member (no custody
// permissions).
type stagingFixture struct {
	*stack
	t                    *testing.T
	a, b, crypto, member string // tokens
	aID, bID, cryptoID   int64
}

func newStagingFixture(t *testing.T, db *database.DB) *stagingFixture {
	t.Helper()
	s := newStack(t, db)
	ctx := context.Background()
	var roleID int64
	now := time.Now().UTC()
	if err := db.NewRaw("INSERT INTO roles (name, description, is_system, created_at, updated_at) VALUES (?, ?, ?, ?, ?) RETURNING id",
		"custodio", "productos.ver + productos.editar", false, now, now).Scan(ctx, &roleID); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{identity.PermProductosVer, identity.PermProductosEditar} {
		if _, err := db.NewRaw("INSERT INTO role_permissions (role_id, codename) VALUES (?, ?)", roleID, c).Exec(ctx); err != nil {
			t.Fatal(err)
		}
	}
	f := &stagingFixture{stack: s, t: t}
	ua := s.user("custodio.a@example.org", "Linea-Temporal-2026", "custodio")
	ub := s.user("custodio.b@example.org", "Linea-Temporal-2026", "custodio")
	uc := s.user("crypto@example.org", "Linea-Temporal-2026", identity.RoleCrypto)
	um := s.user("member@example.org", "Linea-Temporal-2026", identity.RoleMember)
	f.aID, f.bID, f.cryptoID = ua.ID, ub.ID, uc.ID
	f.a, f.b, f.crypto, f.member = s.token(ua.ID), s.token(ub.ID), s.token(uc.ID), s.token(um.ID)
	return f
}

// count runs a count(*) query.
func (f *stagingFixture) count(query string, args ...any) int {
	f.t.Helper()
	var n int
	if err := f.db.NewRaw(query, args...).Scan(context.Background(), &n); err != nil {
		f.t.Fatalf("%s: %v", query, err)
	}
	return n
}

func (f *stagingFixture) mustStatus(r response, status int) response {
	f.t.Helper()
	if r.status != status {
		f.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	return r
}

// empresa inserts a company and returns its id.
func (f *stagingFixture) empresa(nombre string) int64 {
	f.t.Helper()
	var id int64
	if err := f.db.NewRaw("INSERT INTO empresas (nombre, activa) VALUES (?, ?) RETURNING id", nombre, true).Scan(context.Background(), &id); err != nil {
		f.t.Fatal(err)
	}
	return id
}

// producto inserts a catalog product, typed when tipo is not "".
func (f *stagingFixture) producto(codigo, tipo string) int64 {
	f.t.Helper()
	ctx := context.Background()
	var tipoID *int64
	if tipo != "" {
		var id int64
		if err := f.db.NewRaw("INSERT INTO tipos_producto (nombre) VALUES (?) RETURNING id", tipo).Scan(ctx, &id); err != nil {
			f.t.Fatal(err)
		}
		tipoID = &id
	}
	var id int64
	if err := f.db.NewRaw("INSERT INTO productos (codigo_producto, descripcion, tipo_id, search, ultima_actualizacion) VALUES (?, ?, ?, ?, ?) RETURNING id",
		codigo, "Catálogo "+codigo, tipoID, strings.ToLower(codigo), time.Now().UTC()).Scan(ctx, &id); err != nil {
		f.t.Fatal(err)
	}
	return id
}

type part struct {
	filename string
	data     []byte
}

// multipartBody encodes fields and files as multipart/form-data.
func multipartBody(t testing.TB, fields map[string]string, files map[string]part) (string, string) {
	t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	for k, v := range fields {
		if err := w.WriteField(k, v); err != nil {
			t.Fatal(err)
		}
	}
	for k, p := range files {
		fw, err := w.CreateFormFile(k, p.filename)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = fw.Write(p.data)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return w.FormDataContentType(), buf.String()
}

func (f *stagingFixture) upload(path, token string, fields map[string]string, files map[string]part) response {
	f.t.Helper()
	ct, body := multipartBody(f.t, fields, files)
	h := map[string]string{}
	if token != "" {
		h["Authorization"] = "Bearer " + token
	}
	return doWith(f.t, f.srv.Handler(), "POST", path, ct, body, h)
}

// Minimal files whose sniffed types are PNG, JPEG and text.
var (
	pngBytes  = append([]byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR"), bytes.Repeat([]byte{7}, 200)...)
	jpegBytes = append([]byte("\xFF\xD8\xFF\xE0\x00\x10JFIF\x00"), bytes.Repeat([]byte{9}, 200)...)
)

// ac21 is a bulk_create body: an incoming AC21 with the given lines.
func ac21(numero, registro string, lines ...map[string]any) map[string]any {
	arts := make([]any, len(lines))
	for i, l := range lines {
		arts[i] = l
	}
	return map[string]any{
		"cabecera": map[string]any{"numero": numero, "numero_registro_entrada": registro, "tipo_transaccion": "Transferencia",
			"fecha_informe": "2026-03-14", "fecha_transaccion_dma": "15/03/2026", "codigos_contabilidad": []any{"CC-1", "CC-2"}},
		"accesorios":     []any{map[string]any{"descripcion": "Cable", "cantidad": 2}},
		"equipos_prueba": []any{map[string]any{"codigo": "EP-1"}, map[string]any{"codigo": ""}},
		"firmas": map[string]any{"firma_a": map[string]any{"nombre": "Ana Pérez", "cargo": "Custodia", "empleo_rango": "Cte."},
			"firma_b": map[string]any{"nombre": "Luis Gil", "cargo": "Testigo"}},
		"observaciones": "Recibido sin incidencias",
		"articulos":     arts,
	}
}

func art(codigo, serie string) map[string]any {
	return map[string]any{"codigo": codigo, "numero_serie": serie, "descripcion": "Equipo " + codigo, "cantidad": 1}
}

type lineaJSON struct {
	ID               int64          `json:"id"`
	Usuario          int64          `json:"usuario"`
	NumeroAlbaran    string         `json:"numero_albaran"`
	CodigoProducto   string         `json:"codigo_producto"`
	NumeroSerie      string         `json:"numero_serie"`
	Descripcion      *string        `json:"descripcion"`
	Procesado        bool           `json:"procesado"`
	Cantidad         int            `json:"cantidad"`
	CC               *int           `json:"cc"`
	TipoProducto     *int64         `json:"tipo_producto"`
	BultosTotal      *int           `json:"bultos_total"`
	DatosAdicionales map[string]any `json:"datos_adicionales"`
	CreatedAt        string         `json:"created_at"`
}

func TestStagingLinesCRUDAndVisibility(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newStagingFixture(t, db)
		base := "/api/lineas-temporales/"

		// Access: anonymous 401, no custody permission 403.
		f.mustStatus(f.call("GET", base, "", nil), 401)
		f.mustStatus(f.call("GET", base, f.member, nil), 403)
		f.mustStatus(f.call("POST", base, f.member, map[string]any{"numero_albaran": "X"}), 403)

		// Create: usuario is forced to the caller.
		r := f.mustStatus(f.call("POST", base, f.a, map[string]any{"numero_albaran": " PL-1 ", "codigo_producto": "KG-1",
			"numero_serie": "S1", "usuario": f.bID, "cc": 3, "datos_adicionales": map[string]any{"origen": "manual"}}), 201)
		la := decode[lineaJSON](t, r)
		if la.Usuario != f.aID || la.NumeroAlbaran != "PL-1" || la.Cantidad != 1 || la.CC == nil || *la.CC != 3 ||
			la.Procesado || la.DatosAdicionales["origen"] != "manual" || la.CreatedAt == "" {
			t.Fatalf("created %+v", la)
		}
		lb := decode[lineaJSON](t, f.mustStatus(f.call("POST", base, f.b, map[string]any{"numero_albaran": "PL-2",
			"codigo_producto": "KG-2", "numero_serie": "S2"}), 201))

		// Validation.
		for _, tc := range []struct {
			name  string
			body  map[string]any
			field string
		}{
			{"missing fields", map[string]any{"numero_albaran": "PL"}, "codigo_producto"},
			{"blank serial", map[string]any{"numero_albaran": "PL", "codigo_producto": "A", "numero_serie": "  "}, "numero_serie"},
			{"unknown type", map[string]any{"numero_albaran": "PL", "codigo_producto": "A", "numero_serie": "1", "tipo_producto": 999}, "tipo_producto"},
			{"negative quantity", map[string]any{"numero_albaran": "PL", "codigo_producto": "A", "numero_serie": "1", "cantidad": -1}, "cantidad"},
			{"quantity not a number", map[string]any{"numero_albaran": "PL", "codigo_producto": "A", "numero_serie": "1", "cantidad": "x"}, "cantidad"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := f.mustStatus(f.call("POST", base, f.a, tc.body), 400)
				if !strings.Contains(r.body, `"`+tc.field+`"`) {
					t.Errorf("error does not name %s: %s", tc.field, r.body)
				}
			})
		}

		// Visibility: own lines only, unless productos.ver_toda_linea_temporal.
		ids := func(token, query string) []int64 {
			var out []int64
			for _, l := range decode[[]lineaJSON](t, f.mustStatus(f.call("GET", base+query, token, nil), 200)) {
				out = append(out, l.ID)
			}
			sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
			return out
		}
		if got := ids(f.a, ""); len(got) != 1 || got[0] != la.ID {
			t.Errorf("A sees %v", got)
		}
		if got := ids(f.crypto, ""); len(got) != 2 {
			t.Errorf("crypto sees %v", got)
		}
		f.mustStatus(f.call("GET", fmt.Sprintf("%s%d/", base, lb.ID), f.a, nil), 404)
		f.mustStatus(f.call("PATCH", fmt.Sprintf("%s%d/", base, lb.ID), f.a, map[string]any{"observaciones": "x"}), 404)
		f.mustStatus(f.call("DELETE", fmt.Sprintf("%s%d/", base, lb.ID), f.a, nil), 404)
		f.mustStatus(f.call("GET", base+"abc/", f.a, nil), 404)
		got := decode[lineaJSON](t, f.mustStatus(f.call("GET", fmt.Sprintf("%s%d/", base, lb.ID), f.crypto, nil), 200))
		if got.Usuario != f.bID {
			t.Errorf("crypto reads %+v", got)
		}

		// Update: PATCH changes what it names; usuario stays; null clears.
		r = f.mustStatus(f.call("PATCH", fmt.Sprintf("%s%d/", base, la.ID), f.a, map[string]any{"descripcion": "Cifrador", "usuario": f.bID, "cc": nil, "procesado": true}), 200)
		la = decode[lineaJSON](t, r)
		if la.Descripcion == nil || *la.Descripcion != "Cifrador" || la.Usuario != f.aID || la.CC != nil || !la.Procesado {
			t.Errorf("patched %+v", la)
		}
		// PUT needs the required fields.
		f.mustStatus(f.call("PUT", fmt.Sprintf("%s%d/", base, la.ID), f.a, map[string]any{"descripcion": "x"}), 400)
		r = f.mustStatus(f.call("PUT", fmt.Sprintf("%s%d/", base, la.ID), f.a, map[string]any{"numero_albaran": "PL-1", "codigo_producto": "KG-9", "numero_serie": "S9"}), 200)
		if l := decode[lineaJSON](t, r); l.CodigoProducto != "KG-9" || l.Descripcion == nil {
			t.Errorf("PUT keeps omitted optional fields, got %+v", l)
		}

		// ?procesado filter and paging.
		if got := ids(f.a, "?procesado=true"); len(got) != 1 {
			t.Errorf("processed: %v", got)
		}
		if got := ids(f.a, ""); len(got) != 0 {
			t.Errorf("default is unprocessed only: %v", got)
		}
		if got := ids(f.crypto, "?procesado=all"); len(got) != 2 {
			t.Errorf("all: %v", got)
		}
		r = f.mustStatus(f.call("GET", base+"?procesado=quizá", f.a, nil), 400)
		if !strings.Contains(r.body, "procesado") {
			t.Errorf("%s", r.body)
		}
		page := decode[struct {
			Count   int         `json:"count"`
			Results []lineaJSON `json:"results"`
		}](t, f.mustStatus(f.call("GET", base+"?procesado=all&page=1&page_size=1", f.crypto, nil), 200))
		if page.Count != 2 || len(page.Results) != 1 {
			t.Errorf("page %+v", page)
		}

		// Delete, audited.
		f.mustStatus(f.call("DELETE", fmt.Sprintf("%s%d/", base, lb.ID), f.crypto, nil), 204)
		if n := f.count("SELECT count(*) FROM lineas_temporales WHERE id = ?", lb.ID); n != 0 {
			t.Error("not deleted")
		}
		for action, want := range map[string]int{"create": 2, "update": 2, "delete": 1} {
			if n := f.count("SELECT count(*) FROM audit_logs WHERE table_name = 'lineas_temporales' AND action = ?", action); n != want {
				t.Errorf("%d %s audit entries, want %d", n, action, want)
			}
		}
	})
}

func TestStagingBulkCreate(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newStagingFixture(t, db)
		path := "/api/lineas-temporales/bulk_create/"
		lines := func() int { return f.count("SELECT count(*) FROM lineas_temporales") }

		f.mustStatus(f.call("POST", path, "", ac21("A-1", "", art("X", "1"))), 401)
		f.mustStatus(f.call("POST", path, f.member, ac21("A-1", "", art("X", "1"))), 403)

		// JSON: one line per articulo, the header shared.
		body := ac21("A-1", "R-1", art("X", "1"), map[string]any{"codigo": "Y", "numero_serie_inicio": 77, "cc": "4", "cantidad": "2"})
		r := f.mustStatus(f.call("POST", path, f.a, body), 201)
		res := decode[map[string]any](t, r)
		if res["count"] != float64(2) || res["con_imagen"] != false || res["message"] == "" {
			t.Fatalf("%s", r.body)
		}
		ls := decode[[]lineaJSON](t, f.mustStatus(f.call("GET", "/api/lineas-temporales/", f.a, nil), 200))
		if len(ls) != 2 {
			t.Fatalf("%+v", ls)
		}
		for _, l := range ls {
			cab, _ := l.DatosAdicionales["cabecera"].(map[string]any)
			if l.NumeroAlbaran != "A-1" || l.Usuario != f.aID || cab["numero_registro_entrada"] != "R-1" ||
				l.DatosAdicionales["observaciones_generales"] != "Recibido sin incidencias" {
				t.Errorf("line %+v", l)
			}
			if l.CodigoProducto == "Y" && (l.NumeroSerie != "77" || l.CC == nil || *l.CC != 4 || l.Cantidad != 2) {
				t.Errorf("loose values not read: %+v", l)
			}
		}

		// All or nothing, with errors per line and per field.
		before := lines()
		r = f.mustStatus(f.call("POST", path, f.a, ac21("A-2", "", art("X", "2"), map[string]any{"codigo": "X"},
			map[string]any{"numero_serie": "9", "cantidad": "mucho"})), 400)
		var e struct {
			Detail    string                         `json:"detail"`
			Articulos map[string]map[string][]string `json:"articulos"`
		}
		if err := json.Unmarshal([]byte(r.body), &e); err != nil {
			t.Fatal(err)
		}
		if len(e.Articulos) != 2 || len(e.Articulos["1"]["numero_serie"]) == 0 || len(e.Articulos["2"]["codigo"]) == 0 ||
			len(e.Articulos["2"]["cantidad"]) == 0 || e.Detail == "" {
			t.Errorf("per-line errors: %s", r.body)
		}
		if lines() != before {
			t.Error("a refused bulk_create wrote lines")
		}

		// No number, no articulos.
		r = f.mustStatus(f.call("POST", path, f.a, map[string]any{"cabecera": map[string]any{"tipo_transaccion": "X"}, "articulos": []any{art("X", "1")}}), 400)
		if !strings.Contains(r.body, `"cabecera":{"numero"`) {
			t.Errorf("%s", r.body)
		}
		r = f.mustStatus(f.call("POST", path, f.a, map[string]any{"cabecera": map[string]any{"numero": "N"}}), 400)
		if !strings.Contains(r.body, `"articulos"`) {
			t.Errorf("%s", r.body)
		}
		f.mustStatus(doWith(t, f.srv.Handler(), "POST", path, "application/json", "{nope", map[string]string{"Authorization": "Bearer " + f.a}), 400)
		f.mustStatus(doWith(t, f.srv.Handler(), "POST", path, "application/json", `{"articulos": "no"}`, map[string]string{"Authorization": "Bearer " + f.a}), 400)

		// Multipart with an image: stored in the file store, its name (not a path) in every line.
		data, _ := json.Marshal(ac21("IMG-1", "", art("Z", "1"), art("Z", "2")))
		r = f.mustStatus(f.upload(path, f.b, map[string]string{"data": string(data)}, map[string]part{"imagen_documento": {"scan.png", pngBytes}}), 201)
		if res := decode[map[string]any](t, r); res["con_imagen"] != true || res["count"] != float64(2) {
			t.Fatalf("%s", r.body)
		}
		ls = decode[[]lineaJSON](t, f.mustStatus(f.call("GET", "/api/lineas-temporales/", f.b, nil), 200))
		name, _ := ls[0].DatosAdicionales["imagen_temporal_name"].(string)
		if !strings.HasPrefix(name, fmt.Sprintf("staging/%d/", f.bID)) || !strings.HasSuffix(name, "_AC21.png") ||
			ls[1].DatosAdicionales["imagen_temporal_name"] != name || ls[0].DatosAdicionales["tiene_imagen_documento"] != true {
			t.Fatalf("image name %q in %+v", name, ls[0].DatosAdicionales)
		}
		if obj, err := f.files.Stat(context.Background(), name); err != nil || obj.ContentType != "image/png" {
			t.Fatalf("stored image: %+v %v", obj, err)
		}

		// A file that is not an image: refused, nothing written or kept.
		before = lines()
		r = f.mustStatus(f.upload(path, f.b, map[string]string{"data": string(data)}, map[string]part{"imagen_documento": {"x.png", []byte("<html><script>alert(1)</script></html>")}}), 400)
		if !strings.Contains(r.body, "imagen_documento") {
			t.Errorf("%s", r.body)
		}
		if lines() != before {
			t.Error("lines written with a refused image")
		}
		// Multipart without data; with invalid lines (the stored image is removed again).
		f.mustStatus(f.upload(path, f.b, nil, map[string]part{"imagen_documento": {"scan.png", pngBytes}}), 400)
		bad, _ := json.Marshal(ac21("IMG-2", "", map[string]any{"codigo": "Q"}))
		f.mustStatus(f.upload(path, f.b, map[string]string{"data": string(bad)}, map[string]part{"imagen_documento": {"scan.png", pngBytes}}), 400)
		if lines() != before {
			t.Error("lines written")
		}
	})
}

// stagingQueries counts the statements run on a database.
type stagingQueries struct{ n atomic.Int64 }

func (c *stagingQueries) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *stagingQueries) AfterQuery(context.Context, *bun.QueryEvent) {}

func TestStagingAgrupadosAndAsignarTipo(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newStagingFixture(t, db)
		f.producto("TYPED", "Radio")
		f.producto("BARE", "")
		f.mustStatus(f.call("POST", "/api/lineas-temporales/bulk_create/", f.a, ac21("G-1", "",
			art("NEW", "1"), art("NEW", "2"), art("TYPED", "1"), art("BARE", "1"))), 201)
		f.mustStatus(f.call("POST", "/api/lineas-temporales/bulk_create/", f.b, ac21("G-2", "", art("OTHER", "1"))), 201)

		type agrupados struct {
			Productos []struct {
				CodigoProducto string  `json:"codigo_producto"`
				Cantidad       int     `json:"cantidad"`
				Tipificado     bool    `json:"tipificado"`
				Descripcion    string  `json:"descripcion"`
				Tipo           *string `json:"tipo"`
			} `json:"productos"`
			TiposDisponibles []string `json:"tipos_disponibles"`
		}
		f.mustStatus(f.call("GET", "/api/lineas-temporales/agrupados/", f.member, nil), 403)
		counter := &stagingQueries{}
		db.AddQueryHook(counter)
		r := f.mustStatus(f.call("GET", "/api/lineas-temporales/agrupados/", f.a, nil), 200)
		if n := counter.n.Load(); n > 3 {
			t.Errorf("agrupados ran %d statements (principal + grouped lines + types = 3)", n)
		}
		g := decode[agrupados](t, r)
		var codes []string
		for _, p := range g.Productos {
			codes = append(codes, p.CodigoProducto)
		}
		if strings.Join(codes, ",") != "BARE,NEW,TYPED" {
			t.Fatalf("A's groups, by code: %v", codes)
		}
		bare, nw, typed := g.Productos[0], g.Productos[1], g.Productos[2]
		if nw.Cantidad != 2 || nw.Tipificado || nw.Tipo != nil || nw.Descripcion != "Equipo NEW" {
			t.Errorf("NEW %+v", nw)
		}
		if !typed.Tipificado || typed.Tipo == nil || *typed.Tipo != "Radio" || typed.Descripcion != "Catálogo TYPED" {
			t.Errorf("TYPED %+v", typed)
		}
		if bare.Tipificado || bare.Tipo != nil {
			t.Errorf("BARE %+v", bare)
		}
		if strings.Join(g.TiposDisponibles, ",") != "Radio" {
			t.Errorf("tipos %v", g.TiposDisponibles)
		}
		if g := decode[agrupados](t, f.mustStatus(f.call("GET", "/api/lineas-temporales/agrupados/", f.crypto, nil), 200)); len(g.Productos) != 4 {
			t.Errorf("crypto sees every user's codes: %+v", g.Productos)
		}

		// asignar_tipo: a new product with a new type…
		path := "/api/lineas-temporales/asignar_tipo/"
		f.mustStatus(f.call("POST", path, f.member, map[string]any{"codigo_producto": "NEW", "tipo": "Cifrador"}), 403)
		f.mustStatus(f.call("POST", path, f.a, map[string]any{"codigo_producto": "NEW"}), 400)
		f.mustStatus(f.call("POST", path, f.a, map[string]any{"codigo_producto": " ", "tipo": "Cifrador"}), 400)
		res := decode[map[string]any](t, f.mustStatus(f.call("POST", path, f.a, map[string]any{"codigo_producto": "NEW", "tipo": "Cifrador"}), 200))
		if res["created"] != true || res["message"] == "" || res["tipo_creado"] != true {
			t.Errorf("%v", res)
		}
		var desc string
		if err := db.NewRaw("SELECT descripcion FROM productos WHERE codigo_producto = 'NEW'").Scan(context.Background(), &desc); err != nil || desc != "Equipo NEW" {
			t.Errorf("new product described %q (%v), want the staged description", desc, err)
		}
		// …an existing untyped product with an existing type (any case)…
		res = decode[map[string]any](t, f.mustStatus(f.call("POST", path, f.a, map[string]any{"codigo_producto": "BARE", "tipo": "radio"}), 200))
		if res["created"] != false || res["tipo_creado"] != false {
			t.Errorf("%v", res)
		}
		// …and a code nobody staged gets "Producto <codigo>".
		f.mustStatus(f.call("POST", path, f.a, map[string]any{"codigo_producto": "SOLO", "tipo": "Radio"}), 200)
		if err := db.NewRaw("SELECT descripcion FROM productos WHERE codigo_producto = 'SOLO'").Scan(context.Background(), &desc); err != nil || desc != "Producto SOLO" {
			t.Errorf("%q %v", desc, err)
		}
		g = decode[agrupados](t, f.mustStatus(f.call("GET", "/api/lineas-temporales/agrupados/", f.a, nil), 200))
		for _, p := range g.Productos {
			if !p.Tipificado {
				t.Errorf("%s still untyped", p.CodigoProducto)
			}
		}
		if strings.Join(g.TiposDisponibles, ",") != "Cifrador,Radio" {
			t.Errorf("tipos %v", g.TiposDisponibles)
		}
		if n := f.count("SELECT count(*) FROM audit_logs WHERE table_name = 'productos' AND action = 'update'"); n != 3 {
			t.Errorf("%d product type changes audited, want 3", n)
		}
		if n := f.count("SELECT count(*) FROM audit_logs WHERE table_name = 'tipos_producto' AND action = 'create'"); n != 1 {
			t.Errorf("%d type creations audited, want 1", n)
		}
	})
}

type procesarJSON struct {
	Detail       string `json:"detail"`
	AlbaranID    int64  `json:"albaran_id"`
	Numero       string `json:"numero"`
	PaginaNumero int    `json:"pagina_numero"`
	Procesados   int    `json:"procesados"`
	ConImagen    bool   `json:"con_imagen"`
	Omitidos     []struct {
		CodigoProducto string `json:"codigo_producto"`
		NumeroSerie    string `json:"numero_serie"`
		Motivo         string `json:"motivo"`
	} `json:"omitidos"`
	Pendientes []struct {
		LineaID        int64  `json:"linea_id"`
		CodigoProducto string `json:"codigo_producto"`
		NumeroSerie    string `json:"numero_serie"`
		Motivo         string `json:"motivo"`
	} `json:"pendientes"`
	CodigosSinTipo  []string `json:"codigos_sin_tipo"`
	OtrosDocumentos []string `json:"otros_documentos"`
}

func TestStagingProcesar(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newStagingFixture(t, db)
		ctx := context.Background()
		bulk := "/api/lineas-temporales/bulk_create/"
		procesar := "/api/lineas-temporales/procesar/"
		origen, destino := f.empresa("Remitente S.A."), f.empresa("Oficina")
		f.producto("TYPED", "Radio")
		f.producto("BARE", "")
		written := func() int {
			return f.count("SELECT count(*) FROM albaranes") + f.count("SELECT count(*) FROM movimientos") + f.count("SELECT count(*) FROM inventario")
		}

		f.mustStatus(f.call("POST", procesar, f.member, nil), 403)
		r := f.mustStatus(f.call("POST", procesar, f.a, nil), 400)
		if !strings.Contains(r.body, "pendientes") {
			t.Errorf("nothing pending: %s", r.body)
		}

		data, _ := json.Marshal(ac21("AC21-100", "E-2026-1", art("UNKNOWN", "U1"), art("BARE", "B1"), art("TYPED", "T1"), art("TYPED", "T2")))
		f.mustStatus(f.upload(bulk, f.a, map[string]string{"data": string(data)}, map[string]part{"imagen_documento": {"scan.png", pngBytes}}), 201)
		var staged string
		if err := db.NewRaw("SELECT datos_adicionales FROM lineas_temporales LIMIT 1").Scan(ctx, &staged); err != nil {
			t.Fatal(err)
		}
		var hdr map[string]any
		_ = json.Unmarshal([]byte(staged), &hdr)
		stagedImage, _ := hdr["imagen_temporal_name"].(string)
		// Another user's pending line is never taken.
		f.mustStatus(f.call("POST", bulk, f.b, ac21("OTRO-1", "", art("TYPED", "B-ONLY"))), 201)

		// Bad overrides are refused, naming the field, before anything is
		// written (typed or not).
		for _, tc := range []struct {
			name string
			body map[string]any
			want string
		}{
			{"unknown type", map[string]any{"cabecera": map[string]any{"tipo_transaccion": "Préstamo"}}, `"tipo_transaccion"`},
			{"bad date", map[string]any{"cabecera": map[string]any{"fecha_informe": "ayer"}}, `"fecha_informe"`},
			{"missing company", map[string]any{"empresa_origen": map[string]any{"id": 999999}}, `"empresa_origen"`},
			{"company id not a number", map[string]any{"empresa_destino": map[string]any{"id": "x"}}, `"empresa_destino"`},
			{"accessories not a list", map[string]any{"accesorios": "cable"}, `"accesorios"`},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := f.mustStatus(f.call("POST", procesar, f.a, tc.body), 400)
				if !strings.Contains(r.body, tc.want) {
					t.Errorf("%s", r.body)
				}
				if n := written(); n != 0 {
					t.Fatalf("wrote %d rows", n)
				}
			})
		}

		// Two codes have no type (one is not even in the catalog): the
		// typed lines make one ENTRADA document with every header field,
		// the untyped ones stay in staging, reported (the staging page says
		// they are processed without a type; the legacy dropped them).
		r = f.mustStatus(f.call("POST", procesar, f.a, map[string]any{
			"empresa_origen": map[string]any{"id": origen, "nombre": "Remitente S.A."}, "empresa_destino": map[string]any{"id": fmt.Sprint(destino)},
			"cabecera": map[string]any{"odmc_numero": "ODMC-7"}}), 201)
		p := decode[procesarJSON](t, r)
		if p.Procesados != 2 || len(p.Omitidos) != 0 || p.Numero != "AC21-100" || p.PaginaNumero != 1 || !p.ConImagen ||
			!strings.Contains(p.Detail, "BARE, UNKNOWN") || strings.Join(p.CodigosSinTipo, ",") != "BARE,UNKNOWN" || len(p.Pendientes) != 2 {
			t.Fatalf("%s", r.body)
		}
		for _, pe := range p.Pendientes {
			l := decode[lineaJSON](t, f.mustStatus(f.call("GET", fmt.Sprintf("/api/lineas-temporales/%d/", pe.LineaID), f.a, nil), 200))
			if l.Procesado || num(l.DatosAdicionales["albaran_id"]) != p.AlbaranID || pe.Motivo == "" {
				t.Fatalf("pending line %+v (%+v)", l, pe)
			}
		}
		if n := f.count("SELECT count(*) FROM productos WHERE codigo_producto = 'UNKNOWN'"); n != 0 {
			t.Fatal("procesar created a product")
		}
		if n := f.count("SELECT count(*) FROM movimientos WHERE albaran_id = ?", p.AlbaranID); n != 2 {
			t.Fatalf("%d movements, want the 2 typed lines", n)
		}
		// Still untyped: nothing to add, refused, nothing written.
		before := written()
		r = f.mustStatus(f.call("POST", procesar, f.a, nil), 400)
		var refusal struct {
			Detail         string   `json:"detail"`
			CodigosSinTipo []string `json:"codigos_sin_tipo"`
		}
		_ = json.Unmarshal([]byte(r.body), &refusal)
		if strings.Join(refusal.CodigosSinTipo, ",") != "BARE,UNKNOWN" || refusal.Detail == "" || written() != before {
			t.Fatalf("refusal %s", r.body)
		}
		if _, err := f.files.Stat(ctx, stagedImage); err != nil {
			t.Errorf("staged image %s gone while lines still refer to it: %v", stagedImage, err)
		}
		// Typed (with the frontend's hyphenated path), they join the same
		// document.
		f.mustStatus(f.call("POST", "/api/lineas-temporales/asignar-tipo/", f.a, map[string]any{"codigo_producto": "BARE", "tipo": "Radio"}), 200)
		f.mustStatus(f.call("POST", "/api/lineas-temporales/asignar-tipo/", f.a, map[string]any{"codigo_producto": "UNKNOWN", "tipo": "Cifrador"}), 200)
		r = f.mustStatus(f.call("POST", procesar, f.a, nil), 201)
		pc := decode[procesarJSON](t, r)
		if pc.AlbaranID != p.AlbaranID || pc.Procesados != 2 || len(pc.Pendientes) != 0 || pc.Numero != "AC21-100" || pc.ConImagen {
			t.Fatalf("continuation %s", r.body)
		}
		var doc struct {
			Numero        string    `bun:"numero"`
			Direccion     string    `bun:"direccion_transferencia"`
			Tipo          string    `bun:"tipo_documento"`
			Registro      string    `bun:"numero_registro_entrada"`
			Contab        string    `bun:"codigo_contabilidad"`
			Odmc          string    `bun:"odmc_numero"`
			Origen        int64     `bun:"empresa_origen_id"`
			Destino       int64     `bun:"empresa_destino_id"`
			FechaInforme  time.Time `bun:"fecha_informe"`
			FechaTx       time.Time `bun:"fecha_transaccion"`
			Accesorios    string    `bun:"accesorios"`
			Equipos       string    `bun:"equipos_prueba"`
			FirmaANombre  string    `bun:"firma_a_nombre_apellidos"`
			FirmaARango   string    `bun:"firma_a_empleo_rango"`
			FirmaBCargo   string    `bun:"firma_b_cargo"`
			Observaciones string    `bun:"observaciones_odmc"`
			Imagen        string    `bun:"imagen_documento"`
			Total         int       `bun:"total_paginas"`
			CreatedBy     int64     `bun:"created_by_id"`
		}
		if err := db.NewRaw(`SELECT numero, direccion_transferencia, tipo_documento, numero_registro_entrada, codigo_contabilidad,
			odmc_numero, empresa_origen_id, empresa_destino_id, fecha_informe, fecha_transaccion, accesorios, equipos_prueba,
			firma_a_nombre_apellidos, firma_a_empleo_rango, firma_b_cargo, observaciones_odmc, imagen_documento, total_paginas,
			created_by_id FROM albaranes WHERE id = ?`, p.AlbaranID).Scan(ctx, &doc); err != nil {
			t.Fatal(err)
		}
		var acc, eq []map[string]any
		_ = json.Unmarshal([]byte(doc.Accesorios), &acc)
		_ = json.Unmarshal([]byte(doc.Equipos), &eq)
		if doc.Direccion != "ENTRADA" || doc.Tipo != "TRANSFERENCIA" || doc.Registro != "E-2026-1" || doc.Contab != "CC-1, CC-2" ||
			doc.Odmc != "ODMC-7" || doc.Origen != origen || doc.Destino != destino || doc.FechaInforme.Format("2006-01-02") != "2026-03-14" ||
			doc.FechaTx.Format("2006-01-02") != "2026-03-15" || len(acc) != 1 || len(eq) != 1 || doc.FirmaANombre != "Ana Pérez" ||
			doc.FirmaARango != "Cte." || doc.FirmaBCargo != "Testigo" || doc.Observaciones != "Recibido sin incidencias" ||
			doc.Total != 1 || doc.CreatedBy != f.aID {
			t.Errorf("document %+v", doc)
		}
		wantImage := fmt.Sprintf("albaranes/%s/albaran_%d_AC21.png", time.Now().UTC().Format("2006/01"), p.AlbaranID)
		if doc.Imagen != wantImage {
			t.Errorf("image %q, want %q", doc.Imagen, wantImage)
		}
		if _, err := f.files.Stat(ctx, doc.Imagen); err != nil {
			t.Errorf("document image not stored: %v", err)
		}
		if _, err := f.files.Stat(ctx, stagedImage); err == nil {
			t.Errorf("staged image %s still there", stagedImage)
		}
		// The items are in custody.
		if n := f.count(`SELECT count(*) FROM inventario AS i JOIN productos AS p ON p.id = i.producto_id
			WHERE i.estado = 'activo' AND p.codigo_producto IN ('UNKNOWN', 'BARE', 'TYPED')`); n != 4 {
			t.Errorf("%d items activo, want 4", n)
		}
		if n := f.count("SELECT count(*) FROM movimientos WHERE albaran_id = ? AND tipo_movimiento = 'TRANSFERENCIA' AND estado_nuevo = 'activo'", p.AlbaranID); n != 4 {
			t.Errorf("%d movements", n)
		}
		if n := f.count("SELECT count(*) FROM lineas_temporales WHERE usuario_id = ? AND procesado = ?", f.aID, true); n != 4 {
			t.Errorf("%d of A's lines processed, want 4", n)
		}
		if n := f.count("SELECT count(*) FROM lineas_temporales WHERE usuario_id = ? AND procesado = ?", f.bID, false); n != 1 {
			t.Error("B's line was touched")
		}
		// 4 lines processed, 2 of them first marked as pending on the document.
		if n := f.count("SELECT count(*) FROM audit_logs WHERE table_name = 'lineas_temporales' AND action = 'update'"); n != 6 {
			t.Errorf("%d staging line updates audited, want 6", n)
		}

		// Same registry number again: a new page, duplicates skipped and reported.
		f.mustStatus(f.call("POST", bulk, f.a, ac21("AC21-100 hoja 2", "E-2026-1", art("TYPED", "T2"), art("TYPED", "T3"), art("TYPED", "T3"))), 201)
		p2 := decode[procesarJSON](t, f.mustStatus(f.call("POST", procesar, f.a, nil), 201))
		if p2.Numero != "AC21-100-P2" || p2.PaginaNumero != 2 || p2.Procesados != 1 || len(p2.Omitidos) != 2 || p2.ConImagen {
			t.Fatalf("%+v", p2)
		}
		if !strings.Contains(p2.Omitidos[0].Motivo, "AC21-100") && !strings.Contains(p2.Omitidos[1].Motivo, "AC21-100") {
			t.Errorf("omitidos %+v", p2.Omitidos)
		}
		f.mustStatus(f.call("POST", bulk, f.a, ac21("AC21-100 hoja 3", "E-2026-1", art("TYPED", "T4"))), 201)
		p3 := decode[procesarJSON](t, f.mustStatus(f.call("POST", procesar, f.a, nil), 201))
		if p3.Numero != "AC21-100-P3" {
			t.Fatalf("%+v", p3)
		}
		var pages []struct {
			Numero    string `bun:"numero"`
			Pagina    int    `bun:"pagina_numero"`
			Total     int    `bun:"total_paginas"`
			Principal *int64 `bun:"documento_principal_id"`
			Registro  string `bun:"numero_registro_entrada"`
			Tipo      string `bun:"tipo_documento"`
			Origen    *int64 `bun:"empresa_origen_id"`
		}
		if err := db.NewRaw("SELECT numero, pagina_numero, total_paginas, documento_principal_id, numero_registro_entrada, tipo_documento, empresa_origen_id FROM albaranes ORDER BY pagina_numero").Scan(ctx, &pages); err != nil {
			t.Fatal(err)
		}
		if len(pages) != 3 {
			t.Fatalf("%+v", pages)
		}
		for i, pg := range pages {
			if pg.Pagina != i+1 || pg.Total != 3 || pg.Registro != "E-2026-1" || pg.Tipo != "TRANSFERENCIA" || pg.Origen == nil || *pg.Origen != origen {
				t.Errorf("page %d: %+v", i+1, pg)
			}
			if (i == 0) != (pg.Principal == nil) || (i > 0 && *pg.Principal != p.AlbaranID) {
				t.Errorf("page %d principal %v", i+1, pg.Principal)
			}
		}
		if n := f.count("SELECT count(*) FROM lineas_temporales WHERE usuario_id = ? AND procesado = ?", f.aID, false); n != 0 {
			t.Errorf("%d of A's lines pending (omitted duplicates are on the document, so processed)", n)
		}
		if n := f.count("SELECT count(*) FROM inventario WHERE estado = 'activo'"); n != 6 {
			t.Errorf("%d items in custody, want 6", n)
		}

		// Lines of two staged documents are never merged: with overrides
		// the document must be named; without (the staging page's bare
		// "Procesar"), the document staged first goes and the other waits.
		f.mustStatus(f.call("POST", bulk, f.a, ac21("DOC-X", "", art("TYPED", "X1"))), 201)
		f.mustStatus(f.call("POST", bulk, f.a, ac21("DOC-Y", "", art("TYPED", "Y1"))), 201)
		r = f.mustStatus(f.call("POST", procesar, f.a, map[string]any{"cabecera": map[string]any{"odmc_numero": "O-1"}}), 400)
		if !strings.Contains(r.body, "numero_albaran") || !strings.Contains(r.body, "DOC-X, DOC-Y") {
			t.Errorf("%s", r.body)
		}
		px := decode[procesarJSON](t, f.mustStatus(f.call("POST", procesar, f.a, nil), 201))
		if px.Numero != "DOC-X" || px.Procesados != 1 || strings.Join(px.OtrosDocumentos, ",") != "DOC-Y" || !strings.Contains(px.Detail, "DOC-Y") {
			t.Fatalf("%+v", px)
		}
		py := decode[procesarJSON](t, f.mustStatus(f.call("POST", procesar, f.a, map[string]any{"numero_albaran": "DOC-Y",
			"cabecera": map[string]any{"tipo_transaccion": ""}}), 201))
		var tipo string
		if err := db.NewRaw("SELECT tipo_documento FROM albaranes WHERE id = ?", py.AlbaranID).Scan(ctx, &tipo); err != nil || tipo != "INVENTARIO" {
			t.Errorf("empty tipo_transaccion gives %q (%v), want INVENTARIO", tipo, err)
		}
		// A number already used by another document: 409, nothing written.
		f.mustStatus(f.call("POST", bulk, f.a, ac21("DOC-Z", "", art("TYPED", "Z1"))), 201)
		before = written()
		r = f.mustStatus(f.call("POST", procesar, f.a, map[string]any{"cabecera": map[string]any{"numero": "DOC-X"}}), 409)
		if written() != before || !strings.Contains(r.body, "DOC-X") {
			t.Errorf("%s", r.body)
		}
		f.mustStatus(f.call("POST", procesar, f.a, nil), 201)
	})
}

func TestDocumentImage(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newStagingFixture(t, db)
		ctx := context.Background()
		f.producto("TYPED", "Radio")
		data, _ := json.Marshal(ac21("IMG-DOC", "", art("TYPED", "1")))
		f.mustStatus(f.upload("/api/lineas-temporales/bulk_create/", f.a, map[string]string{"data": string(data)},
			map[string]part{"imagen_documento": {"scan.png", pngBytes}}), 201)
		p := decode[procesarJSON](t, f.mustStatus(f.call("POST", "/api/lineas-temporales/procesar/", f.a, nil), 201))
		path := fmt.Sprintf("/api/albaranes/%d/imagen-documento/", p.AlbaranID)

		f.mustStatus(f.call("GET", path, "", nil), 401)
		f.mustStatus(f.call("GET", path, f.member, nil), 403)
		r := f.mustStatus(f.call("GET", path, f.b, nil), 200)
		if r.body != string(pngBytes) {
			t.Error("served bytes differ")
		}
		for h, want := range map[string]string{"Content-Type": "image/png", "X-Content-Type-Options": "nosniff",
			"Cache-Control": "private, no-store", "Content-Disposition": fmt.Sprintf(`inline; filename="albaran_%d_AC21.png"`, p.AlbaranID)} {
			if got := r.header.Get(h); got != want {
				t.Errorf("%s: %q, want %q", h, got, want)
			}
		}

		// No image, no document, not an id: 404 {detail}.
		var bare int64
		if err := db.NewRaw(`INSERT INTO albaranes (numero, fecha, created_at, updated_at) VALUES ('SIN-IMAGEN', ?, ?, ?) RETURNING id`,
			time.Now().UTC(), time.Now().UTC(), time.Now().UTC()).Scan(ctx, &bare); err != nil {
			t.Fatal(err)
		}
		for _, pth := range []string{fmt.Sprintf("/api/albaranes/%d/imagen-documento/", bare), "/api/albaranes/999999/imagen-documento/", "/api/albaranes/x/imagen-documento/"} {
			r := f.mustStatus(f.call("GET", pth, f.a, nil), 404)
			if d := decode[map[string]any](t, r); d["detail"] == nil {
				t.Errorf("%s: %s", pth, r.body)
			}
		}

		// Upload: productos.editar; the old file goes, the new one is served.
		var old string
		if err := db.NewRaw("SELECT imagen_documento FROM albaranes WHERE id = ?", p.AlbaranID).Scan(ctx, &old); err != nil {
			t.Fatal(err)
		}
		f.mustStatus(f.upload(path, "", nil, map[string]part{"imagen_documento": {"a.jpg", jpegBytes}}), 401)
		f.mustStatus(f.upload(path, f.member, nil, map[string]part{"imagen_documento": {"a.jpg", jpegBytes}}), 403)
		r = f.mustStatus(f.upload(path, f.a, nil, map[string]part{"imagen_documento": {"a.html", []byte("<html><body>hola</body></html>")}}), 400)
		if !strings.Contains(r.body, "imagen_documento") {
			t.Errorf("%s", r.body)
		}
		f.mustStatus(f.upload(path, f.a, nil, nil), 400)
		f.mustStatus(f.call("POST", path, f.a, map[string]any{}), 400)
		f.mustStatus(f.upload("/api/albaranes/999999/imagen-documento/", f.a, nil, map[string]part{"imagen_documento": {"a.jpg", jpegBytes}}), 404)
		r = f.mustStatus(f.upload(path, f.a, nil, map[string]part{"imagen_documento": {"a.jpg", jpegBytes}}), 200)
		if d := decode[map[string]any](t, r); !strings.HasSuffix(fmt.Sprint(d["imagen_documento_url"]), path) || d["tiene_imagen_documento"] != true {
			t.Errorf("%s", r.body)
		}
		if _, err := f.files.Stat(ctx, old); err == nil {
			t.Errorf("old image %s not deleted", old)
		}
		r = f.mustStatus(f.call("GET", path, f.a, nil), 200)
		if r.header.Get("Content-Type") != "image/jpeg" || r.body != string(jpegBytes) {
			t.Errorf("after replace: %s", r.header.Get("Content-Type"))
		}
		// A header naming another user's staged scan does not file it.
		data, _ = json.Marshal(ac21("AJENO", "", art("TYPED", "b1")))
		f.mustStatus(f.upload("/api/lineas-temporales/bulk_create/", f.b, map[string]string{"data": string(data)},
			map[string]part{"imagen_documento": {"scan.png", pngBytes}}), 201)
		var theirs string
		if err := db.NewRaw("SELECT datos_adicionales FROM lineas_temporales WHERE usuario_id = ? LIMIT 1", f.bID).Scan(ctx, &theirs); err != nil {
			t.Fatal(err)
		}
		var hdr map[string]any
		_ = json.Unmarshal([]byte(theirs), &hdr)
		f.mustStatus(f.call("POST", "/api/lineas-temporales/", f.a, map[string]any{"numero_albaran": "MIO", "codigo_producto": "TYPED",
			"numero_serie": "a1", "datos_adicionales": map[string]any{"imagen_temporal_name": hdr["imagen_temporal_name"]}}), 201)
		mine := decode[procesarJSON](t, f.mustStatus(f.call("POST", "/api/lineas-temporales/procesar/", f.a, nil), 201))
		if mine.ConImagen {
			t.Error("another user's staged image was filed")
		}
		if _, err := f.files.Stat(ctx, hdr["imagen_temporal_name"].(string)); err != nil {
			t.Errorf("another user's staged image is gone: %v", err)
		}
		f.mustStatus(f.call("GET", fmt.Sprintf("/api/albaranes/%d/imagen-documento/", mine.AlbaranID), f.a, nil), 404)

		// Replacing with the same type and month must not delete the new file.
		f.mustStatus(f.upload(path, f.a, nil, map[string]part{"imagen_documento": {"b.jpg", jpegBytes}}), 200)
		f.mustStatus(f.call("GET", path, f.a, nil), 200)
		if n := f.count("SELECT count(*) FROM audit_logs WHERE table_name = 'albaranes' AND action = 'update' AND record_id = ?", fmt.Sprint(p.AlbaranID)); n != 3 {
			t.Errorf("%d image changes audited, want 3", n)
		}
	})
}

func TestStagingLimpiarProcesados(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newStagingFixture(t, db)
		ctx := context.Background()
		path := "/api/lineas-temporales/limpiar_procesados/"
		mk := func(token string, n int, procesado bool, age time.Duration) {
			for i := range n {
				l := decode[lineaJSON](t, f.mustStatus(f.call("POST", "/api/lineas-temporales/", token, map[string]any{
					"numero_albaran": "L", "codigo_producto": "C", "numero_serie": fmt.Sprint(i), "procesado": procesado}), 201))
				if _, err := db.NewRaw("UPDATE lineas_temporales SET created_at = ? WHERE id = ?", time.Now().UTC().Add(-age), l.ID).Exec(ctx); err != nil {
					t.Fatal(err)
				}
			}
		}
		mk(f.a, 2, true, 40*24*time.Hour)  // A: old processed → purged
		mk(f.a, 1, true, 2*24*time.Hour)   // A: recent processed → kept at 30 days
		mk(f.a, 1, false, 90*24*time.Hour) // A: old pending → never purged
		mk(f.b, 3, true, 40*24*time.Hour)  // B: old processed → only for crypto

		for _, bad := range []any{-1, "x", 1.5, true} {
			r := f.mustStatus(f.call("POST", path, f.a, map[string]any{"dias": bad}), 400)
			if !strings.Contains(r.body, `"dias"`) {
				t.Errorf("%v: %s", bad, r.body)
			}
		}
		f.mustStatus(f.call("POST", path, f.member, nil), 403)
		res := decode[map[string]any](t, f.mustStatus(f.call("POST", path, f.a, nil), 200))
		if res["count"] != float64(2) || res["message"] == "" {
			t.Errorf("default 30 days: %v", res)
		}
		res = decode[map[string]any](t, f.mustStatus(f.call("POST", path, f.a, map[string]any{"dias": "1"}), 200))
		if res["count"] != float64(1) {
			t.Errorf("dias=1: %v", res)
		}
		if n := f.count("SELECT count(*) FROM lineas_temporales WHERE usuario_id = ?", f.bID); n != 3 {
			t.Error("A purged B's lines")
		}
		res = decode[map[string]any](t, f.mustStatus(f.call("POST", path, f.crypto, map[string]any{"dias": 0}), 200))
		if res["count"] != float64(3) {
			t.Errorf("crypto purges everyone's: %v", res)
		}
		if n := f.count("SELECT count(*) FROM lineas_temporales"); n != 1 {
			t.Errorf("%d lines left, want A's pending one", n)
		}
		if n := f.count("SELECT count(*) FROM audit_logs WHERE table_name = 'lineas_temporales' AND action = 'delete'"); n != 6 {
			t.Errorf("%d deletions audited", n)
		}
	})
}

// packingList builds an .xlsx with the legacy headers (or the given ones).
func packingList(t testing.TB, header []any, rows ...[]any) []byte {
	t.Helper()
	x := excelize.NewFile()
	defer x.Close()
	for r, row := range append([][]any{header}, rows...) {
		for c, v := range row {
			if v == nil {
				continue
			}
			cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
			_ = x.SetCellValue("Sheet1", cell, v)
		}
	}
	buf, err := x.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestStagingImportExcel(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newStagingFixture(t, db)
		path := "/api/lineas-temporales/import-excel/"
		header := []any{" packing  list", "PART N", "DESCRIPCION", "s/n", "Bultos Total", "Observaciones"}
		good := packingList(t, header,
			[]any{"PL-77", "KG-1", "Cifrador", "A1", 2, "caja 1"},
			[]any{"PL-77", "KG-1", "Cifrador", "", 1, nil},
			[]any{"PL-77", "KG-1", "Cifrador", "A1", 1, nil},
			[]any{"PL-77", "KG-2", "Radio", 998877665544, nil, nil},
		)
		file := func(data []byte) map[string]part { return map[string]part{"file": {"packing.xlsx", data}} }

		f.mustStatus(f.upload(path, "", nil, file(good)), 401)
		f.mustStatus(f.upload(path, f.member, nil, file(good)), 403)

		r := f.mustStatus(f.upload(path, f.a, nil, file(good)), 201)
		var res struct {
			NumeroAlbaran string `json:"numero_albaran"`
			Staged        int    `json:"staged"`
			Skipped       []struct {
				Fila   int    `json:"fila"`
				Motivo string `json:"motivo"`
			} `json:"skipped"`
			Lineas []lineaJSON `json:"lineas"`
		}
		if err := json.Unmarshal([]byte(r.body), &res); err != nil {
			t.Fatal(err)
		}
		if res.NumeroAlbaran != "PL-77" || res.Staged != 2 || len(res.Lineas) != 2 || len(res.Skipped) != 2 ||
			res.Skipped[0].Fila != 3 || res.Skipped[1].Fila != 4 || !strings.Contains(res.Skipped[1].Motivo, "repetido") {
			t.Fatalf("%s", r.body)
		}
		l := res.Lineas[1]
		cab, _ := l.DatosAdicionales["cabecera"].(map[string]any)
		if l.Usuario != f.aID || l.NumeroAlbaran != "PL-77" || l.NumeroSerie != "998877665544" || l.CodigoProducto != "KG-2" ||
			cab["numero"] != "PL-77" || l.DatosAdicionales["archivo"] != "packing.xlsx" || l.ID == 0 {
			t.Errorf("%+v", l)
		}
		if res.Lineas[0].BultosTotal == nil || *res.Lineas[0].BultosTotal != 2 {
			t.Errorf("bultos_total %+v", res.Lineas[0])
		}
		if n := f.count("SELECT count(*) FROM lineas_temporales WHERE usuario_id = ?", f.aID); n != 2 {
			t.Errorf("%d lines staged", n)
		}

		// Every refusal is a 4xx naming the problem; none writes anything.
		big := [][]any{}
		for i := range 5001 {
			big = append(big, []any{"PL", "C", "d", fmt.Sprint(i)})
		}
		for _, tc := range []struct {
			name  string
			fn    func() response
			field string
		}{
			{"JSON instead of a file", func() response { return f.call("POST", path, f.a, map[string]any{"file": "x"}) }, "file"},
			{"no file part", func() response { return f.upload(path, f.a, map[string]string{"x": "y"}, nil) }, "file"},
			{"not a workbook", func() response { return f.upload(path, f.a, nil, file([]byte("a;b;c\n1;2;3\n"))) }, "file"},
			{"truncated workbook", func() response { return f.upload(path, f.a, nil, file(good[:len(good)/3])) }, "file"},
			{"legacy .xls", func() response {
				return f.upload(path, f.a, nil, file(append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 512)...)))
			}, "file"},
			{"empty sheet", func() response { return f.upload(path, f.a, nil, file(packingList(t, nil))) }, "file"},
			{"missing columns", func() response {
				return f.upload(path, f.a, nil, file(packingList(t, []any{"Packing List", "Descripción"}, []any{"PL", "x"})))
			}, "Part. N"},
			{"no usable row", func() response {
				return f.upload(path, f.a, nil, file(packingList(t, header, []any{"PL", "C", "d", ""})))
			}, "skipped"},
			{"no packing list number", func() response {
				return f.upload(path, f.a, nil, file(packingList(t, header, []any{"", "C", "d", "1"})))
			}, "Packing List"},
			{"more than 5000 rows", func() response { return f.upload(path, f.a, nil, file(packingList(t, header, big...))) }, "5000"},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := tc.fn()
				if r.status != 400 {
					t.Fatalf("status %d: %s", r.status, r.body)
				}
				if !strings.Contains(r.body, tc.field) {
					t.Errorf("%s", r.body)
				}
				if n := f.count("SELECT count(*) FROM lineas_temporales"); n != 2 {
					t.Errorf("%d lines after a refusal", n)
				}
			})
		}
		// A body over the upload limit is refused before it is read.
		req := httptest.NewRequest("POST", path, strings.NewReader("x"))
		req.ContentLength = 1 << 40
		req.Header.Set("Content-Type", "multipart/form-data; boundary=x")
		req.Header.Set("Authorization", "Bearer "+f.a)
		rec := httptest.NewRecorder()
		f.srv.Handler().ServeHTTP(rec, req)
		if rec.Code != 413 {
			t.Errorf("oversized upload: %d", rec.Code)
		}
	})
}

// TestStagingEndToEnd walks the packing-list day: stage an Excel list,
// type the unknown codes, process into an ENTRADA document whose items are
// in custody.
func TestStagingEndToEnd(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		f := newStagingFixture(t, db)
		xlsx := packingList(t, []any{"Packing List", "Part. N", "Descripción", "S/N", "BULTOS TOTAL", "OBSERVACIONES"},
			[]any{"PL-500", "KIV-7", "Cifrador KIV", "K1", 1, nil},
			[]any{"PL-500", "KIV-7", "Cifrador KIV", "K2", 1, nil},
			[]any{"PL-500", "PRC-1", "Radio", "P1", 1, nil},
		)
		f.mustStatus(f.upload("/api/lineas-temporales/import-excel/", f.a, nil, map[string]part{"file": {"pl.xlsx", xlsx}}), 201)
		r := f.mustStatus(f.call("POST", "/api/lineas-temporales/procesar/", f.a, nil), 400)
		if !strings.Contains(r.body, `"codigos_sin_tipo":["KIV-7","PRC-1"]`) {
			t.Fatalf("%s", r.body)
		}
		for code, tipo := range map[string]string{"KIV-7": "Cifrador", "PRC-1": "Radio"} {
			f.mustStatus(f.call("POST", "/api/lineas-temporales/asignar_tipo/", f.a, map[string]any{"codigo_producto": code, "tipo": tipo}), 200)
		}
		p := decode[procesarJSON](t, f.mustStatus(f.call("POST", "/api/lineas-temporales/procesar/", f.a, nil), 201))
		if p.Numero != "PL-500" || p.Procesados != 3 {
			t.Fatalf("%+v", p)
		}
		var items []struct {
			Codigo string `bun:"codigo_producto"`
			Serie  string `bun:"numero_serie"`
			Estado string `bun:"estado"`
			Desc   string `bun:"descripcion"`
		}
		if err := db.NewRaw(`SELECT p.codigo_producto, i.numero_serie, i.estado, i.descripcion FROM inventario AS i
			JOIN productos AS p ON p.id = i.producto_id ORDER BY p.codigo_producto, i.numero_serie`).Scan(context.Background(), &items); err != nil {
			t.Fatal(err)
		}
		got := []string{}
		for _, it := range items {
			got = append(got, it.Codigo+"/"+it.Serie+"/"+it.Estado)
		}
		if strings.Join(got, ",") != "KIV-7/K1/activo,KIV-7/K2/activo,PRC-1/P1/activo" {
			t.Errorf("inventory %v", got)
		}
		var resumen struct {
			Total      int `bun:"total"`
			EnCustodia int `bun:"en_custodia"`
		}
		if err := db.NewRaw("SELECT total, en_custodia FROM inventario_resumen WHERE id = 1").Scan(context.Background(), &resumen); err != nil ||
			resumen.Total != 3 || resumen.EnCustodia != 3 {
			t.Errorf("resumen %+v %v", resumen, err)
		}
		// /api/inventario/ (when served) lists them in custody too.
		if r := f.call("GET", "/api/inventario/?estado=activo", f.a, nil); r.status == 200 {
			var inv []map[string]any
			if err := json.Unmarshal([]byte(r.body), &inv); err == nil && len(inv) != 3 {
				t.Errorf("/api/inventario/: %s", r.body)
			}
		}
	})
}
