package custody_test

import (
	"archive/zip"
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/xuri/excelize/v2"

	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/errs"
)

// workbook builds an .xlsx in memory: each sheet is a list of rows, each
// row a list of cell values (nil leaves a cell empty).
func workbook(t testing.TB, sheets map[string][][]any, order ...string) []byte {
	t.Helper()
	f := excelize.NewFile()
	defer f.Close()
	if len(order) == 0 {
		order = []string{"Sheet1"}
	}
	for i, name := range order {
		if i == 0 {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				t.Fatal(err)
			}
		} else if _, err := f.NewSheet(name); err != nil {
			t.Fatal(err)
		}
		for r, row := range sheets[name] {
			for c, v := range row {
				if v == nil {
					continue
				}
				cell, _ := excelize.CoordinatesToCellName(c+1, r+1)
				if err := f.SetCellValue(name, cell, v); err != nil {
					t.Fatal(err)
				}
			}
		}
	}
	buf, err := f.WriteToBuffer()
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func oneSheet(t testing.TB, rows ...[]any) []byte {
	t.Helper()
	return workbook(t, map[string][][]any{"Sheet1": rows})
}

var legacyHeader = []any{"Packing List", "Part. N", "Descripción", "S/N", "BULTOS TOTAL", "OBSERVACIONES"}

// fileError asserts err is a 400 on the "file" field and returns its text.
func fileError(t *testing.T, err error) string {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.KindInvalid {
		t.Fatalf("want an invalid-input error, got %v", err)
	}
	msgs, ok := e.Fields["file"].([]string)
	if !ok || len(msgs) == 0 {
		t.Fatalf("error does not name the file field: %#v", e.Fields)
	}
	return strings.Join(msgs, " ")
}

func TestParsePackingListLegacyColumns(t *testing.T) {
	data := oneSheet(t,
		legacyHeader,
		[]any{"PL-2026-7", "KG-84C", "Cifrador KG", "SN-001", 2, "frágil"},
		[]any{"PL-2026-7", "KG-84C", "Cifrador KG", "", 1, ""},       // row 3: no S/N
		[]any{nil, nil, nil, nil, nil, nil},                          // row 4: blank, ignored
		[]any{"PL-2026-7", "", "Sin código", "SN-009", nil, nil},     // row 5: no code
		[]any{"PL-2026-7", "KG-84C", "Cifrador KG", "SN-001", 1, ""}, // row 6: duplicate of row 2
		[]any{"", "TX-1", "Radio", 123456789012, "3.0", nil},         // row 7: numeric serial, bultos "3.0"
		[]any{"", "", "", "", "", "nota suelta"},                     // row 8: neither
	)
	pl, err := custody.ParsePackingList(data)
	if err != nil {
		t.Fatal(err)
	}
	if pl.Numero != "PL-2026-7" || pl.Sheet != "Sheet1" {
		t.Errorf("numero %q sheet %q", pl.Numero, pl.Sheet)
	}
	if len(pl.Rows) != 2 {
		t.Fatalf("rows: %+v", pl.Rows)
	}
	r := pl.Rows[0]
	if r.Fila != 2 || r.Codigo != "KG-84C" || r.NumeroSerie != "SN-001" || r.Descripcion != "Cifrador KG" || r.Observaciones != "frágil" ||
		r.BultosTotal == nil || *r.BultosTotal != 2 {
		t.Errorf("row 2: %+v", r)
	}
	r = pl.Rows[1]
	if r.Fila != 7 || r.NumeroSerie != "123456789012" || r.BultosTotal == nil || *r.BultosTotal != 3 {
		t.Errorf("row 7 (numeric serial must keep every digit): %+v", r)
	}
	want := map[int]string{3: "Sin S/N", 5: "Sin Part. N", 6: "repetido", 8: "Sin S/N ni Part. N"}
	if len(pl.Skipped) != len(want) {
		t.Fatalf("skipped: %+v", pl.Skipped)
	}
	for _, s := range pl.Skipped {
		if !strings.Contains(s.Motivo, want[s.Fila]) {
			t.Errorf("row %d skipped for %q, want %q", s.Fila, s.Motivo, want[s.Fila])
		}
	}
}

