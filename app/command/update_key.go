package command

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/guardrail"
	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/routing"
)

// UpdateKey changes a key's settings: name, team, models, metadata, expiry,
// default routing config.
type UpdateKey struct {
	Actor
	TenantID string
	KeyID    uuid.UUID
	Patch    key.Patch
}

// Configs finds a tenant's routing configs and guardrails.
type Configs interface {
	RoutingConfigVersion(tenantID, name string, version int) (routing.Published, bool)
	GuardrailVersion(tenantID, name string, version int) (guardrail.Published, bool)
}

// UpdateKeyHandler handles UpdateKey.
type UpdateKeyHandler struct {
	tenants Tenants
	configs Configs
	repo    KeyRepository
	now     func() time.Time
}

// NewUpdateKeyHandler wires the handler.
func NewUpdateKeyHandler(tenants Tenants, configs Configs, repo KeyRepository, now func() time.Time) UpdateKeyHandler {
	mustNotBeNil("NewUpdateKeyHandler", tenants, configs, repo, now)
	return UpdateKeyHandler{tenants: tenants, configs: configs, repo: repo, now: now}
}

// Handle changes the key and returns it as changed.
func (h UpdateKeyHandler) Handle(ctx context.Context, c UpdateKey) (key.Key, error) {
	if err := managedTenant(h.tenants, c.Actor, c.TenantID); err != nil {
		return key.Key{}, err
	}
	if c.Patch.TeamID.Set {
		if err := teamInTenant(h.tenants, c.TenantID, c.Patch.TeamID.Value); err != nil {
			return key.Key{}, err
		}
	}
	if name := c.Patch.Config.Value; c.Patch.Config.Set && name != "" {
		if _, ok := h.configs.RoutingConfigVersion(c.TenantID, name, 0); !ok {
			return key.Key{}, fmt.Errorf("%w: config %q is not a routing config of this tenant", key.ErrInvalid, name)
		}
	}
	if c.Patch.Guardrails.Set {
		g := c.Patch.Guardrails.Value
		for _, name := range append(append([]string(nil), g.Input...), g.Output...) {
			if _, ok := h.configs.GuardrailVersion(c.TenantID, name, 0); !ok {
				return key.Key{}, fmt.Errorf("%w: guardrail %q is not a guardrail of this tenant", key.ErrInvalid, name)
			}
		}
	}
	now := h.now()
	meta := c.meta(now)
	var out key.Key
	err := h.repo.UpdateKey(ctx, meta, c.TenantID, c.KeyID, func(k *key.Key) ([]eventlog.Event, error) {
		out = *k
		e, changed, err := k.Update(c.Patch, now)
		if err != nil || !changed {
			return nil, err
		}
		return []eventlog.Event{e}, out.Apply(eventlog.Recorded{Envelope: meta.Envelope(uuid.Nil, c.TenantID, key.StreamID(k.ID), k.Version+1, e)})
	})
	return out, err
}
