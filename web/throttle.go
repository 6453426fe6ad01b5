package web

import (
	"container/list"
	"context"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// LoginLimit slows down the guessing of passwords: each client (an
// address; a /64 network for IPv6) may fail to log in Free times, then
// must wait Wait before its next try, twice as long after each further
// failure, up to MaxWait. A failure is a request whose Authorizer
// answers BadCredentials (BasicAuth does for a wrong user or password).
// A client's failures are forgotten after twice MaxWait without one.
//
// While a client must wait, every request from it is answered 429 Too
// Many Requests, with a Retry-After header, and its credentials are not
// checked, right or wrong. The credentials of one client are checked one
// request at a time, so that a burst of parallel guesses cannot slip in
// between a failure and its wait.
//
// Only the client that failed waits: guesses from one address never
// lock out staff at another. Behind a reverse proxy every request comes
// from the proxy's address, so set Options.TrustedProxies, or every
// visitor shares one allowance.
//
// At most Clients clients are remembered (those with failures, and those
// with a request under way); past that the one that failed least
// recently is forgotten, so memory stays bounded whatever the number of
// addresses guessing.
type LoginLimit struct {
	// Free is the number of failures before the first wait (default 5).
	Free int
	// Wait is the first wait (default 1s).
	Wait time.Duration
	// MaxWait is the longest wait (default 5m).
	MaxWait time.Duration
	// Clients is the most clients remembered (default 10,000).
	Clients int
}

func (l LoginLimit) withDefaults() LoginLimit {
	if l.Free <= 0 {
		l.Free = 5
	}
	if l.Wait <= 0 {
		l.Wait = time.Second
	}
	if l.MaxWait <= 0 {
		l.MaxWait = 5 * time.Minute
	}
	l.MaxWait = max(l.MaxWait, l.Wait)
	if l.Clients <= 0 {
		l.Clients = 10000
	}
	return l
}

// limiter keeps the failures of the clients that failed lately, and the
// turn of those with a request under way.
type limiter struct {
	LoginLimit
	now func() time.Time

	mu  sync.Mutex
	m   map[string]*list.Element // client id → element of lru holding *client
	lru list.List                // most recently seen first
}

type client struct {
	id       string
	turn     chan struct{} // held while the client's credentials are checked
	refs     int           // requests holding or waiting for turn
	failures int
	last     time.Time // of the last failure
	until    time.Time // no check before then
	refused  int       // requests refused since the last failure
}

func newLimiter(l LoginLimit) *limiter {
	return &limiter{LoginLimit: l.withDefaults(), now: time.Now, m: make(map[string]*list.Element)}
}

// forget is how long a client's failures are remembered without a new one.
func (l *limiter) forget() time.Duration { return 2 * l.MaxWait }

// enter waits for the client's turn to have its credentials checked. It
// returns the client, to pass to leave, or the wait the client must
// first sit out, or the context's error.
func (l *limiter) enter(ctx context.Context, id string) (*client, time.Duration, error) {
	l.mu.Lock()
	c := l.get(id)
	if wait := l.locked(c); wait > 0 {
		l.mu.Unlock()
		return nil, wait, nil
	}
	l.mu.Unlock()
	select {
	case c.turn <- struct{}{}:
	case <-ctx.Done():
		l.mu.Lock()
		l.release(c)
		l.mu.Unlock()
		return nil, 0, ctx.Err()
	}
	// A request before this one may have failed and set a wait.
	l.mu.Lock()
	defer l.mu.Unlock()
	if wait := l.locked(c); wait > 0 {
		<-c.turn
		return nil, wait, nil
	}
	return c, 0, nil
}

// locked returns the wait c must sit out, if any, counting the refusal
// and dropping the reference get took. l.mu is held.
func (l *limiter) locked(c *client) time.Duration {
	wait := c.until.Sub(l.now())
	if wait <= 0 {
		return 0
	}
	c.refused++
	l.release(c)
	return wait
}

// failure is what leave reports of a failed login.
type failure struct {
	failures int           // of the client, this one included
	wait     time.Duration // before its next try; 0: none
	refused  int           // requests refused since the failure before
}

// leave ends the client's turn, recording a failure if the check failed.
func (l *limiter) leave(c *client, failed bool) failure {
	l.mu.Lock()
	defer l.mu.Unlock()
	<-c.turn
	var f failure
	if failed {
		now := l.now()
		c.failures++
		c.last = now
		if c.failures >= l.Free {
			wait := l.Wait
			for i := l.Free; i < c.failures && wait < l.MaxWait; i++ {
				wait *= 2
			}
			f.wait = min(wait, l.MaxWait)
			c.until = now.Add(f.wait)
		}
		f.failures, f.refused, c.refused = c.failures, c.refused, 0
	}
	l.release(c)
	return f
}

// get returns the client with one more reference, created if new, its
// failures forgotten if old. l.mu is held.
func (l *limiter) get(id string) *client {
	if e, ok := l.m[id]; ok {
		l.lru.MoveToFront(e)
		c := e.Value.(*client)
		if c.failures > 0 && l.now().Sub(c.last) > l.forget() && !l.now().Before(c.until) {
			c.failures, c.refused, c.until = 0, 0, time.Time{}
		}
		c.refs++
		return c
	}
	c := &client{id: id, turn: make(chan struct{}, 1), refs: 1}
	l.m[id] = l.lru.PushFront(c)
	// Forget the least recent clients with no request under way; a
	// few under way may stay above the bound for as long as they last.
	e := l.lru.Back()
	for n := 0; len(l.m) > l.Clients && e != nil && n < 16; n++ {
		prev := e.Prev()
		if old := e.Value.(*client); old.refs == 0 {
			l.lru.Remove(e)
			delete(l.m, old.id)
		}
		e = prev
	}
	return c
}

// release drops a reference, forgetting a client with no failures once
// no request of it is under way. l.mu is held.
func (l *limiter) release(c *client) {
	c.refs--
	if c.refs == 0 && c.failures == 0 {
		if e, ok := l.m[c.id]; ok && e.Value == c {
			l.lru.Remove(e)
			delete(l.m, c.id)
		}
	}
}

// size is the number of clients remembered.
func (l *limiter) size() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}

