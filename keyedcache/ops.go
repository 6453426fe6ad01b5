package keyedcache

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"keyedcache.dev/keyedcache/backend"
)

// A SetOption changes one write.
type SetOption struct {
	ttl    time.Duration
	hasTTL bool
}

// TTL sets how long a written entry lives: a positive duration (sub-second
// where the backend allows; a backend rounds up, never down), Forever, or
// zero or less, which means the entry is already expired: nothing is
// stored and any existing entry is deleted (as Django treats a timeout
// of 0). Without TTL a write uses the alias's timeout.
func TTL(d time.Duration) SetOption { return SetOption{ttl: d, hasTTL: true} }

// backendTTL turns a TTL into what a backend receives; ok is false for
// an already-expired entry.
func (c *Cache) backendTTL(opts []SetOption) (ttl time.Duration, ok bool) {
	ttl = c.timeout
	for _, o := range opts {
		if o.hasTTL {
			ttl = o.ttl
		}
	}
	return ttlFor(ttl)
}

func ttlFor(d time.Duration) (time.Duration, bool) {
	switch {
	case d == Forever:
		return backend.NoExpiry, true
	case d <= 0:
		return 0, false
	}
	return d, true
}

// Get reads the value stored under the key built from parts into the
// value dst points to. A miss returns a *NotCachedError carrying the key.
// A backend failure or a value that cannot be decoded is also a miss (the
// error says why, the failure is counted, and an undecodable entry is
// deleted). A stored nil or zero value is a hit.
func (c *Cache) Get(ctx context.Context, dst any, parts ...any) error {
	key := c.Key(parts...)
	return c.get(ctx, key, dst)
}

// IsCached reports whether a live entry exists for the key built from
// parts, without decoding it.
func (c *Cache) IsCached(ctx context.Context, parts ...any) bool {
	key := c.Key(parts...)
	if !c.enabled.Load() || c.closed.Load() || c.admit(ctx, key) != nil {
		return false
	}
	if c.objects != nil {
		_, _, found := c.objects.GetObject(key)
		return found
	}
	if c.tiersOn() {
		rt, nt := c.readTiers(ctx)
		if rt != nil {
			if _, ok := rt.lookup(c, key); ok {
				return true
			}
		}
		if nt != nil {
			if _, hit, _, _ := nt.get(ctx, key); hit {
				return true
			}
		}
	}
	_, found, err := c.readEntry(ctx, key)
	return err == nil && found
}

func (c *Cache) get(ctx context.Context, key string, dst any) error {
	s := c.stats.shard()
	if !c.enabled.Load() {
		s.misses.Add(1)
		return &NotCachedError{Key: key, Err: c.closedErr()}
	}
	if c.unkeyable(key) {
		s.misses.Add(1)
		return &NotCachedError{Key: key, Err: ErrUnkeyable}
	}
	if c.closed.Load() { // the tiers and by-reference values would still answer
		s.misses.Add(1)
		s.errors.Add(1)
		return &NotCachedError{Key: key, Err: ErrClosed}
	}
	if err := c.admit(ctx, key); err != nil { // a queued invalidation covers key: no tier, no backend
		s.misses.Add(1)
		return &NotCachedError{Key: key, Err: err}
	}
	if c.objects != nil {
		obj, raw, found := c.objects.GetObject(key)
		if !found {
			s.misses.Add(1)
			return &NotCachedError{Key: key}
		}
		if raw == nil {
			if err := assignObject(c.codec, obj, dst); err != nil {
				return c.corrupt(ctx, key, key, err)
			}
			s.hits.Add(1)
			return nil
		}
		return c.decode(ctx, key, key, raw, dst)
	}
	if c.tiersOn() {
		return c.getTiered(ctx, key, dst)
	}
	data, pk, err := c.fetch(ctx, key)
	if err != nil {
		return err
	}
	return c.decode(ctx, key, pk, data, dst)
}

