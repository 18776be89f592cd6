package query

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// AnalyticsRow is one minute of one group of a tenant's requests.
type AnalyticsRow struct {
	TenantID         string
	Dimension        string // "" (all), model, provider, key, team, metadata.<key>
	Value            string
	Minute           time.Time
	Requests         int64
	Errors           int64
	PromptTokens     int64
	CompletionTokens int64
	CostMicros       int64
	CacheHits        int64
	CacheLookups     int64
	Latency          usage.Latency
}

// AnalyticsReader reads the analytics projection.
type AnalyticsReader interface {
	Analytics(ctx context.Context, tenantID, dimension string, from, to time.Time) ([]AnalyticsRow, error)
}

// Analytics asks for time series of a tenant's requests.
type Analytics struct {
	Principal access.Principal
	TenantID  string
	From, To  time.Time
	Interval  string // minute, hour or day
	GroupBy   string // "", model, provider, key, team or metadata.<key>
}

// AnalyticsPoint is one interval of one series.
type AnalyticsPoint struct {
	At               time.Time
	Requests         int64
	Errors           int64
	P50Ms, P95Ms     float64
	PromptTokens     int64
	CompletionTokens int64
	CostMicros       int64
	CacheHitRate     *float64 // nil when nothing was looked up in a cache
}

// AnalyticsSeries is the points of one group.
type AnalyticsSeries struct {
	Group  string
	Points []AnalyticsPoint
}

// AnalyticsHandler answers Analytics.
type AnalyticsHandler struct {
	tenants Tenants
	reader  AnalyticsReader
}

// NewAnalyticsHandler wires the handler.
func NewAnalyticsHandler(tenants Tenants, reader AnalyticsReader) AnalyticsHandler {
	if tenants == nil || reader == nil {
		panic("query.NewAnalyticsHandler: nil dependency")
	}
	return AnalyticsHandler{tenants: tenants, reader: reader}
}

// intervals and the longest range each may cover (a series stays small).
var intervals = map[string]struct {
	step time.Duration
	max  time.Duration
}{"minute": {time.Minute, 48 * time.Hour}, "hour": {time.Hour, 92 * 24 * time.Hour}, "day": {24 * time.Hour, 3 * 366 * 24 * time.Hour}}

// Handle reads the projection and folds its minutes into intervals.
func (h AnalyticsHandler) Handle(ctx context.Context, q Analytics) ([]AnalyticsSeries, error) {
	if err := readableTenant(h.tenants, q.Principal, q.TenantID); err != nil {
		return nil, err
	}
	iv, ok := intervals[q.Interval]
	if !ok {
		return nil, fmt.Errorf("%w: interval must be minute, hour or day", ErrInvalidQuery)
	}
	switch {
	case !q.From.Before(q.To):
		return nil, fmt.Errorf("%w: from must be before to", ErrInvalidQuery)
	case q.To.Sub(q.From) > iv.max:
		return nil, fmt.Errorf("%w: a range by %s covers at most %s", ErrInvalidQuery, q.Interval, iv.max)
	}
	if g := q.GroupBy; g != "" && g != "model" && g != "provider" && g != "key" && g != "team" &&
		(!strings.HasPrefix(g, "metadata.") || len(g) == len("metadata.")) {
		return nil, fmt.Errorf("%w: group_by must be model, provider, key, team or metadata.<key>", ErrInvalidQuery)
	}
	// Whole intervals: the first and last points cover all of theirs.
	from, to := q.From.UTC().Truncate(iv.step), q.To.UTC().Truncate(iv.step)
	if to.Before(q.To) {
		to = to.Add(iv.step)
	}
	rows, err := h.reader.Analytics(ctx, q.TenantID, q.GroupBy, from, to)
	if err != nil {
		return nil, err
	}
	type cell struct {
		AnalyticsPoint
		latency                 usage.Latency
		cacheHits, cacheLookups int64
	}
	groups := map[string]map[time.Time]*cell{}
	for _, r := range rows {
		at := r.Minute.UTC().Truncate(iv.step)
		g := groups[r.Value]
		if g == nil {
			g = map[time.Time]*cell{}
			groups[r.Value] = g
		}
		c := g[at]
		if c == nil {
			c = &cell{AnalyticsPoint: AnalyticsPoint{At: at}}
			g[at] = c
		}
		c.Requests += r.Requests
		c.Errors += r.Errors
		c.PromptTokens += r.PromptTokens
		c.CompletionTokens += r.CompletionTokens
		c.CostMicros += r.CostMicros
		c.cacheHits += r.CacheHits
		c.cacheLookups += r.CacheLookups
		c.latency.Merge(r.Latency)
	}
	out := make([]AnalyticsSeries, 0, len(groups))
	for _, value := range slices.Sorted(maps.Keys(groups)) {
		s := AnalyticsSeries{Group: value}
		for _, at := range slices.SortedFunc(maps.Keys(groups[value]), time.Time.Compare) {
			c := groups[value][at]
			c.P50Ms, c.P95Ms = c.latency.Quantile(0.5), c.latency.Quantile(0.95)
			if c.cacheLookups > 0 {
				rate := float64(c.cacheHits) / float64(c.cacheLookups)
				c.CacheHitRate = &rate
			}
			s.Points = append(s.Points, c.AnalyticsPoint)
		}
		out = append(out, s)
	}
	return out, nil
}
