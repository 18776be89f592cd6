package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/adapters/postgres/db"
	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/provider"
	"github.com/gatehouse/gatehouse/domain/tenancy"
)

// updateAttempts bounds the retries of an update that met a concurrent change.
const updateAttempts = 3

// Repositories are the event-sourced aggregates' storage on the log.
type Repositories struct{ store *EventStore }

// NewRepositories builds the repositories over the store.
func NewRepositories(store *EventStore) *Repositories {
	if store == nil {
		panic("postgres.NewRepositories: nil store")
	}
	return &Repositories{store: store}
}

// CreateTenant appends the tenant's founding event; a taken id is a conflict.
func (r *Repositories) CreateTenant(ctx context.Context, meta eventlog.Meta, e tenancy.TenantCreated) error {
	_, err := r.store.Append(ctx, Expect, meta.Envelope(uuid.New(), e.TenantID, tenancy.StreamID(e.TenantID), 1, e))
	return err
}

// ConnectProvider appends the connection and stores its sealed credentials
// in the same transaction; a taken name is a conflict.
func (r *Repositories) ConnectProvider(ctx context.Context, meta eventlog.Meta, tenantID string, e provider.ProviderConnected, sealed []byte) error {
	env := meta.Envelope(uuid.New(), tenantID, provider.StreamID(e.Name), 1, e)
	_, err := r.store.AppendWith(ctx, Expect, func(ctx context.Context, tx pgx.Tx) error {
		return db.New(tx).InsertProviderCredential(ctx, db.InsertProviderCredentialParams{
			TenantID: tenantID, ProviderID: e.ProviderID, Sealed: sealed, CreatedAt: env.OccurredAt,
		})
	}, env)
	return err
}

// ProviderCredentials reads a connection's sealed credentials.
func (r *Repositories) ProviderCredentials(ctx context.Context, tenantID string, providerID uuid.UUID) ([]byte, error) {
	b, err := db.New(r.store.pool).GetProviderCredential(ctx, db.GetProviderCredentialParams{TenantID: tenantID, ProviderID: providerID})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("no credentials stored for provider %s", providerID)
	}
	return b, err
}

// GrantKey appends a key's first event.
func (r *Repositories) GrantKey(ctx context.Context, meta eventlog.Meta, tenantID string, e key.KeyGranted) error {
	_, err := r.store.Append(ctx, Expect, meta.Envelope(uuid.New(), tenantID, key.StreamID(e.KeyID), 1, e))
	return err
}

// UpdateKey loads a key from its stream, lets decide produce events, and
// appends them at the next versions; a concurrent change is retried.
func (r *Repositories) UpdateKey(ctx context.Context, meta eventlog.Meta, tenantID string, id uuid.UUID, decide func(*key.Key) ([]eventlog.Event, error)) error {
	stream := key.StreamID(id)
	for attempt := 1; ; attempt++ {
		history, err := r.store.ReadStream(ctx, tenantID, stream)
		if err != nil {
			return err
		}
		if len(history) == 0 {
			return key.ErrNotFound
		}
		var k key.Key
		for _, h := range history {
			if err := k.Apply(h); err != nil {
				return err
			}
		}
		events, err := decide(&k)
		if err != nil {
			return err
		}
		envs := make([]eventlog.Envelope, len(events))
		for i, e := range events {
			envs[i] = meta.Envelope(uuid.New(), tenantID, stream, k.Version+1+i, e)
		}
		_, err = r.store.Append(ctx, Expect, envs...)
		if errors.Is(err, eventlog.ErrConflict) && attempt < updateAttempts {
			continue
		}
		return err
	}
}
