package test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicopt "github.com/anthropics/anthropic-sdk-go/option"
	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"
)

func TestE2E_GuardrailsArePublishedInVersionsAndValidated(t *testing.T) {
	sc := newTenantScenario(t)
	const path = "/admin/v1/tenants/acme/guardrails"
	type ref struct {
		ID         string          `json:"id"`
		Name       string          `json:"name"`
		Version    int             `json:"version"`
		Definition json.RawMessage `json:"definition"`
	}
	var v1, v2, got ref
	sc.s.mustAdmin(201, "POST", path, sc.admin, map[string]any{"name": "no-pii", "checks": []any{map[string]any{"type": "pii", "entities": []string{"email"}}}, "action": "redact"}, &v1)
	sc.s.mustAdmin(201, "POST", path, sc.admin, map[string]any{"name": "no-pii", "checks": []any{map[string]any{"type": "pii"}}, "action": "block", "on_error": "allow"}, &v2)
	if v1.Version != 1 || v2.Version != 2 || v1.ID != v2.ID || v1.Name != "no-pii" {
		t.Fatalf("published %+v then %+v", v1, v2)
	}
	sc.s.mustAdmin(200, "GET", path+"/no-pii", sc.admin, nil, &got)
	if got.Version != 2 || !strings.Contains(string(got.Definition), `"on_error":"allow"`) {
		t.Fatalf("latest %+v", got)
	}
	sc.s.mustAdmin(200, "GET", path+"/no-pii?version=1", sc.admin, nil, &got)
	if got.Version != 1 || !strings.Contains(string(got.Definition), `"redact"`) {
		t.Fatalf("version 1 %+v", got)
	}
	sc.s.mustAdmin(404, "GET", path+"/nope", sc.admin, nil, nil)
	var list struct{ Guardrails []ref }
	sc.s.mustAdmin(200, "GET", path, sc.admin, nil, &list)
	if len(list.Guardrails) != 1 || list.Guardrails[0].Version != 2 {
		t.Fatalf("list %+v", list)
	}
	for body, want := range map[string]string{
		`{"name": "x", "checks": [{"type": "toxicity"}]}`:                                    "checks[0].type",
		`{"name": "x", "checks": [{"type": "regex", "pattern": "(unclosed"}]}`:               "checks[0].pattern",
		`{"name": "x", "checks": [{"type": "json_schema", "schema": {"type": "nonsense"}}]}`: "checks[0].schema",
		`{"name": "x", "checks": [{"type": "pii"}], "action": "shout"}`:                      "action",
		`{"checks": [{"type": "pii"}]}`:                                                      "name is required",
		`{"name": "x y", "checks": [{"type": "pii"}]}`:                                       "name",
	} {
		var p struct{ Detail string }
		sc.s.mustAdmin(400, "POST", path, sc.admin, json.RawMessage(body), &p)
		if !strings.Contains(p.Detail, want) {
			t.Errorf("%s: detail %q, want it to name %s", body, p.Detail, want)
		}
	}
}

