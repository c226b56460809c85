package custody

import (
	"archive/zip"
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/xuri/excelize/v2"

	"github.com/thot-security/thot/internal/errs"
)

// Excel packing lists (the legacy processing service, §7.1), read
// in-process: the first sheet with a recognisable header row (within its
// first rows) is mapped column by column, rows without S/N or code are
// skipped and reported, and the rest are staged for the caller under the
// first row's Packing List number.

// ExcelColumns is the legacy column mapping: header → staging field.
var ExcelColumns = []struct {
	Header string
	Field  string
}{
	{"Packing List", "numero_albaran"},
	{"Part. N", "codigo_producto"},
	{"Descripción", "descripcion"},
	{"S/N", "numero_serie"},
	{"BULTOS TOTAL", "bultos_total"},
	{"OBSERVACIONES", "observaciones"},
}

// excelAliases maps folded header spellings to fields. Headers are folded
// by excelKey: lower case, no accents, only letters and digits — so
// "Part. N", "PART N", "part.n" and "Part. Nº" are all "partn".
var excelAliases = map[string]string{
	"packinglist": "numero_albaran", "packinglistno": "numero_albaran", "packinglistn": "numero_albaran",
	"partn": "codigo_producto", "partno": "codigo_producto", "partnumber": "codigo_producto", "pn": "codigo_producto",
	"descripcion": "descripcion", "description": "descripcion",
	"sn": "numero_serie", "serialnumber": "numero_serie", "numerodeserie": "numero_serie", "numeroserie": "numero_serie",
	"bultostotal": "bultos_total", "bultos": "bultos_total",
	"observaciones": "observaciones", "observacion": "observaciones",
}

// excelRequired are the columns a packing list must have, with the
// header the error names.
var excelRequired = []struct{ Field, Header string }{
	{"numero_albaran", "Packing List"}, {"codigo_producto", "Part. N"}, {"numero_serie", "S/N"},
}

// Limits of an Excel import.
const (
	// MaxExcelRows bounds the data rows of a packing list.
	MaxExcelRows = MaxStagingLines
	// headerSearchRows is how far down a sheet the header row may be
	// (title blocks above the table are common).
	headerSearchRows = 20
	// maxUnzipped bounds the uncompressed size of a workbook (zip bombs).
	maxUnzipped int64 = 256 << 20
)

// excelKey folds a header for matching.
func excelKey(s string) string {
	var b strings.Builder
	for _, r := range Fold(s) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// ExcelSkip is a spreadsheet row that was not staged.
type ExcelSkip struct {
	Fila   int    `json:"fila"`
	Motivo string `json:"motivo"`
}

// PackingRow is one usable row of a packing list.
type PackingRow struct {
	Fila          int
	Numero        string
	Codigo        string
	Descripcion   string
	NumeroSerie   string
	BultosTotal   *int
	Observaciones string
}

// PackingList is what a workbook holds.
type PackingList struct {
	Sheet   string
	Numero  string
	Rows    []PackingRow
	Skipped []ExcelSkip
}

func fileErr(format string, args ...any) error {
	return &errs.Error{Kind: errs.KindInvalid, Fields: map[string]any{"file": []string{fmt.Sprintf(format, args...)}}}
}

// sniffXLSX refuses anything but an Office Open XML workbook before
// excelize sees it: a zip holding xl/workbook.xml, of bounded
// uncompressed size. (.xls, .csv, .ods, encrypted workbooks and random
// bytes are all refused here.)
func sniffXLSX(data []byte) error {
	if len(data) == 0 {
		return fileErr("El archivo está vacío.")
	}
	if !bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		if bytes.HasPrefix(data, []byte{0xD0, 0xCF, 0x11, 0xE0}) {
			return fileErr("Formato no admitido: es un libro .xls antiguo o cifrado; guárdelo como .xlsx sin contraseña.")
		}
		return fileErr("Formato no admitido: se espera un libro de Excel .xlsx.")
	}
	zr, err := zip.NewReader(bytes.NewReader(data), int64(len(data)))
	if err != nil {
		return fileErr("El archivo .xlsx está dañado (no es un zip válido).")
	}
	var total uint64
	workbook := false
	for _, f := range zr.File {
		total += f.UncompressedSize64
		if f.Name == "xl/workbook.xml" {
			workbook = true
		}
	}
	if !workbook {
		return fileErr("Formato no admitido: el zip no es un libro de Excel .xlsx.")
	}
	if total > uint64(maxUnzipped) {
		return fileErr("El libro es demasiado grande una vez descomprimido (límite %d MiB).", maxUnzipped>>20)
	}
	return nil
}

