package keyedcache

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/memory"
)

// NearCache configures an alias's process tier: a size-bounded copy, in
// this process's memory, of entries read from a remote backend, kept
// consistent with the other processes by an invalidation log in the
// backend itself (see below). A hit in it costs a map lookup and a decode
// instead of a round trip.
//
// # Staleness bound
//
// A process checks the log at most once per Staleness, on a read, before
// it answers from the tier. So a set, delete, delete-with-children or
// Clear made through any process's Cache is seen by every other process
// within Staleness of the moment it returned (the writer's own process
// sees it at once). A value that merely expires in the backend, or is
// written past the Cache (straight through the backend, or by a program
// that does not use this log), stays in the tier for up to TTL.
//
// # Mechanism
//
// The log is a counter and a ring of LogSlots entries stored in the
// backend under the alias's prefix ("%near::seq", "%near::0" …). A
// writer, after changing the backend, adds the number of its changes to
// the counter (an atomic increment) and writes each change — a key, a
// key with its children, or everything — into the slot of its sequence
// number, tagged with that number. A reader remembers the counter value
// it has applied; at a check it reads the counter (one round trip) and,
// if it moved, the slots in between (one more), and drops what they name.
//
// Lost invalidations are detected, and the tier is flushed whenever there
// is doubt: when the counter moved by more than the ring holds, went
// backwards or vanished (evicted, or the alias cleared), when a slot is
// missing or holds another sequence number (overwritten, evicted, or
// not written yet by a writer still between its two steps), and when a
// check fails (the backend is down: the tier then answers nothing until a
// check succeeds). The counter starts at a random value, so one that is
// evicted and created again cannot pass for the old one. No clock is
// shared between processes: the interval between checks is measured by
// each process on its own monotonic clock.
//
// A read that misses fills the tier only if no invalidation was applied
// in the process between the moment the read started and the fill, so a
// value read before a change can never be kept after the change was
// applied. A write drops the writer's own copy rather than filling it:
// two goroutines writing one key could otherwise leave the older value in
// the tier; the next read fills it.
//
// Every write through the alias costs two more round trips (the increment
// and the slot); the process tier is meant for aliases read far more than
// written. The backend must increment atomically or compare-and-swap, as
// redis://, memcached://, file:// and the SQL backends do. memory:// and
// dummy:// refuse the near_* parameters: their entries are in the process
// already, or nowhere.
type NearCache struct {
	// MaxEntries bounds the entries kept (W-TinyLFU eviction, as the
	// memory backend); 0 means no process tier.
	MaxEntries int
	// Staleness is the longest a change made by another process can go
	// unseen; default DefaultNearStaleness.
	Staleness time.Duration
	// TTL is the longest an entry stays in the tier; default
	// DefaultNearTTL, and never more than the alias's timeout.
	TTL time.Duration
}

// Defaults of NearCache.
const (
	DefaultNearStaleness = time.Second
	DefaultNearTTL       = time.Minute
	// LogSlots is the number of changes the invalidation log holds. A
	// process that falls further behind flushes its tier.
	LogSlots = 256
)

// WithNearCache gives the cache a process tier (the near_entries,
// near_staleness and near_ttl parameters); see NearCache.
func WithNearCache(n NearCache) Option { return func(s *settings) { s.near = n } }

var nearParams = []backend.Param{
	{Name: "near_entries", Doc: "entries of the process tier (near cache) in front of the backend; default 0: none"},
	{Name: "near_staleness", Doc: "longest a change by another process goes unseen by the process tier; default 1s"},
	{Name: "near_ttl", Doc: "longest an entry stays in the process tier; default 1m, at most the timeout"},
}

func (s *settings) nearFromParams(cfg backend.Config) error {
	n, err := cfg.Int("near_entries", 0, 0)
	if err != nil {
		return err
	}
	s.near.MaxEntries = int(n)
	if s.near.Staleness, err = cfg.Duration("near_staleness", 0); err != nil {
		return err
	}
	s.near.TTL, err = cfg.Duration("near_ttl", 0)
	return err
}

type nearOpKind byte

const (
	opKey  nearOpKind = 'k' // one key
	opTree nearOpKind = 'c' // a key and its children
	opAll  nearOpKind = 'a' // everything
)

type nearOp struct {
	kind nearOpKind
	key  string
}

// nearTier is a cache's process tier.
type nearTier struct {
	c         *Cache
	store     *memory.Store
	staleness time.Duration
	ttl       time.Duration
	seqKey    string
	slotHead  string
	base      time.Time // for the monotonic clock

	// mu orders fills against invalidations: a fill holds it for reading
	// and checks epoch; applying invalidations holds it for writing and
	// bumps epoch.
	mu    sync.RWMutex
	epoch atomic.Uint64

	checkMu sync.Mutex // one check at a time
	pos     int64      // the log position applied; under checkMu
	havePos bool       // under checkMu
	due     atomic.Int64
	ok      atomic.Bool // the last check succeeded

	flushes atomic.Uint64
}

