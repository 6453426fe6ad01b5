package keyedcache

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"

	"keyedcache.dev/internal/keyheap"
	"keyedcache.dev/keyedcache/backend"
)

// This file is what a staff page needs to look inside an alias: its keys,
// a page of them at a time, and one entry without using it. None of it
// counts as a read in Stats: looking must not change what is measured.
//
// Keys here are "listed keys": a key as Key builds it, without the
// alias's key prefix and version (KeyPrefix), and without anything the
// core adds below it (a namespace generation's marker). Inspect and
// DeleteListed take a listed key and address exactly that entry, never
// rebuilding it, so a key another program wrote (and that Key would
// escape differently) can still be looked at and removed.

// ErrCannotList is matched by the error ScanKeys and ListKeys return when
// the backend cannot enumerate its keys (it has no backend.KeyLister). It
// matches backend.ErrNotSupported too.
var ErrCannotList = fmt.Errorf("keyedcache: the backend cannot list its keys: %w", backend.ErrNotSupported)

// tokenPrefix starts the backend key of every generation token.
const tokenPrefix = "%gen" + Sep

// listed maps a backend key to its listed key. It reports false for a
// key outside the alias and for a generation token. (unmapped is always
// false: under generations entries are stored under their own keys.)
func (c *Cache) listed(bkey string) (key string, ok, unmapped bool) {
	if !strings.HasPrefix(bkey, c.prefix) {
		return "", false, false
	}
	if strings.HasPrefix(bkey, tokenPrefix) { // only when c.prefix is ""
		return "", false, false
	}
	return bkey[len(c.prefix):], true, false
}

// ScanKeys calls fn with the listed key of every live entry of the alias
// whose listed key starts with prefix, in no particular order, until fn
// returns false. complete is false when the listing may miss keys: the
// backend said so (it samples or truncates).
//
// Without a backend.KeyLister it returns ErrCannotList. Keys written or
// deleted while it runs may be listed or not.
//
// Without generations fn is called while the backend lists, so whether fn
// may use the cache depends on the backend: collect and act afterwards.
// Under generations (backends without prefix delete), entries hidden by
// a delete with children stay in the backend until they expire or are
// overwritten; ScanKeys gathers the candidate keys first, then reads
// each with its parents' tokens (one round trip per key) and passes only
// live ones to fn.
func (c *Cache) ScanKeys(ctx context.Context, prefix string, fn func(key string) bool) (complete bool, err error) {
	kl, ok := c.b.(backend.KeyLister)
	if !ok {
		return false, ErrCannotList
	}
	_ = c.settle(ctx) // queued invalidations first (pending.go); a failure is the listing's to meet
	unmapped := false
	if !c.gens {
		complete, err = kl.ScanKeys(ctx, c.prefix+prefix, func(bkey string) bool {
			key, ok, _ := c.listed(bkey)
			if !ok {
				return true
			}
			return fn(key)
		})
		return complete, err
	}
	seen := map[string]struct{}{}
	complete, err = kl.ScanKeys(ctx, c.prefix+prefix, func(bkey string) bool {
		key, ok, lost := c.listed(bkey)
		unmapped = unmapped || lost
		if ok && strings.HasPrefix(key, prefix) {
			seen[key] = struct{}{}
		}
		return true
	})
	if err != nil {
		return false, err
	}
	for _, key := range slices.Sorted(maps.Keys(seen)) {
		live, err := c.liveUnderGenerations(ctx, key)
		if err != nil {
			return false, err
		}
		if live && !fn(key) {
			break
		}
	}
	return complete && !unmapped, nil
}

// liveUnderGenerations reports whether the listed key has a live entry
// under the current generation tokens.
func (c *Cache) liveUnderGenerations(ctx context.Context, key string) (bool, error) {
	_, found, err := c.readEntry(ctx, c.prefix+key)
	return found, err
}

// KeyPage is one page of an alias's keys, from ListKeys.
type KeyPage struct {
	// Keys are listed keys (see Inspect), sorted in byte order, at most
	// the limit asked for.
	Keys []string
	// More reports that keys follow the last one: pass that key as
	// after for the next page.
	More bool
	// Complete is false when the listing may miss keys (see ScanKeys).
	Complete bool
	// Seen is how many backend keys under the prefix the backend listed
	// to make the page — the cost of the page and, without generations,
	// the number of keys that match; -1 when the backend listed in order
	// and stopped at the end of the page.
	Seen int
}

// MaxPage is the largest page ListKeys returns.
const MaxPage = 10000

