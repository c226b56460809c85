package identity

// RoleStore persists roles and their permission grants.
type RoleStore interface{}
