package mixin

import (
	"context"
	"errors"

	"keyedcache.dev/keyedcache"
)

// An Index finds a model's objects by another unique field — a slug, a
// natural key, an email address — through the cache, as Model.Find does
// by identity. It caches the field value's identity under
// <Name>.<field>::<value> (Product.slug::red-kite) and the object under
// its own key, so a save that resets the object is seen by every index
// at once.
//
// An index entry is checked when it is used: if its object no longer
// exists, or no longer has the value (the slug was changed), the entry
// is dropped and the value resolved again. Saved, Deleted and
// CacheDelete also delete the entries for the object's current values.
type Index[T any, K comparable, V comparable] struct {
	m       *Model[T, K]
	name    string
	value   func(*T) V
	resolve func(context.Context, V) (K, error)
}

// indexEntry is what an index caches for a value: the identity of the
// object that has it, or that no object has it.
type indexEntry[K comparable] struct {
	ID      K    `json:"id"`
	Missing bool `json:"missing,omitempty"`
}

// NewIndex adds to m an index on field, whose value an object returns
// from value, and which resolve turns into an identity (typically
// SELECT id … WHERE slug = ?). resolve reports a value no row has as
// the model's not-found error, ErrNotFound or sql.ErrNoRows. The object
// itself is then found with m's loader, or in the cache:
//
//	bySlug := mixin.NewIndex(products, "slug",
//		func(p *Product) string { return p.Slug },
//		func(ctx context.Context, slug string) (int64, error) { … })
//	p, err := bySlug.Find(ctx, "red-kite")
//
// Create the indexes with the model, before it is used. NewIndex panics
// if field is empty.
func NewIndex[T any, K, V comparable](m *Model[T, K], field string, value func(*T) V, resolve func(context.Context, V) (K, error)) *Index[T, K, V] {
	if field == "" {
		panic("mixin: NewIndex: empty field name")
	}
	ix := &Index[T, K, V]{m: m, name: m.core.s.name + "." + field, value: value, resolve: resolve}
	m.core.addIndex(ix)
	return ix
}

// Key returns the key of the index entry for v.
func (ix *Index[T, K, V]) Key(v V) string {
	return ix.m.core.mustCache().Key(ix.name, v)
}

// Find returns the object whose field has value v, as Model.Find does:
// from the cache when the entry and the object are there, otherwise
// through resolve and the model's loader, storing both. A value no
// object has is a *NotFoundError (cached with WithNotFoundTTL). Loads
// are shared between concurrent callers, and a caller's cancellation,
// a loader's panic and a concurrent save are handled as for Model.Find.
func (ix *Index[T, K, V]) Find(ctx context.Context, v V) (*T, error) {
	co := ix.m.core
	co.stats.finds.Add(1)
	c, err := co.cacheFor()
	if err != nil {
		return nil, err
	}
	p, hit, err := ix.find(ctx, c, v)
	co.count(hit, err)
	return p, err
}

// maxStale bounds how often one Find resolves a value again after
// finding its entry stale, when the rows change under it.
const maxStale = 3

func (ix *Index[T, K, V]) find(ctx context.Context, c *keyedcache.Cache, v V) (*T, bool, error) {
	co := ix.m.core
	key := c.Key(ix.name, v)
	ent, err := keyedcache.Get[indexEntry[K]](ctx, c, key)
	cached := err == nil
	for attempt := 1; ; attempt++ {
		if !cached {
			if err := ctx.Err(); err != nil {
				return nil, false, err
			}
			ent, _, err = through(ctx, co, c, key, func(ctx context.Context) (indexEntry[K], error) {
				return ix.fill(ctx, c, key, v)
			})
			if err != nil {
				return nil, false, err
			}
		}
		if ent.Missing {
			return nil, cached, co.notFoundErr(key)
		}
		p, objHit, err := ix.m.find(ctx, c, ent.ID)
		var nf *NotFoundError
		switch {
		case err == nil && ix.value(p) == v:
			return p, cached && objHit, nil
		case err != nil && !errors.As(err, &nf):
			return nil, false, err
		}
		// The entry is stale: its object is gone or has another value
		// now. Drop it and ask the database again.
		c.Delete(ctx, key)
		if attempt == maxStale {
			return nil, false, co.notFoundErr(key)
		}
		cached = false
	}
}

// fill resolves v once per flight and stores the entry; see
// Model.fill.
func (ix *Index[T, K, V]) fill(ctx context.Context, c *keyedcache.Cache, key string, v V) (indexEntry[K], error) {
	co := ix.m.core
	if ent, ok := peek[indexEntry[K]](ctx, c, key); ok {
		return ent, nil
	}
	rev0 := co.readRev(ctx, c, key)
	co.stats.loads.Add(1)
	id, err := ix.resolve(ctx, v)
	switch {
	case err != nil && isNotFound(err, co.s.notFound):
		ent := indexEntry[K]{Missing: true}
		if co.s.notFoundTTL > 0 {
			co.storeGuarded(ctx, c, key, key, ent, rev0, []keyedcache.SetOption{keyedcache.TTL(co.s.notFoundTTL)})
		}
		return ent, nil
	case err != nil:
		co.stats.errors.Add(1)
		return indexEntry[K]{}, err
	}
	ent := indexEntry[K]{ID: id}
	co.storeGuarded(ctx, c, key, key, ent, rev0, co.setOpts)
	return ent, nil
}

// invalidateFor deletes the entry for p's current value.
func (ix *Index[T, K, V]) invalidateFor(ctx context.Context, c *keyedcache.Cache, p *T) error {
	return ix.m.core.invalidate(ctx, c, c.Key(ix.name, ix.value(p)))
}
