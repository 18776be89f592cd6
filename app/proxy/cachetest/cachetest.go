// Package cachetest is the contract every proxy.Cache meets, run against
// each implementation.
package cachetest

import (
	"context"
	"crypto/sha256"
	"testing"
	"time"

	"github.com/gatehouse/gatehouse/app/proxy"
)

// Run checks a cache: entries come back until they expire, replace one
// another under a key, and are never shared between tenants.
func Run(t *testing.T, c proxy.Cache) {
	ctx := context.Background()
	k := sha256.Sum256([]byte(t.Name()))
	other := sha256.Sum256([]byte(t.Name() + "/other"))

	if _, ok, err := c.Get(ctx, "acme", k); err != nil || ok {
		t.Fatalf("an empty cache: %v %v", ok, err)
	}
	if err := c.Put(ctx, "acme", k, []byte(`{"body":1}`), time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := c.Get(ctx, "acme", k); err != nil || !ok || string(got) != `{"body":1}` {
		t.Fatalf("after a put: %q %v %v", got, ok, err)
	}
	if _, ok, _ := c.Get(ctx, "globex", k); ok {
		t.Fatal("another tenant read the entry")
	}
	if _, ok, _ := c.Get(ctx, "acme", other); ok {
		t.Fatal("another key read the entry")
	}
	if err := c.Put(ctx, "acme", k, []byte(`{"body":2}`), time.Minute); err != nil {
		t.Fatal(err)
	}
	if got, _, _ := c.Get(ctx, "acme", k); string(got) != `{"body":2}` {
		t.Fatalf("after a second put: %q", got)
	}
	if err := c.Put(ctx, "acme", other, []byte(`{"short":true}`), 300*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := c.Get(ctx, "acme", other); !ok {
		t.Fatal("an entry was gone before its time")
	}
	time.Sleep(500 * time.Millisecond)
	if _, ok, err := c.Get(ctx, "acme", other); err != nil || ok {
		t.Fatalf("an expired entry came back: %v %v", ok, err)
	}
}
