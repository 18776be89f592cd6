package proxy

import (
	"sort"
	"strings"

	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/pricing"
	"github.com/gatehouse/gatehouse/domain/provider"
)

// ModelSource says what a tenant has: its provider connections and the
// models it set prices for.
type ModelSource interface {
	Providers(tenantID string) []provider.Connection
	TenantPrices(tenantID string) []pricing.ModelPrice
}

// ModelInfo is one model a key may call.
type ModelInfo struct {
	ID      string // "<provider>/<model>"
	OwnedBy string // the provider connection
}

// echoModel is what the offline echo provider is listed with; it answers
// any model name.
const echoModel = "echo-1"

// Models lists the models a key may call, as far as the gateway knows
// them: for each of its tenant's connections, the models the price
// catalogue knows for its kind, those the tenant priced itself, and those
// the key names exactly; filtered by the key's model patterns. A provider
// may serve more (an OpenAI-compatible server's own models): those are
// callable by name without being listed.
func (s *Service) Models(k key.Key) []ModelInfo {
	seen := map[string]bool{}
	var out []ModelInfo
	add := func(conn provider.Connection, model string) {
		id := conn.Name + "/" + model
		if seen[id] || k.AllowsModel(id) != nil {
			return
		}
		seen[id] = true
		out = append(out, ModelInfo{ID: id, OwnedBy: conn.Name})
	}
	tenantPrices := s.ModelSource.TenantPrices(k.TenantID)
	for _, conn := range s.ModelSource.Providers(k.TenantID) {
		if conn.Kind == provider.KindEcho {
			add(conn, echoModel)
		}
		for _, m := range s.Prices.CatalogueModels(conn.Kind) {
			add(conn, m)
		}
		for _, p := range tenantPrices {
			if m, ok := strings.CutPrefix(p.Model, conn.Name+"/"); ok {
				add(conn, m)
			}
		}
		for _, pattern := range k.Models {
			if m, ok := strings.CutPrefix(pattern, conn.Name+"/"); ok && !strings.ContainsAny(m, "*?[") {
				add(conn, m)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}
