package query

import (
	"context"

	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/domain/provider"
)

// ProviderDirectory lists a tenant's connections.
type ProviderDirectory interface {
	Tenants
	Providers(tenantID string) []provider.Connection
}

// ListProviders asks for a tenant's provider connections (never their secrets).
type ListProviders struct {
	Principal access.Principal
	TenantID  string
}

// ListProvidersHandler answers ListProviders.
type ListProvidersHandler struct{ dir ProviderDirectory }

// NewListProvidersHandler wires the handler.
func NewListProvidersHandler(dir ProviderDirectory) ListProvidersHandler {
	if dir == nil {
		panic("query.NewListProvidersHandler: nil directory")
	}
	return ListProvidersHandler{dir: dir}
}

// Handle lists the connections.
func (h ListProvidersHandler) Handle(_ context.Context, q ListProviders) ([]provider.Connection, error) {
	if err := readableTenant(h.dir, q.Principal, q.TenantID); err != nil {
		return nil, err
	}
	return h.dir.Providers(q.TenantID), nil
}
