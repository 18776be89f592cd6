package test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/responses"
)

// anthropicScenario is tenant acme with provider "claude" of kind
// anthropic, pointing at a fake Messages API.
func anthropicScenario(t *testing.T) (*server, string, keyOut, *fakeAnthropic) {
	t.Helper()
	in := newInstallation(t)
	up := newFakeAnthropic(t)
	s := in.start()
	admin := in.token("--role", "platform_admin")
	s.mustAdmin(201, "POST", "/admin/v1/tenants", admin, map[string]string{"id": "acme", "name": "acme"}, nil)
	s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/providers", admin,
		map[string]string{"name": "claude", "kind": "anthropic", "base_url": up.URL, "api_key": upstreamKey}, nil)
	var k keyOut
	s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/keys", admin, map[string]string{"name": "app"}, &k)
	return s, admin, k, up
}

var weatherTool = openai.ChatCompletionFunctionTool(openai.FunctionDefinitionParam{
	Name: "get_weather", Description: openai.String("Current weather for a place"),
	Parameters: openai.FunctionParameters{"type": "object", "properties": map[string]any{"location": map[string]any{"type": "string"}}},
})

func TestE2E_AnthropicBehindTheOpenAIDialect(t *testing.T) {
	s, admin, k, up := anthropicScenario(t)
	client := sdk(s, k.Secret)
	ctx := context.Background()
	const model = "claude/claude-sonnet-4-20250514"

	t.Run("text, with a system prompt", func(t *testing.T) {
		resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: model,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Answer in French."), openai.UserMessage("Hello")}})
		if err != nil {
			t.Fatal(err)
		}
		if resp.Choices[0].Message.Content != "Bonjour." || resp.Choices[0].FinishReason != "stop" {
			t.Fatalf("answer %+v", resp.Choices)
		}
		if resp.Usage.PromptTokens != 30 || resp.Usage.CompletionTokens != 4 || resp.Usage.PromptTokensDetails.CachedTokens != 9 {
			t.Fatalf("usage %+v", resp.Usage)
		}
		body := up.lastBody()
		if body["model"] != "claude-sonnet-4-20250514" || body["max_tokens"] != float64(4096) {
			t.Fatalf("upstream got %v", body)
		}
		if sys, _ := json.Marshal(body["system"]); string(sys) != `[{"text":"Answer in French.","type":"text"}]` {
			t.Fatalf("system prompt sent as %s", sys)
		}
	})

	t.Run("tool calls", func(t *testing.T) {
		resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: model,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Paris?")},
			Tools:    []openai.ChatCompletionToolUnionParam{weatherTool}})
		if err != nil {
			t.Fatal(err)
		}
		c := resp.Choices[0]
		if c.FinishReason != "tool_calls" || len(c.Message.ToolCalls) != 1 || c.Message.ToolCalls[0].Function.Name != "get_weather" ||
			c.Message.ToolCalls[0].Function.Arguments != `{"location":"Paris"}` || c.Message.ToolCalls[0].ID != "toolu_1" {
			t.Fatalf("answer %+v", c)
		}
	})

	t.Run("stream with usage", func(t *testing.T) {
		p := chat(model, "hi")
		p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		st := client.Chat.Completions.NewStreaming(ctx, p)
		var text strings.Builder
		var total int64
		for st.Next() {
			c := st.Current()
			if len(c.Choices) > 0 {
				text.WriteString(c.Choices[0].Delta.Content)
			}
			total += c.Usage.TotalTokens
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		if text.String() != "Hello from Claude " || total != 36 {
			t.Fatalf("streamed %q, usage %d", text.String(), total)
		}
	})

	t.Run("streamed tool call", func(t *testing.T) {
		st := client.Chat.Completions.NewStreaming(ctx, openai.ChatCompletionNewParams{Model: model,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Rome?")},
			Tools:    []openai.ChatCompletionToolUnionParam{weatherTool}})
		var acc openai.ChatCompletionAccumulator
		for st.Next() {
			acc.AddChunk(st.Current())
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		calls := acc.Choices[0].Message.ToolCalls
		if len(calls) != 1 || calls[0].Function.Name != "get_weather" || calls[0].Function.Arguments != `{"location": "Rome"}` ||
			acc.Choices[0].FinishReason != "tool_calls" {
			t.Fatalf("accumulated %+v", acc.Choices)
		}
	})

	t.Run("errors", func(t *testing.T) {
		_, err := client.Chat.Completions.New(ctx, chat("claude/claude-missing", "hi"))
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || apiErr.Code != "upstream_error" || !strings.Contains(apiErr.Message, "model: claude-missing") {
			t.Fatalf("upstream 404: %v", err)
		}
		p := chat(model, "hi")
		p.N = openai.Int(2)
		_, err = client.Chat.Completions.New(ctx, p)
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Code != "invalid_request_error" || apiErr.Param != "n" {
			t.Fatalf("n=2: %v", err)
		}
	})

	t.Run("a stream that breaks off ends with an error and is recorded", func(t *testing.T) {
		st := client.Chat.Completions.NewStreaming(ctx, chat("claude/claude-broken", "hi"))
		for st.Next() {
		}
		if st.Err() == nil {
			t.Fatal("a broken upstream stream ended cleanly")
		}
	})

	type row struct {
		Model            string  `json:"model"`
		Status           int     `json:"status"`
		Code             string  `json:"code"`
		PromptTokens     int64   `json:"prompt_tokens"`
		CompletionTokens int64   `json:"completion_tokens"`
		CachedTokens     int64   `json:"cached_tokens"`
		CostUSD          float64 `json:"cost_usd"`
	}
	eventually(t, 10*time.Second, func() error {
		var p struct{ Requests []row }
		s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/requests", admin, nil, &p)
		if len(p.Requests) != 7 {
			return fmt.Errorf("%d rows", len(p.Requests))
		}
		byStatus := map[int]int{}
		for _, r := range p.Requests {
			byStatus[r.Status]++
		}
		if byStatus[200] != 4 || byStatus[404] != 1 || byStatus[400] != 1 || byStatus[502] != 1 {
			return fmt.Errorf("statuses %v", byStatus)
		}
		first := p.Requests[len(p.Requests)-1] // oldest first at the end
		if first.PromptTokens != 30 || first.CompletionTokens != 4 || first.CachedTokens != 9 || first.CostUSD <= 0 {
			return fmt.Errorf("the first request was recorded as %+v", first)
		}
		return nil
	})
}

func TestE2E_PresetsPassTheOpenAIDialectThrough(t *testing.T) {
	sc := newTenantScenario(t)
	client := sdk(sc.s, sc.key.Secret)
	for _, kind := range []string{"groq", "mistral", "vllm"} {
		sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/providers", sc.admin,
			map[string]string{"name": kind, "kind": kind, "base_url": sc.up.URL + "/v1", "api_key": upstreamKey}, nil)
		resp, err := client.Chat.Completions.New(context.Background(), chat(kind+"/some-model", "hello"))
		if err != nil {
			t.Fatalf("%s: %v", kind, err)
		}
		if resp.Choices[0].Message.Content != "hi from upstream" || sc.up.lastBody()["model"] != "some-model" || sc.up.lastAuth() != "Bearer "+upstreamKey {
			t.Fatalf("%s: answer %+v, upstream saw %v", kind, resp, sc.up.lastBody())
		}
	}
}

