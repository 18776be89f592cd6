package main

import (
	"context"
	"fmt"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"

	"github.com/gatehouse/gatehouse/adapters/eventcodec"
	"github.com/gatehouse/gatehouse/domain/quota"
	domainusage "github.com/gatehouse/gatehouse/domain/usage"
	"github.com/gatehouse/gatehouse/ports/http/metrics"
	"github.com/gatehouse/gatehouse/ports/http/middleware"
)

// What serve sets up for watching the gateway: traces, the budgets /metrics
// reads, and which events alerts may name.

// alertable says which event types (or families: "budget") a webhook may
// name: those of the governance log, which the webhooks projector reads.
func alertable(codec *eventcodec.Registry) func(string) bool {
	types := codec.Types()
	return func(name string) bool {
		for _, t := range types {
			if strings.HasPrefix(t, "request.") {
				continue
			}
			if t == name || strings.HasPrefix(t, name+".") {
				return true
			}
		}
		return false
	}
}

// budgetReadings reads the budgets of tenants and teams and their current
// windows' counters, for /metrics.
func (g *gateway) budgetReadings(now func() time.Time) func(context.Context) ([]metrics.BudgetReading, error) {
	return func(ctx context.Context) ([]metrics.BudgetReading, error) {
		var out []metrics.BudgetReading
		for _, b := range g.directory.Budgets() {
			if b.Scope == quota.ScopeKey {
				continue
			}
			start, _ := quota.Window(b.Period, now())
			used, reserved, err := g.quotas.Counter(ctx, quota.KindBudget, b.Subject, start)
			if err != nil {
				return nil, err
			}
			out = append(out, metrics.BudgetReading{TenantID: b.TenantID, Scope: string(b.Scope), ID: b.ID,
				LimitUSD: b.Limit.USD(), RemainingUSD: (b.Limit - domainusage.Micros(used+reserved)).USD()})
		}
		return out, nil
	}
}

// startTracing sends spans over OTLP/HTTP when an endpoint is set; nil
// when it is not (tracing off).
func (g *gateway) startTracing(ctx context.Context) (trace.Tracer, error) {
	if g.cfg.OTLPEndpoint == "" {
		return nil, nil
	}
	exp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(strings.TrimSuffix(g.cfg.OTLPEndpoint, "/")+"/v1/traces"))
	if err != nil {
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_ENDPOINT: %w", err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(exp), sdktrace.WithIDGenerator(middleware.IDGenerator{}),
		sdktrace.WithResource(resource.NewSchemaless(attribute.String("service.name", "gatehouse"))))
	g.closers = append(g.closers, func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := tp.Shutdown(sctx); err != nil {
			g.log.Warn("tracing: spans not sent at stop", "err", err)
		}
	})
	g.log.Info("tracing on", "otlp_endpoint", g.cfg.OTLPEndpoint)
	return tp.Tracer("github.com/gatehouse/gatehouse"), nil
}
