package memcached

import (
	"context"
	"errors"
	"hash/crc32"
	"net"
	"slices"
	"sync/atomic"
	"time"

	"github.com/golang/groupcache/consistenthash"
)

// pointsPerServer is how many points each server has on the hash ring.
// With 160 points, the share of the keys a server owns varies by about 7%
// of itself from one set of addresses to another (a fourth server takes
// 25% ± 1.8% of the keys of three).
const pointsPerServer = 160

// server is one memcached server: its address, and whether it is down.
// It is the net.Addr the gomemcache client sees, so the client's pool of
// connections is kept per server.
type server struct {
	network, addr string
	// downUntil is 0 while the server answers; after a failure it is the
	// Unix nanosecond time until which calls skip the server.
	downUntil atomic.Int64
	// timeouts counts the timeouts since the server last answered.
	timeouts atomic.Int32
}

// Network returns "tcp" or "unix".
func (s *server) Network() string { return s.network }

// String returns the address, "host:port" or a socket path.
func (s *server) String() string { return s.addr }

// ErrServerDown is returned, wrapped, by calls that reach a server that
// failed a moment ago: for the down_retry period after a refused
// connection or two timeouts in a row, calls to that server fail at once
// instead of waiting for the network, and then a single call probes it
// again.
var ErrServerDown = errors.New("memcached: server down")

// ring picks the server of a key by consistent hashing, so that adding
// or removing a server moves only the keys that server gains or loses.
// It implements gomemcache's ServerSelector.
type ring struct {
	servers   []*server
	byAddr    map[string]*server
	points    *consistenthash.Map // nil with a single server
	downRetry time.Duration       // 0: never skip a server
	dialer    net.Dialer
}

func newRing(servers []*server, timeout, downRetry time.Duration) *ring {
	r := &ring{servers: servers, byAddr: make(map[string]*server, len(servers)), downRetry: downRetry}
	r.dialer.Timeout = timeout
	names := make([]string, 0, len(servers))
	for _, s := range servers {
		r.byAddr[s.addr] = s
		names = append(names, s.addr)
	}
	if len(servers) > 1 {
		// Added in a fixed order, so that every process builds the same
		// ring whatever order its URL lists the servers in.
		slices.Sort(names)
		r.points = consistenthash.New(pointsPerServer, ringHash)
		r.points.Add(names...)
	}
	return r
}

// ringHash is CRC-32 (fast, hardware-assisted) followed by the murmur3
// finaliser. CRC-32 alone is linear, so the points of one server
// ("0host:port", "1host:port", …) fall in clumps and the servers' shares
// vary three times as much.
func ringHash(b []byte) uint32 {
	h := crc32.ChecksumIEEE(b)
	h ^= h >> 16
	h *= 0x85ebca6b
	h ^= h >> 13
	h *= 0xc2b2ae35
	h ^= h >> 16
	return h
}

// serverFor returns the server that owns key.
func (r *ring) serverFor(key string) *server {
	if r.points == nil {
		return r.servers[0]
	}
	return r.byAddr[r.points.Get(key)]
}

// PickServer returns the server of key. It does not check whether the
// server is down: the Store does, once per call, before it calls the
// client (a multi-get picks a server per key, and only one of those
// picks could win the probe of a server that was down).
func (r *ring) PickServer(key string) (net.Addr, error) {
	return r.serverFor(key), nil
}

// Each calls f with every server, down or not, and returns the first
// error.
func (r *ring) Each(f func(net.Addr) error) error {
	for _, s := range r.servers {
		if err := f(s); err != nil {
			return err
		}
	}
	return nil
}

// usable reports ErrServerDown while s is skipped. Once the skip period
// is over, exactly one caller gets through to probe the server, and the
// others keep failing fast until the probe has answered.
func (r *ring) usable(s *server) error {
	until := s.downUntil.Load()
	if until == 0 {
		return nil
	}
	now := time.Now().UnixNano()
	if now < until || !s.downUntil.CompareAndSwap(until, now+int64(r.downRetry)) {
		return &downError{addr: s.addr}
	}
	return nil // this caller probes
}

// timeoutsToDown is how many timeouts in a row mark a server down. One
// is not enough: a process that stalls (a long GC pause, a starved CPU)
// sees a timeout on a reply that arrived in time.
const timeoutsToDown = 2

// refused records that s refused a connection (or could not be reached):
// it is skipped at once.
func (r *ring) refused(s *server) {
	if r.downRetry > 0 {
		s.downUntil.Store(time.Now().Add(r.downRetry).UnixNano())
	}
}

// timedOut records that s did not answer in time: it is skipped after
// timeoutsToDown timeouts in a row.
func (r *ring) timedOut(s *server) {
	if s.timeouts.Add(1) >= timeoutsToDown {
		r.refused(s)
	}
}

// answered records that s answered.
func (r *ring) answered(s *server) {
	if s.timeouts.Load() != 0 {
		s.timeouts.Store(0)
	}
	if s.downUntil.Load() != 0 {
		s.downUntil.Store(0)
	}
}

type downError struct{ addr string }

func (e *downError) Error() string {
	return "memcached: server " + e.addr + " is down; skipping it for now"
}
func (e *downError) Unwrap() error { return ErrServerDown }

// dial connects to a server for gomemcache's Client.DialContext. The
// connection it returns marks the server down on timeouts and up on
// answers.
func (r *ring) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	s := r.byAddr[addr]
	if s == nil {
		return r.dialer.DialContext(ctx, network, addr)
	}
	nc, err := r.dialServer(ctx, s)
	if err != nil {
		return nil, err
	}
	return &watchedConn{Conn: nc, r: r, s: s}, nil
}

// dialServer connects to s; a failure marks s down (a refusal at once, a
// timeout as one of timeoutsToDown).
func (r *ring) dialServer(ctx context.Context, s *server) (net.Conn, error) {
	nc, err := r.dialer.DialContext(ctx, s.network, s.addr)
	switch {
	case err == nil:
		return nc, nil
	case errors.Is(err, context.Canceled):
	case isTimeout(err):
		r.timedOut(s)
	default:
		r.refused(s)
	}
	return nil, err
}

// watchedConn is a connection that marks its server down when a read or
// write times out, and up when a read succeeds.
type watchedConn struct {
	net.Conn
	r *ring
	s *server
}

func (c *watchedConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	switch {
	case err == nil:
		c.r.answered(c.s)
	case isTimeout(err):
		c.r.timedOut(c.s)
	}
	return n, err
}

func (c *watchedConn) Write(p []byte) (int, error) {
	n, err := c.Conn.Write(p)
	if err != nil && isTimeout(err) {
		c.r.timedOut(c.s)
	}
	return n, err
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}
