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

// Quotas are the shared counters of budgets and rate limits. Admissions
// are batched: one goroutine admits in one transaction (one commit) every
// request that arrived while the previous batch was committing, each
// all-or-nothing. Settlements are batched off the request path; expired
// holds are posted by a sweeper on every replica.
type Quotas struct {
	pool *pgxpool.Pool
	log  *slog.Logger

	admits  chan *admission
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
	q := &Quotas{pool: pool, log: log, admits: make(chan *admission, 4096), queue: make(chan settlement, 20000),
		closing: make(chan struct{}), done: make(chan struct{})}
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

const admitSQL = `SELECT request_index, refused_line, remaining FROM quota_admit_batch($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`

// Admit reserves every line for the request, or none: a line that does not
// fit comes back as *quota.Refused. Once queued, it waits for its batch even
// if ctx ends, so that an admission is never left unanswered while its hold
// exists.
func (q *Quotas) Admit(ctx context.Context, tenantID string, requestID uuid.UUID, lines []quota.Line, now time.Time) ([]int64, error) {
	a := &admission{tenantID: tenantID, requestID: requestID, lines: lines, now: now, done: make(chan admitted, 1)}
	select {
	case q.admits <- a:
	case <-q.closing:
		return nil, errors.New("quota admissions closed")
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	r := <-a.done
	return r.remaining, r.err
}

func (q *Quotas) admitLoop() {
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
	)
	for r, a := range batch {
		tenants = append(tenants, a.tenantID)
		requests = append(requests, a.requestID)
		for _, l := range a.lines {
			lineReq = append(lineReq, int32(r+1))
			kinds, scopes, ids = append(kinds, string(l.Kind)), append(scopes, string(l.Subject.Scope)), append(ids, l.Subject.ID)
			buckets, limits, amounts, hards = append(buckets, l.Bucket), append(limits, l.Limit), append(amounts, l.Amount), append(hards, l.Hard)
		}
	}
	now := batch[0].now
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	// Answers go out only once the statement, and so its commit, has
	// succeeded: no request may run on a hold that was not kept.
	type answer struct {
		refused   int32
		remaining []int64
	}
	answers := make([]*answer, len(batch))
	rows, err := q.pool.Query(ctx, admitSQL, now, now.Add(HoldTTL), tenants, requests, lineReq, kinds, scopes, ids, buckets, limits, amounts, hards)
	if err == nil {
		for rows.Next() {
			var idx int32
			var a answer
			if err = rows.Scan(&idx, &a.refused, &a.remaining); err != nil {
				break
			}
			if idx >= 1 && int(idx) <= len(batch) {
				answers[idx-1] = &a
			}
		}
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
	}
	for i, a := range batch {
		switch ans := answers[i]; {
		case err != nil:
			a.done <- admitted{err: fmt.Errorf("quota admission: %w", err)}
		case ans == nil:
			a.done <- admitted{err: errors.New("quota admission: no answer for a request")}
		case ans.refused > 0:
			a.done <- admitted{err: &quota.Refused{Line: a.lines[ans.refused-1]}}
		default:
			a.done <- admitted{remaining: ans.remaining}
		}
	}
}

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
