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

// Allow takes a call to the attempt's target through its circuit.
func (b *Breakers) Allow(tenant string, a routing.Attempt, provider, model string, now time.Time) bool {
	if a.Breaker == nil {
		return true
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	k := circuitKey{tenant, provider, model}
	c := b.circuits[k]
	if c == nil {
		c = &circuitEntry{}
		b.circuits[k] = c
	}
	c.breaker = *a.Breaker
	return c.Allow(*a.Breaker, now)
}

// Report folds in how a call that Allow let through ended.
func (b *Breakers) Report(tenant string, a routing.Attempt, provider, model string, status int, now time.Time) {
	if a.Breaker == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.circuits[circuitKey{tenant, provider, model}]; c != nil {
		c.Report(*a.Breaker, routing.Counts(status), now)
	}
}

// Abandon gives back a call that ended without an outcome.
func (b *Breakers) Abandon(tenant string, a routing.Attempt, provider, model string) {
	if a.Breaker == nil {
		return
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if c := b.circuits[circuitKey{tenant, provider, model}]; c != nil {
		c.Abandon()
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
