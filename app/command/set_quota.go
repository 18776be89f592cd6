package command

import (
	"context"
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/quota"
	"github.com/gatehouse/gatehouse/domain/tenancy"
)

// QuotaRepository records budgets and rate limits.
type QuotaRepository interface {
	SetBudget(ctx context.Context, meta eventlog.Meta, s quota.Subject, e quota.BudgetSet) error
	SetRateLimit(ctx context.Context, meta eventlog.Meta, s quota.Subject, e quota.RateLimitSet) error
}

// Keys finds a tenant's key.
type Keys interface {
	Key(tenantID string, id uuid.UUID) (key.Key, bool)
}

// subjectExists checks that a budget's or limit's subject is in the tenant.
func subjectExists(tenants Tenants, keys Keys, s quota.Subject) error {
	if err := quota.ValidateSubjectID(s); err != nil {
		return err
	}
	id, _ := uuid.Parse(s.ID)
	switch s.Scope {
	case quota.ScopeTeam:
		if _, ok := tenants.Team(s.TenantID, id); !ok {
			return tenancy.ErrTeamNotFound
		}
	case quota.ScopeKey:
		if _, ok := keys.Key(s.TenantID, id); !ok {
			return key.ErrNotFound
		}
	}
	return nil
}

// SetBudget sets or replaces a budget on a tenant, team or key.
type SetBudget struct {
	Actor
	Subject  quota.Subject
	LimitUSD float64
	Period   quota.Period
	Hard     bool
	AlertAt  []float64
}

// SetBudgetHandler handles SetBudget.
type SetBudgetHandler struct {
	tenants Tenants
	keys    Keys
	repo    QuotaRepository
	now     func() time.Time
}

// NewSetBudgetHandler wires the handler.
func NewSetBudgetHandler(tenants Tenants, keys Keys, repo QuotaRepository, now func() time.Time) SetBudgetHandler {
	mustNotBeNil("NewSetBudgetHandler", tenants, keys, repo, now)
	return SetBudgetHandler{tenants: tenants, keys: keys, repo: repo, now: now}
}

// Handle records the budget and returns it.
func (h SetBudgetHandler) Handle(ctx context.Context, c SetBudget) (quota.Budget, error) {
	if err := managedTenant(h.tenants, c.Actor, c.Subject.TenantID); err != nil {
		return quota.Budget{}, err
	}
	if err := subjectExists(h.tenants, h.keys, c.Subject); err != nil {
		return quota.Budget{}, err
	}
	b, err := quota.NewBudget(c.Subject, c.LimitUSD, c.Period, c.Hard, c.AlertAt)
	if err != nil {
		return quota.Budget{}, err
	}
	e := quota.BudgetSet{V: 1, Scope: b.Scope, ScopeID: b.ID, LimitMicros: b.Limit, Period: b.Period, Hard: b.Hard, AlertAt: b.AlertAt}
	if err := h.repo.SetBudget(ctx, c.meta(h.now()), b.Subject, e); err != nil {
		return quota.Budget{}, fmt.Errorf("set budget: %w", err)
	}
	return b, nil
}

// SetRateLimit sets or replaces a rate limit on a tenant, team or key.
type SetRateLimit struct {
	Actor
	Subject     quota.Subject
	RPM         int64
	TPM         int64
	Concurrency int64
}

// SetRateLimitHandler handles SetRateLimit.
type SetRateLimitHandler struct {
	tenants Tenants
	keys    Keys
	repo    QuotaRepository
	now     func() time.Time
}

// NewSetRateLimitHandler wires the handler.
func NewSetRateLimitHandler(tenants Tenants, keys Keys, repo QuotaRepository, now func() time.Time) SetRateLimitHandler {
	mustNotBeNil("NewSetRateLimitHandler", tenants, keys, repo, now)
	return SetRateLimitHandler{tenants: tenants, keys: keys, repo: repo, now: now}
}

// Handle records the limit and returns it.
func (h SetRateLimitHandler) Handle(ctx context.Context, c SetRateLimit) (quota.RateLimit, error) {
	if err := managedTenant(h.tenants, c.Actor, c.Subject.TenantID); err != nil {
		return quota.RateLimit{}, err
	}
	if err := subjectExists(h.tenants, h.keys, c.Subject); err != nil {
		return quota.RateLimit{}, err
	}
	l, err := quota.NewRateLimit(c.Subject, c.RPM, c.TPM, c.Concurrency)
	if err != nil {
		return quota.RateLimit{}, err
	}
	e := quota.RateLimitSet{V: 1, Scope: l.Scope, ScopeID: l.ID, RPM: l.RPM, TPM: l.TPM, Concurrency: l.Concurrency}
	if err := h.repo.SetRateLimit(ctx, c.meta(h.now()), l.Subject, e); err != nil {
		return quota.RateLimit{}, fmt.Errorf("set rate limit: %w", err)
	}
	return l, nil
}
