package keyedcache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"keyedcache.dev/keyedcache/backend"
)

// Invalidations that wait for the backend.
//
// A delete, delete-with-children, delete-many or clear that cannot reach
// the backend is not forgotten: it is kept, in order, in a bounded queue
// of its Cache and replayed when the backend answers again. A write (Set,
// SetMany, SetBytes, CompareAndSwap, Incr, Touch) that fails is queued
// as a delete of its key: the caller changed its data and wanted the
// cache to follow, and the backend may still hold the value from before,
// so that value is removed rather than kept until its TTL.
//
// While the queue holds anything, every operation first waits for one
// replay attempt (one at a time, shared by every operation arriving
// meanwhile), and a background retrier with backoff replays it too, so
// that an idle process recovers as well. An operation on a key that a
// queued invalidation still covers — the key, a key it continues, or
// every key after a queued clear — does not reach any tier or the
// backend: a read is a miss, a write stores nothing (the byte-level
// methods that package function uses return ErrInvalidationPending, so a
// cached function computes without storing). Other keys go on as usual.
//
// The queue keeps up to MaxPendingInvalidations entries. A delete of a
// key already covered adds nothing; a delete with children replaces the
// entries beneath it; a clear replaces everything. When the queue would
// grow past its bound, it is folded into something coarser that is
// still correct: one clear of the alias when the alias can clear (it has
// a key prefix, or its backend deletes by prefix), otherwise — memcached
// without a key_prefix, whose Clear may be refused — one delete with
// children per first key segment ("product", "func", …). The entries
// folded are counted in Stats.OverflowedInvalidations.
//
// The queue lives in this process only. Until the replay reaches the
// backend, other processes sharing it can still read the old value; see
// the package documentation's Failure section.

// MaxPendingInvalidations bounds the invalidations one Cache keeps
// queued while its backend cannot be reached; past it the queue is
// folded into a clear of the alias, or into deletes with children of
// first key segments (see Stats.OverflowedInvalidations).
const MaxPendingInvalidations = 1024

// ErrInvalidationPending is matched (errors.Is) by the error of a delete,
// delete-with-children, delete-many or clear that could not reach the
// backend and is queued for replay, and by the error of an operation
// refused because a queued invalidation covers its key. Such errors wrap
// the backend's failure too, when there was one.
var ErrInvalidationPending = errors.New("keyedcache: invalidation pending")

// pendingErr is the error of an operation that met a queued
// invalidation; cause is the backend's failure, if any.
func pendingErr(cause error) error {
	if cause == nil {
		return ErrInvalidationPending
	}
	return fmt.Errorf("%w until the backend answers: %w", ErrInvalidationPending, cause)
}

// replayTimeout bounds one replay attempt, in case a backend's own
// timeouts do not: a new attempt can start after it.
const replayTimeout = 30 * time.Second

// Retrier backoff: the first retry comes after retryMin, then the wait
// doubles up to retryMax (each with ±25% jitter).
const (
	retryMin = 50 * time.Millisecond
	retryMax = time.Second
)

type pendKind byte

const (
	pendKey  pendKind = iota // one key
	pendTree                 // a key and every key continuing it
	pendAll                  // every key of the alias
)

type pendOp struct {
	kind pendKind
	key  string
	seq  uint64 // order of arrival, to remove exactly what was replayed
}

// pending is a Cache's queue of invalidations waiting for the backend.
type pending struct {
	n atomic.Int64 // len(ops): 0 lets every operation skip the rest at one load

	mu       sync.Mutex
	ops      []pendOp
	keys     map[string]uint64 // the newest pendKey entry of each key, by seq
	trees    map[string]uint64 // the newest pendTree entry of each key, by seq
	all      uint64            // the pendAll entry's seq (it is then the only entry), or 0
	seq      uint64
	sent     uint64        // the entries up to this seq are being replayed now
	flight   *replayFlight // the replay attempt under way, or nil
	retrying bool          // the retrier is running
	closed   bool
	since    time.Time // when the queue last became non-empty
	burst    uint64    // invalidations replayed since then
	stop     chan struct{}

	replayed, overflowed atomic.Uint64

	logQueued, logOverflow, logDrained atomic.Int64 // last log times, one line per burst
}

type replayFlight struct {
	done chan struct{}
	err  error
}

// idle reports whether nothing is queued: the test every operation
// makes, one atomic load.
func (p *pending) idle() bool { return p.n.Load() == 0 }

// covers reports whether a queued invalidation covers key.
func (p *pending) covers(key string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.coversLocked(key, 0)
}

