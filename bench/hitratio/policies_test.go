package hitratio

import (
	"github.com/dgraph-io/ristretto/v2"
	groupcachelru "github.com/golang/groupcache/lru"
	arc "github.com/hashicorp/golang-lru/arc/v2"
	lru "github.com/hashicorp/golang-lru/v2"
	"github.com/maypok86/otter/v2"
)

// policy is a bounded cache seen from a cache-aside caller.
type policy interface {
	get(key uint64) bool
	set(key uint64)
	close()
}

// contender names a policy and builds one holding at most size entries.
type contender struct {
	name string
	new  func(size int) policy
}

// contenders, in table order. TestHitRatio compares the first two (otter
// as memory:// runs it, and with inline maintenance) with LRU.
var contenders = []contender{
	{"otter (W-TinyLFU)", newOtter},
	{"otter, inline maintenance", newOtterInline},
	{"LRU (hashicorp)", newLRU},
	{"LRU (groupcache)", newGroupcacheLRU},
	{"2Q (hashicorp)", newTwoQueue},
	{"ARC (hashicorp)", newARC},
	{"ristretto", newRistretto},
}

// otterPolicy keeps otter's real behaviour: writes reach the eviction
// policy asynchronously, in small batches, so the cache may briefly hold
// more than MaximumSize entries. maxSeen records by how much.
type otterPolicy struct {
	c       *otter.Cache[uint64, uint64]
	n       int
	maxSeen int
}

func newOtter(size int) policy {
	return &otterPolicy{c: otter.Must(&otter.Options[uint64, uint64]{MaximumSize: size})}
}

// newOtterInline is a diagnostic, not a configuration we ship: otter with
// an Executor that runs its maintenance on the calling goroutine, so
// pending writes are applied at once and the cache never holds much more
// than MaximumSize. The gap between the two otter columns is what the
// asynchronous overshoot is worth.
func newOtterInline(size int) policy {
	return &otterPolicy{c: otter.Must(&otter.Options[uint64, uint64]{
		MaximumSize: size,
		Executor:    func(fn func()) { fn() },
	})}
}

func (p *otterPolicy) get(k uint64) bool {
	_, ok := p.c.GetIfPresent(k)
	return ok
}

func (p *otterPolicy) set(k uint64) {
	p.c.Set(k, k)
	if p.n++; p.n%1024 == 0 {
		p.maxSeen = max(p.maxSeen, p.c.EstimatedSize())
	}
}

func (p *otterPolicy) close() { p.c.StopAllGoroutines() }

type lruPolicy struct{ c *lru.Cache[uint64, uint64] }

func newLRU(size int) policy {
	c, err := lru.New[uint64, uint64](size)
	if err != nil {
		panic(err)
	}
	return lruPolicy{c}
}

func (p lruPolicy) get(k uint64) bool { _, ok := p.c.Get(k); return ok }
func (p lruPolicy) set(k uint64)      { p.c.Add(k, k) }
func (p lruPolicy) close()            {}

type groupcacheLRUPolicy struct{ c *groupcachelru.Cache }

func newGroupcacheLRU(size int) policy { return groupcacheLRUPolicy{groupcachelru.New(size)} }

func (p groupcacheLRUPolicy) get(k uint64) bool { _, ok := p.c.Get(k); return ok }
func (p groupcacheLRUPolicy) set(k uint64)      { p.c.Add(k, k) }
func (p groupcacheLRUPolicy) close()            {}

type twoQueuePolicy struct {
	c *lru.TwoQueueCache[uint64, uint64]
}

func newTwoQueue(size int) policy {
	c, err := lru.New2Q[uint64, uint64](size)
	if err != nil {
		panic(err)
	}
	return twoQueuePolicy{c}
}

func (p twoQueuePolicy) get(k uint64) bool { _, ok := p.c.Get(k); return ok }
func (p twoQueuePolicy) set(k uint64)      { p.c.Add(k, k) }
func (p twoQueuePolicy) close()            {}

type arcPolicy struct{ c *arc.ARCCache[uint64, uint64] }

func newARC(size int) policy {
	c, err := arc.NewARC[uint64, uint64](size)
	if err != nil {
		panic(err)
	}
	return arcPolicy{c}
}

func (p arcPolicy) get(k uint64) bool { _, ok := p.c.Get(k); return ok }
func (p arcPolicy) set(k uint64)      { p.c.Add(k, k) }
func (p arcPolicy) close()            {}

// ristrettoPolicy follows ristretto's own sizing advice (10 counters per
// entry), counts entries rather than bytes (cost 1, internal cost
// ignored), and waits for each Set to be applied, so that a key just set
// is not reported as a miss merely because its write is still buffered.
type ristrettoPolicy struct {
	c *ristretto.Cache[uint64, uint64]
}

func newRistretto(size int) policy {
	c, err := ristretto.NewCache(&ristretto.Config[uint64, uint64]{
		NumCounters:        10 * int64(size),
		MaxCost:            int64(size),
		BufferItems:        64,
		IgnoreInternalCost: true,
	})
	if err != nil {
		panic(err)
	}
	return ristrettoPolicy{c}
}

func (p ristrettoPolicy) get(k uint64) bool { _, ok := p.c.Get(k); return ok }
func (p ristrettoPolicy) set(k uint64)      { p.c.Set(k, k, 1); p.c.Wait() }
func (p ristrettoPolicy) close()            { p.c.Close() }
