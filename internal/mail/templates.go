package mail

import (
	"bytes"
	"embed"
	"fmt"
	htmltemplate "html/template"
	"io/fs"
	"path"
	"slices"
	"strconv"
	"strings"
	texttemplate "text/template"
	"time"
)

// templateFS holds every message template. A template <name> is three
// files: <name>.subject.txt and <name>.txt (text/template) and <name>.html
// (html/template, defining "content" for the layout in base.html).
//
//go:embed templates/*
var templateFS embed.FS

// Template names shipped with thot. Callers use these constants so that a
// typo is a compile error rather than a failed job.
const (
	TemplateTest              = "test"
	TemplateCredentials       = "credentials"
	TemplateHPSFormLink       = "hps_form_link"
	TemplateHPSStatus         = "hps_status"
	TemplateHPSApproved       = "hps_approved"
	TemplateHPSRejected       = "hps_rejected"
	TemplateHPSExpiryReminder = "hps_expiry_reminder"
)

// Data for the shipped templates. Any value with the same field names works
// (including a map[string]any); these types document what each template
// reads. A field a template reads but the data lacks is a render error.
// Times are formatted in their own Location: pass them already converted
// to the office time zone.
type (
	// TestData is for TemplateTest. RequestedBy may be empty.
	TestData struct {
		RequestedBy string
	}
	// CredentialsData is for TemplateCredentials (new account).
	CredentialsData struct {
		Name              string
		LoginURL          string
		Username          string
		Email             string
		TemporaryPassword string
	}
	// HPSFormLinkData is for TemplateHPSFormLink. Purpose and RequestedBy
	// may be empty.
	HPSFormLinkData struct {
		Name        string
		FormURL     string
		ExpiresAt   time.Time
		Purpose     string
		RequestedBy string
	}
	// HPSStatusData is for TemplateHPSStatus. Statuses are the stored codes
	// (pending, submitted, …), shown with their Spanish labels. RequestType
	// ("Renovación HPS", …) and Comments may be empty.
	HPSStatusData struct {
		Name           string
		DocumentNumber string
		RequestType    string
		OldStatus      string
		NewStatus      string
		Comments       string
	}
	// HPSApprovedData is for TemplateHPSApproved. Notes may be empty.
	HPSApprovedData struct {
		Name           string
		DocumentNumber string
		RequestType    string
		ExpiresAt      time.Time
		Notes          string
	}
	// HPSRejectedData is for TemplateHPSRejected.
	HPSRejectedData struct {
		Name           string
		DocumentNumber string
		RequestType    string
		Reason         string
	}
	// HPSExpiryReminderData is for TemplateHPSExpiryReminder. The urgency
	// label follows from DaysLeft (see UrgencyLabel); a negative DaysLeft
	// reads as "hoy".
	HPSExpiryReminderData struct {
		Name           string
		DocumentNumber string
		ExpiresAt      time.Time
		DaysLeft       int
		RenewalURL     string
	}
)

// Sensitive reports whether a template's messages carry a secret — a
// temporary password or a single-use form link — so that their body is
// dropped from mail_messages once delivered (the subject, recipient and
// template stay, for the record).
func Sensitive(template string) bool {
	switch template {
	case TemplateCredentials, TemplateHPSFormLink, TemplateHPSExpiryReminder:
		return true
	}
	return false
}

// UrgencyLabel is the label an expiry reminder carries for daysLeft: the
// legacy tiers (≤ 30 days URGENTE, ≤ 90 IMPORTANTE, else INFORMATIVO),
// which line up with the default reminder distances 30, 90 and 270.
func UrgencyLabel(daysLeft int) string {
	switch {
	case daysLeft <= 30:
		return "URGENTE"
	case daysLeft <= 90:
		return "IMPORTANTE"
	default:
		return "INFORMATIVO"
	}
}

// statusLabels are the Spanish names of the HPS request statuses.
var statusLabels = map[string]string{
	"pending":     "Pendiente",
	"waiting_dps": "Pendiente de DPS",
	"submitted":   "Enviada",
	"approved":    "Aprobada",
	"rejected":    "Rechazada",
	"expired":     "Caducada",
}

