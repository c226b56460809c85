package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/audit"
	"github.com/thot-security/thot/internal/custody"
)

// Row models and the low-level writes shared by every custody flow
// (document creation, staging "procesar", edits). They take the caller's
// transaction; callers recompute the touched items (recomputeItems) before
// committing.

type albaranRow struct {
	bun.BaseModel                         `bun:"table:albaranes,alias:a"`
	ID                                    int64      `bun:"id,pk,autoincrement"`
	Numero                                string     `bun:"numero,notnull"`
	Fecha                                 time.Time  `bun:"fecha,notnull"`
	PaginaNumero                          int        `bun:"pagina_numero,notnull"`
	TotalPaginas                          int        `bun:"total_paginas,notnull"`
	DocumentoPrincipalID                  *int64     `bun:"documento_principal_id"`
	DireccionTransferencia                *string    `bun:"direccion_transferencia"`
	EmpresaOrigenID                       *int64     `bun:"empresa_origen_id"`
	EmpresaDestinoID                      *int64     `bun:"empresa_destino_id"`
	TipoDocumento                         *string    `bun:"tipo_documento"`
	ODMCNumero                            string     `bun:"odmc_numero,notnull"`
	FechaInforme                          *time.Time `bun:"fecha_informe"`
	NumeroRegistroSalida                  *string    `bun:"numero_registro_salida"`
	FechaTransaccion                      *time.Time `bun:"fecha_transaccion"`
	NumeroRegistroEntrada                 string     `bun:"numero_registro_entrada,notnull"`
	CodigoContabilidad                    string     `bun:"codigo_contabilidad,notnull"`
	ImagenDocumento                       string     `bun:"imagen_documento,notnull"`
	Accesorios                            string     `bun:"accesorios,notnull"`
	EquiposPrueba                         string     `bun:"equipos_prueba,notnull"`
	EstadoMaterial                        *string    `bun:"estado_material"`
	DestinatarioAutorizadoTestigo         bool       `bun:"destinatario_autorizado_testigo,notnull"`
	DestinatarioAutorizadoOtro            bool       `bun:"destinatario_autorizado_otro,notnull"`
	DestinatarioAutorizadoOtroEspecificar *string    `bun:"destinatario_autorizado_otro_especificar"`
	FirmaA                                *string    `bun:"firma_a"`
	FirmaAEmpleoRango                     *string    `bun:"firma_a_empleo_rango"`
	FirmaANombreApellidos                 *string    `bun:"firma_a_nombre_apellidos"`
	FirmaACargo                           *string    `bun:"firma_a_cargo"`
	FirmaB                                *string    `bun:"firma_b"`
	FirmaBEmpleoRango                     *string    `bun:"firma_b_empleo_rango"`
	FirmaBNombreApellidos                 *string    `bun:"firma_b_nombre_apellidos"`
	FirmaBCargo                           *string    `bun:"firma_b_cargo"`
	ObservacionesODMC                     string     `bun:"observaciones_odmc,notnull"`
	Search                                string     `bun:"search,notnull"`
	CreatedByID                           *int64     `bun:"created_by_id"`
	UpdatedByID                           *int64     `bun:"updated_by_id"`
	CreatedAt                             time.Time  `bun:"created_at,notnull"`
	UpdatedAt                             time.Time  `bun:"updated_at,notnull"`

	CreatedByUsername string `bun:"created_by_username,scanonly"`
	UpdatedByUsername string `bun:"updated_by_username,scanonly"`
}

func strPtr[T ~string](v *T) *string {
	if v == nil {
		return nil
	}
	s := string(*v)
	return &s
}

