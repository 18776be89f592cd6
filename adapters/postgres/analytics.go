package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse/gatehouse/adapters/postgres/db"
	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// AnalyticsStore holds the analytics projection.
type AnalyticsStore struct{ pool *pgxpool.Pool }

// NewAnalyticsStore builds the store.
func NewAnalyticsStore(pool *pgxpool.Pool) *AnalyticsStore {
	if pool == nil {
		panic("postgres.NewAnalyticsStore: nil pool")
	}
	return &AnalyticsStore{pool: pool}
}

// AddAnalytics adds a page's rows in the projection's transaction, one
// batch of upserts.
func (s *AnalyticsStore) AddAnalytics(ctx context.Context, rows []query.AnalyticsRow) error {
	if len(rows) == 0 {
		return nil
	}
	tx, err := projectionTx(ctx)
	if err != nil {
		return err
	}
	params := make([]db.AddAnalyticsParams, len(rows))
	for i, r := range rows {
		params[i] = db.AddAnalyticsParams{TenantID: r.TenantID, Dimension: r.Dimension, Value: r.Value, Minute: r.Minute,
			Requests: r.Requests, Errors: r.Errors, PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens,
			CostMicros: r.CostMicros, CacheHits: r.CacheHits, CacheLookups: r.CacheLookups, Latency: r.Latency[:]}
	}
	var berr error
	db.New(tx).AddAnalytics(ctx, params).Exec(func(_ int, err error) {
		if err != nil && berr == nil {
			berr = err
		}
	})
	return berr
}

// Analytics reads a grouping's minutes of a range.
func (s *AnalyticsStore) Analytics(ctx context.Context, tenantID, dimension string, from, to time.Time) ([]query.AnalyticsRow, error) {
	rows, err := db.New(s.pool).AnalyticsBetween(ctx, db.AnalyticsBetweenParams{TenantID: tenantID, Dimension: dimension, FromAt: from, ToAt: to})
	if err != nil {
		return nil, fmt.Errorf("read analytics: %w", err)
	}
	out := make([]query.AnalyticsRow, len(rows))
	for i, r := range rows {
		if len(r.Latency) != usage.LatencyBuckets {
			return nil, fmt.Errorf("analytics row of %s: %d latency buckets", r.Minute, len(r.Latency))
		}
		out[i] = query.AnalyticsRow{TenantID: tenantID, Dimension: dimension, Value: r.Value, Minute: r.Minute, Requests: r.Requests,
			Errors: r.Errors, PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens, CostMicros: r.CostMicros,
			CacheHits: r.CacheHits, CacheLookups: r.CacheLookups}
		copy(out[i].Latency[:], r.Latency)
	}
	return out, nil
}

// ResetAnalytics empties the projection and its checkpoint in one
// transaction, so the projector rebuilds it from position 0.
func (s *AnalyticsStore) ResetAnalytics(ctx context.Context, projection string) error {
	return resetProjection(ctx, s.pool, projection, (*db.Queries).ClearAnalytics)
}
