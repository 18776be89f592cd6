// Package rediscache keeps the exact cache in Redis, when REDIS_URL is
// set: entries expire with Redis's own TTL.
package rediscache

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/gatehouse/gatehouse/app/proxy"
)

// Cache is the exact cache in Redis.
type Cache struct {
	client *redis.Client
	prefix string
}

// New connects to url (redis://[user:password@]host:port/db); prefix
// namespaces the keys (several installations may share a Redis).
func New(url, prefix string) (*Cache, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, fmt.Errorf("REDIS_URL: %w", err)
	}
	return &Cache{client: redis.NewClient(opts), prefix: prefix}, nil
}

var _ proxy.Cache = (*Cache)(nil)

// Ping checks that Redis answers.
func (c *Cache) Ping(ctx context.Context) error { return c.client.Ping(ctx).Err() }

// Close closes the connections.
func (c *Cache) Close() error { return c.client.Close() }

// key is tenant-scoped: no two tenants share an entry.
func (c *Cache) key(tenantID string, key [32]byte) string {
	return c.prefix + "cache:" + tenantID + ":" + hex.EncodeToString(key[:])
}

// Get reads an entry that has not expired.
func (c *Cache) Get(ctx context.Context, tenantID string, key [32]byte) ([]byte, bool, error) {
	b, err := c.client.Get(ctx, c.key(tenantID, key)).Bytes()
	switch {
	case errors.Is(err, redis.Nil):
		return nil, false, nil
	case err != nil:
		return nil, false, fmt.Errorf("read cache: %w", err)
	}
	return b, true, nil
}

// Put writes an entry that expires after ttl.
func (c *Cache) Put(ctx context.Context, tenantID string, key [32]byte, entry []byte, ttl time.Duration) error {
	if err := c.client.Set(ctx, c.key(tenantID, key), entry, ttl).Err(); err != nil {
		return fmt.Errorf("write cache: %w", err)
	}
	return nil
}
