package groupcache

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	gc "github.com/golang/groupcache"

	"keyedcache.dev/keyedcache/backend"
)

// ErrClosed is returned by every call on a closed Backend.
var ErrClosed = backend.ClosedError("groupcache")

// Backend is one namespace of the process's groupcache node. It
// implements backend.Backend, backend.Filler and the optional interfaces
// Multi, PrefixDeleter, Toucher, Incrementer, CompareAndSwapper,
// KeyLister, TTLReader, Statser and Pinger. Its methods are safe for
// concurrent use.
type Backend struct {
	n      *node
	sp     *space
	closed atomic.Bool
}

var (
	_ backend.Backend           = (*Backend)(nil)
	_ backend.Filler            = (*Backend)(nil)
	_ backend.Multi             = (*Backend)(nil)
	_ backend.PrefixDeleter     = (*Backend)(nil)
	_ backend.Toucher           = (*Backend)(nil)
	_ backend.Incrementer       = (*Backend)(nil)
	_ backend.CompareAndSwapper = (*Backend)(nil)
	_ backend.KeyLister         = (*Backend)(nil)
	_ backend.SortedKeyLister   = (*Backend)(nil)
	_ backend.TTLReader         = (*Backend)(nil)
	_ backend.Statser           = (*Backend)(nil)
	_ backend.Pinger            = (*Backend)(nil)
)

// New returns a Backend on the namespace o.Namespace of this process's
// node, starting the node (and, unless o.Mount, its listener on Self) on
// first use. A bad option, or one that differs from the node's, is a
// *backend.ConfigError naming the URL parameter; a listener that cannot
// start is a plain error.
func New(o Options) (*Backend, error) {
	o, err := o.withDefaults()
	if err != nil {
		return nil, err
	}
	n, err := attach(o)
	if err != nil {
		return nil, err
	}
	return &Backend{n: n, sp: n.space(o.Namespace)}, nil
}

// Namespace returns the backend's namespace.
func (b *Backend) Namespace() string { return b.sp.ns }

// Self returns this process's base URL.
func (b *Backend) Self() string { return b.n.opts.Self }

// Owner returns the base URL of the peer that stores key's Set entries.
func (b *Backend) Owner(key string) string { return b.n.owner(key) }

// Close closes this Backend value. The node keeps serving the other
// peers until the process exits: groupcache cannot unregister its pool.
func (b *Backend) Close() error {
	b.closed.Store(true)
	return nil
}

// Get reads key through groupcache: from this process's copy, from the
// peer groupcache picks for the key's current stamp, or from the key's
// owner, which that peer asks once per stamp and time bucket. A client
// asks the owner.
func (b *Backend) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if b.closed.Load() {
		return nil, false, ErrClosed
	}
	if b.n.client {
		return b.getFromOwner(ctx, key)
	}
	var blob []byte
	if err := b.sp.get.Get(ctx, b.sp.getKey(key), gc.AllocatingByteSliceSink(&blob)); err != nil {
		var od *ownerDownError
		if errors.As(err, &od) {
			return nil, false, od.PeerError
		}
		return nil, false, err
	}
	v, found := readBlob(blob, time.Now())
	return v, found, nil
}

// getFromOwner is a client's Get: it asks the key's owner.
func (b *Backend) getFromOwner(ctx context.Context, key string) ([]byte, bool, error) {
	resp, err := b.n.call(ctx, b.sp, b.n.owner(key), &request{op: opGet, items: []item{{key: key}}}, b.n.opts.PeerTimeout)
	if err != nil {
		return nil, false, err
	}
	if len(resp.results) != 1 {
		return nil, false, errWire
	}
	r := resp.results[0]
	if !r.found || r.deadline != 0 && time.Now().UnixNano() >= r.deadline {
		return nil, false, nil
	}
	return r.value, true, nil
}

// getKey is the groupcache key under which key is read now.
func (sp *space) getKey(key string) string {
	return groupKey(key, bucket(key, time.Now(), sp.n.opts.MaxStale), sp.gens.stamp(key))
}

// write sends one write of key to its owner, with the bump of key's
// generation, then the bump to every other peer.
func (b *Backend) write(ctx context.Context, op byte, it item) (result, error) {
	if b.closed.Load() {
		return result{}, ErrClosed
	}
	bm := keyBump(it.key)
	owner := b.n.owner(it.key)
	resp, err := b.n.call(ctx, b.sp, owner, &request{op: op, items: []item{it}, bumps: []bump{bm}}, b.n.opts.PeerTimeout)
	var r result
	if err == nil {
		if len(resp.results) > 0 {
			r = resp.results[0]
		}
		if !changed(op, r) {
			return r, nil
		}
	}
	// Also after an error: the write may have landed.
	b.spread(ctx, func(peer string) []bump {
		if peer == owner {
			return nil
		}
		return []bump{bm}
	})
	return r, err
}

