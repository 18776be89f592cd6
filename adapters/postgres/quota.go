package postgres

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/gatehouse/gatehouse/adapters/postgres/db"
	"github.com/gatehouse/gatehouse/domain/quota"
	"github.com/gatehouse/gatehouse/domain/usage"
)

// HoldTTL is how long an admitted request may run before its reservation
// is posted at its full amount (its replica is presumed dead).
const HoldTTL = 15 * time.Minute

// Quotas are the shared counters of budgets and rate limits. Admissions
// are batched: one goroutine admits in one transaction (one commit) every
// request that arrived while the previous batch was committing, each
// all-or-nothing. Settlements are batched off the request path; expired
// holds are posted by a sweeper on every replica.
type Quotas struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	leases  *leases
	stats   struct{ fromSlices, fromPostgres atomic.Int64 }
	admits  chan *admission
	queue   chan settlement
	closing chan struct{}
	admDone chan struct{} // the admission loop has stopped
	done    chan struct{}
	once    sync.Once

	mu       sync.Mutex
	onPosted func([]quota.Posting)
}

// settlement is a finished request to post: through its holds, or (for a
// request admitted from slices) as what it spent of budget slices.
type settlement struct {
	requestID uuid.UUID
	quota.Settlement
	fromSlices bool
	spent      []consumption
}

// NewQuotas starts the settlement writer and the expiry sweeper.
func NewQuotas(pool *pgxpool.Pool, log *slog.Logger) *Quotas {
	if pool == nil || log == nil {
		panic("postgres.NewQuotas: nil dependency")
	}
	q := &Quotas{pool: pool, log: log, leases: newLeases(), admits: make(chan *admission, 4096), queue: make(chan settlement, 20000),
		closing: make(chan struct{}), admDone: make(chan struct{}), done: make(chan struct{})}
	go q.run()
	go q.admitLoop()
	return q
}

// admission is one request waiting in the admission batch.
type admission struct {
	tenantID  string
	requestID uuid.UUID
	lines     []quota.Line
	now       time.Time
	done      chan admitted
}

type admitted struct {
	remaining []int64
	err       error
}

// maxAdmitBatch bounds the requests admitted in one transaction.
const maxAdmitBatch = 256

// OnPosted registers what to do with budgets' spend after settlements
// (raise alerts); it runs on the settlement writer.
func (q *Quotas) OnPosted(fn func([]quota.Posting)) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.onPosted = fn
}

const admitSQL = `SELECT request_index, refused_line, remaining, granted FROM quota_admit_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`

