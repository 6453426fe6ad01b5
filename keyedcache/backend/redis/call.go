package redis

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"
)

// ErrNotAnswering is returned, without waiting, while the server is taken
// for hung: after timeoutsToTrip calls in a row timed out,
// calls fail at once for probeEvery, then one call goes through to see
// whether the server answers again.
var ErrNotAnswering = errors.New("redis: the server is not answering (calls time out); trying again shortly")

const (
	timeoutsToTrip = 3
	probeEvery     = time.Second
)

// A breaker spares callers the read timeout while the server hangs.
type breaker struct {
	timeouts  atomic.Int32 // calls in a row that ran out of time
	openUntil atomic.Int64 // UnixNano until which calls fail at once; 0 when closed
	probing   atomic.Bool  // a call is checking whether the server is back
}

// allow reports whether a call may go to the server, and whether it is
// the probe of an open breaker.
func (b *breaker) allow() (ok, probe bool) {
	until := b.openUntil.Load()
	if until == 0 {
		return true, false
	}
	if time.Now().UnixNano() < until || !b.probing.CompareAndSwap(false, true) {
		return false, false
	}
	return true, true
}

// record takes the outcome of a call: timedOut when it ran out of the
// store's own timeout.
func (b *breaker) record(timedOut, probe bool) {
	switch {
	case timedOut:
		if b.timeouts.Add(1) >= timeoutsToTrip || probe {
			b.openUntil.Store(time.Now().Add(probeEvery).UnixNano())
		}
	case b.timeouts.Load() != 0 || b.openUntil.Load() != 0:
		b.timeouts.Store(0)
		b.openUntil.Store(0)
	}
	if probe {
		b.probing.Store(false)
	}
}

// A call is one operation: its context and what end needs to account
// for it.
type call struct {
	s     *Store
	op    string
	ctx   context.Context
	probe bool
}

// begin starts a call of op: it returns the client and the call, or the
// error that ends it before it reaches the server (closed, not connected,
// or not answering).
func (s *Store) begin(ctx context.Context, op string) (rueidis.Client, call, error) {
	return s.beginOn(ctx, op, &s.conn)
}

// beginOn is begin on one of the store's connections.
func (s *Store) beginOn(ctx context.Context, op string, conn *connection) (rueidis.Client, call, error) {
	ok, probe := s.brk.allow()
	if !ok {
		return nil, call{}, fmt.Errorf("redis %s: %w", op, ErrNotAnswering)
	}
	cl := call{s: s, op: op, ctx: ctx, probe: probe}
	c, err := conn.get(ctx)
	if err != nil {
		cl.end(&err)
		return nil, call{}, err
	}
	return c, cl, nil
}

// end finishes the call: it tells the breaker how it went, and wraps *err
// with the operation's name. A call counts as timed out when the store's
// own bounds ended it (a connection or dial deadline), not the caller's
// context.
func (cl call) end(err *error) {
	timedOut := *err != nil && cl.ctx.Err() == nil &&
		(errors.Is(*err, os.ErrDeadlineExceeded) || errors.Is(*err, context.DeadlineExceeded))
	cl.s.brk.record(timedOut, cl.probe)
	if *err != nil {
		*err = fmt.Errorf("redis %s: %w", cl.op, *err)
	}
}
