// Package gemini calls Google's Gemini API (generateContent and
// streamGenerateContent) for requests in OpenAI's chat dialect: the
// request is translated once, the answer or each streamed chunk
// translated back as it arrives.
package gemini

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gatehouse/gatehouse/adapters/providers/httpcall"
	"github.com/gatehouse/gatehouse/adapters/providers/sse"
	"github.com/gatehouse/gatehouse/app/proxy"
)

// Provider is one connection's client.
type Provider struct {
	base   string
	header http.Header
	call   httpcall.Caller
	now    func() time.Time
}

// New builds a client for baseURL (https://generativelanguage.googleapis.com/v1beta).
func New(baseURL, apiKey string, client *http.Client, now func() time.Time) *Provider {
	if client == nil || now == nil {
		panic("gemini.New: nil dependency")
	}
	h := http.Header{}
	h.Set("x-goog-api-key", apiKey)
	return &Provider{base: strings.TrimRight(baseURL, "/"), header: h, now: now,
		call: httpcall.Caller{Client: client, Secrets: []string{apiKey}, Parse: parseError}}
}

var _ proxy.Upstream = (*Provider)(nil)

func (p *Provider) send(ctx context.Context, body []byte, stream bool) (*http.Response, string, bool, error) {
	req, model, wantsUsage, err := toRequest(body)
	if err != nil {
		return nil, "", false, err
	}
	b, err := json.Marshal(req)
	if err != nil {
		return nil, "", false, err
	}
	target := p.base + "/models/" + url.PathEscape(model) + ":generateContent"
	if stream {
		target = p.base + "/models/" + url.PathEscape(model) + ":streamGenerateContent?alt=sse"
	}
	resp, err := p.call.Post(ctx, target, p.header, b, stream)
	return resp, model, wantsUsage, err
}

// ChatCompletion sends a non-streamed request.
func (p *Provider) ChatCompletion(ctx context.Context, body []byte) (proxy.Response, error) {
	resp, model, _, err := p.send(ctx, body, false)
	if err != nil {
		return proxy.Response{}, err
	}
	b, err := httpcall.ReadAnswer(resp)
	if err != nil {
		return proxy.Response{}, err
	}
	c, err := toCompletion(b, model, p.now())
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
	resp, model, wantsUsage, err := p.send(ctx, body, true)
	if err != nil {
		return nil, err
	}
	return p.call.RedactStream(newStream(sse.NewReader(resp.Body), model, wantsUsage, p.now())), nil
}