// coversLocked reports whether an entry after seq after covers key. An
// entry being replayed may have reached the backend already, so a new
// invalidation is covered only by entries after p.sent.
func (p *pending) coversLocked(key string, after uint64) bool {
	if p.all > after {
		return true
	}
	if seq, ok := p.keys[key]; ok && seq > after {
		return true
	}
	return p.underTreeLocked(key, after)
}

// underTreeLocked reports whether a queued delete-with-children after
// seq after covers key: one of key's prefixes at a "::" boundary, or key
// itself.
func (p *pending) underTreeLocked(key string, after uint64) bool {
	if len(p.trees) == 0 {
		return false
	}
	for i := 0; ; {
		j := strings.Index(key[i:], Sep)
		if j < 0 {
			seq, ok := p.trees[key]
			return ok && seq > after
		}
		if seq, ok := p.trees[key[:i+j]]; ok && seq > after {
			return true
		}
		i += j + len(Sep)
	}
}

// beneath reports whether key is root or continues it past "::".
func beneath(key, root string) bool {
	return key == root || strings.HasPrefix(key, root) && strings.HasPrefix(key[len(root):], Sep)
}

// queue keeps ops for replay after cause, the backend failure that kept
// them from it, and returns the error for the caller: cause wrapped with
// ErrInvalidationPending. A failure that no retry can mend (the backend
// does not support the operation) queues nothing and is returned as it is.
func (p *pending) queue(c *Cache, cause error, ops ...pendOp) error {
	if errors.Is(cause, backend.ErrNotSupported) || errors.Is(cause, backend.ErrClosed) {
		return cause // nothing to replay: the backend cannot, or is closed
	}
	p.mu.Lock()
	wasIdle := len(p.ops) == 0
	for _, op := range ops {
		p.addLocked(op)
	}
	folded := 0
	if len(p.ops) > MaxPendingInvalidations {
		folded = p.foldLocked(c)
	}
	p.n.Store(int64(len(p.ops)))
	started := wasIdle && len(p.ops) > 0
	if started {
		p.since, p.burst = time.Now(), 0
	}
	if len(p.ops) > 0 && !p.retrying && !p.closed {
		p.retrying = true
		go c.retry()
	}
	p.mu.Unlock()
	if started && once(&p.logQueued) {
		c.log.Warn("keyedcache: an invalidation could not reach the backend; it is queued, and this process serves nothing under its key until it is replayed",
			"alias", c.alias, "key", ops[0].key, "err", cause)
	}
	if folded > 0 && once(&p.logOverflow) {
		c.log.Warn("keyedcache: too many invalidations queued while the backend is unreachable; folded into a clear of the alias (or deletes with children of first key segments)",
			"alias", c.alias, "folded", folded, "limit", MaxPendingInvalidations)
	}
	return pendingErr(cause)
}

// once reports whether a line may be logged now, spacing lines of one
// kind by logEvery: one per burst.
func once(last *atomic.Int64) bool {
	now := time.Now().UnixNano()
	prev := last.Load()
	return now-prev >= int64(logEvery) && last.CompareAndSwap(prev, now)
}

// addLocked appends op unless an entry not yet being replayed covers it
// already, and drops the entries it covers (it will be replayed after
// them).
func (p *pending) addLocked(op pendOp) {
	p.seq++
	op.seq = p.seq
	switch op.kind {
	case pendKey:
		if p.coversLocked(op.key, p.sent) {
			return
		}
		if p.keys == nil {
			p.keys = make(map[string]uint64)
		}
		p.keys[op.key] = op.seq
	case pendTree:
		if p.all > p.sent || p.underTreeLocked(op.key, p.sent) {
			return
		}
		p.removeLocked(func(q pendOp) bool { return q.kind != pendAll && beneath(q.key, op.key) })
		if p.trees == nil {
			p.trees = make(map[string]uint64)
		}
		p.trees[op.key] = op.seq
	case pendAll:
		if p.all > p.sent {
			return
		}
		p.removeLocked(func(pendOp) bool { return true })
		p.all = op.seq
	}
	p.ops = append(p.ops, op)
}

// removeLocked drops the entries drop selects, keeping the order of the
// others.
func (p *pending) removeLocked(drop func(pendOp) bool) {
	kept := p.ops[:0]
	for _, q := range p.ops {
		if !drop(q) {
			kept = append(kept, q)
			continue
		}
		switch q.kind {
		case pendKey:
			if p.keys[q.key] == q.seq {
				delete(p.keys, q.key)
			}
		case pendTree:
			if p.trees[q.key] == q.seq {
				delete(p.trees, q.key)
			}
		case pendAll:
			if p.all == q.seq {
				p.all = 0
			}
		}
	}
	clear(p.ops[len(kept):])
	p.ops = kept
}

