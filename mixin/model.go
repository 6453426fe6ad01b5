package mixin

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"sync/atomic"

	"golang.org/x/sync/singleflight"

	"keyedcache.dev/keyedcache"
)

// A Model caches and loads the objects of one model type T, whose
// identity (CacheID) has type K. It is safe for concurrent use; create
// one per type, when the program starts, and keep it.
type Model[T any, K comparable] struct {
	core *core[T]
	load func(context.Context, K) (*T, error)
}

// Object is what NewModel asks of a model type's pointer *T: an identity
// (a CacheID method, keyedcache.Identifier), and the helper, Cached[T],
// embedded in T. Go infers it; nobody needs to name it.
type Object[T any] interface {
	*T
	keyedcache.Identifier
	cachedHelper() *Cached[T]
}

// NewModel returns the Model of T, loading an object by its identity
// with load (typically one SELECT by primary key). The pointer type *T
// must have a CacheID method (keyedcache.Identifier) returning the
// identity, and T must embed Cached[T]; Go infers T and K from load:
//
//	products := mixin.NewModel(loadProduct) // loadProduct func(context.Context, int64) (*Product, error)
//
// CacheID must return the id the object is loaded by (an int and an
// int64 of one value key alike), so that Find(id) and the object's own
// CacheKey name the same entry.
//
// NewModel panics if T embeds *Cached[T] instead of Cached[T].
func NewModel[T any, K comparable, PT Object[T]](load func(context.Context, K) (*T, error), opts ...Option) *Model[T, K] {
	var s settings
	for _, o := range opts {
		o(&s)
	}
	if f, ok := reflect.TypeFor[T]().FieldByName("Cached"); !ok || f.Type != reflect.TypeFor[Cached[T]]() {
		panic(fmt.Sprintf("mixin: %s must embed mixin.Cached[%s] by value", reflect.TypeFor[T](), reflect.TypeFor[T]().Name()))
	}
	if s.name == "" {
		s.name = reflect.TypeFor[T]().Name()
	}
	if s.notFound == nil {
		s.notFound = ErrNotFound
	}
	if s.logger == nil {
		s.logger = slog.Default()
	}
	co := &core[T]{
		s:      s,
		name:   s.name,
		id:     func(p *T) any { return PT(p).CacheID() },
		helper: func(p *T) *Cached[T] { return PT(p).cachedHelper() },
	}
	if s.ttl != 0 {
		co.setOpts = []keyedcache.SetOption{keyedcache.TTL(s.ttl)}
	}
	return &Model[T, K]{core: co, load: load}
}

// Name returns the name that starts the model's keys.
func (m *Model[T, K]) Name() string { return m.core.s.name }

// Cache returns the cache the model uses now (see WithAlias and
// WithCache), for values of one's own under the model's keys.
func (m *Model[T, K]) Cache() (*keyedcache.Cache, error) { return m.core.cacheFor() }

// Bind binds p to the model, so that its cache methods (CacheKey,
// CacheSet, …) work, and returns it. Values from Find are bound
// already; bind one built by hand, decoded from elsewhere, or copied.
// Bind(nil) returns nil.
func (m *Model[T, K]) Bind(p *T) *T { return m.core.bind(p) }

// Key returns the key of the object with identity id, followed by
// parts, as the object's CacheKey would. It panics if the model's alias
// is not configured.
func (m *Model[T, K]) Key(id K, parts ...any) string {
	return m.core.objectKey(m.core.mustCache(), id, parts)
}

// Saved tells the cache that p was saved (inserted or updated): every
// entry for p is deleted, in every process sharing the cache, exactly as
// p.CacheDelete() does, and p is bound to the model. Call it after the
// save has committed. The next Find loads the new row.
//
// Saved does not store p. Two saves of one row racing each other could
// otherwise leave the older one cached; use p.CacheReset() where that
// cannot happen and the next reader should find the object cached.
//
// The error is the backend's: the saved row is not affected, and the
// delete of the old object is queued until the backend answers (see
// keyedcache.ErrInvalidationPending); this process serves it no more,
// other processes can until the queued delete reaches the backend.
func (m *Model[T, K]) Saved(ctx context.Context, p *T) error {
	c, err := m.core.cacheFor()
	if err != nil {
		return err
	}
	return m.core.invalidateObject(ctx, c, m.core.bind(p))
}

// Deleted tells the cache that p was deleted: its entries go as with
// Saved, and when not-found answers are cached (WithNotFoundTTL) the
// answer for p's identity is recorded at once, so that the next Find of
// it does not reach the database.
func (m *Model[T, K]) Deleted(ctx context.Context, p *T) error {
	c, err := m.core.cacheFor()
	if err != nil {
		return err
	}
	co := m.core
	co.bind(p)
	err = co.invalidateObject(ctx, c, p)
	if co.s.notFoundTTL > 0 {
		key := co.objectKey(c, co.id(p), nil)
		err = errors.Join(err, c.Set(ctx, co.notFoundKey(c, key), true, keyedcache.TTL(co.s.notFoundTTL)))
	}
	return err
}

// Forget deletes every entry for the object with identity id (see
// CacheDelete), for when the object itself is not at hand, such as
// after DELETE … WHERE id = ?. Index entries that pointed to it are
// found stale when next read, and read afresh.
func (m *Model[T, K]) Forget(ctx context.Context, id K) error {
	c, err := m.core.cacheFor()
	if err != nil {
		return err
	}
	return m.core.invalidate(ctx, c, m.core.objectKey(c, id, nil))
}