func TestE2E_RotatedProviderCredentialsReachAnotherReplicaWithinASecond(t *testing.T) {
	sc := newTenantScenario(t)
	a, admin, k := sc.s, sc.admin, sc.key
	b := sc.in.start()
	eventually(t, 5*time.Second, func() error {
		if st, _ := apiStatus(t, b, k.Secret, "up/m"); st != 200 {
			return errors.New("replica b does not serve yet")
		}
		return nil
	})
	const wrong = "sk-rotated-but-wrong-0123456789"
	rotate := func(apiKey string, wantStatus int) {
		t.Helper()
		a.mustAdmin(200, "POST", "/admin/v1/tenants/acme/providers/up/rotate", admin, map[string]string{"api_key": apiKey}, nil)
		at := time.Now()
		for {
			if st, _ := apiStatus(t, b, k.Secret, "up/m"); st == wantStatus {
				break
			}
			if time.Since(at) > time.Second {
				t.Fatalf("replica b still uses the old credentials after %s", time.Since(at))
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	rotate(wrong, http.StatusUnauthorized) // the fake upstream refuses any other key: its 401 comes through
	if got := sc.up.lastAuth(); got != "Bearer "+wrong {
		t.Fatalf("upstream saw %q", got)
	}
	rotate(upstreamKey, http.StatusOK)

	a.mustAdmin(400, "POST", "/admin/v1/tenants/acme/providers/up/rotate", admin, map[string]string{"api_key": ""}, nil)
	a.mustAdmin(404, "POST", "/admin/v1/tenants/acme/providers/nope/rotate", admin, map[string]string{"api_key": "x"}, nil)

	var feed struct {
		Events []struct {
			Type string          `json:"type"`
			Data json.RawMessage `json:"data"`
		} `json:"events"`
	}
	a.mustAdmin(200, "GET", "/admin/v1/tenants/acme/events?limit=1000", admin, nil, &feed)
	rotations := 0
	for _, e := range feed.Events {
		if strings.Contains(string(e.Data), wrong) || strings.Contains(string(e.Data), upstreamKey) {
			t.Fatalf("a secret is in event %s: %s", e.Type, e.Data)
		}
		if e.Type == "provider.rotated" {
			rotations++
			if !strings.Contains(string(e.Data), `"fields":["api_key"]`) {
				t.Fatalf("provider.rotated %s", e.Data)
			}
		}
	}
	if rotations != 2 {
		t.Fatalf("%d provider.rotated events, want 2", rotations)
	}
}

// fakeAzure is Azure OpenAI's addressing in front of the fake OpenAI:
// deployments in the path, api-version in the query, the key in api-key.
func fakeAzure(t *testing.T, up *fakeOpenAI) (*httptest.Server, func() []string) {
	var mu sync.Mutex
	var deployments []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/openai/v1/responses" && r.Header.Get("api-key") == upstreamKey {
			// The v1 API: no deployment in the path, the deployment as the model.
			b, _ := io.ReadAll(r.Body)
			var body struct{ Model string }
			json.Unmarshal(b, &body)
			mu.Lock()
			deployments = append(deployments, "responses:"+body.Model)
			mu.Unlock()
			r.Body = io.NopCloser(bytes.NewReader(b))
			r.URL.Path = "/v1/responses"
			r.Header.Set("Authorization", "Bearer "+upstreamKey)
			up.serve(w, r)
			return
		}
		rest, ok := strings.CutPrefix(r.URL.Path, "/openai/deployments/")
		dep, op, ok2 := strings.Cut(rest, "/")
		if !ok || !ok2 || r.URL.Query().Get("api-version") != "2024-10-21" || r.Header.Get("api-key") != upstreamKey || r.Header.Get("Authorization") != "" {
			w.WriteHeader(404)
			fmt.Fprint(w, `{"error":{"code":"DeploymentNotFound","message":"The API deployment for this resource does not exist."}}`)
			return
		}
		mu.Lock()
		deployments = append(deployments, dep)
		mu.Unlock()
		r.URL.Path = "/v1/" + op
		r.Header.Set("Authorization", "Bearer "+upstreamKey)
		up.serve(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), deployments...) }
}

