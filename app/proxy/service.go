package proxy

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/pricing"
	"github.com/gatehouse/gatehouse/domain/provider"
)

// Prices says what a model costs; ok is false when it has no known price.
type Prices interface {
	Price(c provider.Connection, upstreamModel string) (p pricing.Price, ok bool)
	// FirstMissing reports, once per tenant and model on this replica, that
	// a price is missing and not yet on record, so it gets recorded.
	FirstMissing(tenantID, model string) bool
}

// Service runs requests through the gateway.
type Service struct {
	keys      Keys
	policy    Policy
	upstreams Upstreams
	recorder  Recorder
	prices    Prices
	now       func() time.Time
	log       *slog.Logger
}

// NewService wires the request path.
func NewService(keys Keys, policy Policy, upstreams Upstreams, recorder Recorder, prices Prices, now func() time.Time, log *slog.Logger) *Service {
	if keys == nil || policy == nil || upstreams == nil || recorder == nil || prices == nil || now == nil || log == nil {
		panic("proxy.NewService: nil dependency")
	}
	return &Service{keys: keys, policy: policy, upstreams: upstreams, recorder: recorder, prices: prices, now: now, log: log}
}

// Inbound is a request as the port received it, once its key is known.
type Inbound struct {
	Endpoint string
	Body     []byte
	TraceID  string
	Metadata map[string]string
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
	k, ok := s.keys.KeyBySecret(h)
	if !ok || k.Authenticates(h, s.now()) != nil {
		return key.Key{}, errInvalidKey
	}
	return k, nil
}

// ChatCompletions starts a chat completion for an authenticated key. On
// success the caller copies the Exchange to the client and calls Finish;
// on error nothing is owed (the refusal or failure is already recorded).
func (s *Service) ChatCompletions(ctx context.Context, k key.Key, in Inbound) (*Exchange, error) {
	start := s.now()
	slot, err := s.recorder.Reserve(ctx)
	if err != nil {
		if errors.Is(err, ErrUnavailable) {
			return nil, ErrUnavailable
		}
		return nil, err
	}
	x := &Exchange{svc: s, slot: slot, key: k, in: in, start: start, RequestID: newRequestID(), TraceID: in.TraceID}
	if err := k.Usable(start); err != nil {
		return nil, x.refuse(errInvalidKey)
	}

	req, refusal := readChatRequest(in.Body)
	if refusal != nil {
		return nil, x.refuse(refusal)
	}
	x.model, x.Stream, x.wantUsage = req.model, req.stream, req.includeUsage

	route, err := s.policy.Decide(ctx, Call{Key: k, Endpoint: in.Endpoint, Model: req.model, Metadata: in.Metadata})
	if err != nil {
		if r, ok := IsRefusal(err); ok {
			return nil, x.refuse(r)
		}
		x.slot.Release()
		return nil, err
	}
	x.route = route
	x.Provider, x.UpstreamModel = route.Connection.Name, route.UpstreamModel
	x.price, x.priced = s.prices.Price(route.Connection, route.UpstreamModel)

	up, err := s.upstreams.For(ctx, route.Connection)
	if err != nil {
		s.log.Error("provider connection unusable", "provider", route.Connection.Name, "tenant", k.TenantID, "err", err)
		return nil, x.fail(&UpstreamError{Status: 0, Message: "the provider connection cannot be used"})
	}
	body, err := req.rewrite(route.UpstreamModel)
	if err != nil {
		return nil, x.refuse(invalidRequest("", "We could not parse the JSON body of your request."))
	}

	x.upstreamStart = s.now()
	if req.stream {
		cs, err := up.ChatCompletionStream(ctx, body)
		if err != nil {
			return nil, x.fail(err)
		}
		x.chunks = cs
		x.Status = http.StatusOK
		return x, nil
	}
	resp, err := up.ChatCompletion(ctx, body)
	if err != nil {
		return nil, x.fail(err)
	}
	x.Status, x.Header, x.Body = resp.Status, resp.Header, resp.Body
	if t, found, _ := usageOf(resp.Body); found {
		x.tokens = t
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
