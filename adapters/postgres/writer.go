package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/domain/eventlog"
)

// WriterConfig sizes the buffer in front of the log.
type WriterConfig struct {
	Capacity int           // events held in memory at most; a full buffer refuses new work
	MaxBatch int           // events per transaction at most
	MaxWait  time.Duration // how long Reserve waits for room before refusing
}

func (c *WriterConfig) defaults() {
	if c.Capacity <= 0 {
		c.Capacity = 10000
	}
	if c.MaxBatch <= 0 {
		c.MaxBatch = 1000
	}
	if c.MaxWait <= 0 {
		c.MaxWait = 250 * time.Millisecond
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

	slots chan struct{} // one per reserved or buffered event
	queue chan eventlog.Envelope

	closeOnce sync.Once
	closing   chan struct{}
	done      chan struct{}
	closed    atomic.Bool

	lastErr  atomic.Pointer[error]
	appended atomic.Int64
	batches  atomic.Int64
}

// NewWriter starts the writer's loop; Close stops it after draining.
func NewWriter(store *EventStore, cfg WriterConfig, log *slog.Logger) *Writer {
	if store == nil || log == nil {
		panic("postgres.NewWriter: nil dependency")
	}
	cfg.defaults()
	w := &Writer{
		store: store, cfg: cfg, log: log,
		slots:   make(chan struct{}, cfg.Capacity),
		queue:   make(chan eventlog.Envelope, cfg.Capacity),
		closing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	go w.loop()
	return w
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

// Submit hands the event to the buffer; it never blocks. A slot is used once.
func (s *Slot) Submit(e eventlog.Envelope) {
	if s.used.Swap(true) {
		panic("postgres.Slot: used twice")
	}
	s.w.queue <- e
}

// Release gives the room back when no event will be submitted.
func (s *Slot) Release() {
	if !s.used.Swap(true) {
		<-s.w.slots
	}
}

func (w *Writer) loop() {
	defer close(w.done)
	batch := make([]eventlog.Envelope, 0, w.cfg.MaxBatch)
	for {
		select {
		case e := <-w.queue:
			batch = append(batch, e)
		case <-w.closing:
			// Drain: everything reserved is either submitted or released
			// before Close is called by a graceful shutdown; take what is here.
			if len(w.queue) == 0 && len(w.slots) == 0 {
				return
			}
			select {
			case e := <-w.queue:
				batch = append(batch, e)
			case <-time.After(10 * time.Millisecond):
				continue
			}
		}
	gather:
		for len(batch) < w.cfg.MaxBatch {
			select {
			case e := <-w.queue:
				batch = append(batch, e)
			default:
				break gather
			}
		}
		w.flush(batch)
		for range batch {
			<-w.slots
		}
		batch = batch[:0]
	}
}

// flush appends a batch, retrying until it is written: the events stay in
// memory (and their slots stay taken, so new work is refused) meanwhile.
func (w *Writer) flush(batch []eventlog.Envelope) {
	backoff := 50 * time.Millisecond
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		_, err := w.store.Append(ctx, Unchecked, batch...)
		cancel()
		if err == nil {
			w.lastErr.Store(nil)
			w.appended.Add(int64(len(batch)))
			w.batches.Add(1)
			return
		}
		if errors.Is(err, eventlog.ErrConflict) && len(batch) > 1 {
			// One bad event must not hold the others hostage: write them
			// one by one, so the conflict stays with its own event.
			for _, e := range batch {
				w.flush([]eventlog.Envelope{e})
			}
			return
		}
		if errors.Is(err, eventlog.ErrConflict) {
			w.log.Error("event dropped: stream version conflict", "type", batch[0].Event.EventType(), "stream", batch[0].StreamID, "err", err)
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
