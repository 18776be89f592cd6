package rediscache_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/adapters/rediscache"
	"github.com/gatehouse/gatehouse/app/proxy/cachetest"
)

// The suite needs a Redis: make test starts one when redis-server is
// installed and none answers on the default port.
func TestCache_MeetsTheCacheContract(t *testing.T) {
	url := os.Getenv("GATEHOUSE_TEST_REDIS_URL")
	if url == "" {
		t.Skip("GATEHOUSE_TEST_REDIS_URL is not set (make test sets it)")
	}
	// A prefix of this run's own: an entry of a run a moment ago has not expired yet.
	c, err := rediscache.New(url, fmt.Sprintf("gatehouse-test:%s:%d:", t.Name(), time.Now().UnixNano()))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Ping(context.Background()); err != nil {
		t.Fatalf("Redis at GATEHOUSE_TEST_REDIS_URL: %v", err)
	}
	cachetest.Run(t, c)
}
