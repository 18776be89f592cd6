package postgres

import (
	"context"
	"errors"
	"fmt"
	"hash/fnv"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/gatehouse/gatehouse/domain/eventlog"
)

// WriterConfig sizes the buffer in front of the log.
type WriterConfig struct {
	Capacity int           // events held in memory at most; a full buffer refuses new work
	MaxBatch int           // events per transaction at most
	MaxWait  time.Duration // how long Reserve waits for room before refusing
	// Linger is how long a batch waits for company after its first event:
	// fewer, larger transactions leave more CPU to the requests.
	Linger time.Duration
	// Shards is how many batches may be written at once. A tenant's events
	// always go to the same shard, so its chain order is submit order.
	Shards int
	// OnBatch hears of each batch written: its size and how long its
	// append took (metrics); nil for none.
	OnBatch func(size int, took time.Duration)
	// MaxSidecarBytes bounds the bytes of sidecars (stored request bodies)
	// held in memory; past it, events are written without theirs. Default
	// 64 MiB.
	MaxSidecarBytes int64
}

func (c *WriterConfig) defaults() {
	if c.Capacity <= 0 {
		c.Capacity = 10000
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 1000
	}
	if c.MaxSidecarBytes <= 0 {
		c.MaxSidecarBytes = 64 << 20
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 250 * time.Millisecond
	}
	if c.Linger <= 0 {
		c.Linger = 10 * time.Millisecond
	}
	if c.Shards <= 0 {
		c.Shards = 2
	}
}

// Writer is the group-commit writer of the hot path: events are handed to a
// bounded buffer and appended in batches, one transaction per batch. A
// caller reserves room before doing the work whose event it will submit, so
// a full buffer refuses the request up front (back-pressure, never loss).
type Writer struct {
	store *EventStore
	cfg   WriterConfig
	log   *slog.Logger

	slots  chan struct{} // one per reserved or buffered event
	shards []chan eventlog.Envelope

	closeOnce sync.Once
	closing   chan struct{}
	done      chan struct{}
	closed    atomic.Bool

	lastErr  atomic.Pointer[error]
	appended atomic.Int64
	batches  atomic.Int64
	sidecars atomic.Int64 // bytes of sidecars in memory
}

// sized is a sidecar that says its size.
type sized interface{ Size() int }

// withoutSidecar is an event that records its sidecar (a digest) and can
// be written without it.
type withoutSidecar interface{ WithoutSidecar() eventlog.Event }