func TestE2E_InputGuardrailsOfAKeyRedactBlockAndFlag(t *testing.T) {
	sc := newTenantScenario(t)
	hooks := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var call struct{ Text string }
		json.NewDecoder(r.Body).Decode(&call)
		w.Header().Set("Content-Type", "application/json")
		if strings.Contains(call.Text, "forbidden topic") {
			fmt.Fprint(w, `{"verdict": false, "reason": "off-topic"}`)
			return
		}
		fmt.Fprint(w, `{"verdict": true}`)
	}))
	defer hooks.Close()
	const path = "/admin/v1/tenants/acme/guardrails"
	for name, def := range map[string]any{
		"no-pii":     map[string]any{"checks": []any{map[string]any{"type": "pii"}}, "action": "redact"},
		"no-secrets": map[string]any{"checks": []any{map[string]any{"type": "secrets"}}},
		"fruit":      map[string]any{"checks": []any{map[string]any{"type": "words", "words": []string{"banana"}}}, "action": "flag"},
		"topics":     map[string]any{"checks": []any{map[string]any{"type": "webhook", "url": hooks.URL, "timeout_ms": 2000}}},
		"dead":       map[string]any{"checks": []any{map[string]any{"type": "webhook", "url": "http://127.0.0.1:9/", "timeout_ms": 500}}},
		"dead-ok":    map[string]any{"checks": []any{map[string]any{"type": "webhook", "url": "http://127.0.0.1:9/", "timeout_ms": 500}}, "on_error": "allow"},
	} {
		body := def.(map[string]any)
		body["name"] = name
		sc.s.mustAdmin(201, "POST", path, sc.admin, body, nil)
	}
	patch := func(input ...string) {
		sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+sc.key.ID, sc.admin, map[string]any{"guardrails": map[string]any{"input": input}}, nil)
	}
	sc.s.mustAdmin(400, "PATCH", "/admin/v1/tenants/acme/keys/"+sc.key.ID, sc.admin, map[string]any{"guardrails": map[string]any{"input": []string{"ghost"}}}, nil)
	patch("no-pii", "no-secrets", "fruit", "topics")
	client := sdk(sc.s, sc.key.Secret)
	ctx := context.Background()
	ask := func(prompt string) (*http.Response, error) {
		var resp *http.Response
		_, err := client.Chat.Completions.New(ctx, chat("up/gpt-4o-mini", prompt), option.WithResponseInto(&resp))
		return resp, err
	}
	var resp *http.Response
	var err error
	eventually(t, 5*time.Second, func() error {
		resp, err = ask("Mail jane.doe@example.com, card 4111 1111 1111 1111.")
		if err != nil {
			return err
		}
		if got := lastUserContent(sc.up.lastBody()); got != "Mail [REDACTED:EMAIL], card [REDACTED:CREDIT_CARD]." {
			return fmt.Errorf("the upstream got %q", got)
		}
		return nil
	})
	calls := len(sc.up.bodies)
	_, err = ask("my key is AKIAIOSFODNN7EXAMPLE")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "guardrail_blocked" || apiErr.Response.Header.Get("x-gatehouse-verdict") == "" ||
		!strings.Contains(apiErr.Message, apiErr.Response.Header.Get("x-gatehouse-verdict")) || len(sc.up.bodies) != calls {
		t.Fatalf("a secret in the input: %v (upstream called %d times)", err, len(sc.up.bodies)-calls)
	}
	if resp, err = ask("I like banana bread"); err != nil || resp.Header.Get("x-gatehouse-guardrails") != "flagged" {
		t.Fatalf("flag: %v %v", err, resp.Header)
	}
	if _, err = ask("let us discuss the forbidden topic"); !errors.As(err, &apiErr) || apiErr.Code != "guardrail_blocked" {
		t.Fatalf("a webhook's failing verdict: %v", err)
	}
	// Anthropic's dialect is guarded the same.
	claude := anthropicSDK(sc.s, sc.key.Secret)
	if _, err := claude.Messages.New(ctx, ask2("up/gpt-4o-mini", "write to taro@example.jp")); err != nil {
		t.Fatal(err)
	}
	if got := lastUserContent(sc.up.lastBody()); got != "write to [REDACTED:EMAIL]" {
		t.Fatalf("through /v1/messages the upstream got %q", got)
	}
	calls = len(sc.up.bodies)
	var claudeErr *anthropic.Error
	if _, err := claude.Messages.New(ctx, ask2("up/gpt-4o-mini", "my key is AKIAIOSFODNN7EXAMPLE")); !errors.As(err, &claudeErr) ||
		claudeErr.StatusCode != 400 || !strings.Contains(claudeErr.Error(), "blocked by guardrail") || len(sc.up.bodies) != calls {
		t.Fatalf("a secret through /v1/messages: %v", err)
	}
	var claudeResp *http.Response
	if _, err := claude.Messages.New(ctx, ask2("up/gpt-4o-mini", "banana split"), anthropicopt.WithResponseInto(&claudeResp)); err != nil ||
		claudeResp.Header.Get("x-gatehouse-guardrails") != "flagged" {
		t.Fatalf("a flag through /v1/messages: %v", err)
	}
	// A streamed request's input is guarded the same, before any upstream sees it.
	st := client.Chat.Completions.NewStreaming(ctx, chat("up/gpt-4o-mini", "Call +44 20 7946 0958 or mail jane.doe@example.com"))
	for st.Next() {
	}
	if err := st.Err(); err != nil || lastUserContent(sc.up.lastBody()) != "Call [REDACTED:PHONE] or mail [REDACTED:EMAIL]" {
		t.Fatalf("a streamed request: %v, the upstream got %q", err, lastUserContent(sc.up.lastBody()))
	}
	calls = len(sc.up.bodies)
	st = client.Chat.Completions.NewStreaming(ctx, chat("up/gpt-4o-mini", "my key is AKIAIOSFODNN7EXAMPLE"))
	for st.Next() {
	}
	if err := st.Err(); !errors.As(err, &apiErr) || apiErr.Code != "guardrail_blocked" || len(sc.up.bodies) != calls {
		t.Fatalf("a streamed request with a secret: %v", err)
	}
	// An unreachable webhook blocks, unless its guardrail allows on error.
	patch("dead")
	eventually(t, 5*time.Second, func() error {
		if _, err := ask("hello"); !errors.As(err, &apiErr) || apiErr.Code != "guardrail_blocked" {
			return fmt.Errorf("an unreachable webhook: %v", err)
		}
		return nil
	})
	patch("dead-ok")
	eventually(t, 5*time.Second, func() error {
		_, err := ask("hello")
		return err
	})

	// The feed holds the verdicts, never what they found.
	eventually(t, 10*time.Second, func() error {
		verdicts := 0
		for _, e := range sc.s.feed("acme", sc.admin) {
			for _, secret := range []string{"jane.doe", "4111", "AKIAIOSFODNN7EXAMPLE", "taro@", "forbidden topic"} {
				if strings.Contains(string(e.Payload), secret) {
					t.Fatalf("%s event holds %q: %s", e.Type, secret, e.Payload)
				}
			}
			if e.Type == "guardrail.verdict" {
				verdicts++
			}
		}
		if verdicts < 15 {
			return fmt.Errorf("%d verdicts", verdicts)
		}
		return nil
	})
}

