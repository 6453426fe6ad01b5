package function

import (
	"bytes"
	"context"
	"sync/atomic"
	"time"

	"keyedcache.dev/keyedcache"
)

// A call's entry is kept in one of two forms, chosen by the cache:
//
//   - bytes (every backend, and memory:// in its default copy mode): the
//     entry encoded by the cache's codec. A reader decodes it; a writer
//     replaces it with a compare-and-swap of its exact bytes.
//   - a slot (memory:// with by_reference=true): the store keeps a
//     *slot, whose atomic pointer holds the entry itself, so that a hit
//     decodes nothing. A writer replaces the entry with a compare-and-swap
//     of that pointer, and then checks that the store still holds the
//     slot. A delete removes the slot from the store, so that a writer
//     still holding it writes to a slot nobody will read again: as with
//     bytes, a result computed across a delete is returned, not stored.
//
// A slot comes into the store only through a claim: the claim is first
// added as bytes (an Add, which exactly one writer wins), and its winner
// then puts the slot in their place. Results are shared by reference, as
// by_reference=true promises for every value of that cache.

// slot is the by-reference form of a call's entry. The entry it points
// to is never changed; a new one replaces it.
type slot[R any] struct {
	cur atomic.Pointer[entry[R]]
}

// held returns the entry the slot holds, its result as an any: what a
// staff page shows of it (see viewEntry).
func (s *slot[R]) held() entry[any] {
	p := s.cur.Load()
	return entry[any]{State: p.State, Fresh: p.Fresh, Stale: p.Stale, Lease: p.Lease, Token: p.Token, Err: p.Err, V: p.V}
}

func newSlot[R any](ent entry[R]) *slot[R] {
	s := new(slot[R])
	s.cur.Store(&ent)
	return s
}

// ref is where a read found a call's entry, for a later
// compare-and-swap: its exact bytes, or its slot and the entry the slot
// held. The zero ref means nothing was there.
type ref[R any] struct {
	data    []byte    // the stored form; in a by-reference store, the store's own slice
	slot    *slot[R]  // by reference: the slot
	ent     *entry[R] // by reference: what the slot held
	foreign bool      // by reference: something that is not this function's slot
}

func (r ref[R]) absent() bool { return r.data == nil && r.slot == nil && !r.foreign }

// read reads key's entry into l: the entry (zero if absent or
// undecodable), where it was, and the backend's failure.
func (e *engine[R]) read(ctx context.Context, c *keyedcache.Cache, h *head, key string, l *look[R]) {
	l.ent, l.at, l.err = entry[R]{}, ref[R]{}, nil
	if h.objects {
		obj, raw, found := c.GetObject(key)
		switch {
		case !found:
			return
		case raw == nil:
			if s, ok := obj.(*slot[R]); ok {
				p := s.cur.Load()
				l.ent, l.at = *p, ref[R]{slot: s, ent: p}
			} else {
				// Another value under the function's key (a Set of the
				// same key, or a function of another result type under
				// the same name): a miss, replaced by the next result.
				e.st.errors.Add(1)
				l.at.foreign = true
			}
			return
		}
		l.at.data = raw // a claim on its way to a slot, or bytes written otherwise
		if decodeEntry(c, h, raw, &l.ent) != nil {
			e.st.errors.Add(1)
			l.ent = entry[R]{}
		}
		return
	}
	data, ok, err := c.GetBytes(ctx, key)
	if err != nil {
		e.st.errors.Add(1)
		l.err = err
		return
	}
	if !ok {
		return
	}
	l.at.data = data
	if decodeEntry(c, h, data, &l.ent) != nil {
		e.st.errors.Add(1) // overwritten by the next result
		l.ent = entry[R]{}
	}
}

// swap replaces the entry at at with next, to be kept for ttl, if at is
// still what the store holds under key. It returns where next is.
func (e *engine[R]) swap(ctx context.Context, c *keyedcache.Cache, key string, at ref[R], next entry[R], ttl time.Duration) (ref[R], bool, error) {
	if at.slot != nil {
		p := &next
		if !at.slot.cur.CompareAndSwap(at.ent, p) || !holds(c, key, at.slot) {
			return at, false, nil
		}
		// The store keeps the slot as long as its new entry needs. (If
		// the slot was deleted and another put in its place between the
		// check and this, that one gets this lifetime until its own
		// next write: it is kept too long or, at worst, dropped early, a
		// miss — never a wrong result.)
		c.Touch(ctx, key, ttl)
		return ref[R]{slot: at.slot, ent: p}, true, nil
	}
	data, err := c.Encode(next)
	if err != nil {
		return at, false, errEncode{err}
	}
	ok, err := c.CompareAndSwap(ctx, key, at.data, data, keyedcache.TTL(ttl))
	if !ok || err != nil {
		return at, false, err
	}
	return ref[R]{data: data}, true, nil
}

// holds reports whether the store holds s under key.
func holds[R any](c *keyedcache.Cache, key string, s *slot[R]) bool {
	obj, _, found := c.GetObject(key)
	return found && obj == any(s)
}

// add writes next, to be kept for ttl, where at found an entry to
// replace — nothing, bytes, or something foreign — and reports whether
// it won. In a by-reference store the claim is added as bytes and then
// becomes a slot.
func (e *engine[R]) add(ctx context.Context, c *keyedcache.Cache, h *head, key string, at ref[R], next entry[R], ttl time.Duration) (ref[R], bool, error) {
	if at.slot != nil {
		return e.swap(ctx, c, key, at, next, ttl)
	}
	if at.foreign {
		if _, err := c.Delete(ctx, key); err != nil {
			return ref[R]{}, false, err
		}
		at = ref[R]{}
	}
	data, err := c.Encode(next)
	if err != nil {
		return ref[R]{}, false, errEncode{err}
	}
	var ok bool
	if at.data == nil {
		ok, err = c.AddBytes(ctx, key, data, keyedcache.TTL(ttl))
	} else {
		ok, err = c.CompareAndSwap(ctx, key, at.data, data, keyedcache.TTL(ttl))
	}
	if !ok || err != nil {
		return ref[R]{data: data}, false, err
	}
	if !h.objects {
		return ref[R]{data: data}, true, nil
	}
	// Put the slot in the place of the bytes just written, unless they
	// went meanwhile (deleted: the claim is lost, and the caller reads
	// again). Should they go between this check and the Set, the slot
	// comes back after the delete — but before any computation under it
	// has begun, so its result is still newer than the delete.
	if _, raw, found := c.GetObject(key); !found || !bytes.Equal(raw, data) {
		return ref[R]{}, false, nil
	}
	s := newSlot(next)
	if err := c.Set(ctx, key, s, keyedcache.TTL(ttl)); err != nil {
		return ref[R]{}, false, err
	}
	return ref[R]{slot: s, ent: s.cur.Load()}, true, nil
}

// errEncode is a result or claim the codec could not encode.
type errEncode struct{ err error }

func (e errEncode) Error() string { return e.err.Error() }
func (e errEncode) Unwrap() error { return e.err }
