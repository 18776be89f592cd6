package main

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse/gatehouse/adapters/eventcodec"
	"github.com/gatehouse/gatehouse/adapters/postgres"
	"github.com/gatehouse/gatehouse/ports/projectors"
)

// openCurrentPool opens the database for a command that needs its schema current.
func openCurrentPool(ctx context.Context, cfg Config) (*pgxpool.Pool, error) {
	pool, err := openPool(ctx, cfg.DatabaseURL)
	if err != nil {
		return nil, err
	}
	if err := postgres.SchemaCurrent(ctx, pool); err != nil {
		pool.Close()
		return nil, fmt.Errorf("database schema: %w (run gatehouse migrate)", err)
	}
	return pool, nil
}

// replay rebuilds durable projections from position 0: each is emptied with
// its checkpoint in one transaction, then fed the whole log again. Running
// servers pick up the rebuilt rows; in-memory models rebuild at each start.
func replay(ctx context.Context, cfg Config, only string, stdout, stderr io.Writer) error {
	log := newLogger(cfg, stderr)
	pool, err := openCurrentPool(ctx, cfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	spendStore := postgres.NewSpendStore(pool)
	requestLog := postgres.NewRequestLogStore(pool)
	analytics := postgres.NewAnalyticsStore(pool)
	resets := map[string]func(context.Context) error{
		projectors.AnalyticsName:  func(ctx context.Context) error { return analytics.ResetAnalytics(ctx, projectors.AnalyticsName) },
		projectors.SpendName:      func(ctx context.Context) error { return spendStore.ResetSpend(ctx, projectors.SpendName) },
		projectors.RequestLogName: func(ctx context.Context) error { return requestLog.ResetRequestLog(ctx, projectors.RequestLogName) },
	}
	proj, err := postgres.NewProjections(pool, eventcodec.Gatehouse(), log, 20*time.Millisecond)
	if err != nil {
		return err
	}
	var chosen []postgres.Projection
	var names []string
	for _, p := range durableProjections(spendStore, requestLog, analytics) {
		names = append(names, p.Name)
		if only != "" && only != p.Name {
			continue
		}
		if err := resets[p.Name](ctx); err != nil {
			return fmt.Errorf("reset %s: %w", p.Name, err)
		}
		if err := proj.Add(p); err != nil {
			return err
		}
		chosen = append(chosen, p)
	}
	if len(chosen) == 0 {
		return fmt.Errorf("replay: no durable projection named %q (known: %s)", only, strings.Join(names, ", "))
	}
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go proj.Run(rctx)
	<-proj.Running()
	for _, p := range chosen {
		start := time.Now()
		if err := proj.WaitCaughtUp(ctx, p.Name, p.Topic); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "rebuilt %s from the event log in %s\n", p.Name, time.Since(start).Round(time.Millisecond))
	}
	return proj.Close()
}