// fetch reads the stored form of key from the backend, returning it and
// the backend key it was under, or a counted miss.
func (c *Cache) fetch(ctx context.Context, key string) (data []byte, pk string, err error) {
	s := c.stats.shard()
	data, found, err := c.readEntry(ctx, key)
	if err != nil {
		c.fail("get", key, err)
		s.misses.Add(1)
		return nil, "", &NotCachedError{Key: key, Err: err}
	}
	if !found {
		s.misses.Add(1)
		return nil, "", &NotCachedError{Key: key}
	}
	return data, key, nil
}

func (c *Cache) decode(ctx context.Context, key, pk string, data []byte, dst any) error {
	if err := decodeValue(c.codec, data, dst); err != nil {
		return c.corrupt(ctx, key, pk, err)
	}
	c.stats.shard().hits.Add(1)
	return nil
}

// corrupt handles a stored value that cannot be decoded: a miss, the
// error counted, and the entry deleted — unless the bytes are intact and
// only the type asked for does not fit them (a *TypeError): that entry
// stays for the readers it was written for.
func (c *Cache) corrupt(ctx context.Context, key, pk string, err error) error {
	s := c.stats.shard()
	s.misses.Add(1)
	s.decodeErrors.Add(1)
	var ce errCorrupt
	if errors.As(err, &ce) {
		_, derr := c.b.Delete(ctx, pk)
		c.tiersForget(ctx, derr == nil, key)
	}
	c.logFailure("decode", key, err) // counted once, as a decode error
	return &NotCachedError{Key: key, Err: err}
}

// assignObject stores a by-reference value into dst: directly when the
// types match, otherwise through the codec, so that by-reference and
// copy mode accept the same reads. A value that does not fit dst is a
// *TypeError: the object itself is intact.
func assignObject(codec Codec, obj any, dst any) error {
	if p, ok := dst.(*any); ok {
		*p = obj
		return nil
	}
	data, err := encodeValue(codec, obj)
	if err != nil {
		return &TypeError{Stored: fmt.Sprintf("a %T", obj), Wanted: wantedType(dst), Err: err}
	}
	return decodeValue(codec, data, dst)
}

// Set stores value under key (a key from Key or NotCachedError.Key, or
// plain text, which is built into a key) for the alias's timeout or the
// TTL option.
//
// Set returns an error only when the value cannot be encoded
// (ErrUnencodable), the key is unkeyable (ErrUnkeyable, see Key) or the
// cache is closed (ErrClosed). A backend that fails drops the write: a
// cache is an optimisation, so the failure is counted in Stats and
// logged, not returned. As the backend may still hold the value from
// before, which the caller meant to replace, a failed write is queued as
// a delete of key: until it is replayed this process serves nothing
// under key, and the replay removes the old value (see
// ErrInvalidationPending). A Set of a key that a queued invalidation
// covers stores nothing. While the cache is disabled Set stores nothing,
// but a TTL of zero or less still deletes.
func (c *Cache) Set(ctx context.Context, key string, value any, opts ...SetOption) error {
	key = c.keyFor(key)
	if c.unkeyable(key) {
		return ErrUnkeyable
	}
	ttl, live := c.backendTTL(opts)
	if !live {
		_, err := c.Delete(ctx, key)
		return err
	}
	if !c.enabled.Load() {
		return c.closedErr()
	}
	c.stats.shard().sets.Add(1)
	if c.objects != nil {
		if c.closed.Load() { // SetObject cannot say so
			return ErrClosed
		}
		if _, isInt := integerText(value); !isInt {
			c.objects.SetObject(key, value, ttl)
			return nil
		}
	}
	data, err := encodeValue(c.codec, value)
	if err != nil {
		return err
	}
	// A failure is counted and logged, not returned; but a closed
	// backend is no passing failure.
	if err := c.storeBytes(ctx, key, data, ttl); errors.Is(err, ErrClosed) {
		return err
	}
	return nil
}

// storeBytes writes the stored form data under the built key with a live
// ttl, passes it to the tiers, and counts and logs a backend failure.
func (c *Cache) storeBytes(ctx context.Context, key string, data []byte, ttl time.Duration) error {
	if c.unkeyable(key) {
		return ErrUnkeyable
	}
	if err := c.admit(ctx, key); err != nil {
		c.tiersForget(ctx, false, key)
		return err
	}
	err := c.writeEntry(ctx, key, data, ttl)
	if err != nil {
		c.fail("set", key, err)
		err = c.failedWrite(err, key)
	}
	c.tiersWrote(ctx, key, data, ttl, err == nil)
	return err
}

