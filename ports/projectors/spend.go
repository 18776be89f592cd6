package projectors

import (
	"context"

	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// SpendName is the spend projector's handler name; bump the version to
// rebuild the projection from position 0.
const SpendName = "spend.v2"

// SpendWriter stores the spend projection's cells.
type SpendWriter interface {
	AddSpend(ctx context.Context, deltas []usage.SpendDelta) error
}

// Spend folds completed requests into spend per key, provider, model and
// hour; a page of events becomes one write.
type Spend struct{ w SpendWriter }

// NewSpend builds the projector.
func NewSpend(w SpendWriter) *Spend {
	if w == nil {
		panic("projectors.NewSpend: nil writer")
	}
	return &Spend{w: w}
}

// Handle folds a page of events and writes what it adds.
func (p *Spend) Handle(ctx context.Context, page []eventlog.Recorded) error {
	var fold usage.SpendFold
	for _, r := range page {
		if e, ok := r.Event.(usage.RequestCompleted); ok {
			p.OnRequestCompleted(&fold, r, e)
		}
	}
	return p.w.AddSpend(ctx, fold.Deltas)
}

// OnRequestCompleted counts a request in its cell.
func (p *Spend) OnRequestCompleted(fold *usage.SpendFold, r eventlog.Recorded, e usage.RequestCompleted) {
	fold.Add(r.TenantID, r.OccurredAt, e)
}
