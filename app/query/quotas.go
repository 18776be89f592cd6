package query

import (
	"context"
	"errors"
	"time"

	"github.com/gatehouse/gatehouse/domain/access"
	"github.com/gatehouse/gatehouse/domain/quota"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// QuotaSettings finds budgets and rate limits.
type QuotaSettings interface {
	Tenants
	Budget(s quota.Subject) (quota.Budget, bool)
	RateLimit(s quota.Subject) (quota.RateLimit, bool)
}

// QuotaCounters reads the shared counters.
type QuotaCounters interface {
	Counter(ctx context.Context, kind quota.Kind, s quota.Subject, bucket time.Time) (used, reserved int64, err error)
}

// ErrNoQuota is a subject with no budget or limit set.
var ErrNoQuota = errors.New("no budget or rate limit set")

// GetBudget asks for a budget and where it stands in the current window.
type GetBudget struct {
	Principal access.Principal
	Subject   quota.Subject
	Now       time.Time
}

// BudgetStatus is a budget and its current window.
type BudgetStatus struct {
	Budget      quota.Budget
	WindowStart time.Time
	WindowEnd   time.Time // zero for the total window
	Spent       usage.Micros
	Reserved    usage.Micros
}

// Remaining is what the window still allows (negative past a soft limit).
func (s BudgetStatus) Remaining() usage.Micros { return s.Budget.Limit - s.Spent - s.Reserved }

// GetBudgetHandler answers GetBudget.
type GetBudgetHandler struct {
	settings QuotaSettings
	counters QuotaCounters
}

// NewGetBudgetHandler wires the handler.
func NewGetBudgetHandler(settings QuotaSettings, counters QuotaCounters) GetBudgetHandler {
	if settings == nil || counters == nil {
		panic("query.NewGetBudgetHandler: nil dependency")
	}
	return GetBudgetHandler{settings: settings, counters: counters}
}

// Handle reads the budget and its counter.
func (h GetBudgetHandler) Handle(ctx context.Context, q GetBudget) (BudgetStatus, error) {
	if err := readableTenant(h.settings, q.Principal, q.Subject.TenantID); err != nil {
		return BudgetStatus{}, err
	}
	b, ok := h.settings.Budget(q.Subject)
	if !ok {
		return BudgetStatus{}, ErrNoQuota
	}
	start, end := quota.Window(b.Period, q.Now)
	used, reserved, err := h.counters.Counter(ctx, quota.KindBudget, b.Subject, start)
	if err != nil {
		return BudgetStatus{}, err
	}
	return BudgetStatus{Budget: b, WindowStart: start, WindowEnd: end, Spent: usage.Micros(used), Reserved: usage.Micros(reserved)}, nil
}

// GetRateLimit asks for a rate limit and the current minute's counts.
type GetRateLimit struct {
	Principal access.Principal
	Subject   quota.Subject
	Now       time.Time
}

// RateLimitStatus is a rate limit and what the current minute used.
type RateLimitStatus struct {
	Limit    quota.RateLimit
	Minute   time.Time
	Requests int64
	Tokens   int64
	InFlight int64
}

// GetRateLimitHandler answers GetRateLimit.
type GetRateLimitHandler struct {
	settings QuotaSettings
	counters QuotaCounters
}

// NewGetRateLimitHandler wires the handler.
func NewGetRateLimitHandler(settings QuotaSettings, counters QuotaCounters) GetRateLimitHandler {
	if settings == nil || counters == nil {
		panic("query.NewGetRateLimitHandler: nil dependency")
	}
	return GetRateLimitHandler{settings: settings, counters: counters}
}

// Handle reads the limit and its counters.
func (h GetRateLimitHandler) Handle(ctx context.Context, q GetRateLimit) (RateLimitStatus, error) {
	if err := readableTenant(h.settings, q.Principal, q.Subject.TenantID); err != nil {
		return RateLimitStatus{}, err
	}
	l, ok := h.settings.RateLimit(q.Subject)
	if !ok {
		return RateLimitStatus{}, ErrNoQuota
	}
	st := RateLimitStatus{Limit: l, Minute: q.Now.UTC().Truncate(time.Minute)}
	var err1, err2, err3 error
	st.Requests, _, err1 = h.counters.Counter(ctx, quota.KindRequests, l.Subject, st.Minute)
	st.Tokens, _, err2 = h.counters.Counter(ctx, quota.KindTokens, l.Subject, st.Minute)
	st.InFlight, _, err3 = h.counters.Counter(ctx, quota.KindConcurrency, l.Subject, time.Unix(0, 0).UTC())
	return st, errors.Join(err1, err2, err3)
}
