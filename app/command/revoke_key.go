package command

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/key"
)

// RevokeKey withdraws a key for good.
type RevokeKey struct {
	Actor
	TenantID string
	KeyID    uuid.UUID
	Reason   string
}

// RevokeKeyHandler handles RevokeKey.
type RevokeKeyHandler struct {
	tenants Tenants
	repo    KeyRepository
	now     func() time.Time
}

// NewRevokeKeyHandler wires the handler.
func NewRevokeKeyHandler(tenants Tenants, repo KeyRepository, now func() time.Time) RevokeKeyHandler {
	mustNotBeNil("NewRevokeKeyHandler", tenants, repo, now)
	return RevokeKeyHandler{tenants: tenants, repo: repo, now: now}
}

// Handle revokes the key and returns it as revoked.
func (h RevokeKeyHandler) Handle(ctx context.Context, c RevokeKey) (key.Key, error) {
	if err := managedTenant(h.tenants, c.Actor, c.TenantID); err != nil {
		return key.Key{}, err
	}
	now := h.now()
	meta := c.meta(now)
	var out key.Key
	err := h.repo.UpdateKey(ctx, meta, c.TenantID, c.KeyID, func(k *key.Key) ([]eventlog.Event, error) {
		e, err := k.Revoke(c.Reason)
		if err != nil {
			return nil, err
		}
		out = *k
		return []eventlog.Event{e}, out.Apply(eventlog.Recorded{Envelope: meta.Envelope(uuid.Nil, c.TenantID, key.StreamID(k.ID), k.Version+1, e)})
	})
	return out, err
}
