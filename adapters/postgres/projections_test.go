package postgres_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"

	"github.com/gatehouse/gatehouse/adapters/eventcodec"
	"github.com/gatehouse/gatehouse/adapters/postgres"
	"github.com/gatehouse/gatehouse/adapters/postgres/pgtest"
	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/usage"
)

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

// seenSet records which events a projection handled, and how often.
type seenSet struct {
	mu    sync.Mutex
	count map[uuid.UUID]int
}

func (s *seenSet) handle(_ context.Context, page []eventlog.Recorded) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range page {
		s.count[r.ID]++
	}
	return nil
}

func (s *seenSet) has(id uuid.UUID) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count[id] > 0
}

func (s *seenSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.count)
}

func TestProjections_NeverSkipAnEventCommittedLateBySlowTransaction(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	store := postgres.NewEventStore(pool, eventcodec.Gatehouse())

	seen := &seenSet{count: map[uuid.UUID]int{}}
	proj, err := postgres.NewProjections(pool, eventcodec.Gatehouse(), quiet, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if err := proj.Add(postgres.Projection{Name: "test.v1", Topic: postgres.TopicTraffic, Durable: true, Handle: seen.handle}); err != nil {
		t.Fatal(err)
	}
	go proj.Run(ctx)
	t.Cleanup(func() { proj.Close() })
	<-proj.Running()

	// A slow transaction draws its position first and commits last.
	slow := requestEvent("slow")
	release := make(chan struct{})
	inTx := make(chan struct{})
	slowDone := make(chan error, 1)
	go func() {
		_, err := store.AppendWith(ctx, postgres.Unchecked, func(ctx context.Context, tx pgx.Tx) error {
			close(inTx)
			<-release
			return nil
		}, slow)
		slowDone <- err
	}()
	<-inTx

	var fast []eventlog.Envelope
	for i := 0; i < 20; i++ {
		e := requestEvent("fast")
		fast = append(fast, e)
		if _, err := store.Append(ctx, postgres.Unchecked, e); err != nil {
			t.Fatal(err)
		}
	}
	// Give the projector time to read whatever it may read now.
	time.Sleep(200 * time.Millisecond)
	if seen.has(slow.ID) {
		t.Fatal("the slow transaction's event was seen before it committed")
	}
	if n := seen.len(); n != 0 {
		t.Fatalf("projector read %d events committed after an older, still open transaction; it would checkpoint past the slow one", n)
	}
	close(release)
	if err := <-slowDone; err != nil {
		t.Fatal(err)
	}
	if err := proj.WaitCaughtUp(ctx, "test.v1", postgres.TopicTraffic); err != nil {
		t.Fatal(err)
	}
	if !seen.has(slow.ID) {
		t.Fatal("the slow transaction's event was skipped")
	}
	for _, e := range fast {
		if !seen.has(e.ID) {
			t.Fatalf("event %s skipped", e.ID)
		}
	}
	for id, n := range seen.count {
		if n != 1 {
			t.Fatalf("event %s handled %d times", id, n)
		}
	}
}

func TestProjections_DurableCheckpointResumesWithoutReapplying(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	store := postgres.NewEventStore(pool, eventcodec.Gatehouse())
	seen := &seenSet{count: map[uuid.UUID]int{}}

	run := func() {
		proj, err := postgres.NewProjections(pool, eventcodec.Gatehouse(), quiet, 10*time.Millisecond)
		if err != nil {
			t.Fatal(err)
		}
		if err := proj.Add(postgres.Projection{Name: "test.v1", Topic: postgres.TopicTraffic, Durable: true, Handle: seen.handle}); err != nil {
			t.Fatal(err)
		}
		rctx, cancel := context.WithCancel(ctx)
		go proj.Run(rctx)
		<-proj.Running()
		if err := proj.WaitCaughtUp(ctx, "test.v1", postgres.TopicTraffic); err != nil {
			t.Fatal(err)
		}
		cancel()
		proj.Close()
	}
	for i := 0; i < 5; i++ {
		if _, err := store.Append(ctx, postgres.Unchecked, requestEvent("acme")); err != nil {
			t.Fatal(err)
		}
	}
	run()
	for i := 0; i < 3; i++ {
		if _, err := store.Append(ctx, postgres.Unchecked, requestEvent("acme")); err != nil {
			t.Fatal(err)
		}
	}
	run()
	if seen.len() != 8 {
		t.Fatalf("want 8 events, saw %d", seen.len())
	}
	for id, n := range seen.count {
		if n != 1 {
			t.Fatalf("event %s applied %d times across restarts", id, n)
		}
	}
}

func TestProjections_AFailedPageLeavesNoTraceAndIsRetriedFromTheSamePlace(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	store := postgres.NewEventStore(pool, eventcodec.Gatehouse())
	spend := postgres.NewSpendStore(pool)
	for i := 0; i < 10; i++ {
		if _, err := store.Append(ctx, postgres.Unchecked, requestEvent("acme")); err != nil {
			t.Fatal(err)
		}
	}
	failures := 2
	var mu sync.Mutex
	handle := func(ctx context.Context, page []eventlog.Recorded) error {
		var fold usage.SpendFold
		for _, r := range page {
			fold.Add(r.TenantID, r.OccurredAt, r.Event.(usage.RequestCompleted))
		}
		// The rows are written, then the page fails: none of it may stay.
		if err := spend.AddSpend(ctx, fold.Deltas); err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		if failures > 0 {
			failures--
			return errors.New("injected failure after writing")
		}
		return nil
	}
	proj, err := postgres.NewProjections(pool, eventcodec.Gatehouse(), quiet, 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if err := proj.Add(postgres.Projection{Name: "spend.test", Topic: postgres.TopicTraffic, Durable: true, Handle: handle}); err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go proj.Run(rctx)
	<-proj.Running()
	wctx, wcancel := context.WithTimeout(ctx, 20*time.Second)
	defer wcancel()
	if err := proj.WaitCaughtUp(wctx, "spend.test", postgres.TopicTraffic); err != nil {
		t.Fatal(err)
	}
	proj.Close()
	var requests int64
	pool.QueryRow(ctx, `SELECT coalesce(sum(requests), 0) FROM spend_hourly`).Scan(&requests)
	if requests != 10 {
		t.Fatalf("spend counts %d requests for 10 events after two failed attempts", requests)
	}
	if err := proj.Healthy(); err != nil {
		t.Fatalf("healthy after recovering: %v", err)
	}
}

func TestSpendStore_RefusesToWriteOutsideAProjection(t *testing.T) {
	spend := postgres.NewSpendStore(pgtest.NewPool(t))
	err := spend.AddSpend(context.Background(), []usage.SpendDelta{{Requests: 1}})
	if err == nil {
		t.Fatal("spend written outside a projection's transaction: its checkpoint would not move with it")
	}
}
