// Package postgres is gatehouse's storage: the event log (append with
// optimistic concurrency and the per-tenant hash chain), the batch writer in
// front of it, projections and their checkpoints, and sealed credentials.
// sqlc's generated types (package db) never leave this package.
package postgres

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse/gatehouse/adapters/eventcodec"
	"github.com/gatehouse/gatehouse/adapters/postgres/db"
	"github.com/gatehouse/gatehouse/app/query"
	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// EventStore appends to and reads from the event log.
type EventStore struct {
	pool  *pgxpool.Pool
	codec *eventcodec.Registry

	mu        sync.RWMutex
	observers []func([]eventlog.Recorded)
}

// NewEventStore builds the store over a pool and the event registry.
func NewEventStore(pool *pgxpool.Pool, codec *eventcodec.Registry) *EventStore {
	if pool == nil || codec == nil {
		panic("postgres.NewEventStore: nil dependency")
	}
	return &EventStore{pool: pool, codec: codec}
}

// Observe registers fn to see every batch this store commits, in commit
// order, right after the commit. The local in-memory models use it so a
// change is effective on this replica before the admin call returns.
func (s *EventStore) Observe(fn func([]eventlog.Recorded)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.observers = append(s.observers, fn)
}

// CheckVersions chooses whether an append checks each stream's version.
type CheckVersions bool

const (
	// Expect: each stream's first envelope must take the version right after
	// the stream's current one; otherwise a *eventlog.ConflictError.
	Expect CheckVersions = true
	// Unchecked: only the unique (tenant, stream, version) constraint guards;
	// for streams written once, such as a request's record.
	Unchecked CheckVersions = false
)

// Append writes envelopes in one transaction. Envelopes whose ID is already
// in the log are skipped, so a retried append is a no-op. It returns what
// it wrote.
func (s *EventStore) Append(ctx context.Context, check CheckVersions, envs ...eventlog.Envelope) ([]eventlog.Recorded, error) {
	return s.AppendWith(ctx, check, nil, envs...)
}

// AppendWith is Append with extra writes in the same transaction (state
// that must exist exactly when its event does, such as sealed credentials).
func (s *EventStore) AppendWith(ctx context.Context, check CheckVersions, extra func(context.Context, pgx.Tx) error, envs ...eventlog.Envelope) ([]eventlog.Recorded, error) {
	return s.appendAll(ctx, check, mayBeRetry, extra, envs)
}

// retried says whether an append may repeat one that already committed.
type retried bool

const (
	mayBeRetry retried = true
	// firstAttempt skips the lookup of already-written event ids: the writer
	// knows its first try of a batch cannot repeat anything (and the unique
	// constraint would refuse it if it did).
	firstAttempt retried = false
)

func (s *EventStore) appendAll(ctx context.Context, check CheckVersions, again retried, extra func(context.Context, pgx.Tx) error, envs []eventlog.Envelope) ([]eventlog.Recorded, error) {
	if len(envs) == 0 {
		return nil, nil
	}
	var out []eventlog.Recorded
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		var err error
		out, err = s.appendTx(ctx, tx, check, again, envs)
		if err != nil {
			return err
		}
		if extra != nil {
			return extra(ctx, tx)
		}
		return nil
	})
	if err != nil {
		return nil, translateAppendError(err)
	}
	s.notify(out)
	return out, nil
}

