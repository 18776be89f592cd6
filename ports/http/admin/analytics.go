package admin

import (
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/app/query"
)

type analytics struct{ *Server }

func (r *analytics) register(g *echo.Group) {
	g.GET("/tenants/:tenant/analytics", r.get)
}

type analyticsPointJSON struct {
	At               time.Time `json:"t"`
	Requests         int64     `json:"requests"`
	Errors           int64     `json:"errors"`
	P50Ms            float64   `json:"p50_ms"`
	P95Ms            float64   `json:"p95_ms"`
	PromptTokens     int64     `json:"prompt_tokens"`
	CompletionTokens int64     `json:"completion_tokens"`
	CostUSD          float64   `json:"cost_usd"`
	CacheHitRate     *float64  `json:"cache_hit_rate"`
}

type analyticsSeriesJSON struct {
	Group  string               `json:"group"`
	Points []analyticsPointJSON `json:"points"`
}

// get answers time series of the tenant's requests, from the analytics
// projection: requests, errors, p50/p95 latency, tokens, cost and cache
// hit rate per interval, grouped.
func (r *analytics) get(c echo.Context) error {
	from, to, err := timeRange(c, time.Now())
	if err != nil {
		return r.fail(c, err)
	}
	interval := c.QueryParam("interval")
	if interval == "" {
		interval = "hour"
	}
	q := query.Analytics{Principal: principal(c), TenantID: c.Param("tenant"), From: from, To: to, Interval: interval, GroupBy: c.QueryParam("group_by")}
	if c.QueryParam("from") == "" {
		q.From = intervalDefault(interval, to)
	}
	series, err := r.uc.Analytics.Handle(c.Request().Context(), q)
	if err != nil {
		return r.fail(c, err)
	}
	out := make([]analyticsSeriesJSON, len(series))
	for i, s := range series {
		out[i] = analyticsSeriesJSON{Group: s.Group, Points: make([]analyticsPointJSON, len(s.Points))}
		for j, p := range s.Points {
			out[i].Points[j] = analyticsPointJSON{At: p.At, Requests: p.Requests, Errors: p.Errors, P50Ms: p.P50Ms, P95Ms: p.P95Ms,
				PromptTokens: p.PromptTokens, CompletionTokens: p.CompletionTokens, CostUSD: float64(p.CostMicros) / 1e6, CacheHitRate: p.CacheHitRate}
		}
	}
	return c.JSON(http.StatusOK, map[string]any{"from": q.From, "to": q.To, "interval": interval, "group_by": q.GroupBy, "series": out})
}

// intervalDefault is where a range starts when from is not given: a day
// of minutes, a week of hours, a month of days.
func intervalDefault(interval string, to time.Time) time.Time {
	switch interval {
	case "minute":
		return to.Add(-24 * time.Hour)
	case "hour":
		return to.Add(-7 * 24 * time.Hour)
	}
	return to.AddDate(0, -1, 0)
}
