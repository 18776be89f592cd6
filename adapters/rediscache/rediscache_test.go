package rediscache_test

import (
	"context"
	"os"
	"testing"

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
	c, err := rediscache.New(url, "gatehouse-test:"+t.Name()+":")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Ping(context.Background()); err != nil {
		t.Fatalf("Redis at GATEHOUSE_TEST_REDIS_URL: %v", err)
	}
	cachetest.Run(t, c)
}
