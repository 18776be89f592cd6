package postgres

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse/gatehouse/adapters/postgres/db"
	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// RequestLogStore holds the request log projection.
type RequestLogStore struct{ pool *pgxpool.Pool }

// NewRequestLogStore builds the store.
func NewRequestLogStore(pool *pgxpool.Pool) *RequestLogStore {
	if pool == nil {
		panic("postgres.NewRequestLogStore: nil pool")
	}
	return &RequestLogStore{pool: pool}
}

// AddRequests records a page of requests with one statement, in the
// projection's transaction.
func (s *RequestLogStore) AddRequests(ctx context.Context, rows []query.RequestRow) error {
	if len(rows) == 0 {
		return nil
	}
	tx, err := projectionTx(ctx)
	if err != nil {
		return err
	}
	var p db.AddRequestLogBatchParams
	for _, r := range rows {
		md, err := json.Marshal(r.Metadata)
		if err != nil {
			return err
		}
		if r.Metadata == nil {
			md = []byte(`{}`)
		}
		team := uuid.Nil
		if r.TeamID != nil {
			team = *r.TeamID
		}
		p.TenantIds = append(p.TenantIds, r.TenantID)
		p.RequestIds = append(p.RequestIds, r.RequestID)
		p.OccurredAts = append(p.OccurredAts, r.OccurredAt)
		p.Outcomes = append(p.Outcomes, r.Outcome)
		p.KeyIds = append(p.KeyIds, r.KeyID)
		p.TeamIds = append(p.TeamIds, team)
		p.Endpoints = append(p.Endpoints, r.Endpoint)
		p.Models = append(p.Models, r.Model)
		p.Providers = append(p.Providers, r.Provider)
		p.UpstreamModels = append(p.UpstreamModels, r.UpstreamModel)
		p.Streams = append(p.Streams, r.Stream)
		p.Statuses = append(p.Statuses, int32(r.Status))
		p.Codes = append(p.Codes, r.Code)
		p.Reasons = append(p.Reasons, r.Reason)
		p.PromptTokens = append(p.PromptTokens, r.Tokens.Prompt)
		p.CompletionTokens = append(p.CompletionTokens, r.Tokens.Completion)
		p.CachedTokens = append(p.CachedTokens, r.Tokens.CachedPrompt)
		p.CostMicros = append(p.CostMicros, int64(r.Cost))
		p.Priced = append(p.Priced, r.Priced)
		p.DurationMs = append(p.DurationMs, r.DurationMs)
		p.GatewayMs = append(p.GatewayMs, r.GatewayMs)
		p.UpstreamMs = append(p.UpstreamMs, r.UpstreamMs)
		p.FirstTokenMs = append(p.FirstTokenMs, r.FirstTokenMs)
		p.TraceIds = append(p.TraceIds, r.TraceID)
		p.Metadata = append(p.Metadata, md)
		routing, err := json.Marshal(r.Routing)
		if err != nil {
			return err
		}
		p.Routings = append(p.Routings, routing)
		verdicts := r.Guardrails
		if verdicts == nil {
			verdicts = []usage.VerdictRef{}
		}
		gb, err := json.Marshal(verdicts)
		if err != nil {
			return err
		}
		p.Guardrails = append(p.Guardrails, gb)
	}
	return db.New(tx).AddRequestLogBatch(ctx, p)
}

// ListRequests reads a page of the request log, newest first.
func (s *RequestLogStore) ListRequests(ctx context.Context, tenantID string, f query.RequestFilter) ([]query.RequestRow, error) {
	p := db.ListRequestsParams{TenantID: tenantID, FromAt: f.From, ToAt: f.To, Metadata: query.MetadataJSON(f.Metadata), MaxRows: int32(f.Limit)}
	if f.KeyID != nil {
		p.KeyID = pgtype.UUID{Bytes: *f.KeyID, Valid: true}
	}
	if f.Model != nil {
		p.Model = pgtype.Text{String: *f.Model, Valid: true}
	}
	if f.Status != nil {
		p.Status = pgtype.Int4{Int32: int32(*f.Status), Valid: true}
	}
	if f.Before != nil {
		p.BeforeAt = pgtype.Timestamptz{Time: f.Before.At, Valid: true}
		p.BeforeID = pgtype.UUID{Bytes: f.Before.RequestID, Valid: true}
	}
	rows, err := db.New(s.pool).ListRequests(ctx, p)
	if err != nil {
		return nil, fmt.Errorf("read request log: %w", err)
	}
	out := make([]query.RequestRow, len(rows))
	for i, r := range rows {
		if out[i], err = requestRow(r); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// GetRequest reads one request of the log.
func (s *RequestLogStore) GetRequest(ctx context.Context, tenantID string, id uuid.UUID) (query.RequestRow, bool, error) {
	r, err := db.New(s.pool).GetRequest(ctx, db.GetRequestParams{TenantID: tenantID, RequestID: id})
	if errors.Is(err, pgx.ErrNoRows) {
		return query.RequestRow{}, false, nil
	}
	if err != nil {
		return query.RequestRow{}, false, fmt.Errorf("read request log: %w", err)
	}
	row, err := requestRow(r)
	return row, err == nil, err
}

func requestRow(r db.RequestLog) (query.RequestRow, error) {
	out := query.RequestRow{
		TenantID: r.TenantID, RequestID: r.RequestID, OccurredAt: r.OccurredAt, Outcome: r.Outcome, KeyID: r.KeyID,
		Endpoint: r.Endpoint, Model: r.Model, Provider: r.Provider, UpstreamModel: r.UpstreamModel, Stream: r.Stream,
		Status: int(r.Status), Code: r.Code, Reason: r.Reason,
		Tokens: usage.Tokens{Prompt: r.PromptTokens, Completion: r.CompletionTokens, CachedPrompt: r.CachedTokens},
		Cost:   usage.Micros(r.CostMicros), Priced: r.Priced, DurationMs: r.DurationMs, TraceID: r.TraceID,
		GatewayMs: r.GatewayMs, UpstreamMs: r.UpstreamMs, FirstTokenMs: r.FirstTokenMs,
	}
	if r.TeamID.Valid {
		id := uuid.UUID(r.TeamID.Bytes)
		out.TeamID = &id
	}
	if err := json.Unmarshal(r.Metadata, &out.Metadata); err != nil {
		return out, fmt.Errorf("request %s metadata: %w", r.RequestID, err)
	}
	if err := json.Unmarshal(r.Routing, &out.Routing); err != nil {
		return out, fmt.Errorf("request %s routing: %w", r.RequestID, err)
	}
	if err := json.Unmarshal(r.Guardrails, &out.Guardrails); err != nil {
		return out, fmt.Errorf("request %s guardrails: %w", r.RequestID, err)
	}
	return out, nil
}

// ResetRequestLog empties the projection and its checkpoint in one
// transaction, so the projector rebuilds it from position 0.
func (s *RequestLogStore) ResetRequestLog(ctx context.Context, projection string) error {
	return resetProjection(ctx, s.pool, projection, (*db.Queries).ClearRequestLog)
}
