// Package relay is what the inbound dialects (OpenAI's, Anthropic's) share:
// reading a proxied request, the gateway's answer headers, and the one
// table that turns an error of the request path into a status and a code.
// Each dialect writes the result in its own shape.
package relay

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"strings"

	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse/gatehouse/app/proxy"
	"github.com/gatehouse/gatehouse/app/proxy/jsontop"
	"github.com/gatehouse/gatehouse/domain/key"
)

// MaxRequestBody bounds what the gateway reads of a request.
const MaxRequestBody = 32 << 20

// Bearer reads the token of an Authorization: Bearer header.
func Bearer(r *http.Request) string {
	a := r.Header.Get("Authorization")
	if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

func badRequest(status int, message string) *proxy.Refusal {
	return &proxy.Refusal{Status: status, Code: "invalid_request_error", Type: "invalid_request_error", Message: message}
}

// Metadata reads x-gatehouse-metadata: a JSON object of bounded, clean strings.
func Metadata(r *http.Request) (map[string]string, error) {
	raw := r.Header.Get("x-gatehouse-metadata")
	if raw == "" {
		return nil, nil
	}
	var m map[string]string
	bad := badRequest(http.StatusBadRequest,
		"x-gatehouse-metadata must be a JSON object of at most 32 strings, keys up to 100 bytes, values up to 1000, valid UTF-8 without NUL")
	if err := json.Unmarshal([]byte(raw), &m); err != nil || len(m) > 32 {
		return nil, bad
	}
	for k, v := range m {
		if k == "" || len(k) > 100 || len(v) > 1000 || !proxy.CleanText(k) || !proxy.CleanText(v) {
			return nil, bad
		}
	}
	return m, nil
}

// CacheControl reads x-gatehouse-cache: no-cache (refresh the entry) or
// no-store (bypass the cache), or nothing.
func CacheControl(r *http.Request) (string, error) {
	switch v := strings.ToLower(strings.TrimSpace(r.Header.Get("x-gatehouse-cache"))); v {
	case "", proxy.CacheRefresh, proxy.CacheBypass:
		return v, nil
	}
	return "", &proxy.Refusal{Status: http.StatusBadRequest, Code: "invalid_request_error", Type: "invalid_request_error",
		Param: "x-gatehouse-cache", Message: "x-gatehouse-cache must be no-cache or no-store"}
}

// ReadBody reads the request body, up to MaxRequestBody.
func ReadBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, MaxRequestBody+1))
	if err != nil {
		return nil, badRequest(http.StatusBadRequest, "could not read the request body")
	}
	if len(b) > MaxRequestBody {
		return nil, badRequest(http.StatusRequestEntityTooLarge, "the request body is larger than 32 MiB")
	}
	return b, nil
}

// ClientError marks a failed write to the client as the client's doing.
func ClientError(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %v", proxy.ErrClientGone, err)
}

// SetGatewayHeaders writes the gateway's own answer headers.
func SetGatewayHeaders(h http.Header, x *proxy.Exchange) {
	h.Set("x-gatehouse-request-id", x.RequestID.String())
	h.Set("x-gatehouse-provider", x.Provider)
	h.Set("x-gatehouse-model", x.UpstreamModel)
	h.Set("x-gatehouse-retries", strconv.Itoa(x.Retries()))
	h.Set("x-gatehouse-cache", x.CacheStatus())
	if x.Flagged() {
		h.Set("x-gatehouse-guardrails", "flagged")
	}
	if l := x.RateLimits(); l != nil {
		SetLimitHeaders(h, l)
	}
}

// flaggedTrailer is how a stream's output guardrail flag is told: the
// headers left before the stream was checked, so it is a trailer,
// declared up front on streams that run output guardrails.
const flaggedTrailer = "X-Gatehouse-Guardrails"

// DeclareTrailers names, before a stream's headers go, the trailers it may
// end with.
func DeclareTrailers(h http.Header, x *proxy.Exchange) {
	if x.GuardsOutput() && !x.Flagged() {
		h.Set("Trailer", flaggedTrailer)
	}
}

// SetTrailers writes a stream's trailers once its last chunk is sent.
func SetTrailers(h http.Header, x *proxy.Exchange) {
	if x.GuardsOutput() && x.Flagged() && h.Get("Trailer") != "" {
		h.Set(flaggedTrailer, "flagged")
	}
}

