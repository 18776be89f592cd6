package proxy

import (
	"sync"

	"github.com/gatehouse/gatehouse/domain/pricing"
	"github.com/gatehouse/gatehouse/domain/provider"
)

// PriceBook is what the log says of a tenant's prices.
type PriceBook interface {
	// TenantPrice is the tenant's own price for "<provider>/<model>".
	TenantPrice(tenantID, model string) (pricing.Price, bool)
	// PriceMissingRecorded says whether price.missing is on record.
	PriceMissingRecorded(tenantID, model string) bool
}

// PriceList prices a call: the tenant's own price for the model if it set
// one, else the catalogue's list price for the provider's kind. The offline
// echo provider is free.
type PriceList struct {
	book      PriceBook
	catalogue pricing.Catalogue
	raised    sync.Map // tenant + "\x00" + model → struct{}: raised on this replica
}

// NewPriceList builds the price list.
func NewPriceList(book PriceBook, catalogue pricing.Catalogue) *PriceList {
	if book == nil {
		panic("proxy.NewPriceList: nil book")
	}
	return &PriceList{book: book, catalogue: catalogue}
}

var _ Prices = (*PriceList)(nil)

// Price finds the price of upstreamModel on connection c.
func (l *PriceList) Price(c provider.Connection, upstreamModel string) (pricing.Price, bool) {
	if c.Kind == provider.KindEcho {
		return pricing.Price{}, true
	}
	if p, ok := l.book.TenantPrice(c.TenantID, c.Name+"/"+upstreamModel); ok {
		return p, true
	}
	return l.catalogue.Lookup(c.Kind.PriceFamily(), upstreamModel)
}

// CatalogueModels lists the models the catalogue prices for a kind.
func (l *PriceList) CatalogueModels(kind provider.Kind) []string {
	return l.catalogue.Models(kind.PriceFamily())
}

// FirstMissing is true once per tenant and model on this replica, unless
// the log already holds the price.missing event.
func (l *PriceList) FirstMissing(tenantID, model string) bool {
	if l.book.PriceMissingRecorded(tenantID, model) {
		return false
	}
	_, seen := l.raised.LoadOrStore(tenantID+"\x00"+model, struct{}{})
	return !seen
}
