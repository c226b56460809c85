package clearance

// TemplateStore is the persistence this part of the domain needs.
type TemplateStore interface{}
