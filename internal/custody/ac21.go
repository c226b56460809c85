package custody

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/base64"
	"fmt"
	"html/template"
	"strconv"
	"strings"
	"time"
	"unicode"

	"github.com/go-pdf/fpdf"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
)

// The AC21 output: the form as HTML (GET …/generar-ac21-html/, what the
// legacy "PDF generator" service really produced) and as a printable A4
// PDF (GET …/ac21.pdf). The store loads the document (AC21Source); NewAC21
// turns it into the view model the legacy service received as its JSON
// payload; the renderers are pure functions of that view model.

// AC21Store is the persistence of this part of custody.
type AC21Store interface {
	// AC21Source loads the whole document that id belongs to (id may be
	// the main document or any of its pages): every page in page order
	// with its lines, and the companies of the main document. A missing
	// document is errs.NotFound.
	AC21Source(ctx context.Context, id int64) (*AC21Source, error)
}

// AC21Source is a document as the AC21 renderers need it.
type AC21Source struct {
	// Paginas holds the main document first, then its extra pages by
	// pagina_numero; each with its movements in the order they were
	// entered (ProductoCodigo and ProductoDescripcion filled in).
	Paginas []AC21SourcePage
	// Origen ("DE") and Destino ("PARA") of the main document, nil when
	// unset.
	Origen, Destino *Empresa
}

// AC21SourcePage is one stored page and its lines.
type AC21SourcePage struct {
	Albaran Albaran
	Lineas  []Movimiento
}

// AC21LineasPorPagina is how many lines an AC21 sheet holds.
const AC21LineasPorPagina = 21

// AC21 is the view model of the form: the fields of the legacy
// pdf-generator payload (legacy-cryptotrace §3.6), already formatted.
type AC21 struct {
	NumeroAlbaran         string
	TipoTransaccion       string // label, e.g. "Transferencia"
	Direccion             string // "Entrada" / "Salida" / ""
	EmpresaOrigen         AC21Empresa
	EmpresaDestino        AC21Empresa
	FechaInforme          string // dd/mm/yyyy
	NumeroRegistroSalida  string
	FechaTransaccion      string // dd/mm/yyyy
	NumeroRegistroEntrada string
	CodigosContabilidad   string
	// Lineas are the lines of every page, concatenated in page order.
	Lineas []AC21Linea
	// TotalPaginas is the stored page count of the document.
	TotalPaginas int
	// ProductosPorPagina is the stored per-page structure (lines on each
	// stored page); nil for a single-page document.
	ProductosPorPagina  []int
	AccesoriosPorPagina [][]Accesorio
	EquiposPorPagina    [][]EquipoPrueba
	Accesorios          []Accesorio
	EquiposPrueba       []EquipoPrueba
	// FirmeYDevuelva and ParaSuArchivo are the form's routing boxes
	// (legacy: always false / true).
	FirmeYDevuelva bool
	ParaSuArchivo  bool
	// MaterialHaSido is the estado_material box, "" when unset.
	MaterialHaSido        EstadoMaterial
	DestinatarioTestigo   bool
	DestinatarioOtro      bool
	DestinatarioOtroTexto string
	FirmaEntrega          AC21Firma // block A
	FirmaRecibe           AC21Firma // block B
	ObservacionesODMC     string
}

// AC21Empresa is a "DE" / "PARA" box.
type AC21Empresa struct {
	Nombre               string
	Direccion            string
	LocalidadProvinciaCP string // "CP localidad (provincia)"
	NumeroODMC           string
}

// AC21Linea is one row of the lines table.
type AC21Linea struct {
	CodigoProducto string
	Cantidad       int
	Descripcion    string
	NumeroSerie    string // "N/A" when empty
	CC             string // "" when unset
	Observaciones  string
}

// AC21Firma is a signature block.
type AC21Firma struct {
	FirmaTexto      string
	EmpleoRango     string
	NombreApellidos string
	Cargo           string
}

// AC21Page is one rendered page of the form.
type AC21Page struct {
	Numero, Total int
	Lineas        []AC21Linea
	Accesorios    []Accesorio
	Equipos       []EquipoPrueba
}

