package clearance

// TokenStore is the persistence this part of the domain needs.
type TokenStore interface{}
