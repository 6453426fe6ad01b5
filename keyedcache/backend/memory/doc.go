// Package memory is keyedcache's embedded backend, registered under the
// URL scheme memory:// — nothing to install, nothing to run.
//
// A Store keeps entries in process memory in an otter cache
// (github.com/maypok86/otter/v2). Eviction is per entry by W-TinyLFU:
// when the store is full, an incoming entry competes with the entry the
// policy would drop, by how often each key has been asked for lately,
// so a burst of one-off keys does not flush the hot ones. Two bounds
// apply: max_entries (default 10000, or none when max_bytes alone is
// given) and max_bytes (when set; an entry counts its key and its value
// as the allocator rounds them up, and the heap that holds it, see
// [EntryOverhead], so that max_bytes bounds the heap the store takes).
// New entries reach the policy through otter's write buffer; a write
// that finds the store more than 1/16 past a bound has otter apply the
// buffer and evict at once, so a burst of writes takes the store at most
// that far past it, plus an entry per goroutine writing at that moment.
// Each entry carries its own time to live and expires exactly: a read
// after the deadline misses even before the entry is reclaimed, and
// reclaimed it is, so memory stays flat under churn. Every key is also kept in a
// sorted index (B-trees, one per shard of keys), so that prefix deletes
// cost the keys they delete and a page of keys in order from a cursor
// (ScanKeysAfter, the staff page's key browser) costs the page, not the
// keys the store holds. The index costs a B-tree insert when a key is
// first written and a delete when its entry goes; writes over a live
// entry and reads do not touch it.
//
// Values are copied in and out, as on every other backend. A store
// opened with by_reference=true additionally lets the core keep Go
// values as they are through the [backend.ObjectStore] methods, skipping
// the codec: a value read back is then the very value stored, shared by
// every reader, and a change made to it by anyone is visible to all of
// them. Use it only for values nobody mutates after caching them.
package memory
