package custody

import (
	"context"
	"strconv"
	"strings"

	"github.com/thot-security/thot/internal/errs"
)

// EmpresaStore persists companies and their crypto custodians. Mutations
// write their audit entries in the same transaction.
type EmpresaStore interface {
	// ListEmpresas returns companies (active ones unless q.IncluirInactivas)
	// with their custodians, and the total matching count.
	ListEmpresas(ctx context.Context, q EmpresaQuery) ([]Empresa, int, error)
	// Empresa returns one company with its custodians, active or not.
	Empresa(ctx context.Context, id int64) (*Empresa, error)
	// CreateEmpresa inserts e and its custodians and sets the IDs.
	CreateEmpresa(ctx context.Context, e *Empresa) error
	// UpdateEmpresa loads the company in a transaction, lets apply change
	// it, and stores it; custodians are replaced when apply sets
	// replaceCustodios.
	UpdateEmpresa(ctx context.Context, id int64, apply func(e *Empresa) (replaceCustodios bool, err error)) (*Empresa, error)
	// DeactivateEmpresa sets activa=false (DELETE is soft).
	DeactivateEmpresa(ctx context.Context, id int64) error
}

// EmpresaQuery narrows a company list.
type EmpresaQuery struct {
	IncluirInactivas bool
	// Search matches the name, city or ODMC number, folded.
	Search string
	Order  []SortKey
	Limit  int
	Offset int
}

// EmpresaOrdering lists the orderable company fields.
var EmpresaOrdering = []string{"nombre", "ciudad", "provincia", "id"}

// EmpresaInput is a create or update request; nil fields are unchanged on
// PATCH. Custodios replaces the list when not nil.
type EmpresaInput struct {
	Nombre       *string
	Direccion    *string
	Ciudad       *string
	CodigoPostal *string
	Provincia    *string
	NumeroODMC   *string
	Activa       *bool
	Custodios    *[]CustodioInput
}

// CustodioInput is one written custodian.
type CustodioInput struct {
	EmpleoRango     *string
	NombreApellidos *string
	Cargo           *string
}

// Field lengths of the legacy model.
var empresaMax = map[string]int{"nombre": 200, "direccion": 200, "ciudad": 100, "codigo_postal": 10, "provincia": 100, "numero_odmc": 20}

func (in EmpresaInput) apply(e *Empresa, full bool) (bool, error) {
	fe := errs.FieldErrors{}
	set := func(field string, v *string, dst *string, required bool) {
		if v == nil {
			if full && required {
				fe.Add(field, msgRequired)
			}
			return
		}
		s := strings.TrimSpace(*v)
		if required && s == "" {
			fe.Add(field, msgBlank)
		}
		maxLen(fe, field, s, empresaMax[field])
		*dst = s
	}
	set("nombre", in.Nombre, &e.Nombre, true)
	set("direccion", in.Direccion, &e.Direccion, false)
	set("ciudad", in.Ciudad, &e.Ciudad, false)
	set("codigo_postal", in.CodigoPostal, &e.CodigoPostal, false)
	set("provincia", in.Provincia, &e.Provincia, false)
	set("numero_odmc", in.NumeroODMC, &e.NumeroODMC, false)
	if in.Activa != nil {
		e.Activa = *in.Activa
	}
	replace := in.Custodios != nil
	if replace {
		lines := map[string]any{}
		e.Custodios = make([]Cryptocustodio, 0, len(*in.Custodios))
		for i, c := range *in.Custodios {
			lfe := errs.FieldErrors{}
			var cc Cryptocustodio
			if c.NombreApellidos == nil || strings.TrimSpace(*c.NombreApellidos) == "" {
				lfe.Add("nombre_apellidos", msgRequired)
			} else {
				cc.NombreApellidos = strings.TrimSpace(*c.NombreApellidos)
				maxLen(lfe, "nombre_apellidos", cc.NombreApellidos, 200)
			}
			if c.EmpleoRango != nil {
				cc.EmpleoRango = strings.TrimSpace(*c.EmpleoRango)
				maxLen(lfe, "empleo_rango", cc.EmpleoRango, 100)
			}
			if c.Cargo != nil {
				cc.Cargo = strings.TrimSpace(*c.Cargo)
				maxLen(lfe, "cargo", cc.Cargo, 100)
			}
			if len(lfe) > 0 {
				lines[strconv.Itoa(i)] = map[string]any(lfe)
			}
			e.Custodios = append(e.Custodios, cc)
		}
		fe.Nest("cryptocustodios", lines)
	}
	return replace, fe.Err()
}

// ListEmpresas lists companies.
func (s *Service) ListEmpresas(ctx context.Context, q EmpresaQuery) ([]Empresa, int, error) {
	return s.store.ListEmpresas(ctx, q)
}

// Empresa returns one company.
func (s *Service) Empresa(ctx context.Context, id int64) (*Empresa, error) {
	return s.store.Empresa(ctx, id)
}

// CreateEmpresa adds a company (active unless told otherwise).
func (s *Service) CreateEmpresa(ctx context.Context, in EmpresaInput) (*Empresa, error) {
	e := &Empresa{Activa: true}
	if _, err := in.apply(e, true); err != nil {
		return nil, err
	}
	if e.Custodios == nil {
		e.Custodios = []Cryptocustodio{}
	}
	if err := s.store.CreateEmpresa(ctx, e); err != nil {
		return nil, err
	}
	return e, nil
}

// UpdateEmpresa changes a company (full: PUT semantics; the custodian
// list is replaced only when sent).
func (s *Service) UpdateEmpresa(ctx context.Context, id int64, in EmpresaInput, full bool) (*Empresa, error) {
	return s.store.UpdateEmpresa(ctx, id, func(e *Empresa) (bool, error) { return in.apply(e, full) })
}

// DeleteEmpresa deactivates a company: documents keep pointing at it.
func (s *Service) DeleteEmpresa(ctx context.Context, id int64) error {
	return s.store.DeactivateEmpresa(ctx, id)
}
