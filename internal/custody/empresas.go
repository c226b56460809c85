package custody

// EmpresaStore is the persistence of this part of custody.
type EmpresaStore interface{}
