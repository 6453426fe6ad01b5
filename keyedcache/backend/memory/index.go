package memory

import (
	"hash/maphash"
	"runtime"
	"strings"
	"sync"
	"unsafe"

	"github.com/google/btree"

	"keyedcache.dev/internal/keyheap"
)

// index keeps every key of the store in byte order, so that a prefix
// delete visits only the keys it removes and a listing from a cursor
// (the staff page) reads only the keys it lists.
//
// It is sharded by key: a write of a new key locks one shard, and a
// walk visits every shard (a seek per shard, a fixed cost independent of
// the number of keys, then the keys it returns). Each shard is a B-tree
// ordered by key. Its lock is always taken after otter's bucket lock of
// the key, never before: the store registers a key from inside an otter
// Compute and unregisters it from OnAtomicDeletion, and it never calls
// the cache while it holds a shard.
//
// Every registration gets a generation, which the value stored in the
// cache carries. A removal names the generation it removes, so that the
// late removal of a value that a newer write has already replaced (otter
// reports an expired entry that a write replaces after the write has
// registered) leaves the key indexed. A write over a live entry keeps
// its generation and does not touch the index at all.
type index struct {
	seed   maphash.Seed
	mask   uint64
	shards []indexShard
}

type indexShard struct {
	mu   sync.Mutex
	next uint32                   // the last generation given out
	keys *btree.BTreeG[indexItem] // the shard's keys, in byte order
	_    [64]byte                 // keeps neighbouring shards' locks off one cache line
}

// indexItem is a key and the generation of its current value, in 16
// bytes: the index pays it for every key, in B-tree nodes that are half
// to fully used. Generations are 32 bits and wrap around; a removal
// names the current generation of its key by mistake only if the shard
// has given out exactly 2³² generations since the one it names, while
// otter still holds on to a replaced value, which is not seen.
type indexItem struct {
	p   *byte  // the key's bytes
	n   uint32 // the key's length
	gen uint32
}

func entry(key string, gen uint32) indexItem {
	return indexItem{p: unsafe.StringData(key), n: uint32(len(key)), gen: gen}
}

func (it indexItem) key() string { return unsafe.String(it.p, it.n) }

func byKey(a, b indexItem) bool { return a.key() < b.key() }

// degree is the B-trees' minimum degree: nodes of 31 to 63 keys, so a
// shard of a million keys is four levels deep.
const degree = 32

func newIndex() *index {
	n := 16
	for n < 4*runtime.GOMAXPROCS(0) && n < 256 {
		n *= 2
	}
	ix := &index{seed: maphash.MakeSeed(), mask: uint64(n - 1), shards: make([]indexShard, n)}
	for i := range ix.shards {
		ix.shards[i].keys = btree.NewG(degree, byKey)
	}
	return ix
}

func (ix *index) shard(key string) *indexShard {
	return &ix.shards[maphash.String(ix.seed, key)&ix.mask]
}

// add registers a new value of key and returns its generation, never 0.
func (ix *index) add(key string) uint32 {
	sh := ix.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.next++; sh.next == 0 {
		sh.next++
	}
	sh.keys.ReplaceOrInsert(entry(key, sh.next))
	return sh.next
}

// remove unregisters key if generation gen is still its current one.
func (ix *index) remove(key string, gen uint32) {
	if gen == 0 {
		return
	}
	sh := ix.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if cur, ok := sh.keys.Get(entry(key, 0)); ok && cur.gen == gen {
		sh.keys.Delete(cur)
	}
}

// under returns the keys that start with prefix, in no particular order.
// It costs a seek per shard plus the keys it returns.
func (ix *index) under(prefix string) []string {
	var keys []string
	for i := range ix.shards {
		sh := &ix.shards[i]
		sh.mu.Lock()
		sh.keys.AscendGreaterOrEqual(entry(prefix, 0), func(it indexItem) bool {
			if !strings.HasPrefix(it.key(), prefix) {
				return false
			}
			keys = append(keys, it.key())
			return true
		})
		sh.mu.Unlock()
	}
	return keys
}

// size returns the number of keys indexed.
func (ix *index) size() int {
	n := 0
	for i := range ix.shards {
		sh := &ix.shards[i]
		sh.mu.Lock()
		n += sh.keys.Len()
		sh.mu.Unlock()
	}
	return n
}

// batch is how many keys a sorted walk reads from a shard at a time, at
// first: a page of the staff page (51 keys) spread over 16 shards takes
// one batch from each. A shard that runs out of its batch reads the next
// one twice as large, up to maxBatch, so that a long walk costs a seek
// per maxBatch keys, not per key.
const (
	batch    = 8
	maxBatch = 1024
)

// sorted calls fn with the keys that start with prefix and sort after
// after, in byte order, until fn returns false or ok() reports false.
// fn runs without any lock held, so it may call the store; a key written
// or removed while the walk runs may be listed or not.
func (ix *index) sorted(prefix, after string, ok func() bool, fn func(key string) bool) {
	from := max(prefix, after+"\x00")
	if after == "" {
		from = prefix
	}
	var cs []*cursor
	for i := range ix.shards {
		c := &cursor{sh: &ix.shards[i], n: batch}
		if c.fill(from, prefix) {
			cs = append(cs, c)
		}
	}
	h := keyheap.Init(cs)
	for h.Len() > 0 {
		if !ok() {
			return
		}
		c := h.Min()
		key := c.keys[0]
		c.keys = c.keys[1:]
		if len(c.keys) > 0 || (c.more && c.fill(key+"\x00", prefix)) {
			h.Fix()
		} else {
			h.Drop()
		}
		if !fn(key) {
			return
		}
	}
}

// cursor is a sorted walk's place in one shard: the keys it has read
// and not yet merged.
type cursor struct {
	sh   *indexShard
	keys []string
	n    int  // the size of the next batch
	more bool // the shard may hold keys after the last one read
}

// fill reads the next batch of keys under prefix from from on, and
// reports whether it read any.
func (c *cursor) fill(from, prefix string) bool {
	c.keys = c.keys[:0]
	c.sh.mu.Lock()
	c.sh.keys.AscendGreaterOrEqual(entry(from, 0), func(it indexItem) bool {
		if !strings.HasPrefix(it.key(), prefix) {
			return false
		}
		c.keys = append(c.keys, it.key())
		return len(c.keys) < c.n
	})
	c.sh.mu.Unlock()
	c.more = len(c.keys) == c.n
	c.n = min(2*c.n, maxBatch)
	return len(c.keys) > 0
}

// Head returns the cursor's next key, for keyheap.
func (c *cursor) Head() string { return c.keys[0] }
