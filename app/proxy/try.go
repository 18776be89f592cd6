package proxy

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/gatehouse/gatehouse/domain/routing"
)

// try makes one call within the attempt's timeouts. A stream counts as
// answered once its first chunk came (or it ended cleanly at once): a
// failure before that is the attempt's, and the next target may be tried.
func (s *Service) try(ctx context.Context, x *Exchange, a routing.Attempt, body []byte, whole wholeCall, stream streamCall,
	deadline time.Time) (err error) {
	var tctx context.Context
	var cancel context.CancelFunc
	if a.RequestTimeout > 0 {
		tctx, cancel = context.WithTimeout(ctx, a.RequestTimeout)
	} else {
		tctx, cancel = context.WithCancel(ctx)
	}
	if !deadline.IsZero() {
		inner := cancel
		var c2 context.CancelFunc
		tctx, c2 = context.WithDeadline(tctx, deadline)
		cancel = func() { c2(); inner() }
	}
	x.markUpstream()
	tctx, sp := s.startSpan(tctx, "gatehouse.upstream", x.upstreamAttrs()...)
	defer func() { endSpan(sp, err) }()
	timedOut := func(err error) error {
		if err != nil && ctx.Err() == nil && errors.Is(tctx.Err(), context.DeadlineExceeded) {
			return &UpstreamError{Message: "the upstream did not answer within the request timeout"}
		}
		return err
	}
	if !x.Stream {
		resp, err := whole(tctx, body)
		cancel()
		if err != nil {
			return timedOut(err)
		}
		x.Status, x.Header, x.Body = resp.Status, resp.Header, resp.Body
		if t, found, _ := x.dialect.usageOf(resp.Body); found {
			x.tokens, x.usageSeen = t, true
		}
		return nil
	}
	// The first-token timeout runs from the call: an upstream slow to
	// answer at all is as late as one slow to send its first chunk.
	var firstTimedOut atomic.Bool
	var timer *time.Timer
	if a.FirstTokenTimeout > 0 {
		timer = time.AfterFunc(a.FirstTokenTimeout, func() { firstTimedOut.Store(true); cancel() })
	}
	noFirst := func(err error) error {
		cancel()
		if firstTimedOut.Load() && ctx.Err() == nil {
			return &UpstreamError{Message: "the upstream sent nothing within the first-token timeout"}
		}
		return timedOut(err)
	}
	cs, err := stream(tctx, body)
	if err != nil {
		if timer != nil {
			timer.Stop()
		}
		return noFirst(err)
	}
	first, err := cs.Next()
	if timer != nil && !timer.Stop() && err == nil {
		err = context.DeadlineExceeded // it fired as the chunk came: the call is cancelled all the same
	}
	if errors.Is(err, io.EOF) {
		err = &UpstreamError{Message: "the upstream stream ended without an answer"}
	}
	if err != nil {
		cs.Close()
		return noFirst(err)
	}
	x.chunks = &attemptStream{first: first, firstErr: err, inner: cs, ctx: tctx, cancel: cancel, idle: a.IdleTimeout}
	x.Status = http.StatusOK
	return nil
}

// attemptStream is a stream whose first chunk was read ahead; it enforces
// the idle timeout between chunks and ends the call when closed.
type attemptStream struct {
	first    []byte
	firstErr error
	inner    ChunkStream
	ctx      context.Context
	cancel   context.CancelFunc
	idle     time.Duration
	started  bool
	idled    atomic.Bool // the idle timer fired: every later failure is the idle timeout's
}

func (a *attemptStream) Next() ([]byte, error) {
	if !a.started {
		a.started = true
		if a.firstErr != nil {
			return nil, a.firstErr
		}
		return a.first, nil
	}
	var timer *time.Timer
	if a.idle > 0 {
		timer = time.AfterFunc(a.idle, func() { a.idled.Store(true); a.cancel() })
	}
	b, err := a.inner.Next()
	if timer != nil {
		timer.Stop()
	}
	switch {
	case err == nil || errors.Is(err, io.EOF):
	case a.idled.Load():
		err = &UpstreamError{Message: "the upstream stream went quiet for longer than the idle timeout"}
	case errors.Is(a.ctx.Err(), context.DeadlineExceeded):
		err = &UpstreamError{Message: "the upstream stream ran past the request timeout"}
	}
	return b, err
}

func (a *attemptStream) Close() error {
	err := a.inner.Close()
	a.cancel()
	return err
}
