package proxy_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/app/proxy"
	"github.com/gatehouse/gatehouse/domain/pricing"
	"github.com/gatehouse/gatehouse/domain/usage"
)

func TestChatCompletions_RewritesOnlyTheModel(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	body := []byte(`{ "messages": [{"role":"user","content":"model: up/x"}], "model" : "up/gpt-4o-mini", "temperature": 0.2, "x_custom": {"keep": [1, 2]} }`)
	x, err := call(f, ctx, proxy.Inbound{Endpoint: "/v1/chat/completions", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	x.Finish(ctx, nil)
	want := bytes.Replace(body, []byte(`"up/gpt-4o-mini"`), []byte(`"gpt-4o-mini"`), 1)
	if !bytes.Equal(f.upstream.got, want) {
		t.Fatalf("upstream got\n%s\nwant\n%s", f.upstream.got, want)
	}
	e, ok := f.events[0].Event.(usage.RequestCompleted)
	// 24 × $0.15 + 20 × $0.60 per million tokens = 15.6 micro-dollars, rounded up
	if !ok || e.Status != 200 || e.Tokens.Prompt != 24 || e.Tokens.Completion != 20 || !e.Priced || e.CostMicros != 16 || e.Provider != "up" || e.UpstreamModel != "gpt-4o-mini" {
		t.Fatalf("recorded %#v", f.events[0].Event)
	}
	if f.events[0].TenantID != "acme" || f.events[0].Version != 1 {
		t.Fatalf("envelope %+v", f.events[0])
	}
}

func drain(t *testing.T, x *proxy.Exchange) [][]byte {
	t.Helper()
	var out [][]byte
	for {
		c, err := x.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, append([]byte(nil), c...))
	}
}

func TestStream_AsksForUsageAndShowsItOnlyWhenTheClientDid(t *testing.T) {
	for _, tc := range []struct {
		name      string
		body      string
		wantShown bool
		wantOpts  string
	}{
		{"not asked", `{"model":"up/m","stream":true,"messages":[]}`, false, `"stream_options":{"include_usage":true}`},
		{"asked", `{"model":"up/m","stream":true,"stream_options":{"include_usage":true},"messages":[]}`, true, `"stream_options":{"include_usage":true}`},
		{"other options kept", `{"model":"up/m","stream":true,"stream_options":{"include_obfuscation":false},"messages":[]}`, false, `"stream_options":{"include_obfuscation":false,"include_usage":true}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			ctx := context.Background()
			x, err := call(f, ctx, proxy.Inbound{Endpoint: "/v1/chat/completions", Body: []byte(tc.body)})
			if err != nil {
				t.Fatal(err)
			}
			got := drain(t, x)
			x.Finish(ctx, nil)
			if !bytes.Contains(f.upstream.got, []byte(tc.wantOpts)) {
				t.Fatalf("upstream body %s lacks %s", f.upstream.got, tc.wantOpts)
			}
			shown := len(got) == 3
			if shown != tc.wantShown {
				t.Fatalf("%d chunks shown; usage chunk shown=%v, want %v", len(got), shown, tc.wantShown)
			}
			e := f.events[0].Event.(usage.RequestCompleted)
			if e.Tokens.Prompt != 24 || e.Tokens.Completion != 2 || !e.Stream {
				t.Fatalf("usage not counted: %+v", e)
			}
		})
	}
}

func TestRefusals_AreRecordedUnderTheKeysTenant(t *testing.T) {
	cases := []struct {
		name, secret, body string
		status             int
		code               string
		recorded           bool
	}{
		{"unknown key", "sk-gh-BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB", `{"model":"up/m"}`, 401, "invalid_api_key", false},
		{"not a key", "hello", `{"model":"up/m"}`, 401, "invalid_api_key", false},
		{"malformed body", secret, `{"model":`, 400, "invalid_request_error", true},
		{"model missing", secret, `{"messages":[]}`, 400, "invalid_request_error", true},
		{"model not a string", secret, `{"model":42}`, 400, "invalid_request_error", true},
		{"unknown provider", secret, `{"model":"nope/m"}`, 404, "model_not_found", true},
		{"no provider prefix", secret, `{"model":"gpt-4o"}`, 404, "model_not_found", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			k, err := f.svc.Authenticate(c.secret)
			if err == nil {
				_, err = f.svc.ChatCompletions(context.Background(), k, proxy.Inbound{Endpoint: "/v1/chat/completions", Body: []byte(c.body)})
			}
			r, ok := proxy.IsRefusal(err)
			if !ok || r.Status != c.status || r.Code != c.code {
				t.Fatalf("got %v, want %d %s", err, c.status, c.code)
			}
			if got := len(f.events) == 1; got != c.recorded {
				t.Fatalf("recorded=%v, want %v", got, c.recorded)
			}
			if c.recorded {
				e, ok := f.events[0].Event.(usage.RequestRejected)
				if !ok || e.Code != c.code || e.Status != c.status || f.events[0].TenantID != "acme" {
					t.Fatalf("recorded %#v", f.events[0])
				}
			}
		})
	}
}

func TestUpstreamErrors_AreRecordedAndKeepTheirStatus(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		err    error
		status int
	}{
		{&proxy.UpstreamError{Status: 400, Message: "bad max_tokens"}, 400},
		{&proxy.UpstreamError{Status: 503, Message: "overloaded"}, 502},
		{errors.New("dial tcp: connection refused"), 502},
	} {
		f.upstream.fail = tc.err
		_, err := call(f, ctx, proxy.Inbound{Endpoint: "/v1/chat/completions", Body: requestBody})
		var ue *proxy.UpstreamError
		if !errors.As(err, &ue) {
			t.Fatalf("got %v", err)
		}
		e := f.events[len(f.events)-1].Event.(usage.RequestCompleted)
		if e.Status != tc.status || e.ErrorCode != "upstream_error" {
			t.Fatalf("recorded %+v for %v", e, tc.err)
		}
	}
}

func TestRevokedKey_IsRefusedAndRecordedEvenWhenClocksDisagree(t *testing.T) {
	f := newFixture(t)
	later := time.Now().Add(time.Hour) // revoked on a replica whose clock runs ahead
	f.key.RevokedAt = &later
	_, err := call(f, context.Background(), proxy.Inbound{Endpoint: "/v1/chat/completions", Body: requestBody})
	if r, ok := proxy.IsRefusal(err); !ok || r.Status != 401 || r.Code != "invalid_api_key" {
		t.Fatalf("revoked key: %v", err)
	}
	if e, ok := f.events[0].Event.(usage.RequestRejected); !ok || e.KeyID != f.key.ID {
		t.Fatalf("recorded %#v", f.events)
	}
}

func TestFinish_RecordsHowTheAnswerEnded(t *testing.T) {
	for _, tc := range []struct {
		err    error
		status int
		code   string
	}{
		{nil, 200, ""},
		{fmt.Errorf("%w: broken pipe", proxy.ErrClientGone), 499, "client_closed_request"},
		{proxy.ErrInternal, 500, "internal_error"},
		{io.ErrUnexpectedEOF, 502, "upstream_error"},
	} {
		f := newFixture(t)
		ctx := context.Background()
		x, err := call(f, ctx, proxy.Inbound{Endpoint: "/v1/chat/completions", Body: requestBody})
		if err != nil {
			t.Fatal(err)
		}
		x.Finish(ctx, tc.err)
		x.Finish(ctx, nil) // a second Finish records nothing more
		e := f.events[0].Event.(usage.RequestCompleted)
		if len(f.events) != 1 || e.Status != tc.status || e.ErrorCode != tc.code {
			t.Fatalf("%v: recorded %d events, last %+v", tc.err, len(f.events), e)
		}
	}
}

func TestChatRequest_RefusesWhatTheUpstreamCouldReadDifferently(t *testing.T) {
	for name, body := range map[string]string{
		"escaped member name":  `{"model":"up/cheap","mod\u0065l":"gpt-4o"}`,
		"repeated model":       `{"model":"up/cheap","model":"up/dear"}`,
		"repeated stream":      `{"model":"up/m","stream":false,"stream":true}`,
		"stream not a boolean": `{"model":"up/m","stream":"true"}`,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			_, err := call(f, context.Background(), proxy.Inbound{Endpoint: "/v1/chat/completions", Body: []byte(body)})
			if r, ok := proxy.IsRefusal(err); !ok || r.Status != 400 {
				t.Fatalf("accepted: %v", err)
			}
		})
	}
}

func TestChatRequest_ModelNamesAreJSONStringsBothWays(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	x, err := call(f, ctx, proxy.Inbound{Endpoint: "/v1/chat/completions", Body: []byte(`{"model":"up\/org\/m\u00e9"}`)})
	if err != nil {
		t.Fatal(err)
	}
	x.Finish(ctx, nil)
	if string(f.upstream.got) != `{"model":"org/mé"}` {
		t.Fatalf("upstream got %s", f.upstream.got)
	}
}

func TestUnpricedModel_IsRecordedAsUnpricedAndRaisesPriceMissingOnce(t *testing.T) {
	f := newFixture(t)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		x, err := call(f, ctx, proxy.Inbound{Endpoint: "/v1/chat/completions", Body: []byte(`{"model":"up/mystery-model"}`)})
		if err != nil {
			t.Fatal(err)
		}
		x.Finish(ctx, nil)
	}
	var missing, completed int
	for _, e := range f.events {
		switch ev := e.Event.(type) {
		case pricing.PriceMissing:
			missing++
			if ev.Model != "up/mystery-model" || e.StreamID != pricing.MissingStreamID("up/mystery-model") || e.Version != 1 {
				t.Fatalf("price.missing %+v", e)
			}
		case usage.RequestCompleted:
			completed++
			if ev.Priced || ev.CostMicros != 0 {
				t.Fatalf("an unpriced request was recorded as priced: %+v", ev)
			}
		}
	}
	if missing != 1 || completed != 3 {
		t.Fatalf("%d price.missing and %d request.completed events", missing, completed)
	}
}
