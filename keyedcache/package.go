package keyedcache

import (
	"context"
	"time"
)

// The package-level functions act on the default registry's current
// alias (KEYEDCACHE_ALIAS, else "default", else memory://), with the
// names django-keyedcache used.

// Configure registers aliases (name → URL) in the default registry; see
// (*Registry).Configure.
func Configure(aliases map[string]string, opts ...Option) error {
	return DefaultRegistry().Configure(aliases, opts...)
}

// Lookup returns the cache registered as alias in the default registry.
func Lookup(alias string) (*Cache, error) { return DefaultRegistry().Lookup(alias) }

// Default returns the default registry's current alias.
func Default() *Cache {
	if c := defaultReg.cur.Load(); c != nil { // configured and opened: no locks
		return c
	}
	return DefaultRegistry().Default()
}

// CacheKey builds a key on the default alias; see (*Cache).Key.
func CacheKey(parts ...any) string { return Default().Key(parts...) }

// CacheGet reads a T from the default alias; see Get.
func CacheGet[T, P any](ctx context.Context, part P, parts ...any) (T, error) {
	return Get[T](ctx, Default(), part, parts...)
}

// CacheGetOr reads a T from the default alias, or def on a miss; see GetOr.
func CacheGetOr[T, P any](ctx context.Context, def T, part P, parts ...any) T {
	return GetOr(ctx, Default(), def, part, parts...)
}

// CacheSet stores a value on the default alias; see (*Cache).Set.
func CacheSet(ctx context.Context, key string, value any, opts ...SetOption) error {
	return Default().Set(ctx, key, value, opts...)
}

// CacheAdd stores a value on the default alias if absent; see (*Cache).Add.
func CacheAdd(ctx context.Context, key string, value any, opts ...SetOption) (bool, error) {
	return Default().Add(ctx, key, value, opts...)
}

// CacheDelete removes a key from the default alias; see (*Cache).Delete.
func CacheDelete(ctx context.Context, parts ...any) (bool, error) {
	return Default().Delete(ctx, parts...)
}

// CacheDeleteChildren removes a key and its children from the default
// alias; see (*Cache).DeleteChildren.
func CacheDeleteChildren(ctx context.Context, parts ...any) error {
	return Default().DeleteChildren(ctx, parts...)
}

// CacheClear removes every key of the default alias; see (*Cache).Clear.
func CacheClear(ctx context.Context) error { return Default().Clear(ctx) }

// CacheTouch gives a key of the default alias a new TTL; see (*Cache).Touch.
func CacheTouch(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	return Default().Touch(ctx, key, ttl)
}

// CacheIncr adds to an integer on the default alias; see (*Cache).Incr.
func CacheIncr(ctx context.Context, key string, delta int64) (int64, error) {
	return Default().Incr(ctx, key, delta)
}

// CacheDecr subtracts from an integer on the default alias; see (*Cache).Decr.
func CacheDecr(ctx context.Context, key string, delta int64) (int64, error) {
	return Default().Decr(ctx, key, delta)
}

// CacheGetMany reads many keys from the default alias; see GetMany.
func CacheGetMany[T any](ctx context.Context, keys ...string) (map[string]T, error) {
	return GetMany[T](ctx, Default(), keys...)
}

// CacheSetMany stores many values on the default alias; see (*Cache).SetMany.
func CacheSetMany(ctx context.Context, items map[string]any, opts ...SetOption) error {
	return Default().SetMany(ctx, items, opts...)
}

// CacheDeleteMany removes many keys from the default alias; see
// (*Cache).DeleteMany.
func CacheDeleteMany(ctx context.Context, keys ...string) (int, error) {
	return Default().DeleteMany(ctx, keys...)
}

// CacheIsCached reports whether the default alias holds a key; see
// (*Cache).IsCached.
func CacheIsCached(ctx context.Context, parts ...any) bool {
	return Default().IsCached(ctx, parts...)
}

// CacheRequire checks that every alias of the default registry answers,
// returning a *CacheNotRespondingError when one does not.
func CacheRequire(ctx context.Context) error { return DefaultRegistry().Require(ctx) }

// CacheEnable turns every alias of the default registry on or off, as
// django-keyedcache's cache_enable did.
func CacheEnable(on bool) { DefaultRegistry().Enable(on) }

// CacheEnabled reports whether the default registry's aliases are on.
func CacheEnabled() bool { return DefaultRegistry().Enabled() }
