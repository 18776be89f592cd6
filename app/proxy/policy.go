package proxy

import (
	"context"
	"net/http"

	"github.com/gatehouse/gatehouse/domain/provider"
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
	if err := c.Key.AllowsModel(c.Model); err != nil {
		return Route{}, refuse(http.StatusForbidden, "model_not_allowed", "invalid_request_error", "model",
			"This key may not use the model %q.", c.Model)
	}
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
