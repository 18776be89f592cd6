package proxy

import (
	"context"

	"errors"
	"go.opentelemetry.io/otel/trace"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/pricing"
	"github.com/gatehouse/gatehouse/domain/provider"
	"github.com/gatehouse/gatehouse/domain/quota"
	"github.com/gatehouse/gatehouse/domain/tenancy"
)

// Prices says what a model costs; ok is false when it has no known price.
type Prices interface {
	Price(c provider.Connection, upstreamModel string) (p pricing.Price, ok bool)
	// FirstMissing reports, once per tenant and model on this replica, that
	// a price is missing and not yet on record, so it gets recorded.
	FirstMissing(tenantID, model string) bool
	// CatalogueModels lists the models the price catalogue knows for a kind.
	CatalogueModels(kind provider.Kind) []string
}

// Deps are what the request path is built from.
type Deps struct {
	Keys       Keys
	Policy     Policy
	Upstreams  Upstreams
	Recorder   Recorder
	Prices     Prices
	Governance Governance
	Quotas     Quotas
	// ModelSource lists a tenant's connections and priced models for GET /v1/models.
	ModelSource ModelSource
	Configs     Configs
	// Cache holds answers for configs with a cache.
	Cache Cache
	// Guardrails and Webhooks run the guardrails attached to keys.
	Guardrails Guardrails
	Webhooks   Webhooks
	// Observer hears of every finished request; nil for none.
	Observer Observer
	// Tracer starts the request's child spans; nil: tracing is off.
	Tracer trace.Tracer
	// Tenants give a tenant's retention of stored bodies; nil: the default.
	Tenants interface {
		Tenant(id string) (tenancy.Tenant, bool)
	}
	Now func() time.Time
	Log *slog.Logger
}

// Service runs requests through the gateway.
type Service struct {
	Deps
	breakers *Breakers
}

// NewService wires the request path.
func NewService(d Deps) *Service {
	if d.Keys == nil || d.Policy == nil || d.Upstreams == nil || d.Recorder == nil || d.Prices == nil ||
		d.Governance == nil || d.Quotas == nil || d.ModelSource == nil || d.Configs == nil || d.Cache == nil || d.Guardrails == nil || d.Webhooks == nil || d.Now == nil || d.Log == nil {
		panic("proxy.NewService: nil dependency")
	}
	return &Service{Deps: d, breakers: NewBreakers()}
}

// Breakers are the service's circuit breakers.
func (s *Service) Breakers() *Breakers { return s.breakers }

// Inbound is a request as the port received it, once its key is known.
type Inbound struct {
	Endpoint string
	Body     []byte
	TraceID  string
	Metadata map[string]string
	// Config is x-gatehouse-config: a routing config's name, name@version,
	// or one inline as JSON; "" for the key's own, if it has one.
	Config string
	// CacheControl is x-gatehouse-cache: CacheRefresh, CacheBypass or "".
	CacheControl string
}

// Authenticate finds the key a presented secret belongs to. An unknown
// secret is refused here, before the request body is read, and is not
// recorded: it names no tenant to record it under. Whether a known key may
// be used is decided, and recorded, by the call itself.
func (s *Service) Authenticate(secret string) (key.Key, error) {
	if !key.LooksLikeSecret(secret) {
		return key.Key{}, errInvalidKey
	}
	h := key.HashSecret(secret)
	k, ok := s.Keys.KeyBySecret(h)
	if !ok || k.Authenticates(h, s.Now()) != nil {
		return key.Key{}, errInvalidKey
	}
	return k, nil
}

