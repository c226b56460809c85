package httpapi

import (
	"context"
	"net/http"
	"time"

	"github.com/danielgtaylor/huma/v2"

	"github.com/thot-security/thot/internal/clearance"
	"github.com/thot-security/thot/internal/identity"
)

// API keys for machine clients (the browser extension): created, listed
// and revoked by holders of hps.gestionar_claves_api. The key itself is in
// the creation answer only; lists show its prefix.

// APIKeyJSON is a key as listed.
type APIKeyJSON struct {
	ID          string     `json:"id" format:"uuid"`
	Name        string     `json:"name"`
	Scope       string     `json:"scope"`
	Prefix      string     `json:"prefix" doc:"The key's first characters, to recognise it"`
	CreatedByID *int64     `json:"created_by_id"`
	CreatedAt   time.Time  `json:"created_at"`
	LastUsedAt  *time.Time `json:"last_used_at" doc:"Updated at most once a minute"`
	RevokedAt   *time.Time `json:"revoked_at"`
	IsActive    bool       `json:"is_active"`
}

// APIKeyCreatedJSON is the creation answer: the only time the key is shown.
type APIKeyCreatedJSON struct {
	APIKeyJSON
	Key string `json:"key" doc:"The API key. Shown only now: store it, it cannot be read again."`
}

func apiKeyJSON(k *clearance.APIKey) APIKeyJSON {
	return APIKeyJSON{ID: k.ID, Name: k.Name, Scope: k.Scope, Prefix: k.Prefix, CreatedByID: k.CreatedByID,
		CreatedAt: k.CreatedAt, LastUsedAt: k.LastUsedAt, RevokedAt: k.RevokedAt, IsActive: k.RevokedAt == nil}
}

type apiKeyCreateInput struct {
	Body struct {
		Name  string `json:"name" required:"true" doc:"Who or what uses the key (audit entries carry it)"`
		Scope string `json:"scope,omitempty" doc:"Only extension (the default)"`
	}
}

type apiKeyIDInput struct {
	ID string `path:"id" doc:"API key id (UUID)"`
}

func (s *Server) registerAPIKeys() {
	manage := Permission(identity.PermGestionarClavesAPI)
	tags := []string{"api-keys"}
	Register(s.API, huma.Operation{OperationID: "hps-api-keys-list", Method: http.MethodGet, Path: "/api/hps/api-keys/", Tags: tags,
		Summary: "List API keys (prefixes only, revoked ones included)"}, manage,
		func(ctx context.Context, in *struct{ PageParams }) (*struct{ Body List[APIKeyJSON] }, error) {
			keys, err := s.deps.Clearance.APIKeys(ctx)
			if err != nil {
				return nil, err
			}
			if err := CheckPage(in.PageParams, len(keys)); err != nil {
				return nil, err
			}
			items := make([]APIKeyJSON, 0, len(keys))
			for i := range keys {
				items = append(items, apiKeyJSON(&keys[i]))
			}
			if in.Paged() {
				lo := min(in.Offset(), len(items))
				items = items[lo:min(lo+in.Limit(), len(items))]
			}
			return &struct{ Body List[APIKeyJSON] }{Body: NewList(items, in.PageParams, len(keys), RequestURL(ctx))}, nil
		})
	Register(s.API, huma.Operation{OperationID: "hps-api-keys-create", Method: http.MethodPost, Path: "/api/hps/api-keys/", Tags: tags,
		Summary: "Create an API key (the key is in this answer only)", DefaultStatus: http.StatusCreated}, manage,
		func(ctx context.Context, in *apiKeyCreateInput) (*struct{ Body APIKeyCreatedJSON }, error) {
			k, secret, err := s.deps.Clearance.CreateAPIKey(ctx, PrincipalFrom(ctx), clearance.APIKeyInput{Name: in.Body.Name, Scope: in.Body.Scope})
			if err != nil {
				return nil, err
			}
			return &struct{ Body APIKeyCreatedJSON }{Body: APIKeyCreatedJSON{APIKeyJSON: apiKeyJSON(k), Key: secret}}, nil
		})
	Register(s.API, huma.Operation{OperationID: "hps-api-keys-revoke", Method: http.MethodDelete, Path: "/api/hps/api-keys/{id}/", Tags: tags,
		Summary: "Revoke an API key (at once; the row stays for the audit log)", DefaultStatus: http.StatusNoContent}, manage,
		func(ctx context.Context, in *apiKeyIDInput) (*struct{}, error) {
			if _, err := s.deps.Clearance.RevokeAPIKey(ctx, in.ID); err != nil {
				return nil, err
			}
			return nil, nil
		})
}
