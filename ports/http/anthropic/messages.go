// Package anthropic is the Anthropic-compatible inbound API: POST
// /v1/messages as an Anthropic SDK calls it, answering in Anthropic's
// shapes. Requests for Anthropic providers pass through; for any other
// they are translated to the canonical chat dialect and back.
package anthropic

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"regexp"

	"github.com/labstack/echo/v4"

	"github.com/gatehouse/gatehouse/app/proxy"
	"github.com/gatehouse/gatehouse/ports/http/middleware"
	"github.com/gatehouse/gatehouse/ports/http/relay"
)

// EventStream turns the chunks of a chat stream into Messages API events.
type EventStream interface {
	Chunk(data []byte, emit func(typ string, data []byte)) error
	End(emit func(typ string, data []byte))
}

// Dialect translates the Messages API to and from the canonical chat
// dialect, for providers that do not take it as it is.
type Dialect struct {
	ToChat    proxy.ToChat
	FromChat  func(body []byte) ([]byte, error)
	NewStream func() EventStream
}

// Messages serves POST /v1/messages.
type Messages struct {
	svc     *proxy.Service
	dialect Dialect
	log     *slog.Logger
}

// NewMessages builds the handler.
func NewMessages(svc *proxy.Service, d Dialect, log *slog.Logger) *Messages {
	if svc == nil || d.ToChat == nil || d.FromChat == nil || d.NewStream == nil || log == nil {
		panic("anthropic.NewMessages: nil dependency")
	}
	return &Messages{svc: svc, dialect: d, log: log}
}

// Register adds the route.
func (h *Messages) Register(e *echo.Echo) {
	e.POST("/v1/messages", h.messages)
}

// secret is the virtual key: x-api-key, as Anthropic's SDKs send it, or a
// bearer token.
func secret(r *http.Request) string {
	if k := r.Header.Get("x-api-key"); k != "" {
		return k
	}
	return relay.Bearer(r)
}

// betaPattern is a comma-separated list of Anthropic beta feature names.
var betaPattern = regexp.MustCompile(`^[A-Za-z0-9._-]+(\s*,\s*[A-Za-z0-9._-]+)*$`)

// betaHeader is the client's anthropic-beta header, which goes with a
// request passed through to Anthropic.
func betaHeader(r *http.Request) (http.Header, error) {
	values := r.Header.Values("anthropic-beta")
	if len(values) == 0 {
		return nil, nil
	}
	for _, v := range values {
		if len(v) > 1000 || !betaPattern.MatchString(v) {
			return nil, proxy.InvalidRequest("anthropic-beta", "anthropic-beta must be a comma-separated list of beta feature names")
		}
	}
	return http.Header{"Anthropic-Beta": values}, nil
}

func (h *Messages) messages(c echo.Context) error {
	req := c.Request()
	k, err := relay.Authenticate(req.Context(), h.svc, secret(req))
	if err != nil {
		return h.writeError(c, err)
	}
	md, err := relay.Metadata(req)
	if err != nil {
		return h.writeError(c, err)
	}
	cacheControl, err := relay.CacheControl(req)
	if err != nil {
		return h.writeError(c, err)
	}
	b, err := relay.ReadBody(req)
	if err != nil {
		return h.writeError(c, err)
	}
	beta, err := betaHeader(req)
	if err != nil {
		return h.writeError(c, err)
	}
	ctx := req.Context()
	x, err := h.svc.Messages(proxy.WithPassThroughHeaders(ctx, beta), k, proxy.Inbound{Endpoint: "/v1/messages", Body: b, TraceID: middleware.TraceID(c), Metadata: md,
		Config: req.Header.Get("x-gatehouse-config"), CacheControl: cacheControl}, h.dialect.ToChat)
	if err != nil {
		return h.writeError(c, err)
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
		return h.stream(c, x)
	}
	out := x.Body
	if x.Native {
		for k, v := range x.Header {
			hdr[k] = v
		}
	} else if out, err = h.dialect.FromChat(x.Body); err != nil {
		x.Finish(ctx, err)
		return h.writeError(c, err)
	}
	hdr.Set("Content-Type", "application/json")
	c.Response().WriteHeader(x.Status)
	_, werr := c.Response().Write(out)
	x.Finish(ctx, relay.ClientError(werr))
	return nil
}

// stream copies events as they arrive, one flush per upstream event;
// chat chunks are translated into events on the way. Once the headers are
// sent, a failure ends the stream with an error event.
func (h *Messages) stream(c echo.Context, x *proxy.Exchange) error {
	ctx := c.Request().Context()
	w := c.Response()
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache")
	hdr.Set("X-Accel-Buffering", "no")
	relay.DeclareTrailers(hdr, x)
	w.WriteHeader(http.StatusOK)
	var translate EventStream
	if !x.Native {
		translate = h.dialect.NewStream()
	}
	buf := make([]byte, 0, 1024)
	var werr error
	write := func(typ string, data []byte) {
		if werr != nil {
			return
		}
		buf = append(append(append(append(append(buf[:0], "event: "...), typ...), "\ndata: "...), data...), "\n\n"...)
		_, werr = w.Write(buf)
	}
	for {
		chunk, err := x.Next()
		if errors.Is(err, io.EOF) {
			if translate != nil {
				translate.End(write)
			}
			w.Flush()
			relay.SetTrailers(hdr, x)
			x.Finish(ctx, relay.ClientError(werr))
			return nil
		}
		if err == nil && translate != nil {
			err = translate.Chunk(chunk, write)
		} else if err == nil {
			write(relay.EventType(chunk), chunk)
		}
		if err != nil {
			h.streamError(c, x, ctx, err)
			return nil
		}
		if werr != nil {
			x.Finish(ctx, relay.ClientError(werr))
			return nil
		}
		w.Flush()
	}
}

func (h *Messages) streamError(c echo.Context, x *proxy.Exchange, ctx context.Context, err error) {
	p, tell := relay.StreamFailed(ctx, x, err, middleware.TraceID(c), h.log)
	if !tell {
		return
	}
	data, _ := json.Marshal(shape(p))
	w := c.Response()
	w.Write(append(append([]byte("event: error\ndata: "), data...), "\n\n"...))
	w.Flush()
}
