package identity

// AuditStore reads the audit log.
type AuditStore interface{}
