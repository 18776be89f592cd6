// Package cohere calls Cohere's v2 Chat API for requests in OpenAI's chat
// dialect: the request is translated once, the answer or each streamed
// event translated back as it arrives.
package cohere

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

// Provider is one connection's client.
type Provider struct {
	url    string
	header http.Header
	call   httpcall.Caller
	now    func() time.Time
}

// New builds a client for baseURL (https://api.cohere.com).
func New(baseURL, apiKey string, client *http.Client, now func() time.Time) *Provider {
	if client == nil || now == nil {
		panic("cohere.New: nil dependency")
	}
	h := http.Header{}
	h.Set("Authorization", "Bearer "+apiKey)
	return &Provider{url: strings.TrimRight(baseURL, "/") + "/v2/chat", header: h, now: now,
		call: httpcall.Caller{Client: client, Secrets: []string{apiKey}, Parse: parseError}}
}

var _ proxy.Upstream = (*Provider)(nil)

func (p *Provider) send(ctx context.Context, body []byte, stream bool) (*http.Response, *request, bool, error) {
	req, wantsUsage, err := toRequest(body)
	if err != nil {
		return nil, nil, false, err
	}
	req.Stream = stream
	b, err := json.Marshal(req)
	if err != nil {
		return nil, nil, false, err
	}
	resp, err := p.call.Post(ctx, p.url, p.header, b, stream)
	return resp, req, wantsUsage, err
}

// ChatCompletion sends a non-streamed request.
func (p *Provider) ChatCompletion(ctx context.Context, body []byte) (proxy.Response, error) {
	resp, req, _, err := p.send(ctx, body, false)
	if err != nil {
		return proxy.Response{}, err
	}
	b, err := httpcall.ReadAnswer(resp)
	if err != nil {
		return proxy.Response{}, err
	}
	c, err := toCompletion(b, req.Model, p.now())
	if err != nil {
		return proxy.Response{}, err
	}
	out, err := json.Marshal(c)
	if err != nil {
		return proxy.Response{}, err
	}
	return proxy.Response{Status: http.StatusOK, Header: http.Header{"Content-Type": {"application/json"}}, Body: out}, nil
}

// ChatCompletionStream sends a streamed request.
func (p *Provider) ChatCompletionStream(ctx context.Context, body []byte) (proxy.ChunkStream, error) {
	resp, req, wantsUsage, err := p.send(ctx, body, true)
	if err != nil {
		return nil, err
	}
	return p.call.RedactStream(newStream(sse.NewReader(resp.Body), req.Model, wantsUsage, p.now())), nil
}
