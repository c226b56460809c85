package custody_test

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/thot-security/thot/internal/custody"
)

func ptr[T any](v T) *T { return &v }

// ac21Fixture is a SALIDA TRANSFERENCIA between two companies with Spanish
// text everywhere; pages holds the number of lines of each stored page
// (one entry: a single-page document).
func ac21Fixture(pages ...int) *custody.AC21Source {
	tipo, dir, est := custody.Transferencia, custody.Salida, custody.Inventariado
	informe := time.Date(2026, 3, 5, 0, 0, 0, 0, time.UTC)
	trans := time.Date(2026, 3, 7, 0, 0, 0, 0, time.UTC)
	main := custody.Albaran{
		ID: 10, Numero: "S2026-0042", PaginaNumero: 1, TotalPaginas: len(pages), Direccion: &dir, Tipo: &tipo,
		FechaInforme: &informe, FechaTransaccion: &trans, NumeroRegistroSalida: ptr("S2026-0042"),
		NumeroRegistroEntrada: "E-77", CodigoContabilidad: "CC-ÁREA-9",
		Accesorios:     []custody.Accesorio{{Descripcion: "Cable de alimentación", Cantidad: 2}},
		EquiposPrueba:  []custody.EquipoPrueba{{Codigo: "EQ-PRUEBA-1"}},
		EstadoMaterial: &est, DestinatarioTestigo: true, DestinatarioOtro: true, DestinatarioOtroEspec: ptr("Jefe de seguridad del área"),
		FirmaA:            custody.Firma{Firma: ptr("firmado"), EmpleoRango: ptr("Capitán"), NombreApellidos: ptr("María Núñez Ibáñez"), Cargo: ptr("Custodia ODMC")},
		FirmaB:            custody.Firma{EmpleoRango: ptr("Sargento"), NombreApellidos: ptr("José Ángel Peña"), Cargo: ptr("Testigo")},
		ObservacionesODMC: "Entrega en mano; embalaje precintado",
	}
	src := &custody.AC21Source{
		Origen: &custody.Empresa{ID: 1, Nombre: "Compañía Española de Cifra", Direccion: "Calle Alcalá 1", Ciudad: "Madrid",
			CodigoPostal: "28014", Provincia: "Madrid", NumeroODMC: "ODMC-01"},
		Destino: &custody.Empresa{ID: 2, Nombre: "Ñandú Sistemas", Direccion: "Avda. de Andalucía 3", Ciudad: "Logroño",
			CodigoPostal: "26001", Provincia: "La Rioja", NumeroODMC: "ODMC-02"},
	}
	line := 0
	for i, n := range pages {
		a := main
		if i > 0 {
			a = custody.Albaran{ID: int64(10 + i), Numero: fmt.Sprintf("S2026-0042-P%d", i+1), PaginaNumero: i + 1,
				TotalPaginas: len(pages), DocumentoPrincipalID: ptr(int64(10)), Direccion: &dir, Tipo: &tipo,
				Accesorios: []custody.Accesorio{{Descripcion: fmt.Sprintf("Accesorio de la página %d", i+1), Cantidad: 1}}}
		}
		p := custody.AC21SourcePage{Albaran: a}
		for range n {
			line++
			p.Lineas = append(p.Lineas, custody.Movimiento{ID: int64(line), ProductoCodigo: fmt.Sprintf("KG-%03d", line),
				ProductoDescripcion: "Módulo de cifra", NumeroSerie: fmt.Sprintf("SN-%05d", line), Cantidad: 1, CC: ptr(line % 3)})
		}
		src.Paginas = append(src.Paginas, p)
	}
	return src
}

func pageSizes(pages []custody.AC21Page) []int {
	out := make([]int, len(pages))
	for i, p := range pages {
		out[i] = len(p.Lineas)
	}
	return out
}