func ask2(model, prompt string) anthropic.MessageNewParams { return ask(model, prompt) }

// lastUserContent is the text of the last message of a chat request body.
func lastUserContent(body map[string]any) string {
	msgs, _ := body["messages"].([]any)
	if len(msgs) == 0 {
		return ""
	}
	m, _ := msgs[len(msgs)-1].(map[string]any)
	switch c := m["content"].(type) {
	case string:
		return c
	case []any:
		var b strings.Builder
		for _, p := range c {
			if pm, ok := p.(map[string]any); ok {
				s, _ := pm["text"].(string)
				b.WriteString(s)
			}
		}
		return b.String()
	}
	return ""
}

// outputGuardrailsScenario publishes scrub (redact pii and secrets),
// no-secrets (block) and watch (flag e-mail addresses); patch sets the
// key's output guardrails.
func outputGuardrailsScenario(t *testing.T) (routingScenario, func(output ...string)) {
	sc := newRoutingScenario(t)
	const path = "/admin/v1/tenants/acme/guardrails"
	sc.s.mustAdmin(201, "POST", path, sc.admin, map[string]any{"name": "scrub", "checks": []any{map[string]any{"type": "pii"}, map[string]any{"type": "secrets"}}, "action": "redact"}, nil)
	sc.s.mustAdmin(201, "POST", path, sc.admin, map[string]any{"name": "no-secrets", "checks": []any{map[string]any{"type": "secrets"}}}, nil)
	sc.s.mustAdmin(201, "POST", path, sc.admin, map[string]any{"name": "watch", "checks": []any{map[string]any{"type": "pii", "entities": []string{"email"}}}, "action": "flag"}, nil)
	patch := func(output ...string) {
		sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+sc.key.ID, sc.admin, map[string]any{"guardrails": map[string]any{"output": output}}, nil)
	}
	return sc, patch
}

func TestE2E_OutputGuardrailsOfAKeyRedactBlockAndFlagWholeAnswers(t *testing.T) {
	sc, patch := outputGuardrailsScenario(t)
	client := sdk(sc.s, sc.key.Secret)
	ctx := context.Background()
	answer := func() (string, *http.Response, error) {
		var resp *http.Response
		c, err := client.Chat.Completions.New(ctx, chat("a/leaky-1", "hello"), option.WithResponseInto(&resp))
		if err != nil {
			return "", resp, err
		}
		return c.Choices[0].Message.Content, resp, nil
	}
	patch("scrub", "watch")
	eventually(t, 5*time.Second, func() error {
		text, resp, err := answer()
		want := "Contact [REDACTED:EMAIL], pay with [REDACTED:CREDIT_CARD], deploy with [REDACTED:AWS_ACCESS_KEY]. Done."
		if err != nil || text != want || resp.Header.Get("x-gatehouse-guardrails") != "" {
			return fmt.Errorf("%q %v", text, err)
		}
		return nil
	})
	patch("watch")
	eventually(t, 5*time.Second, func() error {
		text, resp, err := answer()
		if err != nil || text != leakyAnswer || resp.Header.Get("x-gatehouse-guardrails") != "flagged" {
			return fmt.Errorf("flag: %q %v", text, err)
		}
		return nil
	})
	patch("no-secrets")
	var apiErr *openai.Error
	eventually(t, 5*time.Second, func() error {
		_, _, err := answer()
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "guardrail_blocked" || apiErr.Response.Header.Get("x-gatehouse-verdict") == "" {
			return fmt.Errorf("block: %v", err)
		}
		return nil
	})
	// A blocked answer is recorded as answered: the provider billed its tokens.
	eventually(t, 10*time.Second, func() error {
		var page struct {
			Requests []struct {
				Status           int    `json:"status"`
				Code             string `json:"code"`
				Outcome          string `json:"outcome"`
				CompletionTokens int64  `json:"completion_tokens"`
				Guardrails       []struct {
					Guardrail, Stage, Outcome, Action string
				}
			}
		}
		sc.s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/requests?status=400", sc.admin, nil, &page)
		if len(page.Requests) == 0 || page.Requests[0].Code != "guardrail_blocked" || page.Requests[0].Outcome != "completed" || page.Requests[0].CompletionTokens != 3 ||
			len(page.Requests[0].Guardrails) != 1 || page.Requests[0].Guardrails[0].Guardrail != "no-secrets" || page.Requests[0].Guardrails[0].Stage != "output" ||
			page.Requests[0].Guardrails[0].Action != "block" {
			return fmt.Errorf("recorded %+v", page.Requests)
		}
		return nil
	})
}

