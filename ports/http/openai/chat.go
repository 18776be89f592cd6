// Package openai is the OpenAI-compatible inbound API: the routes an OpenAI
// SDK calls, answering in OpenAI's shapes.
package openai

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/app/proxy"
	"github.com/gatehouse/gatehouse/ports/http/middleware"
)

// maxRequestBody bounds what the gateway reads of a request.
const maxRequestBody = 32 << 20

// Chat serves POST /v1/chat/completions.
type Chat struct {
	svc *proxy.Service
	log *slog.Logger
}

// NewChat builds the handler.
func NewChat(svc *proxy.Service, log *slog.Logger) *Chat {
	if svc == nil || log == nil {
		panic("openai.NewChat: nil dependency")
	}
	return &Chat{svc: svc, log: log}
}

// Register adds the routes.
func (h *Chat) Register(e *echo.Echo) {
	e.POST("/v1/chat/completions", h.completions)
}

func bearer(r *http.Request) string {
	a := r.Header.Get("Authorization")
	if len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		return strings.TrimSpace(a[7:])
	}
	return ""
}

func metadata(r *http.Request) (map[string]string, error) {
	raw := r.Header.Get("x-gatehouse-metadata")
	if raw == "" {
		return nil, nil
	}
	var m map[string]string
	bad := &proxy.Refusal{Status: http.StatusBadRequest, Code: "invalid_request_error", Type: "invalid_request_error",
		Message: "x-gatehouse-metadata must be a JSON object of at most 32 strings, keys up to 100 bytes, values up to 1000, valid UTF-8 without NUL"}
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

func readBody(r *http.Request) ([]byte, error) {
	b, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody+1))
	if err != nil {
		return nil, &proxy.Refusal{Status: http.StatusBadRequest, Code: "invalid_request_error", Type: "invalid_request_error", Message: "could not read the request body"}
	}
	if len(b) > maxRequestBody {
		return nil, &proxy.Refusal{Status: http.StatusRequestEntityTooLarge, Code: "invalid_request_error", Type: "invalid_request_error", Message: "the request body is larger than 32 MiB"}
	}
	return b, nil
}

func (h *Chat) completions(c echo.Context) error {
	req := c.Request()
	// The key first: nothing of an unauthenticated request is read.
	k, err := h.svc.Authenticate(bearer(req))
	if err != nil {
		return writeError(c, err, h.log)
	}
	md, err := metadata(req)
	if err != nil {
		return writeError(c, err, h.log)
	}
	b, err := readBody(req)
	if err != nil {
		return writeError(c, err, h.log)
	}
	ctx := req.Context()
	x, err := h.svc.ChatCompletions(ctx, k, proxy.Inbound{
		Endpoint: "/v1/chat/completions", Body: b, TraceID: middleware.TraceID(c), Metadata: md,
	})
	if err != nil {
		return writeError(c, err, h.log)
	}
	defer func() {
		if r := recover(); r != nil {
			x.Finish(ctx, proxy.ErrInternal) // recorded, then the connection is aborted
			panic(r)
		}
	}()
	hdr := c.Response().Header()
	hdr.Set("x-gatehouse-request-id", x.RequestID.String())
	hdr.Set("x-gatehouse-provider", x.Provider)
	hdr.Set("x-gatehouse-model", x.UpstreamModel)
	hdr.Set("x-gatehouse-retries", "0")
	if l := x.RateLimits(); l != nil {
		setLimitHeaders(hdr, l)
	}
	if x.Stream {
		return h.stream(c, x)
	}
	for k, v := range x.Header {
		hdr[k] = v
	}
	if hdr.Get("Content-Type") == "" {
		hdr.Set("Content-Type", "application/json")
	}
	c.Response().WriteHeader(x.Status)
	_, werr := c.Response().Write(x.Body)
	x.Finish(ctx, clientError(werr))
	return nil
}

// clientError marks a failed write to the client as the client's doing.
func clientError(err error) error {
	if err == nil {
		return nil
	}
	return fmt.Errorf("%w: %v", proxy.ErrClientGone, err)
}

var doneEvent = []byte("data: [DONE]\n\n")

// stream copies chunks as they arrive, one write and one flush per event;
// the headers leave with the first one. Once they are sent, a failure ends
// the stream with an error event, never a clean end.
func (h *Chat) stream(c echo.Context, x *proxy.Exchange) error {
	ctx := c.Request().Context()
	w := c.Response()
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	buf := make([]byte, 0, 1024)
	for {
		chunk, err := x.Next()
		if errors.Is(err, io.EOF) {
			_, werr := w.Write(doneEvent)
			w.Flush()
			x.Finish(ctx, clientError(werr))
			return nil
		}
		if err != nil {
			h.streamError(c, x, ctx, err)
			return nil
		}
		buf = append(append(append(buf[:0], "data: "...), chunk...), "\n\n"...)
		if _, err := w.Write(buf); err != nil {
			x.Finish(ctx, clientError(err))
			return nil
		}
		w.Flush()
	}
}

func (h *Chat) streamError(c echo.Context, x *proxy.Exchange, ctx context.Context, err error) {
	x.Finish(ctx, err)
	if ctx.Err() != nil {
		return // the client is gone: nobody to tell
	}
	var ue *proxy.UpstreamError
	if !errors.As(err, &ue) {
		h.log.Warn("stream broke", "trace_id", middleware.TraceID(c), "err", err)
		err = &proxy.UpstreamError{Message: "the upstream stream ended abnormally"}
	}
	_, b := describe(err, middleware.TraceID(c), h.log)
	data, _ := json.Marshal(b)
	w := c.Response()
	w.Write(append(append([]byte("data: "), data...), "\n\n"...))
	w.Flush()
}

// setLimitHeaders writes OpenAI's x-ratelimit-* headers.
func setLimitHeaders(h http.Header, l *proxy.Limits) {
	if l.Requests >= 0 {
		h.Set("x-ratelimit-limit-requests", strconv.FormatInt(l.Requests, 10))
		h.Set("x-ratelimit-remaining-requests", strconv.FormatInt(l.RemainingRequests, 10))
	}
	if l.Tokens >= 0 {
		h.Set("x-ratelimit-limit-tokens", strconv.FormatInt(l.Tokens, 10))
		h.Set("x-ratelimit-remaining-tokens", strconv.FormatInt(l.RemainingTokens, 10))
	}
}
