package identity

// ProfileStore persists user profiles as administrators manage them.
type ProfileStore interface{}
