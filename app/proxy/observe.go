package proxy

import (
	"context"
	"log/slog"
	"time"

	"github.com/gatehouse/gatehouse/domain/usage"
)

// Observation is a finished request as metrics and the request log line
// see it: never its key's secret, its prompt or its answer.
type Observation struct {
	TenantID   string
	KeyID      string
	TraceID    string
	Endpoint   string
	Model      string // as asked
	Provider   string // the connection that answered; "" when none was called
	Served     string // the upstream model that answered
	Stream     bool
	Status     int
	Code       string // the error code, or ""
	Rejected   bool   // refused before any upstream call
	Cache      string // HIT, MISS, BYPASS or ""
	Tokens     usage.Tokens
	CostMicros int64
	Duration   time.Duration // the whole request
	Upstream   time.Duration // the last upstream call
	Gateway    time.Duration // the gateway's work before the first upstream call
	FirstToken time.Duration // a stream's first chunk
}

// Observer hears of every finished request (metrics, the log line, traces).
type Observer interface {
	Observe(Observation)
}

// Observers is several observers heard in turn.
type Observers []Observer

// Observe tells each.
func (o Observers) Observe(ob Observation) {
	for _, x := range o {
		x.Observe(ob)
	}
}

func (s *Service) observe(x *Exchange, ob Observation) {
	if s.Observer == nil {
		return
	}
	ob.TenantID, ob.KeyID, ob.TraceID, ob.Endpoint, ob.Model = x.key.TenantID, x.key.ID.String(), x.TraceID, x.in.Endpoint, x.model
	ob.Provider, ob.Served, ob.Stream = x.Provider, x.UpstreamModel, x.Stream
	s.Observer.Observe(ob)
}

// since is the time from a start to an end, 0 when either is unknown.
func since(start, end time.Time) time.Duration {
	if start.IsZero() || end.IsZero() {
		return 0
	}
	return end.Sub(start)
}

// LogLine writes one line per finished request at info: who, what, how it
// ended and how long it took; never a secret or a payload.
type LogLine struct{ Log *slog.Logger }

// Observe writes the line.
func (l LogLine) Observe(o Observation) {
	if !l.Log.Enabled(context.Background(), slog.LevelInfo) {
		return
	}
	attrs := []slog.Attr{slog.String("trace_id", o.TraceID), slog.String("tenant", o.TenantID), slog.String("key_id", o.KeyID),
		slog.String("endpoint", o.Endpoint), slog.String("model", o.Model), slog.Int("status", o.Status),
		slog.Float64("latency_ms", ms(o.Duration))}
	if o.Provider != "" {
		attrs = append(attrs, slog.String("provider", o.Provider), slog.String("served_model", o.Served))
	}
	if o.Code != "" {
		attrs = append(attrs, slog.String("code", o.Code))
	}
	if o.Cache != "" {
		attrs = append(attrs, slog.String("cache", o.Cache))
	}
	l.Log.LogAttrs(context.Background(), slog.LevelInfo, "request", attrs...)
}
