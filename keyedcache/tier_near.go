package keyedcache

import (
	"context"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/memory"
)

// NearCache configures an alias's process tier: a size-bounded copy, in
// this process's memory, of entries read from a shared backend, dropped
// when another process changes them. A hit in it costs a map lookup and a
// decode instead of a round trip.
//
// # Staleness bound
//
// A set, delete, delete-with-children or Clear made through any process's
// Cache on the alias's backend and key prefix — whatever that process's
// own configuration: a worker, a command-line tool, the staff page — is
// seen by every other process's tier within Staleness of the moment it
// returned; the writing process sees it at once. Before it answers from
// memory, a tier makes sure, at most once per Staleness (on a read, timed
// on this process's monotonic clock), that it has heard of every change
// made until then; when it cannot (the backend is unreachable), it drops
// everything and answers nothing until it can. How it hears of changes
// depends on the backend.
//
// # On Redis: the server tells
//
// On a backend that implements backend.Tracker (redis:// and the other
// schemes of the Redis backend), reads that fill the tier go through
// connections on which the server tracks the keys read (RESP3 CLIENT
// TRACKING), and the server itself pushes an invalidation when one of them
// changes: a write through keyedcache or around it (redis-cli, another
// program), an expiry, an eviction, a FLUSHDB. A push usually arrives
// within a round trip of the write; the Staleness check is a PING on
// those connections, which proves that every push sent before it has been
// applied, so a connection that died silently hides nothing for longer
// than Staleness. A connection that closes, for whatever reason, empties
// the tier. Each entry is kept for at most its remaining TTL in Redis (read
// with the value, in the same round trip) and at most TTL. Writers do
// nothing at all for the tiers. Redis 6 or later is needed; against a
// server that does not allow tracking the tier stays empty (reads go to
// the server, and the failed checks are counted and logged).
//
// # Elsewhere: an invalidation log, written only when someone reads it
//
// On the other shared backends (memcached://, file://, sqlite://,
// postgres://, groupcache://) processes tell each other through a log kept
// in the backend under the alias's prefix: a counter and a ring of
// LogSlots entries ("%near::seq", "%near::0" …). A writer, after changing
// the backend, adds the number of its changes to the counter (an atomic
// increment) and writes each change — a key, a key with its children, or
// everything — into the slot of its sequence number. A tier remembers the
// position it has applied; at a check it reads the counter (one round
// trip) and, if it moved, the slots in between (one more), and drops what
// they name. It drops everything instead when the counter moved by more
// than the ring holds, went backwards or vanished, when a slot is missing
// or holds another sequence number, and when a check fails. The counter
// starts at a random value, so one evicted and created again cannot pass
// for the old one.
//
// Writing the log costs a writer two more operations per write (the
// increment and the slot), which a writer pays only while some process
// has a tier to read it. Tiers
// advertise themselves with a presence marker ("%near::here", a random
// token with a TTL of a few minutes that they renew), and every Cache on
// such a backend, whether it has a tier or not, looks for the marker at
// most once a second (presenceEvery), in the background, never on a
// write's path once it has looked. So a writer where no tier exists pays
// nothing per write; see tier_presence.go for how a writer decides, and
// why no change can slip past a tier:
//
//   - A writer decides after its write returned, from a look at the marker
//     that began at most presenceEvery earlier (measured by both its
//     monotonic and its wall clock); with no such look it looks first, and
//     when the look fails it writes the log anyway.
//   - A new tier answers nothing, and keeps nothing, until NearWarmUp
//     (2×presenceEvery) after its marker was in place: by then every
//     writer's decision rests on a look that began after the marker was
//     there, and saw it.
//   - A tier reads the marker with the counter at every check. A marker that
//     is gone or holds another token (it expired, was evicted or cleared,
//     and writers may have seen it missing) makes the tier drop everything
//     and wait NearWarmUp again after putting its own back.
//
// A process whose alias has a tier writes the log after every write,
// without looking. No clock is shared between processes. Values that merely
// expire in these backends, or are written around keyedcache, stay in the
// tier for at most TTL. A write that failed (a timeout) but still reached
// the backend is logged only when the delete of its key that the writer
// queued (pending.go) is replayed. The backend must increment atomically
// or compare-and-swap, and touch or compare-and-swap, as all of these do.
//
// A read that misses fills the tier only if no invalidation that may
// concern its key was applied in the process between the moment the read
// started and the fill, so a value read before a change can never be kept
// after the change was applied. A write drops the writer's own copy
// rather than filling it: two goroutines writing one key could otherwise
// leave the older value in the tier; the next read fills it.
//
// memory:// and dummy:// refuse the near_* parameters: their entries are
// in the process already, or nowhere.
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