// changed reports whether a write changed the entry.
func changed(op byte, r result) bool {
	switch op {
	case opAdd, opCAS:
		return r.found
	case opIncr, opTouch:
		return r.code == codeOK
	}
	return true
}

// Set stores value under key on the key's owner for ttl.
func (b *Backend) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	_, err := b.write(ctx, opSet, item{key: key, value: value, ttl: int64(ttl)})
	return err
}

// Add stores value under key unless a live entry is there, and reports
// whether it did. The key's owner decides, so of many concurrent Adds in
// any processes exactly one succeeds.
func (b *Backend) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	r, err := b.write(ctx, opAdd, item{key: key, value: value, ttl: int64(ttl)})
	return r.found && err == nil, err
}

// Delete removes key and reports whether its owner had a live entry.
func (b *Backend) Delete(ctx context.Context, key string) (bool, error) {
	r, err := b.write(ctx, opDelete, item{key: key})
	return r.found && err == nil, err
}

// Incr adds delta to the decimal integer stored under key, atomically on
// the key's owner, keeping the entry's deadline.
func (b *Backend) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	r, err := b.write(ctx, opIncr, item{key: key, delta: delta})
	if err != nil {
		return 0, err
	}
	if err := errOf(r.code); err != nil {
		return 0, err
	}
	return r.n, nil
}

// CompareAndSwap stores value under key for ttl only if the live entry's
// bytes equal old, atomically on the key's owner.
func (b *Backend) CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error) {
	r, err := b.write(ctx, opCAS, item{key: key, old: old, value: value, ttl: int64(ttl)})
	return r.found && err == nil, err
}

// Touch gives the live entry under key a new ttl.
func (b *Backend) Touch(ctx context.Context, key string, ttl time.Duration) error {
	r, err := b.write(ctx, opTouch, item{key: key, ttl: int64(ttl)})
	if err != nil {
		return err
	}
	return errOf(r.code)
}

// TTL asks the key's owner for the entry's remaining time to live.
func (b *Backend) TTL(ctx context.Context, key string) (time.Duration, bool, error) {
	if b.closed.Load() {
		return 0, false, ErrClosed
	}
	resp, err := b.n.call(ctx, b.sp, b.n.owner(key), &request{op: opTTL, items: []item{{key: key}}}, b.n.opts.PeerTimeout)
	if err != nil {
		return 0, false, err
	}
	if len(resp.results) != 1 {
		return 0, false, errWire
	}
	r := resp.results[0]
	return time.Duration(r.n), r.found, nil
}

// Clear removes every entry of the namespace from every peer, then
// changes the namespace's generation everywhere. A peer that does not
// answer keeps its entries, which come back when it does: the error
// names it.
func (b *Backend) Clear(ctx context.Context) error {
	if b.closed.Load() {
		return ErrClosed
	}
	_, err := b.everywhere(ctx, "clear", &request{op: opClear}, bump{table: tableSpace, token: newToken()})
	return err
}

// DeletePrefix removes every key that starts with prefix from every
// peer, then changes the generation that hides their copies (see the
// package documentation) everywhere, and returns how many live entries
// the peers removed. A peer that does not answer keeps its entries,
// which come back when it does: the error names it.
func (b *Backend) DeletePrefix(ctx context.Context, prefix string) (int, error) {
	if b.closed.Load() {
		return 0, ErrClosed
	}
	n, err := b.everywhere(ctx, "delete_prefix", &request{op: opDeletePrefix, items: []item{{key: prefix}}}, prefixBump(prefix))
	return int(n), err
}

// everywhere runs req on every peer at once and, once all have answered,
// spreads bm: no peer's stamp moves on while another peer could still
// hand out an entry the request removes.
func (b *Backend) everywhere(ctx context.Context, what string, req *request, bm bump) (int64, error) {
	var total atomic.Int64
	errs := b.fanout(func(peer string) error {
		r := *req
		resp, err := b.n.call(ctx, b.sp, peer, &r, b.n.opts.PeerTimeout)
		if err == nil {
			total.Add(resp.n)
		}
		return err
	})
	b.spread(ctx, func(string) []bump { return []bump{bm} })
	if len(errs) > 0 {
		return total.Load(), fmt.Errorf("groupcache: %s reached %d of %d peers; the others keep their entries: %w", what, len(b.n.opts.Peers)-len(errs), len(b.n.opts.Peers), errors.Join(errs...))
	}
	return total.Load(), nil
}