func TestE2E_OutputGuardrailsCheckStreamsAsTheyFlow(t *testing.T) {
	sc := newRoutingScenario(t)
	const path = "/admin/v1/tenants/acme/guardrails"
	sc.s.mustAdmin(201, "POST", path, sc.admin, map[string]any{"name": "scrub", "checks": []any{map[string]any{"type": "pii"}, map[string]any{"type": "secrets"}}, "action": "redact"}, nil)
	sc.s.mustAdmin(201, "POST", path, sc.admin, map[string]any{"name": "no-secrets", "checks": []any{map[string]any{"type": "secrets"}}}, nil)
	patch := func(output ...string) {
		sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+sc.key.ID, sc.admin, map[string]any{"guardrails": map[string]any{"output": output}}, nil)
	}
	client := sdk(sc.s, sc.key.Secret)
	stream := func() (string, error) {
		st := client.Chat.Completions.NewStreaming(context.Background(), chat("a/leaky-1", "hello"))
		var text strings.Builder
		for st.Next() {
			if c := st.Current(); len(c.Choices) > 0 {
				text.WriteString(c.Choices[0].Delta.Content)
			}
		}
		return text.String(), st.Err()
	}
	want := "Contact [REDACTED:EMAIL], pay with [REDACTED:CREDIT_CARD], deploy with [REDACTED:AWS_ACCESS_KEY]. Done."
	patch("scrub")
	eventually(t, 5*time.Second, func() error {
		text, err := stream()
		if err != nil || text != want {
			return fmt.Errorf("redacted stream %q %v", text, err)
		}
		return nil
	})
	// Through Anthropic's dialect, translated from the chat stream.
	claude := anthropicSDK(sc.s, sc.key.Secret)
	ms := claude.Messages.NewStreaming(context.Background(), ask("a/leaky-1", "hello"))
	var got strings.Builder
	for ms.Next() {
		if ev := ms.Current(); ev.Type == "content_block_delta" {
			got.WriteString(ev.Delta.Text)
		}
	}
	if ms.Err() != nil || got.String() != want {
		t.Fatalf("through /v1/messages: %q %v", got.String(), ms.Err())
	}

	// A blocking guardrail ends the stream before the key goes out.
	patch("no-secrets")
	eventually(t, 5*time.Second, func() error {
		text, err := stream()
		if err == nil || strings.Contains(text, "AKIA") || !strings.Contains(err.Error(), "guardrail_blocked") {
			return fmt.Errorf("blocked stream %q %v", text, err)
		}
		return nil
	})
}

func TestE2E_ATeamsGuardrailsRunForEveryKeyOfTheTeam(t *testing.T) {
	sc := newTenantScenario(t)
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/guardrails", sc.admin, map[string]any{"name": "no-secrets", "checks": []any{map[string]any{"type": "secrets"}}}, nil)
	var team struct {
		ID         string `json:"id"`
		Guardrails struct{ Input []string }
	}
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/teams", sc.admin, map[string]string{"name": "support"}, &team)
	sc.s.mustAdmin(400, "PATCH", "/admin/v1/tenants/acme/teams/"+team.ID, sc.admin, map[string]any{"guardrails": map[string]any{"input": []string{"ghost"}}}, nil)
	sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/teams/"+team.ID, sc.admin, map[string]any{"guardrails": map[string]any{"input": []string{"no-secrets"}}}, &team)
	if len(team.Guardrails.Input) != 1 {
		t.Fatalf("team %+v", team)
	}
	var k keyOut
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/keys", sc.admin, map[string]any{"name": "agent", "team_id": team.ID}, &k)
	client := sdk(sc.s, k.Secret)
	var apiErr *openai.Error
	eventually(t, 5*time.Second, func() error {
		_, err := client.Chat.Completions.New(context.Background(), chat("up/gpt-4o-mini", "key AKIAIOSFODNN7EXAMPLE"))
		if !errors.As(err, &apiErr) || apiErr.Code != "guardrail_blocked" {
			return fmt.Errorf("a team's guardrail: %v", err)
		}
		return nil
	})
	// The key's own guardrails add to the team's; they cannot remove them.
	sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+k.ID, sc.admin, map[string]any{"guardrails": map[string]any{"input": []string{}}}, nil)
	time.Sleep(200 * time.Millisecond)
	if _, err := client.Chat.Completions.New(context.Background(), chat("up/gpt-4o-mini", "key AKIAIOSFODNN7EXAMPLE")); !errors.As(err, &apiErr) || apiErr.Code != "guardrail_blocked" {
		t.Fatalf("a key without guardrails of its own: %v", err)
	}
}