// Blank is the number of empty rows that fill the table up to a sheet.
func (p AC21Page) Blank() []struct{} {
	return make([]struct{}, max(AC21LineasPorPagina-len(p.Lineas), 0))
}

// AC21 loads document id (a main document or any of its pages) and
// returns the view model of its whole AC21.
func (s *Service) AC21(ctx context.Context, id int64) (*AC21, error) {
	src, err := s.store.AC21Source(ctx, id)
	if err != nil {
		return nil, err
	}
	return NewAC21(src), nil
}

// NewAC21 builds the view model from a loaded document.
func NewAC21(src *AC21Source) *AC21 {
	v := &AC21{ParaSuArchivo: true}
	if len(src.Paginas) == 0 {
		v.TotalPaginas = 1
		return v
	}
	a := &src.Paginas[0].Albaran
	v.NumeroAlbaran = a.Numero
	if a.Tipo != nil {
		v.TipoTransaccion = a.Tipo.Label()
	}
	if a.Direccion != nil {
		v.Direccion = a.Direccion.Label()
	}
	v.EmpresaOrigen, v.EmpresaDestino = ac21Empresa(src.Origen), ac21Empresa(src.Destino)
	v.FechaInforme, v.FechaTransaccion = ac21DMY(a.FechaInforme), ac21DMY(a.FechaTransaccion)
	v.NumeroRegistroSalida = ac21Deref(a.NumeroRegistroSalida)
	v.NumeroRegistroEntrada = a.NumeroRegistroEntrada
	v.CodigosContabilidad = a.CodigoContabilidad
	v.Accesorios, v.EquiposPrueba = a.Accesorios, a.EquiposPrueba
	if a.EstadoMaterial != nil {
		v.MaterialHaSido = *a.EstadoMaterial
	}
	v.DestinatarioTestigo, v.DestinatarioOtro = a.DestinatarioTestigo, a.DestinatarioOtro
	v.DestinatarioOtroTexto = ac21Deref(a.DestinatarioOtroEspec)
	v.FirmaEntrega, v.FirmaRecibe = ac21Firma(a.FirmaA), ac21Firma(a.FirmaB)
	v.ObservacionesODMC = a.ObservacionesODMC
	// The stored page count, kept consistent by the document rules; never
	// fewer than the pages actually loaded.
	v.TotalPaginas = max(a.TotalPaginas, len(src.Paginas), 1)
	for _, p := range src.Paginas {
		for _, m := range p.Lineas {
			v.Lineas = append(v.Lineas, ac21Linea(&m))
		}
	}
	if len(src.Paginas) > 1 {
		for _, p := range src.Paginas {
			v.ProductosPorPagina = append(v.ProductosPorPagina, len(p.Lineas))
			v.AccesoriosPorPagina = append(v.AccesoriosPorPagina, p.Albaran.Accesorios)
			v.EquiposPorPagina = append(v.EquiposPorPagina, p.Albaran.EquiposPrueba)
		}
	}
	return v
}

func ac21Empresa(e *Empresa) AC21Empresa {
	if e == nil {
		return AC21Empresa{}
	}
	loc := strings.TrimSpace(e.CodigoPostal + " " + e.Ciudad)
	if e.Provincia != "" {
		loc = strings.TrimSpace(loc + " (" + e.Provincia + ")")
	}
	return AC21Empresa{Nombre: e.Nombre, Direccion: e.Direccion, LocalidadProvinciaCP: loc, NumeroODMC: e.NumeroODMC}
}

func ac21Firma(f Firma) AC21Firma {
	return AC21Firma{FirmaTexto: ac21Deref(f.Firma), EmpleoRango: ac21Deref(f.EmpleoRango), NombreApellidos: ac21Deref(f.NombreApellidos), Cargo: ac21Deref(f.Cargo)}
}

