package postgres

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse/gatehouse/adapters/postgres/db"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// PayloadStore reads stored request bodies and deletes them once expired
// (they are written with their request's event).
type PayloadStore struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

// NewPayloadStore builds the store.
func NewPayloadStore(pool *pgxpool.Pool, now func() time.Time) *PayloadStore {
	if pool == nil || now == nil {
		panic("postgres.NewPayloadStore: nil dependency")
	}
	return &PayloadStore{pool: pool, now: now}
}

// GetPayload reads a request's stored bodies, if they are kept still.
func (s *PayloadStore) GetPayload(ctx context.Context, tenantID string, requestID uuid.UUID) (*usage.StoredPayload, bool, error) {
	r, err := db.New(s.pool).GetPayload(ctx, db.GetPayloadParams{TenantID: tenantID, RequestID: requestID, Now: s.now()})
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	return &usage.StoredPayload{TenantID: r.TenantID, RequestID: r.RequestID, Request: r.Request, Response: r.Response,
		RequestTruncated: r.RequestTruncated, ResponseTruncated: r.ResponseTruncated, StoredAt: r.StoredAt, ExpiresAt: r.ExpiresAt}, true, nil
}

// Sweep deletes the bodies whose retention ended.
func (s *PayloadStore) Sweep(ctx context.Context) (int64, error) {
	return db.New(s.pool).DeleteExpiredPayloads(ctx, s.now())
}

// RunSweeper sweeps every interval until ctx ends.
func (s *PayloadStore) RunSweeper(ctx context.Context, every time.Duration, log *slog.Logger) {
	runSweeper(ctx, every, log, "stored request bodies past their retention", s.Sweep)
}