// failedWrite queues a delete of keys after a write to them failed with
// err, since the backend may still hold the values they had before, and
// returns the error for the caller. A refusal that says nothing about
// the entries (a value that is not a number, say) queues nothing.
func (c *Cache) failedWrite(err error, keys ...string) error {
	if errors.Is(err, backend.ErrNotNumeric) || errors.Is(err, backend.ErrOverflow) || errors.Is(err, backend.ErrNotFound) {
		return err
	}
	ops := make([]pendOp, len(keys))
	for i, k := range keys {
		ops[i] = pendOp{kind: pendKey, key: k}
	}
	return c.pend.queue(c, err, ops...)
}

// Add stores value under key only if no live entry exists, and reports
// whether it stored it. Of many concurrent Adds of one key — in one
// process or many — exactly one stores. While the cache is disabled Add
// stores nothing and returns false. Unlike Set, Add returns a backend
// failure (counted and logged as well), because its answer is the point:
// a caller using Add as a lock must not take a failure for a win. Add
// of a key that a queued invalidation covers stores nothing and returns
// an error matching ErrInvalidationPending. (A failed Add queues nothing:
// it replaces no value.)
func (c *Cache) Add(ctx context.Context, key string, value any, opts ...SetOption) (bool, error) {
	key = c.keyFor(key)
	if !c.enabled.Load() {
		return false, c.closedErr()
	}
	ttl, live := c.backendTTL(opts)
	if !live {
		return false, nil
	}
	data, err := encodeValue(c.codec, value)
	if err != nil {
		return false, err
	}
	return c.addBytes(ctx, key, data, ttl)
}

// addBytes adds the stored form data under the built key with a live
// ttl: the backend's Add, then the tiers and the counters.
func (c *Cache) addBytes(ctx context.Context, key string, data []byte, ttl time.Duration) (bool, error) {
	if c.unkeyable(key) {
		return false, ErrUnkeyable
	}
	if err := c.admit(ctx, key); err != nil {
		return false, err
	}
	added, err := c.addEntry(ctx, key, data, ttl)
	if err != nil {
		c.fail("add", key, err)
		return false, err
	}
	if added {
		c.stats.shard().sets.Add(1)
		c.tiersWrote(ctx, key, data, ttl, true)
	} else {
		c.tiersForget(ctx, false, key) // what is there is not what this scope may hold
	}
	return added, nil
}

// Delete removes the entry for the key built from parts and reports
// whether one existed.
//
// A delete that cannot reach the backend is not forgotten: it is queued
// and replayed, before anything else this Cache sends, as soon as the
// backend answers again (by the next operation, or by a background
// retrier). Until then this process serves nothing under the key — a
// read is a miss, a write stores nothing — and Delete returns an error
// that matches ErrInvalidationPending and wraps the backend's failure.
// Other processes sharing the backend cannot see the queue: until the
// replay reaches the backend, they can still read the old value.
func (c *Cache) Delete(ctx context.Context, parts ...any) (bool, error) {
	key := c.Key(parts...)
	if err := c.closedErr(); err != nil {
		return false, err
	}
	c.stats.shard().deletes.Add(1)
	return c.deleteKey(ctx, key)
}

// deleteKey deletes one built key, uncounted, queues it if the backend
// cannot be reached, and drops it from the tiers.
func (c *Cache) deleteKey(ctx context.Context, key string) (bool, error) {
	var existed bool
	err := c.settle(ctx) // queued behind earlier invalidations, if they wait
	if err == nil {
		existed, err = c.deleteKeyRaw(ctx, key)
	}
	if err != nil {
		c.fail("delete", key, err)
		err = c.pend.queue(c, err, pendOp{kind: pendKey, key: key})
	}
	c.tiersForget(ctx, err == nil, key)
	c.inval.add(invalidation{keys: []string{key}})
	return existed, err
}

// deleteKeyRaw deletes one built key from the backend only, uncounted.
func (c *Cache) deleteKeyRaw(ctx context.Context, key string) (bool, error) {
	return c.deleteEntry(ctx, key)
}

