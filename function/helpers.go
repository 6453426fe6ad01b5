package function

import (
	"context"
	"time"

	"keyedcache.dev/keyedcache"
)

// peek reads key's result without computing.
func (e *engine[R]) peek(ctx context.Context, key string) (R, error) {
	var zero R
	c, _, err := e.cache()
	if err != nil {
		return zero, &keyedcache.NotCachedError{Key: key, Err: err}
	}
	data, ok, err := c.GetBytes(ctx, key)
	if err != nil {
		e.st.errors.Add(1)
		return zero, &keyedcache.NotCachedError{Key: key, Err: err}
	}
	var ent entry[R]
	if !ok || decodeEntry(c, e.headOf(c), data, &ent) != nil {
		return zero, &keyedcache.NotCachedError{Key: key}
	}
	switch ent.kind(time.Now().UnixNano()) {
	case kindFresh:
		return e.answer(key, &ent)
	case kindStale:
		return ent.V, nil
	}
	return zero, &keyedcache.NotCachedError{Key: key}
}

// store stores r as key's result.
func (e *engine[R]) store(ctx context.Context, key string, r R) error {
	c, _, err := e.cache()
	if err != nil {
		return err
	}
	ttl := e.ttl(c)
	ent := entry[R]{State: stateValue, V: r}
	if ttl != keyedcache.Forever && ttl > 0 {
		ent.Fresh = time.Now().Add(ttl).UnixNano()
		if e.set.stale > 0 {
			ent.Stale = ent.Fresh + int64(e.set.stale)
			ttl += e.set.stale
		}
	}
	data, err := c.Encode(ent)
	if err != nil {
		return err
	}
	e.group.Forget(e.flightKey(key))
	if e.headOf(c).fill != nil {
		// Forget the results filled under key; the owner's fill
		// returns this one from now on.
		if err := c.DeleteChildren(ctx, key); err != nil {
			return err
		}
	}
	return c.SetBytes(ctx, key, data, keyedcache.TTL(ttl))
}

// delete removes key's result.
func (e *engine[R]) delete(ctx context.Context, key string) error {
	c, _, err := e.cache()
	if err != nil {
		return err
	}
	e.group.Forget(e.flightKey(key))
	if e.headOf(c).fill != nil {
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
	e.st.epoch.Add(1)
	return c.DeleteChildren(ctx, h.key)
}

// refresh computes key's result and stores it, whatever is cached.
func (e *engine[R]) refresh(ctx context.Context, key string, compute func(context.Context) (R, error)) (R, error) {
	c, _, _ := e.cache()
	if c == nil || !c.Enabled() || e.ttl(c) <= 0 {
		return e.run(ctx, compute).unpack()
	}
	e.group.Forget(e.flightKey(key))
	if e.headOf(c).fill != nil {
		res := e.run(ctx, compute)
		if res.pe == nil && res.err == nil {
			if err := e.store(ctx, key, res.v); err != nil {
				e.st.errors.Add(1)
			}
		}
		return res.unpack()
	}
	for range 8 {
		data, ok, err := c.GetBytes(ctx, key)
		if err != nil {
			e.st.errors.Add(1)
			return e.run(ctx, compute).unpack()
		}
		base := entry[R]{State: statePending}
		var ent entry[R]
		if ok && decodeEntry(c, e.headOf(c), data, &ent) == nil {
			if k := ent.kind(time.Now().UnixNano()); k == kindFresh || k == kindStale {
				base = ent // callers meanwhile keep the result there is
			}
		}
		if !ok {
			data = nil
		}
		l, err := e.claim(ctx, c, key, data, base)
		if err != nil {
			e.st.errors.Add(1)
			return e.run(ctx, compute).unpack()
		}
		if l != nil {
			return e.computeAndStore(ctx, l, compute).unpack()
		}
	}
	// Others keep changing the entry: compute without storing.
	return e.run(ctx, compute).unpack()
}
