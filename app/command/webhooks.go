package command

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/alerting"
	"github.com/gatehouse/gatehouse/domain/eventlog"
)

// WebhookRepository creates webhooks; the sealed secret is stored with the
// event, in one transaction.
type WebhookRepository interface {
	CreateWebhook(ctx context.Context, meta eventlog.Meta, tenantID string, e alerting.WebhookCreated, fullURL string, sealed []byte) error
}

// CreateWebhook asks for a webhook that is sent some of the tenant's events.
type CreateWebhook struct {
	Actor
	TenantID string
	URL      string
	Events   []string
	Secret   string
}

// CreateWebhookHandler handles CreateWebhook.
type CreateWebhookHandler struct {
	tenants Tenants
	repo    WebhookRepository
	sealer  Sealer
	known   func(string) bool
	now     func() time.Time
}

// NewCreateWebhookHandler wires the handler; known says which event types
// and families a webhook may name.
func NewCreateWebhookHandler(tenants Tenants, repo WebhookRepository, sealer Sealer, known func(string) bool, now func() time.Time) CreateWebhookHandler {
	mustNotBeNil("NewCreateWebhookHandler", tenants, repo, sealer, known, now)
	return CreateWebhookHandler{tenants: tenants, repo: repo, sealer: sealer, known: known, now: now}
}

// Handle validates the webhook, seals its secret and records it.
func (h CreateWebhookHandler) Handle(ctx context.Context, c CreateWebhook) (alerting.Webhook, error) {
	if err := managedTenant(h.tenants, c.Actor, c.TenantID); err != nil {
		return alerting.Webhook{}, err
	}
	id := uuid.New()
	e, err := alerting.New(id, c.TenantID, c.URL, c.Events, c.Secret, h.known)
	if err != nil {
		return alerting.Webhook{}, err
	}
	sealed, err := h.sealer.Seal([]byte(c.Secret), "webhook-secret", c.TenantID, id.String())
	if err != nil {
		return alerting.Webhook{}, err
	}
	now := h.now()
	if err := h.repo.CreateWebhook(ctx, c.meta(now), c.TenantID, e, c.URL, sealed); err != nil {
		return alerting.Webhook{}, err
	}
	return alerting.Webhook{ID: id, TenantID: c.TenantID, URL: e.URL, Events: e.Events, CreatedAt: now.UTC()}, nil // the URL as shown
}
