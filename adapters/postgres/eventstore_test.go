package postgres_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/adapters/eventcodec"
	"github.com/gatehouse/gatehouse/adapters/postgres"
	"github.com/gatehouse/gatehouse/adapters/postgres/pgtest"
	"github.com/gatehouse/gatehouse/domain/eventlog"
	"github.com/gatehouse/gatehouse/domain/tenancy"
	"github.com/gatehouse/gatehouse/domain/usage"
)

var t0 = time.Date(2026, 11, 25, 12, 0, 0, 0, time.UTC)

func meta() eventlog.Meta { return eventlog.Meta{Actor: "alice", TraceID: "trace-1", OccurredAt: t0} }

func tenantCreated(tenant string) eventlog.Envelope {
	return meta().Envelope(uuid.New(), tenant, tenancy.StreamID(tenant), 1, tenancy.TenantCreated{V: 1, TenantID: tenant, Name: tenant})
}

func requestEvent(tenant string) eventlog.Envelope {
	id := uuid.New()
	return meta().Envelope(uuid.New(), tenant, usage.StreamID(id), 1, usage.RequestCompleted{V: 1, RequestID: id, Model: "echo/x", Status: 200})
}

func newStore(t *testing.T) (*postgres.EventStore, context.Context) {
	pool := pgtest.NewPool(t)
	return postgres.NewEventStore(pool, eventcodec.Gatehouse()), context.Background()
}

