package clearance

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/pdfcpu/pdfcpu/pkg/api"
)

// The transfer-form fixture is a real AcroForm PDF made with pdfcpu, with
// the legacy widget names. Regenerate it with
//
//	go test ./internal/clearance -run TestTransferFormFixture -update-fixture
var updateFixture = flag.Bool("update-fixture", false, "rewrite testdata/transfer_form.pdf")

// TransferFormFixture is the fixture's path (shared with the HTTP tests).
const transferFormFixture = "testdata/transfer_form.pdf"

// fixtureFieldNames are the widgets of the fixture, in page order.
var fixtureFieldNames = []string{"Nombre", "Apellidos", "DNI", "Fecha de nacimiento", "Nacionalidad",
	"LugarNacimiento", "Teléfono", "Email", "Motivo de la solicitudRow1", "Observaciones"}

func makeTransferForm(t *testing.T) []byte {
	t.Helper()
	var fields []map[string]any
	y := 740
	for _, n := range fixtureFieldNames {
		f := map[string]any{"id": n, "pos": []int{200, y}, "width": 340, "font": map[string]any{"name": "Helvetica", "size": 10},
			"border": map[string]any{"width": 1, "col": "Black"},
			"label":  map[string]any{"value": n, "width": 150, "gap": 8, "pos": "left", "font": map[string]any{"name": "Helvetica", "size": 9}}}
		if n == "Motivo de la solicitudRow1" {
			f["multiline"], f["height"] = true, 40
			y -= 20
		}
		fields = append(fields, f)
		y -= 40
	}
	spec := map[string]any{"paper": "A4P", "origin": "LowerLeft",
		"pages": map[string]any{"1": map[string]any{"content": map[string]any{
			"text": []map[string]any{{"value": "Solicitud de traslado de HPS (plantilla de prueba)", "pos": []int{60, 790},
				"font": map[string]any{"name": "Helvetica-Bold", "size": 14}}},
			"textfield": fields}}}}
	data, err := json.Marshal(spec)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := api.Create(nil, bytes.NewReader(data), &out, pdfConf()); err != nil {
		t.Fatal(err)
	}
	return out.Bytes()
}

// TestTransferFormFixture checks the committed fixture has exactly the
// legacy widgets, empty (and rewrites it with -update-fixture).
func TestTransferFormFixture(t *testing.T) {
	if *updateFixture {
		if err := os.WriteFile(transferFormFixture, makeTransferForm(t), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	pdf, err := os.ReadFile(filepath.FromSlash(transferFormFixture))
	if err != nil {
		t.Fatal(err)
	}
	got, err := ExtractFields(pdf)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(fixtureFieldNames) {
		t.Fatalf("fields = %v, want %v", got, fixtureFieldNames)
	}
	for _, n := range fixtureFieldNames {
		if v, ok := got[n]; !ok || v != "" {
			t.Errorf("field %q = %q, %v; want present and empty", n, v, ok)
		}
	}
}