func ac21Linea(m *Movimiento) AC21Linea {
	l := AC21Linea{CodigoProducto: m.ProductoCodigo, Cantidad: m.Cantidad, Descripcion: strings.TrimSpace(ac21Deref(m.Descripcion)),
		NumeroSerie: strings.TrimSpace(m.NumeroSerie), Observaciones: ac21Deref(m.Observaciones)}
	if l.Descripcion == "" {
		l.Descripcion = m.ProductoDescripcion
	}
	if l.NumeroSerie == "" {
		l.NumeroSerie = "N/A"
	}
	if m.CC != nil {
		l.CC = strconv.Itoa(*m.CC)
	}
	return l
}

func ac21Deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

func ac21DMY(t *time.Time) string {
	if t == nil || t.IsZero() {
		return ""
	}
	return t.UTC().Format("02/01/2006")
}

// Pages splits the lines into the form's pages with the legacy generator's
// rules (legacy-cryptotrace §7.3):
//
//	total_paginas > 1 with a per-page structure of that many pages → the structure
//	total_paginas > 1 without one                                  → 21 lines a page
//	a single page with ≤ 21 lines                                 → one page
//	a single page with more                                       → ceil(n/21) pages
//
// The structure is used only when it accounts for every line, so no line
// is ever dropped, and the 21-a-page split never yields fewer pages than
// the lines need.
func (v *AC21) Pages() []AC21Page {
	var pages []AC21Page
	n := len(v.Lineas)
	if v.TotalPaginas > 1 && len(v.ProductosPorPagina) == v.TotalPaginas && ac21Sum(v.ProductosPorPagina) == n {
		off := 0
		for i, c := range v.ProductosPorPagina {
			p := AC21Page{Lineas: v.Lineas[off : off+c], Accesorios: v.Accesorios, Equipos: v.EquiposPrueba}
			if len(v.AccesoriosPorPagina) == v.TotalPaginas {
				p.Accesorios = v.AccesoriosPorPagina[i]
			}
			if len(v.EquiposPorPagina) == v.TotalPaginas {
				p.Equipos = v.EquiposPorPagina[i]
			}
			pages = append(pages, p)
			off += c
		}
	} else {
		count := max((n+AC21LineasPorPagina-1)/AC21LineasPorPagina, 1)
		if v.TotalPaginas > 1 {
			count = max(count, v.TotalPaginas)
		}
		for i := range count {
			lo, hi := min(i*AC21LineasPorPagina, n), min((i+1)*AC21LineasPorPagina, n)
			pages = append(pages, AC21Page{Lineas: v.Lineas[lo:hi], Accesorios: v.Accesorios, Equipos: v.EquiposPrueba})
		}
	}
	for i := range pages {
		pages[i].Numero, pages[i].Total = i+1, len(pages)
	}
	return pages
}

// ac21Sum adds up a page structure; -1 when an entry is negative.
func ac21Sum(xs []int) int {
	t := 0
	for _, x := range xs {
		if x < 0 {
			return -1
		}
		t += x
	}
	return t
}

// --- HTML ------------------------------------------------------------------

//go:embed ac21_templates
var ac21Files embed.FS

var (
	ac21HTML = template.Must(template.New("ac21.html.tmpl").Funcs(template.FuncMap{
		"checked": func(b bool) string {
			if b {
				return "X"
			}
			return ""
		},
		"firmas": func(v *AC21) []AC21Firma { return []AC21Firma{v.FirmaEntrega, v.FirmaRecibe} },
	}).ParseFS(ac21Files, "ac21_templates/ac21.html.tmpl"))
	ac21CSS = ac21MustRead("ac21_templates/ac21.css")
	// AC21StyleCSP is the Content-Security-Policy the HTML needs: its
	// only inline style, by hash; nothing else may load or run.
	AC21StyleCSP = "default-src 'none'; style-src '" + ac21CSPHash(ac21CSS) + "'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
)

func ac21MustRead(name string) string {
	b, err := ac21Files.ReadFile(name)
	if err != nil {
		panic(err)
	}
	return string(b)
}

func ac21CSPHash(s string) string {
	h := sha256.Sum256([]byte(s))
	return "sha256-" + base64.StdEncoding.EncodeToString(h[:])
}