func TestEventStore_AppendsAndReadsAStreamInVersionOrder(t *testing.T) {
	s, ctx := newStore(t)
	if _, err := s.Append(ctx, postgres.Expect, tenantCreated("acme")); err != nil {
		t.Fatal(err)
	}
	got, err := s.ReadStream(ctx, "acme", tenancy.StreamID("acme"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].Seq != 1 || got[0].Version != 1 || got[0].Actor != "alice" {
		t.Fatalf("unexpected stream %+v", got)
	}
	if e, ok := got[0].Event.(tenancy.TenantCreated); !ok || e.Name != "acme" {
		t.Fatalf("event decoded as %#v", got[0].Event)
	}
	if !got[0].OccurredAt.Equal(t0) {
		t.Fatalf("occurred_at %v", got[0].OccurredAt)
	}
}

func TestEventStore_RefusesAStaleExpectedVersionAsConflict(t *testing.T) {
	s, ctx := newStore(t)
	if _, err := s.Append(ctx, postgres.Expect, tenantCreated("acme")); err != nil {
		t.Fatal(err)
	}
	_, err := s.Append(ctx, postgres.Expect, tenantCreated("acme")) // version 1 again
	var conflict *eventlog.ConflictError
	if !errors.As(err, &conflict) || !errors.Is(err, eventlog.ErrConflict) {
		t.Fatalf("want conflict, got %v", err)
	}
	if conflict.Actual != 1 || conflict.Expected != 0 {
		t.Fatalf("conflict %+v", conflict)
	}
	// Unchecked appends still meet the unique constraint.
	_, err = s.Append(ctx, postgres.Unchecked, tenantCreated("acme"))
	if !errors.Is(err, eventlog.ErrConflict) {
		t.Fatalf("unchecked duplicate version: want conflict, got %v", err)
	}
	if n, err := s.VerifyTenant(ctx, "acme"); err != nil || n != 1 {
		t.Fatalf("verify after refused appends: %d, %v", n, err)
	}
}

func TestEventStore_RetriedAppendIsWrittenOnce(t *testing.T) {
	s, ctx := newStore(t)
	e := tenantCreated("acme")
	r := requestEvent("acme")
	for i := 0; i < 3; i++ {
		if _, err := s.Append(ctx, postgres.Expect, e, r); err != nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	evs, err := s.TenantFeed(ctx, "acme", 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 2 {
		t.Fatalf("want 2 events after retries, got %d", len(evs))
	}
}

func TestEventStore_ConcurrentWritersKeepEachTenantChainGapFree(t *testing.T) {
	s, ctx := newStore(t)
	tenants := []string{"a", "b", "c"}
	for _, tn := range tenants {
		if _, err := s.Append(ctx, postgres.Expect, tenantCreated(tn)); err != nil {
			t.Fatal(err)
		}
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := 0; i < 20; i++ {
				// Mixed-tenant batches in varying order must not deadlock.
				batch := []eventlog.Envelope{requestEvent(tenants[(w+i)%3]), requestEvent(tenants[(w+i+1)%3]), requestEvent(tenants[(w+i)%3])}
				if _, err := s.Append(ctx, postgres.Unchecked, batch...); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := int64(0)
	for _, tn := range tenants {
		n, err := s.VerifyTenant(ctx, tn)
		if err != nil {
			t.Fatalf("tenant %s: %v", tn, err)
		}
		total += n
	}
	if total != 3+8*20*3 {
		t.Fatalf("want %d events, chains hold %d", 3+8*20*3, total)
	}
}

func TestEventStore_PositionsFollowCommitOrderWithinATenant(t *testing.T) {
	s, ctx := newStore(t)
	if _, err := s.Append(ctx, postgres.Expect, tenantCreated("acme")); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < 4; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 25; i++ {
				if _, err := s.Append(ctx, postgres.Unchecked, requestEvent("acme")); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	evs, err := s.TenantFeed(ctx, "acme", 0, 1000)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range evs {
		if e.Seq != int64(i+1) {
			t.Fatalf("event %d at position %d has seq %d: positions and sequence disagree", i, e.Position, e.Seq)
		}
	}
}

func TestEventStore_LogIsAppendOnlyForTheApplication(t *testing.T) {
	pool := pgtest.NewPool(t)
	s := postgres.NewEventStore(pool, eventcodec.Gatehouse())
	ctx := context.Background()
	if _, err := s.Append(ctx, postgres.Expect, tenantCreated("acme")); err != nil {
		t.Fatal(err)
	}
	for _, stmt := range []string{
		"UPDATE events SET actor = 'mallory'",
		"DELETE FROM events",
		"TRUNCATE events",
	} {
		if _, err := pool.Exec(ctx, stmt); err == nil {
			t.Fatalf("%s: allowed", stmt)
		}
	}
}

func TestEventStore_ChainVerificationCatchesTampering(t *testing.T) {
	cases := []struct {
		name   string
		tamper func(t *testing.T, s string) []string
		atSeq  int64
	}{
		{"altered record", func(t *testing.T, _ string) []string {
			return []string{`UPDATE events SET record = convert_to(replace(convert_from(record, 'UTF8'), '"status":200', '"status":201'), 'UTF8') WHERE tenant_id = 'acme' AND seq = 3`}
		}, 3},
		{"altered actor column and record", func(t *testing.T, _ string) []string {
			return []string{`UPDATE events SET record = convert_to(replace(convert_from(record, 'UTF8'), '"actor":"alice"', '"actor":"bob"'), 'UTF8') WHERE tenant_id = 'acme' AND seq = 2`}
		}, 2},
		{"deleted from the middle", func(t *testing.T, _ string) []string {
			return []string{`DELETE FROM events WHERE tenant_id = 'acme' AND seq = 2`}
		}, 2},
		{"reordered", func(t *testing.T, _ string) []string {
			return []string{
				`UPDATE events SET seq = -3 WHERE tenant_id = 'acme' AND seq = 3`,
				`UPDATE events SET seq = 3 WHERE tenant_id = 'acme' AND seq = 4`,
				`UPDATE events SET seq = 4 WHERE tenant_id = 'acme' AND seq = -3`,
			}
		}, 3},
		{"altered column beside the record", func(t *testing.T, _ string) []string {
			return []string{`UPDATE events SET actor = 'mallory' WHERE tenant_id = 'acme' AND seq = 2`}
		}, 2},
		{"cut from the end", func(t *testing.T, _ string) []string {
			return []string{`DELETE FROM events WHERE tenant_id = 'acme' AND seq = 5`}
		}, 5},
		{"spliced from another tenant", func(t *testing.T, _ string) []string {
			return []string{
				`DELETE FROM events WHERE tenant_id = 'acme' AND seq = 4`,
				`INSERT INTO events (tenant_id, seq, stream_id, stream_version, event_id, type, occurred_at, actor, trace_id, record, prev_hash, hash)
				 SELECT 'acme', 4, stream_id, stream_version, event_id, type, occurred_at, actor, trace_id, record, prev_hash, hash FROM events WHERE tenant_id = 'other' AND seq = 4`,
			}
		}, 4},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pool := pgtest.NewPool(t)
			s := postgres.NewEventStore(pool, eventcodec.Gatehouse())
			ctx := context.Background()
			for _, tn := range []string{"acme", "other"} {
				batch := []eventlog.Envelope{tenantCreated(tn)}
				for i := 0; i < 4; i++ {
					batch = append(batch, requestEvent(tn))
				}
				if _, err := s.Append(ctx, postgres.Expect, batch...); err != nil {
					t.Fatal(err)
				}
			}
			if n, err := s.VerifyTenant(ctx, "acme"); err != nil || n != 5 {
				t.Fatalf("intact chain: %d, %v", n, err)
			}
			pgtest.Superuser(t, pool, tc.tamper(t, "acme")...)
			_, err := s.VerifyTenant(ctx, "acme")
			var ce *eventlog.ChainError
			if !errors.As(err, &ce) {
				t.Fatalf("tampering not detected: %v", err)
			}
			if ce.Seq != tc.atSeq {
				t.Fatalf("detected at seq %d, want %d: %v", ce.Seq, tc.atSeq, err)
			}
		})
	}
}
