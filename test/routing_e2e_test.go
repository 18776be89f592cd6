package test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"testing"
	"time"

	anthropicopt "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

func TestE2E_ConfigsArePublishedInVersionsAndValidated(t *testing.T) {
	sc := newTenantScenario(t)
	const path = "/admin/v1/tenants/acme/configs"
	type ref struct {
		ID      string          `json:"id"`
		Name    string          `json:"name"`
		Version int             `json:"version"`
		Config  json.RawMessage `json:"config"`
	}
	var v1, v2 ref
	sc.s.mustAdmin(201, "POST", path, sc.admin, map[string]any{"name": "support-bot", "config": map[string]any{
		"strategy": map[string]any{"mode": "fallback"}, "targets": []any{map[string]any{"provider": "up", "override_params": map[string]any{"model": "gpt-4o"}}, map[string]any{"provider": "up"}}}}, &v1)
	sc.s.mustAdmin(201, "POST", path, sc.admin, map[string]any{"name": "support-bot", "config": map[string]any{"provider": "up"}}, &v2)
	if v1.Version != 1 || v2.Version != 2 || v1.ID != v2.ID || v1.ID == "" || v1.Name != "support-bot" {
		t.Fatalf("published %+v then %+v", v1, v2)
	}
	var got ref
	sc.s.mustAdmin(200, "GET", path+"/support-bot", sc.admin, nil, &got)
	if got.Version != 2 || string(got.Config) != `{"provider":"up"}` {
		t.Fatalf("latest %+v", got)
	}
	sc.s.mustAdmin(200, "GET", path+"/support-bot?version=1", sc.admin, nil, &got)
	if got.Version != 1 || !strings.Contains(string(got.Config), `"mode":"fallback"`) {
		t.Fatalf("version 1 %+v", got)
	}
	sc.s.mustAdmin(404, "GET", path+"/support-bot?version=3", sc.admin, nil, nil)
	sc.s.mustAdmin(404, "GET", path+"/nope", sc.admin, nil, nil)
	sc.s.mustAdmin(400, "GET", path+"/support-bot?version=x", sc.admin, nil, nil)
	var list struct{ Configs []ref }
	sc.s.mustAdmin(200, "GET", path, sc.admin, nil, &list)
	if len(list.Configs) != 1 || list.Configs[0].Version != 2 {
		t.Fatalf("list %+v", list)
	}

	for body, want := range map[string]string{
		`{"name": "x", "config": {"strategy": {"mode": "fallback"}, "targets": [{"provider": "up", "retry": {"attempts": 99}}]}}`: "targets[0].retry.attempts",
		`{"name": "x", "config": {"strategy": {"mode": "fallback"}, "targets": [{"provider": "up"}, {"provider": "ghost"}]}}`:     `targets[1].provider: no provider connection named "ghost"`,
		`{"name": "x y", "config": {"provider": "up"}}`: "name",
		`{"name": "x"}`: "config is required",
		`{"name": "x", "config": {"provider": "up", "virtual_key": "pk-1"}}`: "virtual_key",
	} {
		var p struct{ Detail string }
		sc.s.mustAdmin(400, "POST", path, sc.admin, json.RawMessage(body), &p)
		if !strings.Contains(p.Detail, want) {
			t.Errorf("%s: detail %q, want it to name %s", body, p.Detail, want)
		}
	}

	var k struct {
		Config *string `json:"config"`
	}
	sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+sc.key.ID, sc.admin, map[string]any{"config": "support-bot"}, &k)
	if k.Config == nil || *k.Config != "support-bot" {
		t.Fatalf("key config %v", k.Config)
	}
	sc.s.mustAdmin(400, "PATCH", "/admin/v1/tenants/acme/keys/"+sc.key.ID, sc.admin, map[string]any{"config": "nope"}, nil)
	sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+sc.key.ID, sc.admin, map[string]any{"config": nil}, &k)
	if k.Config != nil {
		t.Fatalf("key config after null %v", *k.Config)
	}
}

// routingScenario is tenant acme with two provider connections, a and b,
// on one upstream that fails on demand, and a key.
type routingScenario struct {
	*tenantScenario
	up *flakyUpstream
}

func newRoutingScenario(t *testing.T) routingScenario {
	sc := newTenantScenario(t)
	up := newFlakyUpstream(t)
	for _, name := range []string{"a", "b"} {
		sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/providers", sc.admin,
			map[string]string{"name": name, "kind": "openai-compatible", "base_url": up.URL + "/v1"}, nil)
	}
	return routingScenario{tenantScenario: sc, up: up}
}

func (sc routingScenario) publish(name string, config any) {
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/configs", sc.admin, map[string]any{"name": name, "config": config}, nil)
}

