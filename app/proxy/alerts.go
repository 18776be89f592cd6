package proxy

import (
	"context"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/eventlog"
	providerdom "github.com/gatehouse/gatehouse/domain/provider"
	"github.com/gatehouse/gatehouse/domain/quota"
	"github.com/gatehouse/gatehouse/domain/routing"
)

// systemActor is who raises events nobody asked for, such as budget alerts.
const systemActor = "gatehouse"

// Posted raises budget.alerted for each threshold spend passed and
// budget.exceeded when it reached the limit. Each lives on a once-only
// stream per budget, window and threshold, so replicas that notice the same
// crossing record it once.
func (s *Service) Posted(postings []quota.Posting) {
	for _, p := range postings {
		b, ok := s.Governance.Budget(p.Subject)
		if !ok {
			continue
		}
		thresholds, exceeded := b.Crossed(p.Before, p.After)
		for _, t := range thresholds {
			s.raise(p.Subject.TenantID, quota.AlertStreamID(p.Subject, p.Window, t), quota.BudgetAlerted{
				V: 1, Scope: p.Subject.Scope, ScopeID: p.Subject.ID, WindowStart: p.Window, Threshold: t, SpentMicros: p.After, LimitMicros: b.Limit})
		}
		if exceeded {
			s.raise(p.Subject.TenantID, quota.ExceededStreamID(p.Subject, p.Window), quota.BudgetExceeded{
				V: 1, Scope: p.Subject.Scope, ScopeID: p.Subject.ID, WindowStart: p.Window, SpentMicros: p.After, LimitMicros: b.Limit})
		}
	}
}

// raise waits for room in the event buffer (alerts run off the request
// path, on the settlement writer): an alert is dropped only when the
// buffer stays full past the writer's wait, and that is logged.
func (s *Service) raise(tenantID, stream string, e eventlog.Event) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	slot, err := s.Recorder.Reserve(ctx)
	if err != nil {
		s.Log.Warn("budget alert not recorded", "type", e.EventType(), "tenant", tenantID, "stream", stream, "err", err)
		return
	}
	m := eventlog.Meta{Actor: systemActor, OccurredAt: s.Now()}
	slot.Submit(m.Envelope(uuid.New(), tenantID, stream, 1, e))
}

// reportCall folds a call's outcome into its circuit breaker and, when it
// opened the circuit, records provider.unhealthy in the tenant's log.
func (s *Service) reportCall(tenant string, a routing.Attempt, provider, model string, p Pass, status int) {
	opened, failures := s.breakers.Report(tenant, a, provider, model, p, status, s.Now())
	if opened {
		go s.raise(tenant, providerdom.UnhealthyStreamID(uuid.New()), providerdom.ProviderUnhealthy{V: 1, Provider: provider, Model: model,
			Failures: failures, CooldownSeconds: int(a.Breaker.Cooldown.Seconds())})
	}
}
