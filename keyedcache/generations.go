package keyedcache

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"errors"
	mrand "math/rand/v2"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"keyedcache.dev/keyedcache/backend"
)

// Namespace generations give delete-with-children to backends that
// cannot delete by prefix (memcached, for one).
//
// Every prefix of a key at a "::" boundary that has children — the
// parents of a key, not the key itself — has a generation token stored
// in the backend, drawn at random when the first entry beneath it is
// written. An entry is stored under its own key, its stored form
// preceded by a stamp: a hash of the tokens of its parents as they were
// when it was written. A read fetches the parents' tokens together with
// the entry (one multi-get) and serves the entry only if its stamp is
// the hash of the tokens it read: a missing token, or one replaced
// since, makes it a miss. Deleting key with children replaces key's
// token, which hides every entry beneath key at once, in every process,
// and deletes key's own entry.
//
// Tokens are random, never counters, and a missing one is drawn anew:
// if memcached evicts a token, the next write under it draws a new one,
// so an entry stamped with the old one can never match again. For the
// same reason a write stamped with tokens read before a DeleteChildren
// stays hidden whenever it lands.
//
// Tokens exist only for prefixes that have children (or were deleted
// with children), and never expire: a token that expired while entries
// beneath it still lived would cost those entries, and memcached's LRU
// reclaims the tokens nobody reads any more (eviction is safe, above). A
// key with no "::" has no token at all, and its stamp is constant.
//
// A write needs the current tokens of the key's parents. A process
// keeps the tokens it last read (stampCache): a write stamps with them
// and reads the tokens again in the same round trip; if they changed in
// between (another process deleted with children, or a token was
// evicted), the entry it wrote is hidden — stamped with tokens that no
// longer match — and it writes again with the tokens it just read. So a
// write is one round trip once this process has read or written under
// the same parents, and a write that follows a miss reuses the tokens
// the miss read.

// tokenKey is where the token of a prefix is stored.
func tokenKey(prefix string) string {
	return fitFlat([]byte("%gen" + Sep + prefix))
}

// parentTokenKeys returns the token keys of key's prefixes at "::"
// boundaries, shortest first; nil for a key without one.
func parentTokenKeys(key string) []string {
	n := strings.Count(key, Sep)
	if n == 0 {
		return nil
	}
	out := make([]string, 0, n)
	for i := 0; ; {
		j := strings.Index(key[i:], Sep)
		if j < 0 {
			return out
		}
		out = append(out, tokenKeys.of(key[:i+j]))
		i += j + len(Sep)
	}
}

// tokenKeys remembers the token keys of the prefixes seen lately, so
// that an operation does not build them again; it forgets everything
// when it grows past stampCacheMax.
var tokenKeys tokenKeyMemo

type tokenKeyMemo struct {
	m sync.Map // prefix → token key
	n atomic.Int64
}

func (tm *tokenKeyMemo) of(prefix string) string {
	if tk, ok := tm.m.Load(prefix); ok {
		return tk.(string)
	}
	tk := tokenKey(prefix)
	if _, loaded := tm.m.LoadOrStore(strings.Clone(prefix), tk); !loaded && tm.n.Add(1) > stampCacheMax {
		tm.m.Clear()
		tm.n.Store(0)
	}
	return tk
}

// The stamp before every stored form under generations: a marker byte,
// then the 64-bit FNV-1a hash of the parents' tokens (each followed by a
// zero byte), big-endian.
const (
	stampMarker = 0xa7
	stampLen    = 1 + 8
)

// stampOf hashes tokens; ok is false when one is missing.
func stampOf(tokens [][]byte) (sum uint64, ok bool) {
	const offset, prime = 14695981039346656037, 1099511628211
	sum = offset
	for _, t := range tokens {
		if t == nil {
			return 0, false
		}
		for _, b := range t {
			sum ^= uint64(b)
			sum *= prime
		}
		sum *= prime // the zero byte after each token
	}
	return sum, true
}

// stamped returns data preceded by the stamp of sum.
func stamped(sum uint64, data []byte) []byte {
	out := make([]byte, stampLen+len(data))
	out[0] = stampMarker
	binary.BigEndian.PutUint64(out[1:stampLen], sum)
	copy(out[stampLen:], data)
	return out
}

// unstamp returns the stored form inside v, if v is stamped with the
// hash of tokens (every one present).
func unstamp(v []byte, tokens [][]byte) ([]byte, bool) {
	if len(v) < stampLen || v[0] != stampMarker {
		return nil, false
	}
	sum, ok := stampOf(tokens)
	if !ok || binary.BigEndian.Uint64(v[1:stampLen]) != sum {
		return nil, false
	}
	return v[stampLen:], true
}