func TestE2E_ARoutingConfigsGuardrailsAndAskingTheNextTarget(t *testing.T) {
	sc := newRoutingScenario(t)
	const path = "/admin/v1/tenants/acme/guardrails"
	sc.s.mustAdmin(201, "POST", path, sc.admin, map[string]any{"name": "no-pii", "checks": []any{map[string]any{"type": "pii", "entities": []string{"email"}}}, "action": "redact"}, nil)
	sc.s.mustAdmin(201, "POST", path, sc.admin, map[string]any{"name": "no-secrets", "checks": []any{map[string]any{"type": "secrets"}}}, nil)
	sc.s.mustAdmin(400, "POST", "/admin/v1/tenants/acme/configs", sc.admin, map[string]any{"name": "bad",
		"config": map[string]any{"provider": "a", "input_guardrails": []string{"ghost"}}}, nil)
	sc.publish("guarded", map[string]any{
		"strategy": map[string]any{"mode": "fallback"}, "input_guardrails": []string{"no-pii"}, "output_guardrails": []string{"no-secrets"},
		"on_output_guardrail_fail": "next",
		"targets":                  []any{target("a", "leaky-1"), target("b", "ok-b")}})
	client := sdk(sc.s, sc.key.Secret)
	c, err := client.Chat.Completions.New(context.Background(), chat("routed", "mail me at jane@example.com"), option.WithHeader("x-gatehouse-config", "guarded"))
	if err != nil || c.Choices[0].Message.Content != "from ok-b" {
		t.Fatalf("answer %+v %v", c, err)
	}
	var asked struct{ Messages []struct{ Content string } }
	json.Unmarshal(sc.up.lastBody("ok-b"), &asked)
	if asked.Messages[0].Content != "mail me at [REDACTED:EMAIL]" {
		t.Fatalf("b was asked %+v", asked)
	}
	r := sc.rows(t, 1)[0]
	if len(r.Attempts) != 2 || !strings.Contains(r.Attempts[0].Error, "blocked by guardrail no-secrets") || r.Provider != "b" {
		t.Fatalf("recorded %+v", r)
	}

	// A key's default config guards its requests even when a request picks another config.
	sc.publish("plain", map[string]any{"targets": []any{target("b", "ok-plain")}})
	sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+sc.key.ID, sc.admin, map[string]any{"config": "guarded"}, nil)
	eventually(t, 5*time.Second, func() error {
		_, err := client.Chat.Completions.New(context.Background(), chat("routed", "mail me at jane@example.com"), option.WithHeader("x-gatehouse-config", "plain"))
		json.Unmarshal(sc.up.lastBody("ok-plain"), &asked)
		if err != nil || len(asked.Messages) == 0 || asked.Messages[0].Content != "mail me at [REDACTED:EMAIL]" {
			return fmt.Errorf("plain was asked %s: %v", sc.up.lastBody("ok-plain"), err)
		}
		return nil
	})
}

func TestE2E_OutputGuardrailsOnAnthropicsOwnStream(t *testing.T) {
	s, admin, k, _ := anthropicScenario(t)
	s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/guardrails", admin, map[string]any{"name": "no-names",
		"checks": []any{map[string]any{"type": "words", "words": []string{"Claude"}}}, "action": "redact"}, nil)
	s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+k.ID, admin, map[string]any{"guardrails": map[string]any{"output": []string{"no-names"}}}, nil)
	claude := anthropicSDK(s, k.Secret)
	eventually(t, 5*time.Second, func() error {
		st := claude.Messages.NewStreaming(context.Background(), ask("claude/claude-sonnet-4-20250514", "hi"))
		var acc anthropic.Message
		for st.Next() {
			if err := acc.Accumulate(st.Current()); err != nil {
				return err
			}
		}
		if err := st.Err(); err != nil {
			return err
		}
		if len(acc.Content) != 1 || acc.Content[0].Text != "Hello from [REDACTED:DENIED_WORD] " {
			return fmt.Errorf("passed through %+v", acc.Content)
		}
		return nil
	})
	msg, err := claude.Messages.New(context.Background(), ask("claude/claude-sonnet-4-20250514", "Hello"))
	if err != nil || msg.Content[0].Text != "Bonjour." {
		t.Fatalf("a whole answer with nothing to redact: %+v %v", msg, err)
	}
}

