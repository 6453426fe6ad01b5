// Package hitratio replays the same deterministic Zipf-distributed key
// streams through the eviction policy behind keyedcache's memory://
// backend (otter v2, W-TinyLFU) and through its usual rivals — LRU
// (hashicorp/golang-lru and groupcache/lru), 2Q and ARC (hashicorp), and
// ristretto (TinyLFU admission over a sampled LFU) — at several cache
// sizes, in the cache-aside pattern: get, and on a miss, set.
//
// Hit ratio depends on the policy, not on the machine, so TestHitRatio is
// a test: it logs the table and asserts only the robust claim that
// W-TinyLFU is never worse than LRU by more than one percentage point.
// It takes about a minute; -short skips it.
package hitratio
