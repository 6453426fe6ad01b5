package groupcache

import (
	"encoding/binary"
	"math/rand/v2"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// Generations make groupcache, which can neither delete nor expire,
// forget. Every key a peer asks groupcache for carries a stamp: a hash
// of the generations of the key itself, of every prefix of it that ends
// before a "::", and of the whole namespace. Set, Delete and the other
// writes of a key change the key's generation; DeletePrefix changes the
// generation of the prefix; Clear the namespace's. A changed stamp is a
// new groupcache key, which no peer has cached, so the next read fetches
// the current value from the key's owner, and the old copies are never
// read again (groupcache's LRU drops them in time).
//
// Generations live in every peer, in fixed tables of slots indexed by a
// hash of the key or prefix: memory stays bounded, and two names in one
// slot only make each other's copies refetch. A write changes a slot by
// XORing a fresh random token into it, and tells every peer to do the
// same. XOR commutes, so peers that received the same changes agree
// whatever the order, and every change changes the stamp in every peer
// that receives it; a peer that missed one (it was unreachable) has
// stamps no other peer has, so it reads fresh values, not other peers'
// old copies, except in rare interleavings bounded by the time bucket.
//
// The time bucket is the second part of the stamp: the current time in
// MaxStale-wide steps, offset per key so that keys do not all refresh at
// once. Everything groupcache returns was fetched from the owner within
// the current bucket, so no peer serves a value more than MaxStale older
// than the owner's, whatever bumps it missed (plus the clock skew between
// peers).

// slots is the size of each generation table.
const slots = 1 << 14

// Generation tables.
const (
	tableSpace byte = iota // the whole namespace (one slot)
	tableKey               // keys themselves
	tableTree              // prefixes: everything below "prefix::"
)

// gens are the generation tables of one namespace in one peer.
type gens struct {
	space atomic.Uint64
	key   [slots]atomic.Uint64
	tree  [slots]atomic.Uint64
}

// A bump changes one generation slot.
type bump struct {
	table byte
	slot  uint32
	token uint64
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func fnv(s string) uint64 {
	h := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		h = (h ^ uint64(s[i])) * fnvPrime
	}
	return h
}

func newToken() uint64 {
	for {
		if t := rand.Uint64(); t != 0 {
			return t
		}
	}
}

// keyBump is the change of key's own generation.
func keyBump(key string) bump {
	return bump{table: tableKey, slot: uint32(fnv(key) % slots), token: newToken()}
}

// prefixBump is the change that hides every key that starts with prefix
// from groupcache: the generation of prefix's last "::"-ending head, or
// of the namespace when it has none. (A head such as "a::b" covers all
// of "a::b::…", so a prefix "a::b::c" also refreshes "a::b::d": a
// refetch, never a wrong value.)
func prefixBump(prefix string) bump {
	i := strings.LastIndex(prefix, sep)
	if i < 0 {
		return bump{table: tableSpace, token: newToken()}
	}
	return bump{table: tableTree, slot: uint32(fnv(prefix[:i]) % slots), token: newToken()}
}

const sep = "::"

func (g *gens) slot(b bump) *atomic.Uint64 {
	switch b.table {
	case tableKey:
		return &g.key[b.slot%slots]
	case tableTree:
		return &g.tree[b.slot%slots]
	}
	return &g.space
}

// apply XORs b's token into its slot.
func (g *gens) apply(b bump) {
	s := g.slot(b)
	for {
		old := s.Load()
		if s.CompareAndSwap(old, old^b.token) {
			return
		}
	}
}

// stamp hashes the generations key depends on: the namespace's, those of
// every head of key that ends before a "::" (at every position, so that
// any prefix's head is among them), and key's own.
func (g *gens) stamp(key string) uint64 {
	acc := mix(0, g.space.Load())
	h := uint64(fnvOffset)
	for i := 0; i < len(key); i++ {
		if key[i] == ':' && i+1 < len(key) && key[i+1] == ':' {
			acc = mix(acc, g.tree[h%slots].Load())
		}
		h = (h ^ uint64(key[i])) * fnvPrime
	}
	return mix(acc, g.key[h%slots].Load())
}

// mix folds v into acc (a 64-bit multiply-xorshift step, so that order
// and repetition both count).
func mix(acc, v uint64) uint64 {
	acc ^= v + 0x9e3779b97f4a7c15 + acc<<6 + acc>>2
	acc *= 0xbf58476d1ce4e5b9
	return acc ^ acc>>31
}

// bucket returns the time bucket of key at now for buckets width wide,
// offset per key. width 0 means one bucket for ever.
func bucket(key string, now time.Time, width time.Duration) int64 {
	if width <= 0 {
		return 0
	}
	off := int64(fnv(key) % uint64(width))
	return (now.UnixNano() + off) / int64(width)
}

// groupKey is the groupcache key of key: bucket, stamp and key, the key
// escaped so that it survives groupcache's URLs (which turn a space into
// "+" and do not turn it back).
func groupKey(key string, bucket int64, stamp uint64) string {
	var b strings.Builder
	b.Grow(len(key) + 32)
	b.WriteString(strconv.FormatInt(bucket, 36))
	b.WriteByte('.')
	b.WriteString(strconv.FormatUint(stamp, 36))
	b.WriteByte('.')
	b.WriteString(url.PathEscape(key))
	return b.String()
}

// keyOf returns the key a groupKey carries.
func keyOf(gk string) (string, bool) {
	i := strings.IndexByte(gk, '.')
	if i < 0 {
		return "", false
	}
	j := strings.IndexByte(gk[i+1:], '.')
	if j < 0 {
		return "", false
	}
	k, err := url.PathUnescape(gk[i+1+j+1:])
	return k, err == nil
}

// The value groupcache keeps for a Get key: a kind byte, the deadline in
// Unix nanoseconds (0: none), then the value.
const (
	blobAbsent  byte = 0
	blobPresent byte = 1
	blobHeader       = 9
)

func makeBlob(found bool, value []byte, deadline int64) []byte {
	b := make([]byte, blobHeader+len(value))
	if found {
		b[0] = blobPresent
	}
	binary.LittleEndian.PutUint64(b[1:], uint64(deadline))
	copy(b[blobHeader:], value)
	return b
}

// readBlob returns the value in b (a slice of it), or found false for an
// absent, expired or malformed one.
func readBlob(b []byte, now time.Time) ([]byte, bool) {
	if len(b) < blobHeader || b[0] != blobPresent {
		return nil, false
	}
	if d := int64(binary.LittleEndian.Uint64(b[1:])); d != 0 && now.UnixNano() >= d {
		return nil, false
	}
	return b[blobHeader:len(b):len(b)], true
}
