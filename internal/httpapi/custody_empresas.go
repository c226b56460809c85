package httpapi

import (
	"context"
	"net/http"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/identity"
)

// Companies: /api/empresas/ (legacy EmpresaViewSet). The list shows active
// companies unless ?incluir_inactivas=true; DELETE only deactivates
// (documents keep pointing at the company). Each company carries its
// crypto custodians, written as a nested list that replaces the current
// one when sent. Reads need productos.ver, writes productos.editar,
// deactivation productos.eliminar.

// CryptocustodioJSON is a company's custodian.
type CryptocustodioJSON struct {
	ID              int64  `json:"id"`
	EmpleoRango     string `json:"empleo_rango"`
	NombreApellidos string `json:"nombre_apellidos"`
	Cargo           string `json:"cargo"`
}

// EmpresaJSON is a company (legacy EmpresaSerializer plus custodians).
type EmpresaJSON struct {
	ID                int64                `json:"id"`
	Nombre            string               `json:"nombre"`
	Direccion         string               `json:"direccion"`
	Ciudad            string               `json:"ciudad"`
	CodigoPostal      string               `json:"codigo_postal"`
	Provincia         string               `json:"provincia"`
	NumeroODMC        string               `json:"numero_odmc"`
	DireccionCompleta string               `json:"direccion_completa"`
	Activa            bool                 `json:"activa"`
	Cryptocustodios   []CryptocustodioJSON `json:"cryptocustodios"`
}

func empresaJSON(e *custody.Empresa) EmpresaJSON {
	out := EmpresaJSON{ID: e.ID, Nombre: e.Nombre, Direccion: e.Direccion, Ciudad: e.Ciudad, CodigoPostal: e.CodigoPostal,
		Provincia: e.Provincia, NumeroODMC: e.NumeroODMC, DireccionCompleta: e.DireccionCompleta(), Activa: e.Activa,
		Cryptocustodios: make([]CryptocustodioJSON, len(e.Custodios))}
	for i, c := range e.Custodios {
		out.Cryptocustodios[i] = CryptocustodioJSON{ID: c.ID, EmpleoRango: c.EmpleoRango, NombreApellidos: c.NombreApellidos, Cargo: c.Cargo}
	}
	return out
}

type custodioWrite struct {
	EmpleoRango     *string `json:"empleo_rango"`
	NombreApellidos *string `json:"nombre_apellidos"`
	Cargo           *string `json:"cargo"`
}

type empresaWrite struct {
	Nombre          *string          `json:"nombre" doc:"Required on create and PUT"`
	Direccion       *string          `json:"direccion"`
	Ciudad          *string          `json:"ciudad"`
	CodigoPostal    *string          `json:"codigo_postal"`
	Provincia       *string          `json:"provincia"`
	NumeroODMC      *string          `json:"numero_odmc"`
	Activa          *bool            `json:"activa"`
	Cryptocustodios *[]custodioWrite `json:"cryptocustodios" doc:"Replaces the company's custodians when present"`
}

func (w empresaWrite) input() custody.EmpresaInput {
	in := custody.EmpresaInput{Nombre: w.Nombre, Direccion: w.Direccion, Ciudad: w.Ciudad, CodigoPostal: w.CodigoPostal,
		Provincia: w.Provincia, NumeroODMC: w.NumeroODMC, Activa: w.Activa}
	if w.Cryptocustodios != nil {
		cs := make([]custody.CustodioInput, len(*w.Cryptocustodios))
		for i, c := range *w.Cryptocustodios {
			cs[i] = custody.CustodioInput{EmpleoRango: c.EmpleoRango, NombreApellidos: c.NombreApellidos, Cargo: c.Cargo}
		}
		in.Custodios = &cs
	}
	return in
}

type empresaWriteInput struct {
	ID   string `path:"id" doc:"Integer id"`
	Body empresaWrite
}

type empresaListInput struct {
	PageParams
	IncluirInactivas string `query:"incluir_inactivas" doc:"true to list deactivated companies too"`
	Search           string `query:"search" doc:"Substring of the name, city or ODMC number"`
	Ordering         string `query:"ordering" doc:"nombre, ciudad, provincia or id; \"-\" for descending"`
}

