package proxy

import (
	"context"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

// noSpan is what a span is when tracing is off: its methods do nothing.
var noSpan = trace.SpanFromContext(context.Background())

// startSpan starts a child span of the request's, or nothing at all when
// tracing is off (no Tracer): the hot path then pays one nil check.
func (s *Service) startSpan(ctx context.Context, name string, attrs ...attribute.KeyValue) (context.Context, trace.Span) {
	if s.Tracer == nil {
		return ctx, noSpan
	}
	return s.Tracer.Start(ctx, name, trace.WithAttributes(attrs...))
}

// endSpan ends a span, marking it failed when err is not nil.
func endSpan(sp trace.Span, err error) {
	if err != nil {
		sp.SetStatus(codes.Error, err.Error())
	}
	sp.End()
}

// genAI are the OpenTelemetry GenAI attributes of a request as it ended.
func (x *Exchange) genAI() []attribute.KeyValue {
	attrs := []attribute.KeyValue{attribute.String("gen_ai.request.model", x.model)}
	if x.route.Connection.Kind != "" {
		attrs = append(attrs, attribute.String("gen_ai.system", string(x.route.Connection.Kind)))
	}
	if x.UpstreamModel != "" {
		attrs = append(attrs, attribute.String("gen_ai.response.model", x.UpstreamModel))
	}
	if x.tokens.Prompt > 0 || x.tokens.Completion > 0 {
		attrs = append(attrs, attribute.Int64("gen_ai.usage.input_tokens", x.tokens.Prompt), attribute.Int64("gen_ai.usage.output_tokens", x.tokens.Completion))
	}
	return attrs
}

// upstreamAttrs describe an upstream call.
func (x *Exchange) upstreamAttrs() []attribute.KeyValue {
	if x.svc.Tracer == nil {
		return nil
	}
	return []attribute.KeyValue{attribute.String("gen_ai.system", string(x.route.Connection.Kind)), attribute.String("gen_ai.request.model", x.UpstreamModel),
		attribute.String("gatehouse.provider", x.Provider)}
}
