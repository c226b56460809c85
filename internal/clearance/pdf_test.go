package clearance

import (
	"os"
	"reflect"
	"testing"
	"time"

	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/form"
)

func fixturePDF(t *testing.T) []byte {
	t.Helper()
	b, err := os.ReadFile(transferFormFixture)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func spanishRequest() *Request {
	return &Request{ID: "5b0c2f4e-6a8e-4f51-9d65-0c2a4c1b7e10", FirstName: "María José", FirstLastName: "Muñoz", SecondLastName: "Güell Ibáñez",
		DocumentNumber: "12345678z", BirthDate: time.Date(1985, 3, 7, 0, 0, 0, 0, time.UTC), Nationality: "1",
		BirthPlace: "A Coruña", Phone: "600111222", Email: "maria.munoz@example.es"}
}

// TestFillRequestSpanish fills the real AcroForm fixture with accented
// values and reads every widget back.
func TestFillRequestSpanish(t *testing.T) {
	pdf, filled, err := FillRequest(fixturePDF(t), spanishRequest())
	if err != nil {
		t.Fatal(err)
	}
	got, err := ExtractFields(pdf)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"Nombre":                     "MARÍA JOSÉ",
		"Apellidos":                  "MUÑOZ GÜELL IBÁÑEZ",
		"DNI":                        "12345678Z",
		"Fecha de nacimiento":        "07/03/1985",
		"Nacionalidad":               "1",
		"LugarNacimiento":            "A CORUÑA",
		"Teléfono":                   "600111222",
		"Email":                      "maria.munoz@example.es",
		"Motivo de la solicitudRow1": "MARÍA JOSÉ MUÑOZ VA A PARTICIPAR EN PROYECTOS PARA LOS QUE NECESITA ACCESO A DOCUMENTACIÓN CLASIFICADA.",
		"Observaciones":              "",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("read back:\n got %q\nwant %q", got, want)
	}
	if len(filled) != 9 {
		t.Errorf("filled = %v, want the 9 mapped widgets", filled)
	}
}

// TestEditFieldsOnlyNamed edits two widgets (one by a differently-cased,
// unaccented key, one date) and checks the others keep their values.
func TestEditFieldsOnlyNamed(t *testing.T) {
	pdf, _, err := FillRequest(fixturePDF(t), spanishRequest())
	if err != nil {
		t.Fatal(err)
	}
	before, _ := ExtractFields(pdf)
	out, updated, err := EditFields(pdf, map[string]string{"TELEFONO": "611 222 333", "fecha de nacimiento": "1990-12-31", "NoExiste": "x"})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(updated, []string{"Fecha de nacimiento", "Teléfono"}) {
		t.Errorf("updated = %v", updated)
	}
	after, err := ExtractFields(out)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range before {
		switch k {
		case "Teléfono":
			if after[k] != "611 222 333" {
				t.Errorf("%s = %q", k, after[k])
			}
		case "Fecha de nacimiento":
			if after[k] != "31/12/1990" {
				t.Errorf("%s = %q", k, after[k])
			}
		default:
			if after[k] != v {
				t.Errorf("%s changed: %q → %q", k, v, after[k])
			}
		}
	}
	if _, _, err := EditFields(pdf, map[string]string{"NoExiste": "x"}); err == nil {
		t.Error("editing only unknown fields: want an error")
	}
	if _, err := ExtractFields([]byte("hola")); err == nil {
		t.Error("extracting from a non-PDF: want an error")
	}
}

// TestMatchRules covers the legacy matching: case- and accent-insensitive,
// exact before partial, aliases, the e-mail only on an exact name.
func TestMatchRules(t *testing.T) {
	r := spanishRequest()
	tests := []struct {
		field string
		want  string // "" = not filled
	}{
		{"nombre", "MARÍA JOSÉ"},
		{"APELLIDOS", "MUÑOZ GÜELL IBÁÑEZ"},
		{"NIE", "12345678Z"},
		{"Documento de identidad", "12345678Z"},
		{"form1[0].DNI", "12345678Z"},
		{"FECHA DE NACIMIENTO", "07/03/1985"},
		{"Lugar de nacimiento", "A CORUÑA"},
		{"Telefono", "600111222"},
		{"Teléfono móvil", "600111222"},
		{"correo", "maria.munoz@example.es"},
		{"Correo electrónico", ""},
		{"Motivo de la solicitudRow1", "MARÍA JOSÉ MUÑOZ VA A PARTICIPAR EN PROYECTOS PARA LOS QUE NECESITA ACCESO A DOCUMENTACIÓN CLASIFICADA."},
		{"Firma", ""},
	}
	for _, tc := range tests {
		t.Run(tc.field, func(t *testing.T) {
			got := matchRules([]form.Field{{Typ: form.FTText, Name: tc.field}}, TransferValues(r))
			v, ok := got[tc.field]
			if tc.want == "" {
				if ok {
					t.Fatalf("filled with %q, want untouched", v)
				}
				return
			}
			if v != tc.want {
				t.Fatalf("= %q, want %q", v, tc.want)
			}
		})
	}
}

func TestFormatDate(t *testing.T) {
	for in, want := range map[string]string{
		"1990-12-31": "31/12/1990", "1990/12/31": "31/12/1990", "31-12-1990": "31/12/1990", "31/12/1990": "31/12/1990",
		"1/2/1990": "01/02/1990", "1990-12-31T10:00:00Z": "31/12/1990", "mañana": "mañana",
	} {
		if got := FormatDate(in); got != want {
			t.Errorf("FormatDate(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestTemplateTypeFor(t *testing.T) {
	for role, want := range map[string]string{"jefe_seguridad_suplente": TemplateSuplente, "jefe_seguridad": TemplateJefe, "admin": TemplateJefe, "": TemplateJefe} {
		if got := TemplateTypeFor(role); got != want {
			t.Errorf("%q → %q, want %q", role, got, want)
		}
	}
}

func TestSummaryPDF(t *testing.T) {
	pdf, err := SummaryPDF(spanishRequest())
	if err != nil {
		t.Fatal(err)
	}
	if string(pdf[:5]) != "%PDF-" {
		t.Fatalf("not a PDF: %q", pdf[:8])
	}
}

// TestMalformedPDFs: broken uploads are errors (400), never panics.
func TestMalformedPDFs(t *testing.T) {
	fix := fixturePDF(t)
	for name, in := range map[string][]byte{
		"header only": []byte("%PDF-1.7\n%garbage\n"),
		"truncated":   fix[:len(fix)/2],
		"text":        []byte("hola"),
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ExtractFields(in); err == nil {
				t.Error("ExtractFields: want an error")
			}
			if _, _, err := FillRequest(in, spanishRequest()); err == nil {
				t.Error("FillRequest: want an error")
			}
			if _, _, err := EditFields(in, map[string]string{"Nombre": "x"}); err == nil {
				t.Error("EditFields: want an error")
			}
		})
	}
}

// TestExtractFieldsNoForm: a valid PDF without a form has no fields.
func TestExtractFieldsNoForm(t *testing.T) {
	pdf, err := SummaryPDF(spanishRequest())
	if err != nil {
		t.Fatal(err)
	}
	got, err := ExtractFields(pdf)
	if err != nil || len(got) != 0 {
		t.Fatalf("= %v, %v; want no fields", got, err)
	}
}
