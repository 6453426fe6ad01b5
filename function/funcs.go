package function

import (
	"context"

	"keyedcache.dev/keyedcache"
)

// The forms for no argument and for two and three arguments work as Func
// does. A function of more arguments takes them as one struct (or
// pointer to one), keyed by its fields: see the package documentation.

// Func0 is a cached function of no argument; see Func.
type Func0[R any] struct {
	e  *engine[R]
	fn func(context.Context) (R, error)
}

// New0 wraps fn, a function of no argument, in a Func0; see New.
func New0[R any](fn func(context.Context) (R, error), opts ...Option) *Func0[R] {
	invoke := func(ctx context.Context, c *keyedcache.Cache, data []byte) (R, error) { return fn(ctx) }
	return &Func0[R]{e: newEngine(fn, opts, invoke), fn: fn}
}

// CacheFunction0 wraps fn, a function of no argument, so that its results are
// cached; see CacheFunction.
func CacheFunction0[R any](fn func(context.Context) (R, error), opts ...Option) func(context.Context) (R, error) {
	return New0(fn, opts...).Call
}

// Call returns fn(ctx) from the cache, computing and storing it on a
// miss; see Func.Call.
func (f *Func0[R]) Call(ctx context.Context) (R, error) {
	kc, h, _ := f.e.cache()
	var key string
	if kc != nil {
		key = f.e.key(kc, h)
		if ent, ok := f.e.hit(kc, h, key); ok {
			return f.e.answerHit(key, ent)
		}
	}
	var l look[R]
	f.e.lookup(ctx, kc, h, key, &l)
	switch l.out {
	case found:
		f.e.st.hits.Add(1)
		return f.e.answer(key, &l.ent)
	case fill:
		return f.e.viaFill(ctx, kc, key, func() ([]byte, error) { return nil, nil }, func(ctx context.Context) (R, error) { return f.fn(ctx) })
	}
	return f.e.call(ctx, kc, h, key, &l, func(ctx context.Context) (R, error) { return f.fn(ctx) })
}

// Key returns the key under which the result is cached.
func (f *Func0[R]) Key() string {
	kc, h, _ := f.e.cache()
	if kc == nil {
		return ""
	}
	return f.e.key(kc, h)
}

// Peek returns the cached result without computing; see Func.Peek.
func (f *Func0[R]) Peek(ctx context.Context) (R, error) {
	return f.e.peek(ctx, f.Key())
}

// Set stores r as the result; see Func.Set.
func (f *Func0[R]) Set(ctx context.Context, r R) error {
	return f.e.store(ctx, f.Key(), r)
}

// Delete removes the cached result; see Func.Delete.
func (f *Func0[R]) Delete(ctx context.Context) error {
	return f.e.delete(ctx, f.Key())
}

// Refresh computes the result now and stores it; see Func.Refresh.
func (f *Func0[R]) Refresh(ctx context.Context) (R, error) {
	return f.e.refresh(ctx, f.Key(), func(ctx context.Context) (R, error) { return f.fn(ctx) })
}

// DeleteAll removes every cached result of the function; see
// CacheDeleteFunction.
func (f *Func0[R]) DeleteAll(ctx context.Context) error { return f.e.deleteAll(ctx) }

// Name returns the name the function is cached under.
func (f *Func0[R]) Name() string { return f.e.name }

// Stats returns the function's figures in this process.
func (f *Func0[R]) Stats() Stats { return f.e.st.snapshot(f.e.name) }

// Func2 is a cached function of two arguments; see Func.
type Func2[A, B, R any] struct {
	e  *engine[R]
	fn func(context.Context, A, B) (R, error)
}

// New2 wraps fn, a function of two arguments, in a Func2; see New.
func New2[A, B, R any](fn func(context.Context, A, B) (R, error), opts ...Option) *Func2[A, B, R] {
	invoke := func(ctx context.Context, c *keyedcache.Cache, data []byte) (R, error) {
		a, err := decodeArgs[args2[A, B]](c, data)
		if err != nil {
			var zero R
			return zero, err
		}
		return fn(ctx, a.A, a.B)
	}
	return &Func2[A, B, R]{e: newEngine(fn, opts, invoke), fn: fn}
}

// CacheFunction2 wraps fn, a function of two arguments, so that its results are
// cached; see CacheFunction.
func CacheFunction2[A, B, R any](fn func(context.Context, A, B) (R, error), opts ...Option) func(context.Context, A, B) (R, error) {
	return New2(fn, opts...).Call
}

// Call returns fn(ctx, a, b) from the cache, computing and storing it on a
// miss; see Func.Call.
func (f *Func2[A, B, R]) Call(ctx context.Context, a A, b B) (R, error) {
	kc, h, _ := f.e.cache()
	var key string
	if kc != nil {
		key = f.e.key(kc, h, a, b)
		if ent, ok := f.e.hit(kc, h, key); ok {
			return f.e.answerHit(key, ent)
		}
	}
	var l look[R]
	f.e.lookup(ctx, kc, h, key, &l)
	switch l.out {
	case found:
		f.e.st.hits.Add(1)
		return f.e.answer(key, &l.ent)
	case fill:
		return f.e.viaFill(ctx, kc, key, func() ([]byte, error) { return kc.Encode(args2[A, B]{a, b}) }, func(ctx context.Context) (R, error) { return f.fn(ctx, a, b) })
	}
	return f.e.call(ctx, kc, h, key, &l, func(ctx context.Context) (R, error) { return f.fn(ctx, a, b) })
}

