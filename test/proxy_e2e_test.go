package test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
)

const upstreamKey = "sk-upstream-secret-0123456789"

func sdk(s *server, key string) openai.Client {
	return openai.NewClient(option.WithBaseURL(s.URL+"/v1/"), option.WithAPIKey(key), option.WithMaxRetries(0))
}

func chat(model, prompt string) openai.ChatCompletionNewParams {
	return openai.ChatCompletionNewParams{Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)}}
}

func TestE2E_ChatCompletionsThroughTheOpenAISDK(t *testing.T) {
	sc := newTenantScenario(t)
	up, s, admin, k := sc.up, sc.s, sc.admin, sc.key
	client := sdk(s, k.Secret)
	ctx := context.Background()

	t.Run("non-stream", func(t *testing.T) {
		var hdr http.Header
		resp, err := client.Chat.Completions.New(ctx, chat("up/gpt-4o-mini", "hello"), option.WithResponseInto(new(*http.Response)), option.WithMiddleware(func(r *http.Request, next option.MiddlewareNext) (*http.Response, error) {
			res, err := next(r)
			if res != nil {
				hdr = res.Header
			}
			return res, err
		}))
		if err != nil {
			t.Fatal(err)
		}
		if resp.Choices[0].Message.Content != "hi from upstream" || resp.Usage.PromptTokens != 11 {
			t.Fatalf("answer %+v", resp)
		}
		if got := up.lastAuth(); got != "Bearer "+upstreamKey {
			t.Fatalf("upstream saw Authorization %q, want the provider's key", got)
		}
		if m := up.lastBody()["model"]; m != "gpt-4o-mini" {
			t.Fatalf("upstream saw model %v", m)
		}
		if hdr.Get("x-gatehouse-provider") != "up" || hdr.Get("x-gatehouse-model") != "gpt-4o-mini" || hdr.Get("x-gatehouse-trace-id") == "" {
			t.Fatalf("gateway headers %v", hdr)
		}
	})

	t.Run("stream, usage not asked: counted but not shown", func(t *testing.T) {
		st := client.Chat.Completions.NewStreaming(ctx, chat("up/gpt-4o-mini", "hello"))
		var text strings.Builder
		for st.Next() {
			c := st.Current()
			if len(c.Choices) == 0 || c.Usage.TotalTokens != 0 {
				t.Fatalf("client got a usage chunk it did not ask for: %s", c.RawJSON())
			}
			text.WriteString(c.Choices[0].Delta.Content)
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
		if text.String() != "hello world" {
			t.Fatalf("streamed %q", text.String())
		}
		so, _ := up.lastBody()["stream_options"].(map[string]any)
		if so["include_usage"] != true {
			t.Fatalf("the gateway did not ask the upstream for usage: %v", up.lastBody())
		}
	})

	t.Run("stream, usage asked: shown", func(t *testing.T) {
		p := chat("up/gpt-4o-mini", "hello")
		p.StreamOptions = openai.ChatCompletionStreamOptionsParam{IncludeUsage: openai.Bool(true)}
		st := client.Chat.Completions.NewStreaming(ctx, p)
		var total int64
		for st.Next() {
			total += st.Current().Usage.TotalTokens
		}
		if err := st.Err(); err != nil || total != 7 {
			t.Fatalf("usage total %d, err %v", total, err)
		}
	})

	t.Run("stream chunks are flushed as they arrive", func(t *testing.T) {
		st := client.Chat.Completions.NewStreaming(ctx, chat("up/gpt-4o-mini", "hold"))
		got := make(chan string, 1)
		go func() {
			if st.Next() {
				got <- st.Current().Choices[0].Delta.Content
			}
		}()
		select {
		case c := <-got:
			if c != "hello" {
				t.Fatalf("first chunk %q", c)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the first chunk did not reach the client while the upstream held the rest: the gateway buffers")
		}
		close(up.released)
		for st.Next() {
		}
		if err := st.Err(); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("errors in OpenAI's shape", func(t *testing.T) {
		cases := []struct {
			name   string
			client openai.Client
			model  string
			prompt string
			status int
			code   string
		}{
			{"unknown key", sdk(s, "sk-gh-"+strings.Repeat("A", 43)), "up/x", "hi", 401, "invalid_api_key"},
			{"no key", sdk(s, ""), "up/x", "hi", 401, "invalid_api_key"},
			{"unknown provider", client, "nope/x", "hi", 404, "model_not_found"},
			{"model without provider", client, "gpt-4o", "hi", 404, "model_not_found"},
			{"upstream 4xx passed through", client, "up/x", "fail-400", 400, "upstream_error"},
			{"upstream 5xx becomes 502", client, "up/x", "fail-500", 502, "upstream_error"},
		}
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := c.client.Chat.Completions.New(ctx, chat(c.model, c.prompt))
				var apiErr *openai.Error
				if !errors.As(err, &apiErr) {
					t.Fatalf("want an API error, got %v", err)
				}
				if apiErr.StatusCode != c.status || apiErr.Code != c.code || apiErr.Message == "" {
					t.Fatalf("got %d %q %q, want %d %q", apiErr.StatusCode, apiErr.Code, apiErr.Message, c.status, c.code)
				}
			})
		}
	})

	t.Run("malformed body", func(t *testing.T) {
		for _, body := range []string{`{"model":`, `[]`, `{"messages":[]}`, `{"model":"up/x","stream":"yes"}`} {
			req, _ := http.NewRequest("POST", s.URL+"/v1/chat/completions", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+k.Secret)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 400 || !strings.Contains(string(b), `"code":"invalid_request_error"`) {
				t.Fatalf("%s: %d %s", body, resp.StatusCode, b)
			}
		}
	})

	t.Run("revoked key is refused at once", func(t *testing.T) {
		var k2 keyOut
		s.mustAdmin(201, "POST", "/admin/v1/tenants/acme/keys", admin, map[string]string{"name": "short-lived"}, &k2)
		c2 := sdk(s, k2.Secret)
		if _, err := c2.Chat.Completions.New(ctx, chat("up/x", "hello")); err != nil {
			t.Fatal(err)
		}
		s.mustAdmin(200, "POST", "/admin/v1/tenants/acme/keys/"+k2.ID+"/revoke", admin, map[string]string{"reason": "test"}, nil)
		_, err := c2.Chat.Completions.New(ctx, chat("up/x", "hello"))
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || apiErr.Code != "invalid_api_key" {
			t.Fatalf("revoked key: %v", err)
		}
		s.mustAdmin(409, "POST", "/admin/v1/tenants/acme/keys/"+k2.ID+"/revoke", admin, nil, nil)
	})

	t.Run("every request is an event and spend counts the successes", func(t *testing.T) {
		eventually(t, 10*time.Second, func() error {
			var feed struct {
				Events []struct {
					Type string `json:"type"`
				} `json:"events"`
			}
			s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/events?limit=1000", admin, nil, &feed)
			count := map[string]int{}
			for _, e := range feed.Events {
				count[e.Type]++
			}
			// 5 answered + 2 upstream failures; refusals: 2 unknown models, 4
			// malformed bodies, 1 revoked key (unknown keys have no tenant to record under)
			if count["request.completed"] != 7 || count["request.rejected"] != 7 || count["key.revoked"] != 1 {
				return fmt.Errorf("event counts %v", count)
			}
			return nil
		})
		eventually(t, 10*time.Second, func() error {
			var spend struct {
				Total struct {
					Requests         int64 `json:"requests"`
					PromptTokens     int64 `json:"prompt_tokens"`
					CompletionTokens int64 `json:"completion_tokens"`
				} `json:"total"`
				Groups []struct {
					Group    string `json:"group"`
					Requests int64  `json:"requests"`
				} `json:"groups"`
			}
			s.mustAdmin(200, "GET", "/admin/v1/tenants/acme/spend?group_by=key", admin, nil, &spend)
			if spend.Total.Requests != 5 || len(spend.Groups) != 2 {
				return fmt.Errorf("spend %+v", spend)
			}
			// 2 non-stream answers (11+7 each) and 3 streams (5+2 each); failures cost nothing
			if spend.Total.PromptTokens != 2*11+3*5 || spend.Total.CompletionTokens != 2*7+3*2 {
				return fmt.Errorf("tokens %+v", spend.Total)
			}
			return nil
		})
	})
}
