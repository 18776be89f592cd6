package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse/gatehouse/adapters/postgres/db"
	"github.com/gatehouse/gatehouse/domain/quota"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// HoldTTL is how long an admitted request may run before its reservation
// is posted at its full amount (its replica is presumed dead).
const HoldTTL = 15 * time.Minute

// Quotas are the shared counters of budgets and rate limits: one round trip
// admits a request against all that apply; settlements are batched off the
// request path; expired holds are posted by a sweeper on every replica.
type Quotas struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	queue   chan settlement
	closing chan struct{}
	done    chan struct{}
	once    sync.Once

	mu       sync.Mutex
	onPosted func([]quota.Posting)
}

type settlement struct {
	requestID uuid.UUID
	quota.Settlement
}

// NewQuotas starts the settlement writer and the expiry sweeper.
func NewQuotas(pool *pgxpool.Pool, log *slog.Logger) *Quotas {
	if pool == nil || log == nil {
		panic("postgres.NewQuotas: nil dependency")
	}
	q := &Quotas{pool: pool, log: log, queue: make(chan settlement, 20000), closing: make(chan struct{}), done: make(chan struct{})}
	go q.run()
	return q
}

// OnPosted registers what to do with budgets' spend after settlements
// (raise alerts); it runs on the settlement writer.
func (q *Quotas) OnPosted(fn func([]quota.Posting)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.onPosted = fn
}

const admitSQL = `SELECT refused_line, remaining FROM quota_admit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`

// Admit reserves every line for the request, or none: a line that does not
// fit comes back as *quota.Refused.
func (q *Quotas) Admit(ctx context.Context, tenantID string, requestID uuid.UUID, lines []quota.Line, now time.Time) ([]int64, error) {
	n := len(lines)
	kinds, scopes, ids := make([]string, n), make([]string, n), make([]string, n)
	buckets, limits, amounts, hards := make([]time.Time, n), make([]int64, n), make([]int64, n), make([]bool, n)
	for i, l := range lines {
		kinds[i], scopes[i], ids[i] = string(l.Kind), string(l.Subject.Scope), l.Subject.ID
		buckets[i], limits[i], amounts[i], hards[i] = l.Bucket, l.Limit, l.Amount, l.Hard
	}
	var refused int32
	var remaining []int64
	err := q.pool.QueryRow(ctx, admitSQL, tenantID, requestID, now, now.Add(HoldTTL),
		kinds, scopes, ids, buckets, limits, amounts, hards).Scan(&refused, &remaining)
	if err != nil {
		return nil, fmt.Errorf("quota admission: %w", err)
	}
	if refused > 0 {
		return nil, &quota.Refused{Line: lines[refused-1]}
	}
	return remaining, nil
}

// Settle hands a finished request's usage to the settlement writer. It
// blocks only when the writer is far behind.
func (q *Quotas) Settle(requestID uuid.UUID, s quota.Settlement) {
	q.queue <- settlement{requestID: requestID, Settlement: s}
}

const settleSQL = `SELECT tenant_id, scope, scope_id, bucket, used_before, used_after FROM quota_settle($1, $2, $3, $4)`
const expireSQL = `SELECT tenant_id, scope, scope_id, bucket, used_before, used_after FROM quota_expire($1, $2)`

func (q *Quotas) run() {
	defer close(q.done)
	sweep := time.NewTicker(10 * time.Second)
	defer sweep.Stop()
	batch := make([]settlement, 0, 1000)
	for {
		select {
		case s := <-q.queue:
			batch = append(batch, s)
		gather:
			for len(batch) < cap(batch) {
				select {
				case s := <-q.queue:
					batch = append(batch, s)
				default:
					break gather
				}
			}
			q.settle(batch)
			batch = batch[:0]
		case <-sweep.C:
			q.expire()
		case <-q.closing:
			for {
				select {
				case s := <-q.queue:
					batch = append(batch, s)
				default:
					if len(batch) > 0 {
						q.settle(batch)
					}
					return
				}
			}
		}
	}
}

// settle posts a batch, retrying while Postgres is away: a settlement that
// never arrives is posted at its reserved amount when its hold expires.
func (q *Quotas) settle(batch []settlement) {
	n := len(batch)
	tenants, requests, costs, tokens := make([]string, n), make([]uuid.UUID, n), make([]int64, n), make([]int64, n)
	for i, s := range batch {
		tenants[i], requests[i], costs[i], tokens[i] = s.TenantID, s.requestID, int64(s.Cost), s.Tokens
	}
	backoff := 50 * time.Millisecond
	for attempt := 1; attempt <= 8; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		postings, err := q.post(ctx, settleSQL, tenants, requests, costs, tokens)
		cancel()
		if err == nil {
			q.posted(postings)
			return
		}
		q.log.Warn("quota settlement failed; retrying", "requests", n, "attempt", attempt, "err", err)
		time.Sleep(backoff)
		backoff = min(2*backoff, 5*time.Second)
	}
	q.log.Error("quota settlements given up: their holds will be posted at the reserved amounts when they expire", "requests", n)
}

func (q *Quotas) expire() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	postings, err := q.post(ctx, expireSQL, time.Now(), 1000)
	if err != nil {
		q.log.Warn("posting expired quota holds failed", "err", err)
		return
	}
	if len(postings) > 0 {
		q.log.Warn("posted expired quota holds at their reserved amounts", "budgets", len(postings))
	}
	q.posted(postings)
}

func (q *Quotas) post(ctx context.Context, sql string, args ...any) ([]quota.Posting, error) {
	rows, err := q.pool.Query(ctx, sql, args...)
	if err != nil {
		return nil, err
	}
	return pgx.CollectRows(rows, func(r pgx.CollectableRow) (quota.Posting, error) {
		var p quota.Posting
		var scope string
		var before, after int64
		err := r.Scan(&p.Subject.TenantID, &scope, &p.Subject.ID, &p.Window, &before, &after)
		p.Subject.Scope, p.Before, p.After = quota.Scope(scope), usage.Micros(before), usage.Micros(after)
		return p, err
	})
}

func (q *Quotas) posted(ps []quota.Posting) {
	q.mu.Lock()
	fn := q.onPosted
	q.mu.Unlock()
	if fn != nil && len(ps) > 0 {
		fn(ps)
	}
}

// Close posts every queued settlement, or gives up when ctx ends.
func (q *Quotas) Close(ctx context.Context) error {
	q.once.Do(func() { close(q.closing) })
	select {
	case <-q.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("quota settlements: %d not posted before the deadline: %w", len(q.queue), ctx.Err())
	}
}

// Counter reads a budget's or limit's counter in one bucket.
func (q *Quotas) Counter(ctx context.Context, kind quota.Kind, s quota.Subject, bucket time.Time) (used, reserved int64, err error) {
	row, err := db.New(q.pool).QuotaCounter(ctx, db.QuotaCounterParams{TenantID: s.TenantID, Kind: string(kind), Scope: string(s.Scope), ScopeID: s.ID, Bucket: bucket})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, nil
	}
	return row.Used, row.Reserved, err
}
