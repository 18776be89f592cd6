package query

import (
	"context"

	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/domain/tenancy"
)

// TenantDirectory lists tenants.
type TenantDirectory interface {
	Tenants
	Tenants() []tenancy.Tenant
}

// ListTenants asks for the tenants the principal can see.
type ListTenants struct{ Principal access.Principal }

// ListTenantsHandler answers ListTenants.
type ListTenantsHandler struct{ dir TenantDirectory }

// NewListTenantsHandler wires the handler.
func NewListTenantsHandler(dir TenantDirectory) ListTenantsHandler {
	if dir == nil {
		panic("query.NewListTenantsHandler: nil directory")
	}
	return ListTenantsHandler{dir: dir}
}

// Handle lists the visible tenants.
func (h ListTenantsHandler) Handle(_ context.Context, q ListTenants) ([]tenancy.Tenant, error) {
	out := []tenancy.Tenant{}
	for _, t := range h.dir.Tenants() {
		if q.Principal.Visible(t.ID) {
			out = append(out, t)
		}
	}
	return out, nil
}

// GetTenant asks for one tenant.
type GetTenant struct {
	Principal access.Principal
	TenantID  string
}

// GetTenantHandler answers GetTenant.
type GetTenantHandler struct{ dir Tenants }

// NewGetTenantHandler wires the handler.
func NewGetTenantHandler(dir Tenants) GetTenantHandler {
	if dir == nil {
		panic("query.NewGetTenantHandler: nil directory")
	}
	return GetTenantHandler{dir: dir}
}

// Handle finds the tenant if the principal can see it.
func (h GetTenantHandler) Handle(_ context.Context, q GetTenant) (tenancy.Tenant, error) {
	if err := readableTenant(h.dir, q.Principal, q.TenantID); err != nil {
		return tenancy.Tenant{}, err
	}
	t, _ := h.dir.Tenant(q.TenantID)
	return t, nil
}
