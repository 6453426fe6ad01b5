package function

import (
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"keyedcache.dev/keyedcache"
)

// Stats are one cached function's figures in this process since it was
// first wrapped. Calls == Hits + Misses + Fills.
type Stats struct {
	Name         string        `json:"name"`
	Calls        uint64        `json:"calls"`
	Hits         uint64        `json:"hits"`         // answered from the cache, stale values included
	Misses       uint64        `json:"misses"`       // not answered from the cache at once
	Fills        uint64        `json:"fills"`        // answered through a backend that fills (groupcache), which alone knows hit from miss
	Computations uint64        `json:"computations"` // times the function ran in this process
	ComputeTime  time.Duration `json:"compute_time"` // their total duration, in nanoseconds
	LeaseWaits   uint64        `json:"lease_waits"`  // misses that waited for another process's computation
	StaleServed  uint64        `json:"stale_served"` // hits on a stale value (WithStale)
	Refreshes    uint64        `json:"refreshes"`    // background refreshes started here
	Discarded    uint64        `json:"discarded"`    // results not stored: the key was deleted or taken over meanwhile
	Errors       uint64        `json:"errors"`       // cache failures, answered by computing
	FuncErrors   uint64        `json:"func_errors"`  // errors the function returned
	Panics       uint64        `json:"panics"`       // panics of the function

	// Unclaimed counts computations run without a claim that the backend
	// took: it refused three reads in a row or three claims (down), or a
	// delete of the key waits for it (keyedcache.ErrInvalidationPending),
	// or it failed for longer than a slow backend is waited out (see the
	// package documentation). The result is returned and, unless a claim
	// of the caller's turns out to have landed after all, not stored.
	Unclaimed uint64 `json:"unclaimed"`
}

// counters are the live figures behind Stats, shared by every wrapper of
// one name.
type counters struct {
	hits                                                               striped // on every hit, from every core at once
	misses, fills, computations, computeNanos, leaseWaits, staleServed atomic.Uint64
	refreshes, discarded, errors, unclaimed, funcErrors, panics        atomic.Uint64
	// epoch changes when every result of the function is deleted in this
	// process, so that calls after it do not join a computation begun
	// before it.
	epoch atomic.Uint64
}

func (c *counters) snapshot(name string) Stats {
	s := Stats{
		Name:         name,
		Hits:         c.hits.Load(),
		Misses:       c.misses.Load(),
		Fills:        c.fills.Load(),
		Computations: c.computations.Load(),
		ComputeTime:  time.Duration(c.computeNanos.Load()),
		LeaseWaits:   c.leaseWaits.Load(),
		StaleServed:  c.staleServed.Load(),
		Refreshes:    c.refreshes.Load(),
		Discarded:    c.discarded.Load(),
		Errors:       c.errors.Load(),
		Unclaimed:    c.unclaimed.Load(),
		FuncErrors:   c.funcErrors.Load(),
		Panics:       c.panics.Load(),
	}
	s.Calls = s.Hits + s.Misses + s.Fills
	return s
}

// registry holds the figures of every function wrapped in this process,
// by name, as expvar holds its variables: it is what the "functions"
// section of keyedcache's stats snapshot shows.
var registry struct {
	mu sync.Mutex
	m  map[string]*counters
}

func countersFor(name string) *counters {
	registry.mu.Lock()
	defer registry.mu.Unlock()
	if registry.m == nil {
		registry.m = make(map[string]*counters)
	}
	c := registry.m[name]
	if c == nil {
		c = new(counters)
		registry.m[name] = c
	}
	return c
}

// AllStats returns the figures of every function wrapped in this
// process, sorted by name. They are also the "functions" section of
// keyedcache's stats snapshot (and so of its expvar variable and the
// staff page).
func AllStats() []Stats {
	registry.mu.Lock()
	out := make([]Stats, 0, len(registry.m))
	for name, c := range registry.m {
		out = append(out, c.snapshot(name))
	}
	registry.mu.Unlock()
	slices.SortFunc(out, func(a, b Stats) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// StatsOf returns the figures of the function wrapped under name, and
// false if none was.
func StatsOf(name string) (Stats, bool) {
	registry.mu.Lock()
	c := registry.m[name]
	registry.mu.Unlock()
	if c == nil {
		return Stats{}, false
	}
	return c.snapshot(name), true
}

func init() {
	keyedcache.RegisterStatsSource("functions", func() any { return AllStats() })
}

// striped is a counter striped over cache lines, so that cores counting
// at once do not pass one line between them: hits are counted on every
// call. A goroutine keeps to one stripe, chosen by the address of its
// stack, as keyedcache's own counters do (only the address is used,
// never the memory).
type striped struct {
	s [8]struct {
		n atomic.Uint64
		_ [56]byte
	}
}

func (c *striped) Add(d uint64) {
	var here byte
	sp := uintptr(unsafe.Pointer(&here))
	sp ^= sp >> 17 // stacks are at least 2 KiB apart; mix the higher bits down
	c.s[(sp>>11)&uintptr(len(c.s)-1)].n.Add(d)
}

func (c *striped) Load() (n uint64) {
	for i := range c.s {
		n += c.s[i].n.Load()
	}
	return n
}