func TestParsePackingListHeaderVariants(t *testing.T) {
	variants := []struct {
		name   string
		header []any
	}{
		{"upper without accents", []any{"PACKING LIST", "PART N", "DESCRIPCION", "S/N", "BULTOS TOTAL", "OBSERVACIONES"}},
		{"lower with dots", []any{"packing list", "part.n", "descripción", "s/n", "bultos total", "observaciones"}},
		{"extra and inner spaces", []any{"  Packing   List ", " Part .  N ", " Descripción ", " S / N ", "BULTOS  TOTAL", " Observaciones. "}},
		{"ordinal sign and reordered", []any{"S/N", "Part. Nº", "Packing-List", "Observaciones", "Descripcion", "Bultos total"}},
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			row := map[string]any{"packinglist": "PL-9", "partn": "ABC-1", "descripcion": "Equipo", "sn": "S-1", "bultostotal": 1, "observaciones": "ok"}
			keys := map[int]string{}
			for i, h := range v.header {
				k := strings.NewReplacer(" ", "", ".", "", "/", "", "-", "", "º", "", "ó", "o").Replace(strings.ToLower(h.(string)))
				keys[i] = k
			}
			data := make([]any, len(v.header))
			for i := range v.header {
				data[i] = row[keys[i]]
			}
			pl, err := custody.ParsePackingList(oneSheet(t, v.header, data))
			if err != nil {
				t.Fatal(err)
			}
			if pl.Numero != "PL-9" || len(pl.Rows) != 1 {
				t.Fatalf("%+v", pl)
			}
			r := pl.Rows[0]
			if r.Codigo != "ABC-1" || r.NumeroSerie != "S-1" || r.Descripcion != "Equipo" || r.Observaciones != "ok" {
				t.Errorf("%+v", r)
			}
		})
	}
}

func TestParsePackingListTitleRowsAndSecondSheet(t *testing.T) {
	data := workbook(t, map[string][][]any{
		"Portada": {{"Nada que ver aquí"}},
		"Lista": {
			{"PACKING LIST DE EJEMPLO S.A."},
			{},
			legacyHeader,
			{"PL-3", "X-1", "uno", "1"},
		},
	}, "Portada", "Lista")
	pl, err := custody.ParsePackingList(data)
	if err != nil {
		t.Fatal(err)
	}
	if pl.Sheet != "Lista" || len(pl.Rows) != 1 || pl.Rows[0].Fila != 4 {
		t.Fatalf("%+v", pl)
	}
}

func TestParsePackingListRefusals(t *testing.T) {
	good := oneSheet(t, legacyHeader, []any{"PL-1", "A", "a", "1"})
	var zipNoWorkbook bytes.Buffer
	zw := zip.NewWriter(&zipNoWorkbook)
	w, _ := zw.Create("hola.txt")
	_, _ = w.Write([]byte("no soy un libro"))
	_ = zw.Close()
	// A zip whose workbook part is garbage.
	var brokenXML bytes.Buffer
	zw = zip.NewWriter(&brokenXML)
	for _, name := range []string{"[Content_Types].xml", "xl/workbook.xml", "xl/worksheets/sheet1.xml"} {
		w, _ := zw.Create(name)
		_, _ = w.Write([]byte("<<<esto no es xml"))
	}
	_ = zw.Close()
	tooMany := [][]any{legacyHeader}
	for i := range custody.MaxExcelRows + 1 {
		tooMany = append(tooMany, []any{"PL-1", "A", "a", fmt.Sprintf("S%05d", i)})
	}
	cases := []struct {
		name string
		data []byte
		want string
	}{
		{"empty file", nil, "vacío"},
		{"plain text", []byte("Packing List;Part. N;S/N\nPL;A;1\n"), "Formato no admitido"},
		{"old xls", append([]byte{0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1}, make([]byte, 600)...), ".xls"},
		{"truncated xlsx", good[:len(good)/2], "dañado"},
		{"zip without workbook", zipNoWorkbook.Bytes(), "no es un libro"},
		{"garbage workbook xml", brokenXML.Bytes(), "dañado"},
		{"empty sheet", workbook(t, map[string][][]any{"Sheet1": nil}), "no tiene datos"},
		{"missing S/N and Part. N", oneSheet(t, []any{"Packing List", "Descripción", "Cantidad"}, []any{"PL", "x", 1}), "S/N"},
		{"too many rows", workbook(t, map[string][][]any{"Sheet1": tooMany}), "5000"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := custody.ParsePackingList(c.data)
			msg := fileError(t, err)
			if !strings.Contains(msg, c.want) {
				t.Errorf("message %q does not say %q", msg, c.want)
			}
		})
	}
	t.Run("missing columns are named", func(t *testing.T) {
		_, err := custody.ParsePackingList(oneSheet(t, []any{"Packing List", "Descripción"}, []any{"PL", "x"}))
		msg := fileError(t, err)
		if !strings.Contains(msg, "Part. N, S/N") || strings.Contains(msg, "Faltan columnas obligatorias: Packing List") {
			t.Errorf("%q", msg)
		}
	})
}