func TestE2E_AzureOpenAIDeployments(t *testing.T) {
	sc := newTenantScenario(t)
	az, deployments := fakeAzure(t, sc.up)
	var p struct {
		APIVersion  string            `json:"api_version"`
		Deployments map[string]string `json:"deployments"`
	}
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/providers", sc.admin, map[string]any{"name": "az", "kind": "azure-openai",
		"base_url": az.URL, "api_key": upstreamKey, "deployments": map[string]string{"gpt-4o-mini": "prod-mini"}}, &p)
	if p.APIVersion != "2024-10-21" || p.Deployments["gpt-4o-mini"] != "prod-mini" {
		t.Fatalf("connection %+v", p)
	}
	client := sdk(sc.s, sc.key.Secret)
	resp, err := client.Chat.Completions.New(context.Background(), chat("az/gpt-4o-mini", "hello"))
	if err != nil {
		t.Fatal(err)
	}
	st := client.Chat.Completions.NewStreaming(context.Background(), chat("az/gpt-4.1", "hello"))
	for st.Next() {
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	r, err := client.Responses.New(context.Background(), responses.ResponseNewParams{Model: "az/gpt-4o-mini",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hello")}})
	if err != nil || r.OutputText() != "Hi there" {
		t.Fatalf("response %+v %v", r, err)
	}
	e, err := client.Embeddings.New(context.Background(), openai.EmbeddingNewParams{Model: "az/text-embedding-3-small",
		Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: []string{"hello"}}})
	if err != nil || len(e.Data) != 1 || e.Usage.PromptTokens != 4 {
		t.Fatalf("embeddings %+v %v", e, err)
	}
	if resp.Choices[0].Message.Content != "hi from upstream" || fmt.Sprint(deployments()) != "[prod-mini gpt-4.1 responses:prod-mini text-embedding-3-small]" {
		t.Fatalf("answer %+v, deployments called %v", resp, deployments())
	}
	// Azure serves OpenAI's models at OpenAI's prices.
	eventually(t, 10*time.Second, func() error {
		var rows struct {
			Requests []struct {
				CostUSD float64 `json:"cost_usd"`
			} `json:"requests"`
		}
		sc.s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/requests?model=az/gpt-4o-mini", sc.admin, nil, &rows)
		if len(rows.Requests) != 2 || rows.Requests[0].CostUSD <= 0 || rows.Requests[1].CostUSD <= 0 {
			return fmt.Errorf("rows %+v", rows.Requests)
		}
		return nil
	})
	sc.s.mustAdmin(400, "POST", "/admin/v1/tenants/acme/providers", sc.admin, map[string]any{"name": "az2", "kind": "azure-openai",
		"base_url": az.URL, "api_key": upstreamKey, "api_version": "newest"}, nil)
}

func TestE2E_GeminiBehindTheOpenAIDialect(t *testing.T) {
	sc := newTenantScenario(t)
	up := newFakeGemini(t)
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/providers", sc.admin,
		map[string]string{"name": "g", "kind": "gemini", "base_url": up.URL + "/v1beta", "api_key": upstreamKey}, nil)
	client := sdk(sc.s, sc.key.Secret)
	ctx := context.Background()

	resp, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "g/gemini-2.5-flash",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.SystemMessage("Answer in Norwegian."), openai.UserMessage("Hello")}})
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "Hei." || resp.Usage.PromptTokens != 10 || resp.Usage.PromptTokensDetails.CachedTokens != 4 {
		t.Fatalf("answer %+v", resp)
	}
	if sys, _ := json.Marshal(up.lastBody()["systemInstruction"]); string(sys) != `{"parts":[{"text":"Answer in Norwegian."}]}` {
		t.Fatalf("system instruction sent as %s", sys)
	}

	resp, err = client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{Model: "g/gemini-2.5-flash",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Oslo?")}, Tools: []openai.ChatCompletionToolUnionParam{weatherTool}})
	if err != nil {
		t.Fatal(err)
	}
	if c := resp.Choices[0]; c.FinishReason != "tool_calls" || c.Message.ToolCalls[0].Function.Arguments != `{"location":"Oslo"}` {
		t.Fatalf("tool call %+v", c)
	}

	p := chat("g/gemini-2.5-flash", "hi")
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	st := client.Chat.Completions.NewStreaming(ctx, p)
	var text strings.Builder
	var completion int64
	for st.Next() {
		if c := st.Current(); len(c.Choices) > 0 {
			text.WriteString(c.Choices[0].Delta.Content)
		} else {
			completion = c.Usage.CompletionTokens
		}
	}
	if err := st.Err(); err != nil || text.String() != "Hello from Gemini" || completion != 6 {
		t.Fatalf("streamed %q, completion tokens %d, err %v", text.String(), completion, err)
	}

	st = client.Chat.Completions.NewStreaming(ctx, chat("g/gemini-broken", "hi"))
	for st.Next() {
	}
	if st.Err() == nil {
		t.Fatal("a stream cut off upstream ended cleanly")
	}
	_, err = client.Chat.Completions.New(ctx, chat("g/gemini-missing", "hi"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || !strings.Contains(apiErr.Message, "is not found") {
		t.Fatalf("upstream 404: %v", err)
	}

	claude := anthropicSDK(sc.s, sc.key.Secret)
	msg, err := claude.Messages.New(ctx, ask("g/gemini-2.5-flash", "Hello"))
	if err != nil || len(msg.Content) != 1 || msg.Content[0].Text != "Hei." || msg.Usage.CacheReadInputTokens != 4 {
		t.Fatalf("through /v1/messages: %+v %v", msg, err)
	}
}

func TestE2E_CohereBehindTheOpenAIDialect(t *testing.T) {
	sc := newTenantScenario(t)
	release := make(chan struct{})
	up := fakeCohereHolding(t, release)
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/providers", sc.admin,
		map[string]string{"name": "co", "kind": "cohere", "base_url": up.URL, "api_key": upstreamKey}, nil)
	client := sdk(sc.s, sc.key.Secret)
	resp, err := client.Chat.Completions.New(context.Background(), chat("co/command-a-03-2025", "hola"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != "Hola." || resp.Usage.PromptTokens != 6 || resp.Usage.CompletionTokens != 2 {
		t.Fatalf("answer %+v", resp)
	}
	p := chat("co/command-a-03-2025", "hola")
	p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
	st := client.Chat.Completions.NewStreaming(context.Background(), p)
	var text strings.Builder
	var total int64
	for st.Next() {
		if c := st.Current(); len(c.Choices) > 0 {
			text.WriteString(c.Choices[0].Delta.Content)
		} else {
			total = c.Usage.TotalTokens
		}
	}
	if err := st.Err(); err != nil || text.String() != "Hola mundo" || total != 9 {
		t.Fatalf("streamed %q, total %d, err %v", text.String(), total, err)
	}

	resp, err = client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "co/command-a-03-2025",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("Weather in Madrid?")}, Tools: []openai.ChatCompletionToolUnionParam{weatherTool}})
	if err != nil {
		t.Fatal(err)
	}
	if c := resp.Choices[0]; c.FinishReason != "tool_calls" || len(c.Message.ToolCalls) != 1 || c.Message.ToolCalls[0].Function.Arguments != `{"location":"Madrid"}` {
		t.Fatalf("tool call %+v", c)
	}
	_, err = client.Chat.Completions.New(context.Background(), chat("co/command-missing", "hola"))
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 || !strings.Contains(apiErr.Message, "not found") {
		t.Fatalf("upstream 404: %v", err)
	}
	st = client.Chat.Completions.NewStreaming(context.Background(), chat("co/command-broken", "hola"))
	for st.Next() {
	}
	if st.Err() == nil {
		t.Fatal("a stream cut off upstream ended cleanly")
	}

	// A translated stream is passed on event by event: the first words
	// reach the client while the upstream holds back the rest.
	st = client.Chat.Completions.NewStreaming(context.Background(), chat("co/command-held", "hola"))
	first := make(chan string, 1)
	go func() {
		var got strings.Builder
		for st.Next() {
			if c := st.Current(); len(c.Choices) > 0 && c.Choices[0].Delta.Content != "" {
				got.WriteString(c.Choices[0].Delta.Content)
				select {
				case first <- got.String():
				default:
				}
			}
		}
	}()
	select {
	case f := <-first:
		if f != "Hola" {
			t.Fatalf("first text %q", f)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the first event was held back until the upstream finished")
	}
	close(release)

	// Through Anthropic's dialect too.
	claude := anthropicSDK(sc.s, sc.key.Secret)
	msg, err := claude.Messages.New(context.Background(), ask("co/command-a-03-2025", "hola"))
	if err != nil || len(msg.Content) != 1 || msg.Content[0].Text != "Hola." || msg.Usage.InputTokens != 6 {
		t.Fatalf("through /v1/messages: %+v %v", msg, err)
	}
}

func TestE2E_ModelsListsWhatTheKeyMayUse(t *testing.T) {
	sc := newTenantScenario(t)
	ctx := context.Background()
	full := sdk(sc.s, sc.key.Secret)
	page, err := full.Models.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]bool{}
	for _, m := range page.Data {
		ids[m.ID] = true
		if m.OwnedBy != "up" || !strings.HasPrefix(m.ID, "up/") {
			t.Fatalf("model %+v", m)
		}
	}
	if !ids["up/gpt-4o-mini"] || !ids["up/gpt-4o"] || len(ids) < 5 {
		t.Fatalf("listed %v", ids)
	}

	var narrow keyOut
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/keys", sc.admin, map[string]any{"name": "narrow", "models": []string{"up/gpt-4o-mini*", "up/house-model"}}, &narrow)
	client := sdk(sc.s, narrow.Secret)
	eventually(t, 5*time.Second, func() error {
		page, err = client.Models.List(ctx)
		return err
	})
	var got []string
	for _, m := range page.Data {
		got = append(got, m.ID)
	}
	if fmt.Sprint(got) != "[up/gpt-4o-mini up/house-model]" {
		t.Fatalf("a key for up/gpt-4o-mini* and up/house-model lists %v", got)
	}
	if m, err := client.Models.Get(ctx, "up/house-model"); err != nil || m.ID != "up/house-model" {
		t.Fatalf("get: %+v %v", m, err)
	}
	_, err = client.Models.Get(ctx, "up/gpt-4o")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 404 {
		t.Fatalf("a model the key may not use: %v", err)
	}
	stranger := sdk(sc.s, "sk-gh-"+strings.Repeat("B", 43))
	_, err = stranger.Models.List(ctx)
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
		t.Fatalf("unknown key: %v", err)
	}
}

