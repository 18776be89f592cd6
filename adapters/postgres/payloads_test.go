package postgres_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/adapters/eventcodec"
	"github.com/gatehouse/gatehouse/adapters/postgres"
	"github.com/gatehouse/gatehouse/adapters/postgres/pgtest"
	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// TestPayloads_StoredWithTheirEventAndSweptAfterTheirRetention: a
// request's bodies are written in its event's transaction (the event
// carries their digest), read back while kept, and swept once expired.
func TestPayloads_StoredWithTheirEventAndSweptAfterTheirRetention(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	now := time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)
	store := postgres.NewEventStore(pool, eventcodec.Gatehouse())
	payloads := postgres.NewPayloadStore(pool, func() time.Time { return now })
	write := func(keep time.Duration) uuid.UUID {
		id := uuid.New()
		p := usage.NewStoredPayload("acme", id, []byte(`{"q":"[REDACTED:EMAIL]"}`), []byte(`{"a":1}`), now, keep)
		e := usage.RequestCompleted{V: 1, RequestID: id, Status: 200, PayloadDigest: p.Digest()}
		env := eventlog.Meta{Actor: "key:k", OccurredAt: now}.Envelope(uuid.New(), "acme", usage.StreamID(id), 1, e)
		env.Sidecar = p
		if _, err := store.Append(ctx, postgres.Unchecked, env); err != nil {
			t.Fatal(err)
		}
		return id
	}
	short, long := write(time.Hour), write(48*time.Hour)
	got, ok, err := payloads.GetPayload(ctx, "acme", short)
	if err != nil || !ok || string(got.Request) != `{"q":"[REDACTED:EMAIL]"}` || got.Digest() == "" {
		t.Fatalf("read back: %+v %v %v", got, ok, err)
	}
	if _, ok, _ := payloads.GetPayload(ctx, "globex", short); ok {
		t.Fatal("another tenant read the bodies")
	}
	now = now.Add(2 * time.Hour)
	if _, ok, _ := payloads.GetPayload(ctx, "acme", short); ok {
		t.Fatal("expired bodies are still shown")
	}
	if n, err := payloads.Sweep(ctx); err != nil || n != 1 {
		t.Fatalf("swept %d, %v", n, err)
	}
	if _, ok, _ := payloads.GetPayload(ctx, "acme", long); !ok {
		t.Fatal("bodies within their retention were swept")
	}
}
