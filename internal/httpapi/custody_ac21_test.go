package httpapi_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/identity"
)

// ac21Doc is a document written straight into the tables (the documents
// API is not needed to render one).
type ac21Doc struct {
	mainID  int64
	pageIDs []int64 // extra pages
	serials []string
}

// insertAC21Doc stores a SALIDA TRANSFERENCIA numbered numero between
// two companies, with one stored page per entry of lines (the number of
// lines on it), and returns its ids and serial numbers in page order.
func insertAC21Doc(t *testing.T, db *database.DB, numero string, lines ...int) ac21Doc {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC()
	day := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
	scan := func(dest *int64, q string, args ...any) {
		t.Helper()
		if err := db.NewRaw(q, args...).Scan(ctx, dest); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	var origen, destino, producto int64
	scan(&origen, `INSERT INTO empresas (nombre, direccion, ciudad, codigo_postal, provincia, numero_odmc)
		VALUES ('Compañía Española de Cifra', 'Calle Alcalá 1', 'Madrid', '28014', 'Madrid', 'ODMC-01') RETURNING id`)
	scan(&destino, `INSERT INTO empresas (nombre, direccion, ciudad, codigo_postal, provincia, numero_odmc)
		VALUES ('Ñandú Sistemas', 'Avda. de Andalucía 3', 'Logroño', '26001', 'La Rioja', 'ODMC-02') RETURNING id`)
	scan(&producto, `INSERT INTO productos (codigo_producto, descripcion, ultima_actualizacion) VALUES (?, 'Módulo de cifra', ?) RETURNING id`,
		"KG-"+numero, now)
	doc := ac21Doc{}
	n := 0
	for i, count := range lines {
		var id int64
		pageNumero := numero
		var principal any
		if i > 0 {
			pageNumero = fmt.Sprintf("%s-P%d", numero, i+1)
			principal = doc.mainID
		}
		scan(&id, `INSERT INTO albaranes (numero, fecha, pagina_numero, total_paginas, documento_principal_id, direccion_transferencia,
				empresa_origen_id, empresa_destino_id, tipo_documento, fecha_informe, numero_registro_salida, fecha_transaccion,
				accesorios, estado_material, destinatario_autorizado_testigo,
				firma_a_empleo_rango, firma_a_nombre_apellidos, firma_a_cargo, firma_b_empleo_rango, firma_b_nombre_apellidos, firma_b_cargo,
				observaciones_odmc, created_at, updated_at)
			VALUES (?, ?, ?, ?, ?, 'SALIDA', ?, ?, 'TRANSFERENCIA', ?, ?, ?, ?, 'RECIBIDO', ?, 'Capitán', 'María Núñez Ibáñez', 'Custodia',
				'Sargento', 'José Ángel Peña', 'Testigo', ?, ?, ?) RETURNING id`,
			pageNumero, now, i+1, len(lines), principal, origen, destino, day, numero, day,
			`[{"descripcion": "Cable de alimentación", "cantidad": 2}]`, true,
			`<script>alert("x")</script> Entrega en mano`, now, now)
		if i == 0 {
			doc.mainID = id
		} else {
			doc.pageIDs = append(doc.pageIDs, id)
		}
		for range count {
			n++
			serial := fmt.Sprintf("SN-%s-%03d", numero, n)
			var mid int64
			scan(&mid, `INSERT INTO movimientos (producto_id, numero_serie, albaran_id, fecha, tipo_movimiento, estado_anterior, estado_nuevo, cantidad, cc)
				VALUES (?, ?, ?, ?, 'TRANSFERENCIA', 'activo', 'inactivo', 1, 1) RETURNING id`, producto, serial, id, now.Add(time.Duration(n)*time.Microsecond))
			doc.serials = append(doc.serials, serial)
		}
	}
	return doc
}

// queryCounter counts the statements run on db.
type queryCounter struct{ n atomic.Int64 }

func (c *queryCounter) BeforeQuery(ctx context.Context, _ *bun.QueryEvent) context.Context {
	c.n.Add(1)
	return ctx
}
func (c *queryCounter) AfterQuery(context.Context, *bun.QueryEvent) {}

func TestAC21HTMLEndpoint(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		s := newStack(t, db)
		crypto := s.token(s.user("crypto@example.org", "Custodia-Material-2026", identity.RoleCrypto).ID)
		member := s.token(s.user("member@example.org", "Custodia-Material-2026", identity.RoleMember).ID)
		doc := insertAC21Doc(t, db, "S2026-0042", 3, 22)
		path := func(id int64) string { return fmt.Sprintf("/api/albaranes/%d/generar-ac21-html/", id) }

		for _, tc := range []struct {
			name   string
			path   string
			token  string
			status int
		}{
			{"anonymous", path(doc.mainID), "", 401},
			{"member without productos.ver", path(doc.mainID), member, 403},
			{"missing document", path(doc.mainID + 1000), crypto, 404},
			{"id not an integer", "/api/albaranes/abc/generar-ac21-html/", crypto, 404},
			{"crypto, main document", path(doc.mainID), crypto, 200},
			{"crypto, extra page", path(doc.pageIDs[0]), crypto, 200},
		} {
			t.Run(tc.name, func(t *testing.T) {
				r := s.call("GET", tc.path, tc.token, nil)
				if r.status != tc.status {
					t.Fatalf("status %d, want %d: %s", r.status, tc.status, r.body)
				}
				if tc.status != 200 {
					if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
						t.Errorf("error content type %q", ct)
					}
					return
				}
				if ct := r.header.Get("Content-Type"); ct != "text/html; charset=utf-8" {
					t.Errorf("content type %q", ct)
				}
				if csp := r.header.Get("Content-Security-Policy"); !strings.Contains(csp, "style-src 'sha256-") || !strings.Contains(csp, "default-src 'none'") {
					t.Errorf("CSP %q", csp)
				}
				// The whole document, whichever page was asked for: the
				// stored structure (3 + 22 lines) gives two pages.
				for _, want := range []string{"S2026-0042", "Compañía Española de Cifra", "26001 Logroño (La Rioja)", "Transferencia (Salida)",
					"05/03/2026", "María Núñez Ibáñez", "José Ángel Peña", "Página 1 de 2", "Página 2 de 2", "2 × Cable de alimentación",
					"&lt;script&gt;"} {
					if !strings.Contains(r.body, want) {
						t.Errorf("lacks %q", want)
					}
				}
				if strings.Contains(r.body, "<script") {
					t.Error("observaciones not escaped")
				}
				for _, serial := range doc.serials {
					if !strings.Contains(r.body, ">"+serial+"<") {
						t.Errorf("serial %s missing", serial)
					}
				}
				if n := strings.Count(r.body, `class="page-break"`); n != 1 {
					t.Errorf("%d page breaks, want 1", n)
				}
			})
		}

		// The loader's cost does not grow with the document: principal +
		// two queries, for 3 lines or for 60.
		small := insertAC21Doc(t, db, "S2026-0043", 3)
		big := insertAC21Doc(t, db, "S2026-0044", 20, 20, 20)
		counter := &queryCounter{}
		db.AddQueryHook(counter)
		for _, id := range []int64{small.mainID, big.pageIDs[1]} {
			counter.n.Store(0)
			if r := s.call("GET", path(id), crypto, nil); r.status != 200 {
				t.Fatalf("status %d", r.status)
			}
			t.Logf("document %d: %d queries", id, counter.n.Load())
			if n := counter.n.Load(); n > 3 || n < 2 {
				t.Errorf("document %d: %d queries, want ≤ 3 (principal + 2)", id, n)
			}
		}
	})
}

