package custody

// StagingStore is the persistence of this part of custody.
type StagingStore interface{}
