package mixin

import (
	"context"
	"fmt"
	"reflect"

	"keyedcache.dev/keyedcache"
)

// Cached is the helper a model type embeds to be cached as an object:
//
//	type Product struct {
//		mixin.Cached[Product]
//		ID   int64
//		Name string
//	}
//
//	func (p *Product) CacheID() any { return p.ID }
//
// The embedding gives *Product the methods CacheKey, CacheGet, CacheSet,
// CacheDelete, CacheReset and IsCached, keyed Product::<id>. The helper
// cannot see the struct around it by itself, so a value must be bound
// to its Model before those methods are used: values returned by
// Model.Find, an Index's Find and CacheGet are bound, and Model.Bind,
// Model.Saved and Model.Deleted bind the value they are given.
//
// The binding is a pointer to the value, so a copy of a bound value
// (q := *p, or a range loop over a []Product) still points at the
// original. The methods notice and panic, as strings.Builder does when
// copied, rather than act on the wrong value: bind the copy first, or
// keep models as pointers (Find returns *T).
//
// Embed Cached[T] by value, not as a pointer. It adds no data to what a
// codec writes: its one exported field is empty, tagged to be skipped
// by encoding/json and CBOR, and encoding/gob carries nothing in it.
//
// Keys under an object's key whose first extra part is "mixin"
// (Product::7::mixin::rev, Product::7::mixin::not-found) are the
// model's own; use other parts for values of your own.
type Cached[T any] struct {
	// GobPlaceholder is always empty. It exists only because
	// encoding/gob refuses an embedded struct with no exported fields.
	GobPlaceholder struct{} `json:"-" cbor:"-"`

	self *T
	core *core[T]
}

// cachedHelper returns the helper; through promotion it is how the
// package finds the helper inside a *T.
func (h *Cached[T]) cachedHelper() *Cached[T] { return h }

// bound returns the value the helper is embedded in and its model. It
// panics when the value was never bound or is a copy of a bound one.
func (h *Cached[T]) bound() (*T, *core[T]) {
	if h.core == nil {
		panic(fmt.Sprintf("mixin: %s is not bound to a Model: get it from Model.Find, or pass it to Model.Bind first",
			reflect.TypeFor[T]()))
	}
	if h.core.helper(h.self) != h {
		panic(fmt.Sprintf("mixin: %s was copied after it was bound to its Model: pass the copy to Model.Bind before using its cache methods",
			reflect.TypeFor[T]()))
	}
	return h.self, h.core
}

// CacheKey returns the object's key, its model's name and its identity,
// followed by parts: "Product::7" for no parts, "Product::7::summary"
// for CacheKey("summary"). Parts follow the key rules of package
// keyedcache; the key carries the alias's prefix and version. It panics
// if the model's alias is not configured (see WithAlias).
func (h *Cached[T]) CacheKey(parts ...any) string {
	self, co := h.bound()
	return co.objectKey(co.mustCache(), co.id(self), parts)
}

// CacheGet reads the T stored under the object's key (with parts, if
// any) and returns it bound to the model; it is a copy, so changing it
// changes neither the cache nor the receiver. A miss is a
// *keyedcache.NotCachedError carrying the key.
func (h *Cached[T]) CacheGet(ctx context.Context, parts ...any) (*T, error) {
	self, co := h.bound()
	c, err := co.cacheFor()
	if err != nil {
		return nil, err
	}
	v, err := keyedcache.Get[T](ctx, c, co.objectKey(c, co.id(self), parts))
	if err != nil {
		return nil, err
	}
	return co.bind(&v), nil
}

// CacheSet stores the object itself under its key (with parts, if any)
// for the model's TTL. Like keyedcache's Set, it returns an error only
// when the value cannot be encoded; a backend that fails drops the write.
func (h *Cached[T]) CacheSet(ctx context.Context, parts ...any) error {
	self, co := h.bound()
	c, err := co.cacheFor()
	if err != nil {
		return err
	}
	return c.Set(ctx, co.objectKey(c, co.id(self), parts), *self, co.setOpts...)
}

// CacheDelete deletes the object's key (with parts, if any) and every
// key under it, in every process that shares the cache: CacheDelete()
// removes Product::7, Product::7::summary and the rest, and also the
// model's index entries for the object's current field values (see
// NewIndex), so that every way of finding it reads afresh. It also
// marks the object as changed, so that a load that read the old row
// before this call does not store it afterwards (see Model.Find).
//
// The error is the backend's: the object may then still be cached until
// its TTL ends.
func (h *Cached[T]) CacheDelete(ctx context.Context, parts ...any) error {
	self, co := h.bound()
	c, err := co.cacheFor()
	if err != nil {
		return err
	}
	if len(parts) == 0 {
		return co.invalidateObject(ctx, c, self)
	}
	return c.DeleteChildren(ctx, co.objectKey(c, co.id(self), parts))
}

// CacheReset replaces what is cached for the object with the object
// itself: CacheDelete, then CacheSet. Call it after saving the object
// when the next reader should find it cached at once; Model.Saved only
// deletes, which is the safer choice when the same row may be saved
// concurrently.
func (h *Cached[T]) CacheReset(ctx context.Context) error {
	if err := h.CacheDelete(ctx); err != nil {
		return err
	}
	return h.CacheSet(ctx)
}

// IsCached reports whether a live entry exists under the object's key
// (with parts, if any), without decoding it.
func (h *Cached[T]) IsCached(ctx context.Context, parts ...any) bool {
	self, co := h.bound()
	c, err := co.cacheFor()
	if err != nil {
		return false
	}
	return c.IsCached(ctx, co.objectKey(c, co.id(self), parts))
}