// Estados del material, in the order of the form's boxes.
var ac21EstadosMaterial = []struct {
	Estado EstadoMaterial
	Label  string
}{{Recibido, "Recibido"}, {Inventariado, "Inventariado"}, {Destruido, "Destruido"}}

// RenderAC21HTML renders the form as one UTF-8 HTML document, one form per
// page, with page breaks between pages.
func RenderAC21HTML(v *AC21) ([]byte, error) {
	var buf bytes.Buffer
	err := ac21HTML.Execute(&buf, struct {
		Doc     *AC21
		Pages   []AC21Page
		CSS     template.CSS
		Estados any
	}{v, v.Pages(), template.CSS(ac21CSS), ac21EstadosMaterial})
	if err != nil {
		return nil, fmt.Errorf("ac21 html: %w", err)
	}
	return buf.Bytes(), nil
}

// --- PDF -------------------------------------------------------------------

// RenderAC21PDF draws the form on A4 sheets: the same pages as the HTML,
// one sheet each; a page with more lines than a sheet holds continues on
// further sheets marked "(continuación)". Text is set in the Go fonts,
// embedded in the binary (and subset into the file), so any Latin text
// (ñ, á, Ú…) prints as it is.
func RenderAC21PDF(v *AC21) ([]byte, error) {
	pdf := fpdf.New("P", "mm", "A4", "")
	pdf.AddUTF8FontFromBytes("go", "", goregular.TTF)
	pdf.AddUTF8FontFromBytes("go", "B", gobold.TTF)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetMargins(ac21Margin, ac21Margin, ac21Margin)
	pdf.SetTitle("AC-21 "+v.NumeroAlbaran, true)
	pdf.SetSubject("Informe de contabilidad de material cripto (AC-21)", true)
	pdf.SetCreator("thot", true)
	pdf.SetLineWidth(0.2)
	d := &ac21PDF{pdf: pdf, v: v}
	for _, p := range v.Pages() {
		sheets := max((len(p.Lineas)+AC21LineasPorPagina-1)/AC21LineasPorPagina, 1)
		for s := range sheets {
			lo, hi := s*AC21LineasPorPagina, min((s+1)*AC21LineasPorPagina, len(p.Lineas))
			d.sheet(p, p.Lineas[lo:hi], s > 0, s == sheets-1)
		}
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return nil, fmt.Errorf("ac21 pdf: %w", err)
	}
	return buf.Bytes(), nil
}

const (
	ac21Margin  = 10.0
	ac21Width   = 190.0 // A4 210 mm minus the margins
	ac21RowH    = 5.5
	ac21LabelPt = 6.0 // pt, box labels
	ac21TextPt  = 8.5 // pt, box contents
)

// Lines table columns: title, width (mm), alignment.
var ac21Cols = []struct {
	Title string
	W     float64
	Align string
}{
	{"CÓDIGO PRODUCTO", 34, "L"}, {"CANT.", 12, "C"}, {"DESCRIPCIÓN", 62, "L"},
	{"Nº DE SERIE", 40, "L"}, {"CC", 10, "C"}, {"OBSERVACIONES", 32, "L"},
}

type ac21PDF struct {
	pdf *fpdf.Fpdf
	v   *AC21
}

