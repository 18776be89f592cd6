package query

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/domain/alerting"
)

// Delivery is one event sent, or to be sent, to a webhook.
type Delivery struct {
	ID            uuid.UUID
	Seq           int64
	EventType     string
	Status        string // pending or delivered
	Attempts      int
	NextAttemptAt time.Time
	LastStatus    int
	LastError     string
	CreatedAt     time.Time
	DeliveredAt   *time.Time
}

// WebhookReader reads a tenant's webhooks and their delivery log.
type WebhookReader interface {
	Webhooks(ctx context.Context, tenantID string) ([]alerting.Webhook, error)
	Deliveries(ctx context.Context, tenantID string, webhookID uuid.UUID, limit int) ([]Delivery, error)
}

// ListWebhooks asks for a tenant's webhooks.
type ListWebhooks struct {
	Principal access.Principal
	TenantID  string
}

// ListDeliveries asks for a webhook's latest deliveries.
type ListDeliveries struct {
	Principal access.Principal
	TenantID  string
	WebhookID uuid.UUID
}

// WebhooksHandler answers ListWebhooks and ListDeliveries.
type WebhooksHandler struct {
	tenants Tenants
	reader  WebhookReader
}

// NewWebhooksHandler wires the handler.
func NewWebhooksHandler(tenants Tenants, reader WebhookReader) WebhooksHandler {
	if tenants == nil || reader == nil {
		panic("query.NewWebhooksHandler: nil dependency")
	}
	return WebhooksHandler{tenants: tenants, reader: reader}
}

// Handle lists the webhooks.
func (h WebhooksHandler) Handle(ctx context.Context, q ListWebhooks) ([]alerting.Webhook, error) {
	if err := readableTenant(h.tenants, q.Principal, q.TenantID); err != nil {
		return nil, err
	}
	return h.reader.Webhooks(ctx, q.TenantID)
}

// DeliveriesHandler answers ListDeliveries.
type DeliveriesHandler struct{ WebhooksHandler }

// Handle lists the webhook's latest 100 deliveries, newest first.
func (h DeliveriesHandler) Handle(ctx context.Context, q ListDeliveries) ([]Delivery, error) {
	if err := readableTenant(h.tenants, q.Principal, q.TenantID); err != nil {
		return nil, err
	}
	hooks, err := h.reader.Webhooks(ctx, q.TenantID)
	if err != nil {
		return nil, err
	}
	for _, w := range hooks {
		if w.ID == q.WebhookID {
			return h.reader.Deliveries(ctx, q.TenantID, q.WebhookID, 100)
		}
	}
	return nil, alerting.ErrNotFound
}

// WebhookAt is a webhook and the seq of its creation in its tenant's log.
type WebhookAt struct {
	alerting.Webhook
	CreatedSeq int64
}

// QueuedDelivery is an event to send to a webhook.
type QueuedDelivery struct {
	ID        uuid.UUID
	TenantID  string
	WebhookID uuid.UUID
	Seq       int64
	EventType string
	Body      []byte
}
