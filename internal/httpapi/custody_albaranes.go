package httpapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// Documents ("albaranes", legacy AlbaranViewSet) at the legacy paths and
// shapes. Reads need productos.ver, create/edit productos.editar, delete
// productos.eliminar. The rules (all-or-nothing lines, registry numbers,
// staging for incoming documents, recomputing every touched item) are
// custody's; docs/custody.md has the table. The image and AC21 routes
// under /api/albaranes/{id}/ are registered elsewhere.

// albScalar is one scalar of a write body as legacy clients send it: a
// string, a number, a boolean or null. It never fails to decode; custody
// validates it and names the field when it is wrong.
type albScalar struct {
	set, null bool
	text      string
}

// UnmarshalJSON records the value's text.
func (v *albScalar) UnmarshalJSON(b []byte) error {
	v.set = true
	b = bytes.TrimSpace(b)
	switch {
	case string(b) == "null":
		v.null, v.text = true, ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		v.text = s
	default:
		v.text = string(b)
	}
	return nil
}

// Schema documents any scalar.
func (albScalar) Schema(huma.Registry) *huma.Schema {
	return &huma.Schema{Description: "A string, number, boolean or null (validated by the server, which names the field when it is wrong)."}
}

func (v albScalar) field() custody.FieldValue {
	return custody.FieldValue{Set: v.set, Null: v.null, Text: v.text}
}

// albCabecera is the legacy nested header.
type albCabecera struct {
	Numero                albScalar `json:"numero"`
	NumeroRegistroEntrada albScalar `json:"numero_registro_entrada"`
	NumeroRegistroSalida  albScalar `json:"numero_registro_salida"`
	TipoTransaccion       albScalar `json:"tipo_transaccion"`
	FechaInforme          albScalar `json:"fecha_informe"`
	FechaTransaccionDMA   albScalar `json:"fecha_transaccion_dma"`
	CodigosContabilidad   albScalar `json:"codigos_contabilidad"`
}

// albArticulo is one line of a create or agregar-productos body.
type albArticulo struct {
	Codigo         albScalar `json:"codigo" doc:"Product code (required); unknown codes create an untyped catalog product"`
	NumeroSerie    albScalar `json:"numero_serie" doc:"Serial number (required)"`
	Descripcion    albScalar `json:"descripcion"`
	Cantidad       albScalar `json:"cantidad" doc:"Integer ≥ 0, default 1"`
	CC             albScalar `json:"cc" doc:"AC21 accounting legend code (integer)"`
	Observaciones  albScalar `json:"observaciones"`
	TipoMovimiento albScalar `json:"tipo_movimiento" doc:"Defaults to the document's type"`
}

func (a albArticulo) input() custody.ArticuloInput {
	return custody.ArticuloInput{Codigo: a.Codigo.field(), NumeroSerie: a.NumeroSerie.field(), Descripcion: a.Descripcion.field(),
		Cantidad: a.Cantidad.field(), CC: a.CC.field(), Observaciones: a.Observaciones.field(), TipoMovimiento: a.TipoMovimiento.field()}
}

func albArticulos(in []albArticulo) []custody.ArticuloInput {
	out := make([]custody.ArticuloInput, len(in))
	for i, a := range in {
		out[i] = a.input()
	}
	return out
}

// albMovimientoWrite is a movement of an edit's `movimientos` list, and the
// body of /api/movimientos/ writes.
type albMovimientoWrite struct {
	ID             albScalar `json:"id" doc:"Existing movement (edit lists): omitted for a new one"`
	Albaran        albScalar `json:"albaran" doc:"Document id (POST /api/movimientos/ only)"`
	ProductoCodigo albScalar `json:"producto_codigo"`
	NumeroSerie    albScalar `json:"numero_serie"`
	Cantidad       albScalar `json:"cantidad"`
	CC             albScalar `json:"cc"`
	Observaciones  albScalar `json:"observaciones"`
	Descripcion    albScalar `json:"descripcion"`
	TipoMovimiento albScalar `json:"tipo_movimiento"`
}

func (m albMovimientoWrite) input() custody.MovimientoInput {
	return custody.MovimientoInput{ID: m.ID.field(), Albaran: m.Albaran.field(), ProductoCodigo: m.ProductoCodigo.field(),
		NumeroSerie: m.NumeroSerie.field(), Cantidad: m.Cantidad.field(), CC: m.CC.field(), Observaciones: m.Observaciones.field(),
		Descripcion: m.Descripcion.field(), TipoMovimiento: m.TipoMovimiento.field()}
}

// UploadStagedJSON answers a create that was staged (the scanned
// incoming AC21 of the upload page): bulk_create's answer plus success.
type UploadStagedJSON struct {
	Success       bool   `json:"success"`
	Staged        bool   `json:"staged" doc:"The lines went to staging (línea temporal), not to a document"`
	Message       string `json:"message"`
	Count         int    `json:"count"`
	ConImagen     bool   `json:"con_imagen"`
	NumeroAlbaran string `json:"numero_albaran"`
}

// AlbaranCreatedJSON is a created document with success (the AC21 upload
// page checks it).
type AlbaranCreatedJSON struct {
	AlbaranResource
	Success bool `json:"success"`
}

