package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/adapters/eventcodec"
	"github.com/gatehouse/gatehouse/adapters/postgres"
	"github.com/gatehouse/gatehouse/adapters/postgres/pgtest"
	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/usage"
)

func TestWriter_CloseDrainsEveryBufferedEvent(t *testing.T) {
	pool := pgtest.NewPool(t)
	store := postgres.NewEventStore(pool, eventcodec.Gatehouse())
	w := postgres.NewWriter(store, postgres.WriterConfig{Capacity: 5000, MaxBatch: 200}, quiet)
	ctx := context.Background()

	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 250; i++ {
				slot, err := w.Reserve(ctx)
				if err != nil {
					t.Error(err)
					return
				}
				slot.Submit(requestEvent("acme"))
			}
		}()
	}
	wg.Wait()
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := w.Close(cctx); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE tenant_id = 'acme'`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	if n != 2000 {
		t.Fatalf("want 2000 events after close, found %d", n)
	}
	if st := w.Stats(); st.Batches >= 2000 {
		t.Fatalf("events were not batched: %d batches for 2000 events", st.Batches)
	}
	if _, err := w.Reserve(ctx); !errors.Is(err, eventlog.ErrUnavailable) {
		t.Fatalf("reserve after close: %v", err)
	}
}

func TestWriter_FullBufferRefusesInsteadOfLosing(t *testing.T) {
	pool := pgtest.NewPool(t)
	store := postgres.NewEventStore(pool, eventcodec.Gatehouse())
	w := postgres.NewWriter(store, postgres.WriterConfig{Capacity: 2, MaxWait: 20 * time.Millisecond}, quiet)
	ctx := context.Background()
	a, err := w.Reserve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := w.Reserve(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Reserve(ctx); !errors.Is(err, eventlog.ErrUnavailable) {
		t.Fatalf("third reservation in a buffer of two: %v", err)
	}
	a.Release()
	c, err := w.Reserve(ctx)
	if err != nil {
		t.Fatalf("room given back was not reusable: %v", err)
	}
	b.Submit(requestEvent("acme"))
	c.Submit(requestEvent("acme"))
	if err := w.Close(ctx); err != nil {
		t.Fatal(err)
	}
	var n int
	pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n)
	if n != 2 {
		t.Fatalf("want 2 events, found %d", n)
	}
}

func TestWriter_KeepsEventsWhileTheDatabaseIsDownAndWritesThemAfter(t *testing.T) {
	pool := pgtest.NewPool(t)
	store := postgres.NewEventStore(pool, eventcodec.Gatehouse())
	w := postgres.NewWriter(store, postgres.WriterConfig{Capacity: 100}, quiet)
	ctx := context.Background()
	// Take the log away: appends fail until it is back.
	if _, err := pool.Exec(ctx, `ALTER TABLE events RENAME TO events_away`); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 10; i++ {
		slot, err := w.Reserve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		slot.Submit(requestEvent("acme"))
	}
	deadline := time.Now().Add(5 * time.Second)
	for w.Healthy() == nil && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if w.Healthy() == nil {
		t.Fatal("writer reports healthy while appends fail")
	}
	if _, err := pool.Exec(ctx, `ALTER TABLE events_away RENAME TO events`); err != nil {
		t.Fatal(err)
	}
	cctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	if err := w.Close(cctx); err != nil {
		t.Fatal(err)
	}
	var n int
	pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n)
	if n != 10 {
		t.Fatalf("want the 10 events kept through the outage, found %d", n)
	}
}

// unregistered is an event type the codec does not know: it can never be written.
type unregistered struct{}

func (unregistered) EventType() string { return "test.unregistered" }
func (unregistered) EventVersion() int { return 1 }

func TestWriter_AnEventThatCanNeverBeWrittenDoesNotHoldUpTheOthers(t *testing.T) {
	pool := pgtest.NewPool(t)
	store := postgres.NewEventStore(pool, eventcodec.Gatehouse())
	w := postgres.NewWriter(store, postgres.WriterConfig{Capacity: 100, Shards: 1, Linger: 50 * time.Millisecond}, quiet)
	ctx := context.Background()
	bad := requestEvent("acme")
	bad.Event = unregistered{}
	for _, e := range []eventlog.Envelope{requestEvent("acme"), bad, requestEvent("acme")} {
		slot, err := w.Reserve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		slot.Submit(e)
	}
	cctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if err := w.Close(cctx); err != nil {
		t.Fatalf("the writer is stuck on an event it cannot write: %v", err)
	}
	var n int
	pool.QueryRow(ctx, `SELECT count(*) FROM events`).Scan(&n)
	if n != 2 {
		t.Fatalf("want the 2 good events written, found %d", n)
	}
}

// TestWriter_BoundsTheStoredBodiesItHolds: past its bytes of sidecars, an
// event is written without its bodies, and without their digest.
func TestWriter_BoundsTheStoredBodiesItHolds(t *testing.T) {
	pool := pgtest.NewPool(t)
	store := postgres.NewEventStore(pool, eventcodec.Gatehouse())
	w := postgres.NewWriter(store, postgres.WriterConfig{Capacity: 100, Linger: 300 * time.Millisecond, MaxSidecarBytes: 100}, quiet)
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		id := uuid.New()
		p := usage.NewStoredPayload("acme", id, make([]byte, 30), make([]byte, 30), time.Now(), time.Hour)
		env := eventlog.Meta{Actor: "key:k", OccurredAt: time.Now()}.Envelope(uuid.New(), "acme", usage.StreamID(id), 1,
			usage.RequestCompleted{V: 1, RequestID: id, Status: 200, PayloadDigest: p.Digest()})
		env.Sidecar = p
		slot, err := w.Reserve(ctx)
		if err != nil {
			t.Fatal(err)
		}
		slot.Submit(env)
	}
	cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if err := w.Close(cctx); err != nil {
		t.Fatal(err)
	}
	var stored, digests int
	pool.QueryRow(ctx, `SELECT count(*) FROM request_payloads`).Scan(&stored)
	pool.QueryRow(ctx, `SELECT count(*) FROM events WHERE convert_from(record, 'UTF8') LIKE '%payload_digest%'`).Scan(&digests)
	if stored != 1 || digests != 1 {
		t.Fatalf("%d bodies stored, %d events with a digest; want 1 and 1 (the rest past the bound)", stored, digests)
	}
}
