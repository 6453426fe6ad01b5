package function

import (
	"context"
	"strconv"
	"sync"
	"time"

	"keyedcache.dev/keyedcache"
)

// A flight is the one look at a key in this process that every caller
// asking for the key meanwhile shares, and, when the look finds no
// result, the one computation of it (x/sync/singleflight's idea, with
// what this package needs besides: a first read shared by its callers, a
// hit or a miss counted per caller, and a way for the computation to
// learn that every caller has left).
type flight[R any] struct {
	done chan struct{} // closed once res is set
	res  result[R]

	mu        sync.Mutex
	n         int           // callers waiting
	reading   bool          // the first caller is reading the entry
	uncounted int           // callers that joined while it read: not yet counted as a hit or a miss
	missed    bool          // the read found no result; every caller is counted as a miss
	gone      chan struct{} // closed when the last caller leaves a computation
	left      bool          // gone is closed
}

// How a flight begins.
type start int

const (
	readFirst start = iota // read the entry, then compute on a miss (a shared backend)
	fillNow                // the caller missed already: read again and compute (an in-process backend)
	runNow                 // nothing is stored: call the function (WithTTL(0))
)

// flightKey is key in the current epoch: after the function's results
// are deleted in this process, new calls start a flight of their own
// rather than join one begun before.
func (e *engine[R]) flightKey(key string) string {
	if ep := e.st.epoch.Load(); ep != 0 {
		return key + "\x00" + strconv.FormatUint(ep, 10)
	}
	return key
}

// forget makes later calls for key start a flight of their own.
func (e *engine[R]) forget(key string) {
	fk := e.flightKey(key)
	e.flights.Delete(fk)
	e.group.Forget(fk)
}

// flight answers a call from the flight of key, starting one if there is
// none. The computation runs on the first caller's context without its
// cancellation; a caller whose context ends returns at once with its
// error. A flight that is only waiting for another process gives up when
// every caller has left, and a caller that joined it just then starts a
// new one. counted tells whether the caller was counted as a miss
// already.
func (e *engine[R]) flight(ctx context.Context, c *keyedcache.Cache, h *head, key string, how start, counted bool, compute func(context.Context) (R, error)) (R, error) {
	var zero R
	for {
		fk := e.flightKey(key)
		f, leader, pending := e.join(fk, how, counted)
		if leader && !e.lead(ctx, fk, f, c, h, key, how, compute) {
			f.leave()
			return zero, ctx.Err()
		}
		select {
		case <-f.done:
			f.leave()
			res := f.res
			if res.abandoned {
				if err := ctx.Err(); err != nil {
					return zero, err
				}
				counted = counted || f.missed
				continue
			}
			if pending && res.hit {
				e.st.hits.Add(1)
				if res.stale {
					e.st.staleServed.Add(1)
				}
			}
			return res.unpack()
		case <-ctx.Done():
			f.leave()
			return zero, ctx.Err()
		}
	}
}

// join counts a caller in the flight of fk, creating it if there is none
// (the caller then leads it). pending tells that the caller joined while
// the flight's read was under way and is counted when it ends: as a miss
// by the flight if it found nothing, else as a hit by the caller.
func (e *engine[R]) join(fk string, how start, counted bool) (f *flight[R], leader, pending bool) {
	v, ok := e.flights.Load(fk)
	if !ok {
		nf := &flight[R]{done: make(chan struct{}), reading: how == readFirst}
		if v, ok = e.flights.LoadOrStore(fk, nf); !ok {
			v, leader = nf, true
		}
	}
	f = v.(*flight[R])
	f.mu.Lock()
	f.n++
	switch {
	case counted:
	case f.reading:
		f.uncounted++
		pending = true
	default:
		e.st.misses.Add(1)
	}
	f.mu.Unlock()
	return f, leader, pending
}

// leave counts a caller out.
func (f *flight[R]) leave() {
	f.mu.Lock()
	f.n--
	if f.n == 0 && f.gone != nil && !f.left {
		f.left = true
		close(f.gone)
	}
	f.mu.Unlock()
}

// miss ends the flight's read with nothing found: the callers that
// joined meanwhile are counted as misses, and it becomes a computation
// that notices when every caller has gone.
func (f *flight[R]) miss(st *counters) {
	f.mu.Lock()
	st.misses.Add(uint64(f.uncounted))
	f.uncounted, f.reading, f.missed = 0, false, true
	f.gone = make(chan struct{})
	f.mu.Unlock()
}

// finish hands the flight's result to its callers.
func (e *engine[R]) finish(fk string, f *flight[R], res result[R]) {
	e.flights.CompareAndDelete(fk, f)
	f.res = res
	close(f.done)
}

// lead runs the flight the caller started: a read of the entry first,
// when asked, whose hit ends the flight at once; then, in a goroutine of
// its own, the computation. It reports false if the caller's context
// ended while it read; the flight then ends and its callers start
// another.
func (e *engine[R]) lead(ctx context.Context, fk string, f *flight[R], c *keyedcache.Cache, h *head, key string, how start, compute func(context.Context) (R, error)) bool {
	var seen *look[R]
	if how == readFirst {
		l := new(look[R])
		e.read(ctx, c, h, key, l)
		if l.err != nil && ctx.Err() != nil {
			e.finish(fk, f, result[R]{abandoned: true})
			return false
		}
		switch l.ent.kind(time.Now().UnixNano()) {
		case kindFresh:
			v, err := e.answer(key, &l.ent)
			e.finish(fk, f, result[R]{v: v, err: err, hit: true})
			return true
		case kindStale:
			e.refreshAsync(ctx, c, h, key, l.at, l.ent, compute)
			e.finish(fk, f, result[R]{v: l.ent.V, hit: true, stale: true})
			return true
		}
		seen = l
	}
	f.miss(e.st)
	fctx := context.WithoutCancel(ctx)
	go func() {
		var res result[R]
		if how == runNow {
			res = e.run(fctx, compute)
		} else {
			res = e.fill(fctx, f.gone, c, h, key, seen, compute)
		}
		e.finish(fk, f, res)
	}()
	return true
}