// sheet draws one A4 sheet of page p with the given lines. The lower part
// of the form (accessories, material state, signatures, remarks) is drawn
// on the last sheet of the page only.
func (d *ac21PDF) sheet(p AC21Page, lines []AC21Linea, cont, last bool) {
	pdf, v := d.pdf, d.v
	pdf.AddPage()
	x0, y := ac21Margin, ac21Margin

	// Title and page number.
	pdf.SetFont("go", "B", 11)
	pdf.SetXY(x0, y)
	pdf.CellFormat(ac21Width-34, 7, "INFORME DE CONTABILIDAD DE MATERIAL CRIPTO (AC-21)", "1", 0, "C", false, 0, "")
	pdf.SetFont("go", "B", 9)
	page := fmt.Sprintf("Página %d de %d", p.Numero, p.Total)
	if cont {
		page += " (cont.)"
	}
	pdf.CellFormat(34, 7, page, "1", 0, "C", false, 0, "")
	y += 9

	// 1 DE / 2 PARA.
	d.empresa(x0, y, ac21Width/2, "1. DE", v.EmpresaOrigen)
	d.empresa(x0+ac21Width/2, y, ac21Width/2, "2. PARA", v.EmpresaDestino)
	y += 26

	// Identification boxes.
	w := ac21Width / 5
	tipo := v.TipoTransaccion
	if v.Direccion != "" && tipo != "" {
		tipo += " (" + v.Direccion + ")"
	}
	d.box(x0, y, w, 11, "3. Nº DE ALBARÁN", v.NumeroAlbaran, true)
	d.box(x0+w, y, w, 11, "4. TIPO DE TRANSACCIÓN", tipo, false)
	d.box(x0+2*w, y, w, 11, "5. FECHA DEL INFORME", v.FechaInforme, false)
	d.box(x0+3*w, y, w, 11, "6. Nº REGISTRO DE SALIDA", v.NumeroRegistroSalida, false)
	d.box(x0+4*w, y, w, 11, "7. FECHA DE TRANSACCIÓN", v.FechaTransaccion, false)
	y += 11
	w3 := ac21Width / 3
	d.box(x0, y, w3, 11, "8. Nº REGISTRO DE ENTRADA", v.NumeroRegistroEntrada, false)
	d.box(x0+w3, y, w3, 11, "9. CÓDIGOS DE CONTABILIDAD", v.CodigosContabilidad, false)
	d.box(x0+2*w3, y, w3, 11, "10. TRAMITACIÓN", "", false)
	d.check(x0+2*w3+2, y+6, v.FirmeYDevuelva, "Firme y devuelva")
	d.check(x0+2*w3+32, y+6, v.ParaSuArchivo, "Para su archivo")
	y += 13

	// 11 Lines table.
	pdf.SetFont("go", "B", ac21LabelPt)
	pdf.SetFillColor(230, 230, 230)
	x := x0
	for _, c := range ac21Cols {
		pdf.SetXY(x, y)
		pdf.CellFormat(c.W, 6, c.Title, "1", 0, "C", true, 0, "")
		x += c.W
	}
	y += 6
	for i := range AC21LineasPorPagina {
		x = x0
		var cells []string
		if i < len(lines) {
			l := lines[i]
			cells = []string{l.CodigoProducto, strconv.Itoa(l.Cantidad), l.Descripcion, l.NumeroSerie, l.CC, l.Observaciones}
		}
		for j, c := range ac21Cols {
			pdf.Rect(x, y, c.W, ac21RowH, "D")
			if cells != nil {
				d.fit(x, y, c.W, ac21RowH, cells[j], c.Align, 8)
			}
			x += c.W
		}
		y += ac21RowH
	}
	y += 2

	if !last {
		pdf.SetFont("go", "B", ac21TextPt)
		pdf.SetXY(x0, y)
		pdf.CellFormat(ac21Width, 6, "Continúa en la hoja siguiente", "", 0, "C", false, 0, "")
		return
	}

	// 12 Accesorios / 13 Equipos de prueba.
	acc := make([]string, 0, len(p.Accesorios))
	for _, a := range p.Accesorios {
		acc = append(acc, fmt.Sprintf("%d × %s", a.Cantidad, a.Descripcion))
	}
	eq := make([]string, 0, len(p.Equipos))
	for _, e := range p.Equipos {
		eq = append(eq, e.Codigo)
	}
	d.para(x0, y, ac21Width/2, 16, "12. ACCESORIOS", strings.Join(acc, "; "))
	d.para(x0+ac21Width/2, y, ac21Width/2, 16, "13. EQUIPOS DE PRUEBA", strings.Join(eq, ", "))
	y += 16

	// 14 El material ha sido / 15 Destinatario autorizado.
	d.box(x0, y, ac21Width/2, 11, "14. EL MATERIAL HA SIDO", "", false)
	cx := x0 + 2
	for _, e := range ac21EstadosMaterial {
		d.check(cx, y+6, v.MaterialHaSido == e.Estado, e.Label)
		cx += 30
	}
	d.box(x0+ac21Width/2, y, ac21Width/2, 11, "15. DESTINATARIO AUTORIZADO", "", false)
	d.check(x0+ac21Width/2+2, y+6, v.DestinatarioTestigo, "Testigo")
	d.check(x0+ac21Width/2+24, y+6, v.DestinatarioOtro, "Otro (especificar):")
	pdf.SetFont("go", "", ac21TextPt)
	d.fit(x0+ac21Width/2+52, y+5, ac21Width/2-53, 4, v.DestinatarioOtroTexto, "L", ac21TextPt)
	y += 11

	// Signature blocks A and B.
	d.firma(x0, y, ac21Width/2, "A. ENTREGA (DESTINATARIO)", v.FirmaEntrega)
	d.firma(x0+ac21Width/2, y, ac21Width/2, "B. RECIBE (TESTIGO)", v.FirmaRecibe)
	y += 37

	// 16 Observaciones ODMC.
	d.para(x0, y, ac21Width, 297-ac21Margin-y, "16. OBSERVACIONES ODMC / REMITENTE", v.ObservacionesODMC)
}

