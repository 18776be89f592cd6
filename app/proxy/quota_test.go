package proxy_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/app/proxy"
	"github.com/gatehouse/gatehouse/domain/quota"
	"github.com/gatehouse/gatehouse/domain/usage"
)

func (f *fixture) tenantBudget(hard bool, limit usage.Micros) quota.Subject {
	s := quota.Subject{TenantID: "acme", Scope: quota.ScopeTenant, ID: "acme"}
	f.gov.budgets[s] = quota.Budget{Subject: s, Limit: limit, Period: quota.Day, Hard: hard, AlertAt: []float64{0.5, 0.8}}
	return s
}

func TestAdmission_ReservesTheWorstCaseAndSettlesTheActual(t *testing.T) {
	f := newFixture(t)
	f.tenantBudget(true, 1_000_000)
	ctx := context.Background()
	body := []byte(`{"model":"up/gpt-4o-mini","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`)
	x, err := call(f, ctx, proxy.Inbound{Endpoint: "/v1/chat/completions", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	x.Finish(ctx, nil)
	lines := f.quotas.admits[0]
	// worst case: len(body) prompt tokens × $0.15 + 100 × $0.60 per million, rounded up
	want := (int64(len(body))*150_000 + 100*600_000 + 999_999) / 1_000_000
	if len(lines) != 1 || lines[0].Kind != quota.KindBudget || lines[0].Amount != want || !lines[0].Hard {
		t.Fatalf("reserved %+v, want one hard budget line of %d", lines, want)
	}
	if len(f.quotas.settled) != 1 || f.quotas.settled[0].Cost != 16 || f.quotas.settled[0].Tokens != 44 {
		t.Fatalf("settled %+v, want the actual 16 micro-dollars and 44 tokens", f.quotas.settled)
	}
}

func TestAdmission_RefusalsAreAnsweredAndRecorded(t *testing.T) {
	cases := []struct {
		name         string
		setup        func(f *fixture)
		model        string
		status       int
		code, typ    string
		retryAtLeast time.Duration
	}{
		{"unpriced model under a hard budget", func(f *fixture) { f.tenantBudget(true, 1_000_000) }, "up/mystery", 403, "price_unknown", "invalid_request_error", 0},
		{"hard budget full", func(f *fixture) {
			s := f.tenantBudget(true, 10)
			f.quotas.admit = func(lines []quota.Line) ([]int64, error) {
				return nil, &quota.Refused{Line: quota.Line{Kind: quota.KindBudget, Subject: s, Limit: 10}}
			}
		}, "up/gpt-4o-mini", 429, "budget_exceeded", "insufficient_quota", time.Second},
		{"rate limit", func(f *fixture) {
			s := quota.Subject{TenantID: "acme", Scope: quota.ScopeKey, ID: f.key.ID.String()}
			f.gov.limits = []quota.RateLimit{{Subject: s, RPM: 1}}
			f.quotas.admit = func(lines []quota.Line) ([]int64, error) {
				return nil, &quota.Refused{Line: lines[0]}
			}
		}, "up/gpt-4o-mini", 429, "rate_limit_exceeded", "requests", time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t)
			c.setup(f)
			_, err := call(f, context.Background(), proxy.Inbound{Endpoint: "/v1/chat/completions", Body: []byte(`{"model":"` + c.model + `"}`)})
			r, ok := proxy.IsRefusal(err)
			if !ok || r.Status != c.status || r.Code != c.code || r.Type != c.typ || r.RetryAfter < c.retryAtLeast {
				t.Fatalf("got %+v (%v)", r, err)
			}
			e, ok := f.events[0].Event.(usage.RequestRejected)
			if !ok || e.Code != c.code {
				t.Fatalf("recorded %#v", f.events)
			}
			if len(f.quotas.settled) != 0 {
				t.Fatal("a refused request settled a hold it never had")
			}
		})
	}
}

func TestAdmission_TheTightestLimitGoesInTheHeaders(t *testing.T) {
	f := newFixture(t)
	key := quota.Subject{TenantID: "acme", Scope: quota.ScopeKey, ID: f.key.ID.String()}
	tenant := quota.Subject{TenantID: "acme", Scope: quota.ScopeTenant, ID: "acme"}
	f.gov.limits = []quota.RateLimit{{Subject: key, RPM: 10, TPM: 1_000_000}, {Subject: tenant, RPM: 1000}}
	f.quotas.admit = func(lines []quota.Line) ([]int64, error) {
		rem := make([]int64, len(lines))
		for i, l := range lines {
			rem[i] = l.Limit / 2
		}
		return rem, nil
	}
	ctx := context.Background()
	x, err := call(f, ctx, proxy.Inbound{Endpoint: "/v1/chat/completions", Body: requestBody})
	if err != nil {
		t.Fatal(err)
	}
	x.Finish(ctx, nil)
	l := x.RateLimits()
	if l == nil || l.Requests != 10 || l.RemainingRequests != 5 || l.Tokens != 1_000_000 || l.RemainingTokens != 500_000 {
		t.Fatalf("limits %+v", l)
	}
}

