// Package anthropic calls Anthropic's Messages API for requests in
// OpenAI's chat dialect: the request is translated once, the answer or
// each streamed event translated back as it arrives.
package anthropic

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/adapters/providers/httpcall"
	"github.com/gatehouse/gatehouse/adapters/providers/sse"
	"github.com/gatehouse/gatehouse/app/proxy"
)

// Version is the anthropic-version the translation is written against.
const Version = "2023-06-01"

// Provider is one connection's client.
type Provider struct {
	url    string
	header http.Header
	call   httpcall.Caller
	now    func() time.Time
}

// New builds a client for baseURL (https://api.anthropic.com, as the
// Anthropic SDKs name it: the API's paths start with /v1).
func New(baseURL, apiKey string, client *http.Client, now func() time.Time) *Provider {
	if client == nil || now == nil {
		panic("anthropic.New: nil dependency")
	}
	h := http.Header{}
	h.Set("x-api-key", apiKey)
	h.Set("anthropic-version", Version)
	return &Provider{url: strings.TrimRight(baseURL, "/") + "/v1/messages", header: h, now: now,
		call: httpcall.Caller{Client: client, Secrets: []string{apiKey}, Parse: parseError}}
}

var _ proxy.Upstream = (*Provider)(nil)

// send translates and posts a request; wantsUsage says whether a stream
// must end with a usage chunk.
func (p *Provider) send(ctx context.Context, body []byte, stream bool) (resp *http.Response, wantsUsage bool, err error) {
	req, wantsUsage, err := toRequest(body)
	if err != nil {
		return nil, false, err
	}
	req.Stream = stream
	b, err := json.Marshal(req)
	if err != nil {
		return nil, false, err
	}
	resp, err = p.call.Post(ctx, p.url, p.header, b, stream)
	return resp, wantsUsage, err
}

// ChatCompletion sends a non-streamed request.
func (p *Provider) ChatCompletion(ctx context.Context, body []byte) (proxy.Response, error) {
	resp, _, err := p.send(ctx, body, false)
	if err != nil {
		return proxy.Response{}, err
	}
	b, err := httpcall.ReadAnswer(resp)
	if err != nil {
		return proxy.Response{}, err
	}
	c, err := toCompletion(b, p.now())
	if err != nil {
		return proxy.Response{}, err
	}
	out, err := json.Marshal(c)
	if err != nil {
		return proxy.Response{}, err
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if id := resp.Header.Get("request-id"); id != "" {
		h.Set("X-Request-Id", id)
	}
	return proxy.Response{Status: http.StatusOK, Header: h, Body: out}, nil
}

// ChatCompletionStream sends a streamed request.
func (p *Provider) ChatCompletionStream(ctx context.Context, body []byte) (proxy.ChunkStream, error) {
	resp, wantsUsage, err := p.send(ctx, body, true)
	if err != nil {
		return nil, err
	}
	return p.call.RedactStream(newStream(sse.NewReader(resp.Body), wantsUsage, p.now())), nil
}

// nativeHeader is the header of a passed-through request: the client's
// own anthropic-beta features go with it.
func (p *Provider) nativeHeader(ctx context.Context) http.Header {
	extra := proxy.PassThroughHeaders(ctx)
	if len(extra) == 0 {
		return p.header
	}
	h := p.header.Clone()
	for k, v := range extra {
		h[k] = v
	}
	return h
}

// Messages passes a Messages API request through as it is.
func (p *Provider) Messages(ctx context.Context, body []byte) (proxy.Response, error) {
	resp, err := p.call.Post(ctx, p.url, p.nativeHeader(ctx), body, false)
	if err != nil {
		return proxy.Response{}, err
	}
	b, err := httpcall.ReadAnswer(resp)
	if err != nil {
		return proxy.Response{}, err
	}
	h := http.Header{"Content-Type": {"application/json"}}
	if id := resp.Header.Get("request-id"); id != "" {
		h.Set("Request-Id", id)
	}
	return proxy.Response{Status: resp.StatusCode, Header: h, Body: b}, nil
}

// MessagesStream passes a streamed Messages API request through; its
// events come back as they are.
func (p *Provider) MessagesStream(ctx context.Context, body []byte) (proxy.ChunkStream, error) {
	resp, err := p.call.Post(ctx, p.url, p.nativeHeader(ctx), body, true)
	if err != nil {
		return nil, err
	}
	return p.call.RedactStream(&nativeStream{events: sse.NewReader(resp.Body)}), nil
}
