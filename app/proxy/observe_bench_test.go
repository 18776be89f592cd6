package proxy_test

import (
	"context"
	"io"
	"log/slog"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse/gatehouse/app/proxy"
	"github.com/gatehouse/gatehouse/ports/http/metrics"
)

// discard is a span exporter that drops what it is sent: the collector is
// the outside world.
type discard struct{}

func (discard) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return nil }
func (discard) Shutdown(context.Context) error                             { return nil }

// benchmarkObserved is a request with or without metrics, the request's
// log line and tracing (a span per request and its children, batched to an
// exporter), the request span started as the HTTP middleware starts it.
func benchmarkObserved(b *testing.B, on bool) {
	var tracer trace.Tracer
	f := newFixtureWith(b, noGuardrails{}, func(d *proxy.Deps) {
		if !on {
			return
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(discard{}))
		b.Cleanup(func() { tp.Shutdown(context.Background()) })
		tracer = tp.Tracer("bench")
		d.Tracer = tracer
		d.Observer = proxy.Observers{metrics.NewRequests(metrics.Options{TenantLabel: true}), proxy.LogLine{Log: slog.New(slog.NewJSONHandler(io.Discard, nil))}}
	})
	b.ReportAllocs()
	for b.Loop() {
		ctx := context.Background()
		var sp trace.Span
		if tracer != nil {
			ctx, sp = tracer.Start(ctx, "POST /v1/chat/completions", trace.WithSpanKind(trace.SpanKindServer))
		}
		x, err := call(f, ctx, proxy.Inbound{Endpoint: "/v1/chat/completions", Body: requestBody, TraceID: "t"})
		if err != nil {
			b.Fatal(err)
		}
		x.Finish(ctx, nil)
		if sp != nil {
			sp.End()
		}
		f.events = f.events[:0]
	}
}

// What metrics, the log line and tracing add to a request (make bench
// reports the difference).
func BenchmarkChatCompletions_ObservedOff(b *testing.B) { benchmarkObserved(b, false) }
func BenchmarkChatCompletions_ObservedOn(b *testing.B)  { benchmarkObserved(b, true) }