// stampOfStored returns the stamp of a stored value.
func stampOfStored(v []byte) (uint64, bool) {
	if len(v) < stampLen || v[0] != stampMarker {
		return 0, false
	}
	return binary.BigEndian.Uint64(v[1:stampLen]), true
}

// stampCache holds the tokens this process last read, by token key. A
// stale token in it costs a second round trip of a write, never a wrong
// hit (see above). It forgets everything when it grows past
// stampCacheMax.
type stampCache struct {
	m sync.Map // token key → []byte
	n atomic.Int64
}

const stampCacheMax = 1 << 16

// lookup fills out with the cached tokens of tks and reports whether
// every one was there.
func (sc *stampCache) lookup(tks []string, out [][]byte) bool {
	for i, tk := range tks {
		v, ok := sc.m.Load(tk)
		if !ok {
			return false
		}
		out[i] = v.([]byte)
	}
	return true
}

// learn records tokens as read; a missing one is forgotten.
func (sc *stampCache) learn(tks []string, toks [][]byte) {
	for i, tk := range tks {
		if toks[i] == nil {
			sc.m.Delete(tk)
			continue
		}
		if old, ok := sc.m.Load(tk); ok && bytes.Equal(old.([]byte), toks[i]) {
			continue
		}
		if _, loaded := sc.m.Swap(tk, toks[i]); !loaded && sc.n.Add(1) > stampCacheMax {
			sc.m.Clear()
			sc.n.Store(0)
		}
	}
}

// withBackend is implemented by backends that send a read of a few
// extra keys in the same round trip as an operation on one key
// (memcached). got[i] holds the value of extra[i], nil when missing.
// GetWith and DeleteWith read them before the operation; SetWith may
// read them before or after the write (a write stamped with tokens that
// changed in between is hidden either way).
type withBackend interface {
	GetWith(ctx context.Context, key string, extra []string) (value []byte, found bool, got [][]byte, err error)
	SetWith(ctx context.Context, key string, value []byte, ttl time.Duration, extra []string) (got [][]byte, err error)
	DeleteWith(ctx context.Context, key string, extra []string) (old []byte, found bool, got [][]byte, err error)
}

// readTokens reads tks (one round trip where the backend allows).
func (c *Cache) readTokens(ctx context.Context, tks []string) ([][]byte, error) {
	got := make([][]byte, len(tks))
	if len(tks) == 0 {
		return got, nil
	}
	m, err := c.backendGetMany(ctx, tks)
	if err != nil {
		return nil, err
	}
	for i, tk := range tks {
		got[i] = m[tk]
	}
	return got, nil
}

// getWith reads key and the token keys tks together.
func (c *Cache) getWith(ctx context.Context, key string, tks []string) ([]byte, bool, [][]byte, error) {
	if wb, ok := c.b.(withBackend); ok {
		return wb.GetWith(ctx, key, tks)
	}
	if len(tks) == 0 {
		v, found, err := c.b.Get(ctx, key)
		return v, found, nil, err
	}
	m, err := c.backendGetMany(ctx, append(tks[:len(tks):len(tks)], key))
	if err != nil {
		return nil, false, nil, err
	}
	got := make([][]byte, len(tks))
	for i, tk := range tks {
		got[i] = m[tk]
	}
	v, found := m[key]
	return v, found, got, nil
}

// readEntry returns the stored form under the built key: under
// generations the entry and its parents' tokens are read together, and
// an entry stamped with other tokens is a miss.
func (c *Cache) readEntry(ctx context.Context, key string) ([]byte, bool, error) {
	if !c.gens {
		return c.b.Get(ctx, key)
	}
	data, found, _, _, err := c.readStamped(ctx, key)
	return data, found, err
}

// readStamped is readEntry under generations, returning the stored
// value as it is (stamp included) and the tokens read as well.
func (c *Cache) readStamped(ctx context.Context, key string) (data []byte, found bool, raw []byte, toks [][]byte, err error) {
	tks := parentTokenKeys(key)
	raw, present, toks, err := c.getWith(ctx, key, tks)
	if err != nil {
		return nil, false, nil, nil, err
	}
	c.stamps.learn(tks, toks)
	if !present {
		return nil, false, nil, toks, nil
	}
	data, live := unstamp(raw, toks)
	if !live {
		return nil, false, raw, toks, nil
	}
	return data, true, raw, toks, nil
}

// currentTokens returns the tokens of tks, drawing the missing ones.
func (c *Cache) currentTokens(ctx context.Context, tks []string) ([][]byte, error) {
	toks, err := c.readTokens(ctx, tks)
	if err != nil {
		return nil, err
	}
	if err := c.drawMissing(ctx, tks, toks); err != nil {
		return nil, err
	}
	c.stamps.learn(tks, toks)
	return toks, nil
}