// jsonOrMultipart reads a write body that is JSON, or multipart with the
// JSON in `data` and an optional `imagen_documento` file (api.ts
// saveAC21Data and guardarEnLineaTemporal).
func jsonOrMultipart(contentType string, body []byte) (map[string]any, *custody.Upload, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	raw := body
	var img *custody.Upload
	switch {
	case strings.HasPrefix(mt, "multipart/"):
		form, err := multipartForm(contentType, body, "data")
		if err != nil {
			return nil, nil, err
		}
		defer func() { _ = form.RemoveAll() }()
		vals := form.Value["data"]
		if len(vals) == 0 || strings.TrimSpace(vals[0]) == "" {
			return nil, nil, errs.Field("data", "This field is required.")
		}
		raw = []byte(vals[0])
		data, _, ok, err := formFile(form, "imagen_documento")
		if err != nil {
			return nil, nil, err
		}
		if ok {
			img = &custody.Upload{Data: data}
		}
	case mt != "" && mt != "application/json":
		return nil, nil, &errs.Error{Kind: errs.KindInvalid, Message: "Unsupported media type \"" + mt + "\" in request: use application/json or multipart/form-data."}
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		raw = []byte("{}")
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, nil, jsonParseError(err)
	}
	if m == nil {
		return nil, nil, jsonParseError(errors.New("expected a JSON object"))
	}
	return m, img, nil
}

// decodeInto re-reads a decoded body as v; a value of the wrong type is
// a 400 naming its field.
func decodeInto(m map[string]any, v any) error {
	b, err := json.Marshal(m)
	if err != nil {
		return jsonParseError(err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) && te.Field != "" {
			return errs.Field(strings.SplitN(te.Field, ".", 2)[0], "Tipo de valor no válido.")
		}
		return jsonParseError(err)
	}
	return nil
}

// createAlbaran files a create body (see custody/upload.go): staged,
// added to an existing document, or created with its image.
func (s *Server) createAlbaran(ctx context.Context, raw map[string]any, img *custody.Upload) (*albCreateOutput, error) {
	// A company sent as the object the page shows ({id, nombre, …}) is
	// its id; one without an id is left for the validation to refuse.
	for _, k := range []string{"empresa_origen", "empresa_destino"} {
		if m, ok := raw[k].(map[string]any); ok {
			if id, ok := m["id"]; ok && id != nil {
				raw[k] = id
			}
		}
	}
	// Lines as the upload page keeps them (OCR: no codigo, serial
	// ranges) get the code and serial it shows; other clients send both.
	if arts, ok := raw["articulos"].([]any); ok {
		custody.FillUploadCodes(arts)
	}
	var w albaranWrite
	if err := decodeInto(raw, &w); err != nil {
		return nil, err
	}
	in := w.input()
	modo, _ := raw["modo"].(string)
	upload := modo == "agregar_a_existente" || custody.IsIncomingForStaging(in)
	switch {
	case modo == "agregar_a_existente":
		r, err := s.deps.Custody.AgregarAExistente(ctx, in)
		if err != nil {
			return nil, err
		}
		return &albCreateOutput{Status: http.StatusOK, Body: AgregarProductosResult{Success: true, Data: albaranResource(r.Albaran),
			Nuevos: r.Nuevos, Duplicados: r.Duplicados,
			Message: fmt.Sprintf("%d productos agregados, %d duplicados omitidos.", r.Nuevos, r.Duplicados)}}, nil
	case upload:
		var p custody.BulkPayload
		if err := decodeInto(raw, &p); err != nil {
			return nil, err
		}
		p.Cabecera = stagedCabecera(p.Cabecera, &w)
		res, err := s.deps.Custody.BulkStage(ctx, s.deps.Files, stagingViewer(ctx), &p, img)
		if err != nil {
			return nil, err
		}
		return &albCreateOutput{Status: http.StatusCreated, Body: UploadStagedJSON{Success: true, Staged: true, Count: len(res.Lines),
			ConImagen: res.ConImagen, NumeroAlbaran: res.Numero, Message: strconv.Itoa(len(res.Lines)) + " líneas preparadas para el documento " +
				res.Numero + ": asígneles tipo y procéselas en la línea temporal."}}, nil
	}
	d, err := s.deps.Custody.CreateAlbaranConImagen(ctx, s.deps.Files, in, img)
	if err != nil {
		return nil, err
	}
	return &albCreateOutput{Status: http.StatusCreated, Body: AlbaranCreatedJSON{AlbaranResource: albaranResource(d), Success: true}}, nil
}

// stagedCabecera is the header a staged create keeps: its cabecera, with
// what the body says only at the top (type, registry numbers, dates,
// accounting code) filling the keys the cabecera leaves empty.
func stagedCabecera(cab map[string]any, w *albaranWrite) map[string]any {
	if cab == nil {
		cab = map[string]any{}
	}
	blank := func(k string) bool {
		v, ok := cab[k]
		if !ok || v == nil {
			return true
		}
		str, isStr := v.(string)
		return isStr && strings.TrimSpace(str) == ""
	}
	fill := func(k string, vs ...albScalar) {
		if !blank(k) {
			return
		}
		for _, v := range vs {
			if strings.TrimSpace(v.text) != "" && !v.null {
				cab[k] = v.text
				return
			}
		}
	}
	fill("tipo_transaccion", w.TipoDocumento, w.TipoAlbaran, w.TipoOperacion)
	fill("numero_registro_entrada", w.NumeroRegistroEntrada)
	fill("numero_registro_salida", w.NumeroRegistroSalida)
	fill("fecha_informe", w.FechaInforme)
	fill("fecha_transaccion", w.FechaTransaccion)
	fill("odmc_numero", w.OdmcNumero)
	fill("codigos_contabilidad", w.CodigoContabilidad)
	return cab
}

// albCreateOutput is a create's answer: the document (201), what was
// staged (201) or what was added to an existing document (200).
type albCreateOutput struct {
	Status int
	Body   any
}

