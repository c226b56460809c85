package custody

// AlbaranStore is the persistence of this part of custody.
type AlbaranStore interface{}