func TestE2E_OutputGuardrailsOnResponsesStreams(t *testing.T) {
	sc := newTenantScenario(t)
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/guardrails", sc.admin, map[string]any{"name": "no-there",
		"checks": []any{map[string]any{"type": "words", "words": []string{"there"}}}, "action": "redact"}, nil)
	sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+sc.key.ID, sc.admin, map[string]any{"guardrails": map[string]any{"output": []string{"no-there"}}}, nil)
	client := sdk(sc.s, sc.key.Secret)
	eventually(t, 5*time.Second, func() error {
		rs := client.Responses.NewStreaming(context.Background(), responses.ResponseNewParams{Model: "up/gpt-4o-mini",
			Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hello")}})
		var text strings.Builder
		for rs.Next() {
			if ev := rs.Current(); ev.Type == "response.output_text.delta" {
				text.WriteString(ev.Delta)
			}
		}
		if err := rs.Err(); err != nil || text.String() != "Hi [REDACTED:DENIED_WORD]" {
			return fmt.Errorf("streamed %q %v", text.String(), err)
		}
		return nil
	})
}

func TestE2E_AContinuedStreamRunsTheSameOutputGuardrails(t *testing.T) {
	sc := newRoutingScenario(t)
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/guardrails", sc.admin, map[string]any{"name": "scrub",
		"checks": []any{map[string]any{"type": "pii"}, map[string]any{"type": "secrets"}}, "action": "redact"}, nil)
	sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+sc.key.ID, sc.admin, map[string]any{"guardrails": map[string]any{"output": []string{"scrub"}}}, nil)
	sc.publish("goes-on", map[string]any{"strategy": map[string]any{"mode": "fallback"}, "on_stream_cut": "continue",
		"targets": []any{target("a", "cut-3"), target("b", "leaky-1")}})
	eventually(t, 5*time.Second, func() error {
		text, err := sc.streamText("goes-on")
		// "2 " could still have begun a card number when the stream broke: it
		// was held, and the next target goes on from what the client saw
		// ("w0 w1 w"; this fake answers from the start).
		want := "w0 w1 wContact [REDACTED:EMAIL], pay with [REDACTED:CREDIT_CARD], deploy with [REDACTED:AWS_ACCESS_KEY]. Done."
		if err != nil || text != want {
			return fmt.Errorf("continued stream %q %v", text, err)
		}
		return nil
	})
}