// albaranWrite is the create and edit body. On edit, absent fields are
// left as they are (PUT is partial too).
type albaranWrite struct {
	Numero                                albScalar             `json:"numero" doc:"Document number; with numero_registro_entrada, numero_registro_salida and cabecera.* as fallbacks. Ignored for outgoing transfers (S<year>-NNNN is allocated) and extra pages (<main>-P<n>)"`
	NumeroRegistroEntrada                 albScalar             `json:"numero_registro_entrada"`
	NumeroRegistroSalida                  albScalar             `json:"numero_registro_salida"`
	Cabecera                              *albCabecera          `json:"cabecera" doc:"Legacy nested header (numero, tipo_transaccion, dates…), used when the top-level fields are absent"`
	TipoDocumento                         albScalar             `json:"tipo_documento" doc:"TRANSFERENCIA, INVENTARIO, DESTRUCCION, RECIBO_MANO or OTRO (key or label, any case)"`
	TipoAlbaran                           albScalar             `json:"tipo_albaran" doc:"Legacy alias of tipo_documento"`
	TipoOperacion                         albScalar             `json:"tipo_operacion" doc:"Legacy alias of tipo_documento"`
	DireccionTransferencia                albScalar             `json:"direccion_transferencia" doc:"ENTRADA or SALIDA; required except for INVENTARIO (ENTRADA)"`
	EmpresaOrigen                         albScalar             `json:"empresa_origen" doc:"Company id (DE)"`
	EmpresaDestino                        albScalar             `json:"empresa_destino" doc:"Company id (PARA)"`
	Fecha                                 albScalar             `json:"fecha"`
	FechaInforme                          albScalar             `json:"fecha_informe" doc:"YYYY-MM-DD or DD/MM/YYYY; default today"`
	FechaTransaccion                      albScalar             `json:"fecha_transaccion" doc:"YYYY-MM-DD or DD/MM/YYYY; default today; its year is the registry year"`
	OdmcNumero                            albScalar             `json:"odmc_numero"`
	CodigoContabilidad                    albScalar             `json:"codigo_contabilidad"`
	Accesorios                            json.RawMessage       `json:"accesorios" doc:"List of {descripcion, cantidad}"`
	EquiposPrueba                         json.RawMessage       `json:"equipos_prueba" doc:"List of {codigo}"`
	EstadoMaterial                        albScalar             `json:"estado_material" doc:"RECIBIDO, INVENTARIADO or DESTRUIDO"`
	DestinatarioAutorizadoTestigo         albScalar             `json:"destinatario_autorizado_testigo"`
	DestinatarioAutorizadoOtro            albScalar             `json:"destinatario_autorizado_otro"`
	DestinatarioAutorizadoOtroEspecificar albScalar             `json:"destinatario_autorizado_otro_especificar"`
	FirmaA                                albScalar             `json:"firma_a"`
	FirmaAEmpleoRango                     albScalar             `json:"firma_a_empleo_rango"`
	FirmaANombreApellidos                 albScalar             `json:"firma_a_nombre_apellidos"`
	FirmaACargo                           albScalar             `json:"firma_a_cargo"`
	FirmaB                                albScalar             `json:"firma_b"`
	FirmaBEmpleoRango                     albScalar             `json:"firma_b_empleo_rango"`
	FirmaBNombreApellidos                 albScalar             `json:"firma_b_nombre_apellidos"`
	FirmaBCargo                           albScalar             `json:"firma_b_cargo"`
	ObservacionesOdmc                     albScalar             `json:"observaciones_odmc"`
	EsPaginaAdicional                     albScalar             `json:"es_pagina_adicional" doc:"Create an extra page of documento_principal_id"`
	DocumentoPrincipalID                  albScalar             `json:"documento_principal_id"`
	DocumentoPrincipal                    albScalar             `json:"documento_principal" doc:"Alias of documento_principal_id"`
	Articulos                             []albArticulo         `json:"articulos" doc:"Create: the lines, all valid or none stored"`
	Movimientos                           *[]albMovimientoWrite `json:"movimientos" doc:"Edit: the complete movement list (with id: edited; without: added; missing: deleted)"`
}

func (w *albaranWrite) input() *custody.AlbaranInput {
	in := &custody.AlbaranInput{
		Numero: w.Numero.field(), NumeroRegistroEntrada: w.NumeroRegistroEntrada.field(), NumeroRegistroSalida: w.NumeroRegistroSalida.field(),
		Tipo: w.TipoDocumento.field(), TipoAlbaran: w.TipoAlbaran.field(), TipoOperacion: w.TipoOperacion.field(),
		Direccion: w.DireccionTransferencia.field(), EmpresaOrigen: w.EmpresaOrigen.field(), EmpresaDestino: w.EmpresaDestino.field(),
		Fecha: w.Fecha.field(), FechaInforme: w.FechaInforme.field(), FechaTransaccion: w.FechaTransaccion.field(),
		ODMCNumero: w.OdmcNumero.field(), CodigoContabilidad: w.CodigoContabilidad.field(), ObservacionesODMC: w.ObservacionesOdmc.field(),
		EstadoMaterial: w.EstadoMaterial.field(), DestinatarioTestigo: w.DestinatarioAutorizadoTestigo.field(),
		DestinatarioOtro: w.DestinatarioAutorizadoOtro.field(), DestinatarioOtroEspec: w.DestinatarioAutorizadoOtroEspecificar.field(),
		FirmaA: custody.AlbaranFirmaInput{Firma: w.FirmaA.field(), EmpleoRango: w.FirmaAEmpleoRango.field(),
			NombreApellidos: w.FirmaANombreApellidos.field(), Cargo: w.FirmaACargo.field()},
		FirmaB: custody.AlbaranFirmaInput{Firma: w.FirmaB.field(), EmpleoRango: w.FirmaBEmpleoRango.field(),
			NombreApellidos: w.FirmaBNombreApellidos.field(), Cargo: w.FirmaBCargo.field()},
		Accesorios: w.Accesorios, EquiposPrueba: w.EquiposPrueba,
		EsPaginaAdicional: w.EsPaginaAdicional.field(), DocumentoPrincipalID: w.DocumentoPrincipalID.field(),
		Articulos: albArticulos(w.Articulos),
	}
	if !in.DocumentoPrincipalID.Set {
		in.DocumentoPrincipalID = w.DocumentoPrincipal.field()
	}
	if c := w.Cabecera; c != nil {
		in.Cabecera = &custody.AlbaranCabecera{Numero: c.Numero.field(), NumeroRegistroEntrada: c.NumeroRegistroEntrada.field(),
			NumeroRegistroSalida: c.NumeroRegistroSalida.field(), TipoTransaccion: c.TipoTransaccion.field(),
			FechaInforme: c.FechaInforme.field(), FechaTransaccionDMA: c.FechaTransaccionDMA.field(), CodigosContabilidad: c.CodigosContabilidad.field()}
	}
	if w.Movimientos != nil {
		ms := make([]custody.MovimientoInput, len(*w.Movimientos))
		for i, m := range *w.Movimientos {
			ms[i] = m.input()
		}
		in.Movimientos = &ms
	}
	return in
}

