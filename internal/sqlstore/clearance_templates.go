package sqlstore

import (
	"context"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/database"
	"github.com/thot-security/thot/internal/errs"
)

// Transfer-form templates and requests' PDF files (clearance.TemplateStore).

// templateRow maps hps_templates.
type templateRow struct {
	bun.BaseModel `bun:"table:hps_templates,alias:t"`
	ID            int64     `bun:"id,pk,autoincrement"`
	Name          string    `bun:"name,notnull"`
	Description   string    `bun:"description,notnull"`
	TemplateType  string    `bun:"template_type,notnull"`
	Version       string    `bun:"version,notnull"`
	Active        bool      `bun:"active,notnull"`
	PDFFile       string    `bun:"pdf_file,notnull"`
	CreatedAt     time.Time `bun:"created_at,notnull"`
	UpdatedAt     time.Time `bun:"updated_at,notnull"`
	FullCount     int       `bun:"full_count,scanonly"`
}

func (r *templateRow) template() clearance.Template {
	return clearance.Template{ID: r.ID, Name: r.Name, Description: r.Description, TemplateType: r.TemplateType, Version: r.Version,
		Active: r.Active, PDFFile: r.PDFFile, CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC()}
}

func newTemplateRow(t *clearance.Template) *templateRow {
	return &templateRow{ID: t.ID, Name: t.Name, Description: t.Description, TemplateType: t.TemplateType, Version: t.Version,
		Active: t.Active, PDFFile: t.PDFFile, CreatedAt: t.CreatedAt.UTC(), UpdatedAt: t.UpdatedAt.UTC()}
}

// templateAudit is what an audit entry records of a template.
func templateAudit(t *clearance.Template) map[string]any {
	return map[string]any{"name": t.Name, "description": t.Description, "template_type": t.TemplateType,
		"version": t.Version, "active": t.Active, "pdf_file": t.PDFFile}
}

// errActiveTemplateRace is a concurrent activation of another template of
// the same type winning the partial unique index.
var errActiveTemplateRace = errs.Conflict("Otra plantilla de este tipo se activó a la vez; vuelva a intentarlo.")

// ListTemplates implements clearance.TemplateStore.
func (s *Store) ListTemplates(ctx context.Context, f clearance.TemplateFilter) ([]clearance.Template, int, error) {
	var rows []templateRow
	q := s.db.NewSelect().Model(&rows).ColumnExpr("t.*").ColumnExpr("COUNT(*) OVER () AS full_count").
		OrderExpr("t.created_at DESC, t.id DESC")
	if f.Active != nil {
		q = q.Where("t.active = ?", *f.Active)
	}
	if f.Type != "" {
		q = q.Where("t.template_type = ?", f.Type)
	}
	if f.Limit > 0 {
		q = q.Limit(int64(f.Limit))
	}
	if f.Offset > 0 {
		q = q.Offset(int64(f.Offset))
	}
	if err := q.Scan(ctx); err != nil && !isNoRows(err) {
		return nil, 0, database.Translate(err)
	}
	out := make([]clearance.Template, len(rows))
	total := 0
	for i := range rows {
		out[i] = rows[i].template()
		total = rows[i].FullCount
	}
	if len(rows) == 0 && f.Offset > 0 {
		n, err := s.countTemplates(ctx, f)
		return out, n, err
	}
	return out, total, nil
}

func (s *Store) countTemplates(ctx context.Context, f clearance.TemplateFilter) (int, error) {
	q := s.db.NewSelect().Model((*templateRow)(nil))
	if f.Active != nil {
		q = q.Where("t.active = ?", *f.Active)
	}
	if f.Type != "" {
		q = q.Where("t.template_type = ?", f.Type)
	}
	n, err := q.Count(ctx)
	return int(n), database.Translate(err)
}

// TemplateByID implements clearance.TemplateStore.
func (s *Store) TemplateByID(ctx context.Context, id int64) (*clearance.Template, error) {
	var row templateRow
	if err := s.db.NewSelect().Model(&row).Where("t.id = ?", id).Scan(ctx); err != nil {
		if isNoRows(err) {
			return nil, errs.NotFound("HPS template")
		}
		return nil, database.Translate(err)
	}
	t := row.template()
	return &t, nil
}

// ActiveTemplate implements clearance.TemplateStore.
func (s *Store) ActiveTemplate(ctx context.Context, templateType string) (*clearance.Template, error) {
	var row templateRow
	q := s.db.NewSelect().Model(&row).Where("t.active").OrderExpr("t.created_at DESC, t.id DESC").Limit(1)
	if templateType != "" {
		q = q.Where("t.template_type = ?", templateType)
	}
	if err := q.Scan(ctx); err != nil {
		if isNoRows(err) {
			return nil, errs.NotFound("active HPS template")
		}
		return nil, database.Translate(err)
	}
	t := row.template()
	return &t, nil
}

// deactivatePeers deactivates the active templates of typ other than
// keep, auditing each: they stay, with their files, for history.
func deactivatePeers(ctx context.Context, tx bun.Tx, typ string, keep int64, now time.Time) error {
	var ids []int64
	if err := tx.NewSelect().Model((*templateRow)(nil)).Column("t.id").
		Where("t.template_type = ? AND t.active AND t.id <> ?", typ, keep).Scan(ctx, &ids); err != nil && !isNoRows(err) {
		return err
	}
	for _, id := range ids {
		if _, err := tx.NewUpdate().Model((*templateRow)(nil)).Set("active = ?", false).Set("updated_at = ?", now).
			Where("id = ?", id).Exec(ctx); err != nil {
			return err
		}
		if err := writeAudit(ctx, tx, audit.Entry{Action: audit.ActionDeactivate, TableName: "hps_templates", RecordID: itoa(id),
			OldValues: map[string]any{"active": true}, NewValues: map[string]any{"active": false, "replaced_by": keep}}); err != nil {
			return err
		}
	}
	return nil
}