// ChatCompletions starts a chat completion for an authenticated key. On
// success the caller copies the Exchange to the client and calls Finish;
// on error nothing is owed (the refusal or failure is already recorded).
func (s *Service) ChatCompletions(ctx context.Context, k key.Key, in Inbound) (*Exchange, error) {
	x, err := s.begin(ctx, k, in)
	if err != nil {
		return nil, err
	}
	if err := s.guard(ctx, x); err != nil {
		return nil, err
	}
	req, refusal := readChatRequest(x.in.Body)
	if refusal != nil {
		return nil, x.refuse(refusal)
	}
	x.model, x.Stream, x.wantUsage, x.estimate = req.model, req.stream, req.includeUsage, req.estimate()
	return s.dispatch(ctx, x, func(x *Exchange, t target) ([]byte, wholeCall, streamCall, error) {
		body, err := req.rewrite(t.route.UpstreamModel)
		if err != nil {
			return nil, nil, nil, InvalidRequest("", "We could not parse the JSON body of your request.")
		}
		return body, t.up.ChatCompletion, t.up.ChatCompletionStream, nil
	})
}

// guard chooses the request's routing config (its guardrails run too)
// and runs the input guardrails; a refusal is recorded.
func (s *Service) guard(ctx context.Context, x *Exchange) error {
	cfg, refusal := s.chooseConfig(x)
	if refusal != nil {
		return x.refuse(refusal)
	}
	x.config, x.configChosen = cfg, true
	if x.key.Config != "" && strings.TrimSpace(x.in.Config) != "" { // another config routes; the key's still guards
		if x.keyConfig, refusal = s.resolveConfig(x, x.key.Config); refusal != nil {
			return x.refuse(refusal)
		}
	}
	r, err := s.guardInput(ctx, x)
	switch {
	case err != nil:
		x.slot.Release()
		x.done = true
		return err
	case r != nil:
		return x.refuse(r)
	}
	return nil
}

// begin takes room for the request's event and checks that its key may be
// used now.
func (s *Service) begin(ctx context.Context, k key.Key, in Inbound) (*Exchange, error) {
	start := s.Now()
	slot, err := s.Recorder.Reserve(ctx)
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			return nil, ErrUnavailable
		}
		return nil, err
	}
	x := &Exchange{svc: s, slot: slot, key: k, in: in, start: start, RequestID: newRequestID(), TraceID: in.TraceID, dialect: dialectOpenAI, ctx: ctx}
	if err := k.Usable(start); err != nil {
		return nil, x.refuse(errInvalidKey)
	}
	x.logPayloads = k.LogPayloads
	if !x.logPayloads && k.TeamID != nil {
		if t, ok := s.Guardrails.Team(k.TenantID, *k.TeamID); ok {
			x.logPayloads = t.LogPayloads
		}
	}
	return x, nil
}

// prepare decides where the request goes, reserves its worst case, and
// gives the provider's client.
func (s *Service) prepare(ctx context.Context, x *Exchange) (up Upstream, err error) {
	ctx, sp := s.startSpan(ctx, "gatehouse.policy")
	defer func() { endSpan(sp, err) }()
	route, err := s.Policy.Decide(ctx, Call{Key: x.key, Endpoint: x.in.Endpoint, Model: x.model, Metadata: x.in.Metadata})
	if err != nil {
		if r, ok := IsRefusal(err); ok {
			return nil, x.refuse(r)
		}
		x.slot.Release()
		return nil, err
	}
	x.route = route
	x.Provider, x.UpstreamModel = route.Connection.Name, route.UpstreamModel
	x.price, x.priced = s.Prices.Price(route.Connection, route.UpstreamModel)
	if err := s.admit(ctx, x); err != nil {
		return nil, err
	}
	up, err = s.Upstreams.For(ctx, route.Connection)
	if err != nil {
		s.Log.Error("provider connection unusable", "provider", route.Connection.Name, "tenant", x.key.TenantID, "err", err)
		return nil, x.fail(&UpstreamError{Status: 0, Message: "the provider connection cannot be used"})
	}
	return up, nil
}

// call sends the body upstream, whole or streamed.
func (s *Service) call(ctx context.Context, x *Exchange, body []byte,
	whole func(context.Context, []byte) (Response, error), stream func(context.Context, []byte) (ChunkStream, error)) (_ *Exchange, err error) {
	x.markUpstream()
	ctx, sp := s.startSpan(ctx, "gatehouse.upstream", x.upstreamAttrs()...)
	defer func() { endSpan(sp, err) }()
	if x.Stream {
		cs, err := stream(ctx, body)
		if err != nil {
			return nil, x.fail(err)
		}
		x.chunks = cs
		x.Status = http.StatusOK
		return x, nil
	}
	resp, err := whole(ctx, body)
	if err != nil {
		return nil, x.fail(err)
	}
	x.Status, x.Header, x.Body = resp.Status, resp.Header, resp.Body
	if t, found, _ := x.dialect.usageOf(resp.Body); found {
		x.tokens, x.usageSeen = t, true
	}
	return x, nil
}