func TestAC21PDFEndpoint(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		s := newStack(t, db)
		crypto := s.token(s.user("crypto@example.org", "Custodia-Material-2026", identity.RoleCrypto).ID)
		member := s.token(s.user("member@example.org", "Custodia-Material-2026", identity.RoleMember).ID)
		doc := insertAC21Doc(t, db, "S2026-0042", 2, 3, 1)
		path := func(id int64) string { return fmt.Sprintf("/api/albaranes/%d/ac21.pdf", id) }

		for _, tc := range []struct {
			name   string
			token  string
			id     int64
			status int
		}{
			{"anonymous", "", doc.mainID, 401},
			{"member without productos.ver", member, doc.mainID, 403},
			{"missing document", crypto, doc.mainID + 1000, 404},
		} {
			if r := s.call("GET", path(tc.id), tc.token, nil); r.status != tc.status {
				t.Errorf("%s: status %d, want %d: %s", tc.name, r.status, tc.status, r.body)
			}
		}

		r := s.call("GET", path(doc.pageIDs[1]), crypto, nil)
		if r.status != 200 {
			t.Fatalf("status %d: %s", r.status, r.body)
		}
		if ct := r.header.Get("Content-Type"); ct != "application/pdf" {
			t.Errorf("content type %q", ct)
		}
		if cd := r.header.Get("Content-Disposition"); cd != `inline; filename="AC21-S2026-0042.pdf"` {
			t.Errorf("content disposition %q", cd)
		}
		if !strings.HasPrefix(r.body, "%PDF-") {
			t.Fatalf("not a PDF: %q", r.body[:min(len(r.body), 16)])
		}

		if _, err := exec.LookPath("pdftotext"); err != nil {
			t.Skip("pdftotext not installed (apt-get install poppler-utils; .ci/run installs it): PDF text not checked")
		}
		file := filepath.Join(t.TempDir(), "ac21.pdf")
		if err := os.WriteFile(file, []byte(r.body), 0o600); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command("pdftotext", "-layout", "-enc", "UTF-8", file, "-").Output()
		if err != nil {
			t.Fatalf("pdftotext: %v", err)
		}
		text := string(out)
		for _, want := range append([]string{"S2026-0042", "Ñandú Sistemas", "Nº DE SERIE", "María Núñez Ibáñez", "José Ángel Peña",
			"Página 1 de 3", "Página 3 de 3", `<script>alert("x")</script> Entrega en mano`}, doc.serials...) {
			if !strings.Contains(text, want) {
				t.Errorf("PDF text lacks %q", want)
			}
		}
		// One sheet per stored page (pdftotext ends each with a form feed).
		if n := strings.Count(text, "\f"); n != 3 {
			t.Errorf("%d pages, want 3", n)
		}
		if sheets := strings.Split(text, "\f"); len(sheets) > 2 && !regexp.MustCompile(doc.serials[2]+`[\s\S]*`+doc.serials[4]).MatchString(sheets[1]) {
			t.Errorf("page 2 does not hold lines 3-5:\n%s", sheets[1])
		}
	})
}
