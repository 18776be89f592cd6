package command

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/tenancy"
)

// TenantSettingsRepository changes a tenant's settings.
type TenantSettingsRepository interface {
	UpdateTenant(ctx context.Context, meta eventlog.Meta, tenantID string, e tenancy.TenantUpdated) error
}

// UpdateTenant changes a tenant's settings: how long stored bodies are kept.
type UpdateTenant struct {
	Actor
	TenantID             string
	PayloadRetentionDays *int
}

// UpdateTenantHandler handles UpdateTenant.
type UpdateTenantHandler struct {
	tenants Tenants
	repo    TenantSettingsRepository
	now     func() time.Time
}

// NewUpdateTenantHandler wires the handler.
func NewUpdateTenantHandler(tenants Tenants, repo TenantSettingsRepository, now func() time.Time) UpdateTenantHandler {
	mustNotBeNil("NewUpdateTenantHandler", tenants, repo, now)
	return UpdateTenantHandler{tenants: tenants, repo: repo, now: now}
}

// Handle decides the change and records it (tenant.updated).
func (h UpdateTenantHandler) Handle(ctx context.Context, c UpdateTenant) (tenancy.Tenant, error) {
	if err := managedTenant(h.tenants, c.Actor, c.TenantID); err != nil {
		return tenancy.Tenant{}, err
	}
	t, _ := h.tenants.Tenant(c.TenantID)
	if c.PayloadRetentionDays == nil {
		return t, nil
	}
	e, changed, err := t.SetPayloadRetention(*c.PayloadRetentionDays)
	if err != nil || !changed {
		return t, err
	}
	if err := h.repo.UpdateTenant(ctx, c.meta(h.now()), c.TenantID, e); err != nil {
		return tenancy.Tenant{}, err
	}
	t.PayloadRetentionDays = e.PayloadRetentionDays
	return t, nil
}
