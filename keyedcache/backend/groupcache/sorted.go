package groupcache

import (
	"context"
	"errors"
	"sync"

	"keyedcache.dev/internal/keyheap"
)

// firstBatch is how many keys a sorted listing asks each peer for at
// first: a page of the staff page (51 keys) spread over a few peers takes
// one request to each, all in parallel. A peer whose batch runs out is
// asked for the next one, twice as large, up to maxBatch.
const (
	firstBatch = 64
	maxBatch   = 4096
)

// ScanKeysAfter calls fn, in byte order, with every live key that starts
// with prefix and sorts after after ("" lists from the first), until fn
// returns false. Each peer lists its own entries in order from the
// cursor (its memory store keeps them sorted), a batch at a time, and
// the batches are merged here: a page of keys costs a request to each
// peer and the page, however many keys the peers hold. The listing is
// incomplete (complete false, no error) when a peer does not answer.
func (b *Backend) ScanKeysAfter(ctx context.Context, prefix, after string, fn func(key string) bool) (bool, error) {
	if b.closed.Load() {
		return false, ErrClosed
	}
	var (
		mu    sync.Mutex
		pcs   []*peerCursor
		fails []error
	)
	b.fanout(func(peer string) error {
		pc := &peerCursor{peer: peer, n: firstBatch}
		err := b.fillCursor(ctx, pc, prefix, after)
		mu.Lock()
		defer mu.Unlock()
		if err != nil {
			fails = append(fails, err)
		} else if len(pc.keys) > 0 {
			pcs = append(pcs, pc)
		}
		return nil
	})
	if err := ctx.Err(); err != nil {
		return false, err
	}
	h := keyheap.Init(pcs)
	last, emitted := "", false
	for h.Len() > 0 {
		pc := h.Min()
		key := pc.keys[0]
		pc.keys = pc.keys[1:]
		if len(pc.keys) == 0 && pc.more {
			if err := b.fillCursor(ctx, pc, prefix, key); err != nil {
				if ctx.Err() != nil {
					return false, ctx.Err()
				}
				fails = append(fails, err)
			}
		}
		if len(pc.keys) > 0 {
			h.Fix()
		} else {
			h.Drop()
		}
		if emitted && key == last {
			continue // a key two peers hold while ownership moves
		}
		last, emitted = key, true
		if !fn(key) {
			break
		}
	}
	if len(fails) > 0 {
		b.n.warn("a sorted key listing missed peers", "err", errors.Join(fails...))
		return false, nil
	}
	return true, nil
}

// fillCursor asks pc's peer for its next batch of keys after after.
func (b *Backend) fillCursor(ctx context.Context, pc *peerCursor, prefix, after string) error {
	resp, err := b.n.call(ctx, b.sp, pc.peer, &request{op: opScanAfter,
		items: []item{{key: prefix, old: []byte(after), delta: int64(pc.n)}}}, b.n.opts.PeerTimeout)
	if err != nil {
		pc.keys, pc.more = nil, false
		return err
	}
	pc.keys, pc.more = resp.keys, resp.n != 0
	pc.n = min(2*pc.n, maxBatch)
	return nil
}

// scanAfter is a peer's part of ScanKeysAfter: up to limit of its keys
// under prefix after after, in order, and whether it may hold more.
func scanAfter(ctx context.Context, sp *space, it item, resp *response) error {
	limit := int(min(max(it.delta, 1), maxBatch))
	_, err := sp.store.ScanKeysAfter(ctx, it.key, string(it.old), func(k string) bool {
		resp.keys = append(resp.keys, k)
		return len(resp.keys) < limit
	})
	if len(resp.keys) == limit {
		resp.n = 1
	}
	return err
}

// peerCursor is a sorted listing's place in one peer's keys.
type peerCursor struct {
	peer string
	keys []string // read and not yet merged
	n    int      // the size of the next batch
	more bool     // the peer may hold keys after the last one read
}

// Head returns the cursor's next key, for keyheap.
func (pc *peerCursor) Head() string { return pc.keys[0] }
