// Package eventcodec turns domain events into the exact bytes the event log
// stores and hashes, and back. It is the one place that serialisation lives;
// docs/event-log.md describes the layout for auditors.
package eventcodec

import (
	"encoding/json"
	"fmt"
	"reflect"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/eventlog"
)

// record is the stored layout. Field order is part of the format: the hash
// covers these bytes exactly as written.
type record struct {
	Tenant     string          `json:"tenant"`
	Seq        int64           `json:"seq"`
	Stream     string          `json:"stream"`
	Version    int             `json:"version"`
	ID         uuid.UUID       `json:"id"`
	Type       string          `json:"type"`
	OccurredAt string          `json:"occurred_at"`
	Actor      string          `json:"actor"`
	Role       string          `json:"role,omitempty"` // the actor's roles, for an admin's action
	TraceID    string          `json:"trace_id"`
	Data       json.RawMessage `json:"data"`
}

// TimeLayout is how occurred_at is written: UTC, microseconds, as Postgres keeps it.
const TimeLayout = "2006-01-02T15:04:05.000000Z"

// Unknown is an event whose type this build does not know; its data is kept raw.
type Unknown struct {
	Type string
	Data json.RawMessage
}

func (u Unknown) EventType() string { return u.Type }
func (Unknown) EventVersion() int   { return 0 }

// Registry maps event type names to their Go types.
type Registry struct {
	types map[string]reflect.Type
}

// NewRegistry registers prototypes of every event type the log may hold.
func NewRegistry(prototypes ...eventlog.Event) *Registry {
	r := &Registry{types: make(map[string]reflect.Type, len(prototypes))}
	for _, p := range prototypes {
		name := p.EventType()
		if _, dup := r.types[name]; dup {
			panic("eventcodec: event type registered twice: " + name)
		}
		r.types[name] = reflect.TypeOf(p)
	}
	return r
}

// Encode writes the record bytes of an envelope at the given tenant sequence.
func (r *Registry) Encode(env eventlog.Envelope, seq int64) ([]byte, error) {
	if _, ok := r.types[env.Event.EventType()]; !ok {
		return nil, fmt.Errorf("encode event: type %q is not registered", env.Event.EventType())
	}
	data, err := json.Marshal(env.Event)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", env.Event.EventType(), err)
	}
	return json.Marshal(record{
		Tenant:     env.TenantID,
		Seq:        seq,
		Stream:     env.StreamID,
		Version:    env.Version,
		ID:         env.ID,
		Type:       env.Event.EventType(),
		OccurredAt: env.OccurredAt.UTC().Format(TimeLayout),
		Actor:      env.Actor,
		Role:       env.Role,
		TraceID:    env.TraceID,
		Data:       data,
	})
}

// Decode reads record bytes back into an envelope and its tenant sequence.
func (r *Registry) Decode(b []byte) (eventlog.Envelope, int64, error) {
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return eventlog.Envelope{}, 0, fmt.Errorf("decode record: %w", err)
	}
	at, err := time.Parse(TimeLayout, rec.OccurredAt)
	if err != nil {
		return eventlog.Envelope{}, 0, fmt.Errorf("decode record occurred_at: %w", err)
	}
	env := eventlog.Envelope{
		ID: rec.ID, TenantID: rec.Tenant, StreamID: rec.Stream, Version: rec.Version,
		OccurredAt: at, Actor: rec.Actor, Role: rec.Role, TraceID: rec.TraceID,
	}
	t, ok := r.types[rec.Type]
	if !ok {
		env.Event = Unknown{Type: rec.Type, Data: rec.Data}
		return env, rec.Seq, nil
	}
	ptr := reflect.New(t)
	if err := json.Unmarshal(rec.Data, ptr.Interface()); err != nil {
		return eventlog.Envelope{}, 0, fmt.Errorf("decode %s data: %w", rec.Type, err)
	}
	env.Event = ptr.Elem().Interface().(eventlog.Event)
	return env, rec.Seq, nil
}

// Header is everything a record says about its event but the event's
// fields, which stay raw: what the event feed shows, read from the bytes
// the hash covers rather than from columns beside them.
type Header struct {
	TenantID   string
	Seq        int64
	StreamID   string
	Version    int
	ID         uuid.UUID
	Type       string
	OccurredAt time.Time
	Actor      string
	Role       string
	TraceID    string
	Data       json.RawMessage // byte for byte as stored
}

// ReadFullHeader reads a record's header without knowing its event type.
func ReadFullHeader(b []byte) (Header, error) {
	var rec record
	if err := json.Unmarshal(b, &rec); err != nil {
		return Header{}, fmt.Errorf("decode record: %w", err)
	}
	at, err := time.Parse(TimeLayout, rec.OccurredAt)
	if err != nil {
		return Header{}, fmt.Errorf("decode record occurred_at: %w", err)
	}
	return Header{TenantID: rec.Tenant, Seq: rec.Seq, StreamID: rec.Stream, Version: rec.Version, ID: rec.ID,
		Type: rec.Type, OccurredAt: at, Actor: rec.Actor, Role: rec.Role, TraceID: rec.TraceID, Data: rec.Data}, nil
}

// ReadHeader extracts the tenant and sequence a record claims; the chain
// verifier uses it without knowing any event type.
func ReadHeader(b []byte) (eventlog.Header, error) {
	var rec struct {
		Tenant string `json:"tenant"`
		Seq    int64  `json:"seq"`
	}
	if err := json.Unmarshal(b, &rec); err != nil {
		return eventlog.Header{}, err
	}
	return eventlog.Header{TenantID: rec.Tenant, Seq: rec.Seq}, nil
}

// Types are the event types registered.
func (r *Registry) Types() []string {
	out := make([]string, 0, len(r.types))
	for t := range r.types {
		out = append(out, t)
	}
	return out
}
