package routing

import "time"

// Circuit states.
const (
	CircuitClosed   = "closed"    // calls go through
	CircuitOpen     = "open"      // calls are skipped until the cooldown ends
	CircuitHalfOpen = "half_open" // one trial call decides
)

// Circuit is one provider connection and model's circuit breaker: after
// a threshold of consecutive failures it opens, and the target is skipped
// for the cooldown; then a single trial call decides whether it closes
// again or stays open for another cooldown.
type Circuit struct {
	State    string
	Failures int // consecutive
	OpenedAt time.Time
	trial    bool // a half-open trial call is in flight
}

// Open says whether a plan should pass the target over now: the circuit
// is open and its cooldown has not ended, or its one trial is in flight.
func (c Circuit) Open(b Breaker, now time.Time) bool {
	switch c.State {
	case CircuitOpen:
		return now.Before(c.OpenedAt.Add(b.Cooldown))
	case CircuitHalfOpen:
		return c.trial
	}
	return false
}

// Allow takes a call through: always when closed; once the cooldown has
// ended, as the single trial (trial is true: its outcome alone decides).
func (c *Circuit) Allow(b Breaker, now time.Time) (ok, trial bool) {
	if c.State == "" {
		c.State = CircuitClosed
	}
	switch {
	case c.State == CircuitClosed:
		return true, false
	case c.Open(b, now):
		return false, false
	}
	c.State, c.trial = CircuitHalfOpen, true
	return true, true
}

// Report folds in how a call that Allow let through ended. Once the
// circuit has opened, only its trial's outcome counts: a call let in
// before, ending late, says nothing of the target now.
func (c *Circuit) Report(b Breaker, failed, trial bool, now time.Time) {
	switch {
	case c.State == CircuitClosed || c.State == "":
		if !failed {
			c.Failures = 0
			return
		}
		c.Failures++
		if c.Failures >= b.FailureThreshold {
			c.State, c.OpenedAt = CircuitOpen, now
		}
	case c.State == CircuitHalfOpen && trial:
		c.trial = false
		if failed {
			c.Failures++
			c.State, c.OpenedAt = CircuitOpen, now
			return
		}
		c.State, c.Failures = CircuitClosed, 0
	}
}

// Abandon gives back a call that Allow let through and that ended without
// an outcome (its client left): a trial in flight makes room for the next.
func (c *Circuit) Abandon(trial bool) {
	if trial && c.State == CircuitHalfOpen {
		c.trial = false
	}
}

// CircuitView is one circuit as an operator sees it.
type CircuitView struct {
	Model               string
	State               string
	ConsecutiveFailures int
	OpenedAt            *time.Time
	RetryAt             *time.Time // when an open circuit lets a trial call through
}

// Counts says whether a call's outcome counts against the circuit: no
// answer (a connection error, a timeout), a rate limit or a server error.
// Any other 4xx is the request's fault, not the target's.
func Counts(status int) bool {
	return status == 0 || status == 429 || status >= 500
}
