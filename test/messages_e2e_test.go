package test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	anthropicopt "github.com/anthropics/anthropic-sdk-go/option"
)

func anthropicSDK(s *server, key string) anthropic.Client {
	return anthropic.NewClient(anthropicopt.WithBaseURL(s.URL), anthropicopt.WithAPIKey(key), anthropicopt.WithMaxRetries(0))
}

func ask(model, prompt string) anthropic.MessageNewParams {
	return anthropic.MessageNewParams{Model: anthropic.Model(model), MaxTokens: 64,
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock(prompt))}}
}

func TestE2E_MessagesPassThroughToAnthropic(t *testing.T) {
	s, admin, k, up := anthropicScenario(t)
	client := anthropicSDK(s, k.Secret)
	ctx := context.Background()

	p := ask("claude/claude-sonnet-4-20250514", "Hello")
	p.TopK = anthropic.Int(5) // only Anthropic has it: it must reach the upstream untouched
	msg, err := client.Messages.New(ctx, p)
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "Bonjour." || msg.Usage.InputTokens != 21 || msg.Usage.CacheReadInputTokens != 9 {
		t.Fatalf("message %+v", msg)
	}
	if body := up.lastBody(); body["model"] != "claude-sonnet-4-20250514" || body["top_k"] != float64(5) {
		t.Fatalf("upstream got %v", body)
	}
	st := client.Messages.NewStreaming(ctx, ask("claude/claude-sonnet-4-20250514", "hi"))
	var acc anthropic.Message
	for st.Next() {
		if err := acc.Accumulate(st.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if len(acc.Content) != 1 || acc.Content[0].Text != "Hello from Claude " || acc.Usage.OutputTokens != 6 || acc.StopReason != "end_turn" {
		t.Fatalf("streamed %+v", acc)
	}

	st = client.Messages.NewStreaming(ctx, ask("claude/claude-broken", "hi"))
	for st.Next() {
	}
	if st.Err() == nil {
		t.Fatal("a stream cut off upstream ended cleanly")
	}

	eventually(t, 10*time.Second, func() error {
		var p struct {
			Requests []struct {
				Endpoint         string `json:"endpoint"`
				Status           int    `json:"status"`
				PromptTokens     int64  `json:"prompt_tokens"`
				CompletionTokens int64  `json:"completion_tokens"`
			} `json:"requests"`
		}
		s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/requests", admin, nil, &p)
		if len(p.Requests) != 3 {
			return fmt.Errorf("%d rows", len(p.Requests))
		}
		got := fmt.Sprint(p.Requests[2].Endpoint, p.Requests[2].PromptTokens, p.Requests[2].CompletionTokens, p.Requests[1].PromptTokens,
			p.Requests[1].CompletionTokens, p.Requests[0].Status)
		if want := fmt.Sprint("/v1/messages", 30, 4, 30, 6, 502); got != want {
			return fmt.Errorf("recorded %s, want %s", got, want)
		}
		return nil
	})

	if up.lastBeta() != "" {
		t.Fatalf("an anthropic-beta header the client did not send: %q", up.lastBeta())
	}

	// The client's beta features go with a passed-through request; a bad
	// header is refused in Anthropic's error shape.
	if _, err := client.Messages.New(ctx, ask("claude/claude-sonnet-4-20250514", "Hello"),
		anthropicopt.WithHeader("anthropic-beta", "context-1m-2025-08-07,interleaved-thinking-2025-05-14")); err != nil {
		t.Fatal(err)
	}
	if got := up.lastBeta(); got != "context-1m-2025-08-07,interleaved-thinking-2025-05-14" {
		t.Fatalf("upstream got anthropic-beta %q", got)
	}
	// An upstream that quotes its credentials back, in an answer or in an
	// error event mid-stream, never gets them to the client.
	_, err = client.Messages.New(ctx, ask("claude/claude-leaky", "Hello"))
	var leak *anthropic.Error
	if !errors.As(err, &leak) || leak.StatusCode != 502 || strings.Contains(leak.RawJSON(), upstreamKey) || !strings.Contains(leak.RawJSON(), "[redacted]") {
		t.Fatalf("an overloaded upstream: %v", err)
	}
	for _, model := range []string{"claude/claude-leaky-stream", "claude/claude-leaky"} {
		ls := client.Messages.NewStreaming(ctx, ask(model, "hi"))
		for ls.Next() {
		}
		if ls.Err() == nil || strings.Contains(ls.Err().Error(), upstreamKey) {
			t.Fatalf("%s: a stream ended with %v", model, ls.Err())
		}
	}
	_, err = client.Messages.New(ctx, ask("claude/claude-sonnet-4-20250514", "Hello"), anthropicopt.WithHeader("anthropic-beta", "a b\"c"))
	var apiErr *anthropic.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || !strings.Contains(apiErr.RawJSON(), "anthropic-beta") {
		t.Fatalf("a malformed anthropic-beta: %v", err)
	}

	// Tokens written to Anthropic's prompt cache cost 1.25 times the input
	// rate: 21 plain, 9 read, 100 written and 4 out on claude-sonnet-4 come
	// to 500.7 micro-dollars, recorded as 501 (never rounded down).
	p = ask("claude/claude-sonnet-4-20250514", "Hello")
	p.System = []anthropic.TextBlockParam{{Text: "cache-write"}}
	if msg, err := client.Messages.New(ctx, p); err != nil || msg.Usage.CacheCreationInputTokens != 100 {
		t.Fatalf("cache write: %+v %v", msg, err)
	}
	eventually(t, 10*time.Second, func() error {
		var rows struct {
			Requests []struct {
				PromptTokens int64   `json:"prompt_tokens"`
				CostUSD      float64 `json:"cost_usd"`
			} `json:"requests"`
		}
		s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/requests", admin, nil, &rows)
		for _, r := range rows.Requests {
			if r.PromptTokens == 130 {
				if r.CostUSD != 0.000501 {
					return fmt.Errorf("recorded at $%v, want $0.000501", r.CostUSD)
				}
				return nil
			}
		}
		return fmt.Errorf("no request with 130 prompt tokens in %+v", rows.Requests)
	})
}

func TestE2E_MessagesTranslatedForOtherProviders(t *testing.T) {
	sc := newTenantScenario(t)
	client := anthropicSDK(sc.s, sc.key.Secret)
	ctx := context.Background()

	msg, err := client.Messages.New(ctx, anthropic.MessageNewParams{Model: "up/gpt-4o-mini", MaxTokens: 5,
		System:   []anthropic.TextBlockParam{{Text: "Be brief."}},
		Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("hello"))}})
	if err != nil {
		t.Fatal(err)
	}
	if len(msg.Content) != 1 || msg.Content[0].Text != "hi from upstream" || msg.StopReason != "end_turn" ||
		msg.Usage.InputTokens != 8 || msg.Usage.CacheReadInputTokens != 3 || msg.Usage.OutputTokens != 5 {
		t.Fatalf("message %+v", msg)
	}
	body := sc.up.lastBody()
	msgs, _ := body["messages"].([]any)
	if body["model"] != "gpt-4o-mini" || body["max_tokens"] != float64(5) || len(msgs) != 2 || msgs[0].(map[string]any)["role"] != "system" {
		t.Fatalf("upstream got %v", body)
	}

	st := client.Messages.NewStreaming(ctx, ask("up/gpt-4o-mini", "hello"))
	var acc anthropic.Message
	for st.Next() {
		if err := acc.Accumulate(st.Current()); err != nil {
			t.Fatal(err)
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	if len(acc.Content) != 1 || acc.Content[0].Text != "hello world" || acc.Usage.InputTokens != 5 || acc.Usage.OutputTokens != 2 {
		t.Fatalf("streamed %+v", acc)
	}

	cases := []struct {
		name   string
		client anthropic.Client
		params anthropic.MessageNewParams
		status int
		typ    string
	}{
		{"unknown key", anthropicSDK(sc.s, "sk-gh-"+strings.Repeat("A", 43)), ask("up/x", "hi"), 401, "authentication_error"},
		{"unknown provider", client, ask("nope/x", "hi"), 404, "not_found_error"},
		{"only Anthropic has top_k", client, func() anthropic.MessageNewParams { p := ask("up/x", "hi"); p.TopK = anthropic.Int(3); return p }(), 400, "invalid_request_error"},
		{"upstream 4xx", client, ask("up/x", "fail-400"), 400, "invalid_request_error"},
		{"upstream 5xx", client, ask("up/x", "fail-500"), 502, "api_error"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := c.client.Messages.New(ctx, c.params)
			var apiErr *anthropic.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode != c.status || !strings.Contains(apiErr.RawJSON(), `"type":"`+c.typ+`"`) {
				t.Fatalf("got %v, want %d %s", err, c.status, c.typ)
			}
		})
	}

	// A malformed body is answered in Anthropic's shape too.
	req, _ := http.NewRequest("POST", sc.s.URL+"/v1/messages", strings.NewReader(`{"model":"up/x","messages":[]}`))
	req.Header.Set("x-api-key", sc.key.Secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("no max_tokens: %d", resp.StatusCode)
	}
}
