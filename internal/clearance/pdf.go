package clearance

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	"github.com/google/uuid"
	"github.com/pdfcpu/pdfcpu/pkg/api"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/form"
	"github.com/pdfcpu/pdfcpu/pkg/pdfcpu/model"
	"golang.org/x/text/unicode/norm"

	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/filestore"
)

// AcroForm filling and reading (pdfcpu). The legacy systems filled the
// transfer form's widgets with PyMuPDF by a fixed name mapping; this file
// keeps that mapping (legacy-hps-system §4.7, legacy-cryptotrace §3.9) so
// the government's templates keep working unchanged.

func init() {
	// pdfcpu otherwise creates and reads a config.yml under the user's
	// config directory on first use; a server must not depend on (or write
	// to) $HOME, and the built-in defaults are what we want.
	model.ConfigPath = "disable"
}

// MaxPDFBytes is the size limit of uploaded PDFs (templates and
// government responses).
const MaxPDFBytes int64 = 10 << 20

// PDFPutOptions is how every clearance PDF is stored: sniffed as a PDF
// from its bytes, never trusted by name or header, and size-limited.
func PDFPutOptions() filestore.PutOptions {
	return filestore.PutOptions{MaxBytes: MaxPDFBytes, AllowedTypes: []string{"application/pdf"}}
}

// pdfConf is a fresh pdfcpu configuration (pdfcpu mutates it per call).
func pdfConf() *model.Configuration {
	c := model.NewDefaultConfiguration()
	c.ValidationMode = model.ValidationRelaxed
	return c
}

// errUnreadablePDF answers a stored or uploaded PDF pdfcpu cannot parse.
func errUnreadablePDF(field string, err error) error {
	e := errs.Field(field, "El PDF no se puede leer o no tiene un formulario (AcroForm).")
	e.Err = err
	return e
}

// guard runs a pdfcpu call, turning a panic on a malformed document (the
// bytes come from uploads) into an error instead of a crashed request.
func guard(fn func() error) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("pdfcpu: %v", r)
		}
	}()
	return fn()
}

// pdfFields lists the form fields of pdf.
func pdfFields(pdf []byte) (fs []form.Field, err error) {
	err = guard(func() error {
		fs, err = api.FormFields(bytes.NewReader(pdf), pdfConf())
		return err
	})
	return fs, err
}

// ExtractFields reads every AcroForm field of pdf: name → value ("" when
// empty). A PDF without a form yields an empty map.
func ExtractFields(pdf []byte) (map[string]string, error) {
	if !bytes.HasPrefix(bytes.TrimLeft(pdf, "\x00\t\n\f\r "), []byte("%PDF-")) {
		return nil, errUnreadablePDF("pdf", errors.New("not a PDF"))
	}
	fs, err := pdfFields(pdf)
	if err != nil {
		if noForm(err) {
			return map[string]string{}, nil
		}
		return nil, errUnreadablePDF("pdf", err)
	}
	out := make(map[string]string, len(fs))
	for _, f := range fs {
		if f.Name == "" {
			continue
		}
		out[f.Name] = f.V
	}
	return out, nil
}

// noForm reports whether err is pdfcpu saying the document has no form.
func noForm(err error) bool {
	m := strings.ToLower(err.Error())
	return strings.Contains(m, "no form") || strings.Contains(m, "acroform")
}