func TestPosted_RaisesEachAlertAndTheExceededEventOnce(t *testing.T) {
	f := newFixture(t)
	s := f.tenantBudget(false, 1000)
	window := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	f.svc.Posted([]quota.Posting{{Subject: s, Window: window, Before: 100, After: 900}})
	f.svc.Posted([]quota.Posting{{Subject: s, Window: window, Before: 900, After: 1200}})
	var alerted []float64
	exceeded := 0
	for _, e := range f.events {
		switch ev := e.Event.(type) {
		case quota.BudgetAlerted:
			alerted = append(alerted, ev.Threshold)
			if e.StreamID != quota.AlertStreamID(s, window, ev.Threshold) || e.Version != 1 {
				t.Fatalf("alert not on its once-only stream: %+v", e)
			}
		case quota.BudgetExceeded:
			exceeded++
		}
	}
	if len(alerted) != 2 || alerted[0] != 0.5 || alerted[1] != 0.8 || exceeded != 1 {
		t.Fatalf("alerts %v, exceeded %d", alerted, exceeded)
	}
}

func TestAdmission_RefusesWhatNoBudgetCouldCheck(t *testing.T) {
	for name, body := range map[string]string{
		"max_tokens past the bound": `{"model":"up/gpt-4o-mini","max_tokens":1000000000000}`,
		"negative max_tokens":       `{"model":"up/gpt-4o-mini","max_completion_tokens":-1}`,
		"n past the bound":          `{"model":"up/gpt-4o-mini","n":100000}`,
		"NUL in the model":          `{"model":"up/x\u0000"}`,
		"max_tokens not an integer": `{"model":"up/gpt-4o-mini","max_tokens":"lots"}`,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t)
			f.tenantBudget(true, 1_000_000)
			_, err := call(f, context.Background(), proxy.Inbound{Endpoint: "/v1/chat/completions", Body: []byte(body)})
			if r, ok := proxy.IsRefusal(err); !ok || r.Status != 400 {
				t.Fatalf("accepted: %v", err)
			}
			if len(f.quotas.admits) != 0 {
				t.Fatal("reserved against a budget before refusing")
			}
		})
	}
}

func TestAdmission_ReservesForEveryAnswerAskedFor(t *testing.T) {
	f := newFixture(t)
	f.tenantBudget(true, 1_000_000_000)
	ctx := context.Background()
	body := []byte(`{"model":"up/gpt-4o-mini","max_tokens":1000,"n":4}`)
	x, err := call(f, ctx, proxy.Inbound{Endpoint: "/v1/chat/completions", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	x.Finish(ctx, nil)
	want := (int64(len(body))*150_000 + 4*1000*600_000 + 999_999) / 1_000_000
	if got := f.quotas.admits[0][0].Amount; got != want {
		t.Fatalf("reserved %d, want %d (four answers of 1,000 tokens)", got, want)
	}
}

func TestAdmission_AnAnswerWithoutUsageIsChargedItsWorstCase(t *testing.T) {
	f := newFixture(t)
	f.tenantBudget(true, 1_000_000_000)
	f.upstream.answer = []byte(`{"id":"c","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}]}`)
	ctx := context.Background()
	body := []byte(`{"model":"up/gpt-4o-mini","max_tokens":100,"messages":[{"role":"user","content":"hi"}]}`)
	x, err := call(f, ctx, proxy.Inbound{Endpoint: "/v1/chat/completions", Body: body})
	if err != nil {
		t.Fatal(err)
	}
	x.Finish(ctx, nil)
	reserved := f.quotas.admits[0][0].Amount
	e := f.events[0].Event.(usage.RequestCompleted)
	if !e.UsageEstimated || e.Tokens.Prompt != int64(len(body)) || e.Tokens.Completion != 100 {
		t.Fatalf("recorded %+v: want the worst case, marked estimated", e)
	}
	if s := f.quotas.settled; len(s) != 1 || int64(s[0].Cost) != reserved || s[0].Tokens != int64(len(body))+100 {
		t.Fatalf("settled %+v, want the reservation of %d", s, reserved)
	}

	// A stream the client left before its usage chunk is charged its worst case.
	f.events, f.quotas.settled = nil, nil
	f.upstream.chunks = f.upstream.chunks[:1]
	x, err = call(f, ctx, proxy.Inbound{Endpoint: "/v1/chat/completions", Body: []byte(`{"model":"up/gpt-4o-mini","stream":true,"max_tokens":50}`)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := x.Next(); err != nil {
		t.Fatal(err)
	}
	x.Finish(ctx, proxy.ErrClientGone)
	if e := f.events[0].Event.(usage.RequestCompleted); !e.UsageEstimated || e.Tokens.Completion != 50 || e.Status != 499 {
		t.Fatalf("recorded %+v: want the worst case of a stream cut before its usage", e)
	}
}
