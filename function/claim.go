package function

import (
	"context"
	"errors"
	"sync"
	"time"

	"keyedcache.dev/keyedcache"
)

// A claim is this process's lease on a call's entry: the entry holds our
// token until the lease time, and we hold where the entry is (its exact
// bytes, or its slot and entry), so that every write of ours is a
// compare-and-swap against it. While a computation runs, keep renews the
// lease every third of its time; a renewal that finds something else
// means the entry was deleted or taken over, and the claim is lost.
//
// A claim whose write failed (a timeout, say) is tentative: the write
// may have landed all the same. Its token is kept, so that a later read
// that finds it knows the claim is ours; and a computation run under a
// tentative claim stores its result only if the claim did land, since
// every write of it compares against the claim's own bytes.
type claim[R any] struct {
	e   *engine[R]
	c   *keyedcache.Cache
	key string

	mu        sync.Mutex
	at        ref[R]   // where the entry is while the claim is ours
	ent       entry[R] // what it holds
	lost      bool
	tentative bool // its write failed: it may not be there

	stop, done chan struct{}
}

// claim tries to claim key's entry, which a read found at at, writing
// base with our token and a lease: an Add where nothing was found, else a
// compare-and-swap. It returns nil, nil when another process got there
// first. On a backend failure it returns the tentative claim with the
// error. prev, if not nil, is an earlier tentative claim of the same
// caller: its token is used again, so that whichever write lands is
// recognised as ours.
func (e *engine[R]) claim(ctx context.Context, c *keyedcache.Cache, h *head, key string, at ref[R], base entry[R], prev *claim[R]) (*claim[R], error) {
	l := &claim[R]{e: e, c: c, key: key, ent: base}
	now := time.Now()
	if prev != nil {
		l.ent.Token = prev.ent.Token
	} else {
		l.ent.Token = newToken()
	}
	l.ent.Lease = now.Add(e.set.lease).UnixNano()
	where, ok, err := e.add(ctx, c, h, key, at, l.ent, l.ent.keepFor(now))
	var enc errEncode
	switch {
	case errors.As(err, &enc):
		return nil, err
	case err != nil:
		l.at, l.tentative = where, true
		return l, err
	case !ok:
		return nil, nil
	}
	l.at = where
	return l, nil
}

// ours reports whether ent, as a read found it, carries this claim's
// token.
func (l *claim[R]) ours(ent *entry[R]) bool { return ent.Token != "" && ent.Token == l.ent.Token }

// adopt makes a tentative claim whose write turns out to have landed a
// claim like any other, at what the read found.
func (l *claim[R]) adopt(at ref[R], ent entry[R]) {
	l.at, l.ent, l.tentative = at, ent, false
}

// keep renews the lease in the background until release.
func (l *claim[R]) keep(ctx context.Context) {
	l.stop, l.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(l.done)
		t := time.NewTicker(l.e.set.lease / 3)
		defer t.Stop()
		for {
			select {
			case <-l.stop:
				return
			case <-t.C:
				if !l.renew(ctx) {
					return
				}
			}
		}
	}()
}

// renew extends the lease; it reports false once the claim is lost.
func (l *claim[R]) renew(ctx context.Context) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	next := l.ent
	next.Lease = now.Add(l.e.set.lease).UnixNano()
	at, ok, err := l.e.swap(ctx, l.c, l.key, l.at, next, next.keepFor(now))
	switch {
	case err != nil:
		l.e.st.errors.Add(1)
		return true // try again at the next tick
	case !ok:
		l.lost = true
		return false
	}
	l.at, l.ent = at, next
	return true
}

// release stops the renewals and reports whether the claim was lost.
func (l *claim[R]) release() (lost bool) {
	if l.stop != nil {
		close(l.stop)
		<-l.done
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.lost
}
