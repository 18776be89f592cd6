// Package proxy is the request path: authenticate the virtual key, ask the
// policy where the call may go, call the upstream, pass its answer back as
// it arrives, and record what happened. It decides from in-memory models;
// the only shared-state step per request is handing its event to the
// buffered writer.
package proxy

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/key"
	"github.com/gatehouse/gatehouse/domain/provider"
	"github.com/gatehouse/gatehouse/domain/quota"
)

// Keys finds the key a presented secret belongs to.
type Keys interface {
	KeyBySecret(key.SecretHash) (key.Key, bool)
}

// Call is what the policy judges: who calls, for which model, how.
type Call struct {
	Key      key.Key
	Endpoint string
	Model    string
	Metadata map[string]string
}

// Route is where the policy sends a call.
type Route struct {
	Connection    provider.Connection
	UpstreamModel string
}

// Policy is the one seam where the request path consults governance:
// which models a key may use, budgets, limits, routing. It returns a
// *Refusal for a call it refuses.
type Policy interface {
	Decide(ctx context.Context, c Call) (Route, error)
}

// Governance says which budgets and rate limits apply to a key's requests.
type Governance interface {
	Quotas(k key.Key) ([]quota.Budget, []quota.RateLimit)
	Budget(s quota.Subject) (quota.Budget, bool)
}

// Quotas are the shared counters: Admit reserves a request's lines in one
// round trip (or refuses with *quota.Refused); Settle posts what it used,
// off the request path.
type Quotas interface {
	Admit(ctx context.Context, tenantID string, requestID uuid.UUID, lines []quota.Line, now time.Time) ([]int64, error)
	Settle(requestID uuid.UUID, s quota.Settlement)
}

// Upstreams gives the client for a provider connection.
type Upstreams interface {
	For(ctx context.Context, c provider.Connection) (Upstream, error)
}

// Upstream is a provider as the proxy calls it, in OpenAI's dialect.
// Non-2xx answers come back as *UpstreamError.
type Upstream interface {
	ChatCompletion(ctx context.Context, body []byte) (Response, error)
	ChatCompletionStream(ctx context.Context, body []byte) (ChunkStream, error)
}

// Response is a whole non-streamed answer.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
}

// ChunkStream yields the data of each server-sent event as it arrives, in
// OpenAI's chunk format; io.EOF after the last ("[DONE]" is not yielded).
type ChunkStream interface {
	Next() ([]byte, error)
	Close() error
}

// Recorder takes events off the request path: room is reserved before the
// work, so recording afterwards never blocks or fails.
type Recorder interface {
	Reserve(ctx context.Context) (Slot, error)
	// TryReserve takes room only if there is some now: for events that
	// another request will raise again if this one cannot.
	TryReserve() (Slot, bool)
}

// Slot is room for one event.
type Slot interface {
	Submit(eventlog.Envelope)
	Release()
}

// Refusal is a request refused before any upstream call, with its HTTP
// status and the wire code of PRODUCT.md's table.
type Refusal struct {
	Status     int
	Code       string
	Type       string
	Param      string
	Message    string
	RetryAfter time.Duration // when trying again may succeed (429s)
	Limits     *Limits       // the per-minute limit that refused, at nothing remaining
	Verdict    string        // the guardrail verdict that blocked, for x-gatehouse-verdict
}

func (r *Refusal) Error() string { return fmt.Sprintf("%s: %s", r.Code, r.Message) }

// UpstreamError is an upstream's non-2xx answer, or a failure to reach it
// (Status 0). Message is the upstream's own, never its credentials.
type UpstreamError struct {
	Status  int
	Type    string
	Code    string
	Message string
	// RetryAfter is how long the upstream asked to wait (Retry-After), or 0.
	RetryAfter time.Duration
}

func (e *UpstreamError) Error() string {
	return fmt.Sprintf("upstream answered %d: %s", e.Status, e.Message)
}

// ErrUnavailable is the gateway refusing work it could not record.
var ErrUnavailable = eventlog.ErrUnavailable

// ErrClientGone is a failure to deliver the answer to the client: the port
// wraps its write errors with it when it finishes an exchange.
var ErrClientGone = errors.New("client went away")

// ErrInternal is the gateway failing on its own side mid-answer.
var ErrInternal = errors.New("gateway failed mid-answer")

// ClientStatus is the status a client gets for an upstream failure: the
// upstream's own 4xx, or 502 for everything else.
func (e *UpstreamError) ClientStatus() int {
	if e.Status >= 400 && e.Status < 500 {
		return e.Status
	}
	return http.StatusBadGateway
}

func refuse(status int, code, typ, param, format string, args ...any) *Refusal {
	return &Refusal{Status: status, Code: code, Type: typ, Param: param, Message: fmt.Sprintf(format, args...)}
}

var (
	errInvalidKey = refuse(http.StatusUnauthorized, "invalid_api_key", "invalid_request_error", "", "Incorrect API key provided.")
)

// InvalidRequest is a request refused for its content: 400
// invalid_request_error. A provider client returns one for a request its
// provider cannot take (a field it has no equivalent for).
func InvalidRequest(param, format string, args ...any) *Refusal {
	return refuse(http.StatusBadRequest, "invalid_request_error", "invalid_request_error", param, format, args...)
}

// IsRefusal unwraps a refusal.
func IsRefusal(err error) (*Refusal, bool) {
	var r *Refusal
	ok := errors.As(err, &r)
	return r, ok
}