// foldLocked replaces a queue grown past its bound by coarser entries
// that still cover every key it covered, and returns how many entries it
// folded. An alias that can clear its own keys queues one clear; one
// that may not be able to (no key prefix and no prefix delete: memcached
// without key_prefix) queues a delete with children per first key
// segment.
func (p *pending) foldLocked(c *Cache) int {
	folded := len(p.ops)
	p.overflowed.Add(uint64(folded))
	if c.prefix != "" || !c.gens {
		p.removeLocked(func(pendOp) bool { return true })
		p.addLocked(pendOp{kind: pendAll})
		return folded
	}
	old := p.ops
	p.ops, p.keys, p.trees, p.all = nil, nil, nil, 0
	for _, q := range old {
		if q.kind == pendAll { // the only entry then; not reached
			p.addLocked(q)
			continue
		}
		top, _, _ := strings.Cut(q.key, Sep)
		p.addLocked(pendOp{kind: pendTree, key: top})
	}
	return folded
}

// settle replays the queued invalidations, oldest first, and returns nil
// once none is left, or the failure that stopped the replay. One replay
// runs at a time; a caller arriving meanwhile waits for it and takes its
// outcome. The replay does not stop when ctx ends (other callers share
// it; replayTimeout bounds it); the caller stops waiting.
func (c *Cache) settle(ctx context.Context) error {
	p := &c.pend
	if p.idle() {
		return nil
	}
	p.mu.Lock()
	if len(p.ops) == 0 {
		p.mu.Unlock()
		return nil
	}
	f := p.flight
	if f == nil {
		f = &replayFlight{done: make(chan struct{})}
		p.flight = f
		go func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), replayTimeout)
			err := c.replay(rctx)
			cancel()
			p.mu.Lock()
			p.flight = nil
			p.mu.Unlock()
			f.err = err
			close(f.done)
		}()
	}
	p.mu.Unlock()
	select {
	case <-f.done:
		return f.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// admit lets an operation on key proceed: after one replay attempt, nil
// if no queued invalidation covers key (the operation then goes on as
// usual, and meets the backend's failure, if any, itself), else the
// error that refuses it. A refusal after a failed replay counts as a
// backend error of the operation.
func (c *Cache) admit(ctx context.Context, key string) error {
	if c.pend.idle() {
		return nil
	}
	err := c.settle(ctx)
	if !c.pend.covers(key) {
		return nil
	}
	if err != nil {
		c.stats.shard().errors.Add(1) // logged by the replay, once per burst
	}
	return pendingErr(err)
}

// replayBatch is the most keys one replay step deletes in one round trip.
const replayBatch = 256

// replay sends the queued invalidations to the backend in order, until
// none is left (nil) or one fails (its error). What it replayed is
// logged for the process tiers of the other processes, as a delete that
// reached the backend at once would have been.
func (c *Cache) replay(ctx context.Context) error {
	p := &c.pend
	for {
		batch := p.front(c.multi != nil && !c.gens)
		if len(batch) == 0 {
			return nil
		}
		err := c.replayOps(ctx, batch)
		if err != nil && !errors.Is(err, backend.ErrNotSupported) {
			p.mu.Lock()
			p.sent = 0 // not sent after all: they cover new invalidations again
			p.mu.Unlock()
			c.logFailure("replay", batch[0].key, err)
			return err
		}
		if err != nil {
			// Not a failure to reach the backend: the backend refuses the
			// operation outright (a Clear memcached cannot do without a
			// namespace). The caller was told; waiting mends nothing.
			c.log.Error("keyedcache: a queued invalidation cannot be replayed: the backend refuses it; dropped",
				"alias", c.alias, "key", batch[0].key, "err", err)
		}
		if drained, n, d := p.done(batch, err == nil); drained && once(&p.logDrained) {
			c.log.Info("keyedcache: queued invalidations replayed; the backend answers again",
				"alias", c.alias, "replayed", n, "after", d.Round(time.Millisecond))
		}
		if err == nil {
			c.replayed(ctx, batch)
		}
	}
}

// front returns the oldest queued entry or, when keys can be deleted
// many at a time, the run of oldest key entries (up to replayBatch).
func (p *pending) front(many bool) []pendOp {
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.ops) == 0 {
		return nil
	}
	n := 1
	if many && p.ops[0].kind == pendKey {
		for n < len(p.ops) && n < replayBatch && p.ops[n].kind == pendKey {
			n++
		}
	}
	p.sent = p.ops[n-1].seq
	return append([]pendOp(nil), p.ops[:n]...)
}

