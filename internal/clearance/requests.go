package clearance

import (
	"context"

	"github.com/thot-security/thot/internal/errs"
	"github.com/thot-security/thot/internal/identity"
)

// RequestStore is the persistence of requests.
type RequestStore interface {
	// RequestByID reads one request with its joined people and the
	// applicant's active teams; a missing id is errs.KindNotFound.
	RequestByID(ctx context.Context, id string) (*Request, error)
}

// errRequestNotFound hides whether a request exists from someone who may
// not see it.
var errRequestNotFound = errs.NotFound("HPS request")

// Request reads one request p may see; one outside p's scope is not
// found, as a missing one.
func (s *Service) Request(ctx context.Context, p *identity.Principal, id string) (*Request, error) {
	if !ValidID(id) {
		return nil, errRequestNotFound
	}
	r, err := s.store.RequestByID(ctx, id)
	if err != nil {
		return nil, err
	}
	if !ScopeOf(p).Sees(r) {
		return nil, errRequestNotFound
	}
	return r, nil
}