// Key returns the key under which the result for a and b is cached.
func (f *Func2[A, B, R]) Key(a A, b B) string {
	kc, h, _ := f.e.cache()
	if kc == nil {
		return ""
	}
	return f.e.key(kc, h, a, b)
}

// Peek returns the cached result for a and b without computing; see Func.Peek.
func (f *Func2[A, B, R]) Peek(ctx context.Context, a A, b B) (R, error) {
	return f.e.peek(ctx, f.Key(a, b))
}

// Set stores r as the result for a and b; see Func.Set.
func (f *Func2[A, B, R]) Set(ctx context.Context, a A, b B, r R) error {
	return f.e.store(ctx, f.Key(a, b), r)
}

// Delete removes the cached result for a and b; see Func.Delete.
func (f *Func2[A, B, R]) Delete(ctx context.Context, a A, b B) error {
	return f.e.delete(ctx, f.Key(a, b))
}

// Refresh computes the result for a and b now and stores it; see Func.Refresh.
func (f *Func2[A, B, R]) Refresh(ctx context.Context, a A, b B) (R, error) {
	return f.e.refresh(ctx, f.Key(a, b), func(ctx context.Context) (R, error) { return f.fn(ctx, a, b) })
}

// DeleteAll removes every cached result of the function; see
// CacheDeleteFunction.
func (f *Func2[A, B, R]) DeleteAll(ctx context.Context) error { return f.e.deleteAll(ctx) }

// Name returns the name the function is cached under.
func (f *Func2[A, B, R]) Name() string { return f.e.name }

// Stats returns the function's figures in this process.
func (f *Func2[A, B, R]) Stats() Stats { return f.e.st.snapshot(f.e.name) }

// Func3 is a cached function of three arguments; see Func.
type Func3[A, B, C, R any] struct {
	e  *engine[R]
	fn func(context.Context, A, B, C) (R, error)
}

// New3 wraps fn, a function of three arguments, in a Func3; see New.
func New3[A, B, C, R any](fn func(context.Context, A, B, C) (R, error), opts ...Option) *Func3[A, B, C, R] {
	invoke := func(ctx context.Context, kc *keyedcache.Cache, data []byte) (R, error) {
		a, err := decodeArgs[args3[A, B, C]](kc, data)
		if err != nil {
			var zero R
			return zero, err
		}
		return fn(ctx, a.A, a.B, a.C)
	}
	return &Func3[A, B, C, R]{e: newEngine(fn, opts, invoke), fn: fn}
}

// CacheFunction3 wraps fn, a function of three arguments, so that its results are
// cached; see CacheFunction.
func CacheFunction3[A, B, C, R any](fn func(context.Context, A, B, C) (R, error), opts ...Option) func(context.Context, A, B, C) (R, error) {
	return New3(fn, opts...).Call
}

// Call returns fn(ctx, a, b, c) from the cache, computing and storing it on a
// miss; see Func.Call.
func (f *Func3[A, B, C, R]) Call(ctx context.Context, a A, b B, c C) (R, error) {
	kc, h, _ := f.e.cache()
	var key string
	if kc != nil {
		key = f.e.key(kc, h, a, b, c)
		if ent, ok := f.e.hit(kc, h, key); ok {
			return f.e.answerHit(key, ent)
		}
	}
	var l look[R]
	f.e.lookup(ctx, kc, h, key, &l)
	switch l.out {
	case found:
		f.e.st.hits.Add(1)
		return f.e.answer(key, &l.ent)
	case fill:
		return f.e.viaFill(ctx, kc, key, func() ([]byte, error) { return kc.Encode(args3[A, B, C]{a, b, c}) }, func(ctx context.Context) (R, error) { return f.fn(ctx, a, b, c) })
	}
	return f.e.call(ctx, kc, h, key, &l, func(ctx context.Context) (R, error) { return f.fn(ctx, a, b, c) })
}

// Key returns the key under which the result for a, b and c is cached.
func (f *Func3[A, B, C, R]) Key(a A, b B, c C) string {
	kc, h, _ := f.e.cache()
	if kc == nil {
		return ""
	}
	return f.e.key(kc, h, a, b, c)
}

// Peek returns the cached result for a, b and c without computing; see Func.Peek.
func (f *Func3[A, B, C, R]) Peek(ctx context.Context, a A, b B, c C) (R, error) {
	return f.e.peek(ctx, f.Key(a, b, c))
}

// Set stores r as the result for a, b and c; see Func.Set.
func (f *Func3[A, B, C, R]) Set(ctx context.Context, a A, b B, c C, r R) error {
	return f.e.store(ctx, f.Key(a, b, c), r)
}

// Delete removes the cached result for a, b and c; see Func.Delete.
func (f *Func3[A, B, C, R]) Delete(ctx context.Context, a A, b B, c C) error {
	return f.e.delete(ctx, f.Key(a, b, c))
}

// Refresh computes the result for a, b and c now and stores it; see Func.Refresh.
func (f *Func3[A, B, C, R]) Refresh(ctx context.Context, a A, b B, c C) (R, error) {
	return f.e.refresh(ctx, f.Key(a, b, c), func(ctx context.Context) (R, error) { return f.fn(ctx, a, b, c) })
}

// DeleteAll removes every cached result of the function; see
// CacheDeleteFunction.
func (f *Func3[A, B, C, R]) DeleteAll(ctx context.Context) error { return f.e.deleteAll(ctx) }

// Name returns the name the function is cached under.
func (f *Func3[A, B, C, R]) Name() string { return f.e.name }

// Stats returns the function's figures in this process.
func (f *Func3[A, B, C, R]) Stats() Stats { return f.e.st.snapshot(f.e.name) }
