package projectors

import (
	"context"

	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// RequestLogName is the request log projector's handler name.
const RequestLogName = "requests.v1"

// RequestLogWriter stores the request log's rows.
type RequestLogWriter interface {
	AddRequests(ctx context.Context, rows []query.RequestRow) error
}

// RequestLog folds request.completed and request.rejected into one row per
// request; a page of events becomes one write.
type RequestLog struct{ w RequestLogWriter }

// NewRequestLog builds the projector.
func NewRequestLog(w RequestLogWriter) *RequestLog {
	if w == nil {
		panic("projectors.NewRequestLog: nil writer")
	}
	return &RequestLog{w: w}
}

// Handle folds a page of events.
func (p *RequestLog) Handle(ctx context.Context, page []eventlog.Recorded) error {
	rows := make([]query.RequestRow, 0, len(page))
	for _, r := range page {
		switch e := r.Event.(type) {
		case usage.RequestCompleted:
			rows = append(rows, p.OnRequestCompleted(r, e))
		case usage.RequestRejected:
			rows = append(rows, p.OnRequestRejected(r, e))
		}
	}
	return p.w.AddRequests(ctx, rows)
}

// OnRequestCompleted is a request that went upstream.
func (p *RequestLog) OnRequestCompleted(r eventlog.Recorded, e usage.RequestCompleted) query.RequestRow {
	return query.RequestRow{
		TenantID: r.TenantID, RequestID: e.RequestID, OccurredAt: r.OccurredAt, Outcome: "completed", KeyID: e.KeyID, TeamID: e.TeamID,
		Endpoint: e.Endpoint, Model: e.Model, Provider: e.Provider, UpstreamModel: e.UpstreamModel, Stream: e.Stream,
		Status: e.Status, Code: e.ErrorCode, Tokens: e.Tokens, Cost: e.CostMicros, Priced: e.Priced,
		DurationMs: e.DurationMs, GatewayMs: e.GatewayMs, UpstreamMs: e.UpstreamMs, FirstTokenMs: e.FirstTokenMs,
		TraceID: r.TraceID, Metadata: e.Metadata, Routing: e.Routing, Guardrails: e.Guardrails,
	}
}

// OnRequestRejected is a request refused before any upstream call.
func (p *RequestLog) OnRequestRejected(r eventlog.Recorded, e usage.RequestRejected) query.RequestRow {
	return query.RequestRow{
		TenantID: r.TenantID, RequestID: e.RequestID, OccurredAt: r.OccurredAt, Outcome: "rejected", KeyID: e.KeyID, TeamID: e.TeamID,
		Endpoint: e.Endpoint, Model: e.Model, Status: e.Status, Code: e.Code, Reason: e.Reason, TraceID: r.TraceID, Metadata: e.Metadata,
		Routing: e.Routing, Guardrails: e.Guardrails,
	}
}
