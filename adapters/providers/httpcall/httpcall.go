// Package httpcall is what every provider client does over HTTP: post a
// JSON body, read a bounded answer, and turn a non-2xx answer or a
// transport failure into a *proxy.UpstreamError that keeps the upstream's
// message but never a credential.
package httpcall

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse/gatehouse/app/proxy"
)

// MaxAnswer bounds a non-streamed answer read into memory.
const MaxAnswer = 64 << 20

// ErrorParser reads a provider's error body: its message, type and code.
// ok is false when the body is not in the provider's error shape.
type ErrorParser func(body []byte) (message, typ, code string, ok bool)

// Caller posts to one provider with its credentials.
type Caller struct {
	Client *http.Client
	// Secrets are redacted from every message that leaves the caller.
	Secrets []string
	Parse   ErrorParser
	// Sign, when set, signs each request after its headers are set
	// (providers that sign requests rather than send a key).
	Sign func(req *http.Request, body []byte)
}

// Post sends body to url with header (Content-Type is set, and Accept
// unless header sets it).
// A non-2xx answer is read, closed and returned as *proxy.UpstreamError.
func (c Caller) Post(ctx context.Context, url string, header http.Header, body []byte, stream bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, errors.New(c.Redact(err.Error()))
	}
	for k, v := range header {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	switch {
	case req.Header.Get("Accept") != "":
	case stream:
		req.Header.Set("Accept", "text/event-stream")
	default:
		req.Header.Set("Accept", "application/json")
	}
	if trace.SpanContextFromContext(ctx).IsValid() { // the request is traced: the upstream continues the trace
		propagation.TraceContext{}.Inject(ctx, propagation.HeaderCarrier(req.Header))
	}
	if c.Sign != nil {
		c.Sign(req, body)
	}
	resp, err := c.Client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("call the upstream: %w", c.scrub(err))
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		defer resp.Body.Close()
		return nil, c.upstreamError(resp)
	}
	return resp, nil
}

// ReadAnswer reads a whole answer, up to MaxAnswer, and closes it.
func ReadAnswer(resp *http.Response) ([]byte, error) {
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, MaxAnswer+1))
	if err != nil {
		return nil, fmt.Errorf("read answer: %w", err)
	}
	if len(b) > MaxAnswer {
		return nil, &proxy.UpstreamError{Message: "the upstream answer is larger than the gateway accepts"}
	}
	return b, nil
}

// keyLike matches API keys an upstream may quote back, masked or not.
var keyLike = regexp.MustCompile(`\b(sk|pk|rk)-[A-Za-z0-9_*\-.]{6,}`)

// Redact removes the caller's secrets, and anything shaped like an API
// key, from s.
func (c Caller) Redact(s string) string {
	for _, secret := range c.Secrets {
		if secret != "" {
			s = strings.ReplaceAll(s, secret, "[redacted]")
		}
	}
	return keyLike.ReplaceAllString(s, "[redacted]")
}

func (c Caller) scrub(err error) error {
	if msg := c.Redact(err.Error()); msg != err.Error() {
		return errors.New(msg)
	}
	return err
}

func (c Caller) upstreamError(resp *http.Response) error {
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	ue := &proxy.UpstreamError{Status: resp.StatusCode, RetryAfter: RetryAfter(resp.Header, time.Now())}
	if msg, typ, code, ok := c.parse(b); ok && msg != "" {
		ue.Message, ue.Type, ue.Code = msg, typ, code
	} else {
		ue.Message = strings.TrimSpace(string(b))
		if len(ue.Message) > 500 {
			ue.Message = strings.ToValidUTF8(ue.Message[:500], "")
		}
		if ue.Message == "" {
			ue.Message = http.StatusText(resp.StatusCode)
		}
	}
	ue.Message = c.Redact(ue.Message)
	return ue
}

func (c Caller) parse(b []byte) (string, string, string, bool) {
	if c.Parse == nil {
		return "", "", "", false
	}
	return c.Parse(b)
}

// RedactStream wraps a stream so that an upstream error it ends with
// (an error event's message, quoted from the provider) carries none of
// the caller's secrets.
func (c Caller) RedactStream(s proxy.ChunkStream) proxy.ChunkStream {
	return redactingStream{ChunkStream: s, c: c}
}

type redactingStream struct {
	proxy.ChunkStream
	c Caller
}

func (r redactingStream) Next() ([]byte, error) {
	b, err := r.ChunkStream.Next()
	var ue *proxy.UpstreamError
	if errors.As(err, &ue) {
		ue.Message = r.c.Redact(ue.Message)
	}
	return b, err
}

// maxRetryAfter bounds a wait an upstream asks for.
const maxRetryAfter = time.Hour

// RetryAfter reads how long an upstream asks to wait before trying again:
// retry-after-ms (OpenAI's, Azure's), else Retry-After in seconds or as an
// HTTP date; 0 when it says nothing usable.
func RetryAfter(h http.Header, now time.Time) time.Duration {
	if ms, err := strconv.ParseFloat(h.Get("retry-after-ms"), 64); err == nil && ms > 0 {
		return min(time.Duration(ms*float64(time.Millisecond)), maxRetryAfter)
	}
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if s, err := strconv.ParseFloat(v, 64); err == nil {
		if s <= 0 {
			return 0
		}
		return min(time.Duration(s*float64(time.Second)), maxRetryAfter)
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return min(t.Sub(now), maxRetryAfter)
	}
	return 0
}
