package admin

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/app/command"
	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/domain/alerting"
)

type webhooks struct{ *Server }

func (r *webhooks) register(g *echo.Group) {
	g.POST("/tenants/:tenant/webhooks", r.create)
	g.GET("/tenants/:tenant/webhooks", r.list)
	g.GET("/tenants/:tenant/webhooks/:webhook/deliveries", r.deliveries)
}

type webhookJSON struct {
	ID     string   `json:"id"`
	URL    string   `json:"url"`
	Events []string `json:"events"`
}

// create records a webhook (webhook.created); its secret signs deliveries
// and is never shown again.
func (r *webhooks) create(c echo.Context) error {
	var in struct {
		URL    string   `json:"url"`
		Events []string `json:"events"`
		Secret string   `json:"secret"`
	}
	if err := decode(c, &in); err != nil {
		return r.fail(c, err)
	}
	w, err := r.uc.CreateWebhook.Handle(c.Request().Context(), command.CreateWebhook{Actor: actor(c), TenantID: c.Param("tenant"), URL: in.URL, Events: in.Events, Secret: in.Secret})
	if err != nil {
		return r.fail(c, err)
	}
	return c.JSON(http.StatusCreated, webhookJSON{ID: w.ID.String(), URL: w.URL, Events: w.Events})
}

func (r *webhooks) list(c echo.Context) error {
	ws, err := r.uc.ListWebhooks.Handle(c.Request().Context(), query.ListWebhooks{Principal: principal(c), TenantID: c.Param("tenant")})
	if err != nil {
		return r.fail(c, err)
	}
	out := make([]webhookJSON, len(ws))
	for i, w := range ws {
		out[i] = webhookJSON{ID: w.ID.String(), URL: w.URL, Events: w.Events}
	}
	return c.JSON(http.StatusOK, map[string]any{"webhooks": out})
}

type deliveryJSON struct {
	ID            string     `json:"id"`
	Seq           int64      `json:"seq"`
	EventType     string     `json:"event_type"`
	Status        string     `json:"status"`
	Attempts      int        `json:"attempts"`
	NextAttemptAt *time.Time `json:"next_attempt_at,omitempty"`
	LastStatus    int        `json:"last_status"`
	LastError     string     `json:"last_error"`
	CreatedAt     time.Time  `json:"created_at"`
	DeliveredAt   *time.Time `json:"delivered_at"`
}

// deliveries answers a webhook's latest deliveries, newest first.
func (r *webhooks) deliveries(c echo.Context) error {
	id, err := uuidParam(c, "webhook", alerting.ErrNotFound)
	if err != nil {
		return r.fail(c, err)
	}
	ds, err := r.uc.ListDeliveries.Handle(c.Request().Context(), query.ListDeliveries{Principal: principal(c), TenantID: c.Param("tenant"), WebhookID: id})
	if err != nil {
		return r.fail(c, err)
	}
	out := make([]deliveryJSON, len(ds))
	for i, d := range ds {
		out[i] = deliveryJSON{ID: d.ID.String(), Seq: d.Seq, EventType: d.EventType, Status: d.Status, Attempts: d.Attempts,
			LastStatus: d.LastStatus, LastError: d.LastError, CreatedAt: d.CreatedAt, DeliveredAt: d.DeliveredAt}
		if d.Status == "pending" {
			at := d.NextAttemptAt
			out[i].NextAttemptAt = &at
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"deliveries": out})
}
