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
	route  Route
	header http.Header
	call   httpcall.Caller
}

// Route says where a request for an operation ("/chat/completions") goes,
// and with which body: the request's, or a copy with what the address
// needs changed (a model named by its deployment).
type Route func(operation string, body []byte) (url string, out []byte, err error)

// New builds a client for baseURL (e.g. https://api.openai.com/v1).
func New(baseURL, apiKey string, client *http.Client) *Provider {
	h := http.Header{}
	if apiKey != "" {
		h.Set("Authorization", "Bearer "+apiKey)
	}
	base := strings.TrimRight(baseURL, "/")
	return NewRouted(func(op string, body []byte) (string, []byte, error) { return base + op, body, nil }, h, apiKey, client)
}

// NewRouted builds a client for an API in OpenAI's dialect that is
// addressed and authorised its own way (Azure OpenAI's deployments).
func NewRouted(route Route, header http.Header, secret string, client *http.Client) *Provider {
	if route == nil || client == nil {
		panic("openai.NewRouted: nil dependency")
	}
	return &Provider{route: route, header: header, call: httpcall.Caller{Client: client, Secrets: []string{secret}, Parse: parseError}}
}

func (p *Provider) post(ctx context.Context, op string, body []byte, stream bool) (*http.Response, error) {
	url, body, err := p.route(op, body)
	if err != nil {
		return nil, err
	}
	return p.call.Post(ctx, url, p.header, body, stream)
}

var _ proxy.Upstream = (*Provider)(nil)

// ChatCompletion sends a non-streamed chat completion.
func (p *Provider) ChatCompletion(ctx context.Context, body []byte) (proxy.Response, error) {
	resp, err := p.post(ctx, "/chat/completions", body, false)
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

// Embeddings passes an embeddings request through.
func (p *Provider) Embeddings(ctx context.Context, body []byte) (proxy.Response, error) {
	resp, err := p.post(ctx, "/embeddings", body, false)
	if err != nil {
		return proxy.Response{}, err
	}
	b, err := httpcall.ReadAnswer(resp)
	if err != nil {
		return proxy.Response{}, err
	}
	return proxy.Response{Status: resp.StatusCode, Header: passHeaders(resp.Header), Body: b}, nil
}
