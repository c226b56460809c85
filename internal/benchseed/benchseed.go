// Package benchseed loads the custody benchmark data set of
// ../shared/spec/legacy-baseline.md ("Data set") into an empty, migrated
// database: 30 product types, 2,000 catalog products CT-00001…CT-02000,
// 20,000 inventory items (10 serials per product; 10,000 in custody,
// 10,000 out), 5,000 documents with exactly 20 movements each (100,000
// movements) and 20 companies with their custodians.
//
// Every item has a consistent history: an INVENTARIO ENTRADA, then
// TRANSFERENCIA SALIDA and ENTRADA alternating; even items have 5
// movements and end in custody, odd items 4 or 6 and end out of custody.
// The inventory rows, their last movement, the movements' recorded states
// and the running totals (inventario_resumen) are exactly what replaying
// the movements gives, so the data satisfies the custody invariant.
//
// The data is deterministic (no randomness; dates start at Options.Base)
// and written with multi-row INSERTs in one transaction. It is a
// benchmark and test fixture, not a user action: nothing is audited.
package benchseed

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/uptrace/bun"

	"github.com/thot-security/thot/internal/custody"
	"github.com/thot-security/thot/internal/database"
)

// Options size the data set; zero fields take the full-scale value.
type Options struct {
	Types             int // 30
	Products          int // 2,000
	SerialsPerProduct int // 10
	Companies         int // 20
	LinesPerDocument  int // 20
	// Base is the date of the first document (2024-01-02 00:00 UTC);
	// documents follow one hour apart.
	Base time.Time
	// CreatedBy is recorded as the documents' and products' author.
	CreatedBy *int64
}

// Full is the legacy baseline's volume.
func Full() Options { return Options{}.withDefaults() }

// Small is 1/100 of it (20 products, 200 items, about 1,000 movements).
func Small() Options { return Options{Products: 20}.withDefaults() }

func (o Options) withDefaults() Options {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&o.Types, 30)
	def(&o.Products, 2000)
	def(&o.SerialsPerProduct, 10)
	def(&o.Companies, 20)
	def(&o.LinesPerDocument, 20)
	if o.Base.IsZero() {
		o.Base = time.Date(2024, 1, 2, 0, 0, 0, 0, time.UTC)
	}
	return o
}

// Producto is a planned catalog product (ids start at 1).
type Producto struct {
	ID     int64
	Codigo string
	Desc   string
	TipoID int64
}

// Item is a planned inventory item.
type Item struct {
	ID         int64
	ProductoID int64
	Serie      string
	Desc       string
	Estado     custody.Estado
	UltimoID   int64
}

// Albaran is a planned document.
type Albaran struct {
	ID                                int64
	Numero, RegistroEntrada, Registro string
	Fecha                             time.Time
	Tipo                              custody.Tipo
	Direccion                         custody.Direccion
	Origen, Destino                   int64
}

// Movimiento is a planned movement.
type Movimiento struct {
	ID              int64
	ProductoID      int64
	Serie, Desc     string
	AlbaranID       int64
	Fecha           time.Time
	Tipo            custody.Tipo
	Anterior, Nuevo custody.Estado
}

// Plan is the whole data set, computed without a database.
type Plan struct {
	Opts        Options
	Productos   []Producto
	Items       []Item
	Albaranes   []Albaran
	Movimientos []Movimiento
}

// Steps is the number of movements of item k: 5 for even items (ending in
// custody), 4 or 6 alternately for odd ones (ending out of custody).
func Steps(k int) int {
	switch {
	case k%2 == 0:
		return 5
	case (k/2)%2 == 0:
		return 4
	default:
		return 6
	}
}

// stepKind is what step j of an item's history is: an INVENTARIO ENTRADA
// first, then TRANSFERENCIA SALIDA (odd j) and ENTRADA (even j).
func stepKind(j int) (custody.Tipo, custody.Direccion) {
	switch {
	case j == 0:
		return custody.Inventario, custody.Entrada
	case j%2 == 1:
		return custody.Transferencia, custody.Salida
	default:
		return custody.Transferencia, custody.Entrada
	}
}

