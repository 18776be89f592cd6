package openai

import (
	"context"
	"encoding/json"
	"errors"
	"io"

	"github.com/gatehouse/gatehouse/adapters/providers/httpcall"
	"github.com/gatehouse/gatehouse/adapters/providers/sse"
	"github.com/gatehouse/gatehouse/app/proxy"
)

// whole posts a request for operation op and reads the whole answer.
func (p *Provider) whole(ctx context.Context, op string, body []byte) (proxy.Response, error) {
	resp, err := p.post(ctx, op, body, false)
	if err != nil {
		return proxy.Response{}, err
	}
	b, err := httpcall.ReadAnswer(resp)
	if err != nil {
		return proxy.Response{}, err
	}
	return proxy.Response{Status: resp.StatusCode, Header: passHeaders(resp.Header), Body: b}, nil
}

// Completions passes a legacy completion through.
func (p *Provider) Completions(ctx context.Context, body []byte) (proxy.Response, error) {
	return p.whole(ctx, "/completions", body)
}

// CompletionsStream passes a streamed legacy completion through.
func (p *Provider) CompletionsStream(ctx context.Context, body []byte) (proxy.ChunkStream, error) {
	resp, err := p.post(ctx, "/completions", body, true)
	if err != nil {
		return nil, err
	}
	return sse.NewReader(resp.Body), nil
}

// Responses passes a Responses API request through.
func (p *Provider) Responses(ctx context.Context, body []byte) (proxy.Response, error) {
	return p.whole(ctx, "/responses", body)
}

// ResponsesStream passes a streamed Responses API request through.
func (p *Provider) ResponsesStream(ctx context.Context, body []byte) (proxy.ChunkStream, error) {
	resp, err := p.post(ctx, "/responses", body, true)
	if err != nil {
		return nil, err
	}
	return &responseEvents{events: sse.NewReader(resp.Body)}, nil
}

// responseEvents passes the Responses API's events through. The stream
// is whole once an event closes the response (completed, incomplete or
// failed); a body that ends before is an *proxy.UpstreamError, and so is
// an error event.
type responseEvents struct {
	events *sse.Reader
	done   bool
}

func (s *responseEvents) Next() ([]byte, error) {
	if s.done {
		return nil, io.EOF
	}
	data, err := s.events.Next()
	switch {
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return nil, &proxy.UpstreamError{Message: "the upstream stream ended before the response was complete"}
	case err != nil:
		return nil, err
	}
	var ev struct {
		Type    string `json:"type"`
		Message string `json:"message"`
		Code    string `json:"code"`
	}
	json.Unmarshal(data, &ev)
	switch ev.Type {
	case "response.completed", "response.incomplete", "response.failed":
		s.done = true
	case "error":
		return nil, &proxy.UpstreamError{Code: ev.Code, Message: ev.Message}
	}
	return data, nil
}

func (s *responseEvents) Close() error { return s.events.Close() }
