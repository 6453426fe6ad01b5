package backend

import (
	"context"
	"time"
)

// Tracker is implemented by backends whose server tells a client when a
// key the client read has changed, so that a copy kept in the client's
// memory can be dropped at once: Redis's server-assisted client-side
// caching (CLIENT TRACKING). The core's process tier (the near cache)
// uses it, where the backend offers it, instead of an invalidation log
// written by every writer: the server then reports every change — made
// through keyedcache or not, by any process, or by expiry and eviction —
// and writers pay nothing for it.
type Tracker interface {
	// Track opens a tracked view of the store. Every key read through
	// the view is watched by the server until it changes; then
	// invalidate is called with it (keys as the backend's own methods
	// take them). invalidate(nil) means that anything may have changed:
	// a tracked connection was lost or replaced, or the server was
	// flushed. invalidate is called from the view's own goroutines, one
	// call at a time per connection; it must be quick and must not call
	// the view. The view connects in the background; Track fails only
	// when tracking cannot work at all with the store's configuration.
	Track(invalidate func(keys []string)) (TrackedReader, error)
}

// TrackedReader reads through a Tracker's tracked connections. It is
// safe for concurrent use.
type TrackedReader interface {
	// Get is Backend.Get, made on a tracked connection, so that a later
	// change to key is reported. ttl is the entry's remaining time to
	// live when it was read (NoExpiry when it has none).
	Get(ctx context.Context, key string) (value []byte, ttl time.Duration, found bool, err error)
	// GetMany is Multi.GetMany on tracked connections, with the
	// remaining time to live of each entry found.
	GetMany(ctx context.Context, keys []string) (values map[string][]byte, ttls map[string]time.Duration, err error)
	// Sync returns nil once every invalidation that the server sent
	// before it received Sync's request has been passed to invalidate,
	// on every tracked connection a read may have used. A nil error is
	// thus a proof that the copies kept so far are current as of the
	// moment Sync was called; an error leaves that open.
	Sync(ctx context.Context) error
	// Close closes the view's connections; invalidate is called with nil
	// as they close.
	Close() error
}