func TestAC21PagingRules(t *testing.T) {
	structured := ac21Fixture(5, 21, 3)
	for _, tc := range []struct {
		name string
		v    *custody.AC21
		want []int
	}{
		{"single page, no lines", custody.NewAC21(ac21Fixture(0)), []int{0}},
		{"single page, 1 line", custody.NewAC21(ac21Fixture(1)), []int{1}},
		{"single page, 21 lines", custody.NewAC21(ac21Fixture(21)), []int{21}},
		{"single page, 22 lines", custody.NewAC21(ac21Fixture(22)), []int{21, 1}},
		{"single page, 50 lines", custody.NewAC21(ac21Fixture(50)), []int{21, 21, 8}},
		{"three stored pages: their structure", custody.NewAC21(structured), []int{5, 21, 3}},
		{"stored page over 21 lines keeps its lines", custody.NewAC21(ac21Fixture(2, 30)), []int{2, 30}},
		{"total_paginas > 1 without structure: 21 a page", &custody.AC21{TotalPaginas: 3, Lineas: make([]custody.AC21Linea, 25)}, []int{21, 4, 0}},
		{"total_paginas > 1, structure of another count: 21 a page", &custody.AC21{TotalPaginas: 2, ProductosPorPagina: []int{1, 1, 1},
			Lineas: make([]custody.AC21Linea, 3)}, []int{3, 0}},
		{"structure not covering every line: 21 a page, nothing dropped", &custody.AC21{TotalPaginas: 2, ProductosPorPagina: []int{1, 1},
			Lineas: make([]custody.AC21Linea, 44)}, []int{21, 21, 2}},
		{"negative structure entry: 21 a page", &custody.AC21{TotalPaginas: 2, ProductosPorPagina: []int{-1, 3},
			Lineas: make([]custody.AC21Linea, 2)}, []int{2, 0}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			pages := tc.v.Pages()
			if got := pageSizes(pages); fmt.Sprint(got) != fmt.Sprint(tc.want) {
				t.Fatalf("page sizes %v, want %v", got, tc.want)
			}
			for i, p := range pages {
				if p.Numero != i+1 || p.Total != len(tc.want) {
					t.Errorf("page %d numbered %d of %d", i, p.Numero, p.Total)
				}
			}
		})
	}

	// Per-page accessories come from each stored page.
	pages := custody.NewAC21(structured).Pages()
	if pages[0].Accesorios[0].Descripcion != "Cable de alimentación" || pages[2].Accesorios[0].Descripcion != "Accesorio de la página 3" {
		t.Errorf("per-page accesorios: %+v / %+v", pages[0].Accesorios, pages[2].Accesorios)
	}
	// Lines keep page order: page 2 starts with the 6th line.
	if pages[1].Lineas[0].NumeroSerie != "SN-00006" {
		t.Errorf("page 2 starts with %s", pages[1].Lineas[0].NumeroSerie)
	}
}

func TestNewAC21Fields(t *testing.T) {
	src := ac21Fixture(2)
	src.Paginas[0].Lineas[1].NumeroSerie = "  "
	src.Paginas[0].Lineas[1].Descripcion = ptr("Descripción propia del movimiento")
	src.Paginas[0].Lineas[1].CC = nil
	v := custody.NewAC21(src)
	checks := []struct{ name, got, want string }{
		{"numero", v.NumeroAlbaran, "S2026-0042"},
		{"tipo", v.TipoTransaccion, "Transferencia"},
		{"direccion", v.Direccion, "Salida"},
		{"fecha_informe", v.FechaInforme, "05/03/2026"},
		{"fecha_transaccion", v.FechaTransaccion, "07/03/2026"},
		{"registro salida", v.NumeroRegistroSalida, "S2026-0042"},
		{"origen localidad", v.EmpresaOrigen.LocalidadProvinciaCP, "28014 Madrid (Madrid)"},
		{"destino localidad", v.EmpresaDestino.LocalidadProvinciaCP, "26001 Logroño (La Rioja)"},
		{"destino odmc", v.EmpresaDestino.NumeroODMC, "ODMC-02"},
		{"serial", v.Lineas[0].NumeroSerie, "SN-00001"},
		{"empty serial", v.Lineas[1].NumeroSerie, "N/A"},
		{"catalog description", v.Lineas[0].Descripcion, "Módulo de cifra"},
		{"movement description", v.Lineas[1].Descripcion, "Descripción propia del movimiento"},
		{"cc", v.Lineas[0].CC, "1"},
		{"no cc", v.Lineas[1].CC, ""},
		{"firma A", v.FirmaEntrega.NombreApellidos, "María Núñez Ibáñez"},
		{"firma B", v.FirmaRecibe.NombreApellidos, "José Ángel Peña"},
		{"material", string(v.MaterialHaSido), "INVENTARIADO"},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s = %q, want %q", c.name, c.got, c.want)
		}
	}
	if v.FirmeYDevuelva || !v.ParaSuArchivo {
		t.Errorf("routing boxes: firme y devuelva %v, para su archivo %v", v.FirmeYDevuelva, v.ParaSuArchivo)
	}
	if v.ProductosPorPagina != nil {
		t.Errorf("single page has a structure: %v", v.ProductosPorPagina)
	}
	if s := custody.NewAC21(ac21Fixture(4, 0, 7)).ProductosPorPagina; fmt.Sprint(s) != "[4 0 7]" {
		t.Errorf("structure %v", s)
	}
	empty := custody.NewAC21(&custody.AC21Source{})
	if len(empty.Pages()) != 1 {
		t.Errorf("an empty source renders %d pages", len(empty.Pages()))
	}
}

