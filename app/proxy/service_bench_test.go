package proxy_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/app/proxy"
	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/guardrail"
	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/pricing"
	"github.com/gatehouse/gatehouse/domain/provider"
	"github.com/gatehouse/gatehouse/domain/quota"
	"github.com/gatehouse/gatehouse/domain/routing"
	"github.com/gatehouse/gatehouse/domain/tenancy"
)

type keysFunc func(key.SecretHash) (key.Key, bool)

func (f keysFunc) KeyBySecret(h key.SecretHash) (key.Key, bool) { return f(h) }

type connsFunc func(string, string) (provider.Connection, bool)

func (f connsFunc) Provider(t, n string) (provider.Connection, bool) { return f(t, n) }

type upstreamsFunc func(context.Context, provider.Connection) (proxy.Upstream, error)

func (f upstreamsFunc) For(ctx context.Context, c provider.Connection) (proxy.Upstream, error) {
	return f(ctx, c)
}

// fakeUpstream answers with canned bytes; it is the outside world.
type fakeUpstream struct {
	answer []byte
	chunks [][]byte
	got    []byte
	fail   error
}

func (u *fakeUpstream) ChatCompletion(_ context.Context, body []byte) (proxy.Response, error) {
	u.got = body
	if u.fail != nil {
		return proxy.Response{}, u.fail
	}
	return proxy.Response{Status: 200, Header: http.Header{"Content-Type": {"application/json"}}, Body: u.answer}, nil
}

func (u *fakeUpstream) ChatCompletionStream(_ context.Context, body []byte) (proxy.ChunkStream, error) {
	u.got = body
	return &chunks{c: u.chunks}, nil
}

type chunks struct {
	c [][]byte
	i int
}

func (c *chunks) Next() ([]byte, error) {
	if c.i == len(c.c) {
		return nil, io.EOF
	}
	c.i++
	return c.c[c.i-1], nil
}
func (c *chunks) Close() error { return nil }

type recorderFunc func(eventlog.Envelope)

func (f recorderFunc) Reserve(context.Context) (proxy.Slot, error) { return slot(f), nil }
func (f recorderFunc) TryReserve() (proxy.Slot, bool)              { return slot(f), true }

// noBook is a tenant that set no prices of its own.
type models struct{ conn provider.Connection }

func (m models) Providers(string) []provider.Connection   { return []provider.Connection{m.conn} }
func (m models) TenantPrices(string) []pricing.ModelPrice { return nil }

type noConfigs struct{}

func (noConfigs) RoutingConfig(string, string, int) (routing.Published, error) {
	return routing.Published{}, routing.ErrNotFound
}

// noGuardrails: the fixture's key has none.
type noGuardrails struct{}

func (noGuardrails) Guardrail(string, string) (guardrail.Published, error) {
	return guardrail.Published{}, guardrail.ErrNotFound
}

func (noGuardrails) Team(string, uuid.UUID) (tenancy.Team, bool) { return tenancy.Team{}, false }

type noWebhooks struct{}

func (noWebhooks) Check(context.Context, *guardrail.Webhook, proxy.WebhookCall) (bool, string, error) {
	return false, "", errors.New("no webhooks here")
}

// noCache holds nothing: the fixture's requests are routed by no config.
type noCache struct{}

func (noCache) Get(context.Context, string, [32]byte) ([]byte, bool, error)        { return nil, false, nil }
func (noCache) Put(context.Context, string, [32]byte, []byte, time.Duration) error { return nil }

type noBook struct{}

func (noBook) TenantPrice(string, string) (pricing.Price, bool) { return pricing.Price{}, false }
func (noBook) PriceMissingRecorded(string, string) bool         { return false }

type slot func(eventlog.Envelope)

func (s slot) Submit(e eventlog.Envelope) { s(e) }
func (s slot) Release()                   {}

const secret = "sk-gh-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"

type fixture struct {
	gov      *governance
	quotas   *fakeQuotas
	key      *key.Key
	svc      *proxy.Service
	upstream *fakeUpstream
	events   []eventlog.Envelope
}

func newFixture(tb testing.TB) *fixture { return newFixtureWith(tb, noGuardrails{}) }

