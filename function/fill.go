package function

import (
	"context"
	"errors"
	"math/rand/v2"
	"time"

	"keyedcache.dev/keyedcache"
)

// Polling for another process's result starts at minPoll and doubles up
// to maxPoll, with jitter so that waiting processes do not poll in step.
const (
	minPoll = time.Millisecond
	maxPoll = 50 * time.Millisecond
	maxLost = 100 // claims lost in a row, with no wait between, before giving up
	// maxFailures is how many reads in a row, or claims in all, may fail
	// before a computation stops waiting for the backend and runs
	// without a claim: then the backend cannot take one.
	maxFailures = 3
)

// A slow backend is not a backend that is down. A read that fails (a
// timeout, say) leaves the claim to decide: the caller tries to claim
// the key, and if the backend answers that the key is taken, waits for
// its result. A claim whose write fails may have landed all the same, so
// it does not run the computation either: the caller pauses, reads
// again, and if it finds its own token, the claim is its own; if it
// finds another's claim or a result, it goes by that; if it finds
// nothing, it claims again with the same token. Only when the backend
// fails maxFailures reads in a row, or a claim and then the read after
// it, or maxFailures claims, does the caller compute without a claim
// (counted in Stats.Unclaimed), and even then it stores its result if
// its last claim turns out to have landed — every write compares with
// the claim's own bytes, so it can never overwrite another's.

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
	var mine *claim[R] // our last claim whose write failed
	badReads, badClaims, waited := 0, 0, false
	for lost := 0; ; lost++ {
		switch {
		case l.err == nil:
			badReads = 0
			if mine != nil && mine.ours(&l.ent) {
				mine.adopt(l.at, l.ent) // it landed
				return e.computeAndStore(ctx, mine, compute)
			}
		case mine != nil: // a claim failed, and the read after it
			return e.unclaimed(ctx, mine, compute)
		default:
			if badReads++; badReads >= maxFailures {
				return e.unclaimed(ctx, nil, compute)
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
			e.read(ctx, c, h, key, &l) // another got there first
			continue
		}
		e.st.errors.Add(1)
		if cl == nil { // not a backend failure: the claim cannot be encoded
			return e.run(ctx, compute)
		}
		mine = cl
		if badClaims++; badClaims >= maxFailures {
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
// tentative claim, the result is stored if that claim landed.
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
// it ran removed the claim, so the result is returned but not stored.
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
	case err != nil:
		e.st.errors.Add(1)
	case !swapped && keep && !l.tentative:
		e.st.discarded.Add(1)
	}
	return res
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
		next.Fresh = now.Add(ttl).UnixNano()
		if e.set.stale > 0 {
			next.Stale = next.Fresh + int64(e.set.stale)
			ttl += e.set.stale
		}
		return next, ttl, true
	case res.pe == nil && e.set.errorTTL > 0 && !isContextErr(res.err) && l.ent.State == statePending:
		// (A failed refresh keeps the stale result rather than cache the error.)
		return entry[R]{State: stateError, Err: res.err.Error(), Fresh: now.Add(e.set.errorTTL).UnixNano()}, e.set.errorTTL, true
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
