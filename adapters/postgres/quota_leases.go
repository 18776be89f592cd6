package postgres

import (
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gatehouse/gatehouse/domain/quota"
)

// Leases are this replica's slices of shared counters. While a counter is
// far from its limit, an admission through Postgres also takes a slice
// (leaseFactor times what the request needs, granted only if the counter
// stays four slices from its limit after the grant); later requests are then admitted from
// memory until the slice is used up. A slice is taken from the shared
// counter like any reservation, so replicas together can never admit past a
// limit; near a limit no slices are handed out and every request is
// admitted exactly. Concurrency is never leased.
type leases struct {
	mu      sync.Mutex
	byKey   map[string]*lease
	retired []*lease                 // budget slices replaced under new terms, until given back
	local   map[uuid.UUID][]heldLine // requests admitted from slices, until settled
}

// leaseFactor sizes a slice by the request that takes it.
const leaseFactor = 64

// leaseTTL is how long a budget slice outlives its replica's last renewal;
// idle slices are given back after leaseIdle.
const (
	leaseTTL  = time.Minute
	leaseIdle = 2 * time.Second
)

type lease struct {
	tenantID string
	line     quota.Line    // kind, subject, bucket, limit and hardness the slice was granted under
	id       uuid.UUID     // a budget slice's row in quota_leases
	granted  int64         // slice not yet consumed
	inflight int64         // promised to requests running now
	room     int64         // what the counter had left beyond the slices, at the last grant
	asking   bool          // a refill is on its way: one at a time, so a replica holds about one slice
	refilled chan struct{} // closed when the refill on its way is answered
	lastUse  time.Time
	renewed  time.Time
}

type heldLine struct {
	lease  *lease
	amount int64
}

// consumption is what a request admitted from slices spent that must be
// posted: of a budget slice, what it took from the slice (amount) and
// anything beyond its share (excess); of a per-minute token slice, only
// the excess, the slice being counted as used already.
type consumption struct {
	tenantID string
	line     quota.Line
	leaseID  uuid.UUID // the budget slice's row; uuid.Nil for per-minute slices
	amount   int64
	excess   int64
}

func newLeases() *leases {
	return &leases{byKey: map[string]*lease{}, local: map[uuid.UUID][]heldLine{}}
}

func leaseKey(tenantID string, l quota.Line) string { return tenantID + "|" + l.Key() }

// fits says whether a slice granted under one line's terms still serves
// another: same limit and hardness (a changed budget or limit ends the
// slice's use; it is given back when idle).
func (ls *lease) fits(l quota.Line) bool {
	return ls.line.Limit == l.Limit && ls.line.Hard == l.Hard && ls.granted-ls.inflight >= l.Amount
}

// admit takes every line from slices, or none; it returns the remaining
// room each line's counter is believed to have. When a line does not fit
// but its slice is being refilled, wait says when to try again.
func (s *leases) admit(tenantID string, requestID uuid.UUID, lines []quota.Line, now time.Time) (remaining []int64, ok bool, wait <-chan struct{}) {
	s.mu.Lock()
	defer s.mu.Unlock()
	held := make([]heldLine, len(lines))
	for i, l := range lines {
		ls := s.byKey[leaseKey(tenantID, l)]
		if l.Kind == quota.KindConcurrency || ls == nil || !ls.fits(l) {
			if ls != nil && ls.asking && ls.line.Limit == l.Limit {
				return nil, false, ls.refilled
			}
			return nil, false, nil
		}
		held[i] = heldLine{lease: ls, amount: l.Amount}
	}
	remaining = make([]int64, len(lines))
	for i, h := range held {
		h.lease.inflight += h.amount
		h.lease.lastUse = now
		remaining[i] = h.lease.room + h.lease.granted - h.lease.inflight
	}
	s.local[requestID] = held
	return remaining, true, nil
}

