package command

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/guardrail"
	"github.com/gatehouse/gatehouse/domain/provider"
	"github.com/gatehouse/gatehouse/domain/routing"
)

// ConfigRepository publishes routing configs.
type ConfigRepository interface {
	// PublishConfig appends e at the next version of the config's stream
	// and returns that version.
	PublishConfig(ctx context.Context, meta eventlog.Meta, tenantID string, e routing.ConfigPublished) (int, error)
}

// Connections finds a tenant's provider connections and guardrails.
type Connections interface {
	Provider(tenantID, name string) (provider.Connection, bool)
	GuardrailVersion(tenantID, name string, version int) (guardrail.Published, bool)
}

// PublishConfig publishes the next version of a named routing config.
type PublishConfig struct {
	Actor
	TenantID string
	Name     string
	Config   json.RawMessage
}

// PublishConfigHandler handles PublishConfig.
type PublishConfigHandler struct {
	tenants Tenants
	conns   Connections
	repo    ConfigRepository
	now     func() time.Time
}

// NewPublishConfigHandler wires the handler.
func NewPublishConfigHandler(tenants Tenants, conns Connections, repo ConfigRepository, now func() time.Time) PublishConfigHandler {
	mustNotBeNil("NewPublishConfigHandler", tenants, conns, repo, now)
	return PublishConfigHandler{tenants: tenants, conns: conns, repo: repo, now: now}
}

// Handle validates the config, checks that every provider it names is
// one of the tenant's connections, and publishes it.
func (h PublishConfigHandler) Handle(ctx context.Context, c PublishConfig) (routing.Published, error) {
	if err := managedTenant(h.tenants, c.Actor, c.TenantID); err != nil {
		return routing.Published{}, err
	}
	if err := routing.ValidName(c.Name); err != nil {
		return routing.Published{}, err
	}
	cfg, err := routing.Parse(c.Config)
	if err != nil {
		return routing.Published{}, err
	}
	for _, ref := range cfg.Providers() {
		if _, ok := h.conns.Provider(c.TenantID, ref.Name); !ok {
			return routing.Published{}, fmt.Errorf("%w: %s: no provider connection named %q in this tenant", routing.ErrInvalid, ref.Path, ref.Name)
		}
	}
	for _, g := range []struct {
		field string
		names []string
	}{{"input_guardrails", cfg.InputGuardrails}, {"output_guardrails", cfg.OutputGuardrails}} {
		for i, name := range g.names {
			if _, ok := h.conns.GuardrailVersion(c.TenantID, name, 0); !ok {
				return routing.Published{}, fmt.Errorf("%w: %s[%d]: no guardrail named %q in this tenant", routing.ErrInvalid, g.field, i, name)
			}
		}
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, c.Config); err != nil {
		return routing.Published{}, fmt.Errorf("%w: %v", routing.ErrInvalid, err)
	}
	now := h.now()
	e := routing.ConfigPublished{V: 1, ConfigID: routing.ConfigID(c.TenantID, c.Name), Name: c.Name, Config: compact.Bytes()}
	version, err := h.repo.PublishConfig(ctx, c.meta(now), c.TenantID, e)
	if err != nil {
		return routing.Published{}, err
	}
	return routing.Published{ID: e.ConfigID, Name: c.Name, Version: version, Raw: e.Config, Config: cfg, PublishedAt: now.UTC()}, nil
}
