package postgres

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse/gatehouse/adapters/postgres/db"
	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/domain/alerting"
)

// WebhookStore keeps webhooks and their deliveries: the projector's queue,
// the admin API's reader.
type WebhookStore struct{ pool *pgxpool.Pool }

// NewWebhookStore builds the store.
func NewWebhookStore(pool *pgxpool.Pool) *WebhookStore {
	if pool == nil {
		panic("postgres.NewWebhookStore: nil pool")
	}
	return &WebhookStore{pool: pool}
}

var (
	_ query.WebhookReader = (*WebhookStore)(nil)
)

// AddWebhook keeps a webhook, in the projection's transaction.
func (s *WebhookStore) AddWebhook(ctx context.Context, w alerting.Webhook, createdSeq int64) error {
	tx, err := projectionTx(ctx)
	if err != nil {
		return err
	}
	return db.New(tx).AddWebhook(ctx, db.AddWebhookParams{TenantID: w.TenantID, WebhookID: w.ID, Url: w.URL, Events: w.Events, CreatedSeq: createdSeq})
}

// WebhooksOf reads the webhooks of some tenants, in the projection's transaction.
func (s *WebhookStore) WebhooksOf(ctx context.Context, tenants []string) (map[string][]query.WebhookAt, error) {
	tx, err := projectionTx(ctx)
	if err != nil {
		return nil, err
	}
	rows, err := db.New(tx).WebhooksOf(ctx, tenants)
	if err != nil {
		return nil, err
	}
	out := map[string][]query.WebhookAt{}
	for _, r := range rows {
		out[r.TenantID] = append(out[r.TenantID], query.WebhookAt{CreatedSeq: r.CreatedSeq,
			Webhook: alerting.Webhook{ID: r.WebhookID, TenantID: r.TenantID, URL: r.Url, Events: r.Events}})
	}
	return out, nil
}

// Queue queues a delivery once, in the projection's transaction.
func (s *WebhookStore) Queue(ctx context.Context, d query.QueuedDelivery) error {
	tx, err := projectionTx(ctx)
	if err != nil {
		return err
	}
	return db.New(tx).QueueDelivery(ctx, db.QueueDeliveryParams{ID: d.ID, TenantID: d.TenantID, WebhookID: d.WebhookID, Seq: d.Seq,
		EventType: d.EventType, Body: d.Body})
}

// Webhooks lists a tenant's webhooks.
func (s *WebhookStore) Webhooks(ctx context.Context, tenantID string) ([]alerting.Webhook, error) {
	rows, err := db.New(s.pool).ListWebhooks(ctx, tenantID)
	if err != nil {
		return nil, err
	}
	out := make([]alerting.Webhook, len(rows))
	for i, r := range rows {
		out[i] = alerting.Webhook{ID: r.WebhookID, TenantID: r.TenantID, URL: r.Url, Events: r.Events}
	}
	return out, nil
}

// Deliveries lists a webhook's latest deliveries, newest first.
func (s *WebhookStore) Deliveries(ctx context.Context, tenantID string, webhookID uuid.UUID, limit int) ([]query.Delivery, error) {
	rows, err := db.New(s.pool).ListDeliveries(ctx, db.ListDeliveriesParams{TenantID: tenantID, WebhookID: webhookID, MaxRows: int32(limit)})
	if err != nil {
		return nil, err
	}
	out := make([]query.Delivery, len(rows))
	for i, r := range rows {
		out[i] = query.Delivery{ID: r.ID, Seq: r.Seq, EventType: r.EventType, Status: r.Status, Attempts: int(r.Attempts),
			NextAttemptAt: r.NextAttemptAt, LastStatus: int(r.LastStatus), LastError: r.LastError, CreatedAt: r.CreatedAt}
		if r.DeliveredAt.Valid {
			at := r.DeliveredAt.Time
			out[i].DeliveredAt = &at
		}
	}
	return out, nil
}

// WebhookSender sends queued deliveries: each webhook's oldest pending one
// at a time (so in order), signed, retried with backoff while it fails; a
// delivery is claimed for a while so that replicas do not send it twice at
// once. It runs apart from the request path: a failing endpoint slows
// nothing but its own deliveries.
type WebhookSender struct {
	pool   *pgxpool.Pool
	vault  Sealer
	client *http.Client
	now    func() time.Time
	log    *slog.Logger
}

// NewWebhookSender builds the sender.
func NewWebhookSender(pool *pgxpool.Pool, vault Sealer, now func() time.Time, log *slog.Logger) *WebhookSender {
	if pool == nil || vault == nil || now == nil || log == nil {
		panic("postgres.NewWebhookSender: nil dependency")
	}
	return &WebhookSender{pool: pool, vault: vault, now: now, log: log, client: &http.Client{Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}}
}

// Run sends due deliveries every interval until ctx ends.
func (s *WebhookSender) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		if err := s.SendDue(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("webhook deliveries", "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// maxRounds bounds how many deliveries of one webhook go in one tick.
const maxRounds = 20

// SendDue sends every webhook's oldest due delivery, concurrently, and
// again while some succeed: a webhook with a backlog drains quickly.
func (s *WebhookSender) SendDue(ctx context.Context) error {
	for round := 0; round < maxRounds; round++ {
		rows, err := db.New(s.pool).ClaimDeliveries(ctx)
		if err != nil || len(rows) == 0 {
			return err
		}
		results := make(chan bool, len(rows))
		for _, r := range rows {
			go func() { results <- s.send(ctx, r) }()
		}
		sent := false
		for range rows {
			sent = <-results || sent
		}
		if !sent {
			return nil
		}
	}
	return nil
}

// send posts one delivery and records how it went (even as the gateway
// stops: a delivery sent but not recorded would be sent again).
func (s *WebhookSender) send(ctx context.Context, d db.ClaimDeliveriesRow) bool {
	q := db.New(s.pool)
	record := context.WithoutCancel(ctx)
	failed := func(status int, reason string) bool {
		if err := q.DeliveryFailed(record, db.DeliveryFailedParams{ID: d.ID, LastStatus: int32(status), LastError: reason,
			BackoffSeconds: alerting.Backoff(int(d.Attempts)).Seconds()}); err != nil {
			s.log.Warn("record a failed webhook delivery", "webhook", d.WebhookID, "err", err)
		}
		return false
	}
	secret, err := s.vault.Open(d.Sealed, "webhook-secret", d.TenantID, d.WebhookID.String())
	if err != nil {
		return failed(0, "the webhook's secret cannot be opened")
	}
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, d.Url, bytes.NewReader(d.Body))
	if err != nil {
		return failed(0, "the webhook's url is not usable")
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", "gatehouse-webhooks")
	req.Header.Set("X-Gatehouse-Event", d.EventType)
	req.Header.Set("X-Gatehouse-Delivery", d.ID.String())
	req.Header.Set(alerting.SignatureHeader, alerting.Sign(secret, s.now(), d.Body))
	resp, err := s.client.Do(req)
	if err != nil {
		return failed(0, "the endpoint could not be reached")
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return failed(resp.StatusCode, fmt.Sprintf("the endpoint answered %d", resp.StatusCode))
	}
	if err := q.DeliverySucceeded(record, db.DeliverySucceededParams{ID: d.ID, LastStatus: int32(resp.StatusCode)}); err != nil {
		s.log.Warn("record a webhook delivery", "webhook", d.WebhookID, "err", err)
	}
	return true
}
