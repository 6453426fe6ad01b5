package keyedcache

import (
	"sync/atomic"
	"unsafe"
)

// Stats is a snapshot of one cache's counters since it was opened.
type Stats struct {
	Alias        string  `json:"alias"`
	Backend      string  `json:"backend"` // the URL, any password removed
	Enabled      bool    `json:"enabled"`
	Calls        uint64  `json:"calls"`  // reads: Hits + Misses
	Hits         uint64  `json:"hits"`   // reads that found a value
	Misses       uint64  `json:"misses"` // reads that did not, for any reason
	Sets         uint64  `json:"sets"`
	Deletes      uint64  `json:"deletes"`
	Errors       uint64  `json:"errors"`        // backend failures and undecodable values
	DecodeErrors uint64  `json:"decode_errors"` // values that could not be decoded, or not as the type asked for (also in Errors)
	HitRate      float64 `json:"hit_rate"`      // Hits / Calls, 0 before the first read

	// Hits answered by a first-level tier, without a backend round trip
	// (both are also in Hits; Hits - RequestHits - ProcessHits reached
	// the backend).
	RequestHits    uint64 `json:"request_hits"`    // from the request tier (see WithRequestTier)
	ProcessHits    uint64 `json:"process_hits"`    // from the process tier (see NearCache)
	ProcessFlushes uint64 `json:"process_flushes"` // times the process tier was emptied for fear of a lost invalidation

	// Invalidations that could not reach the backend (see Delete):
	// PendingInvalidations are queued now (a gauge; while it is not 0
	// this process serves nothing under their keys),
	// ReplayedInvalidations reached the backend later, and
	// OverflowedInvalidations were folded into a clear of the alias
	// because the queue was full (MaxPendingInvalidations).
	PendingInvalidations    uint64 `json:"pending_invalidations"`
	ReplayedInvalidations   uint64 `json:"replayed_invalidations"`
	OverflowedInvalidations uint64 `json:"overflowed_invalidations"`
}

// Stats returns a snapshot of the cache's counters.
func (c *Cache) Stats() Stats {
	st := Stats{Alias: c.alias, Backend: c.url, Enabled: c.enabled.Load()}
	for i := range c.stats.shards {
		s := &c.stats.shards[i]
		st.Hits += s.hits.Load()
		st.Misses += s.misses.Load()
		st.Sets += s.sets.Load()
		st.Deletes += s.deletes.Load()
		st.Errors += s.errors.Load()
		st.DecodeErrors += s.decodeErrors.Load()
		st.RequestHits += s.requestHits.Load()
		st.ProcessHits += s.processHits.Load()
	}
	if c.near != nil {
		st.ProcessFlushes = c.near.flushCount()
	}
	st.PendingInvalidations = uint64(c.pend.n.Load())
	st.ReplayedInvalidations = c.pend.replayed.Load()
	st.OverflowedInvalidations = c.pend.overflowed.Load()
	st.Errors += st.DecodeErrors
	st.Calls = st.Hits + st.Misses
	if st.Calls > 0 {
		st.HitRate = float64(st.Hits) / float64(st.Calls)
	}
	return st
}

// counters are striped over cache lines so that cores counting at once
// do not contend on one line. A goroutine keeps to one stripe, chosen by
// the address of its stack: goroutines running side by side have
// different stacks, and a stripe that stays with one core is never
// passed between cores. (Only the address is used, never the memory.)
// The array is allocated on its own, so no other field of Cache shares
// its lines.
type counters struct {
	shards [16]counterShard
}

type counterShard struct {
	hits, misses, sets, deletes, errors, decodeErrors atomic.Uint64
	requestHits, processHits                          atomic.Uint64 // 64 bytes in all
}

func (c *counters) shard() *counterShard {
	var here byte
	sp := uintptr(unsafe.Pointer(&here))
	sp ^= sp >> 17 // stacks are at least 2 KiB apart; mix the higher bits down
	return &c.shards[(sp>>11)&uintptr(len(c.shards)-1)]
}
