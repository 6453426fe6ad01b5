package function

import (
	"context"
	"errors"
	"math/rand/v2"
	"os"
	"time"

	"keyedcache.dev/keyedcache"
)

// Polling for another process's result starts at minPoll and doubles up
// to maxPoll, with jitter so that waiting processes do not poll in step.
const (
	minPoll = time.Millisecond
	maxPoll = 50 * time.Millisecond
	maxLost = 100 // claims lost in a row, with no wait between, before giving up
	// maxFailures is how many failures in a row of a backend that
	// refuses (see fill) a caller meets before it computes without a
	// claim.
	maxFailures = 3
)

// A slow backend is not a backend that is down, and a caller never
// computes without the cross-process claim because one call failed:
//
//   - A read that fails leaves the claim to decide: the caller tries to
//     claim the key, and if the backend answers that it is taken, waits
//     for its result.
//   - A claim that times out may have landed all the same (the write
//     reached the server; its answer did not reach us). The caller does
//     not compute: it pauses and reads again, and if it finds its own
//     token the claim is its own; another's claim or a result, it goes by
//     that; nothing, it claims again with the same token, so that
//     whichever of its writes lands is recognised.
//   - While a claim of its own is in doubt, or while it waits for
//     another's claim, the caller waits out failures of every kind,
//     polling, up to the longest wait (WithMaxWait), as it would wait for
//     another process's result.
//   - Otherwise, once a call has timed out (the backend is slow), it
//     keeps trying to claim for up to a lease (WithLease).
//   - Only failures that come at once, without a timeout, with nothing
//     known of the key — a backend that refuses (closed, connection
//     refused, a breaker open) — make it give up after maxFailures of
//     them; and a delete of the key still pending
//     (keyedcache.ErrInvalidationPending) at once: nothing may be stored
//     under the key until it reaches the backend.
//
// Giving up, the caller computes without a claim (Stats.Unclaimed) and
// returns the result; it still stores it if a claim of its own in doubt
// turns out to have landed, since every write compares with the claim's
// own bytes and so can never overwrite another's.
//
// A result whose store fails is stored later, in the background, while
// the claim lasts (storeLater), so that the processes waiting for it get
// it once the backend answers again rather than compute it again.

// trouble is the backend's failures during one fill.
type trouble struct {
	lease  time.Duration
	slow   bool      // a call timed out
	since  time.Time // when the current run of failures began
	reads  int       // failed reads in a row
	claims int       // claims that failed since the last one answered
}

// failed counts a failure of a read or a claim and reports whether to
// give up. patient means the caller is waiting: for a claim of its own in
// doubt, or for another's claim.
func (t *trouble) failed(err error, isClaim, patient bool, deadline time.Time) bool {
	now := time.Now()
	t.slow = t.slow || timedOut(err)
	if t.since.IsZero() {
		t.since = now
	}
	if isClaim {
		t.claims++
	} else {
		t.reads++
	}
	switch {
	case patient:
		return !now.Before(deadline)
	case t.slow:
		return now.Sub(t.since) >= t.lease || !now.Before(deadline)
	}
	return t.reads >= maxFailures || t.claims >= maxFailures
}

// answered notes a call that succeeded.
func (t *trouble) answered(isClaim bool) {
	t.since, t.reads = time.Time{}, 0
	if isClaim {
		t.claims = 0
	}
}

// timedOut reports whether err is a call that ran out of time — whose
// write may have reached the backend, or that met a backend too slow to
// answer: context.DeadlineExceeded, os.ErrDeadlineExceeded, or an error
// with a Timeout method that says so (as net.Error has; a backend that
// fails calls at once because its server stopped answering in time can
// mark its error so too).
func timedOut(err error) bool {
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, os.ErrDeadlineExceeded) {
		return true
	}
	var te interface{ Timeout() bool }
	return errors.As(err, &te) && te.Timeout()
}