func (s *EventStore) notify(recs []eventlog.Recorded) {
	if len(recs) == 0 {
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, fn := range s.observers {
		fn(recs)
	}
}

// errEncode is an event that cannot be turned into a record.
var errEncode = errors.New("event does not encode")

type streamKey struct{ tenant, stream string }

type eventKey struct {
	tenant string
	id     uuid.UUID
}

func (s *EventStore) appendTx(ctx context.Context, tx pgx.Tx, check CheckVersions, again retried, envs []eventlog.Envelope) ([]eventlog.Recorded, error) {
	q := db.New(tx)

	tenants := make([]string, 0, 4)
	tenantIDs := make([]string, len(envs))
	eventIDs := make([]uuid.UUID, len(envs))
	first := map[streamKey]int{} // lowest version per stream in this append
	for i, e := range envs {
		if e.TenantID == "" || e.StreamID == "" || e.Event == nil || e.ID == uuid.Nil {
			return nil, fmt.Errorf("append: envelope %d lacks tenant, stream, id or event", i)
		}
		if e.Version < 1 {
			return nil, fmt.Errorf("append: envelope %d has version %d", i, e.Version)
		}
		if !slices.Contains(tenants, e.TenantID) {
			tenants = append(tenants, e.TenantID)
		}
		tenantIDs[i], eventIDs[i] = e.TenantID, e.ID
		k := streamKey{e.TenantID, e.StreamID}
		if v, ok := first[k]; !ok || e.Version < v {
			first[k] = e.Version
		}
	}
	slices.Sort(tenants)

	// Lock the heads first: everything after this sees the tenants' logs
	// as they are, and no other appender of these tenants can interleave.
	heads, err := q.LockTenantHeads(ctx, tenants)
	if err != nil {
		return nil, fmt.Errorf("lock tenant heads: %w", err)
	}
	type head struct {
		seq  int64
		hash eventlog.Hash
	}
	state := make(map[string]*head, len(heads))
	for _, h := range heads {
		hash, err := eventlog.ParseHash(h.Hash)
		if err != nil {
			return nil, fmt.Errorf("tenant %s head: %w", h.TenantID, err)
		}
		state[h.TenantID] = &head{seq: h.Seq, hash: hash}
	}

	seen := make(map[eventKey]bool)
	if again {
		existing, err := q.ExistingEventIDs(ctx, db.ExistingEventIDsParams{TenantIds: tenantIDs, EventIds: eventIDs})
		if err != nil {
			return nil, fmt.Errorf("find retried events: %w", err)
		}
		for _, e := range existing {
			seen[eventKey{e.TenantID, e.EventID}] = true
		}
	}

	if check {
		for k, v := range first {
			cur, err := q.StreamVersion(ctx, db.StreamVersionParams{TenantID: k.tenant, StreamID: k.stream})
			if err != nil {
				return nil, fmt.Errorf("read stream version: %w", err)
			}
			if int(cur) != v-1 && !allSeen(envs, seen, k) {
				return nil, &eventlog.ConflictError{StreamID: k.stream, Expected: v - 1, Actual: int(cur)}
			}
		}
	}

	rows := make([]db.InsertEventsParams, 0, len(envs))
	out := make([]eventlog.Recorded, 0, len(envs))
	for _, e := range envs {
		if seen[eventKey{e.TenantID, e.ID}] {
			continue
		}
		seen[eventKey{e.TenantID, e.ID}] = true // a duplicate inside one batch is written once
		h := state[e.TenantID]
		e.OccurredAt = e.OccurredAt.UTC().Truncate(time.Microsecond)
		seq := h.seq + 1
		rec, err := s.codec.Encode(e, seq)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errEncode, err)
		}
		prev := h.hash // a copy: the head moves on below
		hash := eventlog.ChainHash(prev, rec)
		rows = append(rows, db.InsertEventsParams{
			TenantID: e.TenantID, Seq: seq, StreamID: e.StreamID, StreamVersion: int32(e.Version),
			EventID: e.ID, Type: e.Event.EventType(), OccurredAt: e.OccurredAt, Actor: e.Actor,
			TraceID: e.TraceID, Record: rec, PrevHash: prev[:], Hash: hash[:],
		})
		out = append(out, eventlog.Recorded{Envelope: e, Seq: seq, Record: rec, PrevHash: prev, Hash: hash})
		h.seq, h.hash = seq, hash
	}
	if len(rows) == 0 {
		return nil, nil
	}
	if _, err := q.InsertEvents(ctx, rows); err != nil {
		return nil, fmt.Errorf("insert events: %w", err)
	}
	for _, r := range out {
		if p, ok := r.Sidecar.(*usage.StoredPayload); ok {
			if err := q.InsertPayload(ctx, db.InsertPayloadParams{TenantID: p.TenantID, RequestID: p.RequestID, Request: p.Request,
				Response: p.Response, RequestTruncated: p.RequestTruncated, ResponseTruncated: p.ResponseTruncated,
				StoredAt: p.StoredAt, ExpiresAt: p.ExpiresAt}); err != nil {
				return nil, fmt.Errorf("store a request's bodies: %w", err)
			}
		}
	}
	adv := db.AdvanceTenantHeadsParams{}
	for _, t := range tenants {
		h := state[t]
		adv.TenantIds = append(adv.TenantIds, t)
		adv.Seqs = append(adv.Seqs, h.seq)
		hash := h.hash
		adv.Hashes = append(adv.Hashes, hash[:])
	}
	if err := q.AdvanceTenantHeads(ctx, adv); err != nil {
		return nil, fmt.Errorf("advance tenant heads: %w", err)
	}
	return out, nil
}

