package keyedcache

import (
	"context"
	"reflect"
	"strings"
	"sync"
	"time"
)

// Bounds of one request tier. A request that reads more stops filling
// its tier (reads still work, through the lower tiers).
const (
	// MaxRequestEntries bounds the entries one request tier keeps, over
	// all aliases.
	MaxRequestEntries = 10_000
	// MaxRequestBytes bounds the stored bytes one request tier keeps.
	MaxRequestBytes = 16 << 20
)

// WithRequestTier returns a context that carries a request tier: a
// first-level cache, private to the work the context belongs to, in front
// of every alias (except by-reference ones). Within it, a key read twice
// reaches the backend once; a write through the context updates the
// tier, a delete (with children, or Clear) clears it; misses are never
// kept. Values are kept as stored bytes and decoded on every read, so a
// read is a copy, as from the backend. The tier is bounded by
// MaxRequestEntries and MaxRequestBytes.
//
// A read in the scope returns what the scope first read or wrote for the
// key: writes by other processes or other requests made meanwhile are not
// seen until the scope ends (use SkipTiers for reads that must see them).
//
// release empties the tier; reads through the context afterwards go to
// the lower tiers. Call it when the work ends; calling it again does
// nothing. If ctx already carries a live request tier, WithRequestTier
// returns ctx itself and a release that does nothing: nested scopes share
// the outer one.
//
// The context may be used by many goroutines at once. Package threaded
// wraps this in net/http middleware.
func WithRequestTier(ctx context.Context) (context.Context, func()) {
	if rt, _ := tierValue(ctx); rt != nil && rt.live() {
		return ctx, func() {}
	}
	rt := &requestTier{entries: make(map[tierEntryKey]*tierEntry)}
	liveRequestTiers.Add(1)
	var once sync.Once
	return context.WithValue(ctx, tierKey{}, rt), func() {
		once.Do(func() {
			rt.release()
			liveRequestTiers.Add(-1)
		})
	}
}

// HasRequestTier reports whether ctx carries a live request tier.
func HasRequestTier(ctx context.Context) bool {
	if liveRequestTiers.Load() == 0 {
		return false
	}
	rt, _ := tierValue(ctx)
	return rt != nil && rt.live()
}

// requestTier is one request's first-level cache.
type requestTier struct {
	mu      sync.Mutex
	entries map[tierEntryKey]*tierEntry // nil once released
	bytes   int
}

type tierEntryKey struct {
	c   *Cache
	key string
}

type tierEntry struct {
	raw      []byte    // the stored form
	val      any       // a decoded copy-safe value, or nil
	deadline time.Time // zero: none known
}

func (rt *requestTier) live() bool {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	return rt.entries != nil
}

func (rt *requestTier) release() {
	rt.mu.Lock()
	rt.entries = nil
	rt.bytes = 0
	rt.mu.Unlock()
}

// entry returns the live entry for key, dropping an expired one; call
// with rt.mu held.
func (rt *requestTier) entry(k tierEntryKey) *tierEntry {
	e := rt.entries[k]
	if e != nil && !e.deadline.IsZero() && !time.Now().Before(e.deadline) {
		rt.remove(k, e)
		return nil
	}
	return e
}

func (rt *requestTier) remove(k tierEntryKey, e *tierEntry) {
	delete(rt.entries, k)
	rt.bytes -= len(e.raw) + len(k.key)
}

// lookup returns the stored form kept for key.
func (rt *requestTier) lookup(c *Cache, key string) ([]byte, bool) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if e := rt.entry(tierEntryKey{c, key}); e != nil {
		return e.raw, true
	}
	return nil, false
}

// put keeps data (never changed afterwards by anyone) as key's stored
// form; ttl is the backend ttl it was written with, 0 when unknown or
// none.
func (rt *requestTier) put(c *Cache, key string, data []byte, ttl time.Duration) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	if rt.entries == nil {
		return
	}
	k := tierEntryKey{c, key}
	if e := rt.entries[k]; e != nil {
		rt.remove(k, e)
	}
	size := len(data) + len(key)
	if len(rt.entries) >= MaxRequestEntries || rt.bytes+size > MaxRequestBytes {
		return
	}
	e := &tierEntry{raw: data}
	if ttl > 0 {
		e.deadline = time.Now().Add(ttl)
	}
	rt.entries[k] = e
	rt.bytes += size
}

func (rt *requestTier) drop(c *Cache, key string) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	k := tierEntryKey{c, key}
	if e := rt.entries[k]; e != nil {
		rt.remove(k, e)
	}
}

// dropTree drops key and every key of c beneath it.
func (rt *requestTier) dropTree(c *Cache, key string) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for k, e := range rt.entries {
		if k.c == c && (k.key == key || strings.HasPrefix(k.key, key) && strings.HasPrefix(k.key[len(key):], Sep)) {
			rt.remove(k, e)
		}
	}
}

// dropAll drops every key of c.
func (rt *requestTier) dropAll(c *Cache) {
	rt.mu.Lock()
	defer rt.mu.Unlock()
	for k, e := range rt.entries {
		if k.c == c {
			rt.remove(k, e)
		}
	}
}

// typedVal wraps a decoded value kept in a request tier, so that only a
// read of exactly type T takes it: a read into an interface must get
// what the codec gives, not a value of the type another read asked for.
type typedVal[T any] struct{ v T }

// requestGet answers a typed read from the request tier: found is false
// when the tier holds nothing for key. A copy-safe T is decoded once per
// entry and then handed out by value.
func requestGet[T any](ctx context.Context, c *Cache, rt *requestTier, key string) (v T, found bool, err error) {
	k := tierEntryKey{c, key}
	rt.mu.Lock()
	e := rt.entry(k)
	if e == nil {
		rt.mu.Unlock()
		return v, false, nil
	}
	if tv, ok := e.val.(typedVal[T]); ok {
		rt.mu.Unlock()
		s := c.stats.shard()
		s.hits.Add(1)
		s.requestHits.Add(1)
		return tv.v, true, nil
	}
	raw := e.raw
	rt.mu.Unlock()
	if err := c.decodeTier(ctx, key, raw, &v, fromRequest); err != nil {
		return v, true, err
	}
	if copySafe(reflect.TypeFor[T]()) {
		rt.mu.Lock()
		if rt.entries[k] == e && e.val == nil {
			e.val = typedVal[T]{v}
		}
		rt.mu.Unlock()
	}
	return v, true, nil
}
