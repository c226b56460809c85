package clearance

// ExpiryStore is the persistence this part of the domain needs.
type ExpiryStore interface{}