// label writes a box label at the top left of a box.
func (d *ac21PDF) label(x, y float64, s string) {
	d.pdf.SetFont("go", "B", ac21LabelPt)
	d.pdf.SetTextColor(60, 60, 60)
	d.pdf.Text(x+1, y+2.6, s)
	d.pdf.SetTextColor(0, 0, 0)
}

// box is a labelled box with one line of content.
func (d *ac21PDF) box(x, y, w, h float64, label, value string, bold bool) {
	d.pdf.Rect(x, y, w, h, "D")
	d.label(x, y, label)
	style := ""
	if bold {
		style = "B"
	}
	d.pdf.SetFont("go", style, ac21TextPt+1)
	d.fitStyle(x, y+3.5, w, h-3.5, value, "C", ac21TextPt+1, style)
}

// empresa is a company box: name, address, "CP localidad (provincia)",
// ODMC number.
func (d *ac21PDF) empresa(x, y, w float64, label string, e AC21Empresa) {
	d.pdf.Rect(x, y, w, 26, "D")
	d.label(x, y, label)
	rows := []struct {
		s     string
		style string
	}{{e.Nombre, "B"}, {e.Direccion, ""}, {e.LocalidadProvinciaCP, ""}, {ac21ODMC(e.NumeroODMC), ""}}
	for i, r := range rows {
		d.fitStyle(x+1, y+4+float64(i)*5, w-2, 5, r.s, "L", ac21TextPt+0.5, r.style)
	}
}

func ac21ODMC(n string) string {
	if n == "" {
		return ""
	}
	return "Nº ODMC: " + n
}

// para is a labelled box with wrapped text; what does not fit ends in "…".
func (d *ac21PDF) para(x, y, w, h float64, label, text string) {
	pdf := d.pdf
	pdf.Rect(x, y, w, h, "D")
	d.label(x, y, label)
	text = strings.ReplaceAll(strings.ReplaceAll(text, "\r", ""), "\t", " ")
	pdf.SetFont("go", "", ac21TextPt)
	lh := 3.8
	maxLines := int((h - 4) / lh)
	var lines []string
	for _, para := range strings.Split(text, "\n") {
		lines = append(lines, pdf.SplitText(ac21Clean(para), w-3)...)
	}
	if len(lines) > maxLines {
		lines = lines[:maxLines]
		lines[maxLines-1] = ac21Ellipsis(pdf, lines[maxLines-1]+" …", w-3)
	}
	for i, l := range lines {
		pdf.Text(x+1.5, y+4+float64(i+1)*lh-0.8, l)
	}
}