// ask sends a chat completion under a config, giving the answer's text,
// the response (for its headers) and the error.
func (sc routingScenario) ask(config string, opts ...option.RequestOption) (string, *http.Response, error) {
	var resp *http.Response
	opts = append(opts, option.WithResponseInto(&resp))
	if config != "" {
		opts = append(opts, option.WithHeader("x-gatehouse-config", config))
	}
	client := sdk(sc.s, sc.key.Secret)
	c, err := client.Chat.Completions.New(context.Background(), chat("routed", "hello"), opts...)
	if err != nil {
		return "", resp, err
	}
	return c.Choices[0].Message.Content, resp, nil
}

// streamText streams a chat completion under a config.
func (sc routingScenario) streamText(config string) (string, error) {
	client := sdk(sc.s, sc.key.Secret)
	st := client.Chat.Completions.NewStreaming(context.Background(), chat("routed", "hello"),
		option.WithHeader("x-gatehouse-config", config))
	var text strings.Builder
	for st.Next() {
		if c := st.Current(); len(c.Choices) > 0 {
			text.WriteString(c.Choices[0].Delta.Content)
		}
	}
	return text.String(), st.Err()
}

type routedRow struct {
	Status           int    `json:"status"`
	CompletionTokens int64  `json:"completion_tokens"`
	Code             string `json:"code"`
	Provider         string `json:"provider"`
	Config           string `json:"config"`
	ConfigVersion    int    `json:"config_version"`
	Target           string `json:"target"`
	Retries          int    `json:"retries"`
	Attempts         []struct {
		Target   string `json:"target"`
		Provider string `json:"provider"`
		Model    string `json:"model"`
		Status   int    `json:"status"`
		Error    string `json:"error"`
		Retry    bool   `json:"retry"`
	} `json:"attempts"`
}

// rows waits for n rows in the request log and gives them, newest first.
func (sc routingScenario) rows(t *testing.T, n int) []routedRow {
	t.Helper()
	var page struct{ Requests []routedRow }
	eventually(t, 10*time.Second, func() error {
		sc.s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/requests", sc.admin, nil, &page)
		if len(page.Requests) != n {
			return fmt.Errorf("%d rows, want %d", len(page.Requests), n)
		}
		return nil
	})
	return page.Requests
}

func target(provider, model string, extra ...map[string]any) map[string]any {
	t := map[string]any{"provider": provider, "override_params": map[string]any{"model": model}}
	for _, e := range extra {
		for k, v := range e {
			t[k] = v
		}
	}
	return t
}

func strategy(mode string, targets ...map[string]any) map[string]any {
	return map[string]any{"strategy": map[string]any{"mode": mode}, "targets": targets}
}

func TestE2E_FallbackTriesTheNextTargetAndRecordsEveryAttempt(t *testing.T) {
	sc := newRoutingScenario(t)
	sc.publish("fb", strategy("fallback", target("a", "status-503"), target("b", "ok-b")))
	text, resp, err := sc.ask("fb")
	if err != nil || text != "from ok-b" {
		t.Fatalf("answer %q %v", text, err)
	}
	if resp.Header.Get("x-gatehouse-provider") != "b" || resp.Header.Get("x-gatehouse-model") != "ok-b" || resp.Header.Get("x-gatehouse-retries") != "0" {
		t.Fatalf("headers %v", resp.Header)
	}
	// A 400 is the caller's fault: it is the answer, and b is not asked.
	sc.publish("fb", strategy("fallback", target("a", "status-400"), target("b", "ok-b")))
	_, _, err = sc.ask("fb")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || sc.up.count("ok-b") != 1 {
		t.Fatalf("a 400 fell back: %v, b called %d times", err, sc.up.count("ok-b"))
	}
	// Every target failing: the last failure answers, as 502.
	sc.publish("down", strategy("fallback", target("a", "status-500"), target("b", "status-503")))
	_, _, err = sc.ask("down")
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 502 || apiErr.Code != "upstream_error" {
		t.Fatalf("every target down: %v", err)
	}
	// A stream that fails before its first byte falls back unseen.
	if text, err := sc.streamText("fb@1"); err != nil || text != "from ok-b " {
		t.Fatalf("streamed %q %v", text, err)
	}

	rows := sc.rows(t, 4)
	first := rows[3]
	if first.Config != "fb" || first.ConfigVersion != 1 || first.Target != "targets[1]" || first.Provider != "b" || len(first.Attempts) != 2 ||
		first.Attempts[0].Status != 503 || first.Attempts[0].Provider != "a" || first.Attempts[0].Model != "status-503" ||
		!strings.Contains(first.Attempts[0].Error, "on purpose") || first.Attempts[1].Status != 200 {
		t.Fatalf("recorded %+v", first)
	}
	if refused := rows[2]; refused.Status != 400 || refused.ConfigVersion != 2 || len(refused.Attempts) != 1 {
		t.Fatalf("recorded %+v", refused)
	}
	if down := rows[1]; down.Status != 502 || len(down.Attempts) != 2 {
		t.Fatalf("recorded %+v", down)
	}
}

