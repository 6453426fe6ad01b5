package function

import (
	"context"
	"time"

	"keyedcache.dev/keyedcache"
)

// peek reads key's result without computing.
func (e *engine[R]) peek(ctx context.Context, key string) (R, error) {
	var zero R
	c, h, err := e.cache()
	if err != nil {
		return zero, &keyedcache.NotCachedError{Key: key, Err: err}
	}
	var l look[R]
	e.read(ctx, c, h, key, &l)
	if l.err != nil {
		return zero, &keyedcache.NotCachedError{Key: key, Err: l.err}
	}
	switch l.ent.kind(time.Now().UnixNano()) {
	case kindFresh:
		return e.answer(key, &l.ent)
	case kindStale:
		return l.ent.V, nil
	}
	return zero, &keyedcache.NotCachedError{Key: key}
}

// store stores r as key's result.
func (e *engine[R]) store(ctx context.Context, key string, r R) error {
	c, h, err := e.cache()
	if err != nil {
		return err
	}
	ttl := e.ttl(c)
	ent := entry[R]{State: stateValue, V: r}
	if ttl != keyedcache.Forever && ttl > 0 {
		ent.freshFor(time.Now(), ttl)
		if e.set.stale > 0 {
			ent.Stale = ent.Fresh + int64(e.set.stale)
			ttl += e.set.stale
		}
	}
	var data []byte // (a slot needs no encoding)
	if !h.objects {
		if data, err = c.Encode(ent); err != nil {
			return err
		}
	}
	// Calls from now on start a flight of their own: one under way (its
	// read begun before this write) must not answer them.
	defer e.forget(key)
	if h.fill != nil {
		// Forget the results filled under key; the owner's fill
		// returns this one from now on.
		if err := c.DeleteChildren(ctx, key); err != nil {
			return err
		}
	}
	if h.objects {
		return c.Set(ctx, key, newSlot(ent), keyedcache.TTL(ttl))
	}
	return c.SetBytes(ctx, key, data, keyedcache.TTL(ttl))
}

// delete removes key's result.
func (e *engine[R]) delete(ctx context.Context, key string) error {
	c, h, err := e.cache()
	if err != nil {
		return err
	}
	// Calls from now on start a flight of their own: one under way (its
	// read begun before the delete) must not answer them.
	defer e.forget(key)
	if h.fill != nil {
		return c.DeleteChildren(ctx, key) // the results filled under key too
	}
	_, err = c.Delete(ctx, key)
	return err
}

// deleteAll removes every result of the function.
func (e *engine[R]) deleteAll(ctx context.Context) error {
	c, h, err := e.cache()
	if err != nil {
		return err
	}
	// A new epoch once the delete is done: calls from then on start
	// flights of their own, and none under way — whose read may have begun
	// before the delete — answers them.
	defer e.st.epoch.Add(1)
	return c.DeleteChildren(ctx, h.key)
}

// refresh computes key's result and stores it, whatever is cached.
func (e *engine[R]) refresh(ctx context.Context, key string, compute func(context.Context) (R, error)) (R, error) {
	c, h, _ := e.cache()
	if c == nil || !c.Enabled() || e.ttl(c) <= 0 {
		return e.run(ctx, compute).unpack()
	}
	e.forget(key)
	if h.fill != nil {
		res := e.run(ctx, compute)
		if res.pe == nil && res.err == nil {
			if err := e.store(ctx, key, res.v); err != nil {
				e.st.errors.Add(1)
			}
		}
		return res.unpack()
	}
	var l look[R]
	for range 8 {
		e.read(ctx, c, h, key, &l)
		if l.err != nil {
			return e.run(ctx, compute).unpack()
		}
		base := entry[R]{State: statePending}
		if k := l.ent.kind(time.Now().UnixNano()); k == kindFresh || k == kindStale {
			base = l.ent // callers meanwhile keep the result there is
		}
		cl, err := e.claim(ctx, c, h, key, l.at, base, nil)
		if err != nil {
			e.st.errors.Add(1)
			if cl != nil {
				e.st.unclaimed.Add(1)
				return e.computeAndStore(ctx, cl, compute).unpack() // stored if the claim landed
			}
			return e.run(ctx, compute).unpack()
		}
		if cl != nil {
			return e.computeAndStore(ctx, cl, compute).unpack()
		}
	}
	// Others keep changing the entry: compute without storing.
	return e.run(ctx, compute).unpack()
}
