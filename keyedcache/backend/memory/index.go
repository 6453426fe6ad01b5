package memory

import (
	"hash/maphash"
	"runtime"
	"strings"
	"sync"
)

// sep is what the core joins the parts of a key with. The index files
// every key under each of its prefixes that ends in sep.
const sep = "::"

// index maps each "::"-ending prefix to the keys under it, so that a
// prefix delete visits only the keys it removes.
//
// It is sharded by key: a write locks one shard, and a prefix lookup
// visits every shard (a fixed cost, independent of the number of keys).
// Its lock is always taken after otter's bucket lock of the key, never
// before: the store registers a key from inside an otter Compute and
// unregisters it from OnAtomicDeletion, and it never calls the cache
// while it holds a shard.
//
// Every registration gets a generation, which the value stored in the
// cache carries. A removal names the generation it removes, so that the
// late removal of a value that a newer write has already replaced (otter
// reports an expired entry that a write replaces after the write has
// registered) leaves the key indexed.
type index struct {
	seed   maphash.Seed
	mask   uint64
	shards []indexShard
}

type indexShard struct {
	mu       sync.Mutex
	next     uint64            // the last generation given out
	gens     map[string]uint64 // indexed key → generation of its value
	children map[string]keySet // prefix → keys under it
	_        [64]byte          // keeps neighbouring shards' locks off one cache line
}

// keySet is a set of keys that allocates no map while it holds one key,
// as the sets of the deepest prefixes mostly do.
type keySet struct {
	one  string              // the only key, when many is nil
	many map[string]struct{} // the keys, once there have been two
}

func newIndex() *index {
	n := 16
	for n < 4*runtime.GOMAXPROCS(0) && n < 256 {
		n *= 2
	}
	ix := &index{seed: maphash.MakeSeed(), mask: uint64(n - 1), shards: make([]indexShard, n)}
	for i := range ix.shards {
		ix.shards[i].gens = map[string]uint64{}
		ix.shards[i].children = map[string]keySet{}
	}
	return ix
}

// indexed reports whether key has a prefix to be filed under.
func indexed(key string) bool {
	return strings.Contains(key, sep)
}

func (ix *index) shard(key string) *indexShard {
	return &ix.shards[maphash.String(ix.seed, key)&ix.mask]
}

// prefixes calls fn with every prefix of key that ends in "::", the
// whole key included if it ends so; overlapping separators ("a:::b")
// yield one prefix per position.
func prefixes(key string, fn func(p string)) {
	for i := strings.Index(key, sep); i >= 0; {
		fn(key[:i+len(sep)])
		j := strings.Index(key[i+1:], sep)
		if j < 0 {
			return
		}
		i += 1 + j
	}
}

// add registers a new value of key and returns its generation, or 0 for
// a key that has no prefix to be filed under.
func (ix *index) add(key string) uint64 {
	if !indexed(key) {
		return 0
	}
	sh := ix.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.next++
	if _, ok := sh.gens[key]; !ok {
		prefixes(key, func(p string) { sh.children[p] = sh.children[p].with(key) })
	}
	sh.gens[key] = sh.next
	return sh.next
}

// remove unregisters key if generation gen is still its current one.
func (ix *index) remove(key string, gen uint64) {
	if gen == 0 {
		return
	}
	sh := ix.shard(key)
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if sh.gens[key] != gen {
		return
	}
	delete(sh.gens, key)
	prefixes(key, func(p string) {
		if s, ok := sh.children[p].without(key); ok {
			sh.children[p] = s
		} else {
			delete(sh.children, p)
		}
	})
}

// under returns the keys filed under prefix, which must end in "::".
// It costs one map lookup per shard plus the keys it returns.
func (ix *index) under(prefix string) []string {
	var keys []string
	for i := range ix.shards {
		sh := &ix.shards[i]
		sh.mu.Lock()
		s, ok := sh.children[prefix]
		if ok {
			keys = s.appendTo(keys)
		}
		sh.mu.Unlock()
	}
	return keys
}

// size returns the number of keys indexed and of the shards' prefix
// entries (a prefix counts once in each shard that files a key under it).
func (ix *index) size() (keys, prefixes int) {
	for i := range ix.shards {
		sh := &ix.shards[i]
		sh.mu.Lock()
		keys += len(sh.gens)
		prefixes += len(sh.children)
		sh.mu.Unlock()
	}
	return keys, prefixes
}

// with returns s with key added; s may be the zero keySet.
func (s keySet) with(key string) keySet {
	switch {
	case s.many != nil:
		s.many[key] = struct{}{}
	case s.one == "":
		s.one = key
	case s.one != key:
		s.many = map[string]struct{}{s.one: {}, key: {}}
		s.one = ""
	}
	return s
}

// without returns s with key removed, and false once s is empty.
func (s keySet) without(key string) (keySet, bool) {
	if s.many != nil {
		delete(s.many, key)
		return s, len(s.many) > 0
	}
	if s.one == key {
		return keySet{}, false
	}
	return s, s.one != ""
}

func (s keySet) appendTo(keys []string) []string {
	if s.many == nil {
		if s.one != "" {
			keys = append(keys, s.one)
		}
		return keys
	}
	for k := range s.many {
		keys = append(keys, k)
	}
	return keys
}