// funcs shared by text and HTML templates. "subject" is a placeholder
// replaced per render so the HTML <title> shows the rendered subject.
func templateFuncs(subject string) map[string]any {
	return map[string]any{
		"subject":   func() string { return subject },
		"fecha":     func(t time.Time) string { return t.Format("02/01/2006") },
		"fechaHora": func(t time.Time) string { return t.Format("02/01/2006 15:04") },
		"estado": func(code string) string {
			if l, ok := statusLabels[code]; ok {
				return l
			}
			return code
		},
		"urgencia": UrgencyLabel,
		"plazo": func(days int) string {
			switch {
			case days <= 0:
				return "hoy"
			case days == 1:
				return "mañana"
			default:
				return "en " + strconv.Itoa(days) + " días"
			}
		},
	}
}

type parsedTemplate struct {
	subject *texttemplate.Template
	text    *texttemplate.Template
	html    *htmltemplate.Template
}

// registry is parsed once at start-up; a broken embedded template is a
// programming error and fails every test, so Must is fine here.
var registry = mustParseTemplates(templateFS)

func mustParseTemplates(fsys fs.FS) map[string]*parsedTemplate {
	r, err := parseTemplates(fsys)
	if err != nil {
		panic(err)
	}
	return r
}

func parseTemplates(fsys fs.FS) (map[string]*parsedTemplate, error) {
	read := func(name string) (string, error) {
		b, err := fs.ReadFile(fsys, path.Join("templates", name))
		if err != nil {
			return "", fmt.Errorf("mail: template file %s: %w", name, err)
		}
		return string(b), nil
	}
	baseSrc, err := read("base.html")
	if err != nil {
		return nil, err
	}
	base, err := htmltemplate.New("base.html").Option("missingkey=error").Funcs(templateFuncs("")).Parse(baseSrc)
	if err != nil {
		return nil, fmt.Errorf("mail: base.html: %w", err)
	}
	subjects, err := fs.Glob(fsys, "templates/*.subject.txt")
	if err != nil {
		return nil, err
	}
	out := map[string]*parsedTemplate{}
	for _, s := range subjects {
		name := strings.TrimSuffix(path.Base(s), ".subject.txt")
		p := &parsedTemplate{}
		for _, part := range []struct {
			file string
			dst  **texttemplate.Template
		}{{name + ".subject.txt", &p.subject}, {name + ".txt", &p.text}} {
			src, err := read(part.file)
			if err != nil {
				return nil, err
			}
			t, err := texttemplate.New(part.file).Option("missingkey=error").Funcs(templateFuncs("")).Parse(src)
			if err != nil {
				return nil, fmt.Errorf("mail: %s: %w", part.file, err)
			}
			*part.dst = t
		}
		src, err := read(name + ".html")
		if err != nil {
			return nil, err
		}
		h, err := base.Clone()
		if err != nil {
			return nil, err
		}
		if _, err := h.New(name + ".html").Parse(src); err != nil {
			return nil, fmt.Errorf("mail: %s.html: %w", name, err)
		}
		if h.Lookup("content") == nil {
			return nil, fmt.Errorf("mail: %s.html does not define \"content\"", name)
		}
		p.html = h
		out[name] = p
	}
	return out, nil
}

// Templates lists the template names Render accepts, sorted.
func Templates() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Render fills template name with data. The subject is folded onto one
// line (a header cannot hold a newline). It fails on an unknown template
// and on any field or map key the template reads but data lacks, so a
// half-filled message is never queued.
func Render(name string, data any) (Message, error) {
	p, ok := registry[name]
	if !ok {
		return Message{}, fmt.Errorf("mail: unknown template %q", name)
	}
	var buf bytes.Buffer
	if err := p.subject.Execute(&buf, data); err != nil {
		return Message{}, fmt.Errorf("mail: render %s subject: %w", name, err)
	}
	subject := strings.Join(strings.Fields(buf.String()), " ")
	if subject == "" {
		return Message{}, fmt.Errorf("mail: render %s: empty subject", name)
	}
	buf.Reset()
	if err := p.text.Execute(&buf, data); err != nil {
		return Message{}, fmt.Errorf("mail: render %s text: %w", name, err)
	}
	text := strings.TrimSpace(buf.String()) + "\n"
	// Clone so that binding the subject function does not race with other
	// renders of the same template.
	h, err := p.html.Clone()
	if err != nil {
		return Message{}, fmt.Errorf("mail: render %s html: %w", name, err)
	}
	buf.Reset()
	if err := h.Funcs(templateFuncs(subject)).ExecuteTemplate(&buf, "base", data); err != nil {
		return Message{}, fmt.Errorf("mail: render %s html: %w", name, err)
	}
	return Message{Subject: subject, Text: text, HTML: buf.String(), Template: name}, nil
}