// allSeen reports whether every envelope of a stream was already written:
// a retried append, which must stay a no-op rather than a conflict.
func allSeen(envs []eventlog.Envelope, seen map[eventKey]bool, k streamKey) bool {
	for _, e := range envs {
		if e.TenantID == k.tenant && e.StreamID == k.stream && !seen[eventKey{e.TenantID, e.ID}] {
			return false
		}
	}
	return true
}

func translateAppendError(err error) error {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && pgErr.Code == "23505" && pgErr.ConstraintName == "events_stream_version" {
		return fmt.Errorf("%w: %s", eventlog.ErrConflict, pgErr.Detail)
	}
	return err
}

// ReadStream returns a stream's events in version order.
func (s *EventStore) ReadStream(ctx context.Context, tenantID, streamID string) ([]eventlog.Recorded, error) {
	rows, err := db.New(s.pool).ReadStream(ctx, db.ReadStreamParams{TenantID: tenantID, StreamID: streamID})
	if err != nil {
		return nil, fmt.Errorf("read stream %s: %w", streamID, err)
	}
	return s.decodeRows(rows)
}

// VerifyTenant walks a tenant's whole chain from genesis and checks it
// against the head row; it returns the verified length.
func (s *EventStore) VerifyTenant(ctx context.Context, tenantID string) (int64, error) {
	v := eventlog.NewVerifier(tenantID, eventcodec.ReadHeader)
	var after int64
	for {
		rows, err := db.New(s.pool).TenantChainAfter(ctx, db.TenantChainAfterParams{TenantID: tenantID, AfterSeq: after, MaxRows: 1000})
		if err != nil {
			return 0, fmt.Errorf("read tenant chain: %w", err)
		}
		for _, r := range rows {
			l, err := link(r)
			if err != nil {
				return 0, err
			}
			if err := v.Next(l); err != nil {
				return 0, err
			}
			if err := columnsMatchRecord(r); err != nil {
				return 0, err
			}
			after = r.Seq
		}
		if len(rows) < 1000 {
			break
		}
	}
	seq, hash := v.Head()
	head, err := db.New(s.pool).TenantHead(ctx, tenantID)
	if errors.Is(err, pgx.ErrNoRows) && seq == 0 {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read tenant head: %w", err)
	}
	if head.Seq != seq {
		return 0, &eventlog.ChainError{Seq: seq + 1, Reason: fmt.Sprintf("head says %d events, chain has %d (events removed from the end)", head.Seq, seq)}
	}
	if hh, _ := eventlog.ParseHash(head.Hash); hh != hash {
		return 0, &eventlog.ChainError{Seq: seq, Reason: "head hash does not match the last event"}
	}
	return seq, nil
}

