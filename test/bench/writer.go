package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse/gatehouse/adapters/eventcodec"
	"github.com/gatehouse/gatehouse/adapters/postgres"
	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/usage"
)

type writerResult struct {
	events          int
	elapsed         time.Duration
	batches         int64
	postgresVersion string
}

func (w writerResult) perSecond() float64 { return float64(w.events) / w.elapsed.Seconds() }

// writerThroughput pushes request events through the group-commit writer as
// fast as producers can, across several tenants, and times until every one
// is committed.
func writerThroughput(ctx context.Context, dbURL string) (writerResult, error) {
	pool, err := pgxpool.New(ctx, dbURL)
	if err != nil {
		return writerResult{}, err
	}
	defer pool.Close()
	var version string
	pool.QueryRow(ctx, `SHOW server_version`).Scan(&version)
	store := postgres.NewEventStore(pool, eventcodec.Gatehouse())
	w := postgres.NewWriter(store, postgres.WriterConfig{Capacity: 20000, MaxBatch: 1000, MaxWait: 10 * time.Second}, slog.New(slog.NewTextHandler(io.Discard, nil)))
	const producers, perProducer = 8, 25000
	tenants := []string{"w1", "w2", "w3", "w4"}
	keyID := uuid.New()
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, producers)
	for p := 0; p < producers; p++ {
		wg.Add(1)
		go func(p int) {
			defer wg.Done()
			for i := 0; i < perProducer; i++ {
				slot, err := w.Reserve(ctx)
				if err != nil {
					errs <- err
					return
				}
				id := uuid.New()
				m := eventlog.Meta{Actor: "key:" + keyID.String(), TraceID: "bench", OccurredAt: time.Now()}
				slot.Submit(m.Envelope(uuid.New(), tenants[(p+i)%len(tenants)], usage.StreamID(id), 1, usage.RequestCompleted{
					V: 1, RequestID: id, KeyID: keyID, Endpoint: "/v1/chat/completions", Model: "up/m", Provider: "up",
					UpstreamModel: "m", Status: 200, Tokens: usage.Tokens{Prompt: 24, Completion: 20}, DurationMs: 1.2,
				}))
			}
		}(p)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return writerResult{}, err
	}
	if err := w.Close(ctx); err != nil {
		return writerResult{}, err
	}
	return writerResult{events: producers * perProducer, elapsed: time.Since(start), batches: w.Stats().Batches, postgresVersion: version}, nil
}
