package clearance

// KeyStore is the persistence this part of the domain needs.
type KeyStore interface{}