func newRequestID() uuid.UUID {
	id, err := uuid.NewV7()
	if err != nil {
		return uuid.New()
	}
	return id
}

// admit reserves the request's worst case against every budget and rate
// limit that applies, in one round trip to the shared counters. A refusal
// is recorded; counters that cannot be reached refuse the request too
// (fail closed: a budget that cannot be checked is not skipped).
func (s *Service) admit(ctx context.Context, x *Exchange) error {
	budgets, limits := s.Governance.Quotas(x.key)
	if len(budgets) == 0 && len(limits) == 0 {
		return nil
	}
	now := s.Now()
	plan, err := quota.NewPlan(now, budgets, limits, x.price, x.priced, x.estimate)
	if err != nil {
		return x.refuse(refuse(http.StatusForbidden, "price_unknown", "invalid_request_error", "model",
			"The model %q has no known price and a hard budget applies; set its price first.", x.model))
	}
	remaining, err := s.Quotas.Admit(ctx, x.key.TenantID, x.RequestID, plan.Lines, now)
	var refused *quota.Refused
	switch {
	case errors.As(err, &refused):
		return x.refuse(refusalFor(refused.Line, plan, now))
	case err != nil:
		s.Log.Error("quota admission failed", "tenant", x.key.TenantID, "err", err)
		x.slot.Release()
		x.done = true
		return ErrUnavailable
	}
	x.held = true
	x.limits = limitHeaders(plan.Lines, remaining)
	return nil
}

// refusalFor turns a line that did not fit into the answer PRODUCT.md names.
func refusalFor(l quota.Line, plan quota.Plan, now time.Time) *Refusal {
	retry := quota.RetryAfter(l, plan.Budgets[l.Subject], now)
	if l.Kind == quota.KindBudget {
		r := refuse(http.StatusTooManyRequests, "budget_exceeded", "insufficient_quota", "",
			"The %s budget is exhausted for this period.", l.Subject.Scope)
		r.RetryAfter = retry
		return r
	}
	what := map[quota.Kind]string{quota.KindRequests: "requests per minute", quota.KindTokens: "tokens per minute", quota.KindConcurrency: "requests in flight"}[l.Kind]
	r := refuse(http.StatusTooManyRequests, "rate_limit_exceeded", "requests", "",
		"Rate limit reached for the %s: %d %s.", l.Subject.Scope, l.Limit, what)
	r.RetryAfter = retry
	switch l.Kind {
	case quota.KindRequests:
		r.Limits = &Limits{Requests: l.Limit, Tokens: -1}
	case quota.KindTokens:
		r.Limits = &Limits{Requests: -1, Tokens: l.Limit}
	}
	return r
}

// Limits are the OpenAI-style x-ratelimit-* figures of the tightest
// per-minute limits a request passed.
type Limits struct {
	Requests, RemainingRequests int64
	Tokens, RemainingTokens     int64
}

func limitHeaders(lines []quota.Line, remaining []int64) *Limits {
	var out *Limits
	for i, l := range lines {
		if i >= len(remaining) || (l.Kind != quota.KindRequests && l.Kind != quota.KindTokens) {
			continue
		}
		if out == nil {
			out = &Limits{Requests: -1, Tokens: -1}
		}
		rem := max(remaining[i], 0)
		switch {
		case l.Kind == quota.KindRequests && (out.Requests < 0 || rem < out.RemainingRequests):
			out.Requests, out.RemainingRequests = l.Limit, rem
		case l.Kind == quota.KindTokens && (out.Tokens < 0 || rem < out.RemainingTokens):
			out.Tokens, out.RemainingTokens = l.Limit, rem
		}
	}
	return out
}
