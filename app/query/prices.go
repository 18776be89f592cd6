package query

import (
	"context"

	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/domain/pricing"
)

// PriceDirectory lists a tenant's own prices.
type PriceDirectory interface {
	Tenants
	TenantPrices(tenantID string) []pricing.ModelPrice
}

// ListPrices asks for a tenant's prices and the catalogue under them.
type ListPrices struct {
	Principal access.Principal
	TenantID  string
}

// PriceSheet is a tenant's own prices and the catalogue's date and source.
type PriceSheet struct {
	Tenant          []pricing.ModelPrice
	CatalogueDate   string
	CatalogueSource string
	CatalogueModels int
}

// ListPricesHandler answers ListPrices.
type ListPricesHandler struct {
	dir       PriceDirectory
	catalogue pricing.Catalogue
}

// NewListPricesHandler wires the handler.
func NewListPricesHandler(dir PriceDirectory, catalogue pricing.Catalogue) ListPricesHandler {
	if dir == nil {
		panic("query.NewListPricesHandler: nil directory")
	}
	return ListPricesHandler{dir: dir, catalogue: catalogue}
}

// Handle lists the prices.
func (h ListPricesHandler) Handle(_ context.Context, q ListPrices) (PriceSheet, error) {
	if err := readableTenant(h.dir, q.Principal, q.TenantID); err != nil {
		return PriceSheet{}, err
	}
	return PriceSheet{Tenant: h.dir.TenantPrices(q.TenantID), CatalogueDate: h.catalogue.Date,
		CatalogueSource: h.catalogue.Source, CatalogueModels: h.catalogue.Len()}, nil
}