func fromAlbaran(a *custody.Albaran) *albaranRow {
	acc, _ := json.Marshal(nonNil(a.Accesorios))
	eq, _ := json.Marshal(nonNil(a.EquiposPrueba))
	return &albaranRow{
		ID: a.ID, Numero: a.Numero, Fecha: a.Fecha.UTC(), PaginaNumero: max(a.PaginaNumero, 1), TotalPaginas: max(a.TotalPaginas, 1),
		DocumentoPrincipalID: a.DocumentoPrincipalID, DireccionTransferencia: strPtr(a.Direccion),
		EmpresaOrigenID: a.EmpresaOrigenID, EmpresaDestinoID: a.EmpresaDestinoID, TipoDocumento: strPtr(a.Tipo),
		ODMCNumero: a.ODMCNumero, FechaInforme: a.FechaInforme, NumeroRegistroSalida: a.NumeroRegistroSalida,
		FechaTransaccion: a.FechaTransaccion, NumeroRegistroEntrada: a.NumeroRegistroEntrada, CodigoContabilidad: a.CodigoContabilidad,
		ImagenDocumento: a.ImagenDocumento, Accesorios: string(acc), EquiposPrueba: string(eq), EstadoMaterial: strPtr(a.EstadoMaterial),
		DestinatarioAutorizadoTestigo: a.DestinatarioTestigo, DestinatarioAutorizadoOtro: a.DestinatarioOtro,
		DestinatarioAutorizadoOtroEspecificar: a.DestinatarioOtroEspec,
		FirmaA:                                a.FirmaA.Firma, FirmaAEmpleoRango: a.FirmaA.EmpleoRango, FirmaANombreApellidos: a.FirmaA.NombreApellidos, FirmaACargo: a.FirmaA.Cargo,
		FirmaB: a.FirmaB.Firma, FirmaBEmpleoRango: a.FirmaB.EmpleoRango, FirmaBNombreApellidos: a.FirmaB.NombreApellidos, FirmaBCargo: a.FirmaB.Cargo,
		ObservacionesODMC: a.ObservacionesODMC, Search: albaranSearch(a),
		CreatedByID: a.CreatedByID, UpdatedByID: a.UpdatedByID, CreatedAt: a.CreatedAt.UTC(), UpdatedAt: a.UpdatedAt.UTC(),
	}
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// albaranSearch is the folded text ?search= matches on documents.
func albaranSearch(a *custody.Albaran) string {
	parts := []string{a.Numero, a.NumeroRegistroEntrada, a.ODMCNumero, a.CodigoContabilidad, a.ObservacionesODMC}
	if a.NumeroRegistroSalida != nil {
		parts = append(parts, *a.NumeroRegistroSalida)
	}
	return custody.Fold(strings.Join(parts, " "))
}

func (r *albaranRow) albaran() *custody.Albaran {
	a := &custody.Albaran{
		ID: r.ID, Numero: r.Numero, Fecha: r.Fecha.UTC(), PaginaNumero: r.PaginaNumero, TotalPaginas: r.TotalPaginas,
		DocumentoPrincipalID: r.DocumentoPrincipalID, EmpresaOrigenID: r.EmpresaOrigenID, EmpresaDestinoID: r.EmpresaDestinoID,
		ODMCNumero: r.ODMCNumero, FechaInforme: r.FechaInforme, NumeroRegistroSalida: r.NumeroRegistroSalida,
		FechaTransaccion: r.FechaTransaccion, NumeroRegistroEntrada: r.NumeroRegistroEntrada, CodigoContabilidad: r.CodigoContabilidad,
		ImagenDocumento: r.ImagenDocumento, DestinatarioTestigo: r.DestinatarioAutorizadoTestigo, DestinatarioOtro: r.DestinatarioAutorizadoOtro,
		DestinatarioOtroEspec: r.DestinatarioAutorizadoOtroEspecificar,
		FirmaA:                custody.Firma{Firma: r.FirmaA, EmpleoRango: r.FirmaAEmpleoRango, NombreApellidos: r.FirmaANombreApellidos, Cargo: r.FirmaACargo},
		FirmaB:                custody.Firma{Firma: r.FirmaB, EmpleoRango: r.FirmaBEmpleoRango, NombreApellidos: r.FirmaBNombreApellidos, Cargo: r.FirmaBCargo},
		ObservacionesODMC:     r.ObservacionesODMC, CreatedByID: r.CreatedByID, UpdatedByID: r.UpdatedByID,
		CreatedByUsername: r.CreatedByUsername, UpdatedByUsername: r.UpdatedByUsername,
		CreatedAt: r.CreatedAt.UTC(), UpdatedAt: r.UpdatedAt.UTC(),
	}
	if r.DireccionTransferencia != nil {
		d := custody.Direccion(*r.DireccionTransferencia)
		a.Direccion = &d
	}
	if r.TipoDocumento != nil {
		t := custody.Tipo(*r.TipoDocumento)
		a.Tipo = &t
	}
	if r.EstadoMaterial != nil {
		e := custody.EstadoMaterial(*r.EstadoMaterial)
		a.EstadoMaterial = &e
	}
	_ = json.Unmarshal([]byte(r.Accesorios), &a.Accesorios)
	_ = json.Unmarshal([]byte(r.EquiposPrueba), &a.EquiposPrueba)
	return a
}

// albaranAudit is what audit entries record of a document.
func albaranAudit(a *custody.Albaran) map[string]any {
	b, _ := json.Marshal(fromAlbaran(a))
	var m map[string]any
	_ = json.Unmarshal(b, &m)
	delete(m, "Search")
	return m
}

// insertAlbaran stores a document header, sets its ID and audits it.
func insertAlbaran(ctx context.Context, tx bun.Tx, a *custody.Albaran) error {
	now := time.Now().UTC()
	if a.CreatedAt.IsZero() {
		a.CreatedAt = now
	}
	a.UpdatedAt = now
	if a.Fecha.IsZero() {
		a.Fecha = now
	}
	row := fromAlbaran(a)
	row.ID = 0
	if _, err := tx.NewInsert().Model(row).Returning("id").Exec(ctx); err != nil {
		return err
	}
	a.ID = row.ID
	return writeAudit(ctx, tx, audit.Entry{Action: audit.ActionCreate, TableName: "albaranes", RecordID: itoa(a.ID), NewValues: albaranAudit(a)})
}

// productoID returns the catalog id of codigo, creating an untyped product
// (with descripcion, or "Producto <codigo>") when create is set.
func productoID(ctx context.Context, tx bun.Tx, codigo, descripcion string, create bool) (int64, bool, error) {
	var id int64
	err := tx.NewRaw("SELECT id FROM productos WHERE codigo_producto = ?", codigo).Scan(ctx, &id)
	if err == nil {
		return id, false, nil
	}
	if !isNoRows(err) {
		return 0, false, err
	}
	if !create {
		return 0, false, nil
	}
	if strings.TrimSpace(descripcion) == "" {
		descripcion = "Producto " + codigo
	}
	err = tx.NewRaw(`INSERT INTO productos (codigo_producto, descripcion, search, created_by_id, updated_by_id, ultima_actualizacion)
		VALUES (?, ?, ?, ?, ?, ?) RETURNING id`, codigo, descripcion, custody.Fold(codigo+" "+descripcion),
		audit.ActorFrom(ctx).UserID, audit.ActorFrom(ctx).UserID, time.Now().UTC()).Scan(ctx, &id)
	if err != nil {
		return 0, false, err
	}
	return id, true, writeAudit(ctx, tx, audit.Entry{Action: audit.ActionCreate, TableName: "productos", RecordID: itoa(id),
		NewValues: map[string]any{"codigo_producto": codigo, "descripcion": descripcion}})
}

// NewMovement is one line to add to a document.
type NewMovement struct {
	ProductoID    int64
	NumeroSerie   string
	Descripcion   *string
	Tipo          custody.Tipo
	Cantidad      int
	CC            *int
	Observaciones *string
}

// insertMovements adds lines to document albaranID (its direction and
// type decide the new state; recomputeItems fills in the states) and
// returns the touched keys. A (product, serial) already on the document
// is a conflict naming the line.
func insertMovements(ctx context.Context, tx bun.Tx, albaranID int64, lines []NewMovement) ([]custody.ItemKey, error) {
	keys := make([]custody.ItemKey, 0, len(lines))
	audits := make([]audit.Entry, 0, len(lines))
	now := time.Now().UTC()
	// One multi-row INSERT per chunk instead of a statement per line (and
	// one batch of audit rows): a 200-line document was 400 round trips.
	const chunk = 500
	for start := 0; start < len(lines); start += chunk {
		part := lines[start:min(len(lines), start+chunk)]
		var b strings.Builder
		b.WriteString(`INSERT INTO movimientos (producto_id, numero_serie, descripcion, albaran_id, fecha, tipo_movimiento, estado_anterior, estado_nuevo, cantidad, cc, observaciones) VALUES `)
		args := make([]any, 0, len(part)*9)
		for j, l := range part {
			if j > 0 {
				b.WriteString(", ")
			}
			b.WriteString("(?, ?, ?, ?, ?, ?, 'inactivo', 'activo', ?, ?, ?)")
			// Microseconds apart, so the lines keep their order.
			args = append(args, l.ProductoID, l.NumeroSerie, l.Descripcion, albaranID, now.Add(time.Duration(start+j)*time.Microsecond),
				string(l.Tipo), max(l.Cantidad, 0), l.CC, l.Observaciones)
		}
		b.WriteString(" RETURNING id, producto_id, numero_serie")
		var got []struct {
			ID          int64  `bun:"id"`
			ProductoID  int64  `bun:"producto_id"`
			NumeroSerie string `bun:"numero_serie"`
		}
		if err := tx.NewRaw(b.String(), args...).Scan(ctx, &got); err != nil {
			return nil, err
		}
		if len(got) != len(part) {
			return nil, fmt.Errorf("sqlstore: inserted %d movements, got %d ids back", len(part), len(got))
		}
		// RETURNING order is not promised: match by (product, serial),
		// unique on a document.
		ids := make(map[custody.ItemKey]int64, len(got))
		for _, g := range got {
			ids[custody.ItemKey{ProductoID: g.ProductoID, NumeroSerie: g.NumeroSerie}] = g.ID
		}
		for _, l := range part {
			k := custody.ItemKey{ProductoID: l.ProductoID, NumeroSerie: l.NumeroSerie}
			audits = append(audits, audit.Entry{Action: audit.ActionCreate, TableName: "movimientos", RecordID: itoa(ids[k]),
				NewValues: map[string]any{"albaran_id": albaranID, "producto_id": l.ProductoID, "numero_serie": l.NumeroSerie, "tipo_movimiento": l.Tipo}})
			keys = append(keys, k)
		}
	}
	if err := albWriteAudits(ctx, tx, audits); err != nil {
		return nil, err
	}
	return keys, nil
}
