package function

import (
	"context"

	"keyedcache.dev/keyedcache"
)

// Func is a cached function of one argument. Its methods act on the
// function's cached results; Call is the function itself.
type Func[A, R any] struct {
	e  *engine[R]
	fn func(context.Context, A) (R, error)
}

// New wraps fn, a function of one argument, in a Func. It panics if fn
// is nil, or is a closure, method value or generic function given no
// name with WithName.
func New[A, R any](fn func(context.Context, A) (R, error), opts ...Option) *Func[A, R] {
	invoke := func(ctx context.Context, c *keyedcache.Cache, data []byte) (R, error) {
		a, err := decodeArgs[A](c, data)
		if err != nil {
			var zero R
			return zero, err
		}
		return fn(ctx, a)
	}
	return &Func[A, R]{e: newEngine(fn, opts, invoke), fn: fn}
}

// CacheFunction wraps fn so that its results are cached by argument:
// the returned function computes a result once — across goroutines and
// across processes sharing the cache — and returns it from the cache
// until it expires or is deleted. See New for the panics, and Func for
// the helpers that act on single results.
func CacheFunction[A, R any](fn func(context.Context, A) (R, error), opts ...Option) func(context.Context, A) (R, error) {
	return New(fn, opts...).Call
}

// Call returns fn(ctx, a) from the cache, computing and storing it on a
// miss. See the package documentation for what happens on concurrent
// calls, cancellation, errors and panics.
func (f *Func[A, R]) Call(ctx context.Context, a A) (R, error) {
	c, h, _ := f.e.cache()
	var key string
	if c != nil {
		key = f.e.key1(c, h, a)
		if ent, ok := f.e.hit(c, h, key); ok {
			return f.e.answerHit(key, ent)
		}
	}
	var l look[R]
	f.e.lookup(ctx, c, h, key, &l)
	switch l.out {
	case found:
		f.e.st.hits.Add(1)
		return f.e.answer(key, &l.ent)
	case fill:
		return f.e.viaFill(ctx, c, key, func() ([]byte, error) { return c.Encode(a) }, func(ctx context.Context) (R, error) { return f.fn(ctx, a) })
	}
	return f.e.call(ctx, c, h, key, &l, func(ctx context.Context) (R, error) { return f.fn(ctx, a) })
}

// Key returns the key under which the result for a is cached.
func (f *Func[A, R]) Key(a A) string {
	c, h, _ := f.e.cache()
	if c == nil {
		return ""
	}
	return f.e.key1(c, h, a)
}

// Peek returns the cached result for a without computing: a fresh
// result, a cached error (as a *CachedError), or a stale one within the
// WithStale window. Anything else is a *keyedcache.NotCachedError. (On
// groupcache it sees only results stored with Set or Refresh.)
func (f *Func[A, R]) Peek(ctx context.Context, a A) (R, error) {
	return f.e.peek(ctx, f.Key(a))
}

// Set stores r as the result for a, replacing whatever is cached and
// any computation under way (its result will not be stored).
func (f *Func[A, R]) Set(ctx context.Context, a A, r R) error { return f.e.store(ctx, f.Key(a), r) }

// Delete removes the cached result for a. A computation of it under way
// returns its result to its callers but does not store it, and calls
// after Delete compute afresh.
func (f *Func[A, R]) Delete(ctx context.Context, a A) error { return f.e.delete(ctx, f.Key(a)) }

// Refresh computes the result for a now, stores it and returns it,
// whatever is cached. Callers meanwhile still get the old result.
func (f *Func[A, R]) Refresh(ctx context.Context, a A) (R, error) {
	return f.e.refresh(ctx, f.Key(a), func(ctx context.Context) (R, error) { return f.fn(ctx, a) })
}

// DeleteAll removes every cached result of the function, in every
// process sharing the cache; see CacheDeleteFunction.
func (f *Func[A, R]) DeleteAll(ctx context.Context) error { return f.e.deleteAll(ctx) }

// Name returns the name the function is cached under.
func (f *Func[A, R]) Name() string { return f.e.name }

// Stats returns the function's figures in this process.
func (f *Func[A, R]) Stats() Stats { return f.e.st.snapshot(f.e.name) }

// CacheDeleteFunction removes every cached result of fn — the function
// as it was given to CacheFunction (or New), not the wrapper — from the
// cache the options choose, in every process sharing it. Give the same
// WithName, WithAlias or WithCache options the function was wrapped
// with. Computations under way return their results to their callers
// but store nothing, and calls in this process after it compute afresh.
func CacheDeleteFunction(ctx context.Context, fn any, opts ...Option) error {
	s := newSettings(opts)
	e := &engine[struct{}]{set: s}
	// (No fill to register: this engine only deletes.)
	e.name = funcName(fn, s.name)
	e.st = countersFor(e.name)
	return e.deleteAll(ctx)
}
