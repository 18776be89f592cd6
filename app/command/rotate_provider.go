package command

import (
	"context"
	"encoding/json"
	"time"

	"github.com/gatehouse/gatehouse/domain/provider"
)

// RotateProviderCredentials replaces a connection's credentials; requests
// use the new ones on every replica once the event reaches it.
type RotateProviderCredentials struct {
	Actor
	TenantID    string
	Name        string
	Credentials // write-only: sealed, never returned, logged or put in an event
}

// RotateProviderCredentialsHandler handles RotateProviderCredentials.
type RotateProviderCredentialsHandler struct {
	tenants Tenants
	repo    ProviderRepository
	sealer  Sealer
	now     func() time.Time
}

// NewRotateProviderCredentialsHandler wires the handler.
func NewRotateProviderCredentialsHandler(tenants Tenants, repo ProviderRepository, sealer Sealer, now func() time.Time) RotateProviderCredentialsHandler {
	mustNotBeNil("NewRotateProviderCredentialsHandler", tenants, repo, sealer, now)
	return RotateProviderCredentialsHandler{tenants: tenants, repo: repo, sealer: sealer, now: now}
}

// Handle rotates the credentials and returns the connection as it now is.
func (h RotateProviderCredentialsHandler) Handle(ctx context.Context, c RotateProviderCredentials) (provider.Connection, error) {
	if err := managedTenant(h.tenants, c.Actor, c.TenantID); err != nil {
		return provider.Connection{}, err
	}
	fields := c.Credentials.Fields()
	var rotated provider.Connection
	err := h.repo.RotateProviderCredentials(ctx, c.meta(h.now()), c.TenantID, c.Name, func(conn provider.Connection) (provider.ProviderRotated, []byte, error) {
		e, err := conn.Rotate(fields)
		if err != nil {
			return e, nil, err
		}
		plain, err := json.Marshal(c.Credentials)
		if err != nil {
			return e, nil, err
		}
		sealed, err := h.sealer.Seal(plain, CredentialsAAD(c.TenantID, conn.ID)...)
		conn.Apply(c.TenantID, e)
		rotated = conn
		return e, sealed, err
	})
	return rotated, err
}
