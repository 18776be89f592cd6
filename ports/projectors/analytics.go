package projectors

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// AnalyticsName is the analytics projector's handler name.
const AnalyticsName = "analytics.v1"

// AnalyticsWriter adds rows to the analytics projection (adding to rows of
// the same tenant, grouping and minute).
type AnalyticsWriter interface {
	AddAnalytics(ctx context.Context, rows []query.AnalyticsRow) error
}

// Analytics folds requests into minutes, once for all of a tenant's
// requests and once per grouping (model, provider, key, team, each
// metadata key); a page of events becomes one write of its distinct rows.
type Analytics struct{ w AnalyticsWriter }

// NewAnalytics builds the projector.
func NewAnalytics(w AnalyticsWriter) *Analytics {
	if w == nil {
		panic("projectors.NewAnalytics: nil writer")
	}
	return &Analytics{w: w}
}

type analyticsKey struct {
	tenant, dimension, value string
	minute                   time.Time
}

// Handle folds a page.
func (p *Analytics) Handle(ctx context.Context, page []eventlog.Recorded) error {
	rows := map[analyticsKey]*query.AnalyticsRow{}
	var order []analyticsKey
	add := func(r eventlog.Recorded, model, provider string, team string, metadata map[string]string, f func(*query.AnalyticsRow)) {
		minute := r.OccurredAt.UTC().Truncate(time.Minute)
		dims := [][2]string{{"", ""}, {"model", model}, {"provider", provider}, {"key", keyOf(r)}, {"team", team}}
		for k, v := range metadata {
			dims = append(dims, [2]string{"metadata." + k, v})
		}
		for _, d := range dims {
			k := analyticsKey{r.TenantID, d[0], d[1], minute}
			row := rows[k]
			if row == nil {
				row = &query.AnalyticsRow{TenantID: k.tenant, Dimension: k.dimension, Value: k.value, Minute: minute}
				rows[k] = row
				order = append(order, k)
			}
			f(row)
		}
	}
	for _, r := range page {
		switch e := r.Event.(type) {
		case usage.RequestCompleted:
			add(r, e.Model, e.Provider, teamOf(e.TeamID), e.Metadata, func(row *query.AnalyticsRow) {
				row.Requests++
				if !e.Succeeded() {
					row.Errors++
				}
				row.PromptTokens += e.Tokens.Prompt
				row.CompletionTokens += e.Tokens.Completion
				row.CostMicros += int64(e.CostMicros)
				switch e.Routing.Cache {
				case "hit":
					row.CacheHits++
					row.CacheLookups++
				case "miss":
					row.CacheLookups++
				}
				row.Latency.Add(e.DurationMs)
			})
		case usage.RequestRejected:
			add(r, e.Model, "", teamOf(e.TeamID), e.Metadata, func(row *query.AnalyticsRow) {
				row.Requests++
				row.Errors++
			})
		}
	}
	out := make([]query.AnalyticsRow, len(order))
	for i, k := range order {
		out[i] = *rows[k]
	}
	return p.w.AddAnalytics(ctx, out)
}

func teamOf(id *uuid.UUID) string {
	if id == nil {
		return ""
	}
	return id.String()
}

func keyOf(r eventlog.Recorded) string {
	switch e := r.Event.(type) {
	case usage.RequestCompleted:
		return e.KeyID.String()
	case usage.RequestRejected:
		return e.KeyID.String()
	}
	return ""
}
