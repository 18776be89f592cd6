package projectors

import (
	"context"
	"encoding/json"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/domain/alerting"
	"github.com/gatehouse/gatehouse/domain/eventlog"
)

// WebhooksName is the webhooks projector's handler name. It is not
// replayed: a replay would send old events again.
const WebhooksName = "webhooks.v1"

// WebhookQueue is where the projector keeps webhooks and queues deliveries,
// in the transaction that moves its checkpoint.
type WebhookQueue interface {
	AddWebhook(ctx context.Context, w alerting.Webhook, createdSeq int64) error
	WebhooksOf(ctx context.Context, tenants []string) (map[string][]query.WebhookAt, error)
	Queue(ctx context.Context, d query.QueuedDelivery) error
}

// Webhooks turns the log into deliveries (the log is the outbox): each
// event a webhook wants, recorded after the webhook, is queued once, with
// the page's checkpoint; a sender delivers them.
type Webhooks struct{ q WebhookQueue }

// NewWebhooks builds the projector.
func NewWebhooks(q WebhookQueue) *Webhooks {
	if q == nil {
		panic("projectors.NewWebhooks: nil queue")
	}
	return &Webhooks{q: q}
}

// deliveryBody is what a webhook receives.
type deliveryBody struct {
	ID         uuid.UUID       `json:"id"` // the delivery's id: a receiver's idempotency key
	Type       string          `json:"type"`
	Tenant     string          `json:"tenant"`
	Seq        int64           `json:"seq"`
	OccurredAt string          `json:"occurred_at"`
	Actor      string          `json:"actor"`
	Data       json.RawMessage `json:"data"`
}

// Handle folds a page.
func (p *Webhooks) Handle(ctx context.Context, page []eventlog.Recorded) error {
	var tenants []string
	seen := map[string]bool{}
	for _, r := range page {
		if e, ok := r.Event.(alerting.WebhookCreated); ok {
			if err := p.q.AddWebhook(ctx, alerting.Webhook{ID: e.WebhookID, TenantID: r.TenantID, URL: e.URL, Events: e.Events}, r.Seq); err != nil {
				return err
			}
		}
		if !seen[r.TenantID] {
			seen[r.TenantID] = true
			tenants = append(tenants, r.TenantID)
		}
	}
	hooks, err := p.q.WebhooksOf(ctx, tenants)
	if err != nil {
		return err
	}
	for _, r := range page {
		for _, w := range hooks[r.TenantID] {
			typ := r.Event.EventType()
			if r.Seq <= w.CreatedSeq || !w.Wants(typ) {
				continue
			}
			var data struct {
				Data json.RawMessage `json:"data"`
			}
			if err := json.Unmarshal(r.Record, &data); err != nil {
				return err
			}
			id := uuid.New()
			body, err := json.Marshal(deliveryBody{ID: id, Type: typ, Tenant: r.TenantID, Seq: r.Seq,
				OccurredAt: r.OccurredAt.UTC().Format("2006-01-02T15:04:05.000000Z"), Actor: r.Actor, Data: data.Data})
			if err != nil {
				return err
			}
			if err := p.q.Queue(ctx, query.QueuedDelivery{ID: id, TenantID: r.TenantID, WebhookID: w.ID, Seq: r.Seq, EventType: typ, Body: body}); err != nil {
				return err
			}
		}
	}
	return nil
}
