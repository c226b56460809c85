package clearance

import (
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/filestore"
)

// Transfer-form templates. At most one template per type is active (the
// transfer form of a security chief, and the substitute's); activating one
// deactivates the others of its type in the same transaction — never
// deletes them or their files (the legacy hard-deleted both). A template
// that requests still point at cannot be deleted (409): deactivate it.

// TemplateFilter narrows a template list.
type TemplateFilter struct {
	Active *bool
	Type   string // "" = every type
	Limit  int
	Offset int
}

// PDFChange is a new file for one of a request's PDFs, stored by
// ReplaceRequestPDF.
type PDFChange struct {
	Response bool   // the government response; false = the filled form
	Key      string // the new file-store key
	Action   string // the audit action
	Fields   []string
}

// TemplateStore is the persistence of templates and of requests' PDFs.
type TemplateStore interface {
	// ListTemplates lists templates newest first, with the total.
	ListTemplates(ctx context.Context, f TemplateFilter) ([]Template, int, error)
	// TemplateByID reads one; KindNotFound when missing.
	TemplateByID(ctx context.Context, id int64) (*Template, error)
	// ActiveTemplate is the active template of a type ("" = any type,
	// newest first); KindNotFound when there is none.
	ActiveTemplate(ctx context.Context, templateType string) (*Template, error)
	// CreateTemplate inserts t (setting ID and times); if t is active it
	// first deactivates the active template of its type. Audited.
	CreateTemplate(ctx context.Context, t *Template) error
	// UpdateTemplate applies change to the locked template and writes it
	// back; becoming active deactivates the peers. Audited under action.
	UpdateTemplate(ctx context.Context, id int64, action string, change func(t *Template) error) (old, cur *Template, err error)
	// DeleteTemplate deletes an unreferenced template (409 while requests
	// reference it) and returns it. Audited.
	DeleteTemplate(ctx context.Context, id int64) (*Template, error)
	// ReplaceRequestPDF locks request id, calls check on it, points the
	// filled or response PDF at ch.Key and audits; returns the old key.
	ReplaceRequestPDF(ctx context.Context, id string, check func(cur *Request) error, ch PDFChange) (old string, err error)
}

// TemplateInput is a template as clients send it; nil fields are kept on
// update (and defaulted on create).
type TemplateInput struct {
	Name         *string
	Description  *string
	TemplateType *string
	Version      *string
	Active       *bool
}

// ValidTemplateType reports whether t is a template type.
func ValidTemplateType(t string) bool { return t == TemplateJefe || t == TemplateSuplente }

// apply validates in and copies it onto t.
func (in *TemplateInput) apply(t *Template, create bool) error {
	fe := errs.FieldErrors{}
	if in.Name != nil {
		t.Name = strings.TrimSpace(*in.Name)
	}
	if (create || in.Name != nil) && (t.Name == "" || len([]rune(t.Name)) > 255) {
		fe.Add("name", "Debe tener entre 1 y 255 caracteres.")
	}
	if in.Description != nil {
		t.Description = strings.TrimSpace(*in.Description)
	}
	if in.TemplateType != nil {
		t.TemplateType = strings.TrimSpace(*in.TemplateType)
	}
	if create && t.TemplateType == "" {
		t.TemplateType = TemplateJefe
	}
	if !ValidTemplateType(t.TemplateType) {
		fe.Add("template_type", "Debe ser jefe_seguridad o jefe_seguridad_suplente.")
	}
	if in.Version != nil {
		t.Version = strings.TrimSpace(*in.Version)
	}
	if t.Version == "" {
		t.Version = "1.0"
	}
	if len(t.Version) > 50 {
		fe.Add("version", "Debe tener como máximo 50 caracteres.")
	}
	if in.Active != nil {
		t.Active = *in.Active
	} else if create {
		t.Active = true
	}
	return fe.Err()
}

// Templates lists templates.
func (s *Service) Templates(ctx context.Context, f TemplateFilter) ([]Template, int, error) {
	if f.Type != "" && !ValidTemplateType(f.Type) {
		return nil, 0, errs.Field("template_type", "Debe ser jefe_seguridad o jefe_seguridad_suplente.")
	}
	return s.store.ListTemplates(ctx, f)
}

// Template reads one template.
func (s *Service) Template(ctx context.Context, id int64) (*Template, error) {
	return s.store.TemplateByID(ctx, id)
}

// ActiveTemplate is the active template of a type ("" = any).
func (s *Service) ActiveTemplate(ctx context.Context, templateType string) (*Template, error) {
	return s.store.ActiveTemplate(ctx, templateType)
}

// templateKey is a new file-store key for a template's PDF: every version
// gets its own, so replacing one never overwrites a file something else
// may still be reading.
func templateKey(now time.Time) string {
	return "hps/templates/template_" + now.UTC().Format("20060102T150405") + "_" + uuid.NewString()[:8] + ".pdf"
}

// putPDF stores a PDF sniffed from its bytes; a non-PDF or one over the
// limit is a 400 naming field.
func (s *Service) putPDF(ctx context.Context, key string, pdf []byte, field string) error {
	if s.files == nil {
		return errs.New(errs.KindUnavailable, "File storage is not configured.")
	}
	if len(pdf) == 0 {
		return errs.Field(field, "No se ha enviado ningún archivo.")
	}
	if _, err := s.files.Put(ctx, key, bytes.NewReader(pdf), PDFPutOptions()); err != nil {
		return renameField(err, "file", field)
	}
	return nil
}

