package keyedcache

import (
	"errors"
	"fmt"
	"strings"

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

// ErrUnencodable is matched by the error of a write (Set, Add, SetMany,
// Encode) whose value cannot be encoded: the codec refuses it (a channel,
// a function, a nil pointer under gob), or the value refers to itself or
// nests too deep for the codec to write it (see the package
// documentation on values).
var ErrUnencodable = errors.New("keyedcache: cannot encode value")

// A TypeError reports a cached value that is intact but cannot be read as
// the type asked for: Get[int] on a stored string, say. A read returns it
// as the cause of a miss (a *NotCachedError whose Err it is, so
// errors.As finds it). Unlike bytes that cannot be decoded at all, the
// entry is kept: other readers may ask for it as the type it was stored
// as.
type TypeError struct {
	Stored string // what the entry holds, e.g. "a CBOR text string" or "the integer 300"
	Wanted string // the Go type asked for, e.g. "int"
	Err    error  // the codec's own complaint, if any
}

// Error says what is stored and what was asked for.
func (e *TypeError) Error() string {
	msg := "keyedcache: cached value is " + e.Stored + ", which cannot be read as " + e.Wanted
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the codec's complaint.
func (e *TypeError) Unwrap() error { return e.Err }

// ErrUnkeyable is matched by the error of a write under the key Key
// returns for a part it cannot encode within its limits (see Key), and
// is the cause of every read of it: nothing is ever stored under that
// key, so values of different such parts never answer for each other.
var ErrUnkeyable = errors.New("keyedcache: a key part is too deep or too large to key")

// NotStoredError is returned by SetMany when some items could not be
// stored for what they are (see SetMany); the other items were stored.
// errors.Is matches it against each cause: ErrUnencodable, ErrUnkeyable,
// backend.ErrTooLarge.
type NotStoredError struct {
	Keys   []string         // the keys not stored, as given, sorted
	Causes map[string]error // why each was not stored, by key as given
}

// Error names how many items were not stored, and the first few with
// their causes.
func (e *NotStoredError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "keyedcache: %d of the items not stored:", len(e.Keys))
	for i, k := range e.Keys {
		if i == 3 {
			fmt.Fprintf(&b, " and %d more", len(e.Keys)-i)
			break
		}
		if i > 0 {
			b.WriteByte(';')
		}
		fmt.Fprintf(&b, " %s (%v)", k, e.Causes[k])
	}
	return b.String()
}

// Unwrap returns the causes, so that errors.Is and errors.As see each.
func (e *NotStoredError) Unwrap() []error {
	out := make([]error, 0, len(e.Keys))
	for _, k := range e.Keys {
		out = append(out, e.Causes[k])
	}
	return out
}
