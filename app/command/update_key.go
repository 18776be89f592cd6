package command

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/key"
)

// UpdateKey changes a key's settings: name, team, models, metadata, expiry.
type UpdateKey struct {
	Actor
	TenantID string
	KeyID    uuid.UUID
	Patch    key.Patch
}

// UpdateKeyHandler handles UpdateKey.
type UpdateKeyHandler struct {
	tenants Tenants
	repo    KeyRepository
	now     func() time.Time
}

// NewUpdateKeyHandler wires the handler.
func NewUpdateKeyHandler(tenants Tenants, repo KeyRepository, now func() time.Time) UpdateKeyHandler {
	mustNotBeNil("NewUpdateKeyHandler", tenants, repo, now)
	return UpdateKeyHandler{tenants: tenants, repo: repo, now: now}
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