func TestE2E_GuardrailsReadToolCallsArguments(t *testing.T) {
	sc := newRoutingScenario(t)
	const path = "/admin/v1/tenants/acme/guardrails"
	sc.s.mustAdmin(201, "POST", path, sc.admin, map[string]any{"name": "scrub", "checks": []any{map[string]any{"type": "pii"}, map[string]any{"type": "secrets"}}, "action": "redact"}, nil)
	sc.s.mustAdmin(201, "POST", path, sc.admin, map[string]any{"name": "no-secrets", "checks": []any{map[string]any{"type": "secrets"}}}, nil)
	patch := func(input, output []string) {
		sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+sc.key.ID, sc.admin, map[string]any{"guardrails": map[string]any{"input": input, "output": output}}, nil)
	}
	client := sdk(sc.s, sc.key.Secret)
	ctx := context.Background()
	want := `{"note":"Contact [REDACTED:EMAIL], pay with [REDACTED:CREDIT_CARD], deploy with [REDACTED:AWS_ACCESS_KEY]. Done."}`
	whole := func() (string, error) {
		c, err := client.Chat.Completions.New(ctx, chat("a/tool-1", "hello"))
		if err != nil {
			return "", err
		}
		return c.Choices[0].Message.ToolCalls[0].Function.Arguments, nil
	}
	streamed := func() (string, error) {
		st := client.Chat.Completions.NewStreaming(ctx, chat("a/tool-1", "hello"))
		var acc openai.ChatCompletionAccumulator
		for st.Next() {
			acc.AddChunk(st.Current())
		}
		if err := st.Err(); err != nil || len(acc.Choices) == 0 || len(acc.Choices[0].Message.ToolCalls) != 1 {
			return "", fmt.Errorf("accumulated %+v: %v", acc.Choices, err)
		}
		call := acc.Choices[0].Message.ToolCalls[0]
		if call.ID != "call_1" || call.Function.Name != "send" {
			return "", fmt.Errorf("the call changed: %+v", call)
		}
		return call.Function.Arguments, nil
	}

	// Output: the arguments of a tool call are redacted, whole and streamed.
	patch(nil, []string{"scrub"})
	eventually(t, 5*time.Second, func() error {
		if args, err := whole(); err != nil || args != want {
			return fmt.Errorf("whole %q %v", args, err)
		}
		if args, err := streamed(); err != nil || args != want {
			return fmt.Errorf("streamed %q %v", args, err)
		}
		return nil
	})
	// A blocking guardrail ends the stream before the key in the arguments goes out.
	patch(nil, []string{"no-secrets"})
	eventually(t, 5*time.Second, func() error {
		st := client.Chat.Completions.NewStreaming(ctx, chat("a/tool-1", "hello"))
		var args strings.Builder
		for st.Next() {
			for _, c := range st.Current().Choices {
				for _, tc := range c.Delta.ToolCalls {
					args.WriteString(tc.Function.Arguments)
				}
			}
		}
		if err := st.Err(); err == nil || !strings.Contains(err.Error(), "guardrail_blocked") || strings.Contains(args.String(), "AKIA") {
			return fmt.Errorf("blocked stream %q %v", args.String(), err)
		}
		var apiErr *openai.Error
		if _, err := whole(); !errors.As(err, &apiErr) || apiErr.Code != "guardrail_blocked" {
			return fmt.Errorf("whole answer %v", err)
		}
		return nil
	})

	// Input: the arguments of an earlier tool call and the tool's result
	// are redacted before the upstream sees them; ids and names are not text.
	patch([]string{"scrub"}, nil)
	body := map[string]any{"model": "a/ok-in", "messages": []any{
		map[string]any{"role": "user", "content": "hello"},
		map[string]any{"role": "assistant", "content": nil, "tool_calls": []any{map[string]any{"id": "call_4111111111111111", "type": "function",
			"function": map[string]any{"name": "send", "arguments": `{"to":"jane.doe@example.com"}`}}}},
		map[string]any{"role": "tool", "tool_call_id": "call_4111111111111111", "content": "sent with AKIAIOSFODNN7EXAMPLE"},
	}}
	eventually(t, 5*time.Second, func() error {
		var out map[string]any
		if err := client.Post(ctx, "chat/completions", body, &out); err != nil {
			return err
		}
		var asked struct {
			Messages []struct {
				Content   *string
				ToolCalls []struct {
					ID       string
					Function struct{ Name, Arguments string }
				} `json:"tool_calls"`
				ToolCallID string `json:"tool_call_id"`
			}
		}
		json.Unmarshal(sc.up.lastBody("ok-in"), &asked)
		if len(asked.Messages) != 3 || len(asked.Messages[1].ToolCalls) != 1 {
			return fmt.Errorf("asked %s", sc.up.lastBody("ok-in"))
		}
		call := asked.Messages[1].ToolCalls[0]
		if call.ID != "call_4111111111111111" || call.Function.Name != "send" || call.Function.Arguments != `{"to":"[REDACTED:EMAIL]"}` ||
			asked.Messages[2].ToolCallID != "call_4111111111111111" || asked.Messages[2].Content == nil || *asked.Messages[2].Content != "sent with [REDACTED:AWS_ACCESS_KEY]" {
			return fmt.Errorf("asked %s", sc.up.lastBody("ok-in"))
		}
		return nil
	})
}

func TestE2E_AJSONSchemaGuardrailChecksTheAnswersText(t *testing.T) {
	sc := newRoutingScenario(t)
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/guardrails", sc.admin, map[string]any{"name": "shape",
		"checks": []any{map[string]any{"type": "json_schema", "schema": map[string]any{"type": "object", "required": []string{"answer"}}}}}, nil)
	sc.s.mustAdmin(200, "PATCH", "/admin/v1/tenants/acme/keys/"+sc.key.ID, sc.admin, map[string]any{"guardrails": map[string]any{"output": []string{"shape"}}}, nil)
	client := sdk(sc.s, sc.key.Secret)
	ctx := context.Background()
	blocked := func(err error) bool {
		var apiErr *openai.Error
		return (errors.As(err, &apiErr) && apiErr.Code == "guardrail_blocked") || (err != nil && strings.Contains(err.Error(), "guardrail_blocked"))
	}
	eventually(t, 5*time.Second, func() error {
		if c, err := client.Chat.Completions.New(ctx, chat("a/json-yes", "hello")); err != nil || c.Choices[0].Message.Content != `{"answer":"yes"}` {
			return fmt.Errorf("a JSON answer: %v", err)
		}
		for _, model := range []string{"a/ok-prose", "a/tool-1"} { // prose, and a tool call with no text
			if _, err := client.Chat.Completions.New(ctx, chat(model, "hello")); !blocked(err) {
				return fmt.Errorf("%s: %v", model, err)
			}
		}
		return nil
	})
	stream := func(model string) (string, error) {
		st := client.Chat.Completions.NewStreaming(ctx, chat(model, "hello"))
		var text strings.Builder
		for st.Next() {
			if c := st.Current(); len(c.Choices) > 0 {
				text.WriteString(c.Choices[0].Delta.Content)
			}
		}
		return text.String(), st.Err()
	}
	if text, err := stream("a/json-yes"); err != nil || strings.TrimSpace(text) != `{"answer":"yes"}` {
		t.Fatalf("a streamed JSON answer: %q %v", text, err)
	}
	// The whole text is known at the end only: the stream ends with the error.
	if _, err := stream("a/ok-prose"); !blocked(err) {
		t.Fatalf("a streamed answer that is not JSON: %v", err)
	}
}