// AlbaranEmpresaInfo is a company as a document shows it (legacy
// EmpresaSerializer).
type AlbaranEmpresaInfo struct {
	ID                int64  `json:"id"`
	Nombre            string `json:"nombre"`
	Direccion         string `json:"direccion"`
	Ciudad            string `json:"ciudad"`
	CodigoPostal      string `json:"codigo_postal"`
	Provincia         string `json:"provincia"`
	NumeroODMC        string `json:"numero_odmc"`
	DireccionCompleta string `json:"direccion_completa"`
	Activa            bool   `json:"activa"`
}

func albEmpresaInfo(e *custody.Empresa) *AlbaranEmpresaInfo {
	if e == nil {
		return nil
	}
	return &AlbaranEmpresaInfo{ID: e.ID, Nombre: e.Nombre, Direccion: e.Direccion, Ciudad: e.Ciudad, CodigoPostal: e.CodigoPostal,
		Provincia: e.Provincia, NumeroODMC: e.NumeroODMC, DireccionCompleta: e.DireccionCompleta(), Activa: e.Activa}
}

// AlbaranPrincipalInfo is {id, numero, fecha} of an extra page's main
// document.
type AlbaranPrincipalInfo struct {
	ID     int64  `json:"id"`
	Numero string `json:"numero"`
	Fecha  string `json:"fecha"`
}

// AlbaranResource is a document (legacy AlbaranSerializer: every column
// but imagen_documento, plus the computed fields).
type AlbaranResource struct {
	ID                                    int64                  `json:"id"`
	Numero                                string                 `json:"numero"`
	Fecha                                 string                 `json:"fecha"`
	PaginaNumero                          int                    `json:"pagina_numero"`
	TotalPaginas                          int                    `json:"total_paginas"`
	DocumentoPrincipal                    *int64                 `json:"documento_principal"`
	DireccionTransferencia                *string                `json:"direccion_transferencia"`
	EmpresaOrigen                         *int64                 `json:"empresa_origen"`
	EmpresaDestino                        *int64                 `json:"empresa_destino"`
	TipoDocumento                         *string                `json:"tipo_documento"`
	OdmcNumero                            string                 `json:"odmc_numero"`
	FechaInforme                          *string                `json:"fecha_informe"`
	NumeroRegistroSalida                  *string                `json:"numero_registro_salida"`
	FechaTransaccion                      *string                `json:"fecha_transaccion"`
	NumeroRegistroEntrada                 string                 `json:"numero_registro_entrada"`
	CodigoContabilidad                    string                 `json:"codigo_contabilidad"`
	Accesorios                            []custody.Accesorio    `json:"accesorios"`
	EquiposPrueba                         []custody.EquipoPrueba `json:"equipos_prueba"`
	EstadoMaterial                        *string                `json:"estado_material"`
	DestinatarioAutorizadoTestigo         bool                   `json:"destinatario_autorizado_testigo"`
	DestinatarioAutorizadoOtro            bool                   `json:"destinatario_autorizado_otro"`
	DestinatarioAutorizadoOtroEspecificar *string                `json:"destinatario_autorizado_otro_especificar"`
	FirmaA                                *string                `json:"firma_a"`
	FirmaAEmpleoRango                     *string                `json:"firma_a_empleo_rango"`
	FirmaANombreApellidos                 *string                `json:"firma_a_nombre_apellidos"`
	FirmaACargo                           *string                `json:"firma_a_cargo"`
	FirmaB                                *string                `json:"firma_b"`
	FirmaBEmpleoRango                     *string                `json:"firma_b_empleo_rango"`
	FirmaBNombreApellidos                 *string                `json:"firma_b_nombre_apellidos"`
	FirmaBCargo                           *string                `json:"firma_b_cargo"`
	DestinatarioAutorizadoNombre          *string                `json:"destinatario_autorizado_nombre" doc:"Legacy column, always null"`
	DestinatarioAutorizadoCargo           *string                `json:"destinatario_autorizado_cargo" doc:"Legacy column, always null"`
	FirmaRemitenteNombre                  *string                `json:"firma_remitente_nombre" doc:"Legacy column, always null"`
	FirmaRemitenteCargo                   *string                `json:"firma_remitente_cargo" doc:"Legacy column, always null"`
	ObservacionesOdmc                     string                 `json:"observaciones_odmc"`
	CreatedBy                             *int64                 `json:"created_by"`
	UpdatedBy                             *int64                 `json:"updated_by"`
	CreatedAt                             string                 `json:"created_at"`
	UpdatedAt                             string                 `json:"updated_at"`
	EmpresaOrigenInfo                     *AlbaranEmpresaInfo    `json:"empresa_origen_info"`
	EmpresaDestinoInfo                    *AlbaranEmpresaInfo    `json:"empresa_destino_info"`
	CreatedByUsername                     *string                `json:"created_by_username"`
	UpdatedByUsername                     *string                `json:"updated_by_username"`
	TipoDocumentoDisplay                  *string                `json:"tipo_documento_display"`
	DireccionTransferenciaDisplay         *string                `json:"direccion_transferencia_display"`
	EstadoMaterialDisplay                 *string                `json:"estado_material_display"`
	EsDocumentoPrincipal                  bool                   `json:"es_documento_principal"`
	DocumentoPrincipalInfo                *AlbaranPrincipalInfo  `json:"documento_principal_info"`
	NumeroPaginasTotal                    int                    `json:"numero_paginas_total"`
	TieneImagenDocumento                  bool                   `json:"tiene_imagen_documento"`
	ImagenDocumentoURL                    *string                `json:"imagen_documento_url" doc:"/api/albaranes/{id}/imagen-documento/ when the document has an image"`
}

