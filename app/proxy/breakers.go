package proxy

import (
	"sort"
	"sync"
	"time"

	"github.com/gatehouse/gatehouse/domain/routing"
)

// Breakers are this replica's circuit breakers, one per tenant, provider
// connection and model that a config with a circuit_breaker has called.
type Breakers struct {
	mu       sync.Mutex
	circuits map[circuitKey]*circuitEntry
}

type circuitKey struct{ tenant, provider, model string }

type circuitEntry struct {
	routing.Circuit
	breaker routing.Breaker // the setting it was last used under
}

// NewBreakers builds an empty set.
func NewBreakers() *Breakers { return &Breakers{circuits: map[circuitKey]*circuitEntry{}} }

// Open is the plan's view: the attempt's circuit is open now.
func (b *Breakers) Open(tenant string, now time.Time) routing.Open {
	return func(a routing.Attempt) bool {
		if a.Breaker == nil {
			return false
		}
		b.mu.Lock()
		defer b.mu.Unlock()
		c := b.circuits[circuitKey{tenant, a.Provider, a.Model}]
		return c != nil && c.Open(*a.Breaker, now)
	}
}

// maxCircuits bounds the circuits kept: a model a client names makes a
// circuit only once it fails, and past the bound failures go uncounted
// rather than memory growing without end.
const maxCircuits = 10_000

// Pass is a call's ticket through a circuit: whether it is the trial.
type Pass struct{ trial bool }

// Allow takes a call to the attempt's target through its circuit.
func (b *Breakers) Allow(tenant string, a routing.Attempt, provider, model string, now time.Time) (Pass, bool) {
	if a.Breaker == nil {
		return Pass{}, true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.circuits[circuitKey{tenant, provider, model}]
	if c == nil {
		return Pass{}, true // no failures on record: closed
	}
	c.breaker = *a.Breaker
	ok, trial := c.Allow(*a.Breaker, now)
	return Pass{trial: trial}, ok
}

// Report folds in how a call that Allow let through ended. A circuit that
// is closed and clean again is forgotten. opened says the call opened a
// closed circuit (not one that failed its trial again).
func (b *Breakers) Report(tenant string, a routing.Attempt, provider, model string, p Pass, status int, now time.Time) (opened bool, failures int) {
	if a.Breaker == nil {
		return false, 0
	}
	failed := routing.Counts(status)
	b.mu.Lock()
	defer b.mu.Unlock()
	k := circuitKey{tenant, provider, model}
	c := b.circuits[k]
	if c == nil {
		if !failed || len(b.circuits) >= maxCircuits {
			return false, 0
		}
		c = &circuitEntry{}
		b.circuits[k] = c
	}
	c.breaker = *a.Breaker
	was := c.State
	c.Report(*a.Breaker, failed, p.trial, now)
	if c.State == routing.CircuitClosed && c.Failures == 0 {
		delete(b.circuits, k)
	}
	return was != routing.CircuitOpen && was != routing.CircuitHalfOpen && c.State == routing.CircuitOpen, c.Failures
}

// Abandon gives back a call that ended without an outcome.
func (b *Breakers) Abandon(tenant string, a routing.Attempt, provider, model string, p Pass) {
	if a.Breaker == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.circuits[circuitKey{tenant, provider, model}]; c != nil {
		c.Abandon(p.trial)
	}
}

// Circuits lists the circuits of a tenant's provider connection, by model.
func (b *Breakers) Circuits(tenant, provider string, now time.Time) []routing.CircuitView {
	b.mu.Lock()
	out := []routing.CircuitView{}
	for k, c := range b.circuits {
		if k.tenant != tenant || k.provider != provider {
			continue
		}
		v := routing.CircuitView{Model: k.model, State: c.State, ConsecutiveFailures: c.Failures}
		if c.State == "" {
			v.State = routing.CircuitClosed
		}
		if c.State == routing.CircuitOpen {
			opened, retry := c.OpenedAt, c.OpenedAt.Add(c.breaker.Cooldown)
			v.OpenedAt, v.RetryAt = &opened, &retry
			if !now.Before(retry) {
				v.State = routing.CircuitHalfOpen // the next call is the trial
			}
		}
		out = append(out, v)
	}
	b.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Model < out[j].Model })
	return out
}

// CircuitSnapshot is one circuit, for metrics.
type CircuitSnapshot struct {
	Tenant, Provider string
	routing.CircuitView
}

// All lists every circuit on this replica.
func (b *Breakers) All(now time.Time) []CircuitSnapshot {
	b.mu.Lock()
	keys := make([]circuitKey, 0, len(b.circuits))
	for k := range b.circuits {
		keys = append(keys, k)
	}
	b.mu.Unlock()
	seen := map[[2]string]bool{}
	var out []CircuitSnapshot
	for _, k := range keys {
		if seen[[2]string{k.tenant, k.provider}] {
			continue
		}
		seen[[2]string{k.tenant, k.provider}] = true
		for _, v := range b.Circuits(k.tenant, k.provider, now) {
			out = append(out, CircuitSnapshot{Tenant: k.tenant, Provider: k.provider, CircuitView: v})
		}
	}
	return out
}
