package clearance

import (
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/thot-security/thot/internal/errs"
)

// TestOptionNormalize: every spelling a client or the legacy data holds
// maps to the readable value the HPS frontend's forms send; anything else
// is refused.
func TestOptionNormalize(t *testing.T) {
	cases := []struct {
		name string
		list *OptionList
		in   string
		want string // "" = refused
		code string
	}{
		{"form value DNI", DocumentTypes, "DNI / NIF", "DNI / NIF", "206"},
		{"form value NIE", DocumentTypes, "NIE", "NIE", "207"},
		{"form value residence card", DocumentTypes, "Tarjeta Residente", "Tarjeta Residente", "208"},
		{"form value passport", DocumentTypes, "Pasaporte", "Pasaporte", "209"},
		{"form value other", DocumentTypes, "Otros", "Otros", "210"},
		{"government code", DocumentTypes, "206", "DNI / NIF", "206"},
		{"government code with spaces", DocumentTypes, " 209 ", "Pasaporte", "209"},
		{"legacy DNI", DocumentTypes, "DNI", "DNI / NIF", "206"},
		{"legacy PASSPORT", DocumentTypes, "PASSPORT", "Pasaporte", "209"},
		{"legacy TARJETA_RESIDENTE", DocumentTypes, "TARJETA_RESIDENTE", "Tarjeta Residente", "208"},
		{"legacy OTROS", DocumentTypes, "OTROS", "Otros", "210"},
		{"thot's first label", DocumentTypes, "DNI/NIF", "DNI / NIF", "206"},
		{"case and spacing", DocumentTypes, "dni/nif", "DNI / NIF", "206"},
		{"residence card long form", DocumentTypes, "Tarjeta de residente", "Tarjeta Residente", "208"},
		{"nationality code as document type", DocumentTypes, "1", "", ""},
		{"unknown document type", DocumentTypes, "Carnet de conducir", "", ""},
		{"empty document type", DocumentTypes, "  ", "", ""},

		{"form value Spain", Nationalities, "ESPAÑA", "ESPAÑA", "1"},
		{"form value with parentheses", Nationalities, "ZIMBABWE (ZIMBABUE)", "ZIMBABWE (ZIMBABUE)", "189"},
		{"form value with comma", Nationalities, "CAIMAN, ISLAS", "CAIMAN, ISLAS", "37"},
		{"form value with apostrophe", Nationalities, "COTE D'IVOIRE (COSTA DE MARFIL)", "COTE D'IVOIRE (COSTA DE MARFIL)", "52"},
		{"government code 1", Nationalities, "1", "ESPAÑA", "1"},
		{"government code leading zero", Nationalities, "072", "FRANCIA", "72"},
		{"government code 189", Nationalities, "189", "ZIMBABWE (ZIMBABUE)", "189"},
		{"lower case with accent", Nationalities, "España", "ESPAÑA", "1"},
		{"without the tilde", Nationalities, "ESPANA", "ESPAÑA", "1"},
		{"accent the list lacks", Nationalities, "Bélgica", "BELGICA", "23"},
		{"legacy Española", Nationalities, "Española", "ESPAÑA", "1"},
		{"legacy Española with trailing space", Nationalities, "Española ", "ESPAÑA", "1"},
		{"legacy ESPAÑOLA", Nationalities, "ESPAÑOLA", "ESPAÑA", "1"},
		{"legacy Spanish", Nationalities, "Spanish", "ESPAÑA", "1"},
		{"legacy SPAIN", Nationalities, "SPAIN", "ESPAÑA", "1"},
		{"Congo is not the DR Congo", Nationalities, "Congo", "CONGO", "47"},
		{"code 0", Nationalities, "0", "", ""},
		{"code 190", Nationalities, "190", "", ""},
		{"document code as nationality", Nationalities, "206", "", ""},
		{"negative code", Nationalities, "-1", "", ""},
		{"unknown nationality", Nationalities, "Marciana", "", ""},
		{"empty nationality", Nationalities, "", "", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o, ok := c.list.Normalize(c.in)
			if c.want == "" {
				if ok {
					t.Fatalf("Normalize(%q) = %+v, want refused", c.in, o)
				}
				return
			}
			if !ok || o.Value != c.want || o.Code != c.code {
				t.Fatalf("Normalize(%q) = %+v %v, want %q/%q", c.in, o, ok, c.want, c.code)
			}
			if got := c.list.Code(o.Value); got != c.code {
				t.Errorf("Code(%q) = %q, want %q", o.Value, got, c.code)
			}
		})
	}
}

