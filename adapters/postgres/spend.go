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

// SpendStore holds the spend projection's rows.
type SpendStore struct{ pool *pgxpool.Pool }

// NewSpendStore builds the store.
func NewSpendStore(pool *pgxpool.Pool) *SpendStore {
	if pool == nil {
		panic("postgres.NewSpendStore: nil pool")
	}
	return &SpendStore{pool: pool}
}

// AddSpend folds deltas into their cells with one statement, in the
// projection's transaction (the one that also moves its checkpoint).
func (s *SpendStore) AddSpend(ctx context.Context, deltas []usage.SpendDelta) error {
	if len(deltas) == 0 {
		return nil
	}
	p := db.AddSpendBatchParams{}
	for _, d := range deltas {
		p.TenantIds = append(p.TenantIds, d.Cell.TenantID)
		p.Hours = append(p.Hours, d.Cell.Hour)
		p.KeyIds = append(p.KeyIds, d.Cell.KeyID)
		p.TeamIds = append(p.TeamIds, d.Cell.TeamID)
		p.Providers = append(p.Providers, d.Cell.Provider)
		p.Models = append(p.Models, d.Cell.Model)
		p.Requests = append(p.Requests, d.Requests)
		p.PromptTokens = append(p.PromptTokens, d.PromptTokens)
		p.CompletionTokens = append(p.CompletionTokens, d.CompletionTokens)
		p.CostMicros = append(p.CostMicros, int64(d.Cost))
	}
	tx, err := projectionTx(ctx)
	if err != nil {
		return err
	}
	return db.New(tx).AddSpendBatch(ctx, p)
}

// SpendRows reads the cells of [from, to), by day; bounds are taken to the hour.
func (s *SpendStore) SpendRows(ctx context.Context, tenantID string, from, to time.Time) ([]query.SpendRow, error) {
	rows, err := db.New(s.pool).SpendRows(ctx, db.SpendRowsParams{TenantID: tenantID, FromHour: usage.Hour(from), ToHour: usage.Hour(to.Add(time.Hour - 1))})
	if err != nil {
		return nil, fmt.Errorf("read spend: %w", err)
	}
	out := make([]query.SpendRow, len(rows))
	for i, r := range rows {
		out[i] = query.SpendRow{
			Day: r.Day.Time, KeyID: r.KeyID, TeamID: r.TeamID, Provider: r.Provider, Model: r.Model,
			Requests: r.Requests, PromptTokens: r.PromptTokens, CompletionTokens: r.CompletionTokens, Cost: usage.Micros(r.CostMicros),
		}
	}
	return out, nil
}

// ResetSpend empties the projection and its checkpoint in one transaction,
// so the projector rebuilds it from position 0.
func (s *SpendStore) ResetSpend(ctx context.Context, projection string) error {
	return resetProjection(ctx, s.pool, projection, (*db.Queries).ClearSpend)
}
