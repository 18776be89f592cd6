// Package eventlog says what a recorded fact is to gatehouse: the envelope
// every event carries, the per-tenant hash chain that makes the log
// tamper-evident, and the errors an append can meet.
package eventlog

import (
	"errors"
	"fmt"
	"time"

	"github.com/google/uuid"
)

// Event is a domain event. Its type name and version are stable strings set
// by hand, never derived from the Go type, so a rename orphans nothing.
type Event interface {
	EventType() string
	EventVersion() int
}

// Envelope is an event with what the log needs to place and attribute it.
type Envelope struct {
	ID         uuid.UUID // idempotency key: a retried append with the same ID is written once
	TenantID   string
	StreamID   string
	Version    int // the stream version this event takes
	OccurredAt time.Time
	Actor      string // JWT subject for admin actions, key id for traffic
	Role       string // the admin's roles, comma-separated; empty for traffic
	TraceID    string
	Event      Event
	// Sidecar is state written beside the event in its transaction, never
	// in the record (a request's stored bodies); nil for none.
	Sidecar any
}

// Recorded is an event as the log holds it.
type Recorded struct {
	Envelope
	Position int64  // global position, increasing within a tenant in commit order
	Seq      int64  // per-tenant sequence, gap-free from 1
	Record   []byte // the exact stored bytes the hash covers
	PrevHash Hash
	Hash     Hash
}

// ErrConflict is returned when a stream moved past the expected version.
var ErrConflict = errors.New("stream version conflict")

// ConflictError names the stream and versions of a clash; it matches ErrConflict.
type ConflictError struct {
	StreamID string
	Expected int
	Actual   int
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("stream %s is at version %d, expected %d", e.StreamID, e.Actual, e.Expected)
}

func (e *ConflictError) Is(target error) bool { return target == ErrConflict }

// ErrUnavailable is returned when the log cannot take an event now (the
// buffer in front of it is full, or it is shutting down).
var ErrUnavailable = errors.New("event log unavailable")

// Meta is who did something, when, and under which trace: what every event
// of one command shares.
type Meta struct {
	Actor      string
	Role       string // the actor's roles, comma-separated, for an admin's action
	TraceID    string
	OccurredAt time.Time
}

// Envelope wraps an event of a stream with this metadata.
func (m Meta) Envelope(id uuid.UUID, tenantID, streamID string, version int, e Event) Envelope {
	return Envelope{ID: id, TenantID: tenantID, StreamID: streamID, Version: version,
		OccurredAt: m.OccurredAt, Actor: m.Actor, Role: m.Role, TraceID: m.TraceID, Event: e}
}