// ParsePackingList reads a packing list workbook. Every problem with the
// file is a KindInvalid error on the "file" field.
func ParsePackingList(data []byte) (pl *PackingList, err error) {
	if err := sniffXLSX(data); err != nil {
		return nil, err
	}
	defer func() {
		// A malformed workbook must never take the request down.
		if r := recover(); r != nil {
			pl, err = nil, fileErr("El archivo .xlsx está dañado y no se puede leer.")
		}
	}()
	f, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{UnzipSizeLimit: maxUnzipped, UnzipXMLSizeLimit: 16 << 20})
	if err != nil {
		return nil, fileErr("El archivo .xlsx está dañado y no se puede leer.")
	}
	defer f.Close()
	sheets := f.GetSheetList()
	anyData := false
	var best []string
	for _, sheet := range sheets {
		pl, cols, nonEmpty, err := readSheet(f, sheet)
		if err != nil {
			return nil, err
		}
		anyData = anyData || nonEmpty
		if pl != nil {
			return pl, nil
		}
		if best == nil && cols != nil {
			best = cols
		}
	}
	if !anyData {
		return nil, fileErr("El libro no tiene datos.")
	}
	found := map[string]bool{}
	for _, h := range best {
		if fld, ok := excelAliases[excelKey(h)]; ok {
			found[fld] = true
		}
	}
	var missing []string
	for _, r := range excelRequired {
		if !found[r.Field] {
			missing = append(missing, r.Header)
		}
	}
	return nil, fileErr("Faltan columnas obligatorias: %s (se esperan las cabeceras Packing List, Part. N, Descripción, S/N, BULTOS TOTAL y OBSERVACIONES).", strings.Join(missing, ", "))
}

// readSheet finds the header row and reads the rows under it. It returns
// a nil list when the sheet has no header row with the required columns,
// with the most promising header candidate for the error message.
func readSheet(f *excelize.File, sheet string) (*PackingList, []string, bool, error) {
	rows, err := f.Rows(sheet)
	if err != nil {
		return nil, nil, false, fileErr("No se puede leer la hoja %q del libro.", sheet)
	}
	defer rows.Close()
	var (
		colOf     map[string]int
		candidate []string
		bestScore = -1
		nonEmpty  bool
		pl        = &PackingList{Sheet: sheet}
		firstNum  string
		seen      = map[[2]string]int{}
		dataRows  int
	)
	for fila := 1; rows.Next(); fila++ {
		cells, err := rows.Columns(excelize.Options{RawCellValue: true})
		if err != nil {
			return nil, nil, false, fileErr("El archivo .xlsx está dañado (hoja %q, fila %d).", sheet, fila)
		}
		blank := true
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
			if cells[i] != "" {
				blank = false
			}
		}
		if blank {
			continue
		}
		nonEmpty = true
		if colOf == nil {
			if fila > headerSearchRows {
				break
			}
			m, score := headerColumns(cells)
			if score > bestScore {
				bestScore, candidate = score, cells
			}
			if m != nil {
				colOf = m
			}
			continue
		}
		dataRows++
		if dataRows > MaxExcelRows {
			return nil, nil, true, fileErr("El archivo tiene más de %d filas de datos; divídalo en varios.", MaxExcelRows)
		}
		get := func(field string) string {
			if i, ok := colOf[field]; ok && i < len(cells) {
				return cells[i]
			}
			return ""
		}
		r := PackingRow{Fila: fila, Numero: get("numero_albaran"), Codigo: get("codigo_producto"), Descripcion: get("descripcion"),
			NumeroSerie: get("numero_serie"), Observaciones: get("observaciones")}
		if firstNum == "" && r.Numero != "" {
			firstNum = r.Numero
		}
		if n, ok, err := looseInt(get("bultos_total")); err == nil && ok && n >= 0 {
			r.BultosTotal = &n
		}
		var motivo string
		switch {
		case r.NumeroSerie == "" && r.Codigo == "":
			motivo = "Sin S/N ni Part. N."
		case r.NumeroSerie == "":
			motivo = "Sin S/N."
		case r.Codigo == "":
			motivo = "Sin Part. N."
		case len([]rune(r.Codigo)) > maxCodeLen:
			motivo = fmt.Sprintf("Part. N de más de %d caracteres.", maxCodeLen)
		case len([]rune(r.NumeroSerie)) > maxCodeLen:
			motivo = fmt.Sprintf("S/N de más de %d caracteres.", maxCodeLen)
		case len(r.Descripcion) > maxTextLen || len(r.Observaciones) > maxTextLen:
			motivo = fmt.Sprintf("Texto de más de %d caracteres.", maxTextLen)
		}
		if motivo == "" {
			k := [2]string{r.Codigo, r.NumeroSerie}
			if prev, dup := seen[k]; dup {
				motivo = fmt.Sprintf("S/N %s del Part. N %s repetido en el archivo (ya en la fila %d).", r.NumeroSerie, r.Codigo, prev)
			} else {
				seen[k] = fila
			}
		}
		if motivo != "" {
			pl.Skipped = append(pl.Skipped, ExcelSkip{Fila: fila, Motivo: motivo})
			continue
		}
		if pl.Numero == "" && r.Numero != "" {
			pl.Numero = r.Numero
		}
		pl.Rows = append(pl.Rows, r)
	}
	if err := rows.Error(); err != nil {
		return nil, nil, nonEmpty, fileErr("El archivo .xlsx está dañado (hoja %q).", sheet)
	}
	if colOf == nil {
		return nil, candidate, nonEmpty, nil
	}
	if pl.Numero == "" {
		pl.Numero = firstNum
	}
	return pl, nil, true, nil
}