func newNearTier(c *Cache, n NearCache) (*nearTier, error) {
	if n.MaxEntries < 0 {
		return nil, &backend.ConfigError{Param: "near_entries", Reason: "want a whole number ≥ 0"}
	}
	if n.Staleness < 0 {
		return nil, &backend.ConfigError{Param: "near_staleness", Value: n.Staleness.String(), Reason: "want a positive duration"}
	}
	if n.TTL < 0 {
		return nil, &backend.ConfigError{Param: "near_ttl", Value: n.TTL.String(), Reason: "want a positive duration"}
	}
	if _, ok := c.b.(backend.Incrementer); !ok && c.cas == nil {
		return nil, &backend.ConfigError{Param: "near_entries", Reason: "the process tier needs a backend that increments atomically or compares-and-swaps; this one does neither"}
	}
	if c.objects != nil {
		return nil, &backend.ConfigError{Param: "near_entries", Reason: "a by-reference alias is in process memory already; it has no use for a process tier"}
	}
	store, err := memory.New(memory.Options{MaxEntries: n.MaxEntries})
	if err != nil {
		return nil, err
	}
	nt := &nearTier{
		c: c, store: store, staleness: n.Staleness, ttl: n.TTL,
		seqKey: c.prefix + "%near::seq", slotHead: c.prefix + "%near::",
		base: time.Now(),
	}
	if nt.staleness == 0 {
		nt.staleness = DefaultNearStaleness
	}
	if nt.ttl == 0 {
		nt.ttl = DefaultNearTTL
	}
	if c.timeout != Forever && nt.ttl > c.timeout {
		nt.ttl = c.timeout
	}
	return nt, nil
}

func (nt *nearTier) now() int64 { return int64(time.Since(nt.base)) }

// get answers a read from the tier: hit with the stored form, or a miss
// with the tag a fill must present; usable is false when the tier must
// be bypassed (a check failed or is under way in another goroutine).
func (nt *nearTier) get(ctx context.Context, key string) (raw []byte, hit bool, tag uint64, usable bool) {
	if now := nt.now(); now >= nt.due.Load() {
		if !nt.check(ctx, now) {
			return nil, false, 0, false
		}
	} else if !nt.ok.Load() {
		return nil, false, 0, false
	}
	tag = nt.epoch.Load()
	if _, raw, found := nt.store.GetObject(key); found && raw != nil {
		return raw, true, tag, true
	}
	return nil, false, tag, true
}

// fill keeps data as key's stored form if nothing was invalidated since
// tag was taken.
func (nt *nearTier) fill(key string, data []byte, tag uint64) {
	nt.mu.RLock()
	defer nt.mu.RUnlock()
	if nt.epoch.Load() == tag && nt.ok.Load() {
		nt.store.Set(context.Background(), key, data, nt.ttl)
	}
}

// check reads the log and applies it. It reports whether the tier may
// answer: false if the check failed or another goroutine is checking.
func (nt *nearTier) check(ctx context.Context, now int64) bool {
	if !nt.checkMu.TryLock() {
		return false
	}
	defer nt.checkMu.Unlock()
	if nt.due.Load() > now { // checked meanwhile
		return nt.ok.Load()
	}
	if err := nt.sync(ctx); err != nil {
		if ctx.Err() != nil {
			return false // the caller gave up; no doubt about the tier
		}
		if nt.ok.Swap(false) {
			nt.flushes.Add(1)
			nt.apply(nil, true)
		}
		nt.c.fail("near_check", "", err)
		nt.due.Store(now + int64(nt.staleness))
		return false
	}
	nt.ok.Store(true)
	nt.due.Store(now + int64(nt.staleness))
	return true
}

var errLogLost = errors.New("keyedcache: the process tier's invalidation log vanished while being read")

// sync brings the tier up to the log; called with checkMu held.
func (nt *nearTier) sync(ctx context.Context) error {
	n, found, err := nt.readSeq(ctx)
	if err != nil {
		return err
	}
	if !found {
		// The counter is gone (evicted, or the alias cleared): whatever it
		// held is lost. Start a new one, read it back, then flush.
		if _, err := nt.c.b.Add(ctx, nt.seqKey, seqStart(), backend.NoExpiry); err != nil {
			return err
		}
		if n, found, err = nt.readSeq(ctx); err != nil {
			return err
		} else if !found {
			return errLogLost
		}
		nt.advance(n, nil, true)
		return nil
	}
	switch {
	case !nt.havePos || n < nt.pos || n-nt.pos > LogSlots:
		nt.advance(n, nil, true)
		return nil
	case n == nt.pos:
		return nil
	}
	keys := make([]string, 0, n-nt.pos)
	for seq := nt.pos + 1; seq <= n; seq++ {
		keys = append(keys, nt.slotKey(seq))
	}
	slots, err := nt.getMany(ctx, keys)
	if err != nil {
		return err
	}
	ops := make([]nearOp, 0, len(keys))
	for i, k := range keys {
		seq, op, ok := parseSlot(slots[k])
		if !ok || seq != nt.pos+1+int64(i) {
			nt.advance(n, nil, true) // lost, overwritten or not yet written: in doubt
			return nil
		}
		ops = append(ops, op)
	}
	nt.advance(n, ops, false)
	return nil
}