func albDate(t time.Time) string { return t.UTC().Format("2006-01-02") }

func albStr[T ~string](v *T) *string {
	if v == nil {
		return nil
	}
	s := string(*v)
	return &s
}

func albaranResource(d *custody.AlbaranDetalle) AlbaranResource {
	a := &d.Albaran
	out := AlbaranResource{
		ID: a.ID, Numero: a.Numero, Fecha: isoTime(a.Fecha), PaginaNumero: a.PaginaNumero, TotalPaginas: a.TotalPaginas,
		DocumentoPrincipal: a.DocumentoPrincipalID, DireccionTransferencia: albStr(a.Direccion), EmpresaOrigen: a.EmpresaOrigenID,
		EmpresaDestino: a.EmpresaDestinoID, TipoDocumento: albStr(a.Tipo), OdmcNumero: a.ODMCNumero, NumeroRegistroSalida: a.NumeroRegistroSalida,
		NumeroRegistroEntrada: a.NumeroRegistroEntrada, CodigoContabilidad: a.CodigoContabilidad,
		Accesorios: a.Accesorios, EquiposPrueba: a.EquiposPrueba, EstadoMaterial: albStr(a.EstadoMaterial),
		DestinatarioAutorizadoTestigo: a.DestinatarioTestigo, DestinatarioAutorizadoOtro: a.DestinatarioOtro,
		DestinatarioAutorizadoOtroEspecificar: a.DestinatarioOtroEspec,
		FirmaA:                                a.FirmaA.Firma, FirmaAEmpleoRango: a.FirmaA.EmpleoRango, FirmaANombreApellidos: a.FirmaA.NombreApellidos, FirmaACargo: a.FirmaA.Cargo,
		FirmaB: a.FirmaB.Firma, FirmaBEmpleoRango: a.FirmaB.EmpleoRango, FirmaBNombreApellidos: a.FirmaB.NombreApellidos, FirmaBCargo: a.FirmaB.Cargo,
		ObservacionesOdmc: a.ObservacionesODMC, CreatedBy: a.CreatedByID, UpdatedBy: a.UpdatedByID,
		CreatedAt: isoTime(a.CreatedAt), UpdatedAt: isoTime(a.UpdatedAt),
		EmpresaOrigenInfo: albEmpresaInfo(d.EmpresaOrigen), EmpresaDestinoInfo: albEmpresaInfo(d.EmpresaDestino),
		EsDocumentoPrincipal: a.DocumentoPrincipalID == nil, NumeroPaginasTotal: d.NumeroPaginasTotal,
		TieneImagenDocumento: a.ImagenDocumento != "",
	}
	if out.Accesorios == nil {
		out.Accesorios = []custody.Accesorio{}
	}
	if out.EquiposPrueba == nil {
		out.EquiposPrueba = []custody.EquipoPrueba{}
	}
	if a.FechaInforme != nil {
		s := albDate(*a.FechaInforme)
		out.FechaInforme = &s
	}
	if a.FechaTransaccion != nil {
		s := albDate(*a.FechaTransaccion)
		out.FechaTransaccion = &s
	}
	if a.CreatedByID != nil {
		out.CreatedByUsername = &a.CreatedByUsername
	}
	if a.UpdatedByID != nil {
		out.UpdatedByUsername = &a.UpdatedByUsername
	}
	if a.Tipo != nil {
		s := a.Tipo.Label()
		out.TipoDocumentoDisplay = &s
	}
	if a.Direccion != nil {
		s := a.Direccion.Label()
		out.DireccionTransferenciaDisplay = &s
	}
	if a.EstadoMaterial != nil {
		s := a.EstadoMaterial.Label()
		out.EstadoMaterialDisplay = &s
	}
	if d.Principal != nil {
		out.DocumentoPrincipalInfo = &AlbaranPrincipalInfo{ID: d.Principal.ID, Numero: d.Principal.Numero, Fecha: isoTime(d.Principal.Fecha)}
	}
	if a.ImagenDocumento != "" {
		u := DocumentImagePath(a.ID)
		out.ImagenDocumentoURL = &u
	}
	return out
}

func albaranResources(ds []custody.AlbaranDetalle) []AlbaranResource {
	out := make([]AlbaranResource, len(ds))
	for i := range ds {
		out[i] = albaranResource(&ds[i])
	}
	return out
}

