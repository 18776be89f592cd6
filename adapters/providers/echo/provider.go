// Package echo is an offline provider: it answers a chat by echoing the last
// user message, in OpenAI's dialect, streamed or not, with usage. It makes
// the whole path work without internet, for a first run and for tests.
package echo

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/app/proxy"
)

// Provider is the echo provider; it holds no state.
type Provider struct{ now func() time.Time }

// New builds the provider.
func New(now func() time.Time) *Provider {
	if now == nil {
		panic("echo.New: nil clock")
	}
	return &Provider{now: now}
}

var _ proxy.Upstream = (*Provider)(nil)

type request struct {
	Model    string `json:"model"`
	Messages []struct {
		Role    string          `json:"role"`
		Content json.RawMessage `json:"content"`
	} `json:"messages"`
	StreamOptions *struct {
		IncludeUsage bool `json:"include_usage"`
	} `json:"stream_options"`
}

type answer struct {
	id, model, text  string
	created          int64
	prompt, complete int
	usage            bool
}

func (p *Provider) answer(body []byte) (answer, error) {
	var r request
	if err := json.Unmarshal(body, &r); err != nil {
		return answer{}, &proxy.UpstreamError{Status: http.StatusBadRequest, Type: "invalid_request_error", Message: "echo: the body is not a chat completion request: " + err.Error()}
	}
	if len(r.Messages) == 0 {
		return answer{}, &proxy.UpstreamError{Status: http.StatusBadRequest, Type: "invalid_request_error", Message: "echo: messages must not be empty"}
	}
	prompt, last := 0, ""
	for _, m := range r.Messages {
		t := text(m.Content)
		prompt += countTokens(t) + 3 // a few tokens of framing per message, as real tokenizers count
		if m.Role == "user" {
			last = t
		}
	}
	reply := "echo: " + last
	b := make([]byte, 12)
	rand.Read(b)
	return answer{
		id: "chatcmpl-echo-" + hex.EncodeToString(b), model: r.Model, text: reply, created: p.now().Unix(),
		prompt: prompt, complete: countTokens(reply), usage: r.StreamOptions != nil && r.StreamOptions.IncludeUsage,
	}, nil
}

// text reads a message's content: a string, or an array of parts.
func text(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var parts []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &parts) == nil {
		var b strings.Builder
		for _, p := range parts {
			if p.Type == "text" {
				b.WriteString(p.Text)
			}
		}
		return b.String()
	}
	return ""
}

// countTokens approximates tokens as words, which is what echo bills.
func countTokens(s string) int { return len(strings.Fields(s)) }

type usageJSON struct {
	PromptTokens     int `json:"prompt_tokens"`
	CompletionTokens int `json:"completion_tokens"`
	TotalTokens      int `json:"total_tokens"`
}

func (a answer) usageJSON() usageJSON {
	return usageJSON{a.prompt, a.complete, a.prompt + a.complete}
}

// ChatCompletion answers at once.
func (p *Provider) ChatCompletion(_ context.Context, body []byte) (proxy.Response, error) {
	a, err := p.answer(body)
	if err != nil {
		return proxy.Response{}, err
	}
	out, err := json.Marshal(map[string]any{
		"id": a.id, "object": "chat.completion", "created": a.created, "model": a.model,
		"choices": []any{map[string]any{
			"index": 0, "finish_reason": "stop", "logprobs": nil,
			"message": map[string]any{"role": "assistant", "content": a.text, "refusal": nil},
		}},
		"usage": a.usageJSON(),
	})
	if err != nil {
		return proxy.Response{}, err
	}
	return proxy.Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: out}, nil
}

// ChatCompletionStream answers word by word.
func (p *Provider) ChatCompletionStream(ctx context.Context, body []byte) (proxy.ChunkStream, error) {
	a, err := p.answer(body)
	if err != nil {
		return nil, err
	}
	var chunks [][]byte
	add := func(delta map[string]any, finish any, usage any, choices bool) {
		c := map[string]any{"id": a.id, "object": "chat.completion.chunk", "created": a.created, "model": a.model}
		if choices {
			c["choices"] = []any{map[string]any{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": nil}}
		} else {
			c["choices"] = []any{}
		}
		if a.usage {
			c["usage"] = usage
		}
		b, _ := json.Marshal(c)
		chunks = append(chunks, b)
	}
	add(map[string]any{"role": "assistant", "content": ""}, nil, nil, true)
	words := strings.SplitAfter(a.text, " ")
	for _, w := range words {
		add(map[string]any{"content": w}, nil, nil, true)
	}
	add(map[string]any{}, "stop", nil, true)
	if a.usage {
		add(nil, nil, a.usageJSON(), false)
	}
	return &stream{ctx: ctx, chunks: chunks}, nil
}

type stream struct {
	ctx    context.Context
	chunks [][]byte
	i      int
}

func (s *stream) Next() ([]byte, error) {
	if err := s.ctx.Err(); err != nil {
		return nil, fmt.Errorf("echo stream: %w", err)
	}
	if s.i >= len(s.chunks) {
		return nil, io.EOF
	}
	s.i++
	return s.chunks[s.i-1], nil
}

func (s *stream) Close() error { return nil }
