package postgres

import (
	"context"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/adapters/postgres/db"
	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/domain/alerting"
	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/guardrail"
	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/pricing"
	"github.com/gatehouse/gatehouse/domain/provider"
	"github.com/gatehouse/gatehouse/domain/quota"
	"github.com/gatehouse/gatehouse/domain/routing"
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

// RotateProviderCredentials replaces a connection's sealed credentials and
// records provider.rotated at the next version of its stream, in one
// transaction.
func (r *Repositories) RotateProviderCredentials(ctx context.Context, meta eventlog.Meta, tenantID, name string,
	decide func(provider.Connection) (provider.ProviderRotated, []byte, error)) error {
	stream := provider.StreamID(name)
	for attempt := 1; ; attempt++ {
		history, err := r.store.ReadStream(ctx, tenantID, stream)
		if err != nil {
			return err
		}
		if len(history) == 0 {
			return provider.ErrNotFound
		}
		var c provider.Connection
		for _, h := range history {
			c.Apply(tenantID, h.Event)
		}
		e, sealed, err := decide(c)
		if err != nil {
			return err
		}
		env := meta.Envelope(uuid.New(), tenantID, stream, len(history)+1, e)
		_, err = r.store.AppendWith(ctx, Expect, func(ctx context.Context, tx pgx.Tx) error {
			n, err := db.New(tx).ReplaceProviderCredential(ctx, db.ReplaceProviderCredentialParams{
				Sealed: sealed, CreatedAt: env.OccurredAt, TenantID: tenantID, ProviderID: c.ID,
			})
			if err == nil && n != 1 {
				err = fmt.Errorf("no credentials stored for provider %s", c.ID)
			}
			return err
		}, env)
		if errors.Is(err, eventlog.ErrConflict) && attempt < updateAttempts {
			continue
		}
		return err
	}
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

// UpdateKey loads a key, lets decide produce events and appends them.
func (r *Repositories) UpdateKey(ctx context.Context, meta eventlog.Meta, tenantID string, id uuid.UUID, decide func(*key.Key) ([]eventlog.Event, error)) error {
	return updateStream(ctx, r.store, meta, tenantID, key.StreamID(id), key.ErrNotFound, (*key.Key).Apply, func(k *key.Key) int { return k.Version }, decide)
}

// CreateTeam appends a team's first event.
func (r *Repositories) CreateTeam(ctx context.Context, meta eventlog.Meta, tenantID string, e tenancy.TeamCreated) error {
	_, err := r.store.Append(ctx, Expect, meta.Envelope(uuid.New(), tenantID, tenancy.TeamStreamID(e.TeamID), 1, e))
	return err
}

// UpdateTeam loads a team, lets decide produce events and appends them.
func (r *Repositories) UpdateTeam(ctx context.Context, meta eventlog.Meta, tenantID string, id uuid.UUID, decide func(*tenancy.Team) ([]eventlog.Event, error)) error {
	apply := func(t *tenancy.Team, rec eventlog.Recorded) error { t.Apply(rec); return nil }
	return updateStream(ctx, r.store, meta, tenantID, tenancy.TeamStreamID(id), tenancy.ErrTeamNotFound, apply, func(t *tenancy.Team) int { return t.Version }, decide)
}

// updateStream is the repository move: load an aggregate from its stream,
// let decide produce events, append them at the next versions, and retry a
// bounded number of times when another writer got there first.
func updateStream[T any](ctx context.Context, store *EventStore, meta eventlog.Meta, tenantID, stream string, notFound error,
	apply func(*T, eventlog.Recorded) error, version func(*T) int, decide func(*T) ([]eventlog.Event, error)) error {
	for attempt := 1; ; attempt++ {
		history, err := store.ReadStream(ctx, tenantID, stream)
		if err != nil {
			return err
		}
		if len(history) == 0 {
			return notFound
		}
		var agg T
		for _, h := range history {
			if err := apply(&agg, h); err != nil {
				return err
			}
		}
		events, err := decide(&agg)
		if err != nil || len(events) == 0 {
			return err
		}
		envs := make([]eventlog.Envelope, len(events))
		for i, e := range events {
			envs[i] = meta.Envelope(uuid.New(), tenantID, stream, version(&agg)+1+i, e)
		}
		_, err = store.Append(ctx, Expect, envs...)
		if errors.Is(err, eventlog.ErrConflict) && attempt < updateAttempts {
			continue
		}
		return err
	}
}

// SetPrice appends a tenant's price for a model at the next version of the
// model's price stream.
func (r *Repositories) SetPrice(ctx context.Context, meta eventlog.Meta, tenantID string, e pricing.PriceSet) error {
	return r.appendNext(ctx, meta, tenantID, pricing.StreamID(e.Model), e)
}

// SetBudget appends a subject's budget at the next version of its stream.
func (r *Repositories) SetBudget(ctx context.Context, meta eventlog.Meta, s quota.Subject, e quota.BudgetSet) error {
	return r.appendNext(ctx, meta, s.TenantID, quota.BudgetStreamID(s), e)
}

// SetRateLimit appends a subject's rate limit at the next version of its stream.
func (r *Repositories) SetRateLimit(ctx context.Context, meta eventlog.Meta, s quota.Subject, e quota.RateLimitSet) error {
	return r.appendNext(ctx, meta, s.TenantID, quota.RateLimitStreamID(s), e)
}

// PublishGuardrail appends a guardrail's next version and returns it.
func (r *Repositories) PublishGuardrail(ctx context.Context, meta eventlog.Meta, tenantID string, e guardrail.GuardrailPublished) (int, error) {
	return r.appendAtNext(ctx, meta, tenantID, guardrail.StreamID(e.Name), e)
}

// PublishConfig appends a config's next version and returns it.
func (r *Repositories) PublishConfig(ctx context.Context, meta eventlog.Meta, tenantID string, e routing.ConfigPublished) (int, error) {
	return r.appendAtNext(ctx, meta, tenantID, routing.StreamID(e.Name), e)
}

// appendNext appends a setting that replaces the previous one: at the
// stream's next version, retried when another writer got there first.
func (r *Repositories) appendNext(ctx context.Context, meta eventlog.Meta, tenantID, stream string, e eventlog.Event) error {
	_, err := r.appendAtNext(ctx, meta, tenantID, stream, e)
	return err
}

// appendAtNext is appendNext, giving the version the event took.
func (r *Repositories) appendAtNext(ctx context.Context, meta eventlog.Meta, tenantID, stream string, e eventlog.Event) (int, error) {
	return r.appendAtNextWith(ctx, meta, tenantID, stream, e, nil)
}

// appendAtNextWith is appendAtNext with extra writes in the append's
// transaction (nil for none).
func (r *Repositories) appendAtNextWith(ctx context.Context, meta eventlog.Meta, tenantID, stream string, e eventlog.Event,
	extra func(context.Context, pgx.Tx) error) (int, error) {
	for attempt := 1; ; attempt++ {
		history, err := r.store.ReadStream(ctx, tenantID, stream)
		if err != nil {
			return 0, err
		}
		version := len(history) + 1
		_, err = r.store.AppendWith(ctx, Expect, extra, meta.Envelope(uuid.New(), tenantID, stream, version, e))
		if errors.Is(err, eventlog.ErrConflict) && attempt < updateAttempts {
			continue
		}
		return version, err
	}
}

// RecordSignInFailure appends a refused sign-in on a stream of its own.
func (r *Repositories) RecordSignInFailure(ctx context.Context, meta eventlog.Meta, tenantID string, e access.SignInFailed) error {
	_, err := r.store.Append(ctx, Expect, meta.Envelope(uuid.New(), tenantID, access.SignInStreamID(uuid.New()), 1, e))
	return err
}

// UpdateTenant appends a change of the tenant's settings on its stream,
// and applies a new payload retention to the bodies stored already, in the
// same transaction.
func (r *Repositories) UpdateTenant(ctx context.Context, meta eventlog.Meta, tenantID string, e tenancy.TenantUpdated) error {
	_, err := r.appendAtNextWith(ctx, meta, tenantID, tenancy.StreamID(tenantID), e, func(ctx context.Context, tx pgx.Tx) error {
		return db.New(tx).RetainPayloads(ctx, db.RetainPayloadsParams{TenantID: tenantID, Days: int32(e.PayloadRetentionDays)})
	})
	return err
}

// CreateWebhook appends webhook.created and stores the webhook's sealed
// secret in the same transaction.
func (r *Repositories) CreateWebhook(ctx context.Context, meta eventlog.Meta, tenantID string, e alerting.WebhookCreated, fullURL string, sealed []byte) error {
	_, err := r.store.AppendWith(ctx, Expect, func(ctx context.Context, tx pgx.Tx) error {
		return db.New(tx).InsertWebhookSecret(ctx, db.InsertWebhookSecretParams{TenantID: tenantID, WebhookID: e.WebhookID, Url: fullURL, Sealed: sealed})
	}, meta.Envelope(uuid.New(), tenantID, alerting.StreamID(e.WebhookID), 1, e))
	return err
}
