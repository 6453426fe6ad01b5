// Package dummy is the backend that stores nothing, as Django's dummy
// cache does: every read misses, every write is accepted and forgotten.
// Use it in development to run a program with caching switched off
// without changing its code: KEYEDCACHE_ALIASES="default=dummy://".
package dummy

import (
	"context"
	"sync/atomic"
	"time"

	"keyedcache.dev/keyedcache/backend"
)

func init() {
	backend.Register("dummy", backend.Driver{
		Open:     func(backend.Config) (backend.Backend, error) { return New(), nil },
		Validate: func(backend.Config) error { return nil },
	})
}

// ErrClosed is returned by every call after Close, on a Backend from New
// or the dummy:// driver.
var ErrClosed = backend.ClosedError("dummy")

// Backend stores nothing. Its zero value is ready to use and never
// closes; one from New fails every call after Close with ErrClosed, as
// every backend does.
type Backend struct {
	closed *atomic.Bool
}

// New returns a Backend that stores nothing and can be closed.
func New() Backend { return Backend{closed: new(atomic.Bool)} }

func (b Backend) check() error {
	if b.closed != nil && b.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Get always misses.
func (b Backend) Get(context.Context, string) ([]byte, bool, error) { return nil, false, b.check() }

// Set forgets the value.
func (b Backend) Set(context.Context, string, []byte, time.Duration) error { return b.check() }

// Add reports true, as though it stored the value (nothing is ever
// present), and forgets it.
func (b Backend) Add(context.Context, string, []byte, time.Duration) (bool, error) {
	if err := b.check(); err != nil {
		return false, err
	}
	return true, nil
}

// Delete finds nothing to delete.
func (b Backend) Delete(context.Context, string) (bool, error) { return false, b.check() }

// DeletePrefix finds nothing to delete.
func (b Backend) DeletePrefix(context.Context, string) (int, error) { return 0, b.check() }

// Clear has nothing to clear.
func (b Backend) Clear(context.Context) error { return b.check() }

// Close makes every later call fail with ErrClosed (on the zero value it
// does nothing).
func (b Backend) Close() error {
	if b.closed != nil {
		b.closed.Store(true)
	}
	return nil
}

// Ping answers until Close.
func (b Backend) Ping(context.Context) error { return b.check() }

var (
	_ backend.Backend       = Backend{}
	_ backend.PrefixDeleter = Backend{}
)
