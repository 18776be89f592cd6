package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/adapters/postgres"
	"github.com/gatehouse/gatehouse/adapters/postgres/pgtest"
	"github.com/gatehouse/gatehouse/app/proxy/cachetest"
)

func TestResponseCache_MeetsTheCacheContract(t *testing.T) {
	pool := pgtest.NewPool(t)
	cachetest.Run(t, postgres.NewResponseCache(pool, time.Now))
}

func TestResponseCache_SweepDeletesOnlyExpiredEntries(t *testing.T) {
	pool := pgtest.NewPool(t)
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	c := postgres.NewResponseCache(pool, func() time.Time { return now })
	ctx := context.Background()
	for i := 0; i < 3; i++ {
		if err := c.Put(ctx, "acme", [32]byte{byte(i)}, []byte("x"), time.Duration(i+1)*time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	now = now.Add(150 * time.Second)
	n, err := c.Sweep(ctx)
	if err != nil || n != 2 {
		t.Fatalf("swept %d, %v; want the 2 expired", n, err)
	}
	if _, ok, _ := c.Get(ctx, "acme", [32]byte{2}); !ok {
		t.Fatal("the live entry was swept")
	}
}
