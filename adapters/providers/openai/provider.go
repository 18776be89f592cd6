// Package openai calls OpenAI and every API that speaks its dialect. The
// request body passes through as the proxy prepared it; answers come back
// as bytes, streams event by event.
package openai

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/gatehouse/gatehouse/adapters/providers/sse"
	"github.com/gatehouse/gatehouse/app/proxy"
)

// maxAnswer bounds a non-streamed answer read into memory.
const maxAnswer = 64 << 20

// Provider is one connection's client.
type Provider struct {
	baseURL string
	apiKey  string
	client  *http.Client
}

// New builds a client for baseURL (e.g. https://api.openai.com/v1).
func New(baseURL, apiKey string, client *http.Client) *Provider {
	if client == nil {
		panic("openai.New: nil http client")
	}
	return &Provider{baseURL: strings.TrimRight(baseURL, "/"), apiKey: apiKey, client: client}
}

var _ proxy.Upstream = (*Provider)(nil)

func (p *Provider) post(ctx context.Context, path string, body []byte, stream bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, p.baseURL+path, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if stream {
		req.Header.Set("Accept", "text/event-stream")
	} else {
		req.Header.Set("Accept", "application/json")
	}
	if p.apiKey != "" {
		req.Header.Set("Authorization", "Bearer "+p.apiKey)
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("call %s: %w", path, scrub(err, p.apiKey))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, upstreamError(resp, p.apiKey)
	}
	return resp, nil
}

// ChatCompletion sends a non-streamed chat completion.
func (p *Provider) ChatCompletion(ctx context.Context, body []byte) (proxy.Response, error) {
	resp, err := p.post(ctx, "/chat/completions", body, false)
	if err != nil {
		return proxy.Response{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer+1))
	if err != nil {
		return proxy.Response{}, fmt.Errorf("read answer: %w", err)
	}
	if len(b) > maxAnswer {
		return proxy.Response{}, &proxy.UpstreamError{Message: "the upstream answer is larger than the gateway accepts"}
	}
	return proxy.Response{Status: resp.StatusCode, Header: passHeaders(resp.Header), Body: b}, nil
}

// ChatCompletionStream sends a streamed chat completion.
func (p *Provider) ChatCompletionStream(ctx context.Context, body []byte) (proxy.ChunkStream, error) {
	resp, err := p.post(ctx, "/chat/completions", body, true)
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
