// Package openai is the OpenAI-compatible inbound API: the routes an OpenAI
// SDK calls, answering in OpenAI's shapes.
package openai

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/app/proxy"
	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/ports/http/middleware"
	"github.com/gatehouse/gatehouse/ports/http/relay"
)

// Chat serves the proxied routes of OpenAI's dialect: POST
// /v1/chat/completions, /v1/completions, /v1/embeddings and /v1/responses.
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
	e.POST("/v1/chat/completions", h.proxied("/v1/chat/completions", h.svc.ChatCompletions, false))
	e.POST("/v1/completions", h.proxied("/v1/completions", h.svc.Completions, false))
	e.POST("/v1/embeddings", h.proxied("/v1/embeddings", h.svc.Embeddings, false))
	e.POST("/v1/responses", h.proxied("/v1/responses", h.svc.Responses, true))
}

// start is a use case of the request path that answers with an exchange.
type start func(ctx context.Context, k key.Key, in proxy.Inbound) (*proxy.Exchange, error)

// proxied serves one route: authenticate, read, run, copy the answer.
// named streams (the Responses API's) carry each event's type on an event
// line and end without [DONE].
func (h *Chat) proxied(endpoint string, run start, named bool) echo.HandlerFunc {
	return func(c echo.Context) error { return h.serve(c, endpoint, run, named) }
}

func (h *Chat) serve(c echo.Context, endpoint string, run start, named bool) error {
	req := c.Request()
	// The key first: nothing of an unauthenticated request is read.
	k, err := relay.Authenticate(req.Context(), h.svc, relay.Bearer(req))
	if err != nil {
		return writeError(c, err, h.log)
	}
	md, err := relay.Metadata(req)
	if err != nil {
		return writeError(c, err, h.log)
	}
	cacheControl, err := relay.CacheControl(req)
	if err != nil {
		return writeError(c, err, h.log)
	}
	b, err := relay.ReadBody(req)
	if err != nil {
		return writeError(c, err, h.log)
	}
	ctx := req.Context()
	x, err := run(ctx, k, proxy.Inbound{Endpoint: endpoint, Body: b, TraceID: middleware.TraceID(c), Metadata: md,
		Config: req.Header.Get("x-gatehouse-config"), CacheControl: cacheControl})
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
	relay.SetGatewayHeaders(hdr, x)
	if x.Stream {
		return h.stream(c, x, named)
	}
	for k, v := range x.Header {
		hdr[k] = v
	}
	if hdr.Get("Content-Type") == "" {
		hdr.Set("Content-Type", "application/json")
	}
	c.Response().WriteHeader(x.Status)
	_, werr := c.Response().Write(x.Body)
	x.Finish(ctx, relay.ClientError(werr))
	return nil
}

var doneEvent = []byte("data: [DONE]\n\n")

// stream copies chunks as they arrive, one write and one flush per event;
// the headers leave with the first one. Once they are sent, a failure ends
// the stream with an error event, never a clean end.
func (h *Chat) stream(c echo.Context, x *proxy.Exchange, named bool) error {
	ctx := c.Request().Context()
	w := c.Response()
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	relay.DeclareTrailers(hdr, x)
	w.WriteHeader(http.StatusOK)
	buf := make([]byte, 0, 1024)
	for {
		chunk, err := x.Next()
		if errors.Is(err, io.EOF) {
			var werr error
			if !named {
				_, werr = w.Write(doneEvent)
			}
			w.Flush()
			relay.SetTrailers(hdr, x)
			x.Finish(ctx, relay.ClientError(werr))
			return nil
		}
		if err != nil {
			h.streamError(c, x, ctx, err)
			return nil
		}
		buf = buf[:0]
		if named {
			buf = append(append(append(buf, "event: "...), relay.EventType(chunk)...), '\n')
		}
		buf = append(append(append(buf, "data: "...), chunk...), "\n\n"...)
		if _, err := w.Write(buf); err != nil {
			x.Finish(ctx, relay.ClientError(err))
			return nil
		}
		w.Flush()
	}
}

func (h *Chat) streamError(c echo.Context, x *proxy.Exchange, ctx context.Context, err error) {
	p, tell := relay.StreamFailed(ctx, x, err, middleware.TraceID(c), h.log)
	if !tell {
		return
	}
	data, _ := json.Marshal(shape(p))
	w := c.Response()
	w.Write(append(append([]byte("data: "), data...), "\n\n"...))
	w.Flush()
}