// newFixtureWith is the fixture whose requests run the given guardrails;
// more changes its dependencies further.
func newFixtureWith(tb testing.TB, guardrails proxy.Guardrails, more ...func(*proxy.Deps)) *fixture {
	f := &fixture{upstream: &fakeUpstream{
		answer: []byte(`{"id":"c","object":"chat.completion","created":1,"model":"m","choices":[{"index":0,"message":{"role":"assistant","content":"The quick brown fox jumps over the lazy dog."},"finish_reason":"stop"}],"usage":{"prompt_tokens":24,"completion_tokens":20,"total_tokens":44}}`),
		chunks: [][]byte{
			[]byte(`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"fox "},"finish_reason":null}],"usage":null}`),
			[]byte(`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}],"usage":null}`),
			[]byte(`{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":24,"completion_tokens":2,"total_tokens":26}}`),
		},
	}}
	k := &key.Key{ID: uuid.New(), TenantID: "acme", SecretHash: key.HashSecret(secret), Version: 1}
	f.key = k
	conn := provider.Connection{ID: uuid.New(), TenantID: "acme", Name: "up", Kind: provider.KindOpenAI}
	f.gov = &governance{budgets: map[quota.Subject]quota.Budget{}}
	f.quotas = &fakeQuotas{}
	d := proxy.Deps{
		Keys:        keysFunc(func(h key.SecretHash) (key.Key, bool) { return *k, h == k.SecretHash }),
		Policy:      proxy.NewDirectoryPolicy(connsFunc(func(t, n string) (provider.Connection, bool) { return conn, t == "acme" && n == "up" })),
		Upstreams:   upstreamsFunc(func(context.Context, provider.Connection) (proxy.Upstream, error) { return f.upstream, nil }),
		Recorder:    recorderFunc(func(e eventlog.Envelope) { f.events = append(f.events, e) }),
		Prices:      proxy.NewPriceList(noBook{}, pricing.NewCatalogue("2025-08-07", "test", map[string]pricing.Price{"openai/gpt-4o-mini": {Input: 150_000, Output: 600_000}})),
		Governance:  f.gov,
		Quotas:      f.quotas,
		ModelSource: models{conn},
		Configs:     noConfigs{},
		Cache:       noCache{},
		Guardrails:  guardrails,
		Webhooks:    noWebhooks{},
		Now:         time.Now,
		Log:         slog.New(slog.NewTextHandler(io.Discard, nil)),
	}
	for _, m := range more {
		m(&d)
	}
	f.svc = proxy.NewService(d)
	return f
}

var requestBody = []byte(`{"model":"up/gpt-4o-mini","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Say something about foxes in one sentence."}],"temperature":0.2,"max_tokens":200}`)

// BenchmarkChatCompletions_PassThrough is the gateway's own work per
// request (no network): authenticate, decide, rewrite, read usage, record.
func BenchmarkChatCompletions_PassThrough(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		x, err := call(f, ctx, proxy.Inbound{Endpoint: "/v1/chat/completions", Body: requestBody, TraceID: "t"})
		if err != nil {
			b.Fatal(err)
		}
		x.Finish(ctx, nil)
		f.events = f.events[:0]
	}
}

func BenchmarkChatCompletions_Stream(b *testing.B) {
	f := newFixture(b)
	ctx := context.Background()
	body := []byte(`{"model":"up/gpt-4o-mini","stream":true,"messages":[{"role":"user","content":"Say something about foxes."}]}`)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		f.upstream.chunks = f.upstream.chunks[:3]
		x, err := call(f, ctx, proxy.Inbound{Endpoint: "/v1/chat/completions", Body: body, TraceID: "t"})
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := x.Next(); err != nil {
				break
			}
		}
		x.Finish(ctx, nil)
		f.events = f.events[:0]
	}
}

// call authenticates the fixture's key and starts a chat completion.
func call(f *fixture, ctx context.Context, in proxy.Inbound) (*proxy.Exchange, error) {
	k, err := f.svc.Authenticate(secret)
	if err != nil {
		return nil, err
	}
	return f.svc.ChatCompletions(ctx, k, in)
}

// governance holds the budgets and limits the fixture's key is under.
type governance struct {
	budgets map[quota.Subject]quota.Budget
	limits  []quota.RateLimit
}

func (g *governance) Quotas(key.Key) ([]quota.Budget, []quota.RateLimit) {
	var bs []quota.Budget
	for _, b := range g.budgets {
		bs = append(bs, b)
	}
	return bs, g.limits
}

func (g *governance) Budget(s quota.Subject) (quota.Budget, bool) {
	b, ok := g.budgets[s]
	return b, ok
}

// fakeQuotas admits by a func and records settlements: the shared counters'
// own behaviour is tested against Postgres in adapters/postgres.
type fakeQuotas struct {
	admit   func(lines []quota.Line) ([]int64, error)
	admits  [][]quota.Line
	settled []quota.Settlement
}

func (q *fakeQuotas) Admit(_ context.Context, _ string, _ uuid.UUID, lines []quota.Line, _ time.Time) ([]int64, error) {
	q.admits = append(q.admits, lines)
	if q.admit == nil {
		rem := make([]int64, len(lines))
		for i, l := range lines {
			rem[i] = l.Limit - l.Amount
		}
		return rem, nil
	}
	return q.admit(lines)
}

func (q *fakeQuotas) Settle(_ uuid.UUID, s quota.Settlement) { q.settled = append(q.settled, s) }
