package groupcache

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	gc "github.com/golang/groupcache"
	"github.com/golang/groupcache/singleflight"

	"keyedcache.dev/keyedcache/backend"
)

// A fillGroup is one name registered with RegisterFill: a groupcache
// group whose getter is the fill.
type fillGroup struct {
	sp    *space
	fill  backend.FillFunc
	g     *gc.Group          // nil in a client
	local singleflight.Group // a client's own computations
}

// RegisterFill registers fill under name in this process's namespace.
// Every peer must register the same names before the others call Fill
// with them: a peer asked for a name it does not know answers "no such
// group", and the asking peer then computes the value itself. A client
// registers its names too: it computes with them when no peer answers.
func (b *Backend) RegisterFill(name string, fill backend.FillFunc) error {
	if b.closed.Load() {
		return ErrClosed
	}
	if name == "" || fill == nil {
		return errors.New("groupcache: RegisterFill needs a name and a fill function")
	}
	sp := b.sp
	sp.fillMu.Lock()
	defer sp.fillMu.Unlock()
	if _, dup := sp.fills[name]; dup {
		return fmt.Errorf("groupcache: fill %q is already registered in namespace %s of this process", name, sp.ns)
	}
	fg := &fillGroup{sp: sp, fill: fill}
	if !b.n.client {
		group := b.n.peers.fillPrefix + sp.ns + "." + url.PathEscape(name)
		if gc.GetGroup(group) != nil {
			return fmt.Errorf("groupcache: a groupcache group %q already exists in this process", group)
		}
		fg.g = gc.NewGroup(group, b.n.opts.CacheBytes, gc.GetterFunc(fg.load))
	}
	sp.fills[name] = fg
	return nil
}

// Fill returns the value of key under the fill registered as name: from
// this process's copy, from the peer groupcache picks for the key, which
// computes it once for every process asking, or computed here when that
// peer does not answer within FillTimeout. The value is computed again
// once ttl has passed (at the end of the key's ttl-wide time bucket, so
// never served older than ttl; NoExpiry: never) and once Delete,
// DeletePrefix or Clear covers key. A fill error is returned, not kept.
// A client asks the key's owner to Fill for it.
func (b *Backend) Fill(ctx context.Context, name, key string, ttl time.Duration) ([]byte, error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	if ttl < 0 {
		return nil, fmt.Errorf("groupcache: Fill ttl %v is negative", ttl)
	}
	return b.sp.fill(ctx, name, key, ttl)
}

// errNoFill is the error of a Fill with a name this process has not
// registered.
var errNoFill = errors.New("is not registered in this process (RegisterFill)")

func (sp *space) fillGroup(name string) (*fillGroup, error) {
	sp.fillMu.Lock()
	defer sp.fillMu.Unlock()
	fg := sp.fills[name]
	if fg == nil {
		return nil, fmt.Errorf("groupcache: fill %q %w", name, errNoFill)
	}
	return fg, nil
}

func (sp *space) fill(ctx context.Context, name, key string, ttl time.Duration) ([]byte, error) {
	fg, err := sp.fillGroup(name)
	if err != nil {
		return nil, err
	}
	if sp.n.client {
		return fg.fillFor(ctx, name, key, ttl)
	}
	gk := groupKey(key, bucket(key, time.Now(), ttl), sp.gens.stamp(key))
	ctx, _ = withRecorder(ctx)
	var v []byte
	if err := fg.g.Get(ctx, gk, gc.AllocatingByteSliceSink(&v)); err != nil {
		var fe *fillError
		if errors.As(err, &fe) {
			return nil, fe.err
		}
		return nil, err
	}
	return v, nil
}

// fillFor is a client's Fill: the key's owner fills, through groupcache;
// when it does not answer or does not know name, the client computes
// the value itself (once per key at a time in this process) and keeps
// nothing.
func (fg *fillGroup) fillFor(ctx context.Context, name, key string, ttl time.Duration) ([]byte, error) {
	n, sp := fg.sp.n, fg.sp
	owner := n.owner(key)
	resp, err := n.call(ctx, sp, owner, &request{op: opFill, items: []item{{key: key, value: []byte(name), ttl: int64(ttl)}}}, n.opts.FillTimeout)
	if err == nil && len(resp.results) == 1 {
		switch r := resp.results[0]; r.code {
		case codeOK:
			return r.value, nil
		case codeFillFailed:
			return nil, &remoteFillError{peer: owner, msg: string(r.value)}
		}
	} else if ctx.Err() != nil {
		return nil, err
	}
	v, err := fg.local.Do(key, func() (any, error) { return fg.fill(ctx, key) })
	if err != nil {
		return nil, err
	}
	return v.([]byte), nil
}

// fillHere answers a client's opFill.
func (sp *space) fillHere(ctx context.Context, it item) result {
	v, err := sp.fill(ctx, string(it.value), it.key, time.Duration(it.ttl))
	var fe *remoteFillError
	switch {
	case err == nil:
		return result{value: v}
	case errors.Is(err, errNoFill):
		return result{code: codeNoFill}
	case errors.As(err, &fe):
		return result{code: codeFillFailed, value: []byte(fe.msg)}
	}
	return result{code: codeFillFailed, value: []byte(err.Error())}
}

// load is the getter of a fill group. After the owning peer failed the
// fill, groupcache calls it in the asking peer too; it then returns the
// owner's error instead of computing again.
func (fg *fillGroup) load(ctx context.Context, gk string, dest gc.Sink) error {
	if rec := recorderFrom(ctx); rec != nil {
		if e := rec.fillErr.Load(); e != nil {
			return e
		}
	}
	key, ok := keyOf(gk)
	if !ok {
		return fmt.Errorf("groupcache: malformed key %q", gk)
	}
	v, err := fg.fill(ctx, key)
	if err != nil {
		return &fillError{err}
	}
	return dest.SetBytes(v)
}

// fillError carries a fill's error; its text, sent to an asking peer,
// starts with a marker that peer's transport looks for.
type fillError struct{ err error }

func (e *fillError) Error() string { return markFillError + e.err.Error() }
func (e *fillError) Unwrap() error { return e.err }