// dropFile deletes a replaced file once the change that replaced it has
// committed; a failure only leaves an orphan.
func (s *Service) dropFile(ctx context.Context, key string) {
	if key != "" && s.files != nil {
		_ = s.files.Delete(context.WithoutCancel(ctx), key)
	}
}

// renameField moves a field error from one field name to another (the file
// store names its errors "file").
func renameField(err error, from, to string) error {
	e, ok := errs.As(err)
	if !ok || e.Fields == nil {
		return err
	}
	c := *e
	c.Fields = map[string]any{}
	for k, v := range e.Fields {
		if k == from {
			k = to
		}
		c.Fields[k] = v
	}
	return &c
}

// CreateTemplate validates in, stores pdf (required, a PDF) and inserts
// the template.
func (s *Service) CreateTemplate(ctx context.Context, in TemplateInput, pdf []byte) (*Template, error) {
	t := &Template{}
	fe := errs.FieldErrors{}
	if err := in.apply(t, true); err != nil {
		if e, ok := errs.As(err); ok {
			for k, v := range e.Fields {
				fe[k] = v
			}
		}
	}
	if len(pdf) == 0 {
		fe.Add("template_pdf", "Este campo es obligatorio.")
	}
	if err := fe.Err(); err != nil {
		return nil, err
	}
	key := templateKey(s.now())
	if err := s.putPDF(ctx, key, pdf, "template_pdf"); err != nil {
		return nil, err
	}
	t.PDFFile = key
	if err := s.store.CreateTemplate(ctx, t); err != nil {
		s.dropFile(ctx, key)
		return nil, err
	}
	return t, nil
}

// UpdateTemplate applies a partial update and, when pdf is given,
// replaces the template's PDF (the old file is deleted after the change
// commits).
func (s *Service) UpdateTemplate(ctx context.Context, id int64, in TemplateInput, pdf []byte) (*Template, error) {
	key := ""
	if pdf != nil {
		key = templateKey(s.now())
		if err := s.putPDF(ctx, key, pdf, "template_pdf"); err != nil {
			return nil, err
		}
	}
	old, cur, err := s.store.UpdateTemplate(ctx, id, "update", func(t *Template) error {
		if err := in.apply(t, false); err != nil {
			return err
		}
		if key != "" {
			t.PDFFile = key
		}
		return nil
	})
	if err != nil {
		s.dropFile(ctx, key)
		return nil, err
	}
	if key != "" && old.PDFFile != key {
		s.dropFile(ctx, old.PDFFile)
	}
	return cur, nil
}

// ActivateTemplate makes id the active template of its type.
func (s *Service) ActivateTemplate(ctx context.Context, id int64) (*Template, error) {
	on := true
	_, cur, err := s.store.UpdateTemplate(ctx, id, "activate", func(t *Template) error {
		return (&TemplateInput{Active: &on}).apply(t, false)
	})
	return cur, err
}

// DeleteTemplate deletes a template no request references, and its file.
func (s *Service) DeleteTemplate(ctx context.Context, id int64) error {
	t, err := s.store.DeleteTemplate(ctx, id)
	if err != nil {
		return err
	}
	s.dropFile(ctx, t.PDFFile)
	return nil
}

// OpenPDF opens a stored PDF for serving.
func (s *Service) OpenPDF(ctx context.Context, key string) (io.ReadCloser, filestore.Object, error) {
	if s.files == nil {
		return nil, filestore.Object{}, errs.New(errs.KindUnavailable, "File storage is not configured.")
	}
	if key == "" {
		return nil, filestore.Object{}, errs.NotFound("PDF")
	}
	return s.files.Open(ctx, key)
}

// TemplateFields reads the form fields of a template's PDF.
func (s *Service) TemplateFields(ctx context.Context, id int64) (map[string]string, error) {
	t, err := s.store.TemplateByID(ctx, id)
	if err != nil {
		return nil, err
	}
	pdf, err := s.readFile(ctx, t.PDFFile)
	if err != nil {
		return nil, err
	}
	return ExtractFields(pdf)
}

// EditTemplatePDF writes values into the template's form fields; the new
// PDF gets a new key and the template points at it (audited with the
// field names), the old file is deleted after that commits.
func (s *Service) EditTemplatePDF(ctx context.Context, id int64, values map[string]string) ([]string, error) {
	t, err := s.store.TemplateByID(ctx, id)
	if err != nil {
		return nil, err
	}
	pdf, err := s.readFile(ctx, t.PDFFile)
	if err != nil {
		return nil, err
	}
	out, updated, err := EditFields(pdf, values)
	if err != nil {
		return nil, err
	}
	key := templateKey(s.now())
	if err := s.putPDF(ctx, key, out, "pdf"); err != nil {
		return nil, err
	}
	old, _, err := s.store.UpdateTemplate(ctx, id, "edit_pdf", func(cur *Template) error {
		cur.PDFFile = key
		return nil
	})
	if err != nil {
		s.dropFile(ctx, key)
		return nil, err
	}
	s.dropFile(ctx, old.PDFFile)
	return updated, nil
}

// TemplateID parses a template id from a path.
func TemplateID(v string) (int64, error) {
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id <= 0 {
		return 0, errs.NotFound("HPS template")
	}
	return id, nil
}
