package middleware

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"

	"github.com/labstack/echo/v4"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/propagation"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// Tracing starts a span per request (SpanKindServer), continuing an
// incoming W3C traceparent; a new trace takes gatehouse's trace id (see
// IDGenerator), so logs, events and spans share one id. Installed only
// when tracing is on.
func Tracing(tracer trace.Tracer) echo.MiddlewareFunc {
	prop := propagation.TraceContext{}
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			req := c.Request()
			ctx := prop.Extract(req.Context(), propagation.HeaderCarrier(req.Header))
			ctx = context.WithValue(ctx, traceKey{}, TraceID(c))
			ctx, sp := tracer.Start(ctx, req.Method+" "+c.Path(), trace.WithSpanKind(trace.SpanKindServer),
				trace.WithAttributes(attribute.String("http.request.method", req.Method), attribute.String("http.route", c.Path())))
			defer sp.End()
			c.SetRequest(req.WithContext(ctx))
			err := next(c)
			if err != nil {
				c.Error(err)
			}
			status := c.Response().Status
			sp.SetAttributes(attribute.Int("http.response.status_code", status))
			if status >= 500 {
				sp.SetStatus(codes.Error, "")
			}
			return nil
		}
	}
}

// IDGenerator makes a new trace's id gatehouse's trace id when that is a
// W3C trace id (32 hex digits), and random ids otherwise.
type IDGenerator struct{}

var _ sdktrace.IDGenerator = IDGenerator{}

// NewIDs gives a new trace id and span id.
func (IDGenerator) NewIDs(ctx context.Context) (trace.TraceID, trace.SpanID) {
	var tid trace.TraceID
	if id, _ := ctx.Value(traceKey{}).(string); len(id) == 32 {
		if b, err := hex.DecodeString(id); err == nil {
			copy(tid[:], b)
		}
	}
	if !tid.IsValid() {
		crand.Read(tid[:])
	}
	return tid, IDGenerator{}.NewSpanID(ctx, tid)
}

// NewSpanID gives a random span id.
func (IDGenerator) NewSpanID(context.Context, trace.TraceID) trace.SpanID {
	var sid trace.SpanID
	for !sid.IsValid() {
		crand.Read(sid[:])
	}
	return sid
}
