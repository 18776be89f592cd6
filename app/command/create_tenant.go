package command

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/tenancy"
)

// CreateTenant founds a tenant. ID is optional: it is derived from the name.
type CreateTenant struct {
	Actor
	ID   string
	Name string
}

// CreateTenantHandler handles CreateTenant.
type CreateTenantHandler struct {
	repo TenantRepository
	now  func() time.Time
}

// NewCreateTenantHandler wires the handler.
func NewCreateTenantHandler(repo TenantRepository, now func() time.Time) CreateTenantHandler {
	mustNotBeNil("NewCreateTenantHandler", repo, now)
	return CreateTenantHandler{repo: repo, now: now}
}

// Handle founds the tenant and returns it.
func (h CreateTenantHandler) Handle(ctx context.Context, c CreateTenant) (tenancy.Tenant, error) {
	if err := c.Principal.CanCreateTenants(); err != nil {
		return tenancy.Tenant{}, err
	}
	id := c.ID
	if id == "" {
		id = tenancy.SlugFromName(c.Name)
	}
	now := h.now()
	t, e, err := tenancy.Create(id, c.Name, now)
	if err != nil {
		return tenancy.Tenant{}, err
	}
	if err := h.repo.CreateTenant(ctx, c.meta(now), e); err != nil {
		if errors.Is(err, eventlog.ErrConflict) {
			return tenancy.Tenant{}, fmt.Errorf("%w: tenant %q (give another id)", ErrExists, id)
		}
		return tenancy.Tenant{}, err
	}
	return t, nil
}
