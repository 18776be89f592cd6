package metrics

import (
	"context"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// BudgetReading is a budget of a tenant or a team and what its window
// still allows.
type BudgetReading struct {
	TenantID, Scope, ID string
	LimitUSD            float64
	RemainingUSD        float64
}

// State reads, when scraped, what lives in the database: how far each
// projection is behind the log, and the budgets of tenants and teams (a
// key's budget is not a series: keys are never labels). Budgets are shown
// only with the tenant label on.
type State struct {
	lag       func(context.Context) (map[string]time.Duration, error)
	budgets   func(context.Context) ([]BudgetReading, error)
	lagDesc   *prometheus.Desc
	remaining *prometheus.Desc
	limit     *prometheus.Desc
	errors    prometheus.Counter
}

// NewState builds the collector; either reader may be nil.
func NewState(lag func(context.Context) (map[string]time.Duration, error), budgets func(context.Context) ([]BudgetReading, error), o Options) *State {
	if !o.TenantLabel {
		budgets = nil
	}
	return &State{lag: lag, budgets: budgets,
		lagDesc: prometheus.NewDesc("gatehouse_projection_lag_seconds",
			"How far a projection is behind the log: from the event it last folded to the newest of its topic.", []string{"projection"}, nil),
		remaining: prometheus.NewDesc("gatehouse_budget_remaining_usd",
			"What a tenant's or team's budget still allows in its current window (negative past a soft limit).", []string{"tenant", "scope", "id"}, nil),
		limit: prometheus.NewDesc("gatehouse_budget_limit_usd", "A tenant's or team's budget per window.", []string{"tenant", "scope", "id"}, nil),
		errors: prometheus.NewCounter(prometheus.CounterOpts{Name: "gatehouse_metrics_read_errors_total",
			Help: "Scrapes that could not read a projection's lag or a budget from the database."}),
	}
}

// maxBudgetSeries bounds the budget series of one scrape.
const maxBudgetSeries = 2000

func (s *State) Describe(ch chan<- *prometheus.Desc) {
	ch <- s.lagDesc
	ch <- s.remaining
	ch <- s.limit
	s.errors.Describe(ch)
}

func (s *State) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	if s.lag != nil {
		if lags, err := s.lag(ctx); err != nil {
			s.errors.Inc()
		} else {
			for name, d := range lags {
				ch <- prometheus.MustNewConstMetric(s.lagDesc, prometheus.GaugeValue, d.Seconds(), name)
			}
		}
	}
	if s.budgets != nil {
		if bs, err := s.budgets(ctx); err != nil {
			s.errors.Inc()
		} else {
			for i, b := range bs {
				if i == maxBudgetSeries {
					break
				}
				ch <- prometheus.MustNewConstMetric(s.remaining, prometheus.GaugeValue, b.RemainingUSD, b.TenantID, b.Scope, b.ID)
				ch <- prometheus.MustNewConstMetric(s.limit, prometheus.GaugeValue, b.LimitUSD, b.TenantID, b.Scope, b.ID)
			}
		}
	}
	s.errors.Collect(ch)
}
