package command

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/pricing"
)

// PriceRepository records tenants' prices.
type PriceRepository interface {
	SetPrice(ctx context.Context, meta eventlog.Meta, tenantID string, e pricing.PriceSet) error
}

// SetPrice sets a tenant's price for a model, over the catalogue's.
type SetPrice struct {
	Actor
	TenantID string
	Model    string // <provider connection>/<model>
	Price    pricing.Price
}

// SetPriceHandler handles SetPrice.
type SetPriceHandler struct {
	tenants Tenants
	repo    PriceRepository
	now     func() time.Time
}

// NewSetPriceHandler wires the handler.
func NewSetPriceHandler(tenants Tenants, repo PriceRepository, now func() time.Time) SetPriceHandler {
	mustNotBeNil("NewSetPriceHandler", tenants, repo, now)
	return SetPriceHandler{tenants: tenants, repo: repo, now: now}
}

// Handle records the price and returns it.
func (h SetPriceHandler) Handle(ctx context.Context, c SetPrice) (pricing.ModelPrice, error) {
	if err := managedTenant(h.tenants, c.Actor, c.TenantID); err != nil {
		return pricing.ModelPrice{}, err
	}
	if err := pricing.ValidModel(c.Model); err != nil {
		return pricing.ModelPrice{}, err
	}
	now := h.now()
	e := pricing.PriceSet{V: 1, Model: c.Model, Input: c.Price.Input, Output: c.Price.Output, CachedInput: c.Price.CachedInput,
		CacheWrite: c.Price.CacheWriteInput}
	if err := h.repo.SetPrice(ctx, c.meta(now), c.TenantID, e); err != nil {
		return pricing.ModelPrice{}, err
	}
	return pricing.ModelPrice{Model: c.Model, Price: c.Price, SetAt: now.UTC()}, nil
}
