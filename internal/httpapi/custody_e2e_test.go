package httpapi_test

import (
	"bytes"
	"context"
	"fmt"
	"mime/multipart"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/database/dbtest"
	"github.com/thot-security/thot/internal/identity"
)

// packingList builds the .xlsx a supplier sends: legacy column names with
// the spelling variations seen in practice.
func e2ePackingList(t *testing.T, numero string, rows [][2]string) []byte {
	t.Helper()
	f := excelize.NewFile()
	sheet := f.GetSheetName(0)
	header := []any{"Packing List", "PART. Nº", "Descripción", "S/N", "Bultos total", "Observaciones"}
	if err := f.SetSheetRow(sheet, "A1", &header); err != nil {
		t.Fatal(err)
	}
	for i, r := range rows {
		row := []any{numero, r[0], "Cifrador táctico " + r[0], r[1], 1, ""}
		if err := f.SetSheetRow(sheet, fmt.Sprintf("A%d", i+2), &row); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := f.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func (s *stack) e2eUpload(path, token, field, filename string, content []byte) response {
	s.t.Helper()
	var body bytes.Buffer
	w := multipart.NewWriter(&body)
	fw, _ := w.CreateFormFile(field, filename)
	_, _ = fw.Write(content)
	_ = w.Close()
	req := httptest.NewRequest("POST", path, &body)
	req.Header.Set("Content-Type", w.FormDataContentType())
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	s.srv.Handler().ServeHTTP(rec, req)
	return response{rec.Code, rec.Header(), rec.Body.String()}
}

// TestCustodyDay walks the frontend's day: companies → Excel packing list
// staged → unknown codes typed → processed into an ENTRADA → a SALIDA
// TRANSFERENCIA with its S-number → resumen and historial → the SALIDA
// deleted and the items back in custody → the AC21 as HTML and PDF.
func TestCustodyDay(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		s := newStack(t, db)
		u := s.user("custodio@example.org", "Custodia-Diaria-2026", identity.RoleCrypto)
		tok := s.token(u.ID)
		must := func(r response, status int, what string) map[string]any {
			t.Helper()
			if r.status != status {
				t.Fatalf("%s: %d %s", what, r.status, r.body)
			}
			if strings.HasPrefix(r.body, "{") {
				return decode[map[string]any](t, r)
			}
			return nil
		}

		// 1. Companies.
		origen := must(s.call("POST", "/api/empresas/", tok, map[string]any{"nombre": "Proveedor Cifra S.A.", "direccion": "Calle Mayor 1", "ciudad": "Madrid", "codigo_postal": "28001", "provincia": "Madrid", "numero_odmc": "ODMC-11"}), 201, "empresa origen")
		destino := must(s.call("POST", "/api/empresas/", tok, map[string]any{"nombre": "Unidad Receptora Ñandú", "direccion": "Av. Sur 9", "ciudad": "Sevilla", "codigo_postal": "41001", "provincia": "Sevilla", "numero_odmc": "ODMC-22"}), 201, "empresa destino")

		// 2. Stage the packing list.
		xlsx := e2ePackingList(t, "PL-2026-77", [][2]string{{"KG-84", "SN-001"}, {"KG-84", "SN-002"}, {"TACLANE-X", "SN-100"}})
		imp := must(s.e2eUpload("/api/lineas-temporales/import-excel/", tok, "file", "packing.xlsx", xlsx), 201, "import-excel")
		if imp["staged"].(float64) != 3 {
			t.Fatalf("staged %v", imp["staged"])
		}

		// 3. Processing refuses untyped codes, then they are typed.
		r := s.call("POST", "/api/lineas-temporales/procesar/", tok, map[string]any{})
		if r.status != 400 || !strings.Contains(r.body, "KG-84") || !strings.Contains(r.body, "TACLANE-X") {
			t.Fatalf("procesar with untyped codes: %d %s", r.status, r.body)
		}
		for _, code := range []string{"KG-84", "TACLANE-X"} {
			must(s.call("POST", "/api/lineas-temporales/asignar_tipo/", tok, map[string]any{"codigo_producto": code, "tipo": "Cifrador"}), 200, "asignar_tipo "+code)
		}

		// 4. Process into an ENTRADA document.
		proc := must(s.call("POST", "/api/lineas-temporales/procesar/", tok, map[string]any{
			"cabecera":        map[string]any{"numero": "PL-2026-77", "tipo_transaccion": "TRANSFERENCIA", "numero_registro_entrada": "E2026-0001"},
			"empresa_origen":  map[string]any{"id": origen["id"]},
			"empresa_destino": map[string]any{"id": destino["id"]},
		}), 201, "procesar")
		entradaID := int64(proc["albaran_id"].(float64))
		res := must(s.call("GET", "/api/inventario/resumen/", tok, nil), 200, "resumen after ENTRADA")
		if res["total"].(float64) != 3 || res["en_custodia"].(float64) != 3 {
			t.Fatalf("resumen after ENTRADA: %v", res)
		}

		// 5. A SALIDA TRANSFERENCIA of two items gets the next S-number.
		preview := must(s.call("GET", "/api/albaranes/siguiente-numero-registro-salida/?año=2026", tok, nil), 200, "preview")
		salida := must(s.call("POST", "/api/albaranes/", tok, map[string]any{
			"tipo_documento": "TRANSFERENCIA", "direccion_transferencia": "SALIDA", "fecha_transaccion": "2026-11-27",
			"empresa_origen": destino["id"], "empresa_destino": origen["id"],
			"firma_a_nombre_apellidos": "María Núñez", "firma_b_nombre_apellidos": "Íñigo Peña",
			"articulos": []map[string]any{{"codigo": "KG-84", "numero_serie": "SN-001"}, {"codigo": "TACLANE-X", "numero_serie": "SN-100"}},
		}), 201, "salida")
		num, _ := salida["numero_registro_salida"].(string)
		if !strings.HasPrefix(num, "S2026-") || num != preview["numero_registro_salida"] || salida["numero"] != num {
			t.Fatalf("S-number %q, preview %v, numero %v", num, preview["numero_registro_salida"], salida["numero"])
		}
		salidaID := int64(salida["id"].(float64))

		// 6. resumen and historial.
		res = must(s.call("GET", "/api/inventario/resumen/", tok, nil), 200, "resumen after SALIDA")
		if res["en_custodia"].(float64) != 1 || res["fuera_custodia"].(float64) != 2 {
			t.Fatalf("resumen after SALIDA: %v", res)
		}
		var itemID int64
		if err := db.NewRaw(`SELECT i.id FROM inventario i JOIN productos p ON p.id = i.producto_id WHERE p.codigo_producto = 'KG-84' AND i.numero_serie = 'SN-001'`).Scan(context.Background(), &itemID); err != nil {
			t.Fatal(err)
		}
		hist := s.call("GET", fmt.Sprintf("/api/inventario/%d/historial/", itemID), tok, nil)
		if hist.status != 200 || strings.Count(hist.body, `"albaran_id"`) != 2 || !strings.Contains(hist.body, num) {
			t.Fatalf("historial: %d %s", hist.status, hist.body)
		}

		// 8 (before the delete). The AC21 of the SALIDA, as HTML and PDF.
		html := s.call("GET", fmt.Sprintf("/api/albaranes/%d/generar-ac21-html/", salidaID), tok, nil)
		if html.status != 200 || !strings.Contains(html.body, num) || !strings.Contains(html.body, "SN-100") || !strings.Contains(html.body, "María Núñez") {
			t.Fatalf("AC21 HTML: %d", html.status)
		}
		pdf := s.call("GET", fmt.Sprintf("/api/albaranes/%d/ac21.pdf", salidaID), tok, nil)
		if pdf.status != 200 || !strings.HasPrefix(pdf.body, "%PDF") {
			t.Fatalf("AC21 PDF: %d", pdf.status)
		}
		if _, err := exec.LookPath("pdftotext"); err == nil {
			cmd := exec.Command("pdftotext", "-layout", "-", "-")
			cmd.Stdin = strings.NewReader(pdf.body)
			out, err := cmd.Output()
			if err != nil {
				t.Fatal(err)
			}
			for _, want := range []string{num, "SN-001", "SN-100", "María Núñez", "Íñigo Peña"} {
				if !strings.Contains(string(out), want) {
					t.Errorf("PDF text lacks %q", want)
				}
			}
		}

		// 7. Deleting the SALIDA puts the items back in custody.
		if r := s.call("DELETE", fmt.Sprintf("/api/albaranes/%d/", salidaID), tok, nil); r.status != 204 {
			t.Fatalf("delete SALIDA: %d %s", r.status, r.body)
		}
		res = must(s.call("GET", "/api/inventario/resumen/", tok, nil), 200, "resumen after delete")
		if res["total"].(float64) != 3 || res["en_custodia"].(float64) != 3 {
			t.Fatalf("resumen after deleting the SALIDA: %v", res)
		}
		inv := s.call("GET", "/api/inventario/?estado=inactivo", tok, nil)
		if inv.status != 200 || strings.TrimSpace(inv.body) != "[]" {
			t.Fatalf("items still out of custody: %d %s", inv.status, inv.body)
		}
		if r := s.call("GET", fmt.Sprintf("/api/albaranes/%d/", entradaID), tok, nil); r.status != 200 {
			t.Errorf("the ENTRADA document: %d", r.status)
		}
	})
}

