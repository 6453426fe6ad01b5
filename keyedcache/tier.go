package keyedcache

import (
	"context"
	"reflect"
	"sync"
	"sync/atomic"
	"time"
)

// Tiers are first-level caches in front of a cache's backend. A read goes
// key → request tier (if the context carries one) → process tier (the
// near cache, if the alias has one) → backend → codec, and fills the
// tiers it passed; a write fills or clears them; a delete clears them.
// Every write and delete that reaches the backend is also made known to
// the other processes' process tiers, whether this cache has tiers or not
// (see NearCache and tier_presence.go).
//
// Both tiers keep the stored form of a value (the bytes the codec wrote),
// so a read from a tier decodes a fresh copy, as a read from the backend
// does: nobody can change a cached value through what a read returned.
// The request tier may also keep one decoded value per entry when its
// type holds no references (see copySafe), and hands out copies of it.
// Aliases in by-reference mode skip the tiers: they are in process memory
// already.

// liveRequestTiers counts the request tiers that have not been released.
// While it is zero no context can carry a live one, so reads skip looking
// for one: a program that never uses request tiers pays one atomic load
// per read, not a walk up its context chain.
var liveRequestTiers atomic.Int64

// tierKey is the context key of a request tier (*requestTier) or of a
// read-skipping marker (skipReads).
type tierKey struct{}

// skipReads marks a context whose reads go to the backend; writes and
// deletes still update the request tier it hides, if any.
type skipReads struct{ rt *requestTier }

// SkipTiers returns a context whose reads skip the first-level tiers (the
// request tier and the process tier) and go to the backend. Writes and
// deletes made with it still update and clear the tiers, so the request
// it belongs to never reads its own stale copy.
//
// Use it for reads that must see other processes' writes at once: a loop
// polling a key until it changes, or a version read before and after a
// computation to detect a concurrent delete. (A loop polling until a key
// appears needs no SkipTiers: misses are never kept in a tier.)
func SkipTiers(ctx context.Context) context.Context {
	rt, _ := tierValue(ctx)
	return context.WithValue(ctx, tierKey{}, skipReads{rt})
}

// tierValue returns the request tier ctx carries (released or not) and
// whether reads skip the tiers.
func tierValue(ctx context.Context) (rt *requestTier, skip bool) {
	switch v := ctx.Value(tierKey{}).(type) {
	case *requestTier:
		return v, false
	case skipReads:
		return v.rt, true
	}
	return nil, false
}

// tiersOn reports whether c may have a tier to consult or update: the
// cheap test on every operation, before any context lookup.
func (c *Cache) tiersOn() bool {
	return c.objects == nil && (c.near != nil || liveRequestTiers.Load() != 0)
}

// readTiers returns the tiers a read through ctx consults; call it only
// when tiersOn reports true.
func (c *Cache) readTiers(ctx context.Context) (*requestTier, *nearTier) {
	rt, skip := tierValue(ctx)
	if skip {
		return nil, nil
	}
	return rt, c.near
}

// writeTiers returns the tiers a write through ctx updates; call it only
// when tiersOn reports true.
func (c *Cache) writeTiers(ctx context.Context) (*requestTier, *nearTier) {
	rt, _ := tierValue(ctx)
	return rt, c.near
}

// The tier hooks below run after an operation changed the backend (ok)
// or tried to and failed (!ok). The request tier follows what the scope
// did either way; the process tier drops its own copy either way. The
// other processes' process tiers are told of a change that reached the
// backend, whether this cache has tiers or not (tier_presence.go).

// tiersWrote records that data (a stored form) was written under key
// with the backend ttl (0: unknown or none).
func (c *Cache) tiersWrote(ctx context.Context, key string, data []byte, ttl time.Duration, ok bool) {
	if c.tiersOn() {
		rt, nt := c.writeTiers(ctx)
		if rt != nil {
			rt.put(c, key, data, ttl)
		}
		if nt != nil {
			nt.apply([]nearOp{{kind: opKey, key: key}}, false)
		}
	}
	if c.publishing(ctx, ok) {
		c.publish(ctx, []nearOp{{kind: opKey, key: key}})
	}
}

// tiersWroteMany is tiersWrote for many keys written with one ttl.
func (c *Cache) tiersWroteMany(ctx context.Context, items map[string][]byte, ttl time.Duration, ok bool) {
	var ops []nearOp
	keyOps := func() []nearOp {
		if ops == nil {
			ops = make([]nearOp, 0, len(items))
			for k := range items {
				ops = append(ops, nearOp{kind: opKey, key: k})
			}
		}
		return ops
	}
	if c.tiersOn() {
		rt, nt := c.writeTiers(ctx)
		if rt != nil {
			for k, data := range items {
				rt.put(c, k, data, ttl)
			}
		}
		if nt != nil {
			nt.apply(keyOps(), false)
		}
	}
	if len(items) > 0 && c.publishing(ctx, ok) {
		c.publish(ctx, keyOps())
	}
}