// Admit reserves every line for the request, or none: a line that does not
// fit comes back as *quota.Refused. Once queued, it waits for its batch even
// if ctx ends, so that an admission is never left unanswered while its hold
// exists.
func (q *Quotas) Admit(ctx context.Context, tenantID string, requestID uuid.UUID, lines []quota.Line, now time.Time) ([]int64, error) {
	for attempt := 0; ; attempt++ {
		remaining, ok, wait := q.leases.admit(tenantID, requestID, lines, now)
		if ok {
			q.stats.fromSlices.Add(1)
			return remaining, nil
		}
		if wait == nil || attempt > 0 {
			break
		}
		// The slice is being refilled: the refill is as fast as a round trip
		// of this request's own, and spares one.
		select {
		case <-wait:
		case <-time.After(time.Second):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
	q.stats.fromPostgres.Add(1)
	a := &admission{tenantID: tenantID, requestID: requestID, lines: lines, now: now, done: make(chan admitted, 1)}
	select {
	case q.admits <- a:
	case <-q.closing:
		return nil, errors.New("quota admissions closed")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	select {
	case r := <-a.done:
		return r.remaining, r.err
	case <-q.admDone:
		select {
		case r := <-a.done:
			return r.remaining, r.err
		default: // queued after the loop stopped: never run, nothing held
			return nil, errors.New("quota admissions closed")
		}
	}
}

func (q *Quotas) admitLoop() {
	defer close(q.admDone)
	batch := make([]*admission, 0, maxAdmitBatch)
	for {
		select {
		case a := <-q.admits:
			batch = append(batch[:0], a)
		case <-q.closing:
			for {
				select {
				case a := <-q.admits:
					a.done <- admitted{err: errors.New("quota admissions closed")}
				default:
					return
				}
			}
		}
	gather:
		for len(batch) < maxAdmitBatch {
			select {
			case a := <-q.admits:
				batch = append(batch, a)
			default:
				break gather
			}
		}
		q.admitBatch(batch)
	}
}

// admitBatch runs one batch and answers each of its requests.
func (q *Quotas) admitBatch(batch []*admission) {
	var (
		tenants  []string
		requests []uuid.UUID
		lineReq  []int32
		kinds    []string
		scopes   []string
		ids      []string
		buckets  []time.Time
		limits   []int64
		amounts  []int64
		hards    []bool
		extras   []int64
		leaseIDs []uuid.UUID
	)
	for r, a := range batch {
		tenants = append(tenants, a.tenantID)
		requests = append(requests, a.requestID)
		for _, l := range a.lines {
			lineReq = append(lineReq, int32(r+1))
			kinds, scopes, ids = append(kinds, string(l.Kind)), append(scopes, string(l.Subject.Scope)), append(ids, l.Subject.ID)
			buckets, limits, amounts, hards = append(buckets, l.Bucket), append(limits, l.Limit), append(amounts, l.Amount), append(hards, l.Hard)
			extra, leaseID := q.leases.ask(a.tenantID, l)
			extras, leaseIDs = append(extras, extra), append(leaseIDs, leaseID)
		}
	}
	now := batch[0].now
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Answers go out only once the statement, and so its commit, has
	// succeeded: no request may run on a hold that was not kept.
	args := []any{now, now.Add(HoldTTL), tenants, requests, lineReq, kinds, scopes, ids, buckets, limits, amounts, hards,
		extras, leaseIDs, now.Add(leaseTTL)}
	answers, err := q.admitOnce(ctx, len(batch), args)
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) && (pgErr.Code == "40P01" || pgErr.Code == "40001") {
		// A deadlock or serialization failure rolled the batch back: once more.
		answers, err = q.admitOnce(ctx, len(batch), args)
	}
	line := 0
	for i, a := range batch {
		first := line
		line += len(a.lines)
		var ans *admissionAnswer
		if err == nil {
			ans = answers[i]
		}
		if ans == nil || ans.refused > 0 {
			q.leases.answered(a.tenantID, a.lines, leaseIDs[first:line])
		}
		switch {
		case err != nil:
			a.done <- admitted{err: fmt.Errorf("quota admission: %w", err)}
		case ans == nil:
			a.done <- admitted{err: errors.New("quota admission: no answer for a request")}
		case ans.refused > 0:
			a.done <- admitted{err: &quota.Refused{Line: a.lines[ans.refused-1]}}
		default:
			q.leases.granted(a.tenantID, a.lines, ans.granted, ans.remaining, leaseIDs[first:line], now)
			q.leases.answered(a.tenantID, a.lines, leaseIDs[first:line])
			a.done <- admitted{remaining: ans.remaining}
		}
	}
}

// admissionAnswer is one request's outcome in a batch.
type admissionAnswer struct {
	refused   int32
	remaining []int64
	granted   []int64
}

func (q *Quotas) admitOnce(ctx context.Context, n int, args []any) ([]*admissionAnswer, error) {
	answers := make([]*admissionAnswer, n)
	rows, err := q.pool.Query(ctx, admitSQL, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var idx int32
		var a admissionAnswer
		if err := rows.Scan(&idx, &a.refused, &a.remaining, &a.granted); err != nil {
			return nil, err
		}
		if idx >= 1 && int(idx) <= n {
			answers[idx-1] = &a
		}
	}
	return answers, rows.Err()
}

// Settle finishes a request: one admitted from slices gives back to them
// what it did not use (and its spending from budget slices is posted);
// one admitted through Postgres is handed to the settlement writer. It
// blocks only when the writer is far behind.
func (q *Quotas) Settle(requestID uuid.UUID, s quota.Settlement) {
	if spent, ok := q.leases.settle(requestID, s); ok {
		if len(spent) > 0 {
			q.queue <- settlement{requestID: requestID, Settlement: s, fromSlices: true, spent: spent}
		}
		return
	}
	q.queue <- settlement{requestID: requestID, Settlement: s}
}

const settleSQL = `SELECT tenant_id, scope, scope_id, bucket, used_before, used_after FROM quota_settle($1, $2, $3, $4)`
const expireSQL = `SELECT tenant_id, scope, scope_id, bucket, used_before, used_after FROM quota_expire($1, $2)`
const consumeSQL = `SELECT tenant_id, scope, scope_id, bucket, used_before, used_after FROM quota_consume($1, $2, $3, $4, $5, $6, $7, $8)`
const expireLeasesSQL = `SELECT tenant_id, scope, scope_id, bucket, used_before, used_after FROM quota_expire_leases($1, $2)`
const releaseSQL = `SELECT quota_release($1, $2, $3)`

func (q *Quotas) run() {
	defer close(q.done)
	sweep := time.NewTicker(10 * time.Second)
	defer sweep.Stop()
	tidy := time.NewTicker(time.Second)
	defer tidy.Stop()
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
		case <-tidy.C:
			q.release(q.leases.tidy(time.Now(), false))
		case <-q.closing:
			<-q.admDone // no slice is granted after the last tidy
			for {
				select {
				case s := <-q.queue:
					batch = append(batch, s)
				default:
					if len(batch) > 0 {
						q.settle(batch)
					}
					q.release(q.leases.tidy(time.Now(), true))
					return
				}
			}
		}
	}
}

