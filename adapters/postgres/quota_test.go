package postgres_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/adapters/postgres"
	"github.com/gatehouse/gatehouse/adapters/postgres/pgtest"
	"github.com/gatehouse/gatehouse/domain/quota"
)

var tenantSubject = quota.Subject{TenantID: "acme", Scope: quota.ScopeTenant, ID: "acme"}

func budgetLine(limit, amount int64, window time.Time) quota.Line {
	return quota.Line{Kind: quota.KindBudget, Subject: tenantSubject, Bucket: window, Limit: limit, Amount: amount, Hard: true}
}

func TestQuotas_AHardBudgetNeverOvershootsUnderConcurrency(t *testing.T) {
	pool := pgtest.NewPool(t)
	q := postgres.NewQuotas(pool, quiet)
	ctx := context.Background()
	now := time.Now()
	window, _ := quota.Window(quota.Day, now)
	const limit, cost = 1_000_000, 30_000 // room for 33
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for i := 0; i < 80; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := uuid.New()
			_, err := q.Admit(ctx, "acme", id, []quota.Line{budgetLine(limit, cost, window)}, now)
			var refused *quota.Refused
			switch {
			case err == nil:
				admitted.Add(1)
				q.Settle(id, quota.Settlement{TenantID: "acme", Cost: cost, Tokens: 10})
			case errors.As(err, &refused):
			default:
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	if err := q.Close(ctx); err != nil {
		t.Fatal(err)
	}
	used, reserved, err := q.Counter(ctx, quota.KindBudget, tenantSubject, window)
	if err != nil {
		t.Fatal(err)
	}
	if admitted.Load() != limit/cost || used != admitted.Load()*cost || reserved != 0 {
		t.Fatalf("admitted %d (room for %d), spent %d, still reserved %d", admitted.Load(), limit/cost, used, reserved)
	}
}

func TestQuotas_AdmitsAllLinesOrNone(t *testing.T) {
	pool := pgtest.NewPool(t)
	q := postgres.NewQuotas(pool, quiet)
	defer q.Close(context.Background())
	ctx := context.Background()
	now := time.Now()
	window, _ := quota.Window(quota.Day, now)
	minute := now.UTC().Truncate(time.Minute)
	key := quota.Subject{TenantID: "acme", Scope: quota.ScopeKey, ID: uuid.NewString()}
	lines := []quota.Line{
		budgetLine(1_000, 100, window), // too close to its limit for slices: admitted exactly
		{Kind: quota.KindRequests, Subject: key, Bucket: minute, Limit: 2, Amount: 1, Hard: true},
	}
	for i := 0; i < 2; i++ {
		if _, err := q.Admit(ctx, "acme", uuid.New(), lines, now); err != nil {
			t.Fatal(err)
		}
	}
	_, err := q.Admit(ctx, "acme", uuid.New(), lines, now)
	var refused *quota.Refused
	if !errors.As(err, &refused) || refused.Line.Kind != quota.KindRequests {
		t.Fatalf("third request in a minute of two: %v", err)
	}
	_, reserved, _ := q.Counter(ctx, quota.KindBudget, tenantSubject, window)
	if reserved != 200 {
		t.Fatalf("the refused admission left a budget reservation: %d reserved", reserved)
	}
}

func TestQuotas_AnUnsettledHoldExpiresAndIsPostedAtItsAmount(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	q := postgres.NewQuotas(pool, quiet)
	defer q.Close(ctx)
	past := time.Now().Add(-postgres.HoldTTL - time.Minute) // admitted long ago, its replica gone
	window, _ := quota.Window(quota.Total, past)
	if _, err := q.Admit(ctx, "acme", uuid.New(), []quota.Line{budgetLine(10_000, 5_000, window)}, past); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `SELECT * FROM quota_expire(now(), 100)`); err != nil {
		t.Fatal(err)
	}
	used, reserved, _ := q.Counter(ctx, quota.KindBudget, tenantSubject, window)
	if used != 5_000 || reserved != 0 {
		t.Fatalf("expired hold: spent %d, reserved %d; want it posted at 5000", used, reserved)
	}
}

