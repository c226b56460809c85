package sqlstore

import (
	"context"
	"strings"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/database"
)

// Companies and their crypto custodians (custody.EmpresaStore). A list is
// two queries: the companies (with the total count) and the custodians of
// those companies.

type empresaRow struct {
	ID           int64  `bun:"id"`
	Nombre       string `bun:"nombre"`
	Direccion    string `bun:"direccion"`
	Ciudad       string `bun:"ciudad"`
	CodigoPostal string `bun:"codigo_postal"`
	Provincia    string `bun:"provincia"`
	NumeroODMC   string `bun:"numero_odmc"`
	Activa       bool   `bun:"activa"`
	Total        int    `bun:"total_count"`
}

func (r *empresaRow) empresa() custody.Empresa {
	return custody.Empresa{ID: r.ID, Nombre: r.Nombre, Direccion: r.Direccion, Ciudad: r.Ciudad, CodigoPostal: r.CodigoPostal,
		Provincia: r.Provincia, NumeroODMC: r.NumeroODMC, Activa: r.Activa, Custodios: []custody.Cryptocustodio{}}
}

const empresaCols = "e.id, e.nombre, e.direccion, e.ciudad, e.codigo_postal, e.provincia, e.numero_odmc, e.activa"

var empresaOrderCols = map[string]string{"nombre": "e.nombre", "ciudad": "e.ciudad", "provincia": "e.provincia", "id": "e.id"}

func empresaWhere(q custody.EmpresaQuery, a string) (string, []any) {
	conds := []string{"1 = 1"}
	var args []any
	if !q.IncluirInactivas {
		conds = append(conds, a+".activa = ?")
		args = append(args, true)
	}
	if q.Search != "" {
		// Names are free text with accents; lower() folds ASCII on both
		// engines, so the folded pattern matches unaccented spellings.
		pat := custodyLike(custody.Fold(q.Search))
		conds = append(conds, "(lower("+a+".nombre) LIKE ? ESCAPE '!' OR lower("+a+".ciudad) LIKE ? ESCAPE '!' OR lower("+a+".numero_odmc) LIKE ? ESCAPE '!')")
		args = append(args, pat, pat, pat)
	}
	return strings.Join(conds, " AND "), args
}

type custodioRow struct {
	ID              int64  `bun:"id"`
	EmpresaID       int64  `bun:"empresa_id"`
	EmpleoRango     string `bun:"empleo_rango"`
	NombreApellidos string `bun:"nombre_apellidos"`
	Cargo           string `bun:"cargo"`
}

// loadCustodios fills the custodians of es in one query, ordered by name.
func loadCustodios(ctx context.Context, db bun.IDB, es []custody.Empresa) error {
	if len(es) == 0 {
		return nil
	}
	ids := make([]int64, len(es))
	at := make(map[int64]int, len(es))
	for i := range es {
		ids[i] = es[i].ID
		at[es[i].ID] = i
	}
	var rows []custodioRow
	if err := db.NewRaw("SELECT id, empresa_id, empleo_rango, nombre_apellidos, cargo FROM cryptocustodios WHERE empresa_id IN (?) ORDER BY empresa_id, nombre_apellidos, id",
		bun.In(ids)).Scan(ctx, &rows); err != nil && !isNoRows(err) {
		return err
	}
	for _, r := range rows {
		e := &es[at[r.EmpresaID]]
		e.Custodios = append(e.Custodios, custody.Cryptocustodio{ID: r.ID, EmpresaID: r.EmpresaID, EmpleoRango: r.EmpleoRango,
			NombreApellidos: r.NombreApellidos, Cargo: r.Cargo})
	}
	return nil
}

// ListEmpresas lists companies with their custodians.
func (s *Store) ListEmpresas(ctx context.Context, q custody.EmpresaQuery) ([]custody.Empresa, int, error) {
	where, args := empresaWhere(q, "e")
	cwhere, cargs := empresaWhere(q, "c")
	order := q.Order
	if len(order) == 0 {
		order = []custody.SortKey{{Field: "nombre"}}
	}
	sql := "SELECT " + empresaCols + ", (SELECT count(*) FROM empresas AS c WHERE " + cwhere + ") AS total_count FROM empresas AS e WHERE " + where +
		" ORDER BY " + orderSQL(order, empresaOrderCols, "e.id") + limitSQL(q.Limit, q.Offset)
	var rows []empresaRow
	if err := s.db.NewRaw(sql, append(cargs, args...)...).Scan(ctx, &rows); err != nil && !isNoRows(err) {
		return nil, 0, database.Translate(err)
	}
	out := make([]custody.Empresa, len(rows))
	total := 0
	for i := range rows {
		out[i] = rows[i].empresa()
		total = rows[i].Total
	}
	if err := loadCustodios(ctx, s.db, out); err != nil {
		return nil, 0, database.Translate(err)
	}
	return out, total, nil
}