// Stats returns a snapshot of the model's counters.
func (m *Model[T, K]) Stats() Stats { return m.core.stats.snapshot(m.core.s.name) }

// core is the part of a Model that does not depend on the identity's
// type, so that the embedded helper can refer to it.
type core[T any] struct {
	s       settings
	name    any // s.name, boxed once rather than on every key
	setOpts []keyedcache.SetOption
	id      func(*T) any
	helper  func(*T) *Cached[T]
	flight  singleflight.Group
	stats   counters

	mu      sync.Mutex
	indexes atomic.Pointer[[]indexer[T]] // replaced whole under mu
}

// An indexer is an Index as its model sees it: it deletes its entry for
// an object's current field value.
type indexer[T any] interface {
	invalidateFor(ctx context.Context, c *keyedcache.Cache, p *T) error
}

func (co *core[T]) addIndex(ix indexer[T]) {
	co.mu.Lock()
	defer co.mu.Unlock()
	var next []indexer[T]
	if cur := co.indexes.Load(); cur != nil {
		next = append(next, *cur...)
	}
	next = append(next, ix)
	co.indexes.Store(&next)
}

func (co *core[T]) bind(p *T) *T {
	if p != nil {
		h := co.helper(p)
		h.self, h.core = p, co
	}
	return p
}

// cacheFor returns the cache the model uses now.
func (co *core[T]) cacheFor() (*keyedcache.Cache, error) {
	switch {
	case co.s.cache != nil:
		return co.s.cache, nil
	case co.s.alias != "":
		c, err := keyedcache.Lookup(co.s.alias)
		if err != nil {
			return nil, fmt.Errorf("mixin: model %s: %w", co.s.name, err)
		}
		return c, nil
	}
	return keyedcache.Default(), nil
}

func (co *core[T]) mustCache() *keyedcache.Cache {
	c, err := co.cacheFor()
	if err != nil {
		panic(err)
	}
	return c
}

// objectKey builds name::id::parts.
func (co *core[T]) objectKey(c *keyedcache.Cache, id any, parts []any) string {
	var arr [8]any
	return c.Key(append(append(arr[:0], co.name, id), parts...)...)
}

// Reserved children of a key the model writes: the change token that
// guards loads, and a cached not-found answer. They sit under the key
// so that deleting it with its children removes them too.
const reservedPart = "mixin"

func (co *core[T]) revKey(c *keyedcache.Cache, key string) string {
	return c.Key(key, reservedPart, "rev")
}

func (co *core[T]) notFoundKey(c *keyedcache.Cache, key string) string {
	return c.Key(key, reservedPart, "not-found")
}

// readRev returns key's change token, "" when there is none (or the
// backend does not answer). It reads the backend itself, past the
// first-level tiers (a request tier would return the first read again)
// and uncounted, so that the guard does not show in the alias's hit rate.
func (co *core[T]) readRev(ctx context.Context, c *keyedcache.Cache, key string) string {
	data, found, err := c.GetBytes(ctx, co.revKey(c, key))
	if err != nil || !found {
		return ""
	}
	return string(data)
}

// revOpts is the TTL of a change token: as long as the entries it
// guards live, so that a load that started before a change is always
// measured against it.
func (co *core[T]) revOpts() []keyedcache.SetOption { return co.setOpts }

// invalidate deletes key and its children and records a change of key:
// a new random token, written after the children are gone and before
// key itself is deleted. A load that read the token before it read the
// database and finds it changed after storing its result deletes that
// result again (see storeGuarded), so a row read before a save is never
// left cached after it.
func (co *core[T]) invalidate(ctx context.Context, c *keyedcache.Cache, key string) error {
	err := c.DeleteChildren(ctx, key)
	if e := c.SetBytes(ctx, co.revKey(c, key), []byte(rand.Text()), co.revOpts()...); e != nil {
		err = errors.Join(err, e)
	}
	if _, e := c.Delete(ctx, key); e != nil {
		err = errors.Join(err, e)
	}
	return err
}

// invalidateObject invalidates p's key and p's index entries.
func (co *core[T]) invalidateObject(ctx context.Context, c *keyedcache.Cache, p *T) error {
	err := co.invalidate(ctx, c, co.objectKey(c, co.id(p), nil))
	if ixs := co.indexes.Load(); ixs != nil {
		for _, ix := range *ixs {
			err = errors.Join(err, ix.invalidateFor(ctx, c, p))
		}
	}
	return err
}

// storeGuarded stores value under key unless guard (a key whose change
// token was rev0 before the load began) has changed since; a change
// found after the write takes the write back. It reports whether the
// value stayed.
func (co *core[T]) storeGuarded(ctx context.Context, c *keyedcache.Cache, key, guard string, value any, rev0 string, opts []keyedcache.SetOption) bool {
	if err := c.Set(ctx, key, value, opts...); err != nil {
		co.s.logger.Warn("mixin: value not cached", "model", co.s.name, "key", key, "err", err)
		return false
	}
	if co.readRev(ctx, c, guard) != rev0 {
		c.Delete(ctx, key)
		co.stats.discarded.Add(1)
		return false
	}
	return true
}

func (co *core[T]) notFoundErr(key string) error {
	return &NotFoundError{Model: co.s.name, Key: key, Err: co.s.notFound}
}
