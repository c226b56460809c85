package custody

import (
	"sync"
	"time"
)

// TipoProducto is a product type (legacy TipoProducto).
type TipoProducto struct {
	ID     int64
	Nombre string
}

// Producto is a catalog entry, unique by code.
type Producto struct {
	ID                  int64
	CodigoProducto      string
	Descripcion         string
	TipoID              *int64
	TipoNombre          string
	UltimaActualizacion time.Time
}

// Empresa is a company that sends or receives material. Deleting one only
// deactivates it.
type Empresa struct {
	ID           int64
	Nombre       string
	Direccion    string
	Ciudad       string
	CodigoPostal string
	Provincia    string
	NumeroODMC   string
	Activa       bool
	Custodios    []Cryptocustodio
}

// DireccionCompleta is "direccion, CP ciudad, provincia" without empty parts.
func (e *Empresa) DireccionCompleta() string {
	parts := []string{}
	if e.Direccion != "" {
		parts = append(parts, e.Direccion)
	}
	city := e.CodigoPostal
	if e.Ciudad != "" {
		if city != "" {
			city += " "
		}
		city += e.Ciudad
	}
	if city != "" {
		parts = append(parts, city)
	}
	if e.Provincia != "" {
		parts = append(parts, e.Provincia)
	}
	out := ""
	for i, p := range parts {
		if i > 0 {
			out += ", "
		}
		out += p
	}
	return out
}

// Cryptocustodio is a company's custodian of crypto material.
type Cryptocustodio struct {
	ID              int64
	EmpresaID       int64
	EmpleoRango     string
	NombreApellidos string
	Cargo           string
}

// Accesorio is an AC21 accessory line.
type Accesorio struct {
	Descripcion string `json:"descripcion"`
	Cantidad    int    `json:"cantidad"`
}

// EquipoPrueba is an AC21 test-equipment line.
type EquipoPrueba struct {
	Codigo string `json:"codigo"`
}

// Firma is a signature block of the AC21 (A: destinatario, B: testigo).
type Firma struct {
	Firma           *string
	EmpleoRango     *string
	NombreApellidos *string
	Cargo           *string
}

// Albaran is a document header (an AC21 or another delivery note). Extra
// pages point at their main document and are numbered "<main>-P<n>".
type Albaran struct {
	ID                    int64
	Numero                string
	Fecha                 time.Time
	PaginaNumero          int
	TotalPaginas          int
	DocumentoPrincipalID  *int64
	Direccion             *Direccion
	EmpresaOrigenID       *int64
	EmpresaDestinoID      *int64
	Tipo                  *Tipo
	ODMCNumero            string
	FechaInforme          *time.Time // date
	NumeroRegistroSalida  *string
	FechaTransaccion      *time.Time // date
	NumeroRegistroEntrada string
	CodigoContabilidad    string
	ImagenDocumento       string // file-store name, "" when none
	Accesorios            []Accesorio
	EquiposPrueba         []EquipoPrueba
	EstadoMaterial        *EstadoMaterial
	DestinatarioTestigo   bool
	DestinatarioOtro      bool
	DestinatarioOtroEspec *string
	FirmaA, FirmaB        Firma
	ObservacionesODMC     string
	CreatedByID           *int64
	UpdatedByID           *int64
	CreatedByUsername     string
	UpdatedByUsername     string
	CreatedAt, UpdatedAt  time.Time
}

// Movimiento is one (product, serial) on one document.
type Movimiento struct {
	ID                  int64
	ProductoID          int64
	ProductoCodigo      string
	ProductoDescripcion string
	NumeroSerie         string
	Descripcion         *string
	AlbaranID           int64
	AlbaranNumero       string
	Fecha               time.Time
	Tipo                Tipo
	EstadoAnterior      Estado
	EstadoNuevo         Estado
	Cantidad            int
	CC                  *int
	Observaciones       *string
	// PaginaOrigen / PaginaID: the page of a multi-page document the
	// movement is on (the document itself for single pages).
	PaginaOrigen int
}

// Item is one inventory row.
type Item struct {
	ID                  int64
	ProductoID          int64
	CodigoProducto      string
	Descripcion         *string
	TipoNombre          string
	NumeroSerie         string
	Estado              Estado
	Ubicacion           *string
	UltimaActualizacion time.Time
	UltimoMovimiento    *Movimiento
	Notas               *string
}

// LineaTemporal is a staging line: one row of an incoming packing list or
// OCR'd AC21, waiting to be typed and processed into a document.
type LineaTemporal struct {
	ID               int64
	UsuarioID        int64
	NumeroAlbaran    string
	CodigoProducto   string
	Descripcion      *string
	NumeroSerie      string
	BultosTotal      *int
	Observaciones    *string
	Procesado        bool
	Cantidad         int
	CC               *int
	TipoProductoID   *int64
	DatosAdicionales map[string]any
	CreatedAt        time.Time
	UpdatedAt        time.Time
}

// Resumen is GET /api/inventario/resumen/.
type Resumen struct {
	Total, EnCustodia, FueraCustodia int
}

// Service applies the custody rules over a Store.
type Service struct {
	store Store
	now   func() time.Time
	// confirm holds, per user, the limpiar-huerfanos preview a bare
	// repeat would confirm (LimpiarHuerfanosRepetido).
	confirmMu sync.Mutex
	confirm   map[int64]pendingConfirm
}

// Store is all the persistence custody needs; each part is declared next
// to the rules that use it.
type Store interface {
	CatalogStore
	EmpresaStore
	InventoryStore
	AlbaranStore
	StagingStore
	AC21Store
}

// NewService returns the custody service.
func NewService(store Store) *Service {
	return &Service{store: store, now: func() time.Time { return time.Now().UTC() }, confirm: map[int64]pendingConfirm{}}
}
