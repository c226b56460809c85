package sqlstore

import (
	"context"

	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/database"
)

// The AC21 loader: a whole document (main document and extra pages), its
// companies and every line, in two queries whatever the size.

// ac21PageRow is one page of the document with the companies of its row.
type ac21PageRow struct {
	albaranRow

	OrigenNombre       *string `bun:"origen_nombre"`
	OrigenDireccion    *string `bun:"origen_direccion"`
	OrigenCiudad       *string `bun:"origen_ciudad"`
	OrigenCodigoPostal *string `bun:"origen_codigo_postal"`
	OrigenProvincia    *string `bun:"origen_provincia"`
	OrigenODMC         *string `bun:"origen_numero_odmc"`

	DestinoNombre       *string `bun:"destino_nombre"`
	DestinoDireccion    *string `bun:"destino_direccion"`
	DestinoCiudad       *string `bun:"destino_ciudad"`
	DestinoCodigoPostal *string `bun:"destino_codigo_postal"`
	DestinoProvincia    *string `bun:"destino_provincia"`
	DestinoODMC         *string `bun:"destino_numero_odmc"`
}

type ac21LineRow struct {
	ID                  int64   `bun:"id"`
	AlbaranID           int64   `bun:"albaran_id"`
	ProductoID          int64   `bun:"producto_id"`
	ProductoCodigo      string  `bun:"producto_codigo"`
	ProductoDescripcion string  `bun:"producto_descripcion"`
	NumeroSerie         string  `bun:"numero_serie"`
	Descripcion         *string `bun:"descripcion"`
	Cantidad            int     `bun:"cantidad"`
	CC                  *int    `bun:"cc"`
	Observaciones       *string `bun:"observaciones"`
}

// ac21Doc selects the main document of the document with id ?: itself, or
// the one it is a page of.
const ac21Doc = `(SELECT COALESCE(x.documento_principal_id, x.id) FROM albaranes x WHERE x.id = ?)`

// AC21Source loads the document id belongs to, with all its pages, their
// lines and the main document's companies.
func (s *Store) AC21Source(ctx context.Context, id int64) (*custody.AC21Source, error) {
	var pages []ac21PageRow
	err := s.db.NewRaw(`SELECT a.*,
			eo.nombre AS origen_nombre, eo.direccion AS origen_direccion, eo.ciudad AS origen_ciudad,
			eo.codigo_postal AS origen_codigo_postal, eo.provincia AS origen_provincia, eo.numero_odmc AS origen_numero_odmc,
			ed.nombre AS destino_nombre, ed.direccion AS destino_direccion, ed.ciudad AS destino_ciudad,
			ed.codigo_postal AS destino_codigo_postal, ed.provincia AS destino_provincia, ed.numero_odmc AS destino_numero_odmc
		FROM albaranes a
		LEFT JOIN empresas eo ON eo.id = a.empresa_origen_id
		LEFT JOIN empresas ed ON ed.id = a.empresa_destino_id
		WHERE a.id = `+ac21Doc+` OR a.documento_principal_id = `+ac21Doc+`
		ORDER BY CASE WHEN a.documento_principal_id IS NULL THEN 0 ELSE 1 END, a.pagina_numero, a.id`, id, id).Scan(ctx, &pages)
	if err != nil {
		return nil, database.Translate(err)
	}
	if len(pages) == 0 {
		return nil, errNotFound("Albarán")
	}
	var lines []ac21LineRow
	err = s.db.NewRaw(`SELECT m.id, m.albaran_id, m.producto_id, p.codigo_producto AS producto_codigo, p.descripcion AS producto_descripcion,
			m.numero_serie, m.descripcion, m.cantidad, m.cc, m.observaciones
		FROM movimientos m
		JOIN albaranes a ON a.id = m.albaran_id
		JOIN productos p ON p.id = m.producto_id
		WHERE a.id = `+ac21Doc+` OR a.documento_principal_id = `+ac21Doc+`
		ORDER BY m.albaran_id, m.id`, id, id).Scan(ctx, &lines)
	if err != nil {
		return nil, database.Translate(err)
	}

	src := &custody.AC21Source{Paginas: make([]custody.AC21SourcePage, len(pages))}
	index := make(map[int64]int, len(pages))
	for i := range pages {
		src.Paginas[i].Albaran = *pages[i].albaran()
		index[pages[i].ID] = i
	}
	// A page added between the two queries has no header here: its lines
	// wait for the next rendering rather than land on another page.
	for _, l := range lines {
		i, ok := index[l.AlbaranID]
		if !ok {
			continue
		}
		src.Paginas[i].Lineas = append(src.Paginas[i].Lineas, custody.Movimiento{
			ID: l.ID, ProductoID: l.ProductoID, ProductoCodigo: l.ProductoCodigo, ProductoDescripcion: l.ProductoDescripcion,
			NumeroSerie: l.NumeroSerie, Descripcion: l.Descripcion, AlbaranID: l.AlbaranID, AlbaranNumero: pages[i].Numero,
			Cantidad: l.Cantidad, CC: l.CC, Observaciones: l.Observaciones, PaginaOrigen: pages[i].PaginaNumero,
		})
	}
	main := &pages[0]
	if main.OrigenNombre != nil {
		src.Origen = &custody.Empresa{ID: *main.EmpresaOrigenID, Nombre: *main.OrigenNombre, Direccion: *main.OrigenDireccion,
			Ciudad: *main.OrigenCiudad, CodigoPostal: *main.OrigenCodigoPostal, Provincia: *main.OrigenProvincia, NumeroODMC: *main.OrigenODMC}
	}
	if main.DestinoNombre != nil {
		src.Destino = &custody.Empresa{ID: *main.EmpresaDestinoID, Nombre: *main.DestinoNombre, Direccion: *main.DestinoDireccion,
			Ciudad: *main.DestinoCiudad, CodigoPostal: *main.DestinoCodigoPostal, Provincia: *main.DestinoProvincia, NumeroODMC: *main.DestinoODMC}
	}
	return src, nil
}
