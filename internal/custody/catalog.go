package custody

// CatalogStore is the persistence of this part of custody.
type CatalogStore interface{}