func TestE2E_OutputGuardrailsThroughTheAnthropicSDK(t *testing.T) {
	sc, patch := outputGuardrailsScenario(t)
	claude := anthropicSDK(sc.s, sc.key.Secret)
	ctx := context.Background()
	whole := func() (string, *http.Response, error) {
		var resp *http.Response
		msg, err := claude.Messages.New(ctx, ask("a/leaky-1", "hello"), anthropicopt.WithResponseInto(&resp))
		if err != nil {
			return "", resp, err
		}
		return msg.Content[0].Text, resp, nil
	}
	streamed := func() (string, *http.Response, error) {
		var resp *http.Response
		st := claude.Messages.NewStreaming(ctx, ask("a/leaky-1", "hello"), anthropicopt.WithResponseInto(&resp))
		var text strings.Builder
		for st.Next() {
			if ev := st.Current(); ev.Type == "content_block_delta" {
				text.WriteString(ev.Delta.Text)
			}
		}
		if resp != nil { // the trailers come after the last event: read to the end of the body
			io.Copy(io.Discard, resp.Body)
		}
		return text.String(), resp, st.Err()
	}
	want := "Contact [REDACTED:EMAIL], pay with [REDACTED:CREDIT_CARD], deploy with [REDACTED:AWS_ACCESS_KEY]. Done."
	patch("scrub")
	eventually(t, 5*time.Second, func() error {
		if text, _, err := whole(); err != nil || text != want {
			return fmt.Errorf("redacted %q %v", text, err)
		}
		if text, _, err := streamed(); err != nil || text != want {
			return fmt.Errorf("redacted stream %q %v", text, err)
		}
		return nil
	})
	patch("no-secrets")
	eventually(t, 5*time.Second, func() error {
		var apiErr *anthropic.Error
		if _, _, err := whole(); !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.Error(), "blocked by guardrail") {
			return fmt.Errorf("blocked: %v", err)
		}
		if text, _, err := streamed(); err == nil || strings.Contains(text, "AKIA") || !strings.Contains(err.Error(), "blocked by guardrail") {
			return fmt.Errorf("blocked stream %q %v", text, err)
		}
		return nil
	})
	// A flag: a header on a whole answer; on a stream, whose headers left
	// before its text was checked, a trailer.
	patch("watch")
	eventually(t, 5*time.Second, func() error {
		if text, resp, err := whole(); err != nil || text != leakyAnswer || resp.Header.Get("x-gatehouse-guardrails") != "flagged" {
			return fmt.Errorf("flagged %q %v", text, err)
		}
		if text, _, err := streamed(); err != nil || text != leakyAnswer {
			return fmt.Errorf("flagged stream %q %v", text, err)
		}
		// The SDKs stop reading at the last event; a client that reads the
		// body to its end gets the trailer.
		for _, c := range []struct{ path, header, body string }{
			{"/v1/messages", "x-api-key", `{"model":"a/leaky-1","max_tokens":64,"stream":true,"messages":[{"role":"user","content":"hello"}]}`},
			{"/v1/chat/completions", "Authorization", `{"model":"a/leaky-1","stream":true,"messages":[{"role":"user","content":"hello"}]}`},
		} {
			req, _ := http.NewRequest(http.MethodPost, sc.s.URL+c.path, strings.NewReader(c.body))
			value := sc.key.Secret
			if c.header == "Authorization" {
				value = "Bearer " + value
			}
			req.Header.Set(c.header, value)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				return err
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.Trailer.Get("x-gatehouse-guardrails") != "flagged" || !strings.Contains(string(body), "jane.doe") {
				return fmt.Errorf("%s: trailer %v", c.path, resp.Trailer)
			}
		}
		return nil
	})
}
