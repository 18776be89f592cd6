package query

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/domain/provider"
	"github.com/gatehouse/gatehouse/domain/routing"
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

// Circuits are the circuit breakers' state, on this replica.
type Circuits interface {
	Circuits(tenantID, provider string, now time.Time) []routing.CircuitView
}

// ProviderHealth asks for a connection's circuits; Provider is its id or name.
type ProviderHealth struct {
	Principal access.Principal
	TenantID  string
	Provider  string
}

// Health is a connection and the state of its circuits, by model.
type Health struct {
	Connection provider.Connection
	Circuits   []routing.CircuitView
}

// ProviderHealthHandler answers ProviderHealth.
type ProviderHealthHandler struct {
	dir      ProviderDirectory
	circuits Circuits
	now      func() time.Time
}

// NewProviderHealthHandler wires the handler.
func NewProviderHealthHandler(dir ProviderDirectory, circuits Circuits, now func() time.Time) ProviderHealthHandler {
	if dir == nil || circuits == nil || now == nil {
		panic("query.NewProviderHealthHandler: nil dependency")
	}
	return ProviderHealthHandler{dir: dir, circuits: circuits, now: now}
}

// Handle finds the connection and its circuits.
func (h ProviderHealthHandler) Handle(_ context.Context, q ProviderHealth) (Health, error) {
	if err := readableTenant(h.dir, q.Principal, q.TenantID); err != nil {
		return Health{}, err
	}
	for _, c := range h.dir.Providers(q.TenantID) {
		if c.Name == q.Provider || c.ID.String() == q.Provider {
			return Health{Connection: c, Circuits: h.circuits.Circuits(q.TenantID, c.Name, h.now())}, nil
		}
	}
	return Health{}, provider.ErrNotFound
}