func TestAC21HTML(t *testing.T) {
	src := ac21Fixture(3)
	src.Paginas[0].Lineas[0].Observaciones = ptr(`<script>alert("x")</script>`)
	src.Paginas[0].Lineas[2].NumeroSerie = ""
	b, err := custody.RenderAC21HTML(custody.NewAC21(src))
	if err != nil {
		t.Fatal(err)
	}
	html := string(b)
	for _, want := range []string{
		`<meta charset="utf-8">`, "S2026-0042", "Transferencia (Salida)",
		"Compañía Española de Cifra", "Calle Alcalá 1", "28014 Madrid (Madrid)", "Nº ODMC: ODMC-01",
		"Ñandú Sistemas", "26001 Logroño (La Rioja)", "05/03/2026", "07/03/2026", "E-77", "CC-ÁREA-9",
		"KG-001", "SN-00001", "SN-00002", "N/A", "Módulo de cifra",
		"2 × Cable de alimentación", "EQ-PRUEBA-1", "Entrega en mano; embalaje precintado",
		"Jefe de seguridad del área", "María Núñez Ibáñez", "Capitán", "Custodia ODMC", "José Ángel Peña", "Sargento",
		"A. Entrega (destinatario)", "B. Recibe (testigo)", "Página 1 de 1",
		"&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;",
	} {
		if !strings.Contains(html, want) {
			t.Errorf("HTML lacks %q", want)
		}
	}
	if strings.Contains(html, "<script") {
		t.Error("observaciones were not escaped")
	}
	// The checked boxes: INVENTARIADO, testigo, otro, para su archivo.
	if n := strings.Count(html, `<span class="check">X</span>`); n != 4 {
		t.Errorf("%d checked boxes, want 4", n)
	}
	// The table is filled up to a sheet.
	if n, blank := strings.Count(html, `class="linea"`), strings.Count(html, `class="vacia"`); n != 3 || blank != 18 {
		t.Errorf("%d lines and %d empty rows, want 3 and 18", n, blank)
	}
	// The inline style is the one the CSP allows, by hash.
	style := html[strings.Index(html, "<style>")+len("<style>") : strings.Index(html, "</style>")]
	sum := sha256.Sum256([]byte(style))
	if want := "style-src 'sha256-" + base64.StdEncoding.EncodeToString(sum[:]) + "'"; !strings.Contains(custody.AC21StyleCSP, want) ||
		!strings.Contains(custody.AC21StyleCSP, "default-src 'none'") {
		t.Errorf("CSP %q does not allow the style (%s)", custody.AC21StyleCSP, want)
	}
}