// clientID names the client a request comes from, for LoginLimit: its
// address, or for IPv6 its /64 network (one machine often has a whole
// one). A request from a trusted proxy comes from the address the proxy
// put in X-Forwarded-For: the last one not itself a trusted proxy.
// Addresses a client writes in X-Forwarded-For itself are never used
// unless TrustedProxies lets them be.
func (h *Handler) clientID(r *http.Request) string {
	addr, ok := parseAddr(r.RemoteAddr)
	if !ok {
		return "remote " + r.RemoteAddr // a listener of another kind
	}
	if h.trusted(addr) {
		hops := strings.Split(strings.Join(r.Header.Values("X-Forwarded-For"), ","), ",")
		for i := len(hops) - 1; i >= 0; i-- {
			hop, ok := parseAddr(strings.TrimSpace(hops[i]))
			if !ok {
				break // not written by a proxy we trust: keep the last hop
			}
			addr = hop
			if !h.trusted(hop) {
				break
			}
		}
	}
	if addr.Is4() {
		return addr.String()
	}
	p, _ := addr.Prefix(64)
	return p.String()
}

func (h *Handler) trusted(a netip.Addr) bool {
	for _, p := range h.opts.TrustedProxies {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// parseAddr reads an address with or without a port.
func parseAddr(s string) (netip.Addr, bool) {
	if ap, err := netip.ParseAddrPort(s); err == nil {
		return ap.Addr().WithZone("").Unmap(), true
	}
	if a, err := netip.ParseAddr(s); err == nil {
		return a.WithZone("").Unmap(), true
	}
	return netip.Addr{}, false
}