// DeleteChildren removes the entry for the key built from parts and
// every entry whose key continues it: deleting "product::123" removes
// "product::123::summary" too, but not "product::1234". Every process
// sharing the backend sees the deletion. One that cannot reach the
// backend is queued and replayed as Delete describes, and until then this
// process serves nothing under the key or its children.
func (c *Cache) DeleteChildren(ctx context.Context, parts ...any) error {
	key := c.Key(parts...)
	if err := c.closedErr(); err != nil {
		return err
	}
	return c.deleteTree(ctx, key)
}

// deleteTree deletes key and its children, counted, queues them if the
// backend cannot be reached, and drops them from the tiers. A key too
// long to have children of its own (see fitKey) has them beside it: its
// parent's subtree goes.
func (c *Cache) deleteTree(ctx context.Context, key string) error {
	key = treeRoot(key)
	c.stats.shard().deletes.Add(1)
	err := c.settle(ctx)
	if err == nil {
		err = c.deleteTreeRaw(ctx, key)
	}
	if err != nil {
		c.fail("delete_children", key, err)
		err = c.pend.queue(c, err, pendOp{kind: pendTree, key: key})
	}
	c.tiersForgetTree(ctx, err == nil, key)
	c.inval.add(invalidation{tree: key, isTree: true})
	return err
}

// deleteTreeRaw deletes key and its children from the backend only,
// uncounted.
func (c *Cache) deleteTreeRaw(ctx context.Context, key string) error {
	if c.gens {
		return c.newGeneration(ctx, key)
	}
	if _, err := c.prefixD.DeletePrefix(ctx, key+Sep); err != nil {
		return err
	}
	_, err := c.b.Delete(ctx, key)
	return err
}

// Clear removes every key of this alias: with a key prefix or version,
// the keys under it (other aliases sharing the backend keep theirs);
// without one, everything the backend stores for this cache. It never
// empties a whole shared server. A clear that cannot reach the backend
// is queued and replayed as Delete describes, and until then this
// process serves nothing of the alias.
func (c *Cache) Clear(ctx context.Context) error {
	if err := c.closedErr(); err != nil {
		return err
	}
	c.stats.shard().deletes.Add(1)
	err := c.settle(ctx)
	if err == nil {
		err = c.clearRaw(ctx)
	}
	if err != nil {
		c.fail("clear", "", err)
		err = c.pend.queue(c, err, pendOp{kind: pendAll})
	}
	c.tiersForgetAll(ctx, err == nil)
	c.inval.add(invalidation{all: true})
	return err
}

// clearRaw removes every key of the alias from the backend only.
func (c *Cache) clearRaw(ctx context.Context) error {
	if c.prefix != "" {
		return c.deleteTreeRaw(ctx, c.prefix[:len(c.prefix)-len(Sep)])
	}
	return c.b.Clear(ctx)
}

// Touch gives the entry under key a new TTL (see TTL for what zero and
// Forever mean) and reports whether it existed. While the cache is
// disabled it changes nothing, but a TTL of zero or less still deletes.
// A Touch that fails is queued as a delete of key, as a failed Set is;
// one of a key that a queued invalidation covers returns false and an
// error matching ErrInvalidationPending.
func (c *Cache) Touch(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	key = c.keyFor(key)
	bttl, live := ttlFor(ttl)
	if !live {
		return c.Delete(ctx, key)
	}
	if !c.enabled.Load() {
		return false, c.closedErr()
	}
	if err := c.admit(ctx, key); err != nil {
		return false, err
	}
	pk := key
	var err error
	if c.gens { // a hidden entry is no entry
		var found bool
		if _, found, err = c.readEntry(ctx, key); err == nil && !found {
			return false, nil
		}
	}
	switch {
	case err != nil:
	case c.toucher != nil:
		err = c.toucher.Touch(ctx, pk, bttl)
		if errors.Is(err, backend.ErrNotFound) {
			return false, nil
		}
	default:
		var data []byte
		var found bool
		data, found, err = c.b.Get(ctx, pk)
		if err == nil && !found {
			return false, nil
		}
		if err == nil {
			err = c.b.Set(ctx, pk, data, bttl)
		}
	}
	if err != nil {
		c.fail("touch", key, err)
		err = c.failedWrite(err, key)
		c.tiersForget(ctx, false, key)
		return false, err
	}
	c.tiersForget(ctx, false, key) // its deadline changed; this process reads it afresh
	return true, nil
}