func TestE2E_EmbeddingsAcrossProviders(t *testing.T) {
	sc := newTenantScenario(t)
	co, g := fakeCohere(t), newFakeGemini(t)
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/providers", sc.admin, map[string]string{"name": "co", "kind": "cohere", "base_url": co.URL, "api_key": upstreamKey}, nil)
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/providers", sc.admin, map[string]string{"name": "g", "kind": "gemini", "base_url": g.URL + "/v1beta", "api_key": upstreamKey}, nil)
	sc.s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/providers", sc.admin, map[string]string{"name": "e", "kind": "echo"}, nil)
	client := sdk(sc.s, sc.key.Secret)
	ctx := context.Background()
	embed := func(model string, inputs ...string) (*openai.CreateEmbeddingResponse, error) {
		return client.Embeddings.New(ctx, openai.EmbeddingNewParams{Model: model,
			Input: openai.EmbeddingNewParamsInputUnion{OfArrayOfStrings: inputs}, EncodingFormat: openai.EmbeddingNewParamsEncodingFormatFloat})
	}
	r, err := embed("up/text-embedding-3-small", "hello")
	if err != nil || len(r.Data) != 1 || r.Data[0].Embedding[1] != -0.5 || r.Usage.PromptTokens != 4 || r.Model != "text-embedding-3-small" {
		t.Fatalf("openai: %+v %v", r, err)
	}
	r, err = embed("co/embed-v4.0", "a", "b")
	if err != nil || len(r.Data) != 2 || r.Data[1].Index != 1 || r.Data[1].Embedding[2] != -1 || r.Usage.PromptTokens != 6 {
		t.Fatalf("cohere: %+v %v", r, err)
	}
	r, err = embed("g/gemini-embedding-001", "x", "y", "z")
	if err != nil || len(r.Data) != 3 || r.Data[2].Embedding[2] != 0.5 {
		t.Fatalf("gemini: %+v %v", r, err)
	}
	_, err = embed("e/echo-1", "x")
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 400 || apiErr.Param != "model" {
		t.Fatalf("echo has no embeddings: %v", err)
	}
	eventually(t, 10*time.Second, func() error {
		var rows struct {
			Requests []struct {
				Endpoint string `json:"endpoint"`
			} `json:"requests"`
		}
		sc.s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/requests", sc.admin, nil, &rows)
		if len(rows.Requests) != 4 {
			return fmt.Errorf("%d rows", len(rows.Requests))
		}
		for _, row := range rows.Requests {
			if row.Endpoint != "/v1/embeddings" {
				return fmt.Errorf("row %+v", row)
			}
		}
		return nil
	})
}

