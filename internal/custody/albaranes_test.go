package custody_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/errs"
)

// Pure rule tests for documents: what a create or edit request becomes,
// and which requests are refused with which field named.

var albNow = time.Date(2026, 3, 14, 10, 30, 0, 0, time.UTC)

func albLine(codigo, serie string) custody.ArticuloInput {
	return custody.ArticuloInput{Codigo: custody.Val(codigo), NumeroSerie: custody.Val(serie)}
}

// albFields flattens an error's field map to "field" or "field.sub.sub"
// paths, sorted, for comparison.
func albFields(t *testing.T, err error) string {
	t.Helper()
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.KindInvalid {
		t.Fatalf("error %v is not a validation error", err)
	}
	var out []string
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			if sub, ok := v.(map[string]any); ok {
				walk(prefix+k+".", sub)
			} else {
				out = append(out, prefix+k)
			}
		}
	}
	walk("", e.Fields)
	sortStrings(out)
	return strings.Join(out, " ")
}

func sortStrings(s []string) {
	for i := range s {
		for j := i + 1; j < len(s); j++ {
			if s[j] < s[i] {
				s[i], s[j] = s[j], s[i]
			}
		}
	}
}

func TestPlanAlbaranRules(t *testing.T) {
	cases := []struct {
		name string
		in   custody.AlbaranInput
		// fields is the sorted list of refused fields ("" = accepted).
		fields string
		check  func(t *testing.T, p *custody.AlbaranPlan)
	}{
		{name: "INVENTARIO defaults to ENTRADA, dates to today",
			in: custody.AlbaranInput{Numero: custody.Val(" INV-1 "), Tipo: custody.Val("inventario"), Articulos: []custody.ArticuloInput{albLine("C1", "S1")}},
			check: func(t *testing.T, p *custody.AlbaranPlan) {
				a := p.Albaran
				if a.Numero != "INV-1" || *a.Direccion != custody.Entrada || *a.Tipo != custody.Inventario || p.AsignarRegistro ||
					a.FechaInforme.Format("2006-01-02") != "2026-03-14" || a.FechaTransaccion.Format("2006-01-02") != "2026-03-14" {
					t.Fatalf("%+v", a)
				}
				if len(p.Lineas) != 1 || p.Lineas[0].Cantidad != 1 || p.Lineas[0].Tipo != custody.Inventario {
					t.Fatalf("%+v", p.Lineas)
				}
			}},
		{name: "SALIDA TRANSFERENCIA allocates a number of its transaction year",
			in: custody.AlbaranInput{Numero: custody.Val("mine"), Tipo: custody.Val("Transferencia"), Direccion: custody.Val("salida"),
				NumeroRegistroSalida: custody.Val("S1999-0001"), FechaTransaccion: custody.Val("31/12/2025")},
			check: func(t *testing.T, p *custody.AlbaranPlan) {
				if !p.AsignarRegistro || p.RegistroYear != 2025 || p.Albaran.Numero != "" || p.Albaran.NumeroRegistroSalida != nil {
					t.Fatalf("%+v", p)
				}
			}},
		{name: "the number falls back to the registry numbers and the cabecera",
			in: custody.AlbaranInput{Tipo: custody.Val("INVENTARIO"), Numero: custody.FieldValue{Set: true, Null: true},
				Cabecera: &custody.AlbaranCabecera{NumeroRegistroEntrada: custody.Val("E-77"), FechaTransaccionDMA: custody.Val("01/02/2024")}},
			check: func(t *testing.T, p *custody.AlbaranPlan) {
				if p.Albaran.Numero != "E-77" || p.Albaran.NumeroRegistroEntrada != "E-77" || p.Albaran.FechaTransaccion.Year() != 2024 {
					t.Fatalf("%+v", p.Albaran)
				}
			}},
		{name: "the type may come from its legacy aliases or the cabecera",
			in: custody.AlbaranInput{Numero: custody.Val("X"), Direccion: custody.Val("SALIDA"), Cabecera: &custody.AlbaranCabecera{TipoTransaccion: custody.Val("Destrucción")}},
			check: func(t *testing.T, p *custody.AlbaranPlan) {
				if *p.Albaran.Tipo != custody.Destruccion || !p.Albaran.Outgoing() {
					t.Fatalf("%+v", p.Albaran)
				}
			}},
		{name: "tipo_albaran alias", in: custody.AlbaranInput{Numero: custody.Val("X"), TipoAlbaran: custody.Val("recibo_mano"), Direccion: custody.Val("SALIDA")},
			check: func(t *testing.T, p *custody.AlbaranPlan) {
				if *p.Albaran.Tipo != custody.ReciboMano {
					t.Fatal(*p.Albaran.Tipo)
				}
			}},
		{name: "no number", in: custody.AlbaranInput{Tipo: custody.Val("INVENTARIO")}, fields: "numero"},
		{name: "no type", in: custody.AlbaranInput{Numero: custody.Val("X")}, fields: "tipo_documento"},
		{name: "unknown type", in: custody.AlbaranInput{Numero: custody.Val("X"), Tipo: custody.Val("PRESTAMO"), Direccion: custody.Val("SALIDA")}, fields: "tipo_documento"},
		{name: "no direction for a transfer", in: custody.AlbaranInput{Numero: custody.Val("X"), Tipo: custody.Val("TRANSFERENCIA")}, fields: "direccion_transferencia"},
		{name: "bad direction", in: custody.AlbaranInput{Numero: custody.Val("X"), Tipo: custody.Val("OTRO"), Direccion: custody.Val("arriba")}, fields: "direccion_transferencia"},
		{name: "incoming transfer goes through staging", in: custody.AlbaranInput{Numero: custody.Val("X"), Tipo: custody.Val("TRANSFERENCIA"), Direccion: custody.Val("ENTRADA")}, fields: "direccion_transferencia"},
		{name: "incoming destruction goes through staging", in: custody.AlbaranInput{Numero: custody.Val("X"), Tipo: custody.Val("DESTRUCCION"), Direccion: custody.Val("entrada")}, fields: "direccion_transferencia"},
		{name: "formats are checked field by field",
			in: custody.AlbaranInput{Numero: custody.Val("X"), Tipo: custody.Val("INVENTARIO"), EmpresaOrigen: custody.Val("dos"), FechaInforme: custody.Val("ayer"),
				EstadoMaterial: custody.Val("ROTO"), DestinatarioTestigo: custody.Val("quizá"), Accesorios: json.RawMessage(`"cable"`)},
			fields: "accesorios destinatario_autorizado_testigo empresa_origen estado_material fecha_informe"},
		{name: "per-line errors under articulos, with header errors",
			in: custody.AlbaranInput{Tipo: custody.Val("INVENTARIO"), Articulos: []custody.ArticuloInput{
				albLine("C1", "S1"), {Codigo: custody.Val("C2")}, {NumeroSerie: custody.Val("S3"), Cantidad: custody.Val("-1")},
				{Codigo: custody.Val("C4"), NumeroSerie: custody.Val("S4"), CC: custody.Val("x")}, albLine("C1", "S1")}},
			fields: "articulos.1.numero_serie articulos.2.cantidad articulos.2.codigo articulos.3.cc articulos.4.numero_serie numero"},
		{name: "extra page of a missing document", in: custody.AlbaranInput{EsPaginaAdicional: custody.Val("true"), DocumentoPrincipalID: custody.Val("9")}, fields: "documento_principal_id"},
		{name: "extra page without its main document", in: custody.AlbaranInput{EsPaginaAdicional: custody.Val("true"), Tipo: custody.Val("INVENTARIO"), Numero: custody.Val("X")}, fields: "documento_principal_id"},
		{name: "accessories: list, {} and null", in: custody.AlbaranInput{Numero: custody.Val("X"), Tipo: custody.Val("INVENTARIO"),
			Accesorios: json.RawMessage(`[{"descripcion":"Antena","cantidad":"3","otro":1}]`), EquiposPrueba: json.RawMessage(`{}`)},
			check: func(t *testing.T, p *custody.AlbaranPlan) {
				if len(p.Albaran.Accesorios) != 1 || p.Albaran.Accesorios[0] != (custody.Accesorio{Descripcion: "Antena", Cantidad: 3}) || len(p.Albaran.EquiposPrueba) != 0 {
					t.Fatalf("%+v %+v", p.Albaran.Accesorios, p.Albaran.EquiposPrueba)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := c.in
			p, err := custody.PlanAlbaran(&in, nil, albNow)
			if c.fields != "" {
				if err == nil {
					t.Fatalf("accepted: %+v", p)
				}
				if got := albFields(t, err); got != c.fields {
					t.Fatalf("refused fields %q, want %q (%v)", got, c.fields, err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, p)
		})
	}
}

func TestPlanAlbaranStagingMessage(t *testing.T) {
	_, err := custody.PlanAlbaran(&custody.AlbaranInput{Numero: custody.Val("X"), Tipo: custody.Val("OTRO"), Direccion: custody.Val("ENTRADA")}, nil, albNow)
	e, _ := errs.As(err)
	if e == nil || !strings.Contains(e.Message, "staging") || !strings.Contains(e.Message, "procesar") {
		t.Fatalf("%v", err)
	}
}

func TestPlanAlbaranExtraPageInheritsItsMainDocument(t *testing.T) {
	tipo, dir := custody.Transferencia, custody.Salida
	reg := "S2026-0007"
	org := int64(4)
	main := &custody.Albaran{ID: 3, Numero: reg, Tipo: &tipo, Direccion: &dir, NumeroRegistroSalida: &reg, EmpresaOrigenID: &org}
	in := custody.AlbaranInput{EsPaginaAdicional: custody.Val("1"), DocumentoPrincipalID: custody.Val("3"), Articulos: []custody.ArticuloInput{albLine("C1", "S1")}}
	p, err := custody.PlanAlbaran(&in, main, albNow)
	if err != nil {
		t.Fatal(err)
	}
	if p.PrincipalID == nil || *p.PrincipalID != 3 || p.AsignarRegistro || *p.Albaran.Tipo != tipo || *p.Albaran.Direccion != dir ||
		*p.Albaran.NumeroRegistroSalida != reg || *p.Albaran.EmpresaOrigenID != org || p.Lineas[0].Tipo != tipo {
		t.Fatalf("%+v", p)
	}
	// A page of an extra page is refused.
	main.DocumentoPrincipalID = &org
	if _, err := custody.PlanAlbaran(&in, main, albNow); err == nil || albFields(t, err) != "documento_principal_id" {
		t.Fatalf("page of a page: %v", err)
	}
}

func TestEditAlbaranRules(t *testing.T) {
	inv, ent, sal, tr := custody.Inventario, custody.Entrada, custody.Salida, custody.Transferencia
	reg := "S2026-0003"
	base := custody.Albaran{ID: 1, Numero: "INV-1", Tipo: &inv, Direccion: &ent}
	outgoing := custody.Albaran{ID: 2, Numero: reg, NumeroRegistroSalida: &reg, Tipo: &tr, Direccion: &sal}
	mainID := int64(2)
	page := custody.Albaran{ID: 3, Numero: reg + "-P2", DocumentoPrincipalID: &mainID, Tipo: &tr, Direccion: &sal}
	cases := []struct {
		name   string
		cur    custody.Albaran
		in     custody.AlbaranInput
		fields string
		check  func(t *testing.T, e *custody.AlbaranEdit)
	}{
		{name: "header only: nothing to recompute", cur: base, in: custody.AlbaranInput{ObservacionesODMC: custody.Val("ok"), Numero: custody.Val("INV-2")},
			check: func(t *testing.T, e *custody.AlbaranEdit) {
				if e.Reclasificado || e.AsignarRegistro || e.Albaran.Numero != "INV-2" || e.Albaran.ObservacionesODMC != "ok" {
					t.Fatalf("%+v", e)
				}
			}},
		{name: "becoming an outgoing transfer allocates a number", cur: base, in: custody.AlbaranInput{Tipo: custody.Val("TRANSFERENCIA"), Direccion: custody.Val("SALIDA"), Numero: custody.Val("INV-1")},
			check: func(t *testing.T, e *custody.AlbaranEdit) {
				if !e.Reclasificado || !e.AsignarRegistro || e.RegistroYear != 2026 {
					t.Fatalf("%+v", e)
				}
			}},
		{name: "an outgoing transfer keeps its registry number", cur: outgoing, in: custody.AlbaranInput{Numero: custody.Val("OTHER"), NumeroRegistroSalida: custody.Val("S1-1")},
			check: func(t *testing.T, e *custody.AlbaranEdit) {
				if e.Albaran.Numero != reg || *e.Albaran.NumeroRegistroSalida != reg || e.AsignarRegistro || e.Reclasificado {
					t.Fatalf("%+v", e.Albaran)
				}
			}},
		{name: "leaving outgoing: direction flip recomputes, number kept", cur: outgoing, in: custody.AlbaranInput{Direccion: custody.Val("ENTRADA")},
			check: func(t *testing.T, e *custody.AlbaranEdit) {
				if !e.Reclasificado || e.AsignarRegistro || e.Albaran.Numero != reg {
					t.Fatalf("%+v", e)
				}
			}},
		{name: "INVENTARIO without a direction becomes ENTRADA", cur: outgoing, in: custody.AlbaranInput{Tipo: custody.Val("INVENTARIO"), Direccion: custody.FieldValue{Set: true, Null: true}},
			check: func(t *testing.T, e *custody.AlbaranEdit) {
				if *e.Albaran.Direccion != custody.Entrada || !e.Reclasificado {
					t.Fatalf("%+v", e.Albaran)
				}
			}},
		{name: "type cannot be cleared", cur: base, in: custody.AlbaranInput{Tipo: custody.FieldValue{Set: true, Null: true}}, fields: "tipo_documento"},
		{name: "a transfer needs a direction", cur: base, in: custody.AlbaranInput{Tipo: custody.Val("OTRO"), Direccion: custody.Val("")}, fields: "direccion_transferencia"},
		{name: "blank number", cur: base, in: custody.AlbaranInput{Numero: custody.Val(" ")}, fields: "numero"},
		{name: "an extra page's number is derived", cur: page, in: custody.AlbaranInput{Numero: custody.Val("P-9")}, fields: "numero"},
		{name: "an extra page may resend its number", cur: page, in: custody.AlbaranInput{Numero: custody.Val(reg + "-P2")},
			check: func(t *testing.T, e *custody.AlbaranEdit) {
				if e.Albaran.Numero != reg+"-P2" || e.AsignarRegistro {
					t.Fatalf("%+v", e)
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cur := c.cur
			in := c.in
			e, err := custody.EditAlbaran(&cur, &in, albNow)
			if c.fields != "" {
				if err == nil {
					t.Fatalf("accepted %+v", e)
				}
				if got := albFields(t, err); got != c.fields {
					t.Fatalf("refused %q, want %q", got, c.fields)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			c.check(t, e)
		})
	}
}

func TestParseArticulosSkippingDuplicates(t *testing.T) {
	lines, dups, err := custody.ParseArticulos("articulos", []custody.ArticuloInput{albLine("C1", "S1"), albLine("C1", "S1"),
		{Codigo: custody.Val("C2"), NumeroSerie: custody.Val("S2"), TipoMovimiento: custody.Val("otro"), Cantidad: custody.Val("2.0")}}, custody.Inventario, true)
	if err != nil || dups != 1 || len(lines) != 2 || lines[1].Tipo != custody.Otro || lines[1].Cantidad != 2 || lines[1].Index != 2 {
		t.Fatalf("%+v %d %v", lines, dups, err)
	}
	// An unknown line type falls back to the document's, as in the legacy.
	lines, _, _ = custody.ParseArticulos("articulos", []custody.ArticuloInput{{Codigo: custody.Val("C"), NumeroSerie: custody.Val("S"), TipoMovimiento: custody.Val("???")}}, custody.ReciboMano, false)
	if lines[0].Tipo != custody.ReciboMano {
		t.Fatal(lines[0].Tipo)
	}
}

func TestOutgoingLineErrors(t *testing.T) {
	lines := []custody.LineaAlbaran{{Index: 0, Codigo: "A", NumeroSerie: "1"}, {Index: 4, Codigo: "B", NumeroSerie: "2"}, {Index: 7, Codigo: "C", NumeroSerie: "3"}}
	if err := custody.OutgoingLineErrors("articulos", lines, []custody.Estado{custody.Activo, "", custody.Activo}); err != nil {
		t.Fatalf("in custody or pre-existing stock may leave: %v", err)
	}
	err := custody.OutgoingLineErrors("articulos", lines, []custody.Estado{custody.Activo, custody.Inactivo, ""})
	if got := albFields(t, err); got != "articulos.4.numero_serie" {
		t.Fatal(got)
	}
}

func TestParseMovimientosList(t *testing.T) {
	_, err := custody.ParseMovimientos("movimientos", []custody.MovimientoInput{
		{ID: custody.Val("5"), Cantidad: custody.Val("2")},
		{ProductoCodigo: custody.Val("C1")},
		{ID: custody.Val("5")},
		{ID: custody.Val("x"), ProductoCodigo: custody.Val("C"), NumeroSerie: custody.Val("S")},
		{ProductoCodigo: custody.Val("C"), NumeroSerie: custody.Val(""), TipoMovimiento: custody.Val("zzz")},
	})
	if got := albFields(t, err); got != "movimientos.1.numero_serie movimientos.2.id movimientos.3.id movimientos.4.numero_serie movimientos.4.tipo_movimiento" {
		t.Fatal(got)
	}
	ms, err := custody.ParseMovimientos("movimientos", []custody.MovimientoInput{{ID: custody.Val("5"), CC: custody.FieldValue{Set: true, Null: true}}, {ProductoCodigo: custody.Val("C"), NumeroSerie: custody.Val("S")}})
	if err != nil || ms[0].ID != 5 || !ms[0].SetCC || ms[0].CC != nil || ms[0].Codigo != nil || ms[1].ID != 0 || *ms[1].Codigo != "C" {
		t.Fatalf("%+v %v", ms, err)
	}
}

func TestParseFechaDocumento(t *testing.T) {
	for in, want := range map[string]string{"2025-02-03": "2025-02-03", "03/02/2025": "2025-02-03", "3/2/2025": "2025-02-03",
		"2025-02-03T23:30:00Z": "2025-02-03", "2025-02-03T10:00:00.123+01:00": "2025-02-03", " 2025-02-03 ": "2025-02-03"} {
		got, ok := custody.ParseFechaDocumento(in)
		if !ok || got.Format("2006-01-02") != want || got.Location() != time.UTC {
			t.Errorf("%q → %v %v", in, got, ok)
		}
	}
	for _, in := range []string{"", "ayer", "2025-13-01", "32/01/2025"} {
		if _, ok := custody.ParseFechaDocumento(in); ok {
			t.Errorf("%q accepted", in)
		}
	}
}

func TestAlbaranQueryFilter(t *testing.T) {
	f, err := custody.AlbaranQuery{Tipo: "Recibo en mano", Direccion: "salida", Empresa: "3", Desde: "01/02/2025", Search: "ÁRBOL", Ordering: "-numero,id"}.Filter()
	if err != nil || *f.Tipo != custody.ReciboMano || *f.Direccion != custody.Salida || *f.Empresa != 3 || f.Desde.Month() != 2 || f.Search != "arbol" ||
		fmt.Sprint(f.Ordering) != "[{numero true} {id false}]" {
		t.Fatalf("%+v %v", f, err)
	}
	_, err = custody.AlbaranQuery{Tipo: "x", Empresa: "-1", Hasta: "nunca"}.Filter()
	if got := albFields(t, err); got != "empresa fecha_hasta tipo_documento" {
		t.Fatal(got)
	}
	if _, err := (custody.AlbaranQuery{Ordering: "estado"}).Filter(); albFields(t, err) != "ordering" {
		t.Fatal(err)
	}
	if _, err := (custody.MovimientoQuery{Ordering: "-fecha", Albaran: "0"}).Filter(); albFields(t, err) != "albaran" {
		t.Fatal(err)
	}
	if y, err := custody.ParseYear("", albNow); err != nil || y != 2026 {
		t.Fatal(y, err)
	}
	if _, err := custody.ParseYear("20x6", albNow); albFields(t, err) != "año" {
		t.Fatal(err)
	}
}
