package memory

import (
	"context"
	"fmt"
	"math"
	"sync/atomic"
	"time"

	"github.com/maypok86/otter/v2"

	"keyedcache.dev/keyedcache/backend"
)

// DefaultMaxEntries is the entry bound of a store that names none, as in
// Django's local-memory cache (MAX_ENTRIES=300 there; ours is larger
// because entries are evicted one at a time, not culled by the third).
const DefaultMaxEntries = 10000

// EntryOverhead is the fixed number of bytes an entry counts towards
// max_bytes on top of its key and its value (each as the Go allocator
// rounds it up to its size class): the Go heap that holds the entry in
// otter and in the key index, measured with small entries. So max_bytes
// bounds the heap a store holds, not only the bytes it counts
// (TestHeapWithinMaxBytes: within 1.25×, about 1.0× measured with a
// million and five million small entries and with 20 kB values).
const EntryOverhead = 200

// ErrClosed is returned by every call on a closed Store.
var ErrClosed = backend.ClosedError("memory")

// ErrOverflow is returned by Incr when the result would not fit an int64;
// it is backend.ErrOverflow.
var ErrOverflow = backend.ErrOverflow

// Options configure a Store made with [New].
type Options struct {
	// MaxEntries bounds the number of entries. Zero means
	// DefaultMaxEntries without a byte bound, and no entry bound with
	// one: a store given only MaxBytes holds as many entries as fit.
	MaxEntries int
	// MaxBytes bounds the bytes the entries count (key, value and
	// EntryOverhead each); zero means no byte bound. With both bounds,
	// each entry counts at least MaxBytes/MaxEntries bytes, so that
	// neither bound can be exceeded: small entries are then limited by
	// MaxEntries, large ones by MaxBytes.
	MaxBytes int64
	// ByReference enables the by-reference mode of the ObjectStore
	// methods (see the package documentation).
	ByReference bool
}

// Store is an in-memory backend. It implements backend.Backend and
// every optional interface of package backend. Its methods are safe for
// concurrent use; none of them blocks on anything but short locks, so
// none of them looks at its context except the ones that walk many keys.
type Store struct {
	c      *otter.Cache[string, *item]
	idx    *index
	opts   Options
	unit   int64 // bytes per unit of otter weight; 0 without a byte bound
	weigh  func(string, *item) uint32
	closed atomic.Bool

	// What the store holds by its own count, entries written included
	// before otter's policy has seen them (see wrote): the weight with a
	// byte bound, else the entries; and the count past which a write
	// makes otter apply its pending writes at once.
	held, limit atomic.Int64

	evictions   atomic.Int64 // entries dropped to respect a bound
	expirations atomic.Int64 // entries reclaimed after their deadline
}

// Store has every power package backend defines.
var (
	_ backend.Backend           = (*Store)(nil)
	_ backend.Multi             = (*Store)(nil)
	_ backend.PrefixDeleter     = (*Store)(nil)
	_ backend.Toucher           = (*Store)(nil)
	_ backend.Incrementer       = (*Store)(nil)
	_ backend.CompareAndSwapper = (*Store)(nil)
	_ backend.KeyLister         = (*Store)(nil)
	_ backend.SortedKeyLister   = (*Store)(nil)
	_ backend.TTLReader         = (*Store)(nil)
	_ backend.Statser           = (*Store)(nil)
	_ backend.Pinger            = (*Store)(nil)
	_ backend.ObjectStore       = (*Store)(nil)
)

// keepTTL is the ttl of a write that keeps the entry's deadline (Incr).
const keepTTL time.Duration = -1

// expireAfter is the per-entry expiry calculator: a write sets the
// deadline ttl from now, NoExpiry is a deadline never reached, and
// keepTTL (a non-positive duration) tells otter to keep the deadline.
func expireAfter(e otter.Entry[string, *item]) time.Duration {
	switch ttl := e.Value.ttl; {
	case ttl == backend.NoExpiry:
		return math.MaxInt64
	case ttl < 0:
		return 0
	default:
		return ttl
	}
}