func (s *Server) registerEmpresas() {
	ver := Permission(identity.PermProductosVer)
	editar := Permission(identity.PermProductosEditar)
	eliminar := Permission(identity.PermProductosEliminar)
	tags := []string{"empresas"}
	cs := func() *custody.Service { return s.deps.Custody }

	Register(s.API, huma.Operation{OperationID: "empresas-list", Method: http.MethodGet, Path: "/api/empresas/", Tags: tags,
		Summary: "List companies (active only unless incluir_inactivas=true) with their crypto custodians"}, ver,
		func(ctx context.Context, in *empresaListInput) (*struct{ Body List[EmpresaJSON] }, error) {
			order, err := custody.ParseOrdering(in.Ordering, custody.EmpresaOrdering)
			if err != nil {
				return nil, err
			}
			es, n, err := cs().ListEmpresas(ctx, custody.EmpresaQuery{IncluirInactivas: isTrue(in.IncluirInactivas), Search: in.Search,
				Order: order, Limit: in.Limit(), Offset: in.Offset()})
			if err != nil {
				return nil, err
			}
			if err := CheckPage(in.PageParams, n); err != nil {
				return nil, err
			}
			items := make([]EmpresaJSON, len(es))
			for i := range es {
				items[i] = empresaJSON(&es[i])
			}
			return &struct{ Body List[EmpresaJSON] }{Body: NewList(items, in.PageParams, n, RequestURL(ctx))}, nil
		})
	Register(s.API, huma.Operation{OperationID: "empresas-create", Method: http.MethodPost, Path: "/api/empresas/", Tags: tags,
		Summary: "Create a company with its crypto custodians", DefaultStatus: http.StatusCreated}, editar,
		func(ctx context.Context, in *struct{ Body empresaWrite }) (*struct{ Body EmpresaJSON }, error) {
			e, err := cs().CreateEmpresa(ctx, in.Body.input())
			if err != nil {
				return nil, err
			}
			return &struct{ Body EmpresaJSON }{Body: empresaJSON(e)}, nil
		})
	Register(s.API, huma.Operation{OperationID: "empresas-get", Method: http.MethodGet, Path: "/api/empresas/{id}/", Tags: tags,
		Summary: "One company (deactivated ones too: documents still refer to them)"}, ver,
		func(ctx context.Context, in *custodyIDInput) (*struct{ Body EmpresaJSON }, error) {
			id, err := parseCustodyID(in.ID)
			if err != nil {
				return nil, err
			}
			e, err := cs().Empresa(ctx, id)
			if err != nil {
				return nil, err
			}
			return &struct{ Body EmpresaJSON }{Body: empresaJSON(e)}, nil
		})
	update := func(full bool) func(context.Context, *empresaWriteInput) (*struct{ Body EmpresaJSON }, error) {
		return func(ctx context.Context, in *empresaWriteInput) (*struct{ Body EmpresaJSON }, error) {
			id, err := parseCustodyID(in.ID)
			if err != nil {
				return nil, err
			}
			e, err := cs().UpdateEmpresa(ctx, id, in.Body.input(), full)
			if err != nil {
				return nil, err
			}
			return &struct{ Body EmpresaJSON }{Body: empresaJSON(e)}, nil
		}
	}
	Register(s.API, huma.Operation{OperationID: "empresas-update", Method: http.MethodPut, Path: "/api/empresas/{id}/", Tags: tags,
		Summary: "Replace a company (custodians replaced when sent)"}, editar, update(true))
	Register(s.API, huma.Operation{OperationID: "empresas-patch", Method: http.MethodPatch, Path: "/api/empresas/{id}/", Tags: tags,
		Summary: "Change some fields of a company (custodians replaced when sent)"}, editar, update(false))
	Register(s.API, huma.Operation{OperationID: "empresas-delete", Method: http.MethodDelete, Path: "/api/empresas/{id}/", Tags: tags,
		Summary: "Deactivate a company (soft delete)", DefaultStatus: http.StatusNoContent}, eliminar,
		func(ctx context.Context, in *custodyIDInput) (*struct{}, error) {
			id, err := parseCustodyID(in.ID)
			if err != nil {
				return nil, err
			}
			return &struct{}{}, cs().DeleteEmpresa(ctx, id)
		})
}