// firma is a signature block.
func (d *ac21PDF) firma(x, y, w float64, title string, f AC21Firma) {
	pdf := d.pdf
	pdf.Rect(x, y, w, 37, "D")
	pdf.SetFont("go", "B", ac21TextPt)
	pdf.SetFillColor(230, 230, 230)
	pdf.SetXY(x, y)
	pdf.CellFormat(w, 5, title, "1", 0, "C", true, 0, "")
	rows := []struct{ label, value string }{
		{"Firma:", f.FirmaTexto}, {"Empleo / rango:", f.EmpleoRango}, {"Nombre y apellidos:", f.NombreApellidos}, {"Cargo:", f.Cargo},
	}
	yy := y + 5
	for i, r := range rows {
		h := 6.5
		if i == 0 {
			h = 12 // room to sign
		}
		pdf.Line(x, yy+h, x+w, yy+h)
		pdf.SetFont("go", "B", ac21LabelPt+0.5)
		pdf.Text(x+1, yy+3.2, r.label)
		d.fitStyle(x+29, yy, w-30, h, r.value, "L", ac21TextPt+0.5, "")
		yy += h
	}
}

// check draws a check box, marked with an X when on, and its label.
func (d *ac21PDF) check(x, y float64, on bool, label string) {
	pdf := d.pdf
	pdf.Rect(x, y, 3, 3, "D")
	if on {
		pdf.SetFont("go", "B", 8)
		pdf.Text(x+0.55, y+2.6, "X")
	}
	pdf.SetFont("go", "", ac21TextPt-0.5)
	pdf.Text(x+4, y+2.6, label)
}

// fit writes one line of text in a cell, shrinking the font down to 5 pt
// before cutting it with "…".
func (d *ac21PDF) fit(x, y, w, h float64, s, align string, size float64) {
	d.fitStyle(x, y, w, h, s, align, size, "")
}

func (d *ac21PDF) fitStyle(x, y, w, h float64, s, align string, size float64, style string) {
	s = ac21Clean(strings.Join(strings.Fields(s), " "))
	if s == "" {
		return
	}
	pdf := d.pdf
	// One line, shrinking the font down to 6 pt.
	for ; size >= 6; size -= 0.5 {
		pdf.SetFont("go", style, size)
		if pdf.GetStringWidth(s) <= w-2 {
			pdf.SetXY(x, y)
			pdf.CellFormat(w, h, s, "", 0, align, false, 0, "")
			return
		}
	}
	// Then wrapped on as many lines as the cell holds, down to 4.5 pt, so
	// a long serial number still prints whole; only beyond that is the
	// text cut.
	var lines []string
	lh := 0.0
	for size = 6; size >= 4.5; size -= 0.5 {
		pdf.SetFont("go", style, size)
		lh = size * 25.4 / 72 * 1.1
		lines = pdf.SplitText(s, w)
		if float64(len(lines))*lh <= h {
			break
		}
	}
	if n := max(int(h/lh), 1); len(lines) > n {
		lines = lines[:n]
		lines[n-1] = ac21Ellipsis(pdf, lines[n-1], w-2)
	}
	top := y + (h-float64(len(lines))*lh)/2
	for i, l := range lines {
		pdf.SetXY(x, top+float64(i)*lh)
		pdf.CellFormat(w, lh, l, "", 0, align, false, 0, "")
	}
}

// ac21Clean replaces what the embedded font cannot map (control
// characters, code points beyond the Basic Multilingual Plane) with "?".
func ac21Clean(s string) string {
	return strings.Map(func(r rune) rune {
		if r > 0xFFFF || unicode.IsControl(r) {
			return '?'
		}
		return r
	}, s)
}

// ac21Ellipsis cuts s to width w with the current font, ending in "…".
func ac21Ellipsis(pdf *fpdf.Fpdf, s string, w float64) string {
	if pdf.GetStringWidth(s) <= w {
		return s
	}
	r := []rune(s)
	for len(r) > 0 && pdf.GetStringWidth(string(r)+"…") > w {
		r = r[:len(r)-1]
	}
	return string(r) + "…"
}