// settle posts a batch, retrying while Postgres is away: a settlement that
// never arrives is posted at its reserved amount when its hold (or its
// slice) expires.
func (q *Quotas) settle(batch []settlement) {
	var tenants []string
	var requests []uuid.UUID
	var costs, tokens []int64
	var sp struct {
		tenants, kinds, scopes, ids []string
		buckets                     []time.Time
		leases                      []*uuid.UUID
		amounts, excess             []int64
	}
	for _, s := range batch {
		if s.fromSlices {
			for _, c := range s.spent {
				sp.tenants, sp.kinds = append(sp.tenants, c.tenantID), append(sp.kinds, string(c.line.Kind))
				sp.scopes, sp.ids = append(sp.scopes, string(c.line.Subject.Scope)), append(sp.ids, c.line.Subject.ID)
				sp.buckets, sp.amounts, sp.excess = append(sp.buckets, c.line.Bucket), append(sp.amounts, c.amount), append(sp.excess, c.excess)
				var id *uuid.UUID // per-minute slices have no lease row
				if c.leaseID != uuid.Nil {
					id = &c.leaseID
				}
				sp.leases = append(sp.leases, id)
			}
			continue
		}
		tenants, requests = append(tenants, s.TenantID), append(requests, s.requestID)
		costs, tokens = append(costs, int64(s.Cost)), append(tokens, s.Tokens)
	}
	if len(requests) > 0 {
		q.postRetrying("settlements", len(requests), settleSQL, tenants, requests, costs, tokens)
	}
	if len(sp.tenants) > 0 {
		q.postRetrying("spending from slices", len(sp.tenants), consumeSQL,
			sp.tenants, sp.kinds, sp.scopes, sp.ids, sp.buckets, sp.leases, sp.amounts, sp.excess)
	}
}

func (q *Quotas) postRetrying(what string, n int, sql string, args ...any) {
	backoff := 50 * time.Millisecond
	for attempt := 1; attempt <= 8; attempt++ {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		postings, err := q.post(ctx, sql, args...)
		cancel()
		if err == nil {
			q.posted(postings)
			return
		}
		q.log.Warn("quota posting failed; retrying", "what", what, "count", n, "attempt", attempt, "err", err)
		time.Sleep(backoff)
		backoff = min(2*backoff, 5*time.Second)
	}
	q.log.Error("quota postings given up: their holds and slices are posted at their reserved amounts when they expire", "what", what, "count", n)
}

// release gives back unused budget slices and renews live ones.
func (q *Quotas) release(rs []release) {
	if len(rs) == 0 {
		return
	}
	ids, amounts := make([]uuid.UUID, len(rs)), make([]int64, len(rs))
	for i, r := range rs {
		ids[i], amounts[i] = r.leaseID, r.amount
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := q.pool.Exec(ctx, releaseSQL, ids, amounts, time.Now().Add(leaseTTL)); err != nil {
		// Not given back: the slices expire and are posted at what they hold.
		q.log.Warn("giving back budget slices failed", "slices", len(rs), "err", err)
	}
}

// expire posts expired holds and the expired slices of replicas that
// stopped renewing them, each in its own transaction, at what they hold.
func (q *Quotas) expire() {
	for _, e := range []struct{ what, sql string }{
		{"quota holds", expireSQL},
		{"budget slices", expireLeasesSQL},
	} {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		postings, err := q.post(ctx, e.sql, time.Now(), 1000)
		cancel()
		if err != nil {
			q.log.Warn("posting expired "+e.what+" failed", "err", err)
			continue
		}
		if len(postings) > 0 {
			q.log.Warn("posted expired "+e.what+" at their reserved amounts", "budgets", len(postings))
		}
		q.posted(postings)
	}
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

// QuotaStats count where admissions were decided.
type QuotaStats struct{ FromSlices, FromPostgres int64 }

// Stats reads the counts.
func (q *Quotas) Stats() QuotaStats {
	return QuotaStats{FromSlices: q.stats.fromSlices.Load(), FromPostgres: q.stats.fromPostgres.Load()}
}

// Counter reads a budget's or limit's counter in one bucket.
func (q *Quotas) Counter(ctx context.Context, kind quota.Kind, s quota.Subject, bucket time.Time) (used, reserved int64, err error) {
	row, err := db.New(q.pool).QuotaCounter(ctx, db.QuotaCounterParams{TenantID: s.TenantID, Kind: string(kind), Scope: string(s.Scope), ScopeID: s.ID, Bucket: bucket})
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, 0, nil
	}
	return row.Used, row.Reserved, err
}