// drawMissing draws a token for every nil one of toks.
func (c *Cache) drawMissing(ctx context.Context, tks []string, toks [][]byte) error {
	for i, tk := range tks {
		if toks[i] != nil {
			continue
		}
		fresh := newToken()
		added, err := c.b.Add(ctx, tk, fresh, backend.NoExpiry)
		if err != nil {
			return err
		}
		if added {
			toks[i] = fresh
			continue
		}
		// Another writer drew one first: use theirs.
		tok, found, err := c.b.Get(ctx, tk)
		if err != nil {
			return err
		}
		if !found {
			return errTokenLost
		}
		toks[i] = tok
	}
	return nil
}

var errTokenLost = errors.New("keyedcache: a generation token vanished while being read")

// writeEntry stores data under the built key with a live ttl: under
// generations, stamped with the parents' tokens (see above).
func (c *Cache) writeEntry(ctx context.Context, key string, data []byte, ttl time.Duration) error {
	if !c.gens {
		return c.b.Set(ctx, key, data, ttl)
	}
	tks := parentTokenKeys(key)
	if wb, ok := c.b.(withBackend); ok {
		toks := make([][]byte, len(tks))
		if c.stamps.lookup(tks, toks) {
			sum, _ := stampOf(toks)
			got, err := wb.SetWith(ctx, key, stamped(sum, data), ttl, tks)
			if err != nil {
				return err
			}
			if now, ok := stampOf(got); ok && now == sum {
				return nil
			}
			// The tokens changed: what was written is hidden. Write
			// again under the tokens just read.
			if err := c.drawMissing(ctx, tks, got); err != nil {
				return err
			}
			c.stamps.learn(tks, got)
			sum, _ = stampOf(got)
			return c.b.Set(ctx, key, stamped(sum, data), ttl)
		}
	}
	toks, err := c.currentTokens(ctx, tks)
	if err != nil {
		return err
	}
	sum, _ := stampOf(toks)
	return c.b.Set(ctx, key, stamped(sum, data), ttl)
}

// addEntry adds data under the built key: under generations it reads
// the entry with its parents' tokens, adds where there is none, and
// replaces (compare-and-swap) one that is hidden.
func (c *Cache) addEntry(ctx context.Context, key string, data []byte, ttl time.Duration) (bool, error) {
	if !c.gens {
		return c.b.Add(ctx, key, data, ttl)
	}
	_, live, raw, toks, err := c.readStamped(ctx, key)
	if err != nil || live {
		return false, err
	}
	tks := parentTokenKeys(key)
	if err := c.drawMissing(ctx, tks, toks); err != nil {
		return false, err
	}
	sum, _ := stampOf(toks)
	value := stamped(sum, data)
	if raw == nil {
		return c.b.Add(ctx, key, value, ttl)
	}
	// A hidden entry holds the key: replace it only if it is still the
	// one read, so that one of many concurrent adds wins.
	if c.cas != nil {
		return c.cas.CompareAndSwap(ctx, key, raw, value, ttl)
	}
	if _, err := c.b.Delete(ctx, key); err != nil {
		return false, err
	}
	return c.b.Add(ctx, key, value, ttl)
}

// deleteEntry deletes the built key and reports whether it held a live
// entry.
func (c *Cache) deleteEntry(ctx context.Context, key string) (bool, error) {
	if !c.gens {
		return c.b.Delete(ctx, key)
	}
	tks := parentTokenKeys(key)
	if wb, ok := c.b.(withBackend); ok {
		old, found, toks, err := wb.DeleteWith(ctx, key, tks)
		if err != nil {
			return false, err
		}
		c.stamps.learn(tks, toks)
		_, live := unstamp(old, toks)
		return found && live, nil
	}
	_, live, _, _, err := c.readStamped(ctx, key)
	if err != nil {
		return false, err
	}
	existed, err := c.b.Delete(ctx, key)
	return live && existed, err
}

// casEntry replaces the live entry under the built key by data (or
// deletes it, when !live) if it holds old; see CompareAndSwap.
func (c *Cache) casEntry(ctx context.Context, key string, old, data []byte, ttl time.Duration, live bool) (bool, error) {
	if !c.gens && c.cas != nil && live {
		return c.cas.CompareAndSwap(ctx, key, old, data, ttl)
	}
	var cur, raw []byte
	var found bool
	var err error
	if c.gens {
		cur, found, raw, _, err = c.readStamped(ctx, key)
	} else {
		cur, found, err = c.b.Get(ctx, key)
		raw = cur
	}
	if err != nil || !found || !bytes.Equal(cur, old) {
		return false, err
	}
	value := data
	if c.gens {
		sum, _ := stampOfStored(raw)
		value = stamped(sum, data)
	}
	switch {
	case c.cas != nil && live:
		return c.cas.CompareAndSwap(ctx, key, raw, value, ttl)
	case live:
		return true, c.b.Set(ctx, key, value, ttl)
	}
	_, err = c.b.Delete(ctx, key)
	return true, err
}

