package metrics_test

import (
	"fmt"
	"io"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/app/proxy"
	"github.com/gatehouse/gatehouse/domain/usage"
	"github.com/gatehouse/gatehouse/ports/http/metrics"
)

func series(t *testing.T, reg *prometheus.Registry) map[string]int {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]int{}
	for _, mf := range mfs {
		out[mf.GetName()] = len(mf.GetMetric())
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "key" || l.GetName() == "key_id" || l.GetName() == "user" {
					t.Fatalf("%s is labelled with %s", mf.GetName(), l.GetName())
				}
			}
		}
	}
	return out
}

// TestRequests_LabelCardinalityIsBounded: keys, users and the models a
// client makes up never become series; what grows the series is what the
// tenant configured (providers and their models) and the status codes.
func TestRequests_LabelCardinalityIsBounded(t *testing.T) {
	for _, tenantLabel := range []bool{true, false} {
		r := metrics.NewRequests(metrics.Options{TenantLabel: tenantLabel})
		reg := prometheus.NewRegistry()
		reg.MustRegister(r.Collectors()...)
		for i := 0; i < 5000; i++ {
			// Refused: any model name at all, any key.
			r.Observe(proxy.Observation{TenantID: "acme", KeyID: fmt.Sprint("key-", i), Model: fmt.Sprint("made-up-", i), Status: 403,
				Code: "model_not_allowed", Rejected: true, Duration: time.Millisecond})
			// Answered by an upstream that failed before any model was served.
			r.Observe(proxy.Observation{TenantID: "acme", KeyID: fmt.Sprint("key-", i), Model: fmt.Sprint("typo-", i), Provider: "",
				Status: 404, Duration: time.Millisecond})
			// Answered: two providers, two models each, a few statuses, three tenants.
			r.Observe(proxy.Observation{TenantID: fmt.Sprint("t", i%3), KeyID: fmt.Sprint("key-", i), Model: "asked", Provider: fmt.Sprint("p", i%2),
				Served: fmt.Sprint("m", i%4/2), Status: []int{200, 429, 500}[i%3], Cache: []string{"", "HIT", "MISS"}[i%3],
				Tokens: usage.Tokens{Prompt: 10, Completion: 5}, CostMicros: 7, Duration: 30 * time.Millisecond,
				Upstream: 20 * time.Millisecond, Gateway: time.Millisecond, FirstToken: 5 * time.Millisecond})
		}
		got := series(t, reg)
		tenants := 1
		if tenantLabel {
			tenants = 3
		}
		// Per provider: its two models, and "" for the requests that failed.
		if got["gatehouse_refusals_total"] > 1 || got["gatehouse_requests_total"] > 1+tenants*2*3*3*3 ||
			got["gatehouse_request_duration_seconds"] > 1+tenants*2*3 || got["gatehouse_tokens_total"] > tenants*2*3*2 {
			t.Fatalf("tenant label %v: %v", tenantLabel, got)
		}
		for name, n := range got {
			if n > 100 {
				t.Fatalf("%s has %d series", name, n)
			}
		}
	}
}

func TestLogLine_OneLinePerRequestWithoutSecrets(t *testing.T) {
	var b strings.Builder
	proxy.LogLine{Log: slog.New(slog.NewJSONHandler(&b, nil))}.Observe(proxy.Observation{TenantID: "acme", KeyID: "k1", TraceID: "tr",
		Model: "up/m", Provider: "up", Served: "m", Status: 200, Duration: 12 * time.Millisecond})
	line := b.String()
	for _, want := range []string{`"msg":"request"`, `"trace_id":"tr"`, `"tenant":"acme"`, `"key_id":"k1"`, `"model":"up/m"`, `"status":200`, `"latency_ms":12`} {
		if !strings.Contains(line, want) {
			t.Fatalf("%s lacks %s", line, want)
		}
	}
	if strings.Count(line, "\n") != 1 {
		t.Fatalf("not one line: %q", line)
	}
}

// BenchmarkObserve is what metrics and the log line add to a request.
func BenchmarkObserve(b *testing.B) {
	r := metrics.NewRequests(metrics.Options{TenantLabel: true})
	obs := proxy.Observers{r, proxy.LogLine{Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}}
	o := proxy.Observation{TenantID: "acme", KeyID: "k1", TraceID: "tr", Model: "up/m", Provider: "up", Served: "m", Status: 200, Cache: "MISS",
		Tokens: usage.Tokens{Prompt: 10, Completion: 5}, CostMicros: 7, Duration: 30 * time.Millisecond, Upstream: 20 * time.Millisecond,
		Gateway: time.Millisecond, FirstToken: 5 * time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		obs.Observe(o)
	}
}
