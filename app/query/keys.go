package query

import (
	"context"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/domain/key"
)

// KeyDirectory finds a tenant's keys.
type KeyDirectory interface {
	Tenants
	Keys(tenantID string) []key.Key
	Key(tenantID string, id uuid.UUID) (key.Key, bool)
}

// ListKeys asks for a tenant's keys (never their secrets).
type ListKeys struct {
	Principal access.Principal
	TenantID  string
}

// ListKeysHandler answers ListKeys.
type ListKeysHandler struct{ dir KeyDirectory }

// NewListKeysHandler wires the handler.
func NewListKeysHandler(dir KeyDirectory) ListKeysHandler {
	if dir == nil {
		panic("query.NewListKeysHandler: nil directory")
	}
	return ListKeysHandler{dir: dir}
}

// Handle lists the keys.
func (h ListKeysHandler) Handle(_ context.Context, q ListKeys) ([]key.Key, error) {
	if err := readableTenant(h.dir, q.Principal, q.TenantID); err != nil {
		return nil, err
	}
	out := h.dir.Keys(q.TenantID)
	if out == nil {
		out = []key.Key{}
	}
	return out, nil
}

// GetKey asks for one key.
type GetKey struct {
	Principal access.Principal
	TenantID  string
	KeyID     uuid.UUID
}

// GetKeyHandler answers GetKey.
type GetKeyHandler struct{ dir KeyDirectory }

// NewGetKeyHandler wires the handler.
func NewGetKeyHandler(dir KeyDirectory) GetKeyHandler {
	if dir == nil {
		panic("query.NewGetKeyHandler: nil directory")
	}
	return GetKeyHandler{dir: dir}
}

// Handle finds the key.
func (h GetKeyHandler) Handle(_ context.Context, q GetKey) (key.Key, error) {
	if err := readableTenant(h.dir, q.Principal, q.TenantID); err != nil {
		return key.Key{}, err
	}
	k, ok := h.dir.Key(q.TenantID, q.KeyID)
	if !ok {
		return key.Key{}, key.ErrNotFound
	}
	return k, nil
}
