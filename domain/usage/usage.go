// Package usage owns what traffic leaves behind: the record of each request
// the gateway answered or refused, its tokens and its cost.
package usage

import (
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/eventlog"
)

// Micros is money in millionths of a US dollar. Never a float.
type Micros int64

// USD renders micro-dollars as dollars for the wire.
func (m Micros) USD() float64 { return float64(m) / 1e6 }

// Tokens counted for one request.
type Tokens struct {
	Prompt       int64 `json:"prompt"`
	Completion   int64 `json:"completion"`
	CachedPrompt int64 `json:"cached_prompt,omitempty"`
	// CacheWritePrompt are prompt tokens written to the provider's cache
	// (Anthropic's cache creation), which cost more than the others.
	CacheWritePrompt int64 `json:"cache_write_prompt,omitempty"`
}

// Add sums two counts.
func (t Tokens) Add(o Tokens) Tokens {
	return Tokens{Prompt: t.Prompt + o.Prompt, Completion: t.Completion + o.Completion,
		CachedPrompt: t.CachedPrompt + o.CachedPrompt, CacheWritePrompt: t.CacheWritePrompt + o.CacheWritePrompt}
}

// RequestCompleted records a request the gateway sent upstream and answered.
type RequestCompleted struct {
	V             int        `json:"v"`
	RequestID     uuid.UUID  `json:"request_id"`
	KeyID         uuid.UUID  `json:"key_id"`
	TeamID        *uuid.UUID `json:"team_id,omitempty"` // the key's team when the request ran
	Endpoint      string     `json:"endpoint"`
	Model         string     `json:"model"`
	Provider      string     `json:"provider"`
	UpstreamModel string     `json:"upstream_model"`
	Stream        bool       `json:"stream"`
	Status        int        `json:"status"`
	ErrorCode     string     `json:"error_code,omitempty"`
	Tokens        Tokens     `json:"tokens"`
	// UsageEstimated: the upstream answered without reporting usage, and
	// Tokens is the request's worst case (never nothing).
	UsageEstimated bool `json:"usage_estimated,omitempty"`
	// Interrupted: the upstream broke a stream after bytes reached the
	// client, which got an error event and no clean end.
	Interrupted  bool              `json:"interrupted,omitempty"`
	CostMicros   Micros            `json:"cost_micros"`
	Priced       bool              `json:"priced"`
	DurationMs   float64           `json:"duration_ms"`              // the whole request, as the client saw it
	UpstreamMs   float64           `json:"upstream_ms"`              // from the last upstream call's start to the end
	GatewayMs    float64           `json:"gateway_ms,omitempty"`     // the gateway's own work before the first upstream call
	FirstTokenMs float64           `json:"first_token_ms,omitempty"` // a stream's first chunk, from the request's start
	Metadata     map[string]string `json:"metadata,omitempty"`
	Routing
	Guardrails []VerdictRef `json:"guardrails,omitempty"`
	// PayloadDigest is the StoredPayload.Digest of the bodies stored for a
	// key or team that logs them; empty when none were.
	PayloadDigest string `json:"payload_digest,omitempty"`
}

// VerdictRef names a guardrail verdict of a request.
type VerdictRef struct {
	VerdictID uuid.UUID `json:"verdict_id"`
	Guardrail string    `json:"guardrail"`
	Stage     string    `json:"stage"`
	Outcome   string    `json:"outcome"`
	Action    string    `json:"action"`
}

func (RequestCompleted) EventType() string { return "request.completed" }

// WithoutSidecar is the event written without its stored bodies: no digest.
func (e RequestCompleted) WithoutSidecar() eventlog.Event {
	e.PayloadDigest = ""
	return e
}
func (RequestCompleted) EventVersion() int { return 1 }

// Succeeded reports whether the upstream answered with success.
func (e RequestCompleted) Succeeded() bool { return e.Status >= 200 && e.Status < 300 }

// RequestRejected records a request the gateway refused before any upstream call.
type RequestRejected struct {
	V         int               `json:"v"`
	RequestID uuid.UUID         `json:"request_id"`
	KeyID     uuid.UUID         `json:"key_id"`
	TeamID    *uuid.UUID        `json:"team_id,omitempty"`
	Endpoint  string            `json:"endpoint"`
	Model     string            `json:"model,omitempty"`
	Status    int               `json:"status"`
	Code      string            `json:"code"`
	Reason    string            `json:"reason"`
	Metadata  map[string]string `json:"metadata,omitempty"`
	Routing
	Guardrails []VerdictRef `json:"guardrails,omitempty"`
}

// Routing is how a request routed by a config went: the config and its
// version, the target that answered, and every attempt made, in order.
type Routing struct {
	Config        string    `json:"config,omitempty"` // "inline" for a config sent with the request
	ConfigVersion int       `json:"config_version,omitempty"`
	Target        string    `json:"target,omitempty"`
	Retries       int       `json:"retries,omitempty"`
	Attempts      []Attempt `json:"attempts,omitempty"`
	// Cache is the exact cache's outcome: hit (answered from it, at no
	// cost), miss, refresh (not read, written) or bypass (neither).
	Cache string `json:"cache,omitempty"`
}

// Attempt is one call to one target.
type Attempt struct {
	Target    string  `json:"target"`
	Provider  string  `json:"provider"`
	Model     string  `json:"model"`
	Status    int     `json:"status"` // 0: no answer (a connection error, a timeout)
	Error     string  `json:"error,omitempty"`
	LatencyMs float64 `json:"latency_ms"`
	Retry     bool    `json:"retry"` // a retry of the target before it
	Cached    bool    `json:"cached,omitempty"`
	// Continuation: the attempt continued a stream another target cut.
	Continuation bool `json:"continuation,omitempty"`
}

func (RequestRejected) EventType() string { return "request.rejected" }
func (RequestRejected) EventVersion() int { return 1 }

// StreamID is a request's own single-event stream.
func StreamID(requestID uuid.UUID) string { return "request:" + requestID.String() }

// Hour is the spend bucket an instant falls in.
func Hour(t time.Time) time.Time { return t.UTC().Truncate(time.Hour) }