// NewPlan computes the data set for o.
func NewPlan(o Options) *Plan {
	o = o.withDefaults()
	p := &Plan{Opts: o}
	for i := 1; i <= o.Products; i++ {
		p.Productos = append(p.Productos, Producto{ID: int64(i), Codigo: fmt.Sprintf("CT-%05d", i),
			Desc:   fmt.Sprintf("Equipo cifrador %s modelo %03d", familias[(i-1)%len(familias)], (i-1)%997+1),
			TipoID: int64((i-1)%o.Types + 1)})
	}
	nItems := o.Products * o.SerialsPerProduct
	p.Items = make([]Item, nItems)
	for k := range nItems {
		prod := p.Productos[k/o.SerialsPerProduct]
		p.Items[k] = Item{ID: int64(k + 1), ProductoID: prod.ID, Serie: fmt.Sprintf("SN-%05d-%02d", prod.ID, k%o.SerialsPerProduct+1), Desc: prod.Desc}
	}
	var (
		docID, movID int64
		salidas      int
		state        = make([]custody.Estado, nItems)
	)
	for j := 0; j < 6; j++ {
		tipo, dir := stepKind(j)
		nuevo := custody.EstadoNuevo(tipo, dir)
		var step []int
		for k := range nItems {
			if Steps(k) > j {
				step = append(step, k)
			}
		}
		for len(step) > 0 {
			n := min(len(step), o.LinesPerDocument)
			docID++
			fecha := o.Base.Add(time.Duration(docID-1) * time.Hour)
			a := Albaran{ID: docID, Fecha: fecha, Tipo: tipo, Direccion: dir,
				Origen: (docID-1)%int64(o.Companies) + 1, Destino: docID%int64(o.Companies) + 1}
			switch {
			case tipo == custody.Inventario:
				a.Numero = fmt.Sprintf("INV-%05d", docID)
			case dir == custody.Salida:
				salidas++
				a.Registro = fmt.Sprintf("S%d-%04d", fecha.Year(), salidas)
				a.Numero = a.Registro
			default:
				a.Numero = fmt.Sprintf("ENT-%05d", docID)
				a.RegistroEntrada = fmt.Sprintf("E%d-%05d", fecha.Year(), docID)
			}
			p.Albaranes = append(p.Albaranes, a)
			for line, k := range step[:n] {
				movID++
				ant := custody.Inactivo
				if j > 0 {
					ant = state[k]
				}
				it := &p.Items[k]
				p.Movimientos = append(p.Movimientos, Movimiento{ID: movID, ProductoID: it.ProductoID, Serie: it.Serie, Desc: it.Desc,
					AlbaranID: docID, Fecha: fecha.Add(time.Duration(line) * time.Microsecond), Tipo: tipo, Anterior: ant, Nuevo: nuevo})
				state[k] = nuevo
				it.Estado, it.UltimoID = nuevo, movID
			}
			step = step[n:]
		}
	}
	return p
}

var familias = []string{"TALOS", "EPICURO", "KRIPTOS", "MENTOR", "ARGOS", "HERMES", "ZEUS", "ATENEA"}

