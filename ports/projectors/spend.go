package projectors

import (
	"context"
	"time"

	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// SpendName is the spend projector's handler name; bump the version to
// rebuild the projection from position 0.
const SpendName = "spend.v1"

// SpendWriter stores the spend projection's cells.
type SpendWriter interface {
	AddCompleted(ctx context.Context, tenantID string, at time.Time, e usage.RequestCompleted) error
}

// Spend folds completed requests into spend per key, provider, model and hour.
// Only successful requests count: a failed upstream call costs nothing.
type Spend struct{ w SpendWriter }

// NewSpend builds the projector.
func NewSpend(w SpendWriter) *Spend {
	if w == nil {
		panic("projectors.NewSpend: nil writer")
	}
	return &Spend{w: w}
}

// Handle routes an event to its On method.
func (p *Spend) Handle(ctx context.Context, r eventlog.Recorded) error {
	if e, ok := r.Event.(usage.RequestCompleted); ok {
		return p.OnRequestCompleted(ctx, r, e)
	}
	return nil
}

// OnRequestCompleted adds a successful request's tokens and cost.
func (p *Spend) OnRequestCompleted(ctx context.Context, r eventlog.Recorded, e usage.RequestCompleted) error {
	if !e.Succeeded() {
		return nil
	}
	return p.w.AddCompleted(ctx, r.TenantID, r.OccurredAt, e)
}
