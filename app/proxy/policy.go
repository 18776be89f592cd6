package proxy

import (
	"context"
	"net/http"

	"github.com/gatehouse/gatehouse/domain/provider"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// Connections finds a tenant's provider connection by name.
type Connections interface {
	Provider(tenantID, name string) (provider.Connection, bool)
}

// DirectoryPolicy routes "<provider>/<model>" to the tenant's connection of
// that name. Later policy (allowed models, budgets, limits, routing configs)
// wraps or replaces it behind the same Policy port.
type DirectoryPolicy struct{ conns Connections }

// NewDirectoryPolicy builds the policy over the directory.
func NewDirectoryPolicy(conns Connections) DirectoryPolicy {
	if conns == nil {
		panic("proxy.NewDirectoryPolicy: nil connections")
	}
	return DirectoryPolicy{conns: conns}
}

// Decide finds the route or refuses the call.
func (p DirectoryPolicy) Decide(_ context.Context, c Call) (Route, error) {
	name, model, ok := provider.SplitModel(c.Model)
	if !ok {
		return Route{}, refuse(http.StatusNotFound, "model_not_found", "invalid_request_error", "model",
			"The model %q does not exist: name it <provider>/<model>, where <provider> is one of your tenant's provider connections.", c.Model)
	}
	conn, ok := p.conns.Provider(c.Key.TenantID, name)
	if !ok {
		return Route{}, refuse(http.StatusNotFound, "model_not_found", "invalid_request_error", "model",
			"The model %q does not exist: no provider connection named %q in this tenant.", c.Model, name)
	}
	return Route{Connection: conn, UpstreamModel: model}, nil
}

// EchoOnlyPrices knows one price: the offline echo provider is free. Every
// other model is unpriced, and recorded as such rather than as $0.
type EchoOnlyPrices struct{}

// Cost prices echo calls at zero and nothing else.
func (EchoOnlyPrices) Cost(c provider.Connection, _ string, _ usage.Tokens) (usage.Micros, bool) {
	return 0, c.Kind == provider.KindEcho
}