// ListKeys returns the first limit listed keys, in byte order, that start
// with prefix and sort after after ("" starts at the first key). limit is
// capped at MaxPage; below 1 it means 100. Pages are cut by key, not by
// offset, so a page stays correct while keys come and go: pass the last
// key of a page as after to read the next.
//
// On a backend that lists in order (backend.SortedKeyLister) a page costs the
// page. On others it costs one pass over the keys under the prefix — the
// backend's listing cost — while holding only limit+1 keys in memory: no
// sort of every key. Under namespace generations, each key on the page
// is also checked against the current tokens (see ScanKeys). Without a
// backend.KeyLister it returns ErrCannotList.
func (c *Cache) ListKeys(ctx context.Context, prefix, after string, limit int) (KeyPage, error) {
	if limit < 1 {
		limit = 100
	}
	limit = min(limit, MaxPage)
	kl, ok := c.b.(backend.KeyLister)
	if !ok {
		return KeyPage{}, ErrCannotList
	}
	_ = c.settle(ctx) // queued invalidations first (pending.go); a failure is the listing's to meet
	want := limit + 1 // one more tells whether another page follows
	page := KeyPage{Complete: true, Seen: -1}
	if sl, ok := c.b.(backend.SortedKeyLister); ok && !c.gens {
		complete, err := sl.ScanKeysAfter(ctx, c.prefix+prefix, c.prefix+after, func(bkey string) bool {
			if key, ok, _ := c.listed(bkey); ok && (after == "" || key > after) && strings.HasPrefix(key, prefix) {
				page.Keys = append(page.Keys, key)
			}
			return len(page.Keys) < want
		})
		if err != nil {
			return KeyPage{}, err
		}
		page.Complete = complete
	} else {
		first := true
		for {
			sel := keyheap.NewSmallest(want - len(page.Keys))
			seen, unmapped := 0, false
			complete, err := kl.ScanKeys(ctx, c.prefix+prefix, func(bkey string) bool {
				seen++
				key, ok, lost := c.listed(bkey)
				unmapped = unmapped || lost
				if ok && (after == "" || key > after) && strings.HasPrefix(key, prefix) {
					sel.Offer(key)
				}
				return true
			})
			if err != nil {
				return KeyPage{}, err
			}
			if first {
				page.Seen, first = seen, false
			}
			page.Complete = page.Complete && complete && !unmapped
			cands := sel.Sorted()
			if !c.gens {
				page.Keys = cands
				break
			}
			for _, key := range cands {
				live, err := c.liveUnderGenerations(ctx, key)
				if err != nil {
					return KeyPage{}, err
				}
				if live {
					page.Keys = append(page.Keys, key)
				}
			}
			// Dead entries took places on this page: look further, after
			// the last candidate, unless there was nothing more to see.
			if len(page.Keys) >= want || len(cands) < sel.N() {
				break
			}
			after = cands[len(cands)-1]
		}
	}
	if len(page.Keys) > limit {
		page.Keys, page.More = page.Keys[:limit], true
	}
	return page, nil
}

// Entry is what Inspect finds under one key.
type Entry struct {
	// Key is the listed key.
	Key string
	// Size is the number of bytes the backend stores (0 for a value kept
	// by reference).
	Size int
	// ByReference reports a value the memory backend keeps as the Go
	// value itself (by_reference=true); Value is then that value.
	ByReference bool
	// Value is the stored value decoded with the alias's codec into an
	// any: maps as map[string]any, integers as int64, and so on. It is
	// nil when DecodeErr is set. (Gob cannot decode a concrete type into
	// an any, so under codec=gob only integers decode.)
	Value any
	// DecodeErr says why the value could not be decoded; Raw then shows
	// the bytes.
	DecodeErr error
	// Raw holds the first bytes of the stored form (at most RawPreview).
	Raw []byte
	// TTL is the time the entry has left, or Forever, when TTLKnown.
	TTL time.Duration
	// TTLKnown reports whether the backend told the TTL (it implements
	// backend.TTLReader).
	TTLKnown bool
}

// RawPreview is the most bytes of a stored form that Inspect keeps in
// Entry.Raw.
const RawPreview = 512

// Inspect reads the entry under a listed key without counting a read,
// without touching its TTL and without deleting it if it cannot be
// decoded. A missing key is a *NotCachedError; a backend failure is
// returned as it is. It never panics on bytes it cannot decode: they are
// reported in DecodeErr. A key whose delete is queued (see Delete) is a
// *NotCachedError wrapping ErrInvalidationPending, as for Get.
func (c *Cache) Inspect(ctx context.Context, key string) (Entry, error) {
	full := c.prefix + key
	if err := c.admit(ctx, full); err != nil {
		return Entry{}, &NotCachedError{Key: full, Err: err}
	}
	e := Entry{Key: key}
	var data []byte
	pk := full
	if c.objects != nil {
		obj, raw, found := c.objects.GetObject(full)
		if !found {
			return Entry{}, &NotCachedError{Key: full}
		}
		if raw == nil {
			e.ByReference, e.Value = true, obj
		}
		data = raw
	} else {
		var err error
		var found bool
		if data, found, err = c.readEntry(ctx, full); err != nil {
			return Entry{}, err
		} else if !found {
			return Entry{}, &NotCachedError{Key: full}
		}
	}
	if !e.ByReference {
		e.Size = len(data)
		e.Raw = slices.Clone(data[:min(len(data), RawPreview)])
		var v any
		if err := decodeValue(c.codec, data, &v); err != nil {
			e.DecodeErr = err
		} else {
			e.Value = v
		}
	}
	if c.ttlR != nil {
		if ttl, found, err := c.ttlR.TTL(ctx, pk); err == nil && found {
			e.TTLKnown, e.TTL = true, ttl
			if ttl == backend.NoExpiry {
				e.TTL = Forever
			}
		}
	}
	return e, nil
}

// DeleteListed removes the entry under a listed key and, with children,
// every entry whose key continues it past "::", as DeleteChildren does.
// It addresses exactly the listed key, without rebuilding it, and counts
// as a delete. A key that holds nothing is not an error.
func (c *Cache) DeleteListed(ctx context.Context, key string, children bool) error {
	full := c.prefix + key
	if children {
		return c.deleteTree(ctx, full)
	}
	c.stats.shard().deletes.Add(1)
	_, err := c.deleteKey(ctx, full)
	return err
}