// fill computes key's result for this process, once for all its callers:
// it returns a result that is there (or arrives), claims the key and
// computes, or waits for the process that claimed it — up to the longest
// wait, after which it computes itself without storing, or until gone is
// closed (nobody is waiting any more). seen is what the flight's first
// read found; without it fill reads first.
func (e *engine[R]) fill(ctx context.Context, gone <-chan struct{}, c *keyedcache.Cache, h *head, key string, seen *look[R], compute func(context.Context) (R, error)) result[R] {
	deadline := time.Now().Add(e.set.maxWait)
	p := pause{next: minPoll, gone: gone}
	var l look[R]
	if seen != nil {
		l = *seen
	} else {
		e.read(ctx, c, h, key, &l)
	}
	var (
		mine   *claim[R] // our claim whose write timed out: it may have landed
		waited bool      // we met another's claim
		tr     = trouble{lease: e.set.lease}
	)
	for lost := 0; ; lost++ {
		if l.err != nil {
			if errors.Is(l.err, keyedcache.ErrInvalidationPending) {
				return e.unclaimed(ctx, nil, compute) // a delete of the key waits for the backend: store nothing
			}
			patient := mine != nil || waited
			if tr.failed(l.err, false, patient, deadline) {
				return e.unclaimed(ctx, mine, compute)
			}
			if patient {
				if !p.wait(deadline) {
					return result[R]{abandoned: true}
				}
				e.read(ctx, c, h, key, &l)
				lost = -1
				continue
			}
			// Nothing known yet: the claim decides (l is empty).
		} else {
			tr.answered(false)
			if mine != nil && mine.ours(&l.ent) {
				mine.adopt(l.at, l.ent) // it landed
				return e.computeAndStore(ctx, mine, compute)
			}
		}
		if lost >= maxLost {
			// The entry keeps changing under us: compute, store nothing.
			return e.run(ctx, compute)
		}
		now := time.Now()
		switch l.ent.kind(now.UnixNano()) {
		case kindFresh:
			v, err := e.answer(key, &l.ent)
			return result[R]{v: v, err: err}
		case kindStale:
			e.refreshAsync(ctx, c, h, key, l.at, l.ent, compute)
			return result[R]{v: l.ent.V}
		case kindPending:
			if !waited {
				waited = true
				e.st.leaseWaits.Add(1)
			}
			if !now.Before(deadline) {
				if p.abandoned() {
					return result[R]{abandoned: true}
				}
				return e.run(ctx, compute)
			}
			if !p.wait(deadline) {
				return result[R]{abandoned: true}
			}
			e.read(ctx, c, h, key, &l)
			lost = -1 // waiting is not losing a race
			continue
		}
		// Nothing usable is there, or the read failed: the claim decides.
		cl, err := e.claim(ctx, c, h, key, l.at, entry[R]{State: statePending}, mine)
		switch {
		case err == nil && cl != nil:
			return e.computeAndStore(ctx, cl, compute)
		case err == nil:
			tr.answered(true)
			e.read(ctx, c, h, key, &l) // another got there first
			continue
		}
		e.st.errors.Add(1)
		switch {
		case cl == nil: // not a backend failure: the claim cannot be encoded
			return e.run(ctx, compute)
		case errors.Is(err, keyedcache.ErrInvalidationPending):
			// A delete of the key waits for the backend (and a claim that
			// may have landed is deleted with it): store nothing.
			return e.unclaimed(ctx, nil, compute)
		}
		if timedOut(err) {
			mine = cl
		}
		if tr.failed(err, true, mine != nil || waited, deadline) {
			return e.unclaimed(ctx, mine, compute)
		}
		if !p.wait(deadline) {
			return result[R]{abandoned: true}
		}
		e.read(ctx, c, h, key, &l)
		lost = -1
	}
}

// unclaimed computes without a claim the backend took; see fill. Under a
// claim in doubt, the result is stored if that claim landed.
func (e *engine[R]) unclaimed(ctx context.Context, mine *claim[R], compute func(context.Context) (R, error)) result[R] {
	e.st.unclaimed.Add(1)
	if mine == nil {
		return e.run(ctx, compute)
	}
	return e.computeAndStore(ctx, mine, compute)
}

// pause spaces out the reads of a caller that waits: the first pause is
// minPoll, each next one twice as long up to maxPoll, each with jitter.
type pause struct {
	next time.Duration
	gone <-chan struct{}
}

// wait sleeps for the next pause, or until deadline if that is sooner;
// it reports false, at once, if every caller leaves meanwhile.
func (p *pause) wait(deadline time.Time) bool {
	sleep := p.next/2 + rand.N(p.next)
	if left := time.Until(deadline); sleep > left {
		sleep = max(left, 0)
	}
	p.next = min(2*p.next, maxPoll)
	t := time.NewTimer(sleep)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-p.gone:
		return false
	}
}

// abandoned reports whether every caller has left.
func (p *pause) abandoned() bool {
	select {
	case <-p.gone:
		return true
	default:
		return false
	}
}

