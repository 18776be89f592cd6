package test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3/option"
)

// scrape reads /metrics as sample lines: `name{labels}` → value.
func (s *server) scrape() map[string]float64 {
	s.in.t.Helper()
	resp, err := http.Get(s.URL + "/metrics")
	if err != nil {
		s.in.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	out := map[string]float64{}
	for _, line := range strings.Split(string(b), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err == nil {
			out[line[:i]] = v
		}
	}
	return out
}

// sum adds the samples of a metric whose labels hold every one of want.
func sum(samples map[string]float64, name string, want ...string) float64 {
	total := 0.0
	for k, v := range samples {
		metric, labels, _ := strings.Cut(k, "{")
		if metric != name {
			continue
		}
		ok := true
		for _, w := range want {
			ok = ok && strings.Contains(labels, w)
		}
		if ok {
			total += v
		}
	}
	return total
}

func TestE2E_MetricsMoveAsRequestsFlowAndEachRequestIsOneLogLine(t *testing.T) {
	sc := newTenantScenario(t)
	client := sdk(sc.s, sc.key.Secret)
	ctx := context.Background()
	sc.s.mustAdmin(200, "PUT", "/admin/v1/tenants/acme/budgets/tenant/acme", sc.admin, map[string]any{"limit_usd": 10, "period": "month"}, nil)
	before := sc.s.scrape()
	var resp *http.Response
	for i := 0; i < 2; i++ {
		if _, err := client.Chat.Completions.New(ctx, chat("up/gpt-4o-mini", "hello"), option.WithResponseInto(&resp)); err != nil {
			t.Fatal(err)
		}
	}
	st := client.Chat.Completions.NewStreaming(ctx, chat("up/gpt-4o-mini", "hello"))
	for st.Next() {
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if _, err := client.Chat.Completions.New(ctx, chat("nowhere/gpt-4o-mini", "hello")); err == nil {
		t.Fatal("a model of no provider answered")
	}
	var after map[string]float64
	eventually(t, 5*time.Second, func() error {
		after = sc.s.scrape()
		if sum(after, "gatehouse_event_writer_batch_size_count") == 0 || sum(after, "gatehouse_events_appended_total") < 4 {
			return fmt.Errorf("the writer's series have not moved")
		}
		if left := sum(after, "gatehouse_budget_remaining_usd", `scope="tenant"`, `tenant="acme"`); left >= 10 || left <= 0 ||
			sum(after, "gatehouse_budget_limit_usd", `scope="tenant"`) != 10 {
			return fmt.Errorf("the tenant's budget: %v left", left)
		}
		if _, ok := after[`gatehouse_projection_lag_seconds{projection="requests.v1"}`]; !ok {
			return fmt.Errorf("no lag of the request log's projection")
		}
		return nil
	})
	moved := func(name string, want ...string) float64 {
		return sum(after, name, want...) - sum(before, name, want...)
	}
	checks := []struct {
		what string
		got  float64
		want float64
	}{
		{"answered requests", moved("gatehouse_requests_total", `provider="up"`, `model="gpt-4o-mini"`, `status="200"`, `tenant="acme"`), 3},
		{"request durations", moved("gatehouse_request_duration_seconds_count", `provider="up"`), 3},
		{"upstream durations", moved("gatehouse_upstream_duration_seconds_count", `provider="up"`), 3},
		{"gateway durations", moved("gatehouse_gateway_duration_seconds_count"), 3},
		{"times to first token", moved("gatehouse_time_to_first_token_seconds_count", `provider="up"`), 1},
		{"refusals", moved("gatehouse_refusals_total"), 1},
	}
	for _, c := range checks {
		if c.got != c.want {
			t.Errorf("%s moved by %v, want %v", c.what, c.got, c.want)
		}
	}
	if moved("gatehouse_tokens_total", `kind="prompt"`) <= 0 || moved("gatehouse_tokens_total", `kind="completion"`) <= 0 {
		t.Errorf("tokens did not move")
	}
	for k := range after {
		if strings.Contains(k, sc.key.ID) || strings.Contains(k, "key_id") {
			t.Fatalf("a key is a label: %s", k)
		}
	}

	// The Grafana dashboard in docs/ draws on series that exist.
	dash, err := os.ReadFile("../docs/grafana-dashboard.json")
	if err != nil {
		t.Fatal(err)
	}
	exposed := map[string]bool{}
	for k := range after {
		name, _, _ := strings.Cut(k, "{")
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			name = strings.TrimSuffix(name, suffix)
		}
		exposed[name] = true
	}
	for _, m := range regexp.MustCompile(`(?:gatehouse|go)_[a-z_]+`).FindAllString(string(dash), -1) {
		for _, suffix := range []string{"_bucket", "_sum", "_count"} {
			m = strings.TrimSuffix(m, suffix)
		}
		if !exposed[m] && m != "gatehouse_circuit_breakers" { // breakers show once a config has circuits
			t.Errorf("the dashboard uses %s, which /metrics does not show", m)
		}
	}

	// One line per request, at info, with its trace id; no key, no prompt.
	trace := resp.Header.Get("x-gatehouse-trace-id")
	eventually(t, 5*time.Second, func() error {
		for _, line := range strings.Split(sc.in.logs.String(), "\n") {
			if strings.Contains(line, `"msg":"request"`) && strings.Contains(line, `"trace_id":"`+trace+`"`) {
				if !strings.Contains(line, `"tenant":"acme"`) || !strings.Contains(line, `"key_id":"`+sc.key.ID+`"`) ||
					!strings.Contains(line, `"status":200`) || !strings.Contains(line, `"latency_ms":`) {
					return fmt.Errorf("the request's line: %s", line)
				}
				return nil
			}
		}
		return fmt.Errorf("no line for trace %s", trace)
	})
	if strings.Contains(sc.in.logs.String(), sc.key.Secret) || strings.Contains(sc.in.logs.String(), `"hello"`) {
		t.Fatal("a secret or a prompt reached the log")
	}
}

func TestE2E_OneRequestInFullWithItsTimings(t *testing.T) {
	sc := newTenantScenario(t)
	client := sdk(sc.s, sc.key.Secret)
	var resp *http.Response
	st := client.Chat.Completions.NewStreaming(context.Background(), chat("up/gpt-4o-mini", "hello"), option.WithResponseInto(&resp),
		option.WithHeader("x-gatehouse-metadata", `{"feature":"search"}`))
	for st.Next() {
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	id := resp.Header.Get("x-gatehouse-request-id")
	var got struct {
		RequestID, Model, Provider, UpstreamModel, TraceID string
		Status                                             int
		Stream                                             bool
		PromptTokens                                       int64 `json:"prompt_tokens"`
		CompletionTokens                                   int64 `json:"completion_tokens"`
		Metadata                                           map[string]string
		Timings                                            struct {
			GatewayMs    float64 `json:"gateway_ms"`
			FirstTokenMs float64 `json:"first_token_ms"`
			UpstreamMs   float64 `json:"upstream_ms"`
			TotalMs      float64 `json:"total_ms"`
		}
	}
	viewer := sc.in.token("--role", "viewer", "--tenant", "acme")
	eventually(t, 10*time.Second, func() error {
		if code := sc.s.adminDo("GET", "/admin/v1/tenants/acme/requests/"+id, viewer, nil, &got); code != 200 {
			return fmt.Errorf("GET request: %d", code)
		}
		return nil
	})
	tm := got.Timings
	if got.Status != 200 || !got.Stream || got.Metadata["feature"] != "search" || got.PromptTokens == 0 ||
		tm.GatewayMs <= 0 || tm.FirstTokenMs <= tm.GatewayMs || tm.UpstreamMs <= 0 || tm.TotalMs < tm.FirstTokenMs || tm.TotalMs < tm.GatewayMs+tm.UpstreamMs-0.01 {
		t.Fatalf("the request: %+v", got)
	}
	sc.s.mustAdmin(404, "GET", "/admin/v1/tenants/acme/requests/00000000-0000-0000-0000-000000000001", viewer, nil, nil)
	sc.s.mustAdmin(400, "GET", "/admin/v1/tenants/acme/requests/not-an-id", viewer, nil, nil)
	sc.s.mustAdmin(404, "GET", "/admin/v1/tenants/acme/requests/"+id, sc.in.token("--role", "tenant_admin", "--tenant", "globex"), nil, nil)
}

func TestE2E_TheRequestLogExportsAsJSONLinesAndCSV(t *testing.T) {
	sc := newTenantScenario(t)
	client := sdk(sc.s, sc.key.Secret)
	for i := 0; i < 3; i++ {
		if _, err := client.Chat.Completions.New(context.Background(), chat("up/gpt-4o-mini", "hello"), option.WithHeader("x-gatehouse-metadata", `{"n":"`+strconv.Itoa(i)+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	viewer := sc.in.token("--role", "viewer", "--tenant", "acme")
	eventually(t, 10*time.Second, func() error {
		code, b, h := sc.s.adminGet("/admin/v1/tenants/acme/requests/export", viewer)
		lines := strings.Split(strings.TrimSpace(string(b)), "\n")
		if code != 200 || h.Get("Content-Type") != "application/x-ndjson" || len(lines) != 3 || !strings.Contains(lines[0], `"request_id"`) {
			return fmt.Errorf("jsonl %d %s", code, b)
		}
		code, b, h = sc.s.adminGet("/admin/v1/tenants/acme/requests/export?format=csv", viewer)
		rows := strings.Split(strings.TrimSpace(string(b)), "\n")
		if code != 200 || !strings.HasPrefix(h.Get("Content-Type"), "text/csv") || len(rows) != 4 || !strings.HasPrefix(rows[0], "request_id,") {
			return fmt.Errorf("csv %d %s", code, b)
		}
		return nil
	})
	sc.s.mustAdmin(400, "GET", "/admin/v1/tenants/acme/requests/export?format=xml", viewer, nil, nil)
}

func TestE2E_AnalyticsAreTimeSeriesFromTheProjection(t *testing.T) {
	sc := newTenantScenario(t)
	client := sdk(sc.s, sc.key.Secret)
	ctx := context.Background()
	for i := 0; i < 4; i++ {
		feature := []string{"search", "chat"}[i%2]
		if _, err := client.Chat.Completions.New(ctx, chat("up/gpt-4o-mini", "hello"), option.WithHeader("x-gatehouse-metadata", `{"feature":"`+feature+`"}`)); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := client.Chat.Completions.New(ctx, chat("nowhere/x", "hello")); err == nil { // a refusal: an error in the series
		t.Fatal("a model of no provider answered")
	}
	type point struct {
		Requests, Errors int64
		P50              float64  `json:"p50_ms"`
		P95              float64  `json:"p95_ms"`
		PromptTokens     int64    `json:"prompt_tokens"`
		CacheHitRate     *float64 `json:"cache_hit_rate"`
	}
	type answer struct {
		Series []struct {
			Group  string
			Points []point
		}
	}
	get := func(q string) answer {
		var a answer
		sc.s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/analytics?"+q, sc.admin, nil, &a)
		return a
	}
	eventually(t, 10*time.Second, func() error {
		all := get("interval=minute")
		var requests, errors int64
		for _, s := range all.Series {
			for _, p := range s.Points {
				requests, errors = requests+p.Requests, errors+p.Errors
			}
		}
		if len(all.Series) != 1 || requests != 5 || errors != 1 {
			return fmt.Errorf("all requests: %+v", all)
		}
		return nil
	})
	byFeature := get("interval=hour&group_by=metadata.feature")
	if len(byFeature.Series) != 2 { // search and chat: the refusal carried no metadata
		t.Fatalf("by feature: %+v", byFeature)
	}
	for _, s := range byFeature.Series {
		if s.Group == "search" && (len(s.Points) != 1 || s.Points[0].Requests != 2 || s.Points[0].P50 <= 0 || s.Points[0].P95 < s.Points[0].P50 ||
			s.Points[0].PromptTokens == 0 || s.Points[0].CacheHitRate != nil) {
			t.Fatalf("search: %+v", s)
		}
	}
	byModel := get("interval=day&group_by=model")
	if len(byModel.Series) != 2 {
		t.Fatalf("by model: %+v", byModel)
	}
	for _, q := range []string{"interval=week", "group_by=user", "interval=minute&from=2026-01-01&to=2026-02-01", "group_by=metadata."} {
		sc.s.mustAdmin(400, "GET", "/admin/v1/tenants/acme/analytics?"+q, sc.admin, nil, nil)
	}
}
