package identity

// TeamStore persists teams and memberships.
type TeamStore interface{}
