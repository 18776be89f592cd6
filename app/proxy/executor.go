package proxy

import (
	"context"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"slices"
	"time"

	"github.com/gatehouse/gatehouse/domain/routing"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// Backoff bounds: retries wait a random time up to base·2^n, at most cap
// (exponential backoff with full jitter), unless the upstream said how long.
const (
	backoffBase = 250 * time.Millisecond
	backoffCap  = 8 * time.Second
)

// planned is an attempt with the route it resolves to.
type planned struct {
	routing.Attempt
	route  Route
	priced bool
}

// runConfig runs a request through a routing config: it plans the
// attempts, admits the request at the dearest of them, then tries them in
// order (each retried as its settings say) until one answers, recording
// each try.
func (s *Service) runConfig(ctx context.Context, x *Exchange, cfg routing.Published, send sender) (*Exchange, error) {
	x.routing.Config, x.routing.ConfigVersion = cfg.Name, cfg.Version
	plan, err := cfg.Config.Plan(routing.Request{Model: x.model, Lookup: x.lookup}, rand.Float64, s.breakerOpen(x))
	if err != nil {
		return nil, x.refuse(InvalidRequest("x-gatehouse-config", "%v", err))
	}
	if len(plan.Attempts) == 0 {
		return nil, x.refuse(refuse(http.StatusServiceUnavailable, "upstream_error", "upstream_error", "",
			"Every target of the routing config %q is unavailable: their circuits are open after repeated failures.", cfg.Name))
	}
	var targets []planned
	var refusal *Refusal
	for _, a := range plan.Attempts {
		route, err := s.Policy.Decide(ctx, Call{Key: x.key, Endpoint: x.in.Endpoint, Model: a.Provider + "/" + a.Model, Metadata: x.in.Metadata})
		if err != nil {
			if r, ok := IsRefusal(err); ok {
				refusal = cmpRefusal(refusal, r)
				continue
			}
			x.slot.Release()
			x.done = true
			return nil, err
		}
		targets = append(targets, planned{Attempt: a, route: route})
	}
	if len(targets) == 0 {
		return nil, x.refuse(refusal)
	}
	s.admitWorstCase(x, targets)
	if err := s.admit(ctx, x); err != nil {
		return nil, err
	}
	var deadline time.Time
	if t := cfg.Config.Root.RequestTimeout; t != nil {
		deadline = x.start.Add(*t)
	}
	var last error
	for i, t := range targets {
		x.route, x.Provider, x.UpstreamModel = t.route, t.route.Connection.Name, t.route.UpstreamModel
		status, err := s.attempt(ctx, x, t, send, deadline)
		if err == nil && !x.Stream && cfg.Config.NextOnOutputGuardrailFail && i < len(targets)-1 {
			var blocked *outputBlocked
			switch gerr := s.guardOutput(ctx, x, false); {
			case errors.As(gerr, &blocked):
				// The provider billed the answer: its tokens stay counted.
				x.carried = x.carried.Add(x.tokens)
				x.tokens, x.usageSeen, x.Body = usage.Tokens{}, false, nil
				x.routing.Attempts[len(x.routing.Attempts)-1].Error = blocked.Error()
				continue
			case gerr != nil:
				return nil, gerr
			}
			x.outputChecked = true
		}
		if err == nil {
			x.routing.Target, x.answeredBy = t.Target, &targets[i]
			x.price, x.priced = s.Prices.Price(t.route.Connection, t.route.UpstreamModel)
			if x.Stream && x.routing.Cache != "hit" && t.OnStreamCut == routing.StreamCutContinue && i < len(targets)-1 && x.continuable() {
				x.continuation = &continuation{svc: s, ctx: ctx, rest: targets[i+1:], deadline: deadline}
			}
			return x, nil
		}
		if ctx.Err() != nil {
			return nil, x.clientGone()
		}
		if r, ok := IsRefusal(err); ok {
			// This target cannot take the request as it is (a field its
			// provider has no place for): another one may.
			x.record(t, r.Status, r, 0, false)
			refusal = cmpRefusal(refusal, r)
			last = r
			if i < len(targets)-1 && t.FallbackOn != nil {
				continue
			}
			break
		}
		last = err
		if i == len(targets)-1 || !fallsBack(status, t.FallbackOn) || pastDeadline(deadline, s.Now()) {
			break
		}
	}
	if r, ok := IsRefusal(last); ok {
		return nil, x.refuse(r)
	}
	if x.allSkipped() { // every circuit turned out open: nobody was called
		return nil, x.refuse(refuse(http.StatusServiceUnavailable, "upstream_error", "upstream_error", "",
			"Every target of the routing config %q is unavailable: their circuits are open after repeated failures.", cfg.Name))
	}
	return nil, x.fail(last)
}

// circuitOpen is the failure of a target passed over because its circuit
// is open, or its trial is in flight.
const circuitOpen = "skipped: the target's circuit is open"

// allSkipped says whether every attempt was passed over by its circuit.
func (x *Exchange) allSkipped() bool {
	for _, a := range x.routing.Attempts {
		if a.Error != circuitOpen {
			return false
		}
	}
	return len(x.routing.Attempts) > 0
}

// cmpRefusal keeps the refusal that explains most: not allowed over not found.
func cmpRefusal(cur, r *Refusal) *Refusal {
	if cur == nil || (cur.Status == http.StatusNotFound && r.Status != http.StatusNotFound) {
		return r
	}
	return cur
}

// admitWorstCase prices the admission at the dearest target for the
// request's worst case (a target with no price makes the request unpriced:
// a hard budget cannot be checked against it), and raises the output bound
// to the largest a target's override sets.
func (s *Service) admitWorstCase(x *Exchange, targets []planned) {
	for _, t := range targets {
		for _, k := range []string{"max_tokens", "max_completion_tokens", "max_output_tokens"} {
			if n, ok := t.Override[k].(json.Number); ok {
				if v, err := n.Int64(); err == nil && v > x.estimate.MaxOutput {
					x.estimate.MaxOutput = v
				}
			}
		}
	}
	for _, t := range targets {
		if x.Stream && t.OnStreamCut == routing.StreamCutContinue {
			// A continuation sends the prompt again, with the text so far,
			// and writes up to the bound again: two calls' worst case.
			x.estimate.PromptTokens, x.estimate.MaxOutput = 2*x.estimate.PromptTokens+x.estimate.MaxOutput, 2*x.estimate.MaxOutput
			break
		}
	}
	worst := usage.Tokens{Prompt: x.estimate.PromptTokens, Completion: x.estimate.MaxOutput}
	x.priced = true
	for i, t := range targets {
		p, ok := s.Prices.Price(t.route.Connection, t.route.UpstreamModel)
		targets[i].priced = ok
		if !ok {
			x.priced = false
			continue
		}
		if p.Cost(worst) >= x.price.Cost(worst) {
			x.price = p
		}
	}
}

// attempt sends the request to one target, retrying as its settings say.
// status is the last answer's status (0 when none came).
func (s *Service) attempt(ctx context.Context, x *Exchange, t planned, send sender, deadline time.Time) (status int, err error) {
	up, err := s.Upstreams.For(ctx, t.route.Connection)
	if err != nil {
		s.Log.Error("provider connection unusable", "provider", t.route.Connection.Name, "tenant", x.key.TenantID, "err", err)
		err = &UpstreamError{Message: "the provider connection cannot be used"}
		x.record(t, 0, err, 0, false)
		return 0, err
	}
	body, whole, stream, err := send(x, target{route: t.route, up: up})
	if err != nil {
		return 0, asRefusal(err)
	}
	if body, err = withOverridesErr(body, t.Override); err != nil {
		return 0, err
	}
	x.sent = body
	tenant, name, model := x.key.TenantID, t.route.Connection.Name, t.route.UpstreamModel
	key, cached := s.cacheFor(x, t, body)
	if cached && x.in.CacheControl != CacheRefresh {
		if e, hit := s.cacheLookup(ctx, tenant, key); hit {
			if err := x.answerFromCache(e); err == nil {
				x.routing.Cache = "hit"
				x.record(t, http.StatusOK, nil, 0, false)
				x.routing.Attempts[len(x.routing.Attempts)-1].Cached = true
				return http.StatusOK, nil
			}
		}
	}
	for try := 0; ; try++ {
		start := s.Now()
		pass, ok := s.breakers.Allow(tenant, t.Attempt, name, model, start)
		if !ok {
			err = &UpstreamError{Message: circuitOpen}
			x.record(t, 0, err, 0, try > 0)
			return 0, err
		}
		err = s.try(ctx, x, t.Attempt, body, whole, stream, deadline)
		status = statusOf(err)
		if ctx.Err() == nil {
			s.reportCall(tenant, t.Attempt, name, model, pass, status)
		} else {
			s.breakers.Abandon(tenant, t.Attempt, name, model, pass)
		}
		x.record(t, status, err, s.Now().Sub(start), try > 0)
		if err == nil && cached {
			s.keepAnswer(x, key, t.Cache.MaxAge)
		}
		if err == nil || ctx.Err() != nil || try >= t.Retry.Attempts || !retries(status, t.Retry.OnStatusCodes) {
			return status, err
		}
		wait := backoff(try)
		var ue *UpstreamError
		if t.Retry.UseRetryAfter && errors.As(err, &ue) && ue.RetryAfter > 0 {
			wait = ue.RetryAfter
		}
		// A wait that would use up the request's time (or, without one,
		// the target's, or a minute) is not worth making: the next target,
		// or the failure, answers now.
		limit := time.Minute
		if t.RequestTimeout > 0 {
			limit = t.RequestTimeout
		}
		if !deadline.IsZero() {
			limit = min(limit, deadline.Sub(s.Now()))
		}
		if wait >= limit {
			return status, err
		}
		if !sleep(ctx, wait) {
			return status, ctx.Err()
		}
		x.routing.Retries++
	}
}

func withOverridesErr(body []byte, override map[string]any) ([]byte, error) {
	out, r := withOverrides(body, override)
	if r != nil {
		return nil, r
	}
	return out, nil
}

// record notes one try of a target.
func (x *Exchange) record(t planned, status int, err error, took time.Duration, retry bool) {
	a := usage.Attempt{Target: t.Target, Provider: t.route.Connection.Name, Model: t.route.UpstreamModel, Status: status,
		LatencyMs: ms(took), Retry: retry}
	if err != nil {
		a.Error = err.Error()
		var ue *UpstreamError
		if errors.As(err, &ue) {
			a.Error = ue.Message
		}
	} else if status == 0 {
		a.Status = http.StatusOK
	}
	x.routing.Attempts = append(x.routing.Attempts, a)
}

// statusOf is the upstream's status in an error, 0 for no answer, 200 for none.
func statusOf(err error) int {
	if err == nil {
		return http.StatusOK
	}
	var ue *UpstreamError
	if errors.As(err, &ue) {
		return ue.Status
	}
	return 0
}

// retries says whether a try that ended with status is tried again:
// a connection error or timeout always, a status when it is listed.
func retries(status int, on []int) bool {
	return status == 0 || slices.Contains(on, status)
}

// fallsBack says whether a failed target gives way to the next.
func fallsBack(status int, on []int) bool {
	return on != nil && (status == 0 || slices.Contains(on, status))
}

func pastDeadline(deadline, now time.Time) bool { return !deadline.IsZero() && !now.Before(deadline) }

// backoff is the n-th retry's wait: full jitter over an exponential bound.
func backoff(n int) time.Duration {
	bound := backoffCap
	if n < 6 {
		bound = min(backoffBase<<n, backoffCap)
	}
	return time.Duration(rand.Int64N(int64(bound) + 1))
}

func sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// breakerOpen is the circuit breakers' view for a plan.
func (s *Service) breakerOpen(x *Exchange) routing.Open {
	return s.breakers.Open(x.key.TenantID, s.Now())
}

// clientGone records a request whose client left while it was routed.
func (x *Exchange) clientGone() error {
	x.answered = false
	x.complete(statusClientClosed, "client_closed_request")
	return ErrClientGone
}
