package function

import (
	"context"
	"hash/maphash"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
)

// engine does the work of every cached function of one result type; the
// typed wrappers (Func0, Func, Func2, Func3) turn arguments into a key
// and a computation and hand them to it.
type engine[R any] struct {
	name       string
	set        settings
	st         *counters
	flights    flights[R]         // once per process, by key
	group      singleflight.Group // once per process, by key, for Fill
	fillMarks  sync.Map           // group key → the cache's deletes when its fill began
	refreshing sync.Map           // keys with a background refresh under way here
	head       atomic.Pointer[head]

	invoke     invoker[R] // the function called with encoded arguments, for Fill
	registered sync.Map   // backend.Filler → true once the fill is registered
}

// head is the key "func::<name>" on one cache; every key of the function
// continues it. fill is the cache's backend if it fills.
type head struct {
	c       *keyedcache.Cache
	key     string
	kh      keyedcache.KeyHead // key, for building the keys of calls
	fill    backend.Filler
	cbor    bool // the cache's codec is CBOR, whose stored forms start with tag
	tag     byte
	local   bool // the cache keeps its entries in this process
	objects bool // the cache keeps values by reference: entries live in slots
}

func newEngine[R any](fn any, opts []Option, invoke invoker[R]) *engine[R] {
	s := newSettings(opts)
	name := funcName(fn, s.name)
	e := &engine[R]{name: name, set: s, st: countersFor(name), invoke: invoke}
	e.flights.seed = maphash.MakeSeed()
	if s.cache != nil {
		e.headOf(s.cache) // registers the fill now on a backend that fills
	}
	return e
}

// cache returns the cache to use now and the function's head key on it.
// A nil cache (an unknown alias) means the function is simply called.
func (e *engine[R]) cache() (*keyedcache.Cache, *head, error) {
	c := e.set.cache
	if c == nil {
		if e.set.alias != "" {
			var err error
			if c, err = keyedcache.Lookup(e.set.alias); err != nil {
				e.st.errors.Add(1)
				return nil, nil, err
			}
		} else {
			c = keyedcache.Default()
		}
	}
	return c, e.headOf(c), nil
}

// headOf returns the function's head on c, registering its fill the
// first time it meets a backend that fills.
func (e *engine[R]) headOf(c *keyedcache.Cache) *head {
	h := e.head.Load()
	if h == nil || h.c != c {
		kh := c.KeyHead("func", e.name)
		h = &head{c: c, key: kh.Key(), kh: kh, fill: filler(c), local: c.InProcess(), objects: c.ByReference()}
		if c.Codec() == keyedcache.CBOR {
			if probe, err := c.Encode(entry[struct{}]{}); err == nil && len(probe) > 1 && probe[1] == cborArray7 {
				h.cbor, h.tag = true, probe[0]
			}
		}
		if h.fill != nil {
			e.register(c, h.fill)
		}
		e.head.Store(h)
	}
	return h
}

// key1 is key for one argument, without a slice to box it in when there
// is no WithKey function.
func (e *engine[R]) key1(c *keyedcache.Cache, h *head, a any) string {
	if e.set.key != nil {
		return e.key(c, h, a)
	}
	return c.KeyAfter(h.kh, a)
}

// key returns the key of one call: the head, then the arguments (or what
// the WithKey function makes of them).
func (e *engine[R]) key(c *keyedcache.Cache, h *head, args ...any) string {
	if e.set.key != nil {
		args = e.set.key(args)
	}
	switch len(args) {
	case 0:
		return h.key
	}
	return c.KeyAfter(h.kh, args...)
}

// ttl is how long a result stays fresh on c.
func (e *engine[R]) ttl(c *keyedcache.Cache) time.Duration {
	if e.set.hasTTL {
		return e.set.ttl
	}
	return c.Timeout()
}

// outcome is what a look at the cache found.
type outcome int

const (
	missed  outcome = iota // nothing usable, or the read failed: compute, once
	found                  // a fresh result or cached error
	stale                  // a stale result to return and refresh
	off                    // no cache, or a disabled one: call the function
	nostore                // nothing is stored (a TTL of zero): compute, once per process
	fill                   // the backend fills: ask it (viaFill)
	unread                 // a shared backend: read inside the flight
)

// look is the result of one read of a call's entry.
type look[R any] struct {
	out outcome
	ent entry[R] // what was there (zero if nothing usable)
	at  ref[R]   // where, for a compare-and-swap
	err error    // the backend's failure
}

