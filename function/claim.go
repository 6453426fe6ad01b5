package function

import (
	"context"
	"sync"
	"time"

	"keyedcache.dev/keyedcache"
)

// A claim is this process's lease on a call's entry: the entry holds our
// token until the lease time, and we hold the entry's exact bytes, so
// that every write of ours is a compare-and-swap against them. While a
// computation runs, keep renews the lease every third of its time; a
// renewal that finds other bytes means the entry was deleted or taken
// over, and the claim is lost.
type claim[R any] struct {
	e   *engine[R]
	c   *keyedcache.Cache
	key string

	mu   sync.Mutex
	cur  []byte   // the entry's bytes while the claim is ours
	ent  entry[R] // what cur holds
	lost bool

	stop, done chan struct{}
}

// claim tries to claim key's entry: with Add when old is nil (no entry),
// else with a compare-and-swap of old for base with our lease. It
// returns nil, nil when another process got there first.
func (e *engine[R]) claim(ctx context.Context, c *keyedcache.Cache, key string, old []byte, base entry[R]) (*claim[R], error) {
	l := &claim[R]{e: e, c: c, key: key, ent: base}
	now := time.Now()
	l.ent.Token = newToken()
	l.ent.Lease = now.Add(e.set.lease).UnixNano()
	data, err := c.Encode(l.ent)
	if err != nil {
		return nil, err
	}
	var ok bool
	if old == nil {
		ok, err = c.AddBytes(ctx, key, data, keyedcache.TTL(l.ent.keepFor(now)))
	} else {
		ok, err = c.CompareAndSwap(ctx, key, old, data, keyedcache.TTL(l.ent.keepFor(now)))
	}
	if err != nil || !ok {
		return nil, err
	}
	l.cur = data
	return l, nil
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
	data, err := l.c.Encode(next)
	if err != nil {
		return true
	}
	ok, err := l.c.CompareAndSwap(ctx, l.key, l.cur, data, keyedcache.TTL(next.keepFor(now)))
	switch {
	case err != nil:
		l.e.st.errors.Add(1)
		return true // try again at the next tick
	case !ok:
		l.lost = true
		return false
	}
	l.cur, l.ent = data, next
	return true
}

// release stops the renewals and returns the entry's bytes while the
// claim was ours, and whether it was lost.
func (l *claim[R]) release() (cur []byte, lost bool) {
	if l.stop != nil {
		close(l.stop)
		<-l.done
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.cur, l.lost
}