// fold is a field name for matching: lower case, accents removed, spaces
// collapsed ("Teléfono " and "telefono" are the same field).
func fold(s string) string {
	var b strings.Builder
	space := false
	for _, r := range norm.NFD.String(strings.TrimSpace(s)) {
		switch {
		case unicode.Is(unicode.Mn, r):
			continue
		case unicode.IsSpace(r):
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteRune(unicode.ToLower(r))
	}
	return b.String()
}

// fillRule is one value of the transfer form and the widget names it goes
// to. strict values (the e-mail) only go to a widget named exactly so.
type fillRule struct {
	names  []string
	value  string
	strict bool
}

// TransferValues is the legacy mapping of a request onto the transfer
// form: values upper-cased except the e-mail, the birth date dd/mm/yyyy,
// the nationality as its code.
func TransferValues(r *Request) []fillRule {
	up := strings.ToUpper
	apellidos := strings.TrimSpace(r.FirstLastName + " " + r.SecondLastName)
	motivo := fmt.Sprintf("%s %s va a participar en proyectos para los que necesita acceso a documentación clasificada.", r.FirstName, r.FirstLastName)
	return []fillRule{
		{names: []string{"Nombre"}, value: up(r.FirstName)},
		{names: []string{"Apellidos"}, value: up(apellidos)},
		{names: []string{"DNI", "NIE", "Documento"}, value: up(r.DocumentNumber)},
		{names: []string{"Fecha de nacimiento", "FechaNacimiento"}, value: r.BirthDate.Format("02/01/2006")},
		{names: []string{"Nacionalidad"}, value: up(r.Nationality)},
		{names: []string{"LugarNacimiento", "Lugar de nacimiento"}, value: up(r.BirthPlace)},
		{names: []string{"Teléfono"}, value: up(r.Phone)},
		{names: []string{"Email", "Correo"}, value: r.Email, strict: true},
		{names: []string{"Motivo de la solicitudRow1", "Motivo de la solicitud"}, value: up(motivo)},
	}
}

// matchRules assigns each text widget of fs the value of one rule: a
// widget whose folded name equals one of a rule's names takes it (exact
// first); otherwise, for non-strict rules, a widget whose name contains a
// rule's name (the longest such name wins, so "Lugar de nacimiento" does
// not lose to a shorter key). Returns widget name → value.
func matchRules(fs []form.Field, rules []fillRule) map[string]string {
	out := map[string]string{}
	for _, f := range fs {
		if !textual(f) || f.Name == "" || f.Locked {
			continue
		}
		fn := fold(leafName(f.Name))
		best, bestLen := -1, 0
		for i, rule := range rules {
			for _, n := range rule.names {
				if fold(n) == fn {
					best, bestLen = i, 1<<30
				}
			}
		}
		if best < 0 {
			for i, rule := range rules {
				if rule.strict {
					continue
				}
				for _, n := range rule.names {
					if k := fold(n); len(k) > bestLen && strings.Contains(fn, k) {
						best, bestLen = i, len(k)
					}
				}
			}
		}
		if best >= 0 {
			out[f.Name] = rules[best].value
		}
	}
	return out
}

// textual reports whether f holds free text: a text widget, or one pdfcpu
// reads as a date field (a text widget with a date format or value).
func textual(f form.Field) bool { return f.Typ == form.FTText || f.Typ == form.FTDate }

// leafName is the last part of a qualified field name ("form1[0].Nombre"
// → "Nombre"), which is what the legacy matched on.
func leafName(n string) string {
	if i := strings.LastIndexByte(n, '.'); i >= 0 && i < len(n)-1 {
		return n[i+1:]
	}
	return n
}

// setFields writes values (widget name → value) into pdf's text widgets.
func setFields(pdf []byte, fs []form.Field, values map[string]string) ([]byte, error) {
	var tfs []*form.TextField
	var dfs []*form.DateField
	for _, f := range fs {
		v, ok := values[f.Name]
		switch {
		case !ok:
		case f.Typ == form.FTText:
			tfs = append(tfs, &form.TextField{ID: f.ID, Name: f.Name, Value: v})
		case f.Typ == form.FTDate:
			dfs = append(dfs, &form.DateField{ID: f.ID, Name: f.Name, Value: v})
		}
	}
	if len(tfs)+len(dfs) == 0 {
		return pdf, nil
	}
	data, err := json.Marshal(form.FormGroup{Forms: []form.Form{{TextFields: tfs, DateFields: dfs}}})
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := guard(func() error { return api.FillForm(bytes.NewReader(pdf), bytes.NewReader(data), &out, pdfConf()) }); err != nil {
		return nil, err
	}
	return out.Bytes(), nil
}

// FillRequest fills template (a PDF with an AcroForm) with r's data by the
// legacy mapping. filled lists the widgets written.
func FillRequest(template []byte, r *Request) (pdf []byte, filled []string, err error) {
	fs, err := pdfFields(template)
	if err != nil {
		return nil, nil, errUnreadablePDF("template_pdf", err)
	}
	values := matchRules(fs, TransferValues(r))
	out, err := setFields(template, fs, values)
	if err != nil {
		return nil, nil, errUnreadablePDF("template_pdf", err)
	}
	return out, sortedKeys(values), nil
}

// EditFields sets the widgets named in values (the keys: exact name first,
// case- and accent-insensitive; then a widget whose name contains the key
// or is contained in it). A widget whose name contains "fecha" gets its
// value as dd/mm/yyyy when it is a date. Other values are written as
// given. updated lists the widgets written; keys that match no widget are
// ignored, and none matching at all is a 400.
func EditFields(pdf []byte, values map[string]string) ([]byte, []string, error) {
	if len(values) == 0 {
		return nil, nil, errs.Invalid("Envíe un objeto JSON {campo: valor} con al menos un campo.")
	}
	fs, err := pdfFields(pdf)
	if err != nil {
		return nil, nil, errUnreadablePDF("pdf", err)
	}
	set := map[string]string{}
	keys := sortedKeys(values)
	for _, k := range keys {
		if f := findField(fs, k); f != nil {
			v := values[k]
			if strings.Contains(fold(f.Name), "fecha") {
				v = FormatDate(v)
			}
			set[f.Name] = v
		}
	}
	if len(set) == 0 {
		return nil, nil, errs.Invalid("Ninguno de los campos enviados existe en el formulario del PDF.")
	}
	out, err := setFields(pdf, fs, set)
	if err != nil {
		return nil, nil, errUnreadablePDF("pdf", err)
	}
	return out, sortedKeys(set), nil
}

// findField is the text widget a client's key names: exact (folded) on the
// full or leaf name first, then partial; then the same for the key's
// legacy aliases ("Lugar de nacimiento" finds "LugarNacimiento").
func findField(fs []form.Field, key string) *form.Field {
	if f := findFieldName(fs, key); f != nil {
		return f
	}
	for _, rule := range TransferValues(&Request{}) {
		if !slices.ContainsFunc(rule.names, func(n string) bool { return fold(n) == fold(key) }) {
			continue
		}
		for _, n := range rule.names {
			if f := findFieldName(fs, n); f != nil {
				return f
			}
		}
	}
	return nil
}

func findFieldName(fs []form.Field, key string) *form.Field {
	k := fold(key)
	if k == "" {
		return nil
	}
	for i := range fs {
		if textual(fs[i]) && (fold(fs[i].Name) == k || fold(leafName(fs[i].Name)) == k) {
			return &fs[i]
		}
	}
	for i := range fs {
		n := fold(leafName(fs[i].Name))
		if textual(fs[i]) && n != "" && (strings.Contains(n, k) || strings.Contains(k, n)) {
			return &fs[i]
		}
	}
	return nil
}

// FormatDate rewrites a date given as YYYY-MM-DD, YYYY/MM/DD, DD-MM-YYYY or
// DD/MM/YYYY (an ISO timestamp too) as dd/mm/yyyy; anything else is kept.
func FormatDate(v string) string {
	s := strings.TrimSpace(v)
	if len(s) > 10 && s[4] == '-' {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			return t.Format("02/01/2006")
		}
		s = s[:10]
	}
	for _, layout := range []string{"2006-01-02", "2006/01/02", "02-01-2006", "02/01/2006", "2/1/2006"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t.Format("02/01/2006")
		}
	}
	return v
}