// columnsMatchRecord checks the columns stored beside a verified record
// against it: the record is what the hash covers, the columns only serve
// queries, and an edit to them alone must not go unnoticed.
func columnsMatchRecord(r db.Event) error {
	h, err := eventcodec.ReadFullHeader(r.Record)
	if err != nil {
		return &eventlog.ChainError{Seq: r.Seq, Reason: "record unreadable: " + err.Error()}
	}
	if h.StreamID != r.StreamID || h.Version != int(r.StreamVersion) || h.ID != r.EventID || h.Type != r.Type ||
		!h.OccurredAt.Equal(r.OccurredAt) || h.Actor != r.Actor || h.TraceID != r.TraceID {
		return &eventlog.ChainError{Seq: r.Seq, Reason: "columns stored beside the record do not match it"}
	}
	return nil
}

func link(r db.Event) (eventlog.Link, error) {
	prev, err := eventlog.ParseHash(r.PrevHash)
	if err != nil {
		return eventlog.Link{}, &eventlog.ChainError{Seq: r.Seq, Reason: "prev_hash: " + err.Error()}
	}
	hash, err := eventlog.ParseHash(r.Hash)
	if err != nil {
		return eventlog.Link{}, &eventlog.ChainError{Seq: r.Seq, Reason: "hash: " + err.Error()}
	}
	return eventlog.Link{Seq: r.Seq, Record: r.Record, PrevHash: prev, Hash: hash}, nil
}

func (s *EventStore) decodeRows(rows []db.Event) ([]eventlog.Recorded, error) {
	out := make([]eventlog.Recorded, 0, len(rows))
	for _, r := range rows {
		rec, err := s.decode(r)
		if err != nil {
			return nil, err
		}
		out = append(out, rec)
	}
	return out, nil
}

func (s *EventStore) decode(r db.Event) (eventlog.Recorded, error) {
	env, _, err := s.codec.Decode(r.Record)
	if err != nil {
		return eventlog.Recorded{}, fmt.Errorf("event at position %d: %w", r.Position, err)
	}
	l, err := link(r)
	if err != nil {
		return eventlog.Recorded{}, err
	}
	return eventlog.Recorded{Envelope: env, Position: r.Position, Seq: r.Seq, Record: r.Record, PrevHash: l.PrevHash, Hash: l.Hash}, nil
}

// TenantFeed pages a tenant's events as the raw feed shows them, read from
// the stored records.
func (s *EventStore) TenantFeed(ctx context.Context, tenantID string, after int64, limit int) ([]query.EventView, error) {
	rows, err := db.New(s.pool).TenantEventsAfter(ctx, db.TenantEventsAfterParams{TenantID: tenantID, After: after, MaxRows: int32(limit)})
	if err != nil {
		return nil, fmt.Errorf("read tenant events: %w", err)
	}
	return eventViews(rows)
}

// eventViews are rows as the feed shows them, read from the stored records.
func eventViews(rows []db.Event) ([]query.EventView, error) {
	out := make([]query.EventView, len(rows))
	for i, r := range rows {
		h, err := eventcodec.ReadFullHeader(r.Record)
		if err != nil {
			return nil, fmt.Errorf("event at position %d: %w", r.Position, err)
		}
		out[i] = query.EventView{
			Position: r.Position, ID: h.ID, Seq: h.Seq, StreamID: h.StreamID, Version: h.Version, Type: h.Type,
			TenantID: h.TenantID, OccurredAt: h.OccurredAt, Actor: h.Actor, Role: h.Role, TraceID: h.TraceID,
			PrevHash: hex.EncodeToString(r.PrevHash), Hash: hex.EncodeToString(r.Hash), Data: h.Data, Record: r.Record,
		}
	}
	return out, nil
}

// TenantGovernance reads a tenant's events but its traffic, in order.
func (s *EventStore) TenantGovernance(ctx context.Context, tenantID string) ([]eventlog.Recorded, error) {
	rows, err := db.New(s.pool).TenantGovernance(ctx, tenantID)
	if err != nil {
		return nil, fmt.Errorf("read tenant governance: %w", err)
	}
	return s.decodeRows(rows)
}