// SetLimitHeaders writes OpenAI's x-ratelimit-* headers.
func SetLimitHeaders(h http.Header, l *proxy.Limits) {
	if l.Requests >= 0 {
		h.Set("x-ratelimit-limit-requests", strconv.FormatInt(l.Requests, 10))
		h.Set("x-ratelimit-remaining-requests", strconv.FormatInt(l.RemainingRequests, 10))
	}
	if l.Tokens >= 0 {
		h.Set("x-ratelimit-limit-tokens", strconv.FormatInt(l.Tokens, 10))
		h.Set("x-ratelimit-remaining-tokens", strconv.FormatInt(l.RemainingTokens, 10))
	}
}

// Problem is an error of the request path as a client is told it.
type Problem struct {
	Status  int
	Code    string // the gateway's code (PRODUCT.md's table)
	Type    string // OpenAI's error type
	Message string
	Param   string
	refusal *proxy.Refusal
}

// Describe maps an error of the request path to what the client is told:
// the one table for every dialect. An unexpected error is logged and shown
// only as a trace id.
func Describe(err error, traceID string, log *slog.Logger) Problem {
	if r, ok := proxy.IsRefusal(err); ok {
		return Problem{Status: r.Status, Code: r.Code, Type: r.Type, Message: r.Message, Param: r.Param, refusal: r}
	}
	var ue *proxy.UpstreamError
	if errors.As(err, &ue) {
		typ := ue.Type
		if typ == "" {
			typ = "upstream_error"
		}
		return Problem{Status: ue.ClientStatus(), Code: "upstream_error", Type: typ, Message: "Upstream error: " + ue.Message}
	}
	if errors.Is(err, proxy.ErrUnavailable) {
		return Problem{Status: http.StatusServiceUnavailable, Code: "gateway_unavailable", Type: "server_error",
			Message: "The gateway cannot record requests right now; retry shortly."}
	}
	log.Error("request failed", "trace_id", traceID, "err", err)
	return Problem{Status: http.StatusInternalServerError, Code: "internal_error", Type: "server_error",
		Message: "The gateway had an internal error (trace id " + traceID + ")."}
}

// SetHeaders writes what a problem tells beyond its body: when to retry,
// and the limit that refused.
func (p Problem) SetHeaders(h http.Header) {
	if p.Status == http.StatusServiceUnavailable {
		h.Set("Retry-After", "1")
	}
	if r := p.refusal; r != nil {
		if r.RetryAfter > 0 {
			h.Set("Retry-After", strconv.FormatInt(int64(math.Ceil(r.RetryAfter.Seconds())), 10))
		}
		if r.Limits != nil {
			SetLimitHeaders(h, r.Limits)
		}
		if r.Verdict != "" {
			h.Set("x-gatehouse-verdict", r.Verdict)
		}
	}
}

// StreamFailed finishes an exchange whose stream broke after its headers
// were sent, and says what to tell the client in the stream's last event,
// if the client is still there.
func StreamFailed(ctx context.Context, x *proxy.Exchange, err error, traceID string, log *slog.Logger) (Problem, bool) {
	x.Finish(ctx, err)
	if ctx.Err() != nil {
		return Problem{}, false // the client is gone: nobody to tell
	}
	var ue *proxy.UpstreamError
	if _, refused := proxy.IsRefusal(err); !refused && !errors.As(err, &ue) { // a guardrail's block is told as it is
		log.Warn("stream broke", "trace_id", traceID, "err", err)
		err = &proxy.UpstreamError{Message: "the upstream stream ended abnormally"}
	}
	return Describe(err, traceID, log), true
}

// EventType reads a passed-through event's type from its data ("message"
// when it names none).
func EventType(data []byte) string {
	raw, ok, err := jsontop.Get(data, "type")
	var typ string
	if err != nil || !ok || json.Unmarshal(raw, &typ) != nil || typ == "" || strings.ContainsAny(typ, "\r\n") {
		return "message"
	}
	return typ
}

// Authenticate finds the key of a presented secret, in a child span of the
// request's when the request is traced.
func Authenticate(ctx context.Context, svc *proxy.Service, secret string) (key.Key, error) {
	parent := trace.SpanFromContext(ctx)
	if !parent.SpanContext().IsValid() {
		return svc.Authenticate(secret)
	}
	_, sp := parent.TracerProvider().Tracer("github.com/gatehouse/gatehouse").Start(ctx, "gatehouse.authenticate")
	k, err := svc.Authenticate(secret)
	if err != nil {
		sp.SetStatus(codes.Error, "the key was refused")
	}
	sp.End()
	return k, err
}