// Incr adds delta to the integer stored under key and returns the new
// value, keeping the entry's TTL. A missing key is a *NotCachedError; a
// value that is not an integer is ErrNotNumeric, and one that would leave
// the int64 range is backend.ErrOverflow. It is atomic on backends
// that increment natively or compare-and-swap. (A backend with neither
// native Incr nor TTLReader cannot keep the TTL: the entry then gets the
// alias's timeout.)
//
// An Incr that fails is queued as a delete of key, as a failed Set is:
// the counter is removed when the backend answers again rather than left
// short of this increment. One of a key that a queued invalidation
// covers is a *NotCachedError wrapping ErrInvalidationPending.
func (c *Cache) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	key = c.keyFor(key)
	if !c.enabled.Load() {
		return 0, &NotCachedError{Key: key, Err: c.closedErr()}
	}
	if err := c.admit(ctx, key); err != nil {
		return 0, &NotCachedError{Key: key, Err: err}
	}
	var n int64
	var err error
	switch {
	case c.gens:
		n, err = c.incrStamped(ctx, key, delta)
	case c.incr != nil:
		n, err = c.incr.Incr(ctx, key, delta)
	default:
		n, err = c.incrFallback(ctx, key, delta)
	}
	switch {
	case errors.Is(err, backend.ErrNotFound):
		c.tiersForget(ctx, false, key)
		return 0, &NotCachedError{Key: key}
	case errors.Is(err, backend.ErrNotNumeric), errors.Is(err, backend.ErrOverflow):
		return 0, err
	case err != nil:
		c.fail("incr", key, err)
		err = c.failedWrite(err, key)
		c.tiersForget(ctx, false, key)
		return 0, err
	}
	c.tiersWrote(ctx, key, strconv.AppendInt(nil, n, 10), 0, true)
	return n, nil
}

// Decr subtracts delta from the integer stored under key; see Incr.
// Decr of math.MinInt64, whose negation is no int64, is
// backend.ErrOverflow, and leaves the value as it was.
func (c *Cache) Decr(ctx context.Context, key string, delta int64) (int64, error) {
	if delta == math.MinInt64 {
		if err := c.closedErr(); err != nil {
			return 0, err
		}
		return 0, backend.ErrOverflow
	}
	return c.Incr(ctx, key, -delta)
}

// addToStored adds delta to the decimal number stored in data, with
// the errors a backend's Incr gives: ErrNotNumeric, ErrOverflow.
func addToStored(data []byte, delta int64) (int64, error) {
	n, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		return 0, backend.ErrNotNumeric
	}
	if delta > 0 && n > math.MaxInt64-delta || delta < 0 && n < math.MinInt64-delta {
		return 0, backend.ErrOverflow
	}
	return n + delta, nil
}

// incrFallback increments on a backend without Incr: a compare-and-swap
// loop where the backend has one, otherwise read-then-write (not atomic
// between processes).
func (c *Cache) incrFallback(ctx context.Context, pk string, delta int64) (int64, error) {
	for attempt := 0; ; attempt++ {
		data, found, err := c.b.Get(ctx, pk)
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
		ttl := backend.NoExpiry
		if c.ttlR != nil {
			left, found, err := c.ttlR.TTL(ctx, pk)
			if err != nil {
				return 0, err
			}
			if !found {
				return 0, backend.ErrNotFound
			}
			ttl = left
		} else {
			ttl, _ = ttlFor(c.timeout)
		}
		next := strconv.AppendInt(nil, n, 10)
		if c.cas == nil {
			return n, c.b.Set(ctx, pk, next, ttl)
		}
		ok, err := c.cas.CompareAndSwap(ctx, pk, data, next, ttl)
		if err != nil || ok {
			return n, err
		}
		if attempt > 100 {
			return 0, errors.New("keyedcache: incr: too much contention")
		}
	}
}