// setUpTiers gives c its process tier, if configured, and its publisher
// (tier_presence.go).
func (c *Cache) setUpTiers(s settings) error {
	every := s.presenceEvery
	if every <= 0 {
		every = presenceEvery
	}
	if s.near.MaxEntries != 0 {
		nt, err := newNearTier(c, s.near, every)
		if err != nil {
			return err
		}
		c.near = nt
	}
	c.pub = newPublisher(c, every)
	return nil
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

// stripes is the number of groups of keys whose invalidations a fill
// tells apart (see fill).
const stripes = 64

// nearTier is a cache's process tier.
type nearTier struct {
	c         *Cache
	store     *memory.Store
	staleness time.Duration
	ttl       time.Duration
	base      time.Time // for the monotonic clock

	// Exactly one of log and tracked is set.
	log     *nearLog              // the invalidation log (tier_log.go)
	tracked backend.TrackedReader // the server tracks what we read (tier_tracked.go)

	// mu orders fills against invalidations. Applying invalidations holds
	// it for writing, counts them in seq, and records the seq of the last
	// one that may concern each stripe of keys (or all of them); a fill
	// holds it for reading and compares with the seq its read started at.
	mu        sync.RWMutex
	seq       atomic.Uint64
	allAt     uint64          // under mu
	stripeAt  [stripes]uint64 // under mu
	stripeSum maphash.Seed

	checkMu sync.Mutex // one check at a time
	due     atomic.Int64
	ok      atomic.Bool // the last check succeeded and the tier may answer

	// Log mode, under checkMu (see tier_log.go).
	pos      int64  // the log position applied
	havePos  bool   // pos is set
	token    []byte // the presence marker this tier put or adopted; nil: none yet
	armAt    int64  // monotonic time from which the tier may answer
	touchAt  int64  // monotonic time at which the marker's TTL is renewed
	every    time.Duration
	markerTT time.Duration

	flushes atomic.Uint64
}

func newNearTier(c *Cache, n NearCache, every time.Duration) (*nearTier, error) {
	if n.MaxEntries < 0 {
		return nil, &backend.ConfigError{Param: "near_entries", Reason: "want a whole number ≥ 0"}
	}
	if n.Staleness < 0 {
		return nil, &backend.ConfigError{Param: "near_staleness", Value: n.Staleness.String(), Reason: "want a positive duration"}
	}
	if n.TTL < 0 {
		return nil, &backend.ConfigError{Param: "near_ttl", Value: n.TTL.String(), Reason: "want a positive duration"}
	}
	if c.objects != nil {
		return nil, &backend.ConfigError{Param: "near_entries", Reason: "a by-reference alias is in process memory already; it has no use for a process tier"}
	}
	tracker, tracking := trackerOf(c)
	if !tracking {
		if err := logCapable(c); err != nil {
			return nil, err
		}
	}
	store, err := memory.New(memory.Options{MaxEntries: n.MaxEntries})
	if err != nil {
		return nil, err
	}
	nt := &nearTier{
		c: c, store: store, staleness: n.Staleness, ttl: n.TTL,
		base: time.Now(), stripeSum: maphash.MakeSeed(), every: every,
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
	nt.markerTT = max(markerLooks*every, 4*nt.staleness)
	if tracking {
		if nt.tracked, err = tracker.Track(nt.invalidated); err != nil {
			store.Close()
			return nil, &backend.ConfigError{Param: "near_entries", Reason: err.Error()}
		}
	} else {
		nt.log = newNearLog(c)
	}
	return nt, nil
}

// trackerOf returns c's backend as a Tracker if the process tiers on it
// use one: when it is one and its keys are the keys (no namespace
// generations), since invalidations name backend keys.
func trackerOf(c *Cache) (backend.Tracker, bool) {
	t, ok := c.b.(backend.Tracker)
	return t, ok && !c.gens
}

func (nt *nearTier) now() int64 { return int64(time.Since(nt.base)) }

// get answers a read from the tier: hit with the stored form, or a miss
// with the tag a fill must present; usable is false when the tier must
// be bypassed (a check failed or is under way in another goroutine, or
// the tier is not armed yet).
func (nt *nearTier) get(ctx context.Context, key string) (raw []byte, hit bool, tag uint64, usable bool) {
	if now := nt.now(); now >= nt.due.Load() {
		if !nt.check(ctx, now) {
			return nil, false, 0, false
		}
	} else if !nt.ok.Load() {
		return nil, false, 0, false
	}
	tag = nt.seq.Load()
	if _, raw, found := nt.store.GetObject(key); found && raw != nil {
		return raw, true, tag, true
	}
	return nil, false, tag, true
}

func (nt *nearTier) stripe(key string) int {
	return int(maphash.String(nt.stripeSum, key) % stripes)
}

// fill keeps data as key's stored form, for at most ttl (0: unknown), if
// nothing that may concern key was invalidated since tag was taken.
func (nt *nearTier) fill(key string, data []byte, tag uint64, ttl time.Duration) {
	nt.mu.RLock()
	defer nt.mu.RUnlock()
	if !nt.ok.Load() || nt.allAt > tag || nt.stripeAt[nt.stripe(key)] > tag {
		return
	}
	if ttl <= 0 || ttl > nt.ttl {
		ttl = nt.ttl
	}
	nt.store.Set(context.Background(), key, data, ttl)
}

// check brings the tier up to date with the other processes' changes. It
// reports whether the tier may answer: false if the check failed, another
// goroutine is checking, or the tier is not armed yet.
func (nt *nearTier) check(ctx context.Context, now int64) bool {
	if !nt.checkMu.TryLock() {
		return false
	}
	defer nt.checkMu.Unlock()
	if nt.due.Load() > now { // checked meanwhile
		return nt.ok.Load()
	}
	var err error
	if nt.tracked != nil {
		err = nt.tracked.Sync(ctx)
	} else {
		err = nt.syncLog(ctx)
	}
	if err != nil {
		if ctx.Err() != nil {
			return false // the caller gave up; no doubt about the tier
		}
		if nt.ok.Swap(false) {
			nt.flush()
		}
		nt.c.fail("near_check", "", err)
		nt.due.Store(now + int64(nt.staleness))
		return false
	}
	due := now + int64(nt.staleness)
	armed := nt.tracked != nil || nt.now() >= nt.armAt
	if !armed {
		due = min(due, nt.armAt)
	}
	nt.ok.Store(armed)
	nt.due.Store(due)
	return armed
}

// flush drops everything, counted.
func (nt *nearTier) flush() {
	nt.flushes.Add(1)
	nt.apply(nil, true)
}

// apply drops what ops name, or everything, and stops the fills that
// started before and may concern them.
func (nt *nearTier) apply(ops []nearOp, all bool) {
	if !all && len(ops) == 0 {
		return
	}
	ctx := context.Background()
	nt.mu.Lock()
	defer nt.mu.Unlock()
	seq := nt.seq.Add(1)
	if all {
		nt.allAt = seq
		nt.store.Clear(ctx)
		return
	}
	for _, op := range ops {
		switch op.kind {
		case opKey:
			nt.stripeAt[nt.stripe(op.key)] = seq
			nt.store.Delete(ctx, op.key)
		case opTree:
			nt.allAt = seq
			nt.store.DeletePrefix(ctx, op.key+Sep)
			nt.store.Delete(ctx, op.key)
		case opAll:
			nt.allAt = seq
			nt.store.Clear(ctx)
			return
		}
	}
}

func (nt *nearTier) close() {
	if nt.tracked != nil {
		nt.tracked.Close()
	}
	nt.store.Close()
}

// flushCount returns how often the tier was emptied for fear of a lost
// invalidation.
func (nt *nearTier) flushCount() uint64 { return nt.flushes.Load() }
