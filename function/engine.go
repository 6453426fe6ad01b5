package function

import (
	"context"
	"errors"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
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
	group      singleflight.Group // once per process, by key
	refreshing sync.Map           // keys with a background refresh under way here
	waiting    sync.Map           // flight key → *waiters
	head       atomic.Pointer[head]

	invoke     invoker[R] // the function called with encoded arguments, for Fill
	registered sync.Map   // backend.Filler → true once the fill is registered
}

// head is the key "func::<name>" on one cache; every key of the function
// continues it. fill is the cache's backend if it fills.
type head struct {
	c    *keyedcache.Cache
	key  string
	part any // key as a key part, boxed once
	fill backend.Filler
	cbor bool // the cache's codec is CBOR, whose stored forms start with tag
	tag  byte
}

func newEngine[R any](fn any, opts []Option, invoke invoker[R]) *engine[R] {
	s := newSettings(opts)
	name := funcName(fn, s.name)
	e := &engine[R]{name: name, set: s, st: countersFor(name), invoke: invoke}
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
		h = &head{c: c, key: c.Key("func", e.name), fill: filler(c)}
		h.part = h.key
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
	return c.Key(h.part, a)
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
	case 1:
		return c.Key(h.part, args[0])
	case 2:
		return c.Key(h.part, args[0], args[1])
	}
	return c.Key(append([]any{h.part}, args...)...)
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
	missed outcome = iota // nothing usable: compute, once
	found                 // a fresh result or cached error
	stale                 // a stale result to return and refresh
	off                   // no cache, or a disabled one: call the function
	down                  // the cache failed: compute without it
	fill                  // the backend fills: ask it (viaFill)
)

// look is the result of one read of a call's entry.
type look[R any] struct {
	out  outcome
	ent  entry[R]
	data []byte
}