// Seed loads the data set into db, which must hold no catalog products and
// no documents yet.
func Seed(ctx context.Context, db *database.DB, opts Options) error {
	p := NewPlan(opts)
	err := db.InTx(ctx, func(ctx context.Context, tx bun.Tx) error {
		var n int
		if err := tx.NewRaw("SELECT (SELECT count(*) FROM productos) + (SELECT count(*) FROM albaranes) + (SELECT count(*) FROM tipos_producto) + (SELECT count(*) FROM empresas)").Scan(ctx, &n); err != nil {
			return err
		}
		if n > 0 {
			return errors.New("benchseed: the database already holds custody data; seed an empty one")
		}
		return p.insert(ctx, tx, db.Engine)
	})
	if err != nil || db.Engine != database.Postgres {
		return err
	}
	// As after any bulk load: statistics for the planner, the visibility
	// map for index-only scans, and the GIN pending lists flushed (the
	// trigram indexes are not used while their pending list is long).
	for _, t := range []string{"tipos_producto", "productos", "empresas", "cryptocustodios", "albaranes", "movimientos", "inventario"} {
		if _, err := db.NewRaw("VACUUM ANALYZE " + t).Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// batch writes rows with multi-row INSERTs of up to size rows.
type batch struct {
	ctx    context.Context
	tx     bun.Tx
	prefix string
	ph     string
	size   int
	n      int
	sql    strings.Builder
	args   []any
}

func newBatch(ctx context.Context, tx bun.Tx, prefix string, cols int, size int) *batch {
	ph := "(" + strings.TrimSuffix(strings.Repeat("?, ", cols), ", ") + ")"
	return &batch{ctx: ctx, tx: tx, prefix: prefix, ph: ph, size: size}
}

func (b *batch) add(args ...any) error {
	if b.n == 0 {
		b.sql.Reset()
		b.sql.WriteString(b.prefix)
		b.sql.WriteString(" VALUES ")
	} else {
		b.sql.WriteString(", ")
	}
	b.sql.WriteString(b.ph)
	b.args = append(b.args, args...)
	b.n++
	if b.n >= b.size {
		return b.flush()
	}
	return nil
}

func (b *batch) flush() error {
	if b.n == 0 {
		return nil
	}
	_, err := b.tx.NewRaw(b.sql.String(), b.args...).Exec(b.ctx)
	b.n, b.args = 0, b.args[:0]
	return err
}

func (p *Plan) insert(ctx context.Context, tx bun.Tx, engine database.Dialect) error {
	o := p.Opts
	created := o.Base.Add(-24 * time.Hour)

	b := newBatch(ctx, tx, "INSERT INTO tipos_producto (id, nombre)", 2, 500)
	for i := 1; i <= o.Types; i++ {
		if err := b.add(int64(i), fmt.Sprintf("Tipo %02d", i)); err != nil {
			return err
		}
	}
	if err := b.flush(); err != nil {
		return err
	}

	b = newBatch(ctx, tx, "INSERT INTO productos (id, codigo_producto, descripcion, tipo_id, search, created_by_id, updated_by_id, ultima_actualizacion)", 8, 500)
	for _, x := range p.Productos {
		if err := b.add(x.ID, x.Codigo, x.Desc, x.TipoID, custody.Fold(x.Codigo+" "+x.Desc), o.CreatedBy, o.CreatedBy, created); err != nil {
			return err
		}
	}
	if err := b.flush(); err != nil {
		return err
	}

	b = newBatch(ctx, tx, "INSERT INTO empresas (id, nombre, direccion, ciudad, codigo_postal, provincia, numero_odmc, activa)", 8, 500)
	c := newBatch(ctx, tx, "INSERT INTO cryptocustodios (id, empresa_id, empleo_rango, nombre_apellidos, cargo)", 5, 500)
	for i := 1; i <= o.Companies; i++ {
		city := ciudades[(i-1)%len(ciudades)]
		if err := b.add(int64(i), fmt.Sprintf("Empresa %02d S.A.", i), fmt.Sprintf("Calle Mayor %d", i), city[0], fmt.Sprintf("%05d", 28000+i),
			city[1], fmt.Sprintf("ODMC-%03d", i), true); err != nil {
			return err
		}
		for j := 1; j <= 2; j++ {
			if err := c.add(int64((i-1)*2+j), int64(i), "Capitán", fmt.Sprintf("Custodio %d de la empresa %02d", j, i), "Jefe de cuenta"); err != nil {
				return err
			}
		}
	}
	if err := b.flush(); err != nil {
		return err
	}
	if err := c.flush(); err != nil {
		return err
	}

	b = newBatch(ctx, tx, `INSERT INTO albaranes (id, numero, fecha, direccion_transferencia, empresa_origen_id, empresa_destino_id, tipo_documento,
		odmc_numero, fecha_informe, numero_registro_salida, fecha_transaccion, numero_registro_entrada, codigo_contabilidad, estado_material,
		observaciones_odmc, search, created_by_id, updated_by_id, created_at, updated_at)`, 20, 500)
	for _, a := range p.Albaranes {
		day := time.Date(a.Fecha.Year(), a.Fecha.Month(), a.Fecha.Day(), 0, 0, 0, 0, time.UTC)
		var reg, material *string
		if a.Registro != "" {
			r := a.Registro
			reg = &r
		}
		switch {
		case a.Tipo == custody.Inventario:
			m := string(custody.Inventariado)
			material = &m
		case a.Direccion == custody.Entrada:
			m := string(custody.Recibido)
			material = &m
		}
		odmc := fmt.Sprintf("ODMC-%03d", a.Origen)
		search := custody.Fold(strings.Join([]string{a.Numero, a.RegistroEntrada, odmc, "CC-01", "", a.Registro}, " "))
		if err := b.add(a.ID, a.Numero, a.Fecha, string(a.Direccion), a.Origen, a.Destino, string(a.Tipo), odmc, day, reg, day,
			a.RegistroEntrada, "CC-01", material, "", search, o.CreatedBy, o.CreatedBy, a.Fecha, a.Fecha); err != nil {
			return err
		}
	}
	if err := b.flush(); err != nil {
		return err
	}

	b = newBatch(ctx, tx, `INSERT INTO movimientos (id, producto_id, numero_serie, descripcion, albaran_id, fecha, tipo_movimiento,
		estado_anterior, estado_nuevo, cantidad, cc, observaciones)`, 12, 1000)
	for _, m := range p.Movimientos {
		if err := b.add(m.ID, m.ProductoID, m.Serie, m.Desc, m.AlbaranID, m.Fecha, string(m.Tipo), string(m.Anterior), string(m.Nuevo), 1, 1, nil); err != nil {
			return err
		}
	}
	if err := b.flush(); err != nil {
		return err
	}

	b = newBatch(ctx, tx, `INSERT INTO inventario (id, producto_id, numero_serie, descripcion, estado, estado_inicial, ubicacion,
		ultimo_movimiento_id, ultima_actualizacion, notas, search)`, 11, 1000)
	var activos, inactivos int
	last := p.Movimientos
	for _, it := range p.Items {
		if it.Estado == custody.Activo {
			activos++
		} else {
			inactivos++
		}
		var ubic *string
		if it.Estado == custody.Activo {
			u := fmt.Sprintf("Armario %d", it.ID%8+1)
			ubic = &u
		}
		fecha := last[it.UltimoID-1].Fecha
		// estado_inicial stays NULL: the first movement is an ENTRADA, so
		// the item did not exist before it (custody.Baseline).
		if err := b.add(it.ID, it.ProductoID, it.Serie, it.Desc, string(it.Estado), nil, ubic, it.UltimoID, fecha, nil,
			searchItem(it.Serie, it.Desc, ubic)); err != nil {
			return err
		}
	}
	if err := b.flush(); err != nil {
		return err
	}
	if _, err := tx.NewRaw("UPDATE inventario_resumen SET total = total + ?, en_custodia = en_custodia + ?, fuera_custodia = fuera_custodia + ? WHERE id = 1",
		activos+inactivos, activos, inactivos).Exec(ctx); err != nil {
		return err
	}
	if engine == database.Postgres {
		// Explicit ids leave the identity sequences behind.
		for _, t := range []string{"tipos_producto", "productos", "empresas", "cryptocustodios", "albaranes", "movimientos", "inventario"} {
			if _, err := tx.NewRaw("SELECT setval(pg_get_serial_sequence('" + t + "', 'id'), (SELECT COALESCE(max(id), 0) + 1 FROM " + t + "), false)").Exec(ctx); err != nil {
				return err
			}
		}
	}
	if engine == database.SQLite {
		// Fresh statistics, so the first queries are planned on the real
		// volume (PostgreSQL's VACUUM ANALYZE runs after the commit).
		if _, err := tx.NewRaw("ANALYZE").Exec(ctx); err != nil {
			return err
		}
	}
	return nil
}

// searchItem matches sqlstore's inventory search column (serial,
// description, location, notes; folded).
func searchItem(serie, desc string, ubic *string) string {
	parts := []string{serie, desc}
	if ubic != nil {
		parts = append(parts, *ubic)
	}
	return custody.Fold(strings.Join(parts, " "))
}

var ciudades = [][2]string{{"Madrid", "Madrid"}, {"Sevilla", "Sevilla"}, {"Valencia", "Valencia"}, {"Zaragoza", "Zaragoza"},
	{"Bilbao", "Vizcaya"}, {"A Coruña", "A Coruña"}, {"Valladolid", "Valladolid"}, {"Cartagena", "Murcia"}}