// newGeneration hides everything beneath key by replacing its token,
// and deletes key's own entry.
func (c *Cache) newGeneration(ctx context.Context, key string) error {
	tk, tok := tokenKey(key), newToken()
	if err := c.b.Set(ctx, tk, tok, backend.NoExpiry); err != nil {
		return err
	}
	c.stamps.learn([]string{tk}, [][]byte{tok})
	_, err := c.b.Delete(ctx, key)
	return err
}

func newToken() []byte {
	var b [12]byte
	rand.Read(b[:])
	return []byte(hex.EncodeToString(b[:]))
}

// getManyStamped reads built keys under generations: the entries and
// the tokens of all their parents in one multi-get.
func (c *Cache) getManyStamped(ctx context.Context, keys []string) (map[string][]byte, error) {
	parents := make([][]string, len(keys))
	all := make([]string, 0, 2*len(keys))
	seen := make(map[string]bool, len(keys))
	for i, k := range keys {
		parents[i] = parentTokenKeys(k)
		for _, tk := range parents[i] {
			if !seen[tk] {
				seen[tk] = true
				all = append(all, tk)
			}
		}
	}
	for _, k := range keys {
		if !seen[k] {
			seen[k] = true
			all = append(all, k)
		}
	}
	got, err := c.backendGetMany(ctx, all)
	if err != nil {
		return nil, err
	}
	out := make(map[string][]byte, len(keys))
	for i, k := range keys {
		toks := make([][]byte, len(parents[i]))
		for j, tk := range parents[i] {
			toks[j] = got[tk]
		}
		c.stamps.learn(parents[i], toks)
		if raw, ok := got[k]; ok {
			if data, live := unstamp(raw, toks); live {
				out[k] = data
			}
		}
	}
	return out, nil
}

// incrWithBackend is implemented by backends that increment a number
// after a header, checking the header against extra keys read in the
// same round trip (memcached; see its IncrWith).
type incrWithBackend interface {
	IncrWith(ctx context.Context, key string, skip int, delta int64, extra []string, check func(head []byte, got [][]byte) bool) (int64, error)
}

// incrStamped is Incr under generations. The backend's own increment
// would not keep the stamp before the number: on a backend that can
// increment after a header it is that; otherwise a compare-and-swap
// loop (read-then-write on a backend without one), keeping the entry's
// time to live where the backend reports it.
func (c *Cache) incrStamped(ctx context.Context, key string, delta int64) (int64, error) {
	if ib, ok := c.b.(incrWithBackend); ok {
		tks := parentTokenKeys(key)
		return ib.IncrWith(ctx, key, stampLen, delta, tks, func(head []byte, got [][]byte) bool {
			c.stamps.learn(tks, got)
			_, live := unstamp(head, got)
			return live
		})
	}
	for attempt := 0; ; attempt++ {
		data, found, raw, _, err := c.readStamped(ctx, key)
		if err != nil {
			return 0, err
		}
		if !found {
			return 0, backend.ErrNotFound
		}
		n, err := addToStored(data, delta)
		if err != nil {
			return 0, err
		}
		ttl, _ := ttlFor(c.timeout)
		if c.ttlR != nil {
			left, found, err := c.ttlR.TTL(ctx, key)
			if err != nil {
				return 0, err
			}
			if !found {
				return 0, backend.ErrNotFound
			}
			ttl = left
		}
		sum, _ := stampOfStored(raw)
		next := stamped(sum, strconv.AppendInt(nil, n, 10))
		if c.cas == nil {
			return n, c.b.Set(ctx, key, next, ttl)
		}
		ok, err := c.cas.CompareAndSwap(ctx, key, raw, next, ttl)
		if err != nil || ok {
			return n, err
		}
		if attempt >= maxStampedIncrAttempts {
			return 0, errors.New("keyedcache: incr: too much contention")
		}
		// Another increment won: back off a little, more each time, so
		// that many contenders take turns instead of colliding again.
		backoff := time.Duration(mrand.Int64N(int64(min(attempt+1, 64)) * int64(20*time.Microsecond)))
		select {
		case <-time.After(backoff):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// maxStampedIncrAttempts bounds the compare-and-swap loop of
// incrStamped.
const maxStampedIncrAttempts = 1000