// lookup reads a call's entry: the fast path of every call.
func (e *engine[R]) lookup(ctx context.Context, c *keyedcache.Cache, key string, l *look[R]) {
	if c == nil || !c.Enabled() {
		l.out = off
		return
	}
	if e.ttl(c) <= 0 {
		l.out = down // nothing is stored: compute, once per process
		return
	}
	if e.headOf(c).fill != nil && e.invoke != nil {
		l.out = fill
		if c.InvalidationPending(ctx, key) { // its delete waits for the backend: compute, store nothing
			l.out = down
		}
		return
	}
	data, ok, err := c.GetBytes(ctx, key)
	if err != nil {
		e.st.errors.Add(1)
		l.out = down
		return
	}
	if !ok {
		return
	}
	if decodeEntry(c, e.headOf(c), data, &l.ent) != nil {
		e.st.errors.Add(1) // overwritten by the next result
		l.ent = entry[R]{}
		l.data = data
		return
	}
	l.data = data
	switch l.ent.kind(time.Now().UnixNano()) {
	case kindFresh:
		l.out = found
	case kindStale:
		l.out = stale
	}
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
func (e *engine[R]) call(ctx context.Context, c *keyedcache.Cache, key string, l *look[R], compute func(context.Context) (R, error)) (R, error) {
	switch l.out {
	case found:
		e.st.hits.Add(1)
		return e.answer(key, &l.ent)
	case stale:
		e.st.hits.Add(1)
		e.st.staleServed.Add(1)
		e.refreshAsync(ctx, c, key, l.data, l.ent, compute)
		return l.ent.V, nil
	case off:
		e.st.misses.Add(1)
		res := e.run(ctx, compute)
		return res.unpack()
	}
	e.st.misses.Add(1)
	return e.flight(ctx, c, key, l.out == down, compute)
}

// result is the outcome of one computation.
type result[R any] struct {
	v         R
	err       error
	pe        *PanicError
	abandoned bool // every caller left while it waited: nothing computed
}

// unpack returns a result to a caller, panicking with the PanicError if
// the function panicked.
func (r result[R]) unpack() (R, error) {
	if r.pe != nil {
		panic(r.pe)
	}
	return r.v, r.err
}

// flightKey is key in the current epoch: after the function's results
// are deleted in this process, new calls start a computation of their
// own rather than join one begun before.
func (e *engine[R]) flightKey(key string) string {
	if ep := e.st.epoch.Load(); ep != 0 {
		return key + "\x00" + strconv.FormatUint(ep, 10)
	}
	return key
}

// flight computes key's result once for every caller in this process.
// The computation runs on a context that callers leaving do not cancel;
// a caller whose context ends returns at once with its error. A flight
// that is only waiting for another process gives up when every caller
// has left, and a caller that joined it just then starts a new one.
func (e *engine[R]) flight(ctx context.Context, c *keyedcache.Cache, key string, noCache bool, compute func(context.Context) (R, error)) (R, error) {
	var zero R
	for {
		fk := e.flightKey(key)
		w := e.join(fk)
		ch := e.group.DoChan(fk, func() (any, error) {
			defer e.waiting.CompareAndDelete(fk, w)
			fctx := context.WithoutCancel(ctx)
			if noCache {
				return e.run(fctx, compute), nil
			}
			return e.fill(fctx, w.gone, c, key, compute), nil
		})
		select {
		case r := <-ch:
			w.leave()
			res := r.Val.(result[R])
			if res.abandoned {
				if err := ctx.Err(); err != nil {
					return zero, err
				}
				continue
			}
			return res.unpack()
		case <-ctx.Done():
			w.leave()
			return zero, ctx.Err()
		}
	}
}

// waiters counts the callers of one flight; gone is closed when the
// last has left.
type waiters struct {
	n    atomic.Int64
	once sync.Once
	gone chan struct{}
}

// join counts a caller in the flight of fk.
func (e *engine[R]) join(fk string) *waiters {
	v, ok := e.waiting.Load(fk)
	if !ok {
		v, _ = e.waiting.LoadOrStore(fk, &waiters{gone: make(chan struct{})})
	}
	w := v.(*waiters)
	w.n.Add(1)
	return w
}

func (w *waiters) leave() {
	if w.n.Add(-1) == 0 {
		w.once.Do(func() { close(w.gone) })
	}
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

// Polling for another process's result starts at minPoll and doubles up
// to maxPoll, with jitter so that waiting processes do not poll in step.
const (
	minPoll = time.Millisecond
	maxPoll = 50 * time.Millisecond
	maxLost = 100 // claims lost in a row, with no wait between, before giving up
)

// fill computes key's result for this process: it returns a result that
// is there (or arrives), claims the key and computes, or waits for the
// process that claimed it — up to the longest wait, after which it
// computes itself without storing, or until gone is closed (nobody is
// waiting any more).
func (e *engine[R]) fill(ctx context.Context, gone <-chan struct{}, c *keyedcache.Cache, key string, compute func(context.Context) (R, error)) result[R] {
	deadline := time.Now().Add(e.set.maxWait)
	poll := minPoll
	waited := false
	for lost := 0; ; lost++ {
		if lost == maxLost {
			// The entry keeps changing under us: compute, store nothing.
			return e.run(ctx, compute)
		}
		data, ok, err := c.GetBytes(ctx, key)
		if err != nil {
			e.st.errors.Add(1)
			return e.run(ctx, compute)
		}
		var ent entry[R]
		if ok && decodeEntry(c, e.headOf(c), data, &ent) != nil {
			e.st.errors.Add(1)
			ent = entry[R]{}
		}
		now := time.Now()
		switch ent.kind(now.UnixNano()) {
		case kindFresh:
			v, err := e.answer(key, &ent)
			return result[R]{v: v, err: err}
		case kindStale:
			e.refreshAsync(ctx, c, key, data, ent, compute)
			return result[R]{v: ent.V}
		case kindPending:
			if !waited {
				waited = true
				e.st.leaseWaits.Add(1)
			}
			if !now.Before(deadline) {
				select {
				case <-gone:
					return result[R]{abandoned: true}
				default:
				}
				return e.run(ctx, compute)
			}
			sleep := poll/2 + rand.N(poll)
			if left := deadline.Sub(now); sleep > left {
				sleep = left
			}
			t := time.NewTimer(sleep)
			select {
			case <-t.C:
			case <-gone:
				t.Stop()
				return result[R]{abandoned: true}
			}
			poll = min(2*poll, maxPoll)
			lost = -1 // waiting is not losing a race
			continue
		}
		if !ok {
			data = nil
		}
		claim, err := e.claim(ctx, c, key, data, entry[R]{State: statePending})
		if err != nil {
			e.st.errors.Add(1)
			return e.run(ctx, compute)
		}
		if claim != nil {
			return e.computeAndStore(ctx, claim, compute)
		}
		// Another process claimed it first: read again.
	}
}

// computeAndStore runs the function under a claim, renewing it meanwhile,
// and stores the result only if the claim is still ours: a delete while
// it ran removed the claim, so the result is returned but not stored.
func (e *engine[R]) computeAndStore(ctx context.Context, l *claim[R], compute func(context.Context) (R, error)) result[R] {
	l.keep(ctx)
	res := e.run(ctx, compute)
	cur, lost := l.release()
	if lost {
		e.st.discarded.Add(1)
		return res
	}
	next, ttl, keep := e.after(l, res)
	data, err := l.c.Encode(next)
	if err != nil {
		// The result cannot be encoded: store nothing, free the claim.
		e.st.errors.Add(1)
		next, keep = e.freed(l), false
		ttl = next.keepFor(time.Now())
		if data, err = l.c.Encode(next); err != nil {
			return res
		}
	}
	swapped, err := l.c.CompareAndSwap(ctx, l.key, cur, data, keyedcache.TTL(ttl))
	switch {
	case err != nil:
		e.st.errors.Add(1)
	case !swapped && keep:
		e.st.discarded.Add(1)
	}
	return res
}

// after returns the entry to write once a computation has ended and its
// TTL; keep is false when the entry only frees the claim.
func (e *engine[R]) after(l *claim[R], res result[R]) (next entry[R], ttl time.Duration, keep bool) {
	now := time.Now()
	switch {
	case res.pe == nil && res.err == nil:
		ttl := e.ttl(l.c)
		next := entry[R]{State: stateValue, V: res.v}
		if ttl == keyedcache.Forever {
			return next, ttl, true
		}
		next.Fresh = now.Add(ttl).UnixNano()
		if e.set.stale > 0 {
			next.Stale = next.Fresh + int64(e.set.stale)
			ttl += e.set.stale
		}
		return next, ttl, true
	case res.pe == nil && e.set.errorTTL > 0 && !isContextErr(res.err) && l.ent.State == statePending:
		// (A failed refresh keeps the stale result rather than cache the error.)
		return entry[R]{State: stateError, Err: res.err.Error(), Fresh: now.Add(e.set.errorTTL).UnixNano()}, e.set.errorTTL, true
	}
	next = e.freed(l)
	return next, next.keepFor(now), false
}

// freed is the claimed entry with the claim taken off, so that the next
// caller claims it at once: a stale result stays servable, a pending
// entry becomes nothing.
func (e *engine[R]) freed(l *claim[R]) entry[R] {
	next := l.ent
	next.Lease, next.Token = 0, ""
	return next
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// refreshAsync starts one background refresh of a stale result, unless
// one is under way here or in another process.
func (e *engine[R]) refreshAsync(ctx context.Context, c *keyedcache.Cache, key string, data []byte, ent entry[R], compute func(context.Context) (R, error)) {
	if ent.claimed(time.Now().UnixNano()) {
		return
	}
	if _, busy := e.refreshing.LoadOrStore(key, struct{}{}); busy {
		return
	}
	go func() {
		defer e.refreshing.Delete(key)
		ctx := context.WithoutCancel(ctx)
		l, err := e.claim(ctx, c, key, data, ent)
		if err != nil {
			e.st.errors.Add(1)
			return
		}
		if l == nil {
			return // claimed elsewhere, or changed since it was read
		}
		e.st.refreshes.Add(1)
		res := e.computeAndStore(ctx, l, compute)
		switch {
		case res.pe != nil:
			e.set.log.Error("function: background refresh panicked; the stale result stays", "func", e.name, "key", key, "panic", res.pe.Value, "stack", string(res.pe.Stack))
		case res.err != nil:
			e.set.log.Warn("function: background refresh failed; the stale result stays", "func", e.name, "key", key, "err", res.err)
		}
	}()
}
