package command

import (
	"context"
	"crypto/rand"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/key"
)

// GrantKey issues a virtual key in a tenant.
type GrantKey struct {
	Actor
	TenantID  string
	Name      string
	ExpiresAt *time.Time
}

// GrantedKey is the new key and its secret, which is shown this once.
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
	secret, err := key.NewSecret(rand.Reader)
	if err != nil {
		return GrantedKey{}, err
	}
	now := h.now()
	id := uuid.New()
	e, err := key.Grant(id, c.TenantID, c.Name, secret, c.ExpiresAt, now)
	if err != nil {
		return GrantedKey{}, err
	}
	if err := h.repo.GrantKey(ctx, c.meta(now), c.TenantID, e); err != nil {
		return GrantedKey{}, err
	}
	k := key.Key{ID: id, TenantID: c.TenantID, Name: e.Name, Prefix: e.Prefix, SecretHash: key.HashSecret(secret), CreatedAt: now.UTC(), ExpiresAt: e.ExpiresAt, Version: 1}
	return GrantedKey{Key: k, Secret: secret}, nil
}
