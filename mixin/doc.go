// Package mixin caches model objects — rows a program loads from a
// database — under keys made of their type name and identity, as
// Product::7, with one helper that the model type embeds.
//
// A model type embeds Cached and says what its identity is with a
// CacheID method (keyedcache.Identifier):
//
//	type Product struct {
//		mixin.Cached[Product]
//		ID    int64
//		Slug  string
//		Name  string
//		Price int64
//	}
//
//	func (p *Product) CacheID() any { return p.ID }
//
// A Model of the type, created once with the function that loads a row
// by identity, reads through the cache:
//
//	var products = mixin.NewModel(func(ctx context.Context, id int64) (*Product, error) {
//		p := new(Product)
//		err := db.QueryRowContext(ctx, "SELECT id, slug, name, price FROM products WHERE id = ?", id).
//			Scan(&p.ID, &p.Slug, &p.Name, &p.Price)
//		return p, err // sql.ErrNoRows is a not-found answer
//	}, mixin.WithNotFound(ErrNoProduct))
//
//	p, err := products.Find(ctx, 7) // the cache, else the database (once for all concurrent callers)
//
// Objects from Find are bound to their Model and have the helper's
// methods: p.CacheKey() is "Product::7" and p.CacheKey("summary") is
// "Product::7::summary" (with the alias's prefix, if any); CacheGet,
// CacheSet, CacheDelete (the key and everything under it, in every
// process sharing the cache), CacheReset (delete, then store the object)
// and IsCached work on those keys. An Index finds objects by another
// unique field, such as a slug, through the same cache.
//
// After saving or deleting a row, call Saved or Deleted (or
// p.CacheDelete) so that every process reads it afresh:
//
//	if _, err := db.ExecContext(ctx, "UPDATE products SET price = ? WHERE id = ?", p.Price, p.ID); err != nil {
//		return err
//	}
//	return products.Saved(ctx, p)
//
// These writes also record a change token under the object's key, which
// a load checks around storing what it read, so that a row read just
// before a save never stays cached after it.
//
// A Model uses the default alias (keyedcache.Default) unless WithAlias
// or WithCache names another. Everything else follows package
// keyedcache: a cache that is down or disabled makes Find load from the
// database, a value that cannot be decoded is a miss, and values are
// copies.
//
// The idea is django-keyedcache's CachedObjectMixin and its find_by_id,
// find_by_key and find_by_slug helpers.
package mixin
