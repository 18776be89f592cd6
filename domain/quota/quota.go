// Package quota owns budgets and rate limits: their settings, their windows,
// and how a request's worst case is reserved against them before it runs
// and settled after, so that a hard limit is never overshot.
package quota

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/usage"
)

// Scope is what a budget or a limit applies to.
type Scope string

const (
	ScopeTenant Scope = "tenant"
	ScopeTeam   Scope = "team"
	ScopeKey    Scope = "key"
)

// ParseScope accepts the three scopes.
func ParseScope(s string) (Scope, error) {
	switch sc := Scope(s); sc {
	case ScopeTenant, ScopeTeam, ScopeKey:
		return sc, nil
	}
	return "", fmt.Errorf("%w: scope must be tenant, team or key", ErrInvalid)
}

// Period is a budget's calendar window, in UTC.
type Period string

const (
	Day   Period = "day"
	Week  Period = "week" // Monday to Monday
	Month Period = "month"
	Total Period = "total" // one window for all time
)

var (
	ErrInvalid = errors.New("invalid quota")
	// ErrPriceUnknown refuses a model with no price under a hard budget:
	// its cost could not be checked.
	ErrPriceUnknown = errors.New("price unknown under a hard budget")
)

// Window is the calendar window of period that now falls in: [start, end).
// The total window starts at the Unix epoch and never ends.
func Window(p Period, now time.Time) (start, end time.Time) {
	now = now.UTC()
	day := time.Date(now.Year(), now.Month(), now.Day(), 0, 0, 0, 0, time.UTC)
	switch p {
	case Day:
		return day, day.AddDate(0, 0, 1)
	case Week:
		back := (int(day.Weekday()) + 6) % 7 // days since Monday
		start := day.AddDate(0, 0, -back)
		return start, start.AddDate(0, 0, 7)
	case Month:
		start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
		return start, start.AddDate(0, 1, 0)
	}
	return time.Unix(0, 0).UTC(), time.Time{}
}

// Subject names the tenant, team or key a budget or limit is set on.
type Subject struct {
	TenantID string
	Scope    Scope
	ID       string // the tenant id, or the team's or key's uuid
}

func (s Subject) String() string { return string(s.Scope) + ":" + s.ID }

// Budget is money a subject may spend per period.
type Budget struct {
	Subject
	Limit   usage.Micros
	Period  Period
	Hard    bool      // refuse past the limit; a soft budget only alerts
	AlertAt []float64 // fractions of the limit, ascending, in (0, 1]
	Version int
}

// NewBudget validates a budget's settings.
func NewBudget(s Subject, limitUSD float64, period Period, hard bool, alertAt []float64) (Budget, error) {
	var errs []error
	if math.IsNaN(limitUSD) || limitUSD < 0 || limitUSD > 1e9 {
		errs = append(errs, fmt.Errorf("%w: limit_usd must be between 0 and 1,000,000,000", ErrInvalid))
	}
	switch period {
	case Day, Week, Month, Total:
	default:
		errs = append(errs, fmt.Errorf("%w: period must be day, week, month or total", ErrInvalid))
	}
	alerts := slices.Clone(alertAt)
	slices.Sort(alerts)
	alerts = slices.Compact(alerts)
	for _, a := range alerts {
		if !(a > 0 && a <= 1) {
			errs = append(errs, fmt.Errorf("%w: alert_at fractions must be in (0, 1]", ErrInvalid))
			break
		}
	}
	if len(alerts) > 10 {
		errs = append(errs, fmt.Errorf("%w: at most 10 alert thresholds", ErrInvalid))
	}
	if err := errors.Join(errs...); err != nil {
		return Budget{}, err
	}
	return Budget{Subject: s, Limit: usage.Micros(math.Round(limitUSD * 1e6)), Period: period, Hard: hard, AlertAt: alerts}, nil
}

// Crossed says which alert thresholds spend passed going from before to
// after, and whether it reached the limit.
func (b Budget) Crossed(before, after usage.Micros) (thresholds []float64, exceeded bool) {
	for _, a := range b.AlertAt {
		t := usage.Micros(math.Ceil(a * float64(b.Limit)))
		if before < t && after >= t {
			thresholds = append(thresholds, a)
		}
	}
	return thresholds, before < b.Limit && after >= b.Limit
}

// RateLimit bounds how fast a subject may call: requests and tokens per
// minute, and requests in flight. Zero means no bound.
type RateLimit struct {
	Subject
	RPM         int64
	TPM         int64
	Concurrency int64
	Version     int
}

// NewRateLimit validates a rate limit's settings.
func NewRateLimit(s Subject, rpm, tpm, concurrency int64) (RateLimit, error) {
	if rpm < 0 || tpm < 0 || concurrency < 0 || rpm > 1e9 || tpm > 1e12 || concurrency > 1e6 {
		return RateLimit{}, fmt.Errorf("%w: rpm, tpm and concurrency must be non-negative (0: no bound)", ErrInvalid)
	}
	return RateLimit{Subject: s, RPM: rpm, TPM: tpm, Concurrency: concurrency}, nil
}

// ValidateSubjectID checks the id a scope is given.
func ValidateSubjectID(s Subject) error {
	switch s.Scope {
	case ScopeTenant:
		if s.ID != s.TenantID {
			return fmt.Errorf("%w: a tenant budget or limit is set on the tenant itself (%s)", ErrInvalid, s.TenantID)
		}
	case ScopeTeam, ScopeKey:
		if _, err := uuid.Parse(s.ID); err != nil {
			return fmt.Errorf("%w: %s id must be a uuid", ErrInvalid, s.Scope)
		}
	default:
		return fmt.Errorf("%w: unknown scope %q", ErrInvalid, s.Scope)
	}
	if strings.TrimSpace(s.ID) == "" {
		return fmt.Errorf("%w: empty id", ErrInvalid)
	}
	return nil
}
