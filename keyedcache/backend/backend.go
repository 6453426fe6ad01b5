// Package backend is the contract between keyedcache and the stores it
// caches in.
//
// A Backend stores bytes under strings with a time to live. It knows
// nothing of keys built from parts, of codecs, of functions or of
// requests: the keyedcache package does all of that and hands a backend
// finished keys and encoded values. The contract is deliberately small
// (Get, Set, Add, Delete, Clear, Close); extra powers — many keys at
// once, prefix delete, touch, incr, key listing, native stats — are
// optional interfaces that the core discovers with a type assertion and
// replaces with a generic fallback where a backend lacks them, in the
// way database/sql discovers optional driver interfaces.
//
// Backends register a URL scheme with [Register], as database/sql
// drivers register a name, and users link only the ones they import.
//
// # Time to live
//
// Every ttl a backend receives is either positive (the entry expires
// that long after it was written) or [NoExpiry] (zero: it never
// expires). The core never passes a negative ttl. A backend rounds a ttl
// up to its own granularity, never down.
//
// # Errors
//
// A backend returns [ErrNotFound] from Incr and Touch on a missing key
// and [ErrNotNumeric] from Incr on a value that is not a decimal integer.
// Any other error means the store could not answer (a network failure, a
// full disk, a cancelled context); the core counts and logs it and
// degrades to a miss.
package backend

import (
	"context"
	"errors"
	"time"
)

// NoExpiry is the ttl of an entry that never expires.
const NoExpiry time.Duration = 0

// MaxKeyLen is the longest key any backend must accept. The core never
// hands a backend a longer key (memcached's limit is the tightest).
const MaxKeyLen = 250

var (
	// ErrNotFound reports a missing key to Incr and Touch.
	ErrNotFound = errors.New("backend: key not found")
	// ErrNotNumeric reports that Incr found a value that is not a
	// decimal integer.
	ErrNotNumeric = errors.New("backend: value is not a decimal integer")
	// ErrOverflow reports that Incr would take the value past the int64
	// range; the value is left as it was.
	ErrOverflow = errors.New("backend: increment overflows int64")
	// ErrNotSupported reports an operation a backend cannot perform at all.
	ErrNotSupported = errors.New("backend: operation not supported")
)

// Backend is the small interface every store implements. All methods are
// safe for concurrent use.
type Backend interface {
	// Get returns the value stored under key. A missing or expired key
	// returns found == false and a nil error. The returned slice belongs
	// to the caller.
	Get(ctx context.Context, key string) (value []byte, found bool, err error)
	// Set stores value under key, replacing any entry, for ttl. The
	// backend does not keep a reference to value.
	Set(ctx context.Context, key string, value []byte, ttl time.Duration) error
	// Add stores value under key only if no live entry exists (an expired
	// entry counts as absent) and reports whether it stored it. It is
	// atomic: of many concurrent Adds of one key, exactly one succeeds.
	Add(ctx context.Context, key string, value []byte, ttl time.Duration) (added bool, err error)
	// Delete removes key and reports whether a live entry existed.
	Delete(ctx context.Context, key string) (existed bool, err error)
	// Clear removes every entry this backend value stores: its own
	// namespace, directory, table or database — never a whole server
	// that other programs share.
	Clear(ctx context.Context) error
	// Close releases the backend's resources. Calls after Close fail.
	Close() error
}

// Multi is implemented by backends that read, write and delete many keys
// in one round trip.
type Multi interface {
	// GetMany returns the live entries among keys; missing keys are
	// absent from the map.
	GetMany(ctx context.Context, keys []string) (map[string][]byte, error)
	// SetMany stores every item with one ttl.
	SetMany(ctx context.Context, items map[string][]byte, ttl time.Duration) error
	// DeleteMany removes keys and returns how many live entries existed.
	DeleteMany(ctx context.Context, keys []string) (int, error)
}

// PrefixDeleter is implemented by backends that delete every key that
// starts with a prefix natively. A backend documents the cost; the core
// prefers it to namespace generations, which cost every read extra
// lookups, so a backend implements it only where that trade is right
// (the memory backend's costs O(keys deleted), through an index).
type PrefixDeleter interface {
	// DeletePrefix removes every key that starts with prefix and returns
	// how many it removed.
	DeletePrefix(ctx context.Context, prefix string) (int, error)
}

// Toucher is implemented by backends that change an entry's ttl without
// rewriting it.
type Toucher interface {
	// Touch sets a new ttl on a live entry; it returns ErrNotFound when
	// there is none.
	Touch(ctx context.Context, key string, ttl time.Duration) error
}

// Incrementer is implemented by backends that add to a decimal integer
// value atomically.
type Incrementer interface {
	// Incr adds delta (which may be negative) to the decimal integer
	// stored under key, keeps the entry's ttl, and returns the new value.
	// A missing key returns ErrNotFound; a value that is not a decimal
	// integer returns ErrNotNumeric.
	Incr(ctx context.Context, key string, delta int64) (int64, error)
}

// CompareAndSwapper is implemented by backends that replace a value only
// if it still holds what the caller read.
type CompareAndSwapper interface {
	// CompareAndSwap stores value under key with ttl only if the live
	// entry's bytes equal old, and reports whether it did.
	CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error)
}

// KeyLister is implemented by backends that can enumerate their keys.
type KeyLister interface {
	// ScanKeys calls fn with every live key that starts with prefix, in no
	// particular order, until fn returns false. complete is false when
	// the backend knows it could not see every key (a sampled or
	// truncated listing).
	ScanKeys(ctx context.Context, prefix string, fn func(key string) bool) (complete bool, err error)
}

// SortedKeyLister is implemented by backends that list their keys in
// ascending byte order from a cursor, as an SQL table with an index on
// the key can. Paging through keys (the staff page) then reads one page
// in time proportional to the page, however many keys there are.
type SortedKeyLister interface {
	// ScanKeysAfter calls fn, in ascending byte order, with every live
	// key that starts with prefix and sorts strictly after after, until
	// fn returns false. complete is false when the backend knows it
	// could not see every key.
	ScanKeysAfter(ctx context.Context, prefix, after string, fn func(key string) bool) (complete bool, err error)
}

// TTLReader is implemented by backends that tell an entry's remaining
// time to live.
type TTLReader interface {
	// TTL returns the remaining time to live of a live entry, NoExpiry
	// for one that never expires, and found == false for a missing one.
	TTL(ctx context.Context, key string) (ttl time.Duration, found bool, err error)
}

// Statser is implemented by backends with statistics of their own
// (entries, memory, evictions, server counters).
type Statser interface {
	// BackendStats returns the backend's own figures by name.
	BackendStats(ctx context.Context) (map[string]string, error)
}

// Pinger is implemented by backends that can check cheaply that their
// store answers.
type Pinger interface {
	// Ping returns nil when the store answers.
	Ping(ctx context.Context) error
}

// ObjectStore is implemented by in-process backends that can keep Go
// values by reference, skipping the codec. The core uses it only when
// ByReference reports true, which the user opts into: a value read back
// is then the very value stored, and changing it changes the cache.
type ObjectStore interface {
	// ByReference reports whether the user configured by-reference mode.
	ByReference() bool
	// GetObject returns the value stored under key by SetObject as obj,
	// or the bytes stored by Set as raw (obj is then nil).
	GetObject(key string) (obj any, raw []byte, found bool)
	// SetObject stores v by reference under key for ttl.
	SetObject(key string, v any, ttl time.Duration)
}