// NewWriter starts the writer's loop; Close stops it after draining.
func NewWriter(store *EventStore, cfg WriterConfig, log *slog.Logger) *Writer {
	if store == nil || log == nil {
		panic("postgres.NewWriter: nil dependency")
	}
	cfg.defaults()
	w := &Writer{
		store: store, cfg: cfg, log: log,
		slots:   make(chan struct{}, cfg.Capacity),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	var running sync.WaitGroup
	for i := 0; i < cfg.Shards; i++ {
		q := make(chan eventlog.Envelope, cfg.Capacity) // never blocks: slots bound the total
		w.shards = append(w.shards, q)
		running.Add(1)
		go func() {
			defer running.Done()
			w.loop(q)
		}()
	}
	go func() {
		running.Wait()
		close(w.done)
	}()
	return w
}

func (w *Writer) shardOf(tenantID string) chan eventlog.Envelope {
	h := fnv.New32a()
	h.Write([]byte(tenantID))
	return w.shards[h.Sum32()%uint32(len(w.shards))]
}

// Slot is room reserved in the buffer for one event.
type Slot struct {
	w    *Writer
	used atomic.Bool
}

// Reserve takes room for one event, waiting up to MaxWait; it fails with
// eventlog.ErrUnavailable when the buffer stays full or the writer closes.
func (w *Writer) Reserve(ctx context.Context) (*Slot, error) {
	if w.closed.Load() {
		return nil, fmt.Errorf("%w: shutting down", eventlog.ErrUnavailable)
	}
	select {
	case w.slots <- struct{}{}:
		return &Slot{w: w}, nil
	default:
	}
	t := time.NewTimer(w.cfg.MaxWait)
	defer t.Stop()
	select {
	case w.slots <- struct{}{}:
		return &Slot{w: w}, nil
	case <-t.C:
		return nil, fmt.Errorf("%w: event buffer full", eventlog.ErrUnavailable)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// TryReserve takes room for one event only if there is some right now.
func (w *Writer) TryReserve() (*Slot, bool) {
	if w.closed.Load() {
		return nil, false
	}
	select {
	case w.slots <- struct{}{}:
		return &Slot{w: w}, true
	default:
		return nil, false
	}
}

// Submit hands the event to the buffer; it never blocks. A slot is used once.
func (s *Slot) Submit(e eventlog.Envelope) {
	if s.used.Swap(true) {
		panic("postgres.Slot: used twice")
	}
	if sc, ok := e.Sidecar.(sized); ok {
		if s.w.sidecars.Add(int64(sc.Size())) > s.w.cfg.MaxSidecarBytes {
			// Memory is bounded first: the event goes on without its sidecar,
			// and says so (no digest of bodies that were not stored).
			s.w.sidecars.Add(-int64(sc.Size()))
			e.Sidecar = nil
			if ev, ok := e.Event.(withoutSidecar); ok {
				e.Event = ev.WithoutSidecar()
			}
			s.w.log.Warn("event buffer full of stored bodies: a request's bodies are not stored", "tenant", e.TenantID, "stream", e.StreamID)
		}
	}
	s.w.shardOf(e.TenantID) <- e
}

// Release gives the room back when no event will be submitted.
func (s *Slot) Release() {
	if !s.used.Swap(true) {
		<-s.w.slots
	}
}

func (w *Writer) loop(queue chan eventlog.Envelope) {
	batch := make([]eventlog.Envelope, 0, w.cfg.MaxBatch)
	linger := time.NewTimer(time.Hour)
	linger.Stop()
	for {
		select {
		case e := <-queue:
			batch = append(batch, e)
		case <-w.closing:
			// Drain: a graceful stop calls Close after the requests that
			// reserved room have submitted or released it.
			if len(queue) == 0 && len(w.slots) == 0 {
				return
			}
			select {
			case e := <-queue:
				batch = append(batch, e)
			case <-time.After(10 * time.Millisecond):
				continue
			}
		}
		linger.Reset(w.cfg.Linger)
	gather:
		for len(batch) < w.cfg.MaxBatch {
			select {
			case e := <-queue:
				batch = append(batch, e)
			case <-linger.C:
				break gather
			case <-w.closing:
				if len(queue) == 0 {
					break gather
				}
			}
		}
		linger.Stop()
		w.flush(batch)
		for _, e := range batch {
			if sc, ok := e.Sidecar.(sized); ok {
				w.sidecars.Add(-int64(sc.Size()))
			}
			<-w.slots
		}
		batch = batch[:0]
	}
}

// flush appends a batch until it is written: the events stay in memory (and
// their slots stay taken, so new work is refused) while Postgres is away.
// An event that can never be written (it does not encode, or Postgres
// rejects its data) must not hold the others hostage: the batch is split,
// and that event alone is dropped with an error in the log.
func (w *Writer) flush(batch []eventlog.Envelope) {
	backoff := 50 * time.Millisecond
	again := firstAttempt
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		start := time.Now()
		_, err := w.store.appendAll(ctx, Unchecked, again, nil, batch)
		cancel()
		if err == nil {
			w.lastErr.Store(nil)
			w.appended.Add(int64(len(batch)))
			w.batches.Add(1)
			if w.cfg.OnBatch != nil {
				w.cfg.OnBatch(len(batch), time.Since(start))
			}
			return
		}
		again = mayBeRetry
		if permanent(err) {
			if len(batch) > 1 {
				for _, e := range batch {
					w.flush([]eventlog.Envelope{e})
				}
				return
			}
			if errors.Is(err, eventlog.ErrConflict) {
				// A once-only event (its stream takes one) that another
				// replica recorded first: nothing is lost.
				w.log.Info("event already on record", "type", batch[0].Event.EventType(), "tenant", batch[0].TenantID, "stream", batch[0].StreamID)
				return
			}
			w.log.Error("event dropped: it cannot be written", "type", batch[0].Event.EventType(), "tenant", batch[0].TenantID, "stream", batch[0].StreamID, "err", err)
			return
		}
		w.lastErr.Store(&err)
		w.log.Warn("event batch not written; retrying", "events", len(batch), "attempt", attempt, "err", err)
		time.Sleep(backoff)
		if backoff < 2*time.Second {
			backoff *= 2
		}
	}
}

// permanent tells errors that retrying cannot cure: a version clash, an
// event that does not encode, data Postgres rejects (SQLSTATE classes 22
// and 23). Anything else (a connection, a restart, a timeout) is retried.
func permanent(err error) bool {
	var pgErr *pgconn.PgError
	switch {
	case errors.Is(err, eventlog.ErrConflict), errors.Is(err, errEncode):
		return true
	case errors.As(err, &pgErr):
		return strings.HasPrefix(pgErr.Code, "22") || strings.HasPrefix(pgErr.Code, "23")
	}
	return false
}

// Healthy reports the last append error, if the last append failed.
func (w *Writer) Healthy() error {
	if w.closed.Load() {
		return errors.New("event writer closed")
	}
	if p := w.lastErr.Load(); p != nil {
		return fmt.Errorf("event writer failing: %w", *p)
	}
	return nil
}

// Stats are counters for metrics and benchmarks.
type WriterStats struct {
	Appended int64
	Batches  int64
	Buffered int
}

// Stats reads the counters.
func (w *Writer) Stats() WriterStats {
	return WriterStats{Appended: w.appended.Load(), Batches: w.batches.Load(), Buffered: len(w.slots)}
}

// Close refuses new reservations and waits until every buffered and
// reserved event is written, or ctx ends (then it says how many were not).
func (w *Writer) Close(ctx context.Context) error {
	w.closeOnce.Do(func() {
		w.closed.Store(true)
		close(w.closing)
	})
	select {
	case <-w.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("event writer: %d events not written before the deadline: %w", len(w.slots), ctx.Err())
	}
}
