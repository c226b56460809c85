package clearance

// RequestStore is the persistence this part of the domain needs.
type RequestStore interface{}
