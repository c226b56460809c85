package custody

// AC21Store is the persistence of this part of custody.
type AC21Store interface{}