// computeAndStore runs the function under a claim, renewing it meanwhile,
// and stores the result only if the claim is still ours: a delete while
// it ran removed the claim, so the result is returned but not stored. A
// store that fails is tried again in the background while the claim
// lasts, so that the processes waiting for it get it rather than compute
// again once the backend answers.
func (e *engine[R]) computeAndStore(ctx context.Context, l *claim[R], compute func(context.Context) (R, error)) result[R] {
	l.keep(ctx)
	res := e.run(ctx, compute)
	if l.release() {
		if !l.tentative {
			e.st.discarded.Add(1)
		}
		return res
	}
	next, ttl, keep := e.after(l, res)
	_, swapped, err := e.swap(ctx, l.c, l.key, l.at, next, ttl)
	if errors.As(err, new(errEncode)) {
		// The result cannot be encoded: store nothing, free the claim.
		e.st.errors.Add(1)
		next, keep = e.freed(l), false
		_, swapped, err = e.swap(ctx, l.c, l.key, l.at, next, next.keepFor(time.Now()))
	}
	switch {
	case errors.Is(err, keyedcache.ErrInvalidationPending):
		e.st.errors.Add(1) // the key is to be deleted: nothing to store later
	case err != nil:
		e.st.errors.Add(1)
		go e.storeLater(ctx, l, next, keep)
	case !swapped && keep && !l.tentative:
		e.st.discarded.Add(1)
	}
	return res
}

// storeLater tries again to replace the claim with next (a write that
// failed may have landed: then the claim is gone and nothing more is
// written), pausing between tries, until the claim's lease ends.
func (e *engine[R]) storeLater(ctx context.Context, l *claim[R], next entry[R], keep bool) {
	end := time.Unix(0, l.ent.Lease)
	p := pause{next: minPoll}
	for p.wait(end) && time.Now().Before(end) {
		_, swapped, err := e.swap(ctx, l.c, l.key, l.at, next, next.keepFor(time.Now()))
		switch {
		case err == nil && !swapped && keep && !l.tentative:
			e.st.discarded.Add(1)
			return
		case err == nil:
			return
		}
		e.st.errors.Add(1)
	}
}

// after returns the entry to write once a computation has ended and its
// TTL; keep is false when the entry only frees the claim.
func (e *engine[R]) after(l *claim[R], res result[R]) (next entry[R], ttl time.Duration, keep bool) {
	now := time.Now()
	switch {
	case res.pe == nil && res.err == nil:
		ttl := e.ttl(l.c)
		next := entry[R]{State: stateValue, V: res.v}
		if ttl == keyedcache.Forever {
			return next, ttl, true
		}
		next.freshFor(now, ttl)
		if e.set.stale > 0 {
			next.Stale = next.Fresh + int64(e.set.stale)
			ttl += e.set.stale
		}
		return next, ttl, true
	case res.pe == nil && e.set.errorTTL > 0 && !isContextErr(res.err) && l.ent.State == statePending:
		// (A failed refresh keeps the stale result rather than cache the error.)
		next := entry[R]{State: stateError, Err: res.err.Error()}
		next.freshFor(now, e.set.errorTTL)
		return next, e.set.errorTTL, true
	}
	next = e.freed(l)
	return next, next.keepFor(now), false
}

// freed is the claimed entry with the claim taken off, so that the next
// caller claims it at once: a stale result stays servable, a pending
// entry becomes nothing.
func (e *engine[R]) freed(l *claim[R]) entry[R] {
	next := l.ent
	next.Lease, next.Token = 0, ""
	return next
}

func isContextErr(err error) bool {
	return errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)
}

// refreshAsync starts one background refresh of a stale result found at
// at, unless one is under way here or in another process.
func (e *engine[R]) refreshAsync(ctx context.Context, c *keyedcache.Cache, h *head, key string, at ref[R], ent entry[R], compute func(context.Context) (R, error)) {
	if ent.claimed(time.Now().UnixNano()) {
		return
	}
	if _, busy := e.refreshing.LoadOrStore(key, struct{}{}); busy {
		return
	}
	go func() {
		defer e.refreshing.Delete(key)
		ctx := context.WithoutCancel(ctx)
		l, err := e.claim(ctx, c, h, key, at, ent, nil)
		if err != nil {
			e.st.errors.Add(1)
			return // the stale result stays; a later call tries again
		}
		if l == nil {
			return // claimed elsewhere, or changed since it was read
		}
		e.st.refreshes.Add(1)
		res := e.computeAndStore(ctx, l, compute)
		switch {
		case res.pe != nil:
			e.set.log.Error("function: background refresh panicked; the stale result stays", "func", e.name, "key", key, "panic", res.pe.Value, "stack", string(res.pe.Stack))
		case res.err != nil:
			e.set.log.Warn("function: background refresh failed; the stale result stays", "func", e.name, "key", key, "err", res.err)
		}
	}()
}
