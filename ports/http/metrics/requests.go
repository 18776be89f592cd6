package metrics

import (
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gatehouse/gatehouse/app/proxy"
)

// Requests turns finished requests into series: counts by provider, model,
// status and cache outcome, durations, time to first token, tokens, cost
// and refusals. The model is the one that answered (empty for a request
// that failed), so a client cannot make series up by asking for models
// that do not exist; keys and users
// are never labels, and the tenant only when the tenant label is on.
type Requests struct {
	tenant   bool
	requests *prometheus.CounterVec
	refusals *prometheus.CounterVec
	duration *prometheus.HistogramVec
	upstream *prometheus.HistogramVec
	gateway  *prometheus.HistogramVec
	ttft     *prometheus.HistogramVec
	tokens   *prometheus.CounterVec
	cost     *prometheus.CounterVec
}

var _ proxy.Observer = (*Requests)(nil)

// latencyBuckets reach from a cache hit to a long generation.
var latencyBuckets = []float64{.005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 120}

// NewRequests builds the request series.
func NewRequests(o Options) *Requests {
	with := func(labels ...string) []string {
		if o.TenantLabel {
			return append([]string{"tenant"}, labels...)
		}
		return labels
	}
	return &Requests{tenant: o.TenantLabel,
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_requests_total",
			Help: "Requests finished, by provider and model that answered, HTTP status and cache outcome (hit, miss, bypass, none)."},
			with("provider", "model", "status", "cache")),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_refusals_total",
			Help: "Requests refused by the gateway, by error code (rate_limit_exceeded, budget_exceeded, guardrail_blocked, model_not_allowed, …)."},
			with("code")),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_request_duration_seconds",
			Help: "Whole requests as the client saw them.", Buckets: latencyBuckets}, with("provider", "model")),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_upstream_duration_seconds",
			Help: "The upstream call that answered, from its start to the request's end.", Buckets: latencyBuckets}, with("provider", "model")),
		gateway: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_gateway_duration_seconds",
			Help:    "The gateway's own work before the first upstream call (authentication, policy, guardrails on the input, routing).",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, 1}}, with()),
		ttft: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gatehouse_time_to_first_token_seconds",
			Help: "Streams: from the request's start to its first chunk sent to the client.", Buckets: latencyBuckets}, with("provider", "model")),
		tokens: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_tokens_total",
			Help: "Tokens of finished requests, by kind (prompt, completion, cached_prompt)."}, with("provider", "model", "kind")),
		cost: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gatehouse_cost_usd_total",
			Help: "What finished requests cost at the tenant's prices, in US dollars."}, with("provider", "model")),
	}
}

// Collectors are the series to register.
func (r *Requests) Collectors() []prometheus.Collector {
	return []prometheus.Collector{r.requests, r.refusals, r.duration, r.upstream, r.gateway, r.ttft, r.tokens, r.cost}
}

// Observe counts a finished request.
func (r *Requests) Observe(o proxy.Observation) {
	labels := func(values ...string) []string {
		if r.tenant {
			return append([]string{o.TenantID}, values...)
		}
		return values
	}
	if o.Rejected {
		r.refusals.WithLabelValues(labels(o.Code)...).Inc()
		return
	}
	model := o.Served
	if o.Provider == "" || o.Status < 200 || o.Status > 299 {
		model = "" // no upstream answered it: the model is only the client's word
	}
	cache := strings.ToLower(o.Cache)
	if cache == "" {
		cache = "none"
	}
	r.requests.WithLabelValues(labels(o.Provider, model, strconv.Itoa(o.Status), cache)...).Inc()
	if o.Code == "guardrail_blocked" { // an answer blocked on its way out
		r.refusals.WithLabelValues(labels(o.Code)...).Inc()
	}
	pm := labels(o.Provider, model)
	r.duration.WithLabelValues(pm...).Observe(o.Duration.Seconds())
	if o.Upstream > 0 {
		r.upstream.WithLabelValues(pm...).Observe(o.Upstream.Seconds())
		r.gateway.WithLabelValues(labels()...).Observe(o.Gateway.Seconds())
	}
	if o.FirstToken > 0 {
		r.ttft.WithLabelValues(pm...).Observe(o.FirstToken.Seconds())
	}
	for kind, n := range map[string]int64{"prompt": o.Tokens.Prompt, "completion": o.Tokens.Completion, "cached_prompt": o.Tokens.CachedPrompt} {
		if n > 0 {
			r.tokens.WithLabelValues(labels(o.Provider, model, kind)...).Add(float64(n))
		}
	}
	if o.CostMicros > 0 {
		r.cost.WithLabelValues(pm...).Add(float64(o.CostMicros) / 1e6)
	}
}

// Writer is the event writer's series: batches' sizes and append
// latencies as they are written, its queue and totals when scraped.
type Writer struct {
	stats     func() (appended, batches int64, buffered int)
	batchSize prometheus.Histogram
	appendLat prometheus.Histogram
	queue     *prometheus.Desc
	appended  *prometheus.Desc
}

// NewWriter builds the writer's series over a reader of its counters.
func NewWriter(stats func() (appended, batches int64, buffered int)) *Writer {
	return &Writer{stats: stats,
		batchSize: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "gatehouse_event_writer_batch_size",
			Help: "Events per batch the writer appended in one transaction.", Buckets: []float64{1, 2, 5, 10, 25, 50, 100, 250, 500, 1000}}),
		appendLat: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "gatehouse_event_append_duration_seconds",
			Help: "How long a batch's append transaction took.", Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 5}}),
		queue: prometheus.NewDesc("gatehouse_event_writer_queue_depth", "Events held in memory waiting to be appended.", nil, nil),
		appended: prometheus.NewDesc("gatehouse_events_appended_total",
			"Events the writer appended (request traffic; admin changes are appended as they are made).", nil, nil),
	}
}

// OnBatch is the writer's hook.
func (w *Writer) OnBatch(size int, took time.Duration) {
	w.batchSize.Observe(float64(size))
	w.appendLat.Observe(took.Seconds())
}

func (w *Writer) Describe(ch chan<- *prometheus.Desc) {
	w.batchSize.Describe(ch)
	w.appendLat.Describe(ch)
	ch <- w.queue
	ch <- w.appended
}

func (w *Writer) Collect(ch chan<- prometheus.Metric) {
	w.batchSize.Collect(ch)
	w.appendLat.Collect(ch)
	if w.stats == nil {
		return
	}
	appended, _, buffered := w.stats()
	ch <- prometheus.MustNewConstMetric(w.queue, prometheus.GaugeValue, float64(buffered))
	ch <- prometheus.MustNewConstMetric(w.appended, prometheus.CounterValue, float64(appended))
}