// albPathID parses an integer path id; anything else is a 404, as in DRF.
func albPathID(s string) (int64, error) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 {
		return 0, &errs.Error{Kind: errs.KindNotFound, Message: "Not found."}
	}
	return id, nil
}

type albIDInput struct {
	ID string `path:"id" doc:"Document id"`
}

type albWriteInput struct {
	ID   string `path:"id" doc:"Document id"`
	Body albaranWrite
}

type albCreateInput struct {
	Body albaranWrite
}

type albListInput struct {
	PageParams
	TipoDocumento          string `query:"tipo_documento" doc:"Type (key or label)"`
	DireccionTransferencia string `query:"direccion_transferencia" doc:"ENTRADA or SALIDA"`
	Empresa                string `query:"empresa" doc:"Company id, as origin or destination"`
	EmpresaOrigen          string `query:"empresa_origen"`
	EmpresaDestino         string `query:"empresa_destino"`
	FechaDesde             string `query:"fecha_desde" doc:"Documents dated on or after (YYYY-MM-DD)"`
	FechaHasta             string `query:"fecha_hasta" doc:"Documents dated on or before (YYYY-MM-DD)"`
	Search                 string `query:"search" doc:"Substring of numero, registry numbers, ODMC number, accounting code or remarks (case and accents ignored)"`
	NumeroRegistro         string `query:"numero_registro" doc:"Main documents whose numero, numero_registro_entrada or numero_registro_salida is exactly this (the AC21 upload's duplicate check); empty: no filter"`
	Ordering               string `query:"ordering" doc:"fecha, numero, created_at or id; '-' for descending; comma-separated (default -fecha)"`
}

func (in *albListInput) query(principales bool) custody.AlbaranQuery {
	return custody.AlbaranQuery{Tipo: in.TipoDocumento, Direccion: in.DireccionTransferencia, Empresa: in.Empresa,
		EmpresaOrigen: in.EmpresaOrigen, EmpresaDestino: in.EmpresaDestino, Desde: in.FechaDesde, Hasta: in.FechaHasta,
		Search: in.Search, NumeroRegistro: in.NumeroRegistro, Ordering: in.Ordering, SoloPrincipales: principales, Limit: in.Limit(), Offset: in.Offset()}
}

type albOutput struct{ Body AlbaranResource }

type albListOutput struct{ Body List[AlbaranResource] }

// AgregarProductosResult answers agregar-productos.
type AgregarProductosResult struct {
	Success    bool            `json:"success"`
	Data       AlbaranResource `json:"data"`
	Nuevos     int             `json:"nuevos" doc:"Lines added"`
	Duplicados int             `json:"duplicados" doc:"Lines skipped: already on the document or repeated in the request"`
	Message    string          `json:"message"`
}

// ProductoDeAlbaran is one line of productos-de-albaran.
type ProductoDeAlbaran struct {
	Codigo         string  `json:"codigo"`
	NumeroSerie    string  `json:"numero_serie"`
	Descripcion    *string `json:"descripcion"`
	TipoMovimiento string  `json:"tipo_movimiento"`
	Fecha          string  `json:"fecha"`
}

// ProductosDeAlbaranResult answers productos-de-albaran.
type ProductosDeAlbaranResult struct {
	Productos     []ProductoDeAlbaran `json:"productos"`
	AlbaranID     *int64              `json:"albaran_id"`
	AlbaranNumero *string             `json:"albaran_numero,omitempty"`
}

// SiguienteRegistroResult answers siguiente-numero-registro-salida.
type SiguienteRegistroResult struct {
	Success              bool   `json:"success"`
	NumeroRegistroSalida string `json:"numero_registro_salida"`
	Anio                 int    `json:"año"`
}

