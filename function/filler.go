package function

import (
	"context"
	"encoding/base64"
	"strings"
	"time"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
)

// On a backend that fills (backend.Filler: groupcache), the processes
// already cooperate so that one computes each cold key: the peer that
// owns the key. There a call asks the backend to Fill a key that carries
// the call's encoded arguments, and the owner decodes them and runs the
// function; claims and polling are not used. Fill results follow the
// backend's rules: groupcache keeps them for TTL-wide time buckets, so a
// result is never older than the TTL but may be recomputed sooner, and
// WithStale, WithErrorTTL, WithLease and WithMaxWait do not apply.
//
// A call does not read the plain entry first (on groupcache a missing
// entry costs a request to a peer): a result stored with Set lives in the
// plain entry, and the owner's fill returns it rather than compute.

// fillMarker separates a call's key from its encoded arguments in the
// key given to Fill; the key's children are forgotten with it.
const fillMarker = "::%a"

// invoker decodes a call's arguments (as the typed wrapper encoded them)
// and calls the function with them.
type invoker[R any] func(ctx context.Context, c *keyedcache.Cache, args []byte) (R, error)

// filler returns c's backend as a Filler, if it is one.
func filler(c *keyedcache.Cache) backend.Filler {
	if c == nil {
		return nil
	}
	f, _ := c.Backend().(backend.Filler)
	return f
}

// register registers the function's fill with c's backend once. An
// error (the name taken by another wrapper of the same name, for one) is
// not fatal: Fill then fails or finds the other registration, and a
// failed Fill computes here.
func (e *engine[R]) register(c *keyedcache.Cache, f backend.Filler) {
	if e.invoke == nil {
		return
	}
	if _, done := e.registered.LoadOrStore(f, true); done {
		return
	}
	f.RegisterFill(e.name, func(ctx context.Context, key string) ([]byte, error) {
		return e.fill1(ctx, c, key)
	})
}

// fill1 is the fill the owning peer runs: the result stored with Set if
// there is one, else the function's result for the arguments in key.
func (e *engine[R]) fill1(ctx context.Context, c *keyedcache.Cache, fkey string) (data []byte, err error) {
	i := strings.LastIndex(fkey, fillMarker)
	if i < 0 {
		return nil, errMalformedFill
	}
	key := fkey[:i]
	if data, ok, err := c.GetBytes(ctx, key); err == nil && ok {
		var ent entry[R]
		if decodeEntry(c, e.headOf(c), data, &ent) == nil && ent.kind(time.Now().UnixNano()) == kindFresh && ent.State == stateValue {
			return data, nil
		}
	}
	args, err := base64.RawURLEncoding.DecodeString(fkey[i+len(fillMarker):])
	if err != nil {
		return nil, errMalformedFill
	}
	res := e.run(ctx, func(ctx context.Context) (R, error) { return e.invoke(ctx, c, args) })
	if p, ok := ctx.Value(probeKey{}).(*probe[R]); ok {
		p.ran, p.res = true, res // the caller is in this process: it takes the result as it is
	}
	switch {
	case res.pe != nil:
		return nil, res.pe
	case res.err != nil:
		return nil, res.err
	}
	return c.Encode(entry[R]{State: stateValue, V: res.v})
}

// A probe rides in the context of a Fill: when the fill runs in the
// calling process, it leaves the result there, so that an error or a
// panic reaches the callers as it is rather than as Fill's error.
type probe[R any] struct {
	ran bool
	res result[R]
}

type probeKey struct{}

// args2 and args3 carry the arguments of Func2 and Func3 through Fill.
type args2[A, B any] struct {
	A A
	B B
}

type args3[A, B, C any] struct {
	A A
	B B
	C C
}

// decodeArgs decodes what Encode made of a call's arguments.
func decodeArgs[T any](c *keyedcache.Cache, data []byte) (T, error) {
	var v T
	err := c.Decode(data, &v)
	return v, err
}

type fillError string

func (e fillError) Error() string { return string(e) }

const errMalformedFill = fillError("function: malformed fill key")

// viaFill answers a call through the backend's Fill, once for every
// caller in this process. When the fill ran here, its result is the
// answer, error and panic included. Any failure of Fill elsewhere — the
// owner down, the function's error or panic there — makes this process
// compute itself, so that callers get the function's own error or panic.
func (e *engine[R]) viaFill(ctx context.Context, c *keyedcache.Cache, key string, args func() ([]byte, error), compute func(context.Context) (R, error)) (R, error) {
	e.st.fills.Add(1)
	f := e.headOf(c).fill
	data, err := args()
	if err != nil { // arguments the codec cannot encode: no Fill
		e.st.misses.Add(1)
		return e.flight(ctx, c, e.headOf(c), key, fillNow, true, compute)
	}
	fkey := key + fillMarker + base64.RawURLEncoding.EncodeToString(data)
	ttl := e.ttl(c)
	if ttl == keyedcache.Forever {
		ttl = backend.NoExpiry
	}
	gk := e.flightKey(fkey)
	if m, ok := e.fillMarks.Load(gk); ok && c.InvalidatedSince(m.(uint64), key) {
		// The fill under way began before a delete of key made here: a
		// call after the delete starts one of its own (see flights.join).
		e.group.Forget(gk)
	}
	ch := e.group.DoChan(gk, func() (any, error) {
		mark := c.Invalidations()
		e.fillMarks.Store(gk, mark)
		defer e.fillMarks.CompareAndDelete(gk, mark)
		p := new(probe[R])
		ctx := context.WithValue(context.WithoutCancel(ctx), probeKey{}, p)
		data, err := f.Fill(ctx, e.name, fkey, ttl)
		if p.ran {
			return p.res, nil
		}
		var ent entry[R]
		if err == nil && decodeEntry(c, e.headOf(c), data, &ent) == nil && ent.State == stateValue {
			return result[R]{v: ent.V}, nil
		}
		e.st.errors.Add(1)
		return e.run(ctx, compute), nil
	})
	select {
	case r := <-ch:
		return r.Val.(result[R]).unpack()
	case <-ctx.Done():
		var zero R
		return zero, ctx.Err()
	}
}