func TestE2E_RetriesBackOffAndHonourRetryAfterWithinTheTimeout(t *testing.T) {
	sc := newRoutingScenario(t)
	sc.publish("retry", map[string]any{"provider": "a", "override_params": map[string]any{"model": "flaky-2-503"},
		"retry": map[string]any{"attempts": 3}})
	text, resp, err := sc.ask("retry")
	if err != nil || text != "from flaky-2-503" || resp.Header.Get("x-gatehouse-retries") != "2" || sc.up.count("flaky-2-503") != 3 {
		t.Fatalf("answer %q %v, retries %s, calls %d", text, err, resp.Header.Get("x-gatehouse-retries"), sc.up.count("flaky-2-503"))
	}
	// Full jitter: two retries wait at most 250 ms and 500 ms.
	start := time.Now()
	if _, _, err := sc.ask(`{"provider": "a", "override_params": {"model": "flaky-2-500"}, "retry": {"attempts": 2}}`); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Fatalf("two retries took %v", took)
	}
	// Retry-After: 1 is waited for...
	start = time.Now()
	if _, _, err := sc.ask(`{"provider": "a", "override_params": {"model": "flaky-1-429"}, "retry": {"attempts": 1}}`); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(start); took < 900*time.Millisecond {
		t.Fatalf("Retry-After: 1 was not honoured: %v", took)
	}
	// ...but never past the request's timeout.
	start = time.Now()
	_, _, err = sc.ask(`{"provider": "a", "override_params": {"model": "flaky-5-429"}, "retry": {"attempts": 3}, "request_timeout": 400}`)
	var apiErr *openai.Error
	if took := time.Since(start); !errors.As(err, &apiErr) || took > 900*time.Millisecond {
		t.Fatalf("a 400 ms request took %v: %v", took, err)
	}
	// A status not listed is not retried.
	_, _, err = sc.ask(`{"provider": "a", "override_params": {"model": "flaky-1-500"}, "retry": {"attempts": 3, "on_status_codes": [503]}}`)
	if !errors.As(err, &apiErr) || sc.up.count("flaky-1-500") != 1 {
		t.Fatalf("an unlisted status was retried: %v, %d calls", err, sc.up.count("flaky-1-500"))
	}
	rows := sc.rows(t, 5)
	if r := rows[4]; r.Retries != 2 || len(r.Attempts) != 3 || r.Attempts[0].Retry || !r.Attempts[1].Retry || r.Attempts[2].Status != 200 {
		t.Fatalf("recorded %+v", r)
	}
}

func TestE2E_TimeoutsAbandonATargetForTheNext(t *testing.T) {
	sc := newRoutingScenario(t)
	start := time.Now()
	text, _, err := sc.ask(`{"strategy": {"mode": "fallback"}, "targets": [` +
		`{"provider": "a", "override_params": {"model": "slow-5000"}, "request_timeout": 300},` +
		`{"provider": "b", "override_params": {"model": "ok-b"}}]}`)
	if err != nil || text != "from ok-b" || time.Since(start) > 3*time.Second {
		t.Fatalf("answer %q %v after %v", text, err, time.Since(start))
	}
	sc.publish("first-token", map[string]any{"strategy": map[string]any{"mode": "fallback"}, "targets": []any{
		target("a", "slow-5000", map[string]any{"first_token_timeout": 300}), target("b", "ok-b")}})
	if text, err := sc.streamText("first-token"); err != nil || text != "from ok-b " {
		t.Fatalf("streamed %q %v", text, err)
	}
	// Once bytes reached the client, a stream that goes quiet ends with an
	// error, never a clean end.
	sc.publish("quiet", target("a", "silent-5000", map[string]any{"idle_timeout": 300}))
	if text, err := sc.streamText("quiet"); err == nil || text != "from " {
		t.Fatalf("a quiet stream ended with %q %v", text, err)
	}
	rows := sc.rows(t, 3)
	if r := rows[2]; len(r.Attempts) != 2 || r.Attempts[0].Status != 0 || !strings.Contains(r.Attempts[0].Error, "timeout") {
		t.Fatalf("recorded %+v", r)
	}
	if r := rows[0]; r.Status != 502 {
		t.Fatalf("the quiet stream was recorded as %+v", r)
	}
}

