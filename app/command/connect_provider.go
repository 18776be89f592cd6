package command

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/provider"
)

// ConnectProvider connects a tenant to a model provider.
type ConnectProvider struct {
	Actor
	TenantID    string
	Name        string
	Kind        provider.Kind
	BaseURL     string
	Settings    provider.Settings
	Credentials // write-only: sealed, never returned, logged or put in an event
}

// Credentials are the secret fields of a connection, sealed as one value.
type Credentials struct {
	APIKey             string `json:"api_key,omitempty"`
	AWSAccessKeyID     string `json:"aws_access_key_id,omitempty"`
	AWSSecretAccessKey string `json:"aws_secret_access_key,omitempty"`
	AWSSessionToken    string `json:"aws_session_token,omitempty"`
}

// Fields names the fields that are set.
func (c Credentials) Fields() []string {
	var out []string
	for _, f := range []struct{ name, value string }{
		{"api_key", c.APIKey}, {"aws_access_key_id", c.AWSAccessKeyID},
		{"aws_secret_access_key", c.AWSSecretAccessKey}, {"aws_session_token", c.AWSSessionToken},
	} {
		if f.value != "" {
			out = append(out, f.name)
		}
	}
	return out
}

// CredentialsAAD names the record a connection's sealed credentials belong to.
func CredentialsAAD(tenantID string, providerID uuid.UUID) []string {
	return []string{"provider-credentials", tenantID, providerID.String()}
}

// ConnectProviderHandler handles ConnectProvider.
type ConnectProviderHandler struct {
	tenants Tenants
	repo    ProviderRepository
	sealer  Sealer
	now     func() time.Time
}

// NewConnectProviderHandler wires the handler.
func NewConnectProviderHandler(tenants Tenants, repo ProviderRepository, sealer Sealer, now func() time.Time) ConnectProviderHandler {
	mustNotBeNil("NewConnectProviderHandler", tenants, repo, sealer, now)
	return ConnectProviderHandler{tenants: tenants, repo: repo, sealer: sealer, now: now}
}

// Handle connects the provider and returns the connection.
func (h ConnectProviderHandler) Handle(ctx context.Context, c ConnectProvider) (provider.Connection, error) {
	if err := managedTenant(h.tenants, c.Actor, c.TenantID); err != nil {
		return provider.Connection{}, err
	}
	id := uuid.New()
	conn, e, err := provider.Connect(id, c.TenantID, c.Name, c.Kind, c.BaseURL, c.Settings, c.Credentials.Fields())
	if err != nil {
		return provider.Connection{}, err
	}
	plain, err := json.Marshal(c.Credentials)
	if err != nil {
		return provider.Connection{}, err
	}
	sealed, err := h.sealer.Seal(plain, CredentialsAAD(c.TenantID, id)...)
	if err != nil {
		return provider.Connection{}, err
	}
	if err := h.repo.ConnectProvider(ctx, c.meta(h.now()), c.TenantID, e, sealed); err != nil {
		if errors.Is(err, eventlog.ErrConflict) {
			return provider.Connection{}, fmt.Errorf("%w: provider %q", ErrExists, c.Name)
		}
		return provider.Connection{}, err
	}
	return conn, nil
}
