// Package openai calls OpenAI and every API that speaks its dialect. The
// request body passes through as the proxy prepared it; answers come back
// as bytes, streams event by event.
package openai

import (
	"context"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/adapters/providers/httpcall"
	"github.com/gatehouse/gatehouse/adapters/providers/sse"
	"github.com/gatehouse/gatehouse/app/proxy"
)

// Provider is one connection's client.
type Provider struct {
	baseURL string
	header  http.Header
	call    httpcall.Caller
}

// New builds a client for baseURL (e.g. https://api.openai.com/v1).
func New(baseURL, apiKey string, client *http.Client) *Provider {
	if client == nil {
		panic("openai.New: nil http client")
	}
	h := http.Header{}
	if apiKey != "" {
		h.Set("Authorization", "Bearer "+apiKey)
	}
	return &Provider{baseURL: strings.TrimRight(baseURL, "/"), header: h,
		call: httpcall.Caller{Client: client, Secrets: []string{apiKey}, Parse: parseError}}
}

var _ proxy.Upstream = (*Provider)(nil)

// ChatCompletion sends a non-streamed chat completion.
func (p *Provider) ChatCompletion(ctx context.Context, body []byte) (proxy.Response, error) {
	resp, err := p.call.Post(ctx, p.baseURL+"/chat/completions", p.header, body, false)
	if err != nil {
		return proxy.Response{}, err
	}
	b, err := httpcall.ReadAnswer(resp)
	if err != nil {
		return proxy.Response{}, err
	}
	return proxy.Response{Status: resp.StatusCode, Header: passHeaders(resp.Header), Body: b}, nil
}

// ChatCompletionStream sends a streamed chat completion.
func (p *Provider) ChatCompletionStream(ctx context.Context, body []byte) (proxy.ChunkStream, error) {
	resp, err := p.call.Post(ctx, p.baseURL+"/chat/completions", p.header, body, true)
	if err != nil {
		return nil, err
	}
	return sse.NewReader(resp.Body), nil
}

// passed are the upstream headers worth showing the client.
var passed = []string{"Content-Type", "X-Request-Id", "Openai-Processing-Ms"}

func passHeaders(h http.Header) http.Header {
	out := make(http.Header, len(passed))
	for _, k := range passed {
		if v := h.Get(k); v != "" {
			out.Set(k, v)
		}
	}
	return out
}