// tiersForget drops keys from every tier: after a delete, or a change
// whose new stored form is not at hand.
func (c *Cache) tiersForget(ctx context.Context, ok bool, keys ...string) {
	var ops []nearOp
	keyOps := func() []nearOp {
		if ops == nil {
			ops = make([]nearOp, len(keys))
			for i, k := range keys {
				ops[i] = nearOp{kind: opKey, key: k}
			}
		}
		return ops
	}
	if c.tiersOn() {
		rt, nt := c.writeTiers(ctx)
		if rt != nil {
			for _, k := range keys {
				rt.drop(c, k)
			}
		}
		if nt != nil {
			nt.apply(keyOps(), false)
		}
	}
	if len(keys) > 0 && c.publishing(ctx, ok) {
		c.publish(ctx, keyOps())
	}
}

// tiersForgetTree drops key and every key beneath it from every tier.
func (c *Cache) tiersForgetTree(ctx context.Context, ok bool, key string) {
	if c.tiersOn() {
		rt, nt := c.writeTiers(ctx)
		if rt != nil {
			rt.dropTree(c, key)
		}
		if nt != nil {
			nt.apply([]nearOp{{kind: opTree, key: key}}, false)
		}
	}
	if c.publishing(ctx, ok) {
		c.publish(ctx, []nearOp{{kind: opTree, key: key}})
	}
}

// tiersForgetAll drops every key of c from every tier.
func (c *Cache) tiersForgetAll(ctx context.Context, ok bool) {
	if c.tiersOn() {
		rt, nt := c.writeTiers(ctx)
		if rt != nil {
			rt.dropAll(c)
		}
		if nt != nil {
			nt.apply(nil, true)
		}
	}
	if c.publishing(ctx, ok) {
		c.publish(ctx, []nearOp{{kind: opAll}})
	}
}

// A tierKind names the tier a hit came from, for the stats.
type tierKind int

const (
	fromRequest tierKind = iota
	fromProcess
)

// decodeTier decodes a stored form a tier held, counting a hit from that
// tier; a form that does not decode is handled as from the backend.
func (c *Cache) decodeTier(ctx context.Context, key string, raw []byte, dst any, from tierKind) error {
	if err := decodeValue(c.codec, raw, dst); err != nil {
		return c.corrupt(ctx, key, key, err)
	}
	s := c.stats.shard()
	s.hits.Add(1)
	if from == fromRequest {
		s.requestHits.Add(1)
	} else {
		s.processHits.Add(1)
	}
	return nil
}

// getTiered is get's path when a tier may answer: the request tier, then
// the process tier, then the backend, filling the tiers passed.
func (c *Cache) getTiered(ctx context.Context, key string, dst any) error {
	rt, nt := c.readTiers(ctx)
	if rt != nil {
		if raw, ok := rt.lookup(c, key); ok {
			return c.decodeTier(ctx, key, raw, dst, fromRequest)
		}
	}
	var tag uint64
	var fillNear bool
	if nt != nil {
		raw, hit, t, usable := nt.get(ctx, key)
		if hit {
			if err := c.decodeTier(ctx, key, raw, dst, fromProcess); err != nil {
				return err
			}
			if rt != nil {
				rt.put(c, key, raw, 0)
			}
			return nil
		}
		tag, fillNear = t, usable
	}
	var (
		data []byte
		pk   string
		ttl  time.Duration
		err  error
	)
	if fillNear && nt.tracked != nil {
		data, ttl, fillNear, err = c.fetchTracked(ctx, nt, key)
		pk = key
	} else {
		data, pk, err = c.fetch(ctx, key)
	}
	if err != nil {
		return err
	}
	if err := c.decode(ctx, key, pk, data, dst); err != nil {
		return err
	}
	if rt != nil {
		rt.put(c, key, data, 0)
	}
	if fillNear {
		nt.fill(key, data, tag, ttl)
	}
	return nil
}

// copySafe reports whether a value of type t is copied whole by
// assignment: it holds no pointer, slice, map, interface, channel or
// function, so a copy shares nothing with the original. time.Time counts
// as safe: its only reference is to a *time.Location, which is never
// changed after it is made.
func copySafe(t reflect.Type) bool {
	if v, ok := copySafeTypes.Load(t); ok {
		return v.(bool)
	}
	safe := copySafeUncached(t, 0)
	copySafeTypes.Store(t, safe)
	return safe
}

var copySafeTypes sync.Map // reflect.Type → bool

var timeType = reflect.TypeFor[time.Time]()

func copySafeUncached(t reflect.Type, depth int) bool {
	if depth > maxDepth {
		return false
	}
	if t == timeType {
		return true
	}
	switch t.Kind() {
	case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr,
		reflect.Float32, reflect.Float64, reflect.Complex64, reflect.Complex128, reflect.String:
		return true
	case reflect.Array:
		return copySafeUncached(t.Elem(), depth+1)
	case reflect.Struct:
		for i := range t.NumField() {
			if !copySafeUncached(t.Field(i).Type, depth+1) {
				return false
			}
		}
		return true
	}
	return false
}