// TestOptionLists: the lists are the government's (codes 206–210 and
// 1–189 in order), and no two entries fold to the same key, so a
// spelling can never pick the wrong one.
func TestOptionLists(t *testing.T) {
	for _, l := range []struct {
		list        *OptionList
		first, size int
	}{{DocumentTypes, 206, 5}, {Nationalities, 1, 189}} {
		if len(l.list.Options()) != l.size {
			t.Fatalf("%s: %d entries, want %d", l.list.field, len(l.list.Options()), l.size)
		}
		keys := map[string]string{}
		for i, o := range l.list.Options() {
			if o.Code != strconv.Itoa(l.first+i) {
				t.Errorf("%s: %q has code %s, want %d", l.list.field, o.Value, o.Code, l.first+i)
			}
			k := optionKey(o.Value)
			if prev, dup := keys[k]; dup {
				t.Errorf("%s: %q and %q fold to the same key %q", l.list.field, prev, o.Value, k)
			}
			keys[k] = o.Value
		}
	}
	// The readable values are the frontend's (hpsOptions.js).
	if o := Nationalities.Options(); o[0].Value != "ESPAÑA" || o[1].Value != "DESCONOCIDO" || o[150].Value != "REINO UNIDO DE GRAN BRETAÑA E IRLANDA DEL NORTE" {
		t.Errorf("nationalities out of order: %v %v %v", o[0], o[1], o[150])
	}
}

// TestValidateStoresReadableValues: Validate replaces a code or an old
// spelling with the readable value, and an unknown value is a 400 on its
// field that lists the accepted values.
func TestValidateStoresReadableValues(t *testing.T) {
	today := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	valid := func(docType, nationality string) *RequestInput {
		return &RequestInput{RequestType: New, DocumentType: docType, DocumentNumber: "12345678z", BirthDate: "1985-06-15",
			FirstName: "Ana", FirstLastName: "García", Nationality: nationality, BirthPlace: "Madrid", Email: "ana@example.org", Phone: "600123456"}
	}
	in := valid("206", "1")
	if err := in.Validate(today); err != nil {
		t.Fatal(err)
	}
	if in.DocumentType != "DNI / NIF" || in.Nationality != "ESPAÑA" {
		t.Fatalf("codes stored as %q / %q", in.DocumentType, in.Nationality)
	}
	in = valid("PASSPORT", "Española")
	if err := in.Validate(today); err != nil || in.DocumentType != "Pasaporte" || in.Nationality != "ESPAÑA" {
		t.Fatalf("legacy spellings: %q / %q %v", in.DocumentType, in.Nationality, err)
	}
	err := valid("Carnet", "Marciana").Validate(today)
	e, ok := errs.As(err)
	if !ok || e.Kind != errs.KindInvalid {
		t.Fatalf("unknown values: %v", err)
	}
	doc, _ := e.Fields["document_type"].([]string)
	nat, _ := e.Fields["nationality"].([]string)
	if len(doc) != 1 || !strings.Contains(doc[0], "«Carnet»") || !strings.Contains(doc[0], "DNI / NIF, NIE, Tarjeta Residente, Pasaporte, Otros") ||
		!strings.Contains(doc[0], "206–210") {
		t.Errorf("document_type message: %v", e.Fields["document_type"])
	}
	if len(nat) != 1 || !strings.Contains(nat[0], "«Marciana»") || !strings.Contains(nat[0], "ESPAÑA, DESCONOCIDO, AFGANISTAN") ||
		!strings.Contains(nat[0], "ZIMBABWE (ZIMBABUE)") || !strings.Contains(nat[0], "1–189") {
		t.Errorf("nationality message: %v", e.Fields["nationality"])
	}
}

// FuzzOptionNormalize: Normalize never panics, and whatever it accepts
// is an entry of the list that normalises to itself by value and by code.
func FuzzOptionNormalize(f *testing.F) {
	for _, s := range []string{"DNI / NIF", "206", "DNI", "PASSPORT", "ESPAÑA", "España", "Española ", "1", "072", "189", "190",
		"0", "-1", "9999999999999999999999", "", " ", "ñ", "e\u0301", "CONGO (REPUBLICA DEMOCRATICA DEL)", "\xff\xfe"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		for _, l := range []*OptionList{DocumentTypes, Nationalities} {
			o, ok := l.Normalize(s)
			if !ok {
				if o != (Option{}) {
					t.Fatalf("%s: refused %q but returned %+v", l.field, s, o)
				}
				continue
			}
			byValue, ok1 := l.Normalize(o.Value)
			byCode, ok2 := l.Normalize(o.Code)
			if !ok1 || !ok2 || byValue != o || byCode != o {
				t.Fatalf("%s: %q → %+v, not stable (%+v %v, %+v %v)", l.field, s, o, byValue, ok1, byCode, ok2)
			}
		}
	})
}