func TestE2E_LoadbalanceConditionalAndNestedTargets(t *testing.T) {
	sc := newRoutingScenario(t)
	sc.publish("canary", strategy("loadbalance", target("a", "ok-a", map[string]any{"weight": 3}), target("b", "ok-b", map[string]any{"weight": 1})))
	const n = 400
	for i := 0; i < n; i++ {
		if _, _, err := sc.ask("canary"); err != nil {
			t.Fatal(err)
		}
	}
	if share := float64(sc.up.count("ok-a")) / n; share < 0.65 || share > 0.85 {
		t.Fatalf("a 3:1 weighting sent %.0f%% to a", 100*share)
	}

	sc.publish("tiers", map[string]any{
		"strategy": map[string]any{"mode": "conditional", "conditions": []any{
			map[string]any{"query": map[string]any{"metadata.tier": map[string]any{"$eq": "pro"}}, "then": "big"},
			map[string]any{"query": map[string]any{"params.max_tokens": map[string]any{"$gt": 1000}}, "then": "big"}},
			"default": "small"},
		"targets": []any{target("a", "ok-big", map[string]any{"name": "big"}), target("b", "ok-small", map[string]any{"name": "small"})}})
	for _, c := range []struct {
		opts []option.RequestOption
		want string
	}{
		{[]option.RequestOption{option.WithHeader("x-gatehouse-metadata", `{"tier":"pro"}`)}, "from ok-big"},
		{[]option.RequestOption{option.WithHeader("x-gatehouse-metadata", `{"tier":"free"}`)}, "from ok-small"},
		{[]option.RequestOption{option.WithJSONSet("max_tokens", 2000)}, "from ok-big"},
		{nil, "from ok-small"},
	} {
		if text, _, err := sc.ask("tiers", c.opts...); err != nil || text != c.want {
			t.Fatalf("got %q %v, want %q", text, err, c.want)
		}
	}

	// A fallback nested in a loadbalance: the pool that is chosen falls back within itself.
	sc.publish("nested", strategy("loadbalance",
		strategy("fallback", target("a", "status-500"), target("b", "ok-nested")),
	))
	if text, _, err := sc.ask("nested"); err != nil || text != "from ok-nested" {
		t.Fatalf("nested: %q %v", text, err)
	}
}

func TestE2E_TheConfigComesFromTheHeaderOrElseTheKey(t *testing.T) {
	sc := newRoutingScenario(t)
	sc.publish("main", target("a", "ok-v1"))
	sc.publish("main", target("a", "ok-v2"))
	for header, want := range map[string]string{"main": "from ok-v2", "main@1": "from ok-v1", `{"provider": "b", "override_params": {"model": "ok-inline"}}`: "from ok-inline"} {
		if text, _, err := sc.ask(header); err != nil || text != want {
			t.Fatalf("%s: %q %v", header, text, err)
		}
	}
	var apiErr *openai.Error
	for header, param := range map[string]string{"nope": "x-gatehouse-config", "main@9": "x-gatehouse-config", "main@x": "x-gatehouse-config",
		`{"provider": "a", "retry": {"attempts": 50}}`: "x-gatehouse-config", `{"provider": "ghost"}`: "x-gatehouse-config"} {
		_, _, err := sc.ask(header)
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != param || apiErr.Type != "invalid_request_error" {
			t.Fatalf("%s: %v", header, err)
		}
	}
	if _, _, err := sc.ask(`{"provider": "a", "retry": {"attempts": 50}}`); !errors.As(err, &apiErr) || !strings.Contains(apiErr.Message, "retry.attempts") {
		t.Fatalf("an invalid inline config does not name the field: %v", err)
	}

	sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+sc.key.ID, sc.admin, map[string]any{"config": "main"}, nil)
	eventually(t, 5*time.Second, func() error {
		text, _, err := sc.ask("")
		if err != nil || text != "from ok-v2" {
			return fmt.Errorf("the key's config: %q %v", text, err)
		}
		return nil
	})
	if text, _, err := sc.ask("main@1"); err != nil || text != "from ok-v1" {
		t.Fatalf("the header over the key: %q %v", text, err)
	}
	// A model the key may not use is not called through a config either.
	sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+sc.key.ID, sc.admin, map[string]any{"models": []string{"b/*"}}, nil)
	eventually(t, 5*time.Second, func() error {
		_, _, err := sc.ask("main")
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 403 {
			return fmt.Errorf("a config to a model the key may not use: %v", err)
		}
		return nil
	})
}