func TestE2E_CompletionsAndResponsesPassThrough(t *testing.T) {
	sc := newTenantScenario(t)
	client := sdk(sc.s, sc.key.Secret)
	ctx := context.Background()

	c, err := client.Completions.New(ctx, openai.CompletionNewParams{Model: "up/gpt-3.5-turbo-instruct",
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Say done")}, MaxTokens: openai.Int(5)})
	if err != nil || c.Choices[0].Text != "done" || c.Usage.TotalTokens != 4 || sc.up.lastBody()["model"] != "gpt-3.5-turbo-instruct" {
		t.Fatalf("completion %+v %v", c, err)
	}
	st := client.Completions.NewStreaming(ctx, openai.CompletionNewParams{Model: "up/gpt-3.5-turbo-instruct",
		Prompt: openai.CompletionNewParamsPromptUnion{OfString: openai.String("Say done")}})
	var text strings.Builder
	for st.Next() {
		if ch := st.Current(); len(ch.Choices) > 0 {
			text.WriteString(ch.Choices[0].Text)
		} else {
			t.Fatalf("a usage chunk the client did not ask for: %s", ch.RawJSON())
		}
	}
	if err := st.Err(); err != nil || text.String() != "done" {
		t.Fatalf("streamed %q %v", text.String(), err)
	}

	r, err := client.Responses.New(ctx, responses.ResponseNewParams{Model: "up/gpt-4o-mini",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hello")}})
	if err != nil || r.OutputText() != "Hi there" || r.Usage.InputTokens != 9 {
		t.Fatalf("response %+v %v", r, err)
	}
	rs := client.Responses.NewStreaming(ctx, responses.ResponseNewParams{Model: "up/gpt-4o-mini",
		Input: responses.ResponseNewParamsInputUnion{OfString: openai.String("Hello")}})
	text.Reset()
	completed := false
	for rs.Next() {
		ev := rs.Current()
		switch ev.Type {
		case "response.output_text.delta":
			text.WriteString(ev.Delta)
		case "response.completed":
			completed = ev.Response.Usage.OutputTokens == 2
		}
	}
	if err := rs.Err(); err != nil || text.String() != "Hi there" || !completed {
		t.Fatalf("streamed response %q completed %v err %v", text.String(), completed, err)
	}

	eventually(t, 10*time.Second, func() error {
		var rows struct {
			Requests []struct {
				Endpoint         string `json:"endpoint"`
				PromptTokens     int64  `json:"prompt_tokens"`
				CompletionTokens int64  `json:"completion_tokens"`
			} `json:"requests"`
		}
		sc.s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/requests", sc.admin, nil, &rows)
		if len(rows.Requests) != 4 {
			return fmt.Errorf("%d rows", len(rows.Requests))
		}
		// A stream is recorded when it ends, which may be after the next
		// request began: the rows are compared in no particular order.
		var got []string
		for _, r := range rows.Requests {
			got = append(got, fmt.Sprint(r))
		}
		sort.Strings(got)
		if want := "[{/v1/completions 3 1} {/v1/completions 3 2} {/v1/responses 8 2} {/v1/responses 9 3}]"; fmt.Sprint(got) != want {
			return fmt.Errorf("recorded %s, want %s", got, want)
		}
		return nil
	})
}
