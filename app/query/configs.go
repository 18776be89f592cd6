package query

import (
	"context"

	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/domain/routing"
)

// ConfigDirectory holds a tenant's routing configs.
type ConfigDirectory interface {
	Tenants
	RoutingConfigs(tenantID string) []routing.Published
	RoutingConfigVersion(tenantID, name string, version int) (routing.Published, bool)
}

// ListConfigs asks for the latest version of each of a tenant's configs.
type ListConfigs struct {
	Principal access.Principal
	TenantID  string
}

// ListConfigsHandler answers ListConfigs.
type ListConfigsHandler struct{ dir ConfigDirectory }

// NewListConfigsHandler wires the handler.
func NewListConfigsHandler(dir ConfigDirectory) ListConfigsHandler {
	if dir == nil {
		panic("query.NewListConfigsHandler: nil directory")
	}
	return ListConfigsHandler{dir: dir}
}

// Handle lists the configs.
func (h ListConfigsHandler) Handle(_ context.Context, q ListConfigs) ([]routing.Published, error) {
	if err := readableTenant(h.dir, q.Principal, q.TenantID); err != nil {
		return nil, err
	}
	return h.dir.RoutingConfigs(q.TenantID), nil
}

// GetConfig asks for one version of a config: Version, or the latest for 0.
type GetConfig struct {
	Principal access.Principal
	TenantID  string
	Name      string
	Version   int
}

// GetConfigHandler answers GetConfig.
type GetConfigHandler struct{ dir ConfigDirectory }

// NewGetConfigHandler wires the handler.
func NewGetConfigHandler(dir ConfigDirectory) GetConfigHandler {
	if dir == nil {
		panic("query.NewGetConfigHandler: nil directory")
	}
	return GetConfigHandler{dir: dir}
}

// Handle finds the config version.
func (h GetConfigHandler) Handle(_ context.Context, q GetConfig) (routing.Published, error) {
	if err := readableTenant(h.dir, q.Principal, q.TenantID); err != nil {
		return routing.Published{}, err
	}
	p, ok := h.dir.RoutingConfigVersion(q.TenantID, q.Name, q.Version)
	if !ok {
		return routing.Published{}, routing.ErrNotFound
	}
	return p, nil
}
