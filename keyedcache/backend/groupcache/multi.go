package groupcache

import (
	"context"
	"errors"
	"sync"
	"time"
)

// fanout runs fn for every peer at once and returns the errors.
func (b *Backend) fanout(fn func(peer string) error) []error {
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for _, peer := range b.n.opts.Peers {
		wg.Go(func() {
			if err := fn(peer); err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return errs
}

// spread applies to every peer the bumps bumpsFor gives it, and waits.
// It outlives the caller's cancellation: a peer that misses a bump
// serves old copies until the time bucket ends. A peer that does not
// answer is logged and counted, not reported: what it holds is bounded
// by MaxStale.
func (b *Backend) spread(_ context.Context, bumpsFor func(peer string) []bump) {
	b.fanout(func(peer string) error {
		bumps := bumpsFor(peer)
		if len(bumps) == 0 {
			return nil
		}
		if peer == b.n.opts.Self {
			for _, bm := range bumps {
				b.sp.gens.apply(bm)
			}
			return nil
		}
		if err := b.n.bumpQueue(b.sp, peer).send(bumps); err != nil {
			b.n.bumpFailures.Add(int64(len(bumps)))
			b.n.warn("a peer missed an invalidation; it may serve old values until its time bucket ends", "peer", peer, "max_stale", b.n.opts.MaxStale, "err", err)
		}
		return nil
	})
}

// A bumpQueue sends the bumps meant for one peer and namespace, in one
// request for all the writers waiting at that moment: while a request is
// on its way, the bumps of the writes that finish meanwhile queue up and
// leave together next (group commit). Each bump leaves once, so no
// retries: applied twice, a bump would undo itself.
type bumpQueue struct {
	n    *node
	sp   *space
	peer string

	mu      sync.Mutex
	pending []bump
	waiters []chan error
	busy    bool
}

func (n *node) bumpQueue(sp *space, peer string) *bumpQueue {
	key := peer + " " + sp.ns
	if q, ok := n.queues.Load(key); ok {
		return q.(*bumpQueue)
	}
	q, _ := n.queues.LoadOrStore(key, &bumpQueue{n: n, sp: sp, peer: peer})
	return q.(*bumpQueue)
}

// send queues bumps and waits until a request carrying them is answered.
func (q *bumpQueue) send(bumps []bump) error {
	done := make(chan error, 1)
	q.mu.Lock()
	q.pending = append(q.pending, bumps...)
	q.waiters = append(q.waiters, done)
	if !q.busy {
		q.busy = true
		go q.run()
	}
	q.mu.Unlock()
	return <-done
}

func (q *bumpQueue) run() {
	for {
		q.mu.Lock()
		bumps, waiters := q.pending, q.waiters
		q.pending, q.waiters = nil, nil
		if len(waiters) == 0 {
			q.busy = false
			q.mu.Unlock()
			return
		}
		q.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), q.n.opts.PeerTimeout)
		_, err := q.n.call(ctx, q.sp, q.peer, &request{op: opBump, bumps: bumps}, q.n.opts.PeerTimeout)
		cancel()
		for _, w := range waiters {
			w <- err
		}
	}
}

// GetMany reads keys through groupcache, several at a time. The map holds
// the keys found; the error joins the reads that failed.
func (b *Backend) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	var (
		mu    sync.Mutex
		found = make(map[string][]byte, len(keys))
		errs  []error
		wg    sync.WaitGroup
		sem   = make(chan struct{}, 16)
	)
	for _, k := range keys {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			v, ok, err := b.Get(ctx, k)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs = append(errs, err)
			} else if ok {
				found[k] = v
			}
		})
	}
	wg.Wait()
	return found, errors.Join(errs...)
}

// SetMany stores every item for ttl: one request to each owner, then one
// bump message to each peer.
func (b *Backend) SetMany(ctx context.Context, items map[string][]byte, ttl time.Duration) error {
	its := make([]item, 0, len(items))
	for k, v := range items {
		its = append(its, item{key: k, value: v, ttl: int64(ttl)})
	}
	_, err := b.writeMany(ctx, opSet, its)
	return err
}

// DeleteMany removes keys and returns how many live entries their owners
// had.
func (b *Backend) DeleteMany(ctx context.Context, keys []string) (int, error) {
	its := make([]item, len(keys))
	for i, k := range keys {
		its[i] = item{key: k}
	}
	rs, err := b.writeMany(ctx, opDelete, its)
	n := 0
	for _, r := range rs {
		if r.found {
			n++
		}
	}
	return n, err
}

// writeMany is write for many keys, grouped by owner.
func (b *Backend) writeMany(ctx context.Context, op byte, its []item) ([]result, error) {
	if b.closed.Load() {
		return nil, ErrClosed
	}
	type batch struct {
		items []item
		bumps []bump
		res   []result
	}
	byOwner := map[string]*batch{}
	for _, it := range its {
		o := b.n.owner(it.key)
		bt := byOwner[o]
		if bt == nil {
			bt = &batch{}
			byOwner[o] = bt
		}
		bt.items = append(bt.items, it)
		bt.bumps = append(bt.bumps, keyBump(it.key))
	}
	var (
		mu   sync.Mutex
		errs []error
		wg   sync.WaitGroup
	)
	for owner, bt := range byOwner {
		wg.Go(func() {
			resp, err := b.n.call(ctx, b.sp, owner, &request{op: op, items: bt.items, bumps: bt.bumps}, b.n.opts.PeerTimeout)
			if err != nil {
				mu.Lock()
				errs = append(errs, err)
				mu.Unlock()
				return
			}
			bt.res = resp.results
		})
	}
	wg.Wait()
	b.spread(ctx, func(peer string) []bump {
		var out []bump
		for owner, bt := range byOwner {
			if owner != peer { // the owner applied its own
				out = append(out, bt.bumps...)
			}
		}
		return out
	})
	var all []result
	for _, bt := range byOwner {
		all = append(all, bt.res...)
	}
	return all, errors.Join(errs...)
}

// ScanKeys lists the keys that start with prefix on every peer. The
// listing is incomplete (complete false, no error) when a peer does not
// answer.
func (b *Backend) ScanKeys(ctx context.Context, prefix string, fn func(key string) bool) (bool, error) {
	if b.closed.Load() {
		return false, ErrClosed
	}
	var (
		mu   sync.Mutex
		keys = map[string]struct{}{}
	)
	errs := b.fanout(func(peer string) error {
		resp, err := b.n.call(ctx, b.sp, peer, &request{op: opScan, items: []item{{key: prefix}}}, b.n.opts.PeerTimeout)
		if err != nil {
			return err
		}
		mu.Lock()
		for _, k := range resp.keys {
			keys[k] = struct{}{}
		}
		mu.Unlock()
		return nil
	})
	if err := ctx.Err(); err != nil {
		return false, err
	}
	for k := range keys {
		if !fn(k) {
			break
		}
	}
	if len(errs) > 0 {
		b.n.warn("a key listing missed peers", "err", errors.Join(errs...))
		return false, nil
	}
	return true, nil
}
