// Package dummy is the backend that stores nothing, as Django's dummy
// cache does: every read misses, every write is accepted and forgotten.
// Use it in development to run a program with caching switched off
// without changing its code: KEYEDCACHE_ALIASES="default=dummy://".
package dummy

import (
	"context"
	"time"

	"keyedcache.dev/keyedcache/backend"
)

func init() {
	backend.Register("dummy", backend.Driver{
		Open: func(backend.Config) (backend.Backend, error) { return Backend{}, nil },
	})
}

// Backend stores nothing. Its zero value is ready to use.
type Backend struct{}

// Get always misses.
func (Backend) Get(context.Context, string) ([]byte, bool, error) { return nil, false, nil }

// Set forgets the value.
func (Backend) Set(context.Context, string, []byte, time.Duration) error { return nil }

// Add reports true, as though it stored the value (nothing is ever
// present), and forgets it.
func (Backend) Add(context.Context, string, []byte, time.Duration) (bool, error) {
	return true, nil
}

// Delete finds nothing to delete.
func (Backend) Delete(context.Context, string) (bool, error) { return false, nil }

// DeletePrefix finds nothing to delete.
func (Backend) DeletePrefix(context.Context, string) (int, error) { return 0, nil }

// Clear has nothing to clear.
func (Backend) Clear(context.Context) error { return nil }

// Close does nothing.
func (Backend) Close() error { return nil }

// Ping always answers.
func (Backend) Ping(context.Context) error { return nil }

var (
	_ backend.Backend       = Backend{}
	_ backend.PrefixDeleter = Backend{}
)
