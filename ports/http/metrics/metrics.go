// Package metrics serves GET /metrics in Prometheus's text format: the Go
// runtime's and the process's metrics, and gatehouse's own as they are
// added, each read when scraped rather than kept on the request path.
package metrics

import (
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/gatehouse/gatehouse/app/proxy"
	"github.com/gatehouse/gatehouse/domain/routing"
)

// Circuits are the circuit breakers of this replica.
type Circuits interface {
	All(now time.Time) []proxy.CircuitSnapshot
}

// Options shape the labels: a tenant label can be switched off where
// tenants are many. Keys and users are never labels.
type Options struct {
	TenantLabel bool
}

// NewRegistry builds the registry of everything /metrics shows.
func NewRegistry(circuits Circuits, now func() time.Time, o Options, more ...prometheus.Collector) *prometheus.Registry {
	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	reg.MustRegister(newCircuitCollector(circuits, now, o.TenantLabel))
	reg.MustRegister(more...)
	return reg
}

// Register adds GET /metrics.
func Register(e *echo.Echo, reg *prometheus.Registry) {
	e.GET("/metrics", echo.WrapHandler(promhttp.HandlerFor(reg, promhttp.HandlerOpts{})))
}

// circuitCollector reports each circuit's state when scraped: a series per
// provider connection, model and state, valued with the circuits in it
// (one per tenant, or the sum when the tenant label is off).
type circuitCollector struct {
	circuits    Circuits
	now         func() time.Time
	tenantLabel bool
	state       *prometheus.Desc
	failures    *prometheus.Desc
}

func newCircuitCollector(c Circuits, now func() time.Time, tenantLabel bool) *circuitCollector {
	labels := []string{"provider", "model", "state"}
	failureLabels := []string{"provider", "model"}
	if tenantLabel {
		labels = append([]string{"tenant"}, labels...)
		failureLabels = append([]string{"tenant"}, failureLabels...)
	}
	return &circuitCollector{circuits: c, now: now, tenantLabel: tenantLabel,
		state: prometheus.NewDesc("gatehouse_circuit_breakers",
			"Circuit breakers of routing configs on this replica, by state (closed, open, half_open).", labels, nil),
		failures: prometheus.NewDesc("gatehouse_circuit_breaker_consecutive_failures",
			"Consecutive failures counted by circuit breakers on this replica.", failureLabels, nil)}
}

func (c *circuitCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- c.state
	ch <- c.failures
}

func (c *circuitCollector) Collect(ch chan<- prometheus.Metric) {
	type key struct{ tenant, provider, model, state string }
	states, failures := map[key]float64{}, map[key]float64{}
	for _, s := range c.circuits.All(c.now()) {
		k := key{provider: s.Provider, model: s.Model}
		if c.tenantLabel {
			k.tenant = s.Tenant
		}
		failures[k] += float64(s.ConsecutiveFailures)
		k.state = s.State
		states[k]++
	}
	for _, st := range []string{routing.CircuitClosed, routing.CircuitOpen, routing.CircuitHalfOpen} {
		for k, n := range states {
			if k.state == st {
				ch <- prometheus.MustNewConstMetric(c.state, prometheus.GaugeValue, n, c.values(k.tenant, k.provider, k.model, k.state)...)
			}
		}
	}
	for k, n := range failures {
		ch <- prometheus.MustNewConstMetric(c.failures, prometheus.GaugeValue, n, c.values(k.tenant, k.provider, k.model)...)
	}
}

func (c *circuitCollector) values(tenant string, rest ...string) []string {
	if c.tenantLabel {
		return append([]string{tenant}, rest...)
	}
	return rest
}