func empresaByID(ctx context.Context, db bun.IDB, id int64, lock string) (*custody.Empresa, error) {
	var r empresaRow
	if err := db.NewRaw("SELECT "+empresaCols+", 0 AS total_count FROM empresas AS e WHERE e.id = ?"+lock, id).Scan(ctx, &r); err != nil {
		if isNoRows(err) {
			return nil, errNotFound("Empresa")
		}
		return nil, err
	}
	es := []custody.Empresa{r.empresa()}
	if err := loadCustodios(ctx, db, es); err != nil {
		return nil, err
	}
	return &es[0], nil
}

// Empresa returns one company, active or not.
func (s *Store) Empresa(ctx context.Context, id int64) (*custody.Empresa, error) {
	e, err := empresaByID(ctx, s.db, id, "")
	return e, database.Translate(err)
}

func empresaAudit(e *custody.Empresa) map[string]any {
	cs := make([]map[string]any, len(e.Custodios))
	for i, c := range e.Custodios {
		cs[i] = map[string]any{"empleo_rango": c.EmpleoRango, "nombre_apellidos": c.NombreApellidos, "cargo": c.Cargo}
	}
	return map[string]any{"nombre": e.Nombre, "direccion": e.Direccion, "ciudad": e.Ciudad, "codigo_postal": e.CodigoPostal,
		"provincia": e.Provincia, "numero_odmc": e.NumeroODMC, "activa": e.Activa, "cryptocustodios": cs}
}

// insertCustodios stores e's custodians and sets their IDs.
func insertCustodios(ctx context.Context, tx bun.Tx, e *custody.Empresa) error {
	for i := range e.Custodios {
		c := &e.Custodios[i]
		c.EmpresaID = e.ID
		if err := tx.NewRaw("INSERT INTO cryptocustodios (empresa_id, empleo_rango, nombre_apellidos, cargo) VALUES (?, ?, ?, ?) RETURNING id",
			e.ID, c.EmpleoRango, c.NombreApellidos, c.Cargo).Scan(ctx, &c.ID); err != nil {
			return err
		}
	}
	return nil
}

// CreateEmpresa inserts a company and its custodians.
func (s *Store) CreateEmpresa(ctx context.Context, e *custody.Empresa) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		if err := tx.NewRaw(`INSERT INTO empresas (nombre, direccion, ciudad, codigo_postal, provincia, numero_odmc, activa)
			VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`, e.Nombre, e.Direccion, e.Ciudad, e.CodigoPostal, e.Provincia, e.NumeroODMC, e.Activa).Scan(ctx, &e.ID); err != nil {
			return err
		}
		if err := insertCustodios(ctx, tx, e); err != nil {
			return err
		}
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionCreate, TableName: "empresas", RecordID: itoa(e.ID), NewValues: empresaAudit(e)})
	})
}

// UpdateEmpresa changes a company; custodians are replaced when asked.
func (s *Store) UpdateEmpresa(ctx context.Context, id int64, apply func(e *custody.Empresa) (bool, error)) (*custody.Empresa, error) {
	var out *custody.Empresa
	err := s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		cur, err := empresaByID(ctx, tx, id, s.custodyForUpdate())
		if err != nil {
			return err
		}
		old := empresaAudit(cur)
		e := *cur
		e.Custodios = append([]custody.Cryptocustodio{}, cur.Custodios...)
		replace, err := apply(&e)
		if err != nil {
			return err
		}
		if _, err := tx.NewRaw(`UPDATE empresas SET nombre = ?, direccion = ?, ciudad = ?, codigo_postal = ?, provincia = ?, numero_odmc = ?, activa = ?
			WHERE id = ?`, e.Nombre, e.Direccion, e.Ciudad, e.CodigoPostal, e.Provincia, e.NumeroODMC, e.Activa, id).Exec(ctx); err != nil {
			return err
		}
		if replace {
			if _, err := tx.NewRaw("DELETE FROM cryptocustodios WHERE empresa_id = ?", id).Exec(ctx); err != nil {
				return err
			}
			if err := insertCustodios(ctx, tx, &e); err != nil {
				return err
			}
		}
		out = &e
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionUpdate, TableName: "empresas", RecordID: itoa(id), OldValues: old, NewValues: empresaAudit(&e)})
	})
	if err != nil {
		return nil, err
	}
	if out.Custodios == nil {
		out.Custodios = []custody.Cryptocustodio{}
	}
	return out, nil
}

// DeactivateEmpresa soft-deletes a company (audited as deactivate).
func (s *Store) DeactivateEmpresa(ctx context.Context, id int64) error {
	return s.db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var activa bool
		if err := tx.NewRaw("SELECT activa FROM empresas WHERE id = ?"+s.custodyForUpdate(), id).Scan(ctx, &activa); err != nil {
			if isNoRows(err) {
				return errNotFound("Empresa")
			}
			return err
		}
		if !activa {
			return nil
		}
		if _, err := tx.NewRaw("UPDATE empresas SET activa = ? WHERE id = ?", false, id).Exec(ctx); err != nil {
			return err
		}
		return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionDeactivate, TableName: "empresas", RecordID: itoa(id),
			OldValues: map[string]any{"activa": true}, NewValues: map[string]any{"activa": false}})
	})
}
