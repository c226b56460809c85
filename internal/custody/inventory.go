package custody

// InventoryStore is the persistence of this part of custody.
type InventoryStore interface{}
