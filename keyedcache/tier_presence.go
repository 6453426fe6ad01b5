package keyedcache

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"keyedcache.dev/keyedcache/backend/memory"
)

// presenceEvery is how often a writer looks for the presence marker of
// the process tiers that read the invalidation log, and half the time a
// new tier waits before it answers (tier_log.go). It is part of the
// protocol between processes, like the layout of the log: every process
// must use the same value.
const presenceEvery = time.Second

// NearWarmUp is how long a new process tier on a backend without a
// tracking server (every shared backend but Redis) answers nothing and
// keeps nothing, its reads going to the backend: the time every writer
// needs to have noticed it. A tier waits as long again after its presence
// marker went missing (see NearCache).
const NearWarmUp = 2 * presenceEvery

// A publisher writes a cache's changes into the invalidation log of the
// process tiers (tier_log.go) — every Cache on a shared backend has one,
// whether it has a tier itself or not — but only while some tier reads
// the log: it writes after a change when its latest look at the presence
// marker found one, or when it has no recent look to go by.
//
// Why no change can slip past a tier. Say a tier put its marker in place
// by time P (its Add returned), keeps it there (it checks the token at
// every check, so a marker that went missing is noticed; see syncLog), and
// fills an entry from a read that started at R ≥ P + 2W, W being
// presenceEvery. A writer changes that entry afterwards: its write lands
// after R, and the writer decides whether to log it at D, after the write
// returned, so D > R. It decides on a look at the marker that began at
// L ≥ D − W > P + W (it never uses an older one: with none that recent,
// it looks again before deciding, and logs the change if that look
// fails). The look read the backend after L > P, while the marker was
// there: it saw it, and the change is logged. A slow write is no
// exception — the decision follows its return, however late — and a
// write issued before the tier existed but landing after its fill is
// decided on a look made after it landed.
//
// Elapsed time is measured on this process's monotonic clock and, in case
// the machine was suspended (which stops that clock), on its wall clock
// as well: the larger of the two counts, so a clock that jumps only makes
// a writer look, or write, sooner. The 2W margin over the W the argument
// needs absorbs the looks' own round trips and any drift between the
// processes' clocks.
type publisher struct {
	log    *nearLog
	every  time.Duration
	always bool // this process reads the log itself: write always

	mu         sync.Mutex // one look at a time on a write's path
	seen       atomic.Pointer[sighting]
	refreshing atomic.Bool // a look in the background is under way
}

// A sighting is the outcome of one look at the marker.
type sighting struct {
	start  time.Time // when the look began, with its monotonic reading
	marked bool
}

// newPublisher returns c's publisher, or nil when no other process can
// share c's entries (an in-process store, a by-reference alias), when
// the backend cannot keep the log at all, or when the process tiers on it
// have its server report changes instead (a backend.Tracker): on Redis,
// writers do nothing, not even look for a marker.
func newPublisher(c *Cache, every time.Duration) *publisher {
	if _, tracked := trackerOf(c); tracked || c.objects != nil || logCapable(c) != nil {
		return nil
	}
	if _, local := c.b.(*memory.Store); local {
		return nil
	}
	return &publisher{log: newNearLog(c), every: every, always: c.near != nil && c.near.log != nil}
}

// age is how long ago s's look began, by the larger of the two clocks.
func age(s *sighting, now time.Time) time.Duration {
	mono := now.Sub(s.start)
	wall := now.Round(0).Sub(s.start.Round(0))
	if wall < 0 {
		wall = -wall
	}
	return max(mono, wall)
}

// wanted reports whether a change that returned just now must be logged.
// It costs a clock reading and an atomic load, and starts a look in the
// background when the latest one is half its useful age; a round trip on
// the caller's path only when there is no look recent enough to use.
func (p *publisher) wanted(ctx context.Context) bool {
	if p.always {
		return true
	}
	now := time.Now()
	if s := p.seen.Load(); s != nil {
		if a := age(s, now); a < p.every {
			if a >= p.every/2 && p.refreshing.CompareAndSwap(false, true) {
				go p.refresh()
			}
			return s.marked
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if s := p.seen.Load(); s != nil && age(s, time.Now()) < p.every {
		return s.marked // another goroutine looked meanwhile
	}
	s, err := p.look(ctx)
	if err != nil {
		return true // in doubt: write the log
	}
	return s.marked
}

// refresh looks in the background.
func (p *publisher) refresh() {
	defer p.refreshing.Store(false)
	ctx, cancel := context.WithTimeout(context.Background(), p.every)
	defer cancel()
	p.look(ctx)
}

// look reads the marker and keeps what it saw, unless a look that began
// later is kept already.
func (p *publisher) look(ctx context.Context) (*sighting, error) {
	s := &sighting{start: time.Now()}
	_, found, err := p.log.c.b.Get(ctx, p.log.hereKey)
	if err != nil {
		p.log.c.fail("near_presence", "", err)
		return nil, err
	}
	s.marked = found
	for {
		old := p.seen.Load()
		if old != nil && old.start.After(s.start) {
			return s, nil
		}
		if p.seen.CompareAndSwap(old, s) {
			return s, nil
		}
	}
}

// publishing reports whether changes that reached the backend (ok) are
// to be logged for the process tiers of other processes.
func (c *Cache) publishing(ctx context.Context, ok bool) bool {
	return ok && c.pub != nil && c.pub.wanted(ctx)
}

// publish logs ops; a failure is counted and logged.
func (c *Cache) publish(ctx context.Context, ops []nearOp) {
	if err := c.pub.log.publish(ctx, ops); err != nil {
		c.fail("near_publish", ops[0].key, err)
	}
}
