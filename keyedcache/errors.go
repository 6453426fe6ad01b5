package keyedcache

import (
	"errors"

	"keyedcache.dev/keyedcache/backend"
)

// ErrNotCached is matched by every *NotCachedError:
// errors.Is(err, ErrNotCached) tells a miss from other errors.
var ErrNotCached = errors.New("keyedcache: not cached")

// ErrCacheNotResponding is matched by every *CacheNotRespondingError.
var ErrCacheNotResponding = errors.New("keyedcache: cache not responding")

// ErrNotNumeric reports that Incr or Decr found a value that is not an
// integer.
var ErrNotNumeric = backend.ErrNotNumeric

// NotCachedError is the miss returned by Get and its relatives. Key is
// the key that was looked up, so the caller can compute the value and
// store it under exactly that key.
type NotCachedError struct {
	Key string
	// Err is why a lookup that could not reach the backend, or read a
	// value it could not decode, counts as a miss; nil for a plain miss.
	Err error
}

// Error names the key and, if there is one, the cause.
func (e *NotCachedError) Error() string {
	if e.Err != nil {
		return "keyedcache: not cached: " + e.Key + ": " + e.Err.Error()
	}
	return "keyedcache: not cached: " + e.Key
}

// Is reports whether target is ErrNotCached.
func (e *NotCachedError) Is(target error) bool { return target == ErrNotCached }

// Unwrap returns the cause of the miss, if any.
func (e *NotCachedError) Unwrap() error { return e.Err }

// CacheNotRespondingError is returned by Require when the backend does not
// answer.
type CacheNotRespondingError struct {
	Alias string // the alias of the cache
	Err   error  // what the backend said
}

// Error names the alias and what the backend said.
func (e *CacheNotRespondingError) Error() string {
	return "keyedcache: cache " + e.Alias + " not responding: " + e.Err.Error()
}

// Is reports whether target is ErrCacheNotResponding.
func (e *CacheNotRespondingError) Is(target error) bool { return target == ErrCacheNotResponding }

// Unwrap returns what the backend said.
func (e *CacheNotRespondingError) Unwrap() error { return e.Err }