// lookup is the fast path of every call. On a cache that keeps its
// entries in this process it reads the call's entry, without a flight (a
// read costs little there and cannot be slow). On a shared backend it
// does not read: the call reads inside the flight, so that callers of
// one key in this process make one read and, on a miss, one claim
// between them.
func (e *engine[R]) lookup(ctx context.Context, c *keyedcache.Cache, h *head, key string, l *look[R]) {
	switch {
	case c == nil || !c.Enabled():
		l.out = off
		return
	case e.ttl(c) <= 0:
		l.out = nostore
		return
	case h.fill != nil && e.invoke != nil:
		l.out = fill
		if c.InvalidationPending(ctx, key) { // its delete waits for the backend: compute, store nothing
			l.out = nostore
		}
		return
	case !h.local:
		l.out = unread
		return
	}
	e.read(ctx, c, h, key, l)
	switch l.ent.kind(time.Now().UnixNano()) {
	case kindFresh:
		l.out = found
	case kindStale:
		l.out = stale
	default:
		l.out = missed // a failed read too: the flight reads again and claims
	}
}

// hit returns the entry of key's slot, in a by-reference store, if it
// holds a fresh result or cached error: the whole of a hit there, which
// copies nothing. Anything else (ok false) takes lookup's way.
func (e *engine[R]) hit(c *keyedcache.Cache, h *head, key string) (ent *entry[R], ok bool) {
	if !h.objects || e.ttl(c) <= 0 {
		return nil, false
	}
	obj, raw, found := c.GetObject(key)
	if !found || raw != nil {
		return nil, false
	}
	s, isSlot := obj.(*slot[R])
	if !isSlot {
		return nil, false
	}
	p := s.cur.Load()
	return p, p.fresh()
}

// answerHit counts a hit and returns its entry's result.
func (e *engine[R]) answerHit(key string, ent *entry[R]) (R, error) {
	e.st.hits.Add(1)
	if ent.State == stateError {
		var zero R
		return zero, &CachedError{Func: e.name, Key: key, Msg: ent.Err}
	}
	return ent.V, nil
}

// answer returns a found entry's result.
func (e *engine[R]) answer(key string, ent *entry[R]) (R, error) {
	if ent.State == stateError {
		var zero R
		return zero, &CachedError{Func: e.name, Key: key, Msg: ent.Err}
	}
	return ent.V, nil
}

// call is a call after its fast path: it counts it and, unless the look
// found a result, computes one — once per process and, through the
// cache, once across processes.
func (e *engine[R]) call(ctx context.Context, c *keyedcache.Cache, h *head, key string, l *look[R], compute func(context.Context) (R, error)) (R, error) {
	switch l.out {
	case found:
		e.st.hits.Add(1)
		return e.answer(key, &l.ent)
	case stale:
		e.st.hits.Add(1)
		e.st.staleServed.Add(1)
		e.refreshAsync(ctx, c, h, key, l.at, l.ent, compute)
		return l.ent.V, nil
	case off:
		e.st.misses.Add(1)
		res := e.run(ctx, compute)
		return res.unpack()
	case unread:
		return e.flight(ctx, c, h, key, readFirst, false, compute)
	case nostore:
		e.st.misses.Add(1)
		return e.flight(ctx, c, h, key, runNow, true, compute)
	}
	e.st.misses.Add(1)
	return e.flight(ctx, c, h, key, fillNow, true, compute)
}

// result is the outcome of one computation.
type result[R any] struct {
	v         R
	err       error
	pe        *PanicError
	abandoned bool // every caller left while it waited: nothing computed
	hit       bool // found by the flight's read, not computed
	stale     bool // a stale result (a hit)
}

// unpack returns a result to a caller, panicking with the PanicError if
// the function panicked.
func (r result[R]) unpack() (R, error) {
	if r.pe != nil {
		panic(r.pe)
	}
	return r.v, r.err
}

// run calls the function, timing and counting it, and turns a panic into
// a PanicError.
func (e *engine[R]) run(ctx context.Context, compute func(context.Context) (R, error)) (res result[R]) {
	e.st.computations.Add(1)
	start := time.Now()
	func() {
		defer func() {
			if v := recover(); v != nil {
				res.pe = &PanicError{Func: e.name, Value: v, Stack: debug.Stack()}
			}
		}()
		res.v, res.err = compute(ctx)
	}()
	e.st.computeNanos.Add(uint64(time.Since(start)))
	switch {
	case res.pe != nil:
		e.st.panics.Add(1)
	case res.err != nil:
		e.st.funcErrors.Add(1)
	}
	return res
}
