package mixin

import (
	"context"
	"errors"
	"runtime/debug"

	"keyedcache.dev/keyedcache"
)

// Find returns the object with identity id: from the cache when it is
// there, otherwise from the model's loader, storing what it loaded for
// the next caller. The result is the caller's own copy, bound to the
// model.
//
// A missing row is a *NotFoundError, matching the model's not-found
// error; it is cached for a while only with WithNotFoundTTL. Any other
// loader error is returned as it is and nothing is cached. A cache that
// is down or disabled, or holds a value that cannot be decoded, is a
// miss: the row is loaded and returned, never an error.
//
// Concurrent Finds of one cold id in one process make one loader call
// (golang.org/x/sync/singleflight); the others wait for it and get
// copies of its result. The load runs with a context that keeps ctx's
// values but not its cancellation, so a caller whose ctx ends returns
// ctx's error at once while the load goes on for the others and is
// cached. If the loader panics, every caller waiting for it panics with
// the same value (its stack is logged once) and nothing is cached.
//
// A load that read the row before a concurrent Saved, Deleted or
// CacheDelete of the same object returns what it read to its callers
// but does not leave it cached: each such call writes a change token,
// which the load reads before calling the loader and checks again after
// storing, deleting what it stored if the token changed.
func (m *Model[T, K]) Find(ctx context.Context, id K) (*T, error) {
	co := m.core
	co.stats.finds.Add(1)
	c, err := co.cacheFor()
	if err != nil {
		return nil, err
	}
	p, hit, err := m.find(ctx, c, id)
	co.count(hit, err)
	return p, err
}

// find is Find without the counting, shared with the indexes. hit
// reports whether the first cache read answered.
func (m *Model[T, K]) find(ctx context.Context, c *keyedcache.Cache, id K) (p *T, hit bool, err error) {
	co := m.core
	key := co.objectKey(c, id, nil)
	if v, err := keyedcache.Get[T](ctx, c, key); err == nil {
		return co.bind(&v), true, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	p, shared, err := through(ctx, co, c, key, func(ctx context.Context) (*T, error) {
		return m.fill(ctx, c, key, id)
	})
	if err != nil {
		return nil, false, err
	}
	if shared {
		p = copyOf(c.Codec(), p)
	}
	return co.bind(p), false, nil
}

// fill runs once per flight: it checks the cache again (a flight that
// starts just after another one stored the object finds it there), then
// loads and stores.
func (m *Model[T, K]) fill(ctx context.Context, c *keyedcache.Cache, key string, id K) (*T, error) {
	co := m.core
	if v, ok := peek[T](ctx, c, key); ok {
		return &v, nil
	}
	nfKey := co.notFoundKey(c, key)
	if co.s.notFoundTTL > 0 && c.IsCached(ctx, nfKey) {
		return nil, co.notFoundErr(key)
	}
	rev0 := co.readRev(ctx, c, key)
	co.stats.loads.Add(1)
	p, err := m.load(ctx, id)
	switch {
	case err == nil && p == nil, err != nil && isNotFound(err, co.s.notFound):
		if co.s.notFoundTTL > 0 {
			co.storeGuarded(ctx, c, nfKey, key, true, rev0, []keyedcache.SetOption{keyedcache.TTL(co.s.notFoundTTL)})
		}
		return nil, co.notFoundErr(key)
	case err != nil:
		co.stats.errors.Add(1)
		return nil, err
	}
	if own := co.objectKey(c, co.id(p), nil); own != key {
		// Cached under key, the object could not be deleted through
		// its own CacheKey: better not cached at all.
		co.s.logger.Warn("mixin: loaded object not cached: its CacheID does not match the id it was loaded by",
			"model", co.s.name, "key", key, "object_key", own)
		return p, nil
	}
	co.storeGuarded(ctx, c, key, key, *p, rev0, co.setOpts)
	return p, nil
}

// count records how a Find ended.
func (co *core[T]) count(hit bool, err error) {
	if hit {
		co.stats.hits.Add(1)
	}
	if err == nil {
		return
	}
	var nf *NotFoundError
	if errors.As(err, &nf) {
		co.stats.notFound.Add(1)
	}
}

// outcome is what one flight produced, shared by every caller waiting
// for it.
type outcome[R any] struct {
	val      R
	err      error
	panicked bool
	pval     any
}

// through runs fill once for all concurrent callers of one key of one
// cache and returns its result, and whether it was shared with other
// callers (who then hold the same value). A caller whose ctx ends gets
// ctx's error at once; fill goes on without that cancellation. A panic
// in fill is logged with its stack and raised again in every caller.
func through[R any, T any](ctx context.Context, co *core[T], c *keyedcache.Cache, key string, fill func(context.Context) (R, error)) (R, bool, error) {
	ch := co.flight.DoChan(c.Alias()+"\x00"+key, func() (any, error) {
		return run(context.WithoutCancel(ctx), co, key, fill), nil
	})
	var zero R
	select {
	case <-ctx.Done():
		return zero, false, ctx.Err()
	case r := <-ch:
		o := r.Val.(*outcome[R])
		if o.panicked {
			panic(o.pval)
		}
		if r.Shared {
			co.stats.shared.Add(1)
		}
		return o.val, r.Shared, o.err
	}
}

func run[R any, T any](ctx context.Context, co *core[T], key string, fill func(context.Context) (R, error)) (o *outcome[R]) {
	o = &outcome[R]{}
	defer func() {
		if v := recover(); v != nil {
			o.panicked, o.pval = true, v
			co.stats.errors.Add(1)
			co.s.logger.Error("mixin: loader panicked", "model", co.s.name, "key", key,
				"panic", v, "stack", string(debug.Stack()))
		}
	}()
	o.val, o.err = fill(ctx)
	return o
}

// copyOf returns a copy of *p that shares nothing with it, through the
// cache's codec, as a cache read would; a value the codec cannot encode
// is copied shallowly.
func copyOf[T any](codec keyedcache.Codec, p *T) *T {
	v := new(T)
	if data, err := codec.Marshal(p); err == nil && codec.Unmarshal(data, v) == nil {
		return v
	}
	*v = *p
	return v
}

// peek reads key from the backend, past the tiers and the cache's
// counters: the second look of a flight, which the first read of the
// same Find already counted.
func peek[V any](ctx context.Context, c *keyedcache.Cache, key string) (V, bool) {
	var v V
	data, found, err := c.GetBytes(ctx, key)
	if err != nil || !found || c.Decode(data, &v) != nil {
		return v, false
	}
	return v, true
}
