package proxy

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	"github.com/gatehouse/gatehouse/domain/usage"
)

// Cache holds answers by a tenant and a request's canonical digest; an
// entry is gone once its time to live has passed.
type Cache interface {
	Get(ctx context.Context, tenantID string, key [32]byte) (entry []byte, ok bool, err error)
	Put(ctx context.Context, tenantID string, key [32]byte, entry []byte, ttl time.Duration) error
}

// What x-gatehouse-cache asks of the cache for one request.
const (
	CacheRefresh = "no-cache" // do not answer from the cache, but store the new answer
	CacheBypass  = "no-store" // neither read nor store
)

// Cache outcomes, as x-gatehouse-cache reports them.
const (
	cacheHit    = "HIT"
	cacheMiss   = "MISS"
	cacheBypass = "BYPASS"
)

// cacheEntry is a stored answer: an OpenAI-dialect answer (a chat
// completion or embeddings) and the usage it reported.
type cacheEntry struct {
	Body   json.RawMessage `json:"body"`
	Tokens usage.Tokens    `json:"tokens"`
}

// cacheKey is the digest of a request as sent to a target: the endpoint,
// the provider connection (its id: a connection made again under the same
// name starts afresh) and every member of the body but those that
// only shape its delivery (stream, stream_options), in a canonical form
// (members sorted, no spaces). The tenant is part of every lookup apart.
func cacheKey(endpoint, provider string, body []byte) ([32]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return [32]byte{}, fmt.Errorf("cache key: %w", err)
	}
	delete(m, "stream")
	delete(m, "stream_options")
	canonical, err := json.Marshal(m) // map keys are sorted
	if err != nil {
		return [32]byte{}, fmt.Errorf("cache key: %w", err)
	}
	h := sha256.New()
	h.Write([]byte(endpoint + "\x00" + provider + "\x00"))
	h.Write(canonical)
	var k [32]byte
	copy(k[:], h.Sum(nil))
	return k, nil
}

// cacheable says whether the exchange's answers can be stored: answers in
// OpenAI's dialect to chat completions (whatever the provider's own
// dialect) and embeddings.
func (x *Exchange) cacheable() bool {
	return x.dialect == dialectOpenAI && !x.Native &&
		(x.in.Endpoint == "/v1/chat/completions" || x.in.Endpoint == "/v1/embeddings" || x.in.Endpoint == "/v1/messages")
}

// cacheStore keeps a new answer off the request path: the client has it
// already, and a cache that cannot be written only costs a future hit.
func (s *Service) cacheStore(tenantID string, key [32]byte, e cacheEntry, ttl time.Duration) {
	b, err := json.Marshal(e)
	if err != nil {
		return
	}
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := s.Cache.Put(ctx, tenantID, key, b, ttl); err != nil {
			s.Log.Warn("cache write failed", "tenant", tenantID, "err", err)
		}
	}()
}

// cacheLookup finds a stored answer; a cache that cannot be read is a miss.
func (s *Service) cacheLookup(ctx context.Context, tenantID string, key [32]byte) (cacheEntry, bool) {
	b, ok, err := s.Cache.Get(ctx, tenantID, key)
	if err != nil {
		s.Log.Warn("cache read failed", "tenant", tenantID, "err", err)
		return cacheEntry{}, false
	}
	var e cacheEntry
	if !ok || json.Unmarshal(b, &e) != nil || len(e.Body) == 0 {
		return cacheEntry{}, false
	}
	return e, true
}

// cacheFor says whether the target's answer is looked up in and stored to
// the cache, and under which key; it notes the outcome so far.
func (s *Service) cacheFor(x *Exchange, t planned, body []byte) ([32]byte, bool) {
	x.routing.Cache = "" // the outcome is the answering target's
	switch {
	case t.Cache == nil || !x.cacheable():
		return [32]byte{}, false
	case x.in.CacheControl == CacheBypass:
		x.routing.Cache = "bypass"
		return [32]byte{}, false
	}
	key, err := cacheKey(x.in.Endpoint, t.route.Connection.ID.String(), body)
	if err != nil {
		return [32]byte{}, false
	}
	x.routing.Cache = "miss"
	if x.in.CacheControl == CacheRefresh {
		x.routing.Cache = "refresh"
	}
	return key, true
}

// answerFromCache answers with a stored answer: as it is, or replayed as
// a stream when the request streams.
func (x *Exchange) answerFromCache(e cacheEntry) error {
	if x.Stream {
		cs, err := replay(e.Body)
		if err != nil {
			return err
		}
		x.chunks = cs
	} else {
		x.Header, x.Body = http.Header{"Content-Type": {"application/json"}}, e.Body
	}
	x.Status, x.tokens, x.usageSeen = http.StatusOK, e.Tokens, true
	x.markUpstream()
	return nil
}

// keepAnswer stores a successful answer: a whole one at once, a stream
// once it has ended cleanly.
func (s *Service) keepAnswer(x *Exchange, key [32]byte, ttl time.Duration) {
	tenant := x.key.TenantID
	if !x.Stream {
		if x.Status == http.StatusOK {
			s.cacheStore(tenant, key, cacheEntry{Body: x.Body, Tokens: x.tokens}, ttl)
		}
		return
	}
	x.chunks = newAssembling(x.chunks, func(whole []byte) {
		t, _, _ := usageOf(whole)
		s.cacheStore(tenant, key, cacheEntry{Body: whole, Tokens: t}, ttl)
	})
}
