package proxy

import (
	"context"

	"errors"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
	"io"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/pricing"
	"github.com/gatehouse/gatehouse/domain/quota"
	"github.com/gatehouse/gatehouse/domain/routing"
	"github.com/gatehouse/gatehouse/domain/tenancy"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// Exchange is one request in flight: the answer to copy to the client, and
// the record to write when it is done.
type Exchange struct {
	RequestID     uuid.UUID
	TraceID       string
	Provider      string // connection name
	UpstreamModel string
	Stream        bool
	// Native: the answer is in the request's own dialect, passed through;
	// otherwise it is in OpenAI's, for the port to translate.
	Native bool

	// Non-streamed answer.
	Status int
	Header http.Header
	Body   []byte

	svc           *Service
	slot          Slot
	key           key.Key
	in            Inbound
	route         Route
	model         string
	wantUsage     bool
	chunks        ChunkStream
	tokens        usage.Tokens
	price         pricing.Price
	priced        bool
	held          bool // quota holds to settle when done
	answered      bool // the upstream answered: it may bill
	usageSeen     bool // the upstream reported usage
	dialect       dialect
	counts        anthropicCounts // running usage of a passed-through Messages API stream
	estimate      quota.Estimate
	limits        *Limits // x-ratelimit-* figures, when limits apply
	routing       usage.Routing
	streamedText  int                // bytes of text passed on in a stream
	interrupted   bool               // the upstream broke a stream after bytes reached the client
	sent          []byte             // the body the answering target got
	continuation  *continuation      // how a cut stream goes on, under on_stream_cut "continue"
	carried       usage.Tokens       // what cut streams used before a continuation
	carriedText   int                // streamedText when it was carried
	answeredBy    *planned           // the config's target whose stream is passed on
	flagged       bool               // a guardrail flagged the request
	config        *routing.Published // the routing config chosen, or nil
	configChosen  bool
	keyConfig     *routing.Published // the key's default config, when the request chose another: its guardrails run too
	outputChecked bool               // the answer passed its output guardrails already
	verdicts      []usage.VerdictRef // the guardrail verdicts recorded for it
	start         time.Time
	upstreamStart time.Time       // the last upstream call's start
	firstUpstream time.Time       // the first's: the gateway's own work ends there
	firstChunk    time.Time       // when the first chunk of a stream went to the client
	ctx           context.Context // the request's, for its spans
	logPayloads   bool            // the key or its team stores bodies
	streamed      []byte          // a logged stream's chunks, up to the cap
	done          bool
}

// CacheStatus is x-gatehouse-cache: HIT, MISS, or BYPASS when the cache
// was not read (none applies, or the request said no-store).
func (x *Exchange) CacheStatus() string {
	switch x.routing.Cache {
	case "hit":
		return cacheHit
	case "miss", "refresh":
		return cacheMiss
	}
	return cacheBypass
}

// Flagged says whether a guardrail flagged the request.
func (x *Exchange) Flagged() bool { return x.flagged }

// GuardsOutput says whether a streamed answer runs through output
// guardrails (whose flag can only be told at its end).
func (x *Exchange) GuardsOutput() bool {
	_, ok := x.chunks.(*guardedStream)
	return ok
}

// markUpstream notes an upstream call's start.
func (x *Exchange) markUpstream() {
	x.upstreamStart = x.svc.Now()
	if x.firstUpstream.IsZero() {
		x.firstUpstream = x.upstreamStart
	}
}

// Retries is how many times a target was tried again.
func (x *Exchange) Retries() int { return x.routing.Retries }

// RateLimits are the x-ratelimit-* figures for the answer, or nil.
func (x *Exchange) RateLimits() *Limits { return x.limits }

// Next returns the next chunk of a streamed answer, io.EOF at the end. It
// reads usage on the way and holds back the usage-only chunk from a client
// that did not ask for it.
func (x *Exchange) Next() ([]byte, error) {
	for {
		c, err := x.chunks.Next()
		guard, _ := x.chunks.(*guardedStream)
		// A broken upstream stream may go on elsewhere; a guardrail's block
		// (or a verdict that could not be recorded) ends it for good.
		ended := IsRefusalErr(err) || errors.Is(err, ErrUnavailable) || (guard != nil && guard.done)
		if err != nil && !errors.Is(err, io.EOF) && !ended && x.continuation != nil && x.continuation.ctx.Err() == nil {
			cont := x.continuation
			x.continuation = nil // once: a continuation that breaks in turn ends the stream
			if guard != nil {
				guard.discardHeld()
			}
			if cs, rerr := cont.resume(x); rerr == nil {
				if guard != nil { // the continuation goes through the same output guardrails
					guard.inner, x.chunks = cs, guard
				} else {
					x.chunks = cs
				}
				continue
			}
		}
		if err != nil {
			return nil, err
		}
		if x.firstChunk.IsZero() {
			x.firstChunk = x.svc.Now()
		}
		if x.logPayloads && len(x.streamed) <= usage.MaxStoredPayload {
			x.streamed = append(append(x.streamed, c...), '\n')
		}
		x.streamedText += textBytes(c)
		if x.continuation != nil {
			x.continuation.note(c)
		}
		switch x.dialect {
		case dialectAnthropic:
			if found, final := x.counts.event(c); found {
				x.tokens, x.usageSeen = x.counts.tokens(), final
			}
			return c, nil
		case dialectResponses:
			if t, found := responsesUsageOf(c); found {
				x.tokens, x.usageSeen = t, true
			}
			return c, nil
		}
		if t, found, alone := usageOf(c); found {
			x.tokens, x.usageSeen = t, true
			if alone && !x.wantUsage {
				continue
			}
		}
		return c, nil
	}
}

// Finish records the request. err is how copying to the client ended: nil
// for a whole answer, else the failure (a client that went away, an
// upstream that broke mid-stream).
func (x *Exchange) Finish(ctx context.Context, err error) {
	if x.done {
		return
	}
	if x.chunks != nil {
		x.chunks.Close()
	}
	status, code := x.Status, ""
	var ue *UpstreamError
	switch {
	case err == nil:
	case errors.Is(err, ErrClientGone) || errors.Is(err, context.Canceled) || errors.Is(ctx.Err(), context.Canceled):
		status, code = statusClientClosed, "client_closed_request"
	case errors.Is(err, ErrInternal):
		status, code = http.StatusInternalServerError, "internal_error"
	case IsRefusalErr(err):
		r, _ := IsRefusal(err)
		status, code = r.Status, r.Code // a guardrail ended the stream
	case errors.As(err, &ue):
		status, code = ue.ClientStatus(), "upstream_error"
	default:
		status, code = http.StatusBadGateway, "upstream_error"
	}
	if code == "upstream_error" && x.Stream {
		// Bytes reached the client: the request is interrupted, not failed.
		code, x.interrupted = "stream_interrupted", true
		if t := x.answeredBy; t != nil { // a target that cuts its streams is failing
			x.svc.reportCall(x.key.TenantID, t.Attempt, t.route.Connection.Name, t.route.UpstreamModel, Pass{}, 0)
		}
	}
	x.answered = true
	x.complete(status, code)
}

// refuse records a refusal before any upstream call and returns it.
func (x *Exchange) refuse(r *Refusal) error {
	x.done = true
	if x.held {
		x.svc.Quotas.Settle(x.RequestID, quota.Settlement{TenantID: x.key.TenantID}) // nothing was used
	}
	x.submit(x.envelope(usage.RequestRejected{
		V: 1, RequestID: x.RequestID, KeyID: x.key.ID, TeamID: x.key.TeamID, Endpoint: x.in.Endpoint, Model: x.model,
		Status: r.Status, Code: r.Code, Reason: r.Message, Metadata: x.in.Metadata, Routing: x.routing, Guardrails: x.verdicts,
	}), r.Status)
	x.svc.observe(x, Observation{Status: r.Status, Code: r.Code, Rejected: true, Duration: x.svc.Now().Sub(x.start)})
	return r
}

// fail records an upstream failure before any byte reached the client, and
// returns the error for the port to answer with.
func (x *Exchange) fail(err error) error {
	if r, ok := IsRefusal(err); ok { // the provider's client refused it before any call
		return x.refuse(r)
	}
	var ue *UpstreamError
	if !errors.As(err, &ue) {
		ue = &UpstreamError{Message: "the upstream could not be reached"}
		x.svc.Log.Warn("upstream unreachable", "provider", x.Provider, "err", err)
	}
	x.complete(ue.ClientStatus(), "upstream_error")
	return ue
}

func (x *Exchange) complete(status int, code string) {
	x.done = true
	end := x.svc.Now()
	e := usage.RequestCompleted{
		V: 1, RequestID: x.RequestID, KeyID: x.key.ID, TeamID: x.key.TeamID, Endpoint: x.in.Endpoint, Model: x.model,
		Provider: x.Provider, UpstreamModel: x.UpstreamModel, Stream: x.Stream, Status: status, ErrorCode: code,
		Tokens: x.tokens, DurationMs: ms(end.Sub(x.start)), Metadata: x.in.Metadata, Routing: x.routing, Guardrails: x.verdicts,
	}
	if x.carried != (usage.Tokens{}) {
		if !x.usageSeen && !x.interrupted {
			x.tokens = usage.Tokens{Completion: streamedTokens(x.streamedText - x.carriedText)}
		}
		x.tokens = x.tokens.Add(x.carried)
		x.usageSeen = x.usageSeen || !x.interrupted
	}
	e.Tokens = x.tokens
	switch {
	case x.interrupted && !x.usageSeen:
		// The upstream broke the stream before it said what it used: the
		// prompt is counted whole (it was read) and the completion as the
		// text that was streamed, at most three bytes a token.
		prompt := x.estimate.PromptTokens
		if x.tokens.Prompt > 0 {
			prompt = x.tokens.Prompt
		}
		e.Tokens = usage.Tokens{Prompt: prompt, Completion: max(x.tokens.Completion, streamedTokens(x.streamedText)), CachedPrompt: x.tokens.CachedPrompt}
		e.UsageEstimated, e.Interrupted = true, true
	case x.answered && !x.usageSeen:
		// The upstream answered (and may bill) but said nothing of usage: a
		// client that left mid-stream, or a provider that omits it.
		// Counting nothing would let a client spend past any budget by
		// hanging up; the worst case is recorded instead, and marked.
		e.Tokens = usage.Tokens{Prompt: x.estimate.PromptTokens, Completion: x.estimate.MaxOutput}
		e.UsageEstimated = true
	default:
		e.Interrupted = x.interrupted
	}
	if !x.upstreamStart.IsZero() {
		e.UpstreamMs = ms(end.Sub(x.upstreamStart))
		e.GatewayMs = ms(x.firstUpstream.Sub(x.start))
	}
	if !x.firstChunk.IsZero() {
		e.FirstTokenMs = ms(x.firstChunk.Sub(x.start))
	}
	switch {
	case x.routing.Cache == "hit": // answered from the cache: nothing was spent upstream
		e.CostMicros, e.Priced = 0, true
	case x.priced:
		e.CostMicros, e.Priced = x.price.Cost(e.Tokens), true
	}
	if x.held {
		x.svc.Quotas.Settle(x.RequestID, quota.Settlement{TenantID: x.key.TenantID, Cost: e.CostMicros, Tokens: e.Tokens.Prompt + e.Tokens.Completion})
	}
	var stored *usage.StoredPayload
	if x.logPayloads {
		stored = x.payload(code)
		e.PayloadDigest = stored.Digest()
	}
	env := x.envelope(e)
	if stored != nil {
		env.Sidecar = stored
	}
	x.submit(env, status)
	x.svc.observe(x, Observation{Status: status, Code: code, Cache: x.CacheStatus(), Tokens: e.Tokens, CostMicros: int64(e.CostMicros),
		Duration: end.Sub(x.start), Upstream: since(x.upstreamStart, end), Gateway: since(x.start, x.firstUpstream), FirstToken: since(x.start, x.firstChunk)})
	if !e.Priced && x.Provider != "" && x.svc.Prices.FirstMissing(x.key.TenantID, x.model) {
		x.recordMissingPrice()
	}
}

// recordMissingPrice raises price.missing, once per tenant and model: its
// stream takes one event only, so replicas that race write it once.
func (x *Exchange) recordMissingPrice() {
	slot, ok := x.svc.Recorder.TryReserve()
	if !ok {
		return // another request will raise it
	}
	m := eventlog.Meta{Actor: "key:" + x.key.ID.String(), TraceID: x.TraceID, OccurredAt: x.svc.Now()}
	slot.Submit(m.Envelope(uuid.New(), x.key.TenantID, pricing.MissingStreamID(x.model), 1, pricing.PriceMissing{V: 1, Model: x.model}))
}

// payload is what is stored of a logged request: its body as the upstream
// got it (after input guardrails), and the answer as the client got it
// (none when an output guardrail blocked it: what was blocked is not kept).
func (x *Exchange) payload(code string) *usage.StoredPayload {
	answer := x.Body
	if x.Stream {
		answer = x.streamed
	}
	if code == "guardrail_blocked" {
		answer = nil
	}
	keep := time.Duration(tenancy.DefaultPayloadRetentionDays) * 24 * time.Hour
	if x.svc.Tenants != nil {
		if t, ok := x.svc.Tenants.Tenant(x.key.TenantID); ok {
			keep = t.PayloadRetention()
		}
	}
	return usage.NewStoredPayload(x.key.TenantID, x.RequestID, x.in.Body, answer, x.svc.Now(), keep)
}

// submit hands the request's event to the writer (the event append span)
// and puts the GenAI attributes on the request's span.
func (x *Exchange) submit(env eventlog.Envelope, status int) {
	if x.svc.Tracer == nil || x.ctx == nil {
		x.slot.Submit(env)
		return
	}
	root := trace.SpanFromContext(x.ctx)
	root.SetAttributes(append(x.genAI(), attribute.Int("gatehouse.status", status), attribute.String("gatehouse.request_id", x.RequestID.String()))...)
	_, sp := x.svc.startSpan(x.ctx, "gatehouse.event.append", attribute.String("gatehouse.event", env.Event.EventType()))
	x.slot.Submit(env)
	sp.End()
}

func (x *Exchange) envelope(e eventlog.Event) eventlog.Envelope {
	m := eventlog.Meta{Actor: "key:" + x.key.ID.String(), TraceID: x.TraceID, OccurredAt: x.svc.Now()}
	return m.Envelope(uuid.New(), x.key.TenantID, usage.StreamID(x.RequestID), 1, e)
}

// statusClientClosed is nginx's code for a client that left before its answer.
const statusClientClosed = 499

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// IsRefusalErr says whether err is a refusal.
func IsRefusalErr(err error) bool { _, ok := IsRefusal(err); return ok }