func sortedKeys(m map[string]string) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// TemplateTypeFor is the template a transfer gets by its creator's role:
// the substitute's template for jefe_seguridad_suplente, otherwise the
// security chief's.
func TemplateTypeFor(creatorRole string) string {
	if creatorRole == TemplateSuplente {
		return TemplateSuplente
	}
	return TemplateJefe
}

// FilledPDFName is the file-store key of a request's filled transfer form
// (requestID is a UUID: ValidID). nonce, when set, makes a new version's
// key differ from the current one.
func FilledPDFName(requestID, nonce string) string {
	if nonce != "" {
		return "hps/filled/hps_request_" + requestID + "_filled_" + nonce + ".pdf"
	}
	return "hps/filled/hps_request_" + requestID + "_filled.pdf"
}

// ResponsePDFName is the file-store key of a request's government response.
func ResponsePDFName(requestID, nonce string) string {
	if nonce != "" {
		return "hps/responses/hps_request_" + requestID + "_response_" + nonce + ".pdf"
	}
	return "hps/responses/hps_request_" + requestID + "_response.pdf"
}

// FillTransfer fills the transfer form for r from the active template of
// the creator's role (fallback: any active template), stores it and
// returns the template's id and the file key. With no active template it
// returns (nil, "", nil): the request is made without a PDF, as the
// legacy did. A template whose form cannot be filled (unreadable, or no
// widget matches the mapping) yields a simple summary PDF instead (the
// legacy fallback), still tied to the template.
func (s *Service) FillTransfer(ctx context.Context, r *Request, creatorRole string) (templateID *int64, pdfKey string, err error) {
	if s.files == nil {
		return nil, "", errs.New(errs.KindUnavailable, "File storage is not configured.")
	}
	t, err := s.store.ActiveTemplate(ctx, TemplateTypeFor(creatorRole))
	if errs.Is(err, errs.KindNotFound) {
		t, err = s.store.ActiveTemplate(ctx, "")
	}
	if errs.Is(err, errs.KindNotFound) {
		return nil, "", nil
	}
	if err != nil {
		return nil, "", err
	}
	tpl, err := s.readFile(ctx, t.PDFFile)
	if err != nil {
		return nil, "", err
	}
	out, filled, ferr := FillRequest(tpl, r)
	if ferr != nil || len(filled) == 0 {
		if out, err = SummaryPDF(r); err != nil {
			return nil, "", err
		}
	}
	id := r.ID
	if !ValidID(id) {
		id = uuid.NewString()
	}
	key := FilledPDFName(id, "")
	if _, err := s.files.Put(ctx, key, bytes.NewReader(out), PDFPutOptions()); err != nil {
		return nil, "", err
	}
	tid := t.ID
	return &tid, key, nil
}