// advance applies ops (or flushes) and records n as the position applied;
// called with checkMu held, after n was read.
func (nt *nearTier) advance(n int64, ops []nearOp, flush bool) {
	if flush && nt.havePos {
		nt.flushes.Add(1)
	}
	nt.apply(ops, flush)
	nt.pos, nt.havePos = n, true
}

// apply drops what ops name, or everything, and stops fills that started
// before.
func (nt *nearTier) apply(ops []nearOp, all bool) {
	ctx := context.Background()
	nt.mu.Lock()
	defer nt.mu.Unlock()
	nt.epoch.Add(1)
	if all {
		nt.store.Clear(ctx)
		return
	}
	for _, op := range ops {
		switch op.kind {
		case opKey:
			nt.store.Delete(ctx, op.key)
		case opTree:
			nt.store.DeletePrefix(ctx, op.key+Sep)
			nt.store.Delete(ctx, op.key)
		case opAll:
			nt.store.Clear(ctx)
			return
		}
	}
}

// changed applies this process's own changes at once and, if publish is
// set, logs them for the others. Called after the backend was changed.
func (nt *nearTier) changed(ctx context.Context, publish bool, ops ...nearOp) {
	if len(ops) == 0 {
		return
	}
	nt.apply(ops, false)
	if !publish {
		return
	}
	if len(ops) > LogSlots {
		ops = []nearOp{{kind: opAll}}
	}
	if err := nt.publish(ctx, ops); err != nil {
		nt.c.fail("near_publish", ops[0].key, err)
	}
}

func (nt *nearTier) publish(ctx context.Context, ops []nearOp) error {
	delta := int64(len(ops))
	n, err := nt.incr(ctx, delta)
	if errors.Is(err, backend.ErrNotFound) {
		if _, err = nt.c.b.Add(ctx, nt.seqKey, seqStart(), backend.NoExpiry); err == nil {
			n, err = nt.incr(ctx, delta)
		}
	} else if errors.Is(err, backend.ErrNotNumeric) {
		if err = nt.c.b.Set(ctx, nt.seqKey, seqStart(), backend.NoExpiry); err == nil {
			n, err = nt.incr(ctx, delta)
		}
	}
	if err != nil {
		return err
	}
	first := n - delta + 1
	if len(ops) == 1 {
		return nt.c.b.Set(ctx, nt.slotKey(first), appendSlot(nil, first, ops[0]), backend.NoExpiry)
	}
	items := make(map[string][]byte, len(ops))
	for i, op := range ops {
		seq := first + int64(i)
		items[nt.slotKey(seq)] = appendSlot(nil, seq, op)
	}
	if nt.c.multi != nil {
		return nt.c.multi.SetMany(ctx, items, backend.NoExpiry)
	}
	for k, v := range items {
		if err := nt.c.b.Set(ctx, k, v, backend.NoExpiry); err != nil {
			return err
		}
	}
	return nil
}

func (nt *nearTier) incr(ctx context.Context, delta int64) (int64, error) {
	if in, ok := nt.c.b.(backend.Incrementer); ok {
		return in.Incr(ctx, nt.seqKey, delta)
	}
	return nt.c.incrFallback(ctx, nt.seqKey, delta)
}

func (nt *nearTier) readSeq(ctx context.Context) (n int64, found bool, err error) {
	for attempt := 0; ; attempt++ {
		data, found, err := nt.c.b.Get(ctx, nt.seqKey)
		if err != nil || !found {
			return 0, false, err
		}
		if n, ok := parseInt(data); ok {
			return n, true, nil
		}
		if attempt > 0 {
			return 0, false, errLogLost
		}
		// Not a counter: replace it, as if it had vanished.
		if err := nt.c.b.Set(ctx, nt.seqKey, seqStart(), backend.NoExpiry); err != nil {
			return 0, false, err
		}
	}
}

func (nt *nearTier) getMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	return nt.c.backendGetMany(ctx, keys)
}

func (nt *nearTier) close() { nt.store.Close() }

// stats returns the tier's flush count.
func (nt *nearTier) flushCount() uint64 { return nt.flushes.Load() }
