package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse/gatehouse/adapters/postgres/db"
	"github.com/gatehouse/gatehouse/app/proxy"
)

// ResponseCache is the exact cache in a table with expiry, swept of the
// entries past it.
type ResponseCache struct {
	pool *pgxpool.Pool
	now  func() time.Time
}

// NewResponseCache builds the cache.
func NewResponseCache(pool *pgxpool.Pool, now func() time.Time) *ResponseCache {
	if pool == nil || now == nil {
		panic("postgres.NewResponseCache: nil dependency")
	}
	return &ResponseCache{pool: pool, now: now}
}

var _ proxy.Cache = (*ResponseCache)(nil)

// Get reads an entry that has not expired.
func (c *ResponseCache) Get(ctx context.Context, tenantID string, key [32]byte) ([]byte, bool, error) {
	entry, err := db.New(c.pool).GetCacheEntry(ctx, db.GetCacheEntryParams{TenantID: tenantID, Key: key[:], Now: c.now()})
	switch {
	case errors.Is(err, pgx.ErrNoRows):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("read cache: %w", err)
	}
	return entry, true, nil
}

// Put writes an entry, replacing one under the same key.
func (c *ResponseCache) Put(ctx context.Context, tenantID string, key [32]byte, entry []byte, ttl time.Duration) error {
	err := db.New(c.pool).PutCacheEntry(ctx, db.PutCacheEntryParams{TenantID: tenantID, Key: key[:], Entry: entry, ExpiresAt: c.now().Add(ttl)})
	if err != nil {
		return fmt.Errorf("write cache: %w", err)
	}
	return nil
}

// sweepBatch bounds the rows one sweep statement deletes.
const sweepBatch = 5000

// Sweep deletes every expired entry, a batch at a time, and says how many.
func (c *ResponseCache) Sweep(ctx context.Context) (int64, error) {
	var total int64
	for {
		n, err := db.New(c.pool).DeleteExpiredCacheEntries(ctx, db.DeleteExpiredCacheEntriesParams{Now: c.now(), MaxRows: sweepBatch})
		total += n
		if err != nil {
			return total, fmt.Errorf("sweep cache: %w", err)
		}
		if n < sweepBatch {
			return total, nil
		}
	}
}

// RunSweeper sweeps every interval until ctx ends.
func (c *ResponseCache) RunSweeper(ctx context.Context, every time.Duration, log *slog.Logger) {
	runSweeper(ctx, every, log, "expired cache entries", c.Sweep)
}

// runSweeper runs sweep every interval until ctx ends, logging what it
// deleted and what failed.
func runSweeper(ctx context.Context, every time.Duration, log *slog.Logger, what string, sweep func(context.Context) (int64, error)) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			n, err := sweep(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				log.Warn("sweep failed", "what", what, "err", err)
			case n > 0:
				log.Debug("swept", "what", what, "rows", n)
			}
		}
	}
}