// New returns an empty store with the given bounds. It fails only for a
// negative bound.
func New(opts Options) (*Store, error) {
	switch {
	case opts.MaxEntries < 0:
		return nil, fmt.Errorf("memory: MaxEntries %d is negative", opts.MaxEntries)
	case opts.MaxBytes < 0:
		return nil, fmt.Errorf("memory: MaxBytes %d is negative", opts.MaxBytes)
	case opts.MaxEntries == 0 && opts.MaxBytes == 0:
		opts.MaxEntries = DefaultMaxEntries
	}
	s := &Store{idx: newIndex(), opts: opts}
	o := &otter.Options[string, *item]{
		ExpiryCalculator: otter.ExpiryWritingFunc(expireAfter),
		OnAtomicDeletion: s.onDeletion,
	}
	if opts.MaxBytes > 0 {
		limit, weigher := s.byteBound()
		o.MaximumWeight, o.Weigher = limit, weigher
		s.weigh = weigher
		s.limit.Store(int64(limit + limit/slack))
	} else {
		o.MaximumSize = opts.MaxEntries
		s.limit.Store(int64(opts.MaxEntries + opts.MaxEntries/slack))
	}
	c, err := otter.New(o)
	if err != nil {
		return nil, fmt.Errorf("memory: %w", err)
	}
	s.c = c
	return s, nil
}

// byteBound returns otter's maximum weight and weigher for a store with
// a byte bound. Weights are counted in units of s.unit bytes so that they
// fit otter's uint32 per entry; with an entry bound too, each entry
// weighs at least 1/MaxEntries of the maximum, which makes the weight
// bound imply the entry bound.
func (s *Store) byteBound() (uint64, func(string, *item) uint32) {
	s.unit = 1
	if s.opts.MaxBytes > math.MaxInt32 {
		s.unit = (s.opts.MaxBytes + math.MaxInt32 - 1) / math.MaxInt32
	}
	unit := s.unit
	total := s.opts.MaxBytes / unit
	minWeight := int64(1)
	if s.opts.MaxEntries > 0 {
		minWeight = (total + int64(s.opts.MaxEntries) - 1) / int64(s.opts.MaxEntries)
	}
	return uint64(total), func(key string, it *item) uint32 {
		w := (entryBytes(key, it) + unit - 1) / unit
		w = min(max(w, minWeight), math.MaxUint32)
		return uint32(w)
	}
}

// entryBytes is what an entry counts towards max_bytes: the Go heap it
// takes, its key and value as the allocator rounds them, and
// EntryOverhead. An object counts as if its value were empty: its size
// is not known.
func entryBytes(key string, it *item) int64 {
	return allocSize(len(key)) + allocSize(it.size()) + EntryOverhead
}

// slack is how far, as a fraction 1/slack of a bound, the store lets
// writes run ahead of otter's policy before a write applies them itself.
const slack = 16

// wrote counts a write that stored it under key, a new entry if isNew,
// and brings the store back within its bounds at once when the writes
// otter has not applied yet take it more than 1/slack past them. (Otter
// applies writes to its policy, which evicts, from a buffer that a
// burst of writes fills faster than its maintenance drains it.)
func (s *Store) wrote(key string, it *item, isNew bool) {
	var held int64
	switch {
	case s.weigh != nil:
		held = s.held.Add(int64(s.weigh(key, it)))
	case isNew:
		held = s.held.Add(1)
	default:
		return
	}
	if held > s.limit.Load() {
		s.c.CleanUp()
	}
}

// onDeletion keeps the index and the counters in step with the cache.
// It runs under otter's bucket lock of the key.
func (s *Store) onDeletion(e otter.DeletionEvent[string, *item]) {
	if s.weigh != nil {
		s.held.Add(-int64(s.weigh(e.Key, e.Value)))
	}
	switch e.Cause {
	case otter.CauseReplacement:
		return // the key stays; the write has registered its value
	case otter.CauseOverflow:
		s.evictions.Add(1)
	case otter.CauseExpiration:
		s.expirations.Add(1)
	}
	if s.weigh == nil {
		s.held.Add(-1)
	}
	s.idx.remove(e.Key, e.Value.gen)
}

// Close empties the store and stops its background work. Every later
// call fails with ErrClosed, except Close, which does nothing.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.c.InvalidateAll()
	s.c.StopAllGoroutines()
	return nil
}

// Ping returns nil, or ErrClosed after Close.
func (s *Store) Ping(context.Context) error {
	if s.closed.Load() {
		return ErrClosed
	}
	return nil
}
