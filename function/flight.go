package function

import (
	"context"
	"hash/maphash"
	"strconv"
	"sync"
	"time"

	"keyedcache.dev/keyedcache"
)

// A flight is the one look at a key in this process that every caller
// asking for the key meanwhile shares, and, when the look finds no
// result, the one computation of it (x/sync/singleflight's idea, with
// what this package needs besides: a first read shared by its callers, a
// hit or a miss counted per caller, a way for the computation to learn
// that every caller has left, and no allocation beyond the flight itself
// when nobody else asks — the common case of a hit on a shared backend).
type flight[R any] struct {
	mu        sync.Mutex
	done      bool          // res is set
	ch        chan struct{} // closed when res is set; made when a caller must wait
	res       result[R]
	n         int           // callers waiting
	reading   bool          // the first caller is reading the entry
	uncounted int           // callers that joined while it read: not yet counted as a hit or a miss
	missed    bool          // the read found no result; every caller is counted as a miss
	gone      chan struct{} // closed when the last caller leaves a computation
	left      bool          // gone is closed
	mark      uint64        // the cache's deletes when it began (keyedcache.Cache.Invalidations)
}

// flights are the flights under way, by flight key, in shards so that
// callers of different keys seldom meet on a lock.
type flights[R any] struct {
	seed   maphash.Seed
	shards [16]struct {
		mu sync.Mutex
		m  map[string]*flight[R]
		_  [40]byte // a shard to a cache line
	}
}

func (t *flights[R]) shard(fk string) *struct {
	mu sync.Mutex
	m  map[string]*flight[R]
	_  [40]byte
} {
	return &t.shards[maphash.String(t.seed, fk)%uint64(len(t.shards))]
}

// join returns the flight of fk, making one (leader) if there is none,
// or if the one there began before a delete of key made through c: what
// it read or computes may be older than the delete, and must not answer
// a call made after it. (The flight goes on for the callers it has; its
// result is not stored, since the delete removed its claim.)
func (t *flights[R]) join(fk string, how start, c *keyedcache.Cache, key string) (f *flight[R], leader bool) {
	s := t.shard(fk)
	s.mu.Lock()
	defer s.mu.Unlock()
	if f = s.m[fk]; f != nil && (c == nil || !c.InvalidatedSince(f.mark, key)) {
		return f, false
	}
	if s.m == nil {
		s.m = make(map[string]*flight[R])
	}
	f = &flight[R]{reading: how == readFirst}
	if c != nil {
		f.mark = c.Invalidations()
	}
	s.m[fk] = f
	return f, true
}

// remove takes f out, if it is still the flight of fk.
func (t *flights[R]) remove(fk string, f *flight[R]) {
	s := t.shard(fk)
	s.mu.Lock()
	if s.m[fk] == f {
		delete(s.m, fk)
	}
	s.mu.Unlock()
}

// forget takes out the flight of fk, whichever it is.
func (t *flights[R]) forget(fk string) {
	s := t.shard(fk)
	s.mu.Lock()
	delete(s.m, fk)
	s.mu.Unlock()
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
	e.flights.forget(fk)
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
		f, leader := e.flights.join(fk, how, c, key)
		pending := f.enter(e.st, counted)
		if leader && !e.lead(ctx, fk, f, c, h, key, how, compute) {
			f.leave()
			return zero, ctx.Err()
		}
		res, ok := f.wait(ctx)
		f.leave()
		switch {
		case !ok:
			return zero, ctx.Err()
		case res.abandoned:
			if err := ctx.Err(); err != nil {
				return zero, err
			}
			counted = counted || f.missed
			continue
		case pending && res.hit:
			e.st.hits.Add(1)
			if res.stale {
				e.st.staleServed.Add(1)
			}
		}
		return res.unpack()
	}
}

// enter counts a caller in. It reports whether the caller joined while
// the flight's read was under way and is counted when it ends: as a miss
// by the flight if it found nothing, else as a hit by the caller.
func (f *flight[R]) enter(st *counters, counted bool) (pending bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.n++
	switch {
	case counted:
	case f.reading:
		f.uncounted++
		return true
	default:
		st.misses.Add(1)
	}
	return false
}

// wait waits for the flight's result, or for ctx to end (ok false).
func (f *flight[R]) wait(ctx context.Context) (res result[R], ok bool) {
	f.mu.Lock()
	if f.done {
		res = f.res
		f.mu.Unlock()
		return res, true
	}
	if f.ch == nil {
		f.ch = make(chan struct{})
	}
	ch := f.ch
	f.mu.Unlock()
	select {
	case <-ch:
		return f.res, true // (set before ch was closed)
	case <-ctx.Done():
		return res, false
	}
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
	e.flights.remove(fk, f)
	f.mu.Lock()
	f.res, f.done = res, true
	ch := f.ch
	f.mu.Unlock()
	if ch != nil {
		close(ch)
	}
}

// lead runs the flight the caller started: a read of the entry first,
// when asked, whose hit ends the flight at once; then, in a goroutine of
// its own, the computation. It reports false if the caller's context
// ended while it read; the flight then ends and its callers start
// another.
func (e *engine[R]) lead(ctx context.Context, fk string, f *flight[R], c *keyedcache.Cache, h *head, key string, how start, compute func(context.Context) (R, error)) bool {
	var seen *look[R]
	if how == readFirst {
		var l look[R]
		e.read(ctx, c, h, key, &l)
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
		seen = new(look[R])
		*seen = l
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
