package threaded

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"

	"keyedcache.dev/keyedcache"
)

// Middleware gives every request that passes through it a request cache
// (see WithRequestCache), released when next returns or panics.
func Middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, release := WithRequestCache(r.Context())
		defer release()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// WithRequestCache returns a context that carries a request cache: a
// request tier in front of every alias (see keyedcache.WithRequestTier)
// and the scope in which LocalSync maps are checked once. Use the context
// for the work's cache calls, from as many goroutines as it likes, and
// call release when the work ends: the tier is emptied and the context's
// reads go to the lower tiers again. Calling release twice does nothing.
//
// If ctx already carries a live request cache, WithRequestCache returns
// ctx itself and a release that does nothing: an inner scope shares the
// outer one, and the outer release ends it.
func WithRequestCache(ctx context.Context) (context.Context, func()) {
	if sc, ok := ctx.Value(scopeKey{}).(*scope); ok && !sc.ended.Load() {
		return ctx, func() {}
	}
	ctx, releaseTier := keyedcache.WithRequestTier(ctx)
	sc := &scope{checked: make(map[*group]bool)}
	scopes.Add(1)
	var once sync.Once
	return context.WithValue(ctx, scopeKey{}, sc), func() {
		once.Do(func() {
			sc.end()
			releaseTier()
		})
	}
}

// scopes counts the request caches opened, for Stats.
var scopes atomic.Uint64

type scopeKey struct{}

// scope is what a request cache knows beyond its tier: which LocalSync
// groups it has checked, and the epoch of each map when it did.
type scope struct {
	mu      sync.Mutex
	checked map[*group]bool
	epochs  map[syncMap]uint64
	ended   atomic.Bool
}

func (sc *scope) end() {
	sc.ended.Store(true)
	sc.mu.Lock()
	sc.checked, sc.epochs = nil, nil
	sc.mu.Unlock()
}

// scopeOf returns the live scope ctx carries, or nil.
func scopeOf(ctx context.Context) *scope {
	sc, _ := ctx.Value(scopeKey{}).(*scope)
	if sc == nil || sc.ended.Load() {
		return nil
	}
	return sc
}