func (s *Server) registerAlbaranes() {
	tags := []string{"albaranes"}
	read := Permission(identity.PermProductosVer)
	write := Permission(identity.PermProductosEditar)
	del := Permission(identity.PermProductosEliminar)

	list := func(principales bool) func(context.Context, *albListInput) (*albListOutput, error) {
		return func(ctx context.Context, in *albListInput) (*albListOutput, error) {
			f, err := in.query(principales).Filter()
			if err != nil {
				return nil, err
			}
			ds, total, err := s.deps.Custody.ListAlbaranes(ctx, f)
			if err != nil {
				return nil, err
			}
			if err := CheckPage(in.PageParams, total); err != nil {
				return nil, err
			}
			return &albListOutput{Body: NewList(albaranResources(ds), in.PageParams, total, RequestURL(ctx))}, nil
		}
	}
	Register(s.API, huma.Operation{OperationID: "albaranes-list", Method: http.MethodGet, Path: "/api/albaranes/", Tags: tags,
		Summary: "List documents (newest first), with filters, search and ordering"}, read, list(false))
	Register(s.API, huma.Operation{OperationID: "albaranes-principales", Method: http.MethodGet, Path: "/api/albaranes/principales/", Tags: tags,
		Summary: "List main documents (not extra pages)"}, read, list(true))

	Register(s.API, huma.Operation{OperationID: "albaranes-siguiente-registro-salida", Method: http.MethodGet,
		Path: "/api/albaranes/siguiente-numero-registro-salida/", Tags: tags,
		Summary: "Preview the next outgoing registry number S<year>-NNNN without reserving it"}, read,
		func(ctx context.Context, in *struct {
			Anio  string `query:"año" doc:"Year (default: this year)"`
			Anio2 string `query:"anio" doc:"Alias of año"`
			Year  string `query:"year" doc:"Alias of año"`
		}) (*struct{ Body SiguienteRegistroResult }, error) {
			raw := in.Anio
			if raw == "" {
				raw = in.Anio2
			}
			if raw == "" {
				raw = in.Year
			}
			y, err := custody.ParseYear(raw, s.deps.Custody.Now())
			if err != nil {
				return nil, err
			}
			n, err := s.deps.Custody.PreviewRegistroSalida(ctx, y)
			if err != nil {
				return nil, err
			}
			return &struct{ Body SiguienteRegistroResult }{Body: SiguienteRegistroResult{Success: true, NumeroRegistroSalida: n, Anio: y}}, nil
		})

	Register(s.API, huma.Operation{OperationID: "albaranes-productos-de-albaran", Method: http.MethodPost, Path: "/api/albaranes/productos-de-albaran/",
		Tags: tags, Summary: "The lines of the document with this number or registry number (duplicate detection)"}, read,
		func(ctx context.Context, in *struct {
			Body struct {
				Numero albScalar `json:"numero" doc:"Document number or outgoing registry number"`
			}
		}) (*struct{ Body ProductosDeAlbaranResult }, error) {
			ref, ms, err := s.deps.Custody.ProductosDeAlbaran(ctx, in.Body.Numero.text)
			if err != nil {
				return nil, err
			}
			out := ProductosDeAlbaranResult{Productos: make([]ProductoDeAlbaran, len(ms))}
			if ref != nil {
				out.AlbaranID, out.AlbaranNumero = &ref.ID, &ref.Numero
			}
			for i := range ms {
				m := &ms[i]
				desc := m.Descripcion
				if desc == nil {
					desc = &m.ProductoDescripcion
				}
				out.Productos[i] = ProductoDeAlbaran{Codigo: m.ProductoCodigo, NumeroSerie: m.NumeroSerie, Descripcion: desc,
					TipoMovimiento: string(m.Tipo), Fecha: isoTime(m.Fecha)}
			}
			return &struct{ Body ProductosDeAlbaranResult }{Body: out}, nil
		})

	Register(s.API, huma.Operation{OperationID: "albaranes-create", Method: http.MethodPost, Path: "/api/albaranes/", Tags: tags,
		DefaultStatus: http.StatusCreated,
		Summary:       "Create a document with its lines (all or nothing); outgoing transfers get their S<year>-NNNN number",
		Description: "JSON, or multipart/form-data with the JSON in `data` and the scan in `imagen_documento` (PNG, JPEG, WebP " +
			"or PDF), stored in the same transaction as the document. " +
			"An incoming (ENTRADA) document of a type other than INVENTARIO is staged instead (answer `{success, staged, …}` " +
			"as bulk_create): it becomes a document through the staging page once its codes are typed. " +
			"`modo: agregar_a_existente` adds the lines to the document carrying the number (200, as agregar-productos). " +
			"An outgoing line of an item already out of custody is refused. A duplicate number is a 409.",
		SkipValidateBody: true, // parsed by the handler (JSON or multipart)
		RequestBody: rawBodyDoc(s.API, reflect.TypeFor[albaranWrite](), "AlbaranWrite", map[string]*huma.Schema{
			"data":             {Type: huma.TypeString, Description: "The JSON body, as text"},
			"imagen_documento": {Type: huma.TypeString, Format: "binary", Description: "Scan of the document (PNG, JPEG, WebP or PDF)"},
		})}, write,
		func(ctx context.Context, in *stagingRawInput) (*albCreateOutput, error) {
			raw, img, err := jsonOrMultipart(in.ContentType, in.RawBody)
			if err != nil {
				return nil, err
			}
			return s.createAlbaran(ctx, raw, img)
		})

	Register(s.API, huma.Operation{OperationID: "albaranes-paginas-create", Method: http.MethodPost, Path: "/api/albaranes/{id}/paginas/", Tags: tags,
		DefaultStatus: http.StatusCreated,
		Summary:       "Add a scanned page to a document: its lines are staged under the document's registry number",
		Description: "The AC21 upload page's \"add as page N+1\" (api.ts crearPaginaAdicional): JSON or multipart as POST /api/albaranes/. " +
			"The lines are staged (`{success, staged, …}`); processing them in staging adds the page to the incoming document " +
			"with that registry number. An outgoing document's page is created directly, as POST /api/albaranes/ with " +
			"es_pagina_adicional does."}, write,
		func(ctx context.Context, in *struct {
			ID          string `path:"id" doc:"Main document id"`
			ContentType string `header:"Content-Type"`
			RawBody     []byte `contentType:"multipart/form-data"`
		}) (*albCreateOutput, error) {
			id, err := albPathID(in.ID)
			if err != nil {
				return nil, err
			}
			d, err := s.deps.Custody.GetAlbaran(ctx, id)
			if err != nil {
				return nil, err
			}
			raw, img, err := jsonOrMultipart(in.ContentType, in.RawBody)
			if err != nil {
				return nil, err
			}
			main := d.Albaran.ID
			if d.Albaran.DocumentoPrincipalID != nil {
				main = *d.Albaran.DocumentoPrincipalID
			}
			raw["es_pagina_adicional"], raw["documento_principal_id"] = true, main
			// The page inherits the document's direction and type unless it
			// says otherwise (the upload page sends neither at the top).
			if _, ok := raw["direccion_transferencia"]; !ok && d.Albaran.Direccion != nil {
				raw["direccion_transferencia"] = string(*d.Albaran.Direccion)
			}
			if _, ok := raw["tipo_documento"]; !ok && d.Albaran.Tipo != nil {
				raw["tipo_documento"] = string(*d.Albaran.Tipo)
			}
			if cab, ok := raw["cabecera"].(map[string]any); ok && d.Albaran.Direccion != nil && *d.Albaran.Direccion == custody.Entrada {
				// Staged under the main document's registry number, so that
				// processing makes it that document's next page.
				if reg := d.Albaran.NumeroRegistroEntrada; reg != "" {
					cab["numero_registro_entrada"] = reg
				}
			}
			return s.createAlbaran(ctx, raw, img)
		})

	Register(s.API, huma.Operation{OperationID: "albaranes-get", Method: http.MethodGet, Path: "/api/albaranes/{id}/", Tags: tags,
		Summary: "One document"}, read,
		func(ctx context.Context, in *albIDInput) (*albOutput, error) {
			id, err := albPathID(in.ID)
			if err != nil {
				return nil, err
			}
			d, err := s.deps.Custody.GetAlbaran(ctx, id)
			if err != nil {
				return nil, err
			}
			return &albOutput{Body: albaranResource(d)}, nil
		})

	update := func(ctx context.Context, in *albWriteInput) (*albOutput, error) {
		id, err := albPathID(in.ID)
		if err != nil {
			return nil, err
		}
		d, err := s.deps.Custody.UpdateAlbaran(ctx, id, in.Body.input())
		if err != nil {
			return nil, err
		}
		return &albOutput{Body: albaranResource(d)}, nil
	}
	const updDesc = "Changing tipo_documento or direccion_transferencia recomputes every item of the document. " +
		"`movimientos` replaces the movement list; every item touched (old and new product/serial) is recomputed."
	Register(s.API, huma.Operation{OperationID: "albaranes-update", Method: http.MethodPut, Path: "/api/albaranes/{id}/", Tags: tags,
		Summary: "Edit a document (fields left out are kept)", Description: updDesc}, write, update)
	Register(s.API, huma.Operation{OperationID: "albaranes-patch", Method: http.MethodPatch, Path: "/api/albaranes/{id}/", Tags: tags,
		Summary: "Edit some fields of a document", Description: updDesc}, write, update)

	Register(s.API, huma.Operation{OperationID: "albaranes-delete", Method: http.MethodDelete, Path: "/api/albaranes/{id}/", Tags: tags,
		DefaultStatus: http.StatusNoContent,
		Summary:       "Delete a document with its extra pages and movements; every touched item is recomputed once"}, del,
		func(ctx context.Context, in *albIDInput) (*struct{}, error) {
			id, err := albPathID(in.ID)
			if err != nil {
				return nil, err
			}
			images, err := s.deps.Custody.DeleteAlbaran(ctx, id)
			if err != nil {
				return nil, err
			}
			// The document is gone; its scans must not outlive it. A file
			// that fails to delete is logged, not an error for the caller.
			for _, name := range images {
				if s.deps.Files == nil {
					break
				}
				if err := s.deps.Files.Delete(ctx, name); err != nil {
					logger(ctx).Warn("deleting a document image", "file", name, "err", err)
				}
			}
			return &struct{}{}, nil
		})

	Register(s.API, huma.Operation{OperationID: "albaranes-movimientos", Method: http.MethodGet, Path: "/api/albaranes/{id}/movimientos/", Tags: tags,
		Summary: "The document's own movements in the order they were recorded (legacy); with ?incluir_paginas=true, a main document's extra pages' too, by page",
		Description: "The frontend loads each page's movements separately (AC21 detail, outgoing AC21 from an incoming one): " +
			"a main document's answer must not repeat its pages' lines."}, read,
		func(ctx context.Context, in *struct {
			ID             string `path:"id" doc:"Document id"`
			IncluirPaginas string `query:"incluir_paginas" doc:"true: add the extra pages' movements (main document)"`
		}) (*struct{ Body []MovimientoResource }, error) {
			id, err := albPathID(in.ID)
			if err != nil {
				return nil, err
			}
			ms, err := s.deps.Custody.AlbaranMovimientos(ctx, id, isTrue(in.IncluirPaginas))
			if err != nil {
				return nil, err
			}
			return &struct{ Body []MovimientoResource }{Body: movimientoResources(ms)}, nil
		})

	Register(s.API, huma.Operation{OperationID: "albaranes-agregar-productos", Method: http.MethodPost, Path: "/api/albaranes/{id}/agregar-productos/",
		Tags: tags, Summary: "Add lines to a document; lines already on it are skipped and counted"}, write,
		func(ctx context.Context, in *struct {
			ID   string `path:"id" doc:"Document id"`
			Body struct {
				Articulos []albArticulo `json:"articulos"`
			}
		}) (*struct{ Body AgregarProductosResult }, error) {
			id, err := albPathID(in.ID)
			if err != nil {
				return nil, err
			}
			r, err := s.deps.Custody.AgregarProductos(ctx, id, albArticulos(in.Body.Articulos))
			if err != nil {
				return nil, err
			}
			return &struct{ Body AgregarProductosResult }{Body: AgregarProductosResult{Success: true, Data: albaranResource(r.Albaran),
				Nuevos: r.Nuevos, Duplicados: r.Duplicados,
				Message: fmt.Sprintf("%d productos agregados, %d duplicados omitidos.", r.Nuevos, r.Duplicados)}}, nil
		})

	Register(s.API, huma.Operation{OperationID: "albaranes-paginas", Method: http.MethodGet, Path: "/api/albaranes/{id}/paginas/", Tags: tags,
		Summary: "Every page of the document (main and extra pages) by page number"}, read,
		func(ctx context.Context, in *albIDInput) (*struct{ Body []AlbaranResource }, error) {
			id, err := albPathID(in.ID)
			if err != nil {
				return nil, err
			}
			ds, err := s.deps.Custody.AlbaranPaginas(ctx, id)
			if err != nil {
				return nil, err
			}
			return &struct{ Body []AlbaranResource }{Body: albaranResources(ds)}, nil
		})
}