func TestE2E_CircuitBreakerSkipsAFailingTargetAndATrialClosesIt(t *testing.T) {
	sc := newRoutingScenario(t)
	breaker := map[string]any{"circuit_breaker": map[string]any{"failure_threshold": 2, "cooldown_seconds": 1}}
	sc.publish("cb", strategy("fallback", target("a", "flaky-2-503", breaker), target("b", "ok-b")))
	sc.publish("only", target("a", "flaky-2-503", breaker))
	for i := 0; i < 3; i++ {
		if text, _, err := sc.ask("cb"); err != nil || text != "from ok-b" {
			t.Fatalf("request %d: %q %v", i, text, err)
		}
	}
	if n := sc.up.count("flaky-2-503"); n != 2 {
		t.Fatalf("the failing target was called %d times, want 2 (then skipped)", n)
	}
	// The opening is on the record, for alerts: provider.unhealthy, once.
	eventually(t, 5*time.Second, func() error {
		n := 0
		for _, e := range sc.s.feed("acme", sc.admin) {
			if e.Type == "provider.unhealthy" {
				if !strings.Contains(string(e.Payload), `"provider":"a"`) || !strings.Contains(string(e.Payload), `"model":"flaky-2-503"`) {
					return fmt.Errorf("provider.unhealthy says %s", e.Payload)
				}
				n++
			}
		}
		if n != 1 {
			return fmt.Errorf("%d provider.unhealthy events", n)
		}
		return nil
	})
	type health struct {
		Provider struct{ Name string }
		Circuits []struct {
			Model               string
			State               string
			ConsecutiveFailures int        `json:"consecutive_failures"`
			RetryAt             *time.Time `json:"retry_at"`
		}
	}
	var h health
	sc.s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/providers/a/health", sc.admin, nil, &h)
	if h.Provider.Name != "a" || len(h.Circuits) != 1 || h.Circuits[0].State != "open" || h.Circuits[0].ConsecutiveFailures != 2 || h.Circuits[0].RetryAt == nil {
		t.Fatalf("health %+v", h)
	}
	// The state is in the metrics too.
	metrics := func() string {
		resp, err := http.Get(sc.s.URL + "/metrics")
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if m := metrics(); !strings.Contains(m, `gatehouse_circuit_breakers{model="flaky-2-503",provider="a",state="open",tenant="acme"} 1`) ||
		!strings.Contains(m, "go_goroutines") {
		t.Fatalf("metrics:\n%s", m)
	}
	// Every target open: 503 at once, nobody called.
	_, _, err := sc.ask("only")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 503 || apiErr.Code != "upstream_error" || sc.up.count("flaky-2-503") != 2 {
		t.Fatalf("all open: %v, %d calls", err, sc.up.count("flaky-2-503"))
	}
	// After the cooldown one trial goes through; it succeeds and closes the circuit.
	time.Sleep(1100 * time.Millisecond)
	if text, _, err := sc.ask("only"); err != nil || text != "from flaky-2-503" {
		t.Fatalf("the trial: %q %v", text, err)
	}
	sc.s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/providers/a/health", sc.admin, nil, &h)
	if len(h.Circuits) != 0 { // closed with no failures on record: as if never tripped
		t.Fatalf("after the trial %+v", h)
	}
	sc.s.mustAdmin(404, "GET", "/admin/v1/tenants/acme/providers/ghost/health", sc.admin, nil, nil)
	rows := sc.rows(t, 5)
	if skipped := rows[2]; len(skipped.Attempts) != 1 || skipped.Attempts[0].Provider != "b" {
		t.Fatalf("an open circuit's target was attempted: %+v", skipped)
	}
	if refused := rows[1]; refused.Status != 503 || refused.Code != "upstream_error" {
		t.Fatalf("all open was recorded as %+v", refused)
	}
}

func TestE2E_TheExactCacheAnswersRepeatsWithinItsTenantOnly(t *testing.T) {
	t.Run("postgres", func(t *testing.T) { testExactCache(t) })
	t.Run("redis", func(t *testing.T) {
		url := os.Getenv("GATEHOUSE_TEST_REDIS_URL")
		if url == "" {
			t.Skip("GATEHOUSE_TEST_REDIS_URL is not set (make test sets it)")
		}
		testExactCache(t, "REDIS_URL="+url, fmt.Sprintf("GATEHOUSE_REDIS_KEY_PREFIX=test-%d:", time.Now().UnixNano()))
	})
}

func testExactCache(t *testing.T, env ...string) {
	in := newInstallation(t)
	up := newFlakyUpstream(t)
	s := in.start(env...)
	admin := in.token("--role", "platform_admin")
	keys := map[string]keyOut{}
	for _, tenant := range []string{"acme", "globex"} {
		s.mustAdmin(201, "POST", "/admin/v1/tenants", admin, map[string]string{"id": tenant, "name": tenant}, nil)
		s.mustAdmin(201, "POST", "/admin/v1/tenants/"+tenant+"/providers", admin,
			map[string]string{"name": "a", "kind": "openai-compatible", "base_url": up.URL + "/v1"}, nil)
		s.mustAdmin(201, "POST", "/admin/v1/tenants/"+tenant+"/configs", admin, map[string]any{"name": "cached",
			"config": map[string]any{"provider": "a", "override_params": map[string]any{"model": "ok-cached"}, "cache": map[string]any{"mode": "simple", "max_age": 60}}}, nil)
		s.mustAdmin(201, "POST", "/admin/v1/tenants/"+tenant+"/configs", admin, map[string]any{"name": "failing",
			"config": map[string]any{"provider": "a", "override_params": map[string]any{"model": "status-500"}, "cache": map[string]any{"mode": "simple"}}}, nil)
		var k keyOut
		s.mustAdmin(201, "POST", "/admin/v1/tenants/"+tenant+"/keys", admin, map[string]string{"name": "app"}, &k)
		keys[tenant] = k
	}
	ask := func(tenant, config, prompt string, opts ...option.RequestOption) (string, string, error) {
		var resp *http.Response
		client := sdk(s, keys[tenant].Secret)
		opts = append(opts, option.WithHeader("x-gatehouse-config", config), option.WithResponseInto(&resp))
		c, err := client.Chat.Completions.New(context.Background(), chat("any", prompt), opts...)
		if err != nil {
			return "", "", err
		}
		return c.Choices[0].Message.Content, resp.Header.Get("x-gatehouse-cache"), nil
	}
	// The cache is written off the request path: a repeat may come before the entry.
	askUntilHit := func(tenant, prompt, want string) {
		t.Helper()
		eventually(t, 5*time.Second, func() error {
			text, cache, err := ask(tenant, "cached", prompt)
			if err != nil || text != want || cache != "HIT" {
				return fmt.Errorf("%q %s %v", text, cache, err)
			}
			return nil
		})
	}

	if text, cache, err := ask("acme", "cached", "hello"); err != nil || text != "from ok-cached" || cache != "MISS" {
		t.Fatalf("first: %q %s %v", text, cache, err)
	}
	askUntilHit("acme", "hello", "from ok-cached")
	calls := up.count("ok-cached")
	if _, cache, _ := ask("acme", "cached", "hello"); cache != "HIT" || up.count("ok-cached") != calls {
		t.Fatalf("a repeat after a hit: %s, %d calls", cache, up.count("ok-cached"))
	}
	// Another question is another entry; another tenant never sees acme's.
	if _, cache, _ := ask("acme", "cached", "something else"); cache != "MISS" {
		t.Fatalf("another question: %s", cache)
	}
	if _, cache, _ := ask("globex", "cached", "hello"); cache != "MISS" {
		t.Fatalf("another tenant: %s", cache)
	}
	// no-store bypasses the cache; no-cache asks again and refreshes it.
	if _, cache, _ := ask("acme", "cached", "hello", option.WithHeader("x-gatehouse-cache", "no-store")); cache != "BYPASS" {
		t.Fatalf("no-store: %s", cache)
	}
	if _, cache, _ := ask("acme", "cached", "hello", option.WithHeader("x-gatehouse-cache", "no-cache")); cache != "MISS" {
		t.Fatalf("no-cache: %s", cache)
	}
	if n := up.count("ok-cached"); n != calls+4 {
		t.Fatalf("the upstream was called %d times, want %d", n, calls+4)
	}
	_, _, err := ask("acme", "cached", "hello", option.WithHeader("x-gatehouse-cache", "sometimes"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "x-gatehouse-cache" {
		t.Fatalf("a bad x-gatehouse-cache: %v", err)
	}

	// A hit replays as a stream when the request streams...
	client := sdk(s, keys["acme"].Secret)
	st := client.Chat.Completions.NewStreaming(context.Background(), chat("any", "hello"), option.WithHeader("x-gatehouse-config", "cached"))
	var text strings.Builder
	for st.Next() {
		if c := st.Current(); len(c.Choices) > 0 {
			text.WriteString(c.Choices[0].Delta.Content)
		}
	}
	if st.Err() != nil || text.String() != "from ok-cached" {
		t.Fatalf("replayed stream %q %v", text.String(), st.Err())
	}
	// ...and a streamed answer fills the cache for the next request.
	st = client.Chat.Completions.NewStreaming(context.Background(), chat("any", "streamed first"), option.WithHeader("x-gatehouse-config", "cached"))
	for st.Next() {
	}
	if st.Err() != nil {
		t.Fatal(st.Err())
	}
	time.Sleep(500 * time.Millisecond) // the entry is written once the stream has ended
	if text, cache, err := ask("acme", "cached", "streamed first"); err != nil || cache != "HIT" || text != "from ok-cached " {
		t.Fatalf("after a stream: %q %s %v", text, cache, err) // the stream's words, whole
	}

	// An error is never cached.
	for i := 0; i < 2; i++ {
		if _, _, err := ask("acme", "failing", "hello"); err == nil {
			t.Fatal("a failing upstream answered")
		}
	}
	time.Sleep(200 * time.Millisecond)
	if _, _, err := ask("acme", "failing", "hello"); err == nil || up.count("status-500") != 3 {
		t.Fatalf("an error answer was cached: %d calls", up.count("status-500"))
	}

	// A hit is recorded at no cost.
	eventually(t, 10*time.Second, func() error {
		var page struct {
			Requests []struct {
				Cache   string  `json:"cache"`
				CostUSD float64 `json:"cost_usd"`
				Priced  bool    `json:"priced"`
			}
		}
		s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/requests", admin, nil, &page)
		hits := 0
		for _, r := range page.Requests {
			if r.Cache == "hit" {
				hits++
				if r.CostUSD != 0 || !r.Priced {
					return fmt.Errorf("a hit recorded as %+v", r)
				}
			}
		}
		if hits < 3 {
			return fmt.Errorf("%d hits recorded", hits)
		}
		return nil
	})
}

func TestE2E_AStreamCutMidAnswerEndsWithAnErrorAndIsRecordedAsInterrupted(t *testing.T) {
	sc := newRoutingScenario(t)
	// The cut comes after bytes reached the client: b is not asked, and
	// the client gets an error, not a clean end.
	sc.publish("cut", strategy("fallback", target("a", "cut-3"), target("b", "ok-b")))
	text, err := sc.streamText("cut")
	if err == nil || text != "w0 w1 w2 " || sc.up.count("ok-b") != 0 {
		t.Fatalf("streamed %q, %v; b called %d times", text, err, sc.up.count("ok-b"))
	}
	r := sc.rows(t, 1)[0]
	// 9 bytes of text streamed: counted as 3 tokens (three bytes a token at most).
	if r.Status != 502 || r.Code != "stream_interrupted" || r.CompletionTokens != 3 {
		t.Fatalf("recorded %+v", r)
	}
}

func TestE2E_OnStreamCutContinueHasTheNextTargetGoOnSeamlessly(t *testing.T) {
	sc := newRoutingScenario(t)
	sc.publish("goes-on", map[string]any{"strategy": map[string]any{"mode": "fallback"}, "on_stream_cut": "continue",
		"targets": []any{target("a", "cut-3"), target("b", "ok-b")}})
	client := sdk(sc.s, sc.key.Secret)
	p := chat("routed", "hello")
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	st := client.Chat.Completions.NewStreaming(context.Background(), p, option.WithHeader("x-gatehouse-config", "goes-on"))
	var acc openai.ChatCompletionAccumulator
	for st.Next() {
		c := st.Current()
		if !acc.AddChunk(c) {
			t.Fatalf("the SDK's accumulator refused chunk %s", c.RawJSON())
		}
		if c.Model != "cut-3" || c.ID != "chatcmpl-cut-3" || c.Created != 5 {
			t.Fatalf("a chunk of another stream: %s", c.RawJSON())
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if got := acc.Choices[0].Message.Content; got != "w0 w1 w2 from ok-b " {
		t.Fatalf("streamed %q", got)
	}
	var asked struct {
		Messages []struct{ Role, Content string }
	}
	json.Unmarshal(sc.up.lastBody("ok-b"), &asked)
	if n := len(asked.Messages); n != 3 || asked.Messages[1].Role != "assistant" || asked.Messages[1].Content != "w0 w1 w2 " ||
		asked.Messages[2].Role != "user" || !strings.Contains(asked.Messages[2].Content, "Continue") {
		t.Fatalf("b was asked %+v", asked.Messages)
	}
	r := sc.rows(t, 1)[0]
	if r.Status != 200 || r.Code != "" || r.Provider != "b" || len(r.Attempts) != 2 || r.Attempts[1].Provider != "b" {
		t.Fatalf("recorded %+v", r)
	}
	// b's 3 completion tokens and the 3 the cut stream delivered.
	if r.CompletionTokens != 6 {
		t.Fatalf("completion tokens %d, want 6", r.CompletionTokens)
	}
}

func TestE2E_ABodyCutInHalfFallsBackAndAClientThatLeavesCancelsTheUpstream(t *testing.T) {
	sc := newRoutingScenario(t)
	sc.publish("halves", strategy("fallback", target("a", "half-a"), target("b", "ok-b")))
	if text, _, err := sc.ask("halves"); err != nil || text != "from ok-b" {
		t.Fatalf("after half a body: %q %v", text, err)
	}
	sc.publish("half", target("a", "half-a"))
	_, _, err := sc.ask("half")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 502 {
		t.Fatalf("half a body and no fallback: %v", err)
	}

	sc.publish("slow", strategy("fallback", target("a", "slow-10000"), target("b", "ok-b")))
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	client := sdk(sc.s, sc.key.Secret)
	if _, err := client.Chat.Completions.New(ctx, chat("routed", "hello"), option.WithHeader("x-gatehouse-config", "slow")); err == nil {
		t.Fatal("a request that outlived its client answered")
	}
	eventually(t, 3*time.Second, func() error {
		if sc.up.abandoned("slow-10000") != 1 {
			return errors.New("the upstream call goes on after the client left")
		}
		return nil
	})
	if sc.up.count("ok-b") != 1 {
		t.Fatalf("a client that left had its request fall back: b called %d times", sc.up.count("ok-b"))
	}
	rows := sc.rows(t, 3)
	if r := rows[0]; r.Status != 499 || r.Code != "client_closed_request" {
		t.Fatalf("recorded %+v", r)
	}
}

func TestE2E_LoadbalanceSkipsAnOpenCircuitAndPoolsFallBackWithin(t *testing.T) {
	sc := newRoutingScenario(t)
	breaker := map[string]any{"circuit_breaker": map[string]any{"failure_threshold": 1, "cooldown_seconds": 60}}
	// Trip a's circuit for status-503 once, through a config of its own.
	sc.publish("trip", target("a", "status-503", breaker))
	sc.ask("trip")
	sc.publish("lb", strategy("loadbalance", target("a", "status-503", breaker, map[string]any{"weight": 1000}), target("b", "ok-b", map[string]any{"weight": 1})))
	for i := 0; i < 20; i++ {
		if text, _, err := sc.ask("lb"); err != nil || text != "from ok-b" {
			t.Fatalf("request %d: %q %v", i, text, err)
		}
	}
	if n := sc.up.count("status-503"); n != 1 {
		t.Fatalf("the open target was called %d times", n)
	}

	// Two pools of fallbacks, loadbalanced: whichever is chosen falls back within itself.
	sc.publish("pools", strategy("loadbalance",
		strategy("fallback", target("a", "status-500"), target("b", "ok-east")),
		strategy("fallback", target("a", "status-502"), target("b", "ok-west")),
	))
	seen := map[string]int{}
	for i := 0; i < 40; i++ {
		text, _, err := sc.ask("pools")
		if err != nil {
			t.Fatal(err)
		}
		seen[text]++
	}
	if seen["from ok-east"] == 0 || seen["from ok-west"] == 0 || len(seen) != 2 {
		t.Fatalf("answers %v", seen)
	}

	// A stream that opens and ends with no answer is no answer: the next target gives one.
	sc.publish("empty", strategy("fallback", target("a", "empty-a"), target("b", "ok-b")))
	if text, err := sc.streamText("empty"); err != nil || text != "from ok-b " {
		t.Fatalf("after an empty stream: %q %v", text, err)
	}
}

func TestE2E_RoutingWorksForTheAnthropicDialectToo(t *testing.T) {
	sc := newRoutingScenario(t)
	sc.publish("fb", strategy("fallback", target("a", "status-503"), target("b", "ok-b")))
	sc.publish("cut", target("a", "cut-2"))
	claude := anthropicSDK(sc.s, sc.key.Secret)
	msg, err := claude.Messages.New(context.Background(), ask("routed", "hello"), anthropicopt.WithHeader("x-gatehouse-config", "fb"))
	if err != nil || len(msg.Content) != 1 || msg.Content[0].Text != "from ok-b" {
		t.Fatalf("through /v1/messages: %+v %v", msg, err)
	}
	st := claude.Messages.NewStreaming(context.Background(), ask("routed", "hello"), anthropicopt.WithHeader("x-gatehouse-config", "cut"))
	var text strings.Builder
	for st.Next() {
		if ev := st.Current(); ev.Type == "content_block_delta" {
			text.WriteString(ev.Delta.Text)
		}
	}
	if st.Err() == nil || text.String() != "w0 w1 " {
		t.Fatalf("a cut stream in Anthropic's dialect: %q %v", text.String(), st.Err())
	}
	if r := sc.rows(t, 2)[0]; r.Code != "stream_interrupted" || r.Config != "cut" {
		t.Fatalf("recorded %+v", r)
	}
}
