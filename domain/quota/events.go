package quota

import (
	"fmt"
	"time"

	"github.com/gatehouse/gatehouse/domain/usage"
)

// BudgetSet sets (or replaces) a budget.
type BudgetSet struct {
	V           int          `json:"v"`
	Scope       Scope        `json:"scope"`
	ScopeID     string       `json:"scope_id"`
	LimitMicros usage.Micros `json:"limit_micros"`
	Period      Period       `json:"period"`
	Hard        bool         `json:"hard"`
	AlertAt     []float64    `json:"alert_at,omitempty"`
}

func (BudgetSet) EventType() string { return "budget.set" }
func (BudgetSet) EventVersion() int { return 1 }

// Budget is the budget the event sets.
func (e BudgetSet) Budget(tenantID string, version int) Budget {
	return Budget{Subject: Subject{TenantID: tenantID, Scope: e.Scope, ID: e.ScopeID}, Limit: e.LimitMicros,
		Period: e.Period, Hard: e.Hard, AlertAt: e.AlertAt, Version: version}
}

// BudgetStreamID is the stream of a subject's budget.
func BudgetStreamID(s Subject) string { return "budget:" + s.String() }

// BudgetAlerted says spend passed a threshold of a budget in a window.
type BudgetAlerted struct {
	V           int          `json:"v"`
	Scope       Scope        `json:"scope"`
	ScopeID     string       `json:"scope_id"`
	WindowStart time.Time    `json:"window_start"`
	Threshold   float64      `json:"threshold"`
	SpentMicros usage.Micros `json:"spent_micros"`
	LimitMicros usage.Micros `json:"limit_micros"`
}

func (BudgetAlerted) EventType() string { return "budget.alerted" }
func (BudgetAlerted) EventVersion() int { return 1 }

// BudgetExceeded says spend reached a budget's limit in a window.
type BudgetExceeded struct {
	V           int          `json:"v"`
	Scope       Scope        `json:"scope"`
	ScopeID     string       `json:"scope_id"`
	WindowStart time.Time    `json:"window_start"`
	SpentMicros usage.Micros `json:"spent_micros"`
	LimitMicros usage.Micros `json:"limit_micros"`
}

func (BudgetExceeded) EventType() string { return "budget.exceeded" }
func (BudgetExceeded) EventVersion() int { return 1 }

// AlertStreamID makes each alert a once-only stream: per subject, window and threshold.
func AlertStreamID(s Subject, window time.Time, threshold float64) string {
	return fmt.Sprintf("budget-alert:%s:%s:%g", s, window.UTC().Format("2006-01-02"), threshold)
}

// ExceededStreamID makes budget.exceeded once-only per subject and window.
func ExceededStreamID(s Subject, window time.Time) string {
	return fmt.Sprintf("budget-exceeded:%s:%s", s, window.UTC().Format("2006-01-02"))
}

// RateLimitSet sets (or replaces) a rate limit.
type RateLimitSet struct {
	V           int    `json:"v"`
	Scope       Scope  `json:"scope"`
	ScopeID     string `json:"scope_id"`
	RPM         int64  `json:"rpm"`
	TPM         int64  `json:"tpm"`
	Concurrency int64  `json:"concurrency"`
}

func (RateLimitSet) EventType() string { return "ratelimit.set" }
func (RateLimitSet) EventVersion() int { return 1 }

// RateLimit is the limit the event sets.
func (e RateLimitSet) RateLimit(tenantID string, version int) RateLimit {
	return RateLimit{Subject: Subject{TenantID: tenantID, Scope: e.Scope, ID: e.ScopeID}, RPM: e.RPM, TPM: e.TPM, Concurrency: e.Concurrency, Version: version}
}

// RateLimitStreamID is the stream of a subject's rate limit.
func RateLimitStreamID(s Subject) string { return "ratelimit:" + s.String() }