// ask says, for a line going to Postgres, what slice to try for and which
// lease it joins: none when the limit is too small for slices, or when a
// refill of the same slice is already on its way (so that a replica never
// holds much more than one slice of a counter).
func (s *leases) ask(tenantID string, l quota.Line) (extra int64, leaseID uuid.UUID) {
	if l.Kind == quota.KindConcurrency || l.Amount <= 0 || l.Amount > l.Limit/(leaseFactor*6) {
		return 0, uuid.Nil // near or beyond the scale of the limit: admit exactly
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	k := leaseKey(tenantID, l)
	ls := s.byKey[k]
	switch {
	case ls != nil && ls.asking:
		return 0, uuid.Nil
	case ls != nil && ls.line.Limit == l.Limit && ls.line.Hard == l.Hard:
		ls.asking, ls.refilled = true, make(chan struct{})
		return l.Amount * leaseFactor, ls.id
	case ls != nil && ls.line.Kind == quota.KindBudget:
		s.retired = append(s.retired, ls) // terms changed: its unused part is given back by tidy
	}
	ls = &lease{tenantID: tenantID, line: l, id: uuid.New(), asking: true, refilled: make(chan struct{})}
	s.byKey[k] = ls
	return l.Amount * leaseFactor, ls.id
}

// answered ends a refill, whatever came of it.
func (s *leases) answered(tenantID string, lines []quota.Line, ids []uuid.UUID) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, l := range lines {
		if ls := s.byKey[leaseKey(tenantID, l)]; ls != nil && i < len(ids) && ls.id == ids[i] && ls.asking {
			ls.asking = false
			close(ls.refilled)
		}
	}
}

// granted records the slices Postgres handed out with an admission.
func (s *leases) granted(tenantID string, lines []quota.Line, extras []int64, rooms []int64, ids []uuid.UUID, now time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, l := range lines {
		if i >= len(extras) || extras[i] <= 0 {
			continue
		}
		ls := s.byKey[leaseKey(tenantID, l)]
		if ls == nil || ls.id != ids[i] {
			continue // asked for by a lease since replaced: cannot happen while one refill is on its way
		}
		if ls.renewed.IsZero() {
			ls.renewed = now
		}
		ls.line = l
		ls.granted += extras[i]
		ls.room = rooms[i]
		ls.lastUse = now
	}
}

// settle finishes a request admitted from slices: what it did not use goes
// back to its slices, and what it spent of budget slices is returned for
// posting. ok is false for a request not admitted from slices.
func (s *leases) settle(requestID uuid.UUID, st quota.Settlement) ([]consumption, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	held, ok := s.local[requestID]
	if !ok {
		return nil, false
	}
	delete(s.local, requestID)
	var spent []consumption
	for _, h := range held {
		actual := h.amount // requests: one
		switch h.lease.line.Kind {
		case quota.KindBudget:
			actual = max(int64(st.Cost), 0)
		case quota.KindTokens:
			actual = max(st.Tokens, 0)
		}
		used := min(actual, h.amount)
		h.lease.inflight -= h.amount
		h.lease.granted -= used
		c := consumption{tenantID: h.lease.tenantID, line: h.lease.line, excess: actual - used}
		if h.lease.line.Kind == quota.KindBudget {
			c.leaseID, c.amount = h.lease.id, used
		}
		if c.amount > 0 || c.excess > 0 {
			spent = append(spent, c)
		}
	}
	return spent, true
}

// release is an unused budget slice to give back, or a live one to renew.
type release struct {
	leaseID uuid.UUID
	amount  int64 // to give back (0: renew only)
}

// tidy gives back the unused part of budget slices idle for leaseIdle (or
// all of them, when stopping), renews the others, and forgets per-minute
// slices whose minute is over.
func (s *leases) tidy(now time.Time, all bool) []release {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []release
	kept := s.retired[:0]
	for _, ls := range s.retired {
		if unused := ls.granted - ls.inflight; unused > 0 {
			out = append(out, release{leaseID: ls.id, amount: unused})
			ls.granted -= unused
			ls.renewed = now
		} else if ls.granted > 0 && now.Sub(ls.renewed) >= leaseTTL/4 {
			out = append(out, release{leaseID: ls.id}) // still promised to running requests
			ls.renewed = now
		}
		if ls.inflight > 0 {
			kept = append(kept, ls)
		}
	}
	s.retired = kept
	minute := now.UTC().Truncate(time.Minute)
	for k, ls := range s.byKey {
		if ls.line.Kind != quota.KindBudget {
			if ls.line.Bucket.Before(minute) && ls.inflight == 0 && !ls.asking {
				delete(s.byKey, k)
			}
			continue
		}
		unused := ls.granted - ls.inflight
		switch {
		case (all || now.Sub(ls.lastUse) >= leaseIdle) && unused > 0:
			out = append(out, release{leaseID: ls.id, amount: unused})
			ls.granted -= unused
			ls.renewed = now
		case ls.granted > 0 && now.Sub(ls.renewed) >= leaseTTL/4:
			out = append(out, release{leaseID: ls.id})
			ls.renewed = now
		}
		if ls.granted == 0 && ls.inflight == 0 && !ls.asking {
			delete(s.byKey, k)
		}
	}
	return out
}