// TestDeletingADocumentDeletesItsImage: a document's scan does not
// outlive the document.
func TestDeletingADocumentDeletesItsImage(t *testing.T) {
	dbtest.Run(t, func(t *testing.T, db *database.DB) {
		s := newStack(t, db)
		u := s.user("archivo@example.org", "Archivo-Imagen-2026", identity.RoleCrypto)
		tok := s.token(u.ID)
		r := s.call("POST", "/api/albaranes/", tok, map[string]any{"tipo_documento": "INVENTARIO", "numero": "INV-IMG-1",
			"articulos": []map[string]any{{"codigo": "IMG-1", "numero_serie": "S1"}}})
		if r.status != 201 {
			t.Fatalf("create: %d %s", r.status, r.body)
		}
		id := int64(decode[map[string]any](t, r)["id"].(float64))
		png := []byte("\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N\x00\x00\x00\x00IEND\xaeB`\x82")
		if r := s.e2eUpload(fmt.Sprintf("/api/albaranes/%d/imagen-documento/", id), tok, "imagen_documento", "scan.png", png); r.status/100 != 2 {
			t.Fatalf("attach image: %d %s", r.status, r.body)
		}
		var name string
		if err := db.NewRaw("SELECT imagen_documento FROM albaranes WHERE id = ?", id).Scan(context.Background(), &name); err != nil || name == "" {
			t.Fatalf("stored image name %q: %v", name, err)
		}
		if _, err := s.files.Stat(context.Background(), name); err != nil {
			t.Fatalf("image not in the file store: %v", err)
		}
		if r := s.call("DELETE", fmt.Sprintf("/api/albaranes/%d/", id), tok, nil); r.status != 204 {
			t.Fatalf("delete: %d %s", r.status, r.body)
		}
		if _, err := s.files.Stat(context.Background(), name); err == nil {
			t.Error("the image outlived its document")
		}
	})
}