func TestQuotas_SlicesAdmitFromMemoryAcrossReplicasAndNeverPastTheLimit(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	replicas := []*postgres.Quotas{postgres.NewQuotas(pool, quiet), postgres.NewQuotas(pool, quiet)}
	now := time.Now()
	window, _ := quota.Window(quota.Month, now)
	const limit, cost = 2_000_000, 1_000 // room for 2,000 requests; slices of 64
	var admitted atomic.Int64
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			q := replicas[w%2]
			for i := 0; i < 160; i++ {
				id := uuid.New()
				_, err := q.Admit(ctx, "acme", id, []quota.Line{budgetLine(limit, cost, window)}, now)
				var refused *quota.Refused
				switch {
				case err == nil:
					admitted.Add(1)
					q.Settle(id, quota.Settlement{TenantID: "acme", Cost: cost})
				case errors.As(err, &refused):
				default:
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	for _, q := range replicas {
		if err := q.Close(ctx); err != nil {
			t.Fatal(err)
		}
	}
	used, reserved, err := replicas[0].Counter(ctx, quota.KindBudget, tenantSubject, window)
	if err != nil {
		t.Fatal(err)
	}
	if used != admitted.Load()*cost || reserved != 0 || used > limit {
		t.Fatalf("admitted %d, spent %d, still reserved %d (limit %d)", admitted.Load(), used, reserved, limit)
	}
	if admitted.Load() != 16*160 && admitted.Load() < limit/cost-2*64 {
		t.Fatalf("admitted %d: refused more than the slices two replicas can hold", admitted.Load())
	}
	var fromDB int64
	pool.QueryRow(ctx, `SELECT count(*) FROM quota_admissions`).Scan(&fromDB)
	if fromDB != 0 {
		t.Fatalf("%d holds left after every request settled", fromDB)
	}
	local := replicas[0].Stats().FromSlices + replicas[1].Stats().FromSlices
	if local < admitted.Load()/2 {
		t.Fatalf("only %d of %d admissions came from slices", local, admitted.Load())
	}
}

func TestQuotas_ADeadReplicasSliceIsPostedWhenItExpires(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	q := postgres.NewQuotas(pool, quiet)
	window, _ := quota.Window(quota.Month, time.Now())
	id := uuid.New()
	if _, err := q.Admit(ctx, "acme", id, []quota.Line{budgetLine(1_000_000, 1_000, window)}, time.Now()); err != nil {
		t.Fatal(err)
	}
	q.Settle(id, quota.Settlement{TenantID: "acme", Cost: 1_000})
	eventuallyQ(t, func() bool {
		var holds int
		pool.QueryRow(ctx, `SELECT count(*) FROM quota_admissions`).Scan(&holds)
		return holds == 0
	})
	var leased int64
	pool.QueryRow(ctx, `SELECT coalesce(sum(amount), 0) FROM quota_leases`).Scan(&leased)
	if leased != 64_000 {
		t.Fatalf("slice held %d, want 64000", leased)
	}
	// The replica dies without giving its slice back: it expires.
	if _, err := pool.Exec(ctx, `UPDATE quota_leases SET expires_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `SELECT * FROM quota_expire_leases(now(), 100)`); err != nil {
		t.Fatal(err)
	}
	used, reserved, _ := q.Counter(ctx, quota.KindBudget, tenantSubject, window)
	if used != 1_000+64_000 || reserved != 0 {
		t.Fatalf("after expiry: spent %d, reserved %d; want the request and the whole slice posted", used, reserved)
	}
}

func TestQuotas_ARequestFromASliceThatCostsMoreThanItsEstimatePostsItsWholeCost(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	q := postgres.NewQuotas(pool, quiet)
	now := time.Now()
	window, _ := quota.Window(quota.Month, now)
	minute := now.UTC().Truncate(time.Minute)
	tokens := quota.Subject{TenantID: "acme", Scope: quota.ScopeKey, ID: "k1"}
	lines := []quota.Line{
		budgetLine(1_000_000, 1_000, window),
		{Kind: quota.KindTokens, Subject: tokens, Bucket: minute, Limit: 1_000_000, Amount: 100, Hard: true},
	}
	first, second := uuid.New(), uuid.New()
	if _, err := q.Admit(ctx, "acme", first, lines, now); err != nil { // through Postgres, taking slices
		t.Fatal(err)
	}
	if _, err := q.Admit(ctx, "acme", second, lines, now); err != nil { // from the slices
		t.Fatal(err)
	}
	if q.Stats().FromSlices != 1 {
		t.Fatalf("stats %+v: want the second request admitted from slices", q.Stats())
	}
	q.Settle(first, quota.Settlement{TenantID: "acme", Cost: 1_000, Tokens: 100})
	q.Settle(second, quota.Settlement{TenantID: "acme", Cost: 5_000, Tokens: 700}) // five times its estimate
	if err := q.Close(ctx); err != nil {
		t.Fatal(err)
	}
	used, reserved, _ := q.Counter(ctx, quota.KindBudget, tenantSubject, window)
	if used != 6_000 || reserved != 0 {
		t.Fatalf("budget: spent %d, reserved %d; want 6000 spent, nothing reserved", used, reserved)
	}
	// The token slice counted as used at once, less nothing given back;
	// the second request's 600 tokens beyond its share are added.
	usedTokens, _, _ := q.Counter(ctx, quota.KindTokens, tokens, minute)
	if want := int64(100 + 100*64 + 600); usedTokens != want {
		t.Fatalf("tokens used %d, want %d", usedTokens, want)
	}
}

func TestQuotas_ASliceExpiredUnderALiveReplicaIsNotPostedTwice(t *testing.T) {
	pool := pgtest.NewPool(t)
	ctx := context.Background()
	q := postgres.NewQuotas(pool, quiet)
	now := time.Now()
	window, _ := quota.Window(quota.Month, now)
	first, second := uuid.New(), uuid.New()
	for _, id := range []uuid.UUID{first, second} {
		if _, err := q.Admit(ctx, "acme", id, []quota.Line{budgetLine(1_000_000, 1_000, window)}, now); err != nil {
			t.Fatal(err)
		}
	}
	q.Settle(first, quota.Settlement{TenantID: "acme", Cost: 1_000})
	// The replica stalls past its slice's expiry while the second request
	// runs: the sweeper posts the whole slice, the request included.
	if _, err := pool.Exec(ctx, `UPDATE quota_leases SET expires_at = now() - interval '1 second'`); err != nil {
		t.Fatal(err)
	}
	if _, err := pool.Exec(ctx, `SELECT * FROM quota_expire_leases(now(), 100)`); err != nil {
		t.Fatal(err)
	}
	q.Settle(second, quota.Settlement{TenantID: "acme", Cost: 1_000})
	if err := q.Close(ctx); err != nil { // gives back the unused slice it believes it has
		t.Fatal(err)
	}
	used, reserved, _ := q.Counter(ctx, quota.KindBudget, tenantSubject, window)
	if used != 1_000+64_000 || reserved != 0 {
		t.Fatalf("spent %d, reserved %d; want the first request and the whole slice, once", used, reserved)
	}
}

func eventuallyQ(t *testing.T, f func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !f(); time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in 10s")
		}
	}
}
