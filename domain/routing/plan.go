package routing

import (
	"errors"
	"fmt"
	"maps"
	"strings"
	"time"
)

// ErrNoMatch is a conditional strategy whose conditions all missed and
// that names no default.
var ErrNoMatch = errors.New("no condition of the routing config matches the request, and it names no default target")

// Request is what a plan is made for.
type Request struct {
	Model  string // the model the request names
	Lookup Lookup // its metadata and parameters, for conditions
}

// Attempt is one target to try, with the settings that apply to it
// resolved from every level above it.
type Attempt struct {
	Target   string // where it sits in the config: names, or positions for unnamed targets
	Provider string
	Model    string         // the model to ask for
	Override map[string]any // parameters to set on the request (model aside)

	Retry             Retry // Attempts 0: no retry
	RequestTimeout    time.Duration
	FirstTokenTimeout time.Duration
	IdleTimeout       time.Duration
	Cache             *Cache
	Breaker           *Breaker
	OnStreamCut       string
	// FallbackOn are the statuses on which the next attempt is tried; an
	// attempt outside any fallback has none, and its failure is the answer.
	FallbackOn []int
}

// Plan is the ordered attempts for one request, and the targets passed
// over because their circuit is open.
type Plan struct {
	Attempts []Attempt
	Skipped  []Attempt
}

// Open says whether an attempt's circuit (its provider connection and
// model's, under its breaker setting) is open now.
type Open func(a Attempt) bool

// Plan decides the attempts for a request: fallback lists its targets in
// order, loadbalance picks one by weight (rnd gives numbers in [0, 1)),
// conditional the first whose condition matches, single its one target.
// A target whose circuit is open is skipped.
func (c Config) Plan(req Request, rnd func() float64, open Open) (Plan, error) {
	var p Plan
	err := plan(c.Root, "", resolved{Attempt: Attempt{OnStreamCut: StreamCutError}}, req, rnd, open, &p)
	return p, err
}

// resolved is what the levels above a node settled.
type resolved struct {
	Attempt
	inFallback bool
}

func (r resolved) with(n Node) resolved {
	s := n.Settings
	if s.Retry != nil {
		r.Retry = *s.Retry
	}
	for _, t := range []struct {
		own *time.Duration
		dst *time.Duration
	}{{s.RequestTimeout, &r.RequestTimeout}, {s.FirstTokenTimeout, &r.FirstTokenTimeout}, {s.IdleTimeout, &r.IdleTimeout}} {
		if t.own != nil {
			*t.dst = *t.own
		}
	}
	if s.Cache != nil {
		r.Cache = s.Cache
	}
	if s.CircuitBreaker != nil {
		r.Breaker = s.CircuitBreaker
	}
	if s.OnStreamCut != "" {
		r.OnStreamCut = s.OnStreamCut
	}
	if len(n.OverrideParams) > 0 {
		merged := maps.Clone(r.Override)
		if merged == nil {
			merged = map[string]any{}
		}
		maps.Copy(merged, n.OverrideParams)
		r.Override = merged
	}
	return r
}

func label(parent string, n Node, i int) string {
	name := n.Name
	if name == "" {
		name = fmt.Sprintf("targets[%d]", i)
	}
	if parent == "" {
		return name
	}
	return parent + "/" + name
}

func plan(n Node, at string, above resolved, req Request, rnd func() float64, open Open, p *Plan) error {
	r := above.with(n)
	if n.IsLeaf() {
		a := r.Attempt
		a.Target, a.Provider = at, n.Provider
		a.Model = strings.TrimPrefix(req.Model, n.Provider+"/")
		if m, ok := a.Override["model"].(string); ok {
			a.Model = m
		}
		if a.Target == "" {
			a.Target = n.Provider
		}
		if !r.inFallback {
			a.FallbackOn = nil
		}
		if open != nil && open(a) {
			p.Skipped = append(p.Skipped, a)
			return nil
		}
		p.Attempts = append(p.Attempts, a)
		return nil
	}
	switch n.Strategy.Mode {
	case ModeFallback:
		r.inFallback = true
		r.FallbackOn = n.Strategy.OnStatusCodes
		if r.FallbackOn == nil {
			r.FallbackOn = DefaultFallbackStatuses
		}
		for i, t := range n.Targets {
			if err := plan(t, label(at, t, i), r, req, rnd, open, p); err != nil {
				return err
			}
		}
		return nil
	case ModeLoadbalance:
		return loadbalance(n, at, r, req, rnd, open, p)
	case ModeConditional:
		name := n.Strategy.Default
		for _, c := range n.Strategy.Conditions {
			if c.Query.Match(req.Lookup) {
				name = c.Then
				break
			}
		}
		if name == "" {
			return ErrNoMatch
		}
		for i, t := range n.Targets {
			if t.Name == name {
				return plan(t, label(at, t, i), r, req, rnd, open, p)
			}
		}
		return ErrNoMatch
	}
	return plan(n.Targets[0], label(at, n.Targets[0], 0), r, req, rnd, open, p) // single
}

// loadbalance picks one target by weight among those with an attempt
// left to make (a target whose every circuit is open is passed over).
func loadbalance(n Node, at string, r resolved, req Request, rnd func() float64, open Open, p *Plan) error {
	subs := make([]Plan, len(n.Targets))
	total := 0.0
	for i, t := range n.Targets {
		if err := plan(t, label(at, t, i), r, req, rnd, open, &subs[i]); err != nil {
			return err
		}
		p.Skipped = append(p.Skipped, subs[i].Skipped...)
		if len(subs[i].Attempts) > 0 {
			total += t.Weight
		}
	}
	if total == 0 {
		return nil
	}
	x := rnd() * total
	for i, t := range n.Targets {
		if len(subs[i].Attempts) == 0 {
			continue
		}
		if x < t.Weight {
			p.Attempts = append(p.Attempts, subs[i].Attempts...)
			return nil
		}
		x -= t.Weight
	}
	for i := len(subs) - 1; i >= 0; i-- { // rounding: the last eligible one
		if len(subs[i].Attempts) > 0 {
			p.Attempts = append(p.Attempts, subs[i].Attempts...)
			return nil
		}
	}
	return nil
}
