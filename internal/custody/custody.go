// Package custody is the accounting of serial-numbered cryptographic
// material (the legacy cryptotrace "productos" app): product types and the
// catalog, companies and their crypto custodians, documents ("albaranes",
// AC21), their movements, the inventory that derives from the movements,
// and the staging lines fed by packing lists and OCR.
//
// The rule everything else serves: the state of each (product, serial) is
// the replay of its remaining movements in the order they happened
// (Replay). Every write that touches movements recomputes the affected
// items in the same transaction. docs/custody.md has the rule table.
package custody

import (
	"strings"
	"time"
)

// Estado is an item's custody state.
type Estado string

// The two states.
const (
	Activo   Estado = "activo"   // En custodia
	Inactivo Estado = "inactivo" // Fuera de custodia
)

// Label is the Spanish display text (estado_display).
func (e Estado) Label() string {
	if e == Activo {
		return "En custodia"
	}
	return "Fuera de custodia"
}

// Tipo is a document (and movement) type.
type Tipo string

// Document types.
const (
	Transferencia Tipo = "TRANSFERENCIA"
	Inventario    Tipo = "INVENTARIO"
	Destruccion   Tipo = "DESTRUCCION"
	ReciboMano    Tipo = "RECIBO_MANO"
	Otro          Tipo = "OTRO"
)

// Tipos lists the types with their labels, in display order.
var Tipos = []struct {
	Tipo  Tipo
	Label string
}{
	{Transferencia, "Transferencia"}, {Inventario, "Inventario"}, {Destruccion, "Destrucción"},
	{ReciboMano, "Recibo en Mano"}, {Otro, "Otro"},
}

// Label is the display text (tipo_documento_display).
func (t Tipo) Label() string {
	for _, x := range Tipos {
		if x.Tipo == t {
			return x.Label
		}
	}
	return ""
}

// ParseTipo accepts a key or a label in any case, with or without accents
// or spaces ("Recibo en mano", "recibo_mano", "DESTRUCCIÓN"). ok is false
// for anything else.
func ParseTipo(s string) (Tipo, bool) {
	n := Fold(s)
	n = strings.NewReplacer(" ", "_", "-", "_").Replace(n)
	for _, x := range Tipos {
		if n == strings.ToLower(string(x.Tipo)) || n == strings.ReplaceAll(Fold(x.Label), " ", "_") {
			return x.Tipo, true
		}
	}
	return "", false
}

// Direccion is a document's direction.
type Direccion string

// Directions.
const (
	Entrada Direccion = "ENTRADA"
	Salida  Direccion = "SALIDA"
)

// Label is the display text (direccion_transferencia_display).
func (d Direccion) Label() string {
	switch d {
	case Entrada:
		return "Entrada"
	case Salida:
		return "Salida"
	}
	return ""
}

// ParseDireccion accepts ENTRADA/SALIDA in any case.
func ParseDireccion(s string) (Direccion, bool) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "ENTRADA":
		return Entrada, true
	case "SALIDA":
		return Salida, true
	}
	return "", false
}

// EstadoMaterial is the AC21 "el material ha sido" box.
type EstadoMaterial string

// Material states.
const (
	Recibido     EstadoMaterial = "RECIBIDO"
	Inventariado EstadoMaterial = "INVENTARIADO"
	Destruido    EstadoMaterial = "DESTRUIDO"
)

// EstadoNuevo is the state a movement of a document leaves its item in:
// out of custody for a SALIDA or a destruction, in custody otherwise.
func EstadoNuevo(tipo Tipo, dir Direccion) Estado {
	if dir == Salida || tipo == Destruccion {
		return Inactivo
	}
	return Activo
}

// Baseline is an item's state before the first movement the system
// recorded for it, decided when its inventory row is created: material
// whose first recorded movement takes it out of custody must have been in
// custody already (stock that pre-dated the system); anything else did not
// exist (nil).
func Baseline(first Estado) *Estado {
	if first == Inactivo {
		a := Activo
		return &a
	}
	return nil
}

// Step is one movement as Replay sees it.
type Step struct {
	ID     int64
	Nuevo  Estado
	Fecha  time.Time
	Serial string
}

// Outcome is what Replay decides for one item.
type Outcome struct {
	// Exists is false when the inventory row must not exist.
	Exists bool
	Estado Estado
	// Last is the id of the last movement, 0 when none remains.
	Last int64
	// Anterior[i] is the state before steps[i].
	Anterior []Estado
}

// Replay computes an item from its baseline and its movements, which must
// be in the order they happened (fecha, then id).
func Replay(baseline *Estado, steps []Step) Outcome {
	out := Outcome{Anterior: make([]Estado, len(steps))}
	state, exists := Inactivo, false
	if baseline != nil {
		state, exists = *baseline, true
	}
	for i, s := range steps {
		out.Anterior[i] = state
		state, exists = s.Nuevo, true
		out.Last = s.ID
	}
	out.Exists, out.Estado = exists, state
	return out
}

// Fold lower-cases and strips accents, for search columns (SQLite's
// lower() and LIKE only fold ASCII).
func Fold(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(s)) {
		switch r {
		case 'á', 'à', 'ä', 'â':
			r = 'a'
		case 'é', 'è', 'ë', 'ê':
			r = 'e'
		case 'í', 'ì', 'ï', 'î':
			r = 'i'
		case 'ó', 'ò', 'ö', 'ô':
			r = 'o'
		case 'ú', 'ù', 'ü', 'û':
			r = 'u'
		case 'ñ':
			r = 'n'
		case 'ç':
			r = 'c'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// ItemKey identifies an inventory item.
type ItemKey struct {
	ProductoID  int64
	NumeroSerie string
}
