package command

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/key"
)

// RotateKey gives a key a new secret; the old one stays valid for Grace.
type RotateKey struct {
	Actor
	TenantID string
	KeyID    uuid.UUID
	Grace    time.Duration
}

// RotateKeyHandler handles RotateKey.
type RotateKeyHandler struct {
	tenants Tenants
	repo    KeyRepository
	now     func() time.Time
}

// NewRotateKeyHandler wires the handler.
func NewRotateKeyHandler(tenants Tenants, repo KeyRepository, now func() time.Time) RotateKeyHandler {
	mustNotBeNil("NewRotateKeyHandler", tenants, repo, now)
	return RotateKeyHandler{tenants: tenants, repo: repo, now: now}
}

// Handle rotates the key and returns it with its new secret, shown this once.
func (h RotateKeyHandler) Handle(ctx context.Context, c RotateKey) (GrantedKey, error) {
	if err := managedTenant(h.tenants, c.Actor, c.TenantID); err != nil {
		return GrantedKey{}, err
	}
	secret, err := key.NewSecret(rand.Reader)
	if err != nil {
		return GrantedKey{}, err
	}
	now := h.now()
	meta := c.meta(now)
	var out key.Key
	err = h.repo.UpdateKey(ctx, meta, c.TenantID, c.KeyID, func(k *key.Key) ([]eventlog.Event, error) {
		e, err := k.Rotate(secret, c.Grace, now)
		if err != nil {
			return nil, err
		}
		out = *k
		return []eventlog.Event{e}, out.Apply(eventlog.Recorded{Envelope: meta.Envelope(uuid.Nil, c.TenantID, key.StreamID(k.ID), k.Version+1, e)})
	})
	if err != nil {
		return GrantedKey{}, err
	}
	return GrantedKey{Key: out, Secret: secret}, nil
}
