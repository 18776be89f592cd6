package command

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/key"
)

// GrantKey issues a virtual key in a tenant.
type GrantKey struct {
	Actor
	TenantID string
	Settings key.Settings
}

// GrantedKey is a key and its new secret, which is shown this once.
type GrantedKey struct {
	Key    key.Key
	Secret string
}

// GrantKeyHandler handles GrantKey.
type GrantKeyHandler struct {
	tenants Tenants
	repo    KeyRepository
	now     func() time.Time
}

// NewGrantKeyHandler wires the handler.
func NewGrantKeyHandler(tenants Tenants, repo KeyRepository, now func() time.Time) GrantKeyHandler {
	mustNotBeNil("NewGrantKeyHandler", tenants, repo, now)
	return GrantKeyHandler{tenants: tenants, repo: repo, now: now}
}

// Handle grants the key.
func (h GrantKeyHandler) Handle(ctx context.Context, c GrantKey) (GrantedKey, error) {
	if err := managedTenant(h.tenants, c.Actor, c.TenantID); err != nil {
		return GrantedKey{}, err
	}
	if err := teamInTenant(h.tenants, c.TenantID, c.Settings.TeamID); err != nil {
		return GrantedKey{}, err
	}
	secret, err := key.NewSecret(rand.Reader)
	if err != nil {
		return GrantedKey{}, err
	}
	now := h.now()
	e, err := key.Grant(uuid.New(), secret, c.Settings, now)
	if err != nil {
		return GrantedKey{}, err
	}
	meta := c.meta(now)
	if err := h.repo.GrantKey(ctx, meta, c.TenantID, e); err != nil {
		return GrantedKey{}, err
	}
	var k key.Key
	err = k.Apply(eventlog.Recorded{Envelope: meta.Envelope(uuid.Nil, c.TenantID, key.StreamID(e.KeyID), 1, e)})
	return GrantedKey{Key: k, Secret: secret}, err
}