// CreateTemplate implements clearance.TemplateStore.
func (s *Store) CreateTemplate(ctx context.Context, t *clearance.Template) error {
	now := time.Now().UTC().Truncate(time.Microsecond)
	t.CreatedAt, t.UpdatedAt = now, now
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		row := newTemplateRow(t)
		row.ID = 0
		if t.Active {
			if err := deactivatePeers(ctx, tx, t.TemplateType, 0, now); err != nil {
				return err
			}
		}
		if _, err := tx.NewInsert().Model(row).Returning("id").Exec(ctx); err != nil {
			if database.IsUnique(err, "hps_templates_one_active") || database.IsUnique(err, "") {
				return errActiveTemplateRace
			}
			return err
		}
		t.ID = row.ID
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionCreate, TableName: "hps_templates", RecordID: itoa(t.ID),
			NewValues: templateAudit(t)})
	})
	return database.Translate(err)
}

// templateForUpdate reads a template inside tx, locking it on PostgreSQL.
func (s *Store) templateForUpdate(ctx context.Context, tx bun.Tx, id int64) (*templateRow, error) {
	row := new(templateRow)
	q := tx.NewSelect().Model(row).Where("t.id = ?", id)
	if s.db.Engine == database.Postgres {
		q = q.For("UPDATE")
	}
	if err := q.Scan(ctx); err != nil {
		if isNoRows(err) {
			return nil, errs.NotFound("HPS template")
		}
		return nil, err
	}
	return row, nil
}

// UpdateTemplate implements clearance.TemplateStore.
func (s *Store) UpdateTemplate(ctx context.Context, id int64, action string, change func(t *clearance.Template) error) (old, cur *clearance.Template, err error) {
	err = s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		row, err := s.templateForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		before := row.template()
		after := before
		if err := change(&after); err != nil {
			return err
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		after.UpdatedAt = now
		if after.Active && (!before.Active || before.TemplateType != after.TemplateType) {
			if err := deactivatePeers(ctx, tx, after.TemplateType, id, now); err != nil {
				return err
			}
		}
		if _, err := tx.NewUpdate().Model(newTemplateRow(&after)).ExcludeColumn("id", "created_at").WherePK().Exec(ctx); err != nil {
			if database.IsUnique(err, "hps_templates_one_active") || database.IsUnique(err, "") {
				return errActiveTemplateRace
			}
			return err
		}
		if err := writeAudit(ctx, tx, audit.Entry{Action: action, TableName: "hps_templates", RecordID: itoa(id),
			OldValues: templateAudit(&before), NewValues: templateAudit(&after)}); err != nil {
			return err
		}
		old, cur = &before, &after
		return nil
	})
	if err != nil {
		return nil, nil, database.Translate(err)
	}
	return old, cur, nil
}

// DeleteTemplate implements clearance.TemplateStore.
func (s *Store) DeleteTemplate(ctx context.Context, id int64) (*clearance.Template, error) {
	var out *clearance.Template
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		row, err := s.templateForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		n, err := tx.NewSelect().Table("hps_requests").Where("template_id = ?", id).Count(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			return &errs.Error{Kind: errs.KindConflict, Code: "template_in_use",
				Message: "La plantilla está asociada a solicitudes HPS y no se puede eliminar; desactívela."}
		}
		if _, err := tx.NewDelete().Model((*templateRow)(nil)).Where("id = ?", id).Exec(ctx); err != nil {
			return err
		}
		t := row.template()
		out = &t
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionDelete, TableName: "hps_templates", RecordID: itoa(id),
			OldValues: templateAudit(&t)})
	})
	if err != nil {
		return nil, database.Translate(err)
	}
	return out, nil
}

// ReplaceRequestPDF implements clearance.TemplateStore.
func (s *Store) ReplaceRequestPDF(ctx context.Context, id string, check func(cur *clearance.Request) error, ch clearance.PDFChange) (old string, err error) {
	err = s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		r, err := s.requestForUpdate(ctx, tx, id)
		if err != nil {
			return err
		}
		if check != nil {
			if err := check(r); err != nil {
				return err
			}
		}
		col := "filled_pdf"
		old = r.FilledPDF
		if ch.Response {
			col, old = "response_pdf", r.ResponsePDF
		}
		now := time.Now().UTC().Truncate(time.Microsecond)
		if _, err := tx.NewUpdate().Table("hps_requests").Set("? = ?", bun.Ident(col), ch.Key).Set("updated_at = ?", now).
			Where("id = ?", id).Exec(ctx); err != nil {
			return err
		}
		nv := map[string]any{col: ch.Key}
		if len(ch.Fields) > 0 {
			nv["fields"] = ch.Fields
		}
		var ov map[string]any
		if old != "" {
			ov = map[string]any{col: old}
		}
		return writeAudit(ctx, tx, audit.Entry{Action: ch.Action, TableName: "hps_requests", RecordID: id, OldValues: ov, NewValues: nv})
	})
	if err != nil {
		return "", database.Translate(err)
	}
	return old, nil
}