// headerColumns maps a row's cells to fields; m is nil unless every
// required column is there. score counts the recognised columns.
func headerColumns(cells []string) (map[string]int, int) {
	m := map[string]int{}
	for i, c := range cells {
		if fld, ok := excelAliases[excelKey(c)]; ok {
			if _, dup := m[fld]; !dup {
				m[fld] = i
			}
		}
	}
	for _, r := range excelRequired {
		if _, ok := m[r.Field]; !ok {
			return nil, len(m)
		}
	}
	return m, len(m)
}

// ExcelImport is the answer of POST …/import-excel/.
type ExcelImport struct {
	Numero  string
	Sheet   string
	Lines   []LineaTemporal
	Skipped []ExcelSkip
}

// ImportExcel reads a packing list and stages its rows for the viewer.
func (s *Service) ImportExcel(ctx context.Context, v Viewer, filename string, data []byte) (*ExcelImport, error) {
	pl, err := ParsePackingList(data)
	if err != nil {
		return nil, err
	}
	if len(pl.Rows) == 0 {
		return nil, &errs.Error{Kind: errs.KindInvalid, Message: "Ninguna fila del archivo se puede preparar.",
			Fields: map[string]any{"file": []string{"Ninguna fila tiene S/N y Part. N."}, "skipped": nonNilSkips(pl.Skipped)}}
	}
	if pl.Numero == "" {
		return nil, &errs.Error{Kind: errs.KindInvalid, Message: "El archivo no dice a qué documento pertenece.",
			Fields: map[string]any{"file": []string{"La columna Packing List no tiene ningún número de documento."}}}
	}
	if len([]rune(pl.Numero)) > maxCodeLen {
		return nil, fileErr("El Packing List %q tiene más de %d caracteres.", pl.Numero, maxCodeLen)
	}
	if len([]rune(filename)) > 200 {
		filename = string([]rune(filename)[:200])
	}
	header := map[string]any{"cabecera": map[string]any{"numero": pl.Numero}, "origen": "excel", "archivo": filename, "hoja": pl.Sheet}
	lines := make([]LineaTemporal, len(pl.Rows))
	cc := DefaultCC // the legacy processing service sent cc: 1 on every line
	for i, r := range pl.Rows {
		lines[i] = LineaTemporal{UsuarioID: v.UserID, NumeroAlbaran: pl.Numero, CodigoProducto: r.Codigo,
			Descripcion: strOrNil(r.Descripcion), NumeroSerie: r.NumeroSerie, BultosTotal: r.BultosTotal,
			Observaciones: strOrNil(r.Observaciones), Cantidad: 1, CC: &cc, DatosAdicionales: header}
	}
	res, err := s.stage(ctx, nil, v, pl.Numero, lines, nil)
	if err != nil {
		return nil, err
	}
	return &ExcelImport{Numero: pl.Numero, Sheet: pl.Sheet, Lines: res.Lines, Skipped: nonNilSkips(pl.Skipped)}, nil
}

func nonNilSkips(s []ExcelSkip) []ExcelSkip {
	if s == nil {
		return []ExcelSkip{}
	}
	return s
}