// replayOps performs batch, entries of one kind, on the backend.
func (c *Cache) replayOps(ctx context.Context, batch []pendOp) error {
	switch op := batch[0]; op.kind {
	case pendTree:
		return c.deleteTreeRaw(ctx, op.key)
	case pendAll:
		return c.clearRaw(ctx)
	}
	if len(batch) > 1 {
		keys := make([]string, len(batch))
		for i, op := range batch {
			keys[i] = op.key
		}
		_, err := c.multi.DeleteMany(ctx, keys)
		return err
	}
	_, err := c.deleteKeyRaw(ctx, batch[0].key)
	return err
}

// replayed tells the tiers of what batch removed: this process's own
// were cleared when the entries were queued; the other processes' are
// told now.
func (c *Cache) replayed(ctx context.Context, batch []pendOp) {
	switch op := batch[0]; op.kind {
	case pendTree:
		c.tiersForgetTree(ctx, true, op.key)
	case pendAll:
		c.tiersForgetAll(ctx, true)
	default:
		keys := make([]string, len(batch))
		for i, op := range batch {
			keys[i] = op.key
		}
		c.tiersForget(ctx, true, keys...)
	}
}

// done removes the entries of batch, replayed (counted) or dropped, and
// reports whether that emptied the queue, with the invalidations replayed
// since it was last empty and for how long it held some.
func (p *pending) done(batch []pendOp, replayed bool) (drained bool, n uint64, d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	seqs := make(map[uint64]bool, len(batch))
	for _, op := range batch {
		seqs[op.seq] = true
	}
	before := len(p.ops)
	p.removeLocked(func(q pendOp) bool { return seqs[q.seq] })
	p.sent = 0
	if replayed {
		gone := uint64(before - len(p.ops))
		p.replayed.Add(gone)
		p.burst += gone
	}
	p.n.Store(int64(len(p.ops)))
	if len(p.ops) > 0 || before == 0 {
		return false, 0, 0
	}
	return true, p.burst, time.Since(p.since)
}

// retry replays the queue in the background, with backoff, until it is
// empty or the cache is closed, so that a process that makes no calls
// recovers too. Its failures are logged (once per burst) but not counted
// as the errors of any call.
func (c *Cache) retry() {
	p := &c.pend
	wait := retryMin
	for {
		t := time.NewTimer(wait*3/4 + rand.N(wait/2))
		select {
		case <-p.stop:
			t.Stop()
			return
		case <-t.C:
		}
		p.mu.Lock()
		if len(p.ops) == 0 || p.closed {
			p.retrying = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		if c.settle(context.Background()) != nil {
			wait = min(2*wait, retryMax)
		} else {
			wait = retryMin
		}
	}
}

// closePending stops the retrier. What is still queued is lost with the
// process's memory of it.
func (c *Cache) closePending() {
	p := &c.pend
	p.mu.Lock()
	defer p.mu.Unlock()
	if !p.closed {
		p.closed = true
		close(p.stop)
	}
}

// admitKeys is admit for a read of many keys (as given, and built):
// after one replay attempt, it returns those that no queued invalidation
// covers, and counts the others as misses.
func (c *Cache) admitKeys(ctx context.Context, keys, built []string) ([]string, []string) {
	err := c.settle(ctx)
	var okKeys, okBuilt []string
	s := c.stats.shard()
	for i, k := range built {
		if c.pend.covers(k) {
			s.misses.Add(1)
			continue
		}
		okKeys, okBuilt = append(okKeys, keys[i]), append(okBuilt, k)
	}
	if err != nil && len(okBuilt) < len(built) {
		s.errors.Add(1)
	}
	return okKeys, okBuilt
}

// InvalidationPending reports whether a queued invalidation covers key
// (a built key, or text built into one), after one attempt to replay the
// queue (see Delete). It is for code that reaches the backend other than
// through the Cache's methods — package function's calls through a
// backend that fills (backend.Filler) — and must then neither serve nor
// store anything under key.
func (c *Cache) InvalidationPending(ctx context.Context, key string) bool {
	if c.pend.idle() {
		return false
	}
	return c.admit(ctx, c.keyFor(key)) != nil
}