func TestAC21HTMLPaging(t *testing.T) {
	for _, tc := range []struct {
		name  string
		src   *custody.AC21Source
		pages int
	}{
		{"1 line", ac21Fixture(1), 1},
		{"21 lines", ac21Fixture(21), 1},
		{"22 lines", ac21Fixture(22), 2},
		{"50 lines", ac21Fixture(50), 3},
		{"3 stored pages of 5, 21 and 3", ac21Fixture(5, 21, 3), 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := custody.RenderAC21HTML(custody.NewAC21(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			html := string(b)
			if n := strings.Count(html, `class="ac21-page"`); n != tc.pages {
				t.Errorf("%d pages, want %d", n, tc.pages)
			}
			if n := strings.Count(html, `class="page-break"`); n != tc.pages-1 {
				t.Errorf("%d page breaks, want %d", n, tc.pages-1)
			}
			for p := 1; p <= tc.pages; p++ {
				if want := fmt.Sprintf("Página %d de %d", p, tc.pages); !strings.Contains(html, want) {
					t.Errorf("lacks %q", want)
				}
			}
			total := 0
			for _, p := range tc.src.Paginas {
				total += len(p.Lineas)
			}
			if n := strings.Count(html, `class="linea"`); n != total {
				t.Errorf("%d lines rendered, want %d", n, total)
			}
			if !strings.Contains(html, fmt.Sprintf("SN-%05d", total)) {
				t.Errorf("last serial missing")
			}
		})
	}
	// Stored structure: page 2 holds lines 6..26, page 3 lines 27..29.
	b, _ := custody.RenderAC21HTML(custody.NewAC21(ac21Fixture(5, 21, 3)))
	parts := strings.Split(string(b), `class="page-break"`)
	if len(parts) != 3 || !strings.Contains(parts[1], "SN-00006") || !strings.Contains(parts[1], "SN-00026") ||
		strings.Contains(parts[1], "SN-00027") || !strings.Contains(parts[2], "SN-00029") || !strings.Contains(parts[2], "Accesorio de la página 3") {
		t.Error("lines or accessories are not on their stored pages")
	}
}

// pdfText converts a PDF to text with poppler's pdftotext -layout and
// returns the text and the page count (pdfinfo).
func pdfText(t *testing.T, pdf []byte) (string, int) {
	t.Helper()
	if _, err := exec.LookPath("pdftotext"); err != nil {
		t.Skip("pdftotext not installed (apt-get install poppler-utils; .ci/run installs it): cannot check the PDF text")
	}
	if _, err := exec.LookPath("pdfinfo"); err != nil {
		t.Skip("pdfinfo not installed (apt-get install poppler-utils)")
	}
	path := filepath.Join(t.TempDir(), "ac21.pdf")
	if err := os.WriteFile(path, pdf, 0o600); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("pdftotext", "-layout", "-enc", "UTF-8", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	info, err := exec.Command("pdfinfo", path).Output()
	if err != nil {
		t.Fatalf("pdfinfo: %v", err)
	}
	m := regexp.MustCompile(`(?m)^Pages:\s+(\d+)`).FindSubmatch(info)
	if m == nil {
		t.Fatalf("pdfinfo: no page count in\n%s", info)
	}
	n, _ := strconv.Atoi(string(m[1]))
	// pdftotext ends every page with a form feed.
	if ff := strings.Count(string(out), "\f"); ff != n {
		t.Errorf("pdftotext gave %d pages, pdfinfo %d", ff, n)
	}
	return string(out), n
}

func TestAC21PDF(t *testing.T) {
	src := ac21Fixture(3)
	src.Paginas[0].Lineas[2].NumeroSerie = ""
	v := custody.NewAC21(src)
	b, err := custody.RenderAC21PDF(v)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(b), "%PDF-") {
		t.Fatalf("not a PDF: %q", b[:min(len(b), 16)])
	}
	text, pages := pdfText(t, b)
	if pages != 1 {
		t.Errorf("%d pages, want 1", pages)
	}
	for _, want := range []string{
		"S2026-0042", "SN-00001", "SN-00002", "N/A", "KG-003", "Módulo de cifra",
		"Compañía Española de Cifra", "Ñandú Sistemas", "26001 Logroño (La Rioja)", "Nº ODMC: ODMC-01",
		"05/03/2026", "07/03/2026", "CC-ÁREA-9", "Transferencia (Salida)",
		"María Núñez Ibáñez", "José Ángel Peña", "Capitán", "Sargento",
		"2 × Cable de alimentación", "EQ-PRUEBA-1", "Entrega en mano; embalaje precintado",
		"Jefe de seguridad del área", "INFORME DE CONTABILIDAD DE MATERIAL CRIPTO", "DESCRIPCIÓN", "Página 1 de 1",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("PDF text lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("pdftotext output:\n%s", text)
	}

	// The fonts travel inside the file.
	if _, err := exec.LookPath("pdffonts"); err == nil {
		path := filepath.Join(t.TempDir(), "f.pdf")
		_ = os.WriteFile(path, b, 0o600)
		out, err := exec.Command("pdffonts", path).Output()
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range strings.Split(string(out), "\n")[2:] {
			if f := strings.Fields(l); len(f) > 0 && !strings.Contains(l, " yes ") {
				t.Errorf("font not embedded: %s", l)
			}
		}
	}
}

func TestAC21PDFPaging(t *testing.T) {
	for _, tc := range []struct {
		name   string
		src    *custody.AC21Source
		sheets int
		labels []string
	}{
		{"1 line", ac21Fixture(1), 1, []string{"Página 1 de 1"}},
		{"21 lines", ac21Fixture(21), 1, []string{"Página 1 de 1"}},
		{"22 lines", ac21Fixture(22), 2, []string{"Página 1 de 2", "Página 2 de 2"}},
		{"50 lines", ac21Fixture(50), 3, []string{"Página 1 de 3", "Página 2 de 3", "Página 3 de 3"}},
		{"3 stored pages", ac21Fixture(5, 21, 3), 3, []string{"Página 1 de 3", "Página 2 de 3", "Página 3 de 3"}},
		{"stored page of 30 lines continues on a second sheet", ac21Fixture(2, 30), 3,
			[]string{"Página 1 de 2", "Página 2 de 2", "Página 2 de 2 (cont.)", "Continúa en la hoja siguiente"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b, err := custody.RenderAC21PDF(custody.NewAC21(tc.src))
			if err != nil {
				t.Fatal(err)
			}
			text, pages := pdfText(t, b)
			if pages != tc.sheets {
				t.Errorf("%d sheets, want %d", pages, tc.sheets)
			}
			for _, l := range tc.labels {
				if !strings.Contains(text, l) {
					t.Errorf("lacks %q", l)
				}
			}
			sheets := strings.Split(text, "\f")
			n := 0
			for _, p := range tc.src.Paginas {
				for _, l := range p.Lineas {
					n++
					if c := strings.Count(text, l.NumeroSerie); c != 1 {
						t.Errorf("serial %s printed %d times", l.NumeroSerie, c)
					}
				}
			}
			// Signatures are on the last sheet of each page, once per page.
			if c, want := strings.Count(text, "María Núñez Ibáñez"), len(custody.NewAC21(tc.src).Pages()); c != want {
				t.Errorf("signature block printed %d times, want %d", c, want)
			}
			if n > 0 && !strings.Contains(sheets[len(sheets)-2], fmt.Sprintf("SN-%05d", n)) {
				t.Errorf("last serial not on the last sheet")
			}
		})
	}
}

// Text the embedded font cannot draw (emoji, control characters) must not
// break the PDF, and long values wrap instead of being cut.
func TestAC21PDFOddText(t *testing.T) {
	src := ac21Fixture(2)
	long := "SERIE-MUY-LARGA-0123456789-ABCDEFGHIJ-XYZ-0123456789"
	src.Paginas[0].Lineas[0].NumeroSerie = long
	src.Paginas[0].Lineas[0].Observaciones = ptr("caja 📦 dañada\x00\x07 " + strings.Repeat("muy larga ", 30))
	src.Paginas[0].Lineas[1].ProductoDescripcion = "中文 Ωmega " + string(rune(0x10000))
	src.Paginas[0].Albaran.ObservacionesODMC = "línea 1\r\nlínea 2\t🔒\n" + strings.Repeat("texto ", 400)
	b, err := custody.RenderAC21PDF(custody.NewAC21(src))
	if err != nil {
		t.Fatal(err)
	}
	text, pages := pdfText(t, b)
	if pages != 1 {
		t.Errorf("%d pages", pages)
	}
	// The long serial wraps inside its cell: every character is printed,
	// on two lines of the cell.
	whole := false
	tokens := strings.Fields(text)
	for _, a := range tokens {
		if strings.HasPrefix(long, a) && len(a) > 8 {
			for _, b := range tokens {
				whole = whole || a+b == long
			}
		}
	}
	if !whole {
		t.Errorf("long serial %q not printed whole:\n%s", long, text)
	}
	for _, want := range []string{"línea 1", "línea 2", "caja ? dañada", "Ωmega"} {
		if !strings.Contains(text, want) {
			t.Errorf("lacks %q", want)
		}
	}
}

func BenchmarkAC21PDF200Lines(b *testing.B) {
	v := custody.NewAC21(ac21Fixture(200))
	for b.Loop() {
		if _, err := custody.RenderAC21PDF(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAC21HTML200Lines(b *testing.B) {
	v := custody.NewAC21(ac21Fixture(200))
	for b.Loop() {
		if _, err := custody.RenderAC21HTML(v); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkAC21PDF1Line(b *testing.B) {
	v := custody.NewAC21(ac21Fixture(1))
	for b.Loop() {
		if _, err := custody.RenderAC21PDF(v); err != nil {
			b.Fatal(err)
		}
	}
}
