package sqldb

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// strictFor is how long, in query timeouts, a Store gives every call a
// context deadline after an error.
const strictFor = 10

// errNoConn reports a call that waited the whole query timeout for a
// connection. It matches context.DeadlineExceeded.
var errNoConn = fmt.Errorf("no connection free within the query timeout: %w", context.DeadlineExceeded)

// pool is a database/sql pool with a slot per connection. A call takes
// a slot before it uses the pool (one connection at a time) and gives it
// back after, so that database/sql always has a connection for it: the
// only wait for a connection is for a slot, and it is bounded here by a
// timer, not by a context.
type pool struct {
	db    *sql.DB
	slots chan struct{}
	leave func() // gives a slot back; made once so that a call does not allocate it
}

func newPool(db *sql.DB) *pool {
	n := 0
	if db != nil {
		n = db.Stats().MaxOpenConnections
	}
	if n <= 0 {
		n = 1 << 16 // no limit in database/sql: room for any number of calls
	}
	p := &pool{db: db, slots: make(chan struct{}, n)}
	p.leave = func() { <-p.slots }
	return p
}

// take takes a slot, waiting until deadline at most, or until ctx is
// done, and returns how long it waited.
func (p *pool) take(ctx context.Context, deadline time.Time) (time.Duration, error) {
	select {
	case p.slots <- struct{}{}:
		return 0, nil
	default:
	}
	start := time.Now()
	t := time.NewTimer(deadline.Sub(start))
	defer t.Stop()
	select {
	case p.slots <- struct{}{}:
		return time.Since(start), nil
	case <-t.C:
		return time.Since(start), errNoConn
	case <-ctx.Done():
		return time.Since(start), ctx.Err()
	}
}

// enter takes a slot of p for a call and bounds the call. Where the
// engine bounds its statements itself (Dialect.SelfBounded), the
// caller's context cannot be cancelled, a slot was free within a tenth
// of the query timeout and no call has failed lately, the call runs
// with that context as it is: with a slot it never waits for a
// connection, and each step it takes ends by itself, so the whole call
// takes at most about 1.1 query timeouts. Otherwise the call gets a
// deadline of the query timeout from its start (so that time spent
// waiting for a slot counts), unless its context has an earlier one. Failures are what make the difference: on
// a server that stopped answering, database/sql may take a few steps
// for one call (the statement on an old connection, then dialing a new
// one), each ending by itself only at the timeout; so for ten query
// timeouts after an error (strictFor) every call gets the deadline,
// which holds the whole call to one timeout. The returned function ends
// the call.
func (s *Store) enter(ctx context.Context, p *pool) (context.Context, func(), error) {
	now := time.Now()
	deadline := now.Add(s.o.QueryTimeout)
	if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
		deadline = dl
	}
	waited, err := p.take(ctx, deadline)
	if err != nil {
		return ctx, nil, err
	}
	if waited <= s.o.QueryTimeout/10 && s.d.SelfBounded && ctx.Done() == nil && now.UnixNano() > s.strictUntil.Load() {
		return ctx, p.leave, nil
	}
	ctx, cancel := context.WithDeadline(ctx, deadline)
	return ctx, func() { cancel(); p.leave() }, nil
}