// readFile reads a whole stored object.
func (s *Service) readFile(ctx context.Context, key string) ([]byte, error) {
	if s.files == nil {
		return nil, errs.New(errs.KindUnavailable, "File storage is not configured.")
	}
	if key == "" {
		return nil, errs.NotFound("PDF")
	}
	rc, _, err := s.files.Open(ctx, key)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return io.ReadAll(io.LimitReader(rc, MaxPDFBytes*2))
}

// SummaryPDF is a one-page PDF listing r's transfer data, used when the
// template's form cannot be filled.
func SummaryPDF(r *Request) ([]byte, error) {
	type text struct {
		Value string `json:"value"`
		Pos   [2]int `json:"pos"`
		Font  any    `json:"font"`
	}
	font := map[string]any{"name": "Helvetica", "size": 11}
	lines := []text{{Value: "Traslado HPS", Pos: [2]int{60, 780}, Font: map[string]any{"name": "Helvetica-Bold", "size": 16}}}
	y := 740
	for _, rule := range TransferValues(r) {
		lines = append(lines, text{Value: rule.names[0] + ": " + rule.value, Pos: [2]int{60, y}, Font: font})
		y -= 24
	}
	spec := map[string]any{"paper": "A4P", "origin": "LowerLeft",
		"pages": map[string]any{"1": map[string]any{"content": map[string]any{"text": lines}}}}
	data, err := json.Marshal(spec)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := api.Create(nil, bytes.NewReader(data), &out, pdfConf()); err != nil {
		return nil, fmt.Errorf("clearance: summary PDF: %w", err)
	}
	return out.Bytes(), nil
}
