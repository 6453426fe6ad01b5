package memcached

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"keyedcache.dev/keyedcache/backend"
)

// Defaults of the Options and URL parameters.
const (
	// DefaultPort is the port of a server address given without one.
	DefaultPort = "11211"
	// DefaultTimeout is the default Options.Timeout (net_timeout).
	DefaultTimeout = 250 * time.Millisecond
	// DefaultMaxIdleConns is the default Options.MaxIdleConns
	// (max_idle_conns).
	DefaultMaxIdleConns = 64
	// DefaultDownRetry is the default Options.DownRetry (down_retry).
	DefaultDownRetry = time.Second

	maxNamespaceLen = 64
)

// ErrClosed is returned by every call on a closed Store.
var ErrClosed = backend.ClosedError("memcached")

// Options configure a Store. The zero value of every field but Servers
// means its default.
type Options struct {
	// Servers are the servers' addresses: "host:port", "host" (port
	// 11211) or the path of a unix socket (starting with "/").
	Servers []string
	// Namespace goes before every key on the servers. Clear removes the
	// keys under it; without one, Clear refuses, since it could only empty
	// servers that other programs may share. At most 64 bytes, with no
	// space or control character.
	Namespace string
	// Timeout bounds every network call: connecting, and each read and
	// write of a request and its reply (default DefaultTimeout).
	Timeout time.Duration
	// MaxIdleConns is how many idle connections are kept per server for
	// the next calls; more concurrent calls than this open connections
	// that are closed afterwards (default DefaultMaxIdleConns). It
	// applies to two pools: gomemcache's, for single-key calls, and this
	// package's, for multi-gets and the commands gomemcache lacks.
	MaxIdleConns int
	// DownRetry is how long a server that timed out or refused a
	// connection is skipped (calls fail at once with ErrServerDown)
	// before one call probes it again (default DefaultDownRetry; negative:
	// never skip a server).
	DownRetry time.Duration
}

// Store is a backend.Backend on one or more memcached servers. It is
// safe for concurrent use.
type Store struct {
	opts    Options // as in effect, defaults filled in
	mc      *memcache.Client
	ring    *ring
	ns      string
	timeout time.Duration
	raw     *rawPool
	closed  atomic.Bool
	flushed atomic.Int64 // when idle connections were last dropped (Unix ns)
}

var (
	_ backend.Backend           = (*Store)(nil)
	_ backend.Multi             = (*Store)(nil)
	_ backend.Toucher           = (*Store)(nil)
	_ backend.CompareAndSwapper = (*Store)(nil)
	_ backend.Incrementer       = (*Store)(nil)
	_ backend.KeyLister         = (*Store)(nil)
	_ backend.TTLReader         = (*Store)(nil)
	_ backend.Statser           = (*Store)(nil)
	_ backend.Pinger            = (*Store)(nil)
)

// New returns a Store on the servers of opts. It does not connect: the
// first call does, and a server that is down makes calls fail (the core
// turns that into misses) until it is back.
func New(opts Options) (*Store, error) {
	servers, err := opts.servers()
	if err != nil {
		return nil, err
	}
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	idle := opts.MaxIdleConns
	if idle <= 0 {
		idle = DefaultMaxIdleConns
	}
	downRetry := opts.DownRetry
	switch {
	case downRetry == 0:
		downRetry = DefaultDownRetry
	case downRetry < 0:
		downRetry = 0
	}
	r := newRing(servers, timeout, downRetry)
	mc := memcache.NewFromSelector(r)
	mc.Timeout = timeout
	mc.MaxIdleConns = idle
	mc.DialContext = r.dial
	addrs := make([]string, len(servers))
	for i, sv := range servers {
		addrs[i] = sv.addr
	}
	eff := Options{Servers: addrs, Namespace: opts.Namespace, Timeout: timeout, MaxIdleConns: idle, DownRetry: opts.DownRetry}
	if eff.DownRetry == 0 {
		eff.DownRetry = DefaultDownRetry
	}
	return &Store{opts: eff, mc: mc, ring: r, ns: opts.Namespace, timeout: timeout, raw: newRawPool(r, timeout, idle)}, nil
}

// check returns the *backend.ConfigError New would return for opts.
func (opts Options) check() error {
	_, err := opts.servers()
	return err
}

// servers reads the addresses of opts.Servers and checks the namespace.
func (opts Options) servers() ([]*server, error) {
	if len(opts.Servers) == 0 {
		return nil, &backend.ConfigError{Reason: "memcached: no server given"}
	}
	servers := make([]*server, 0, len(opts.Servers))
	seen := map[string]bool{}
	for _, a := range opts.Servers {
		s, err := parseServer(a)
		if err != nil {
			return nil, err
		}
		if seen[s.addr] {
			return nil, &backend.ConfigError{Reason: "memcached: server " + s.addr + " is listed twice"}
		}
		seen[s.addr] = true
		servers = append(servers, s)
	}
	if err := checkNamespace(opts.Namespace); err != nil {
		return nil, &backend.ConfigError{Param: "namespace", Value: opts.Namespace, Reason: err.Error()}
	}
	return servers, nil
}

// parseServer reads one address of Options.Servers.
func parseServer(a string) (*server, error) {
	if strings.HasPrefix(a, "/") {
		return &server{network: "unix", addr: a}, nil
	}
	host, port, err := net.SplitHostPort(a)
	if err != nil {
		host, port = a, DefaultPort
		if strings.HasPrefix(a, "[") && strings.HasSuffix(a, "]") {
			host = a[1 : len(a)-1]
		}
	}
	bad := func(reason string) error {
		return &backend.ConfigError{Reason: fmt.Sprintf("memcached: bad server address %q: %s", a, reason)}
	}
	if host == "" || strings.ContainsAny(host, " /,") {
		return nil, bad("want host:port, host (port " + DefaultPort + ") or a unix socket path starting with /")
	}
	if n, err := parsePort(port); err != nil || n == 0 {
		return nil, bad("the port must be a number from 1 to 65535")
	}
	return &server{network: "tcp", addr: net.JoinHostPort(host, port)}, nil
}

func parsePort(p string) (int, error) {
	n := 0
	if p == "" || len(p) > 5 {
		return 0, errors.New("bad port")
	}
	for _, c := range p {
		if c < '0' || c > '9' {
			return 0, errors.New("bad port")
		}
		n = n*10 + int(c-'0')
	}
	if n > 65535 {
		return 0, errors.New("bad port")
	}
	return n, nil
}

func checkNamespace(ns string) error {
	if len(ns) > maxNamespaceLen {
		return fmt.Errorf("longer than %d bytes", maxNamespaceLen)
	}
	if !legalKey(ns) {
		return errors.New("contains a space or a control character")
	}
	return nil
}

// Options returns the options in effect: the servers' addresses as
// dialled ("host" becomes "host:11211"), defaults filled in (a negative
// DownRetry stays negative).
func (s *Store) Options() Options {
	o := s.opts
	o.Servers = slices.Clone(o.Servers)
	return o
}

// ServerOf returns the address of the server that holds key.
func (s *Store) ServerOf(key string) string {
	return s.ring.serverFor(s.serverKey(key)).addr
}

// do runs fn, a gomemcache call, under ctx. gomemcache takes no context:
// its calls are bounded by the Store's Timeout. When ctx ends sooner than
// that could, fn runs in its own goroutine and do returns when ctx ends
// (fn then finishes in the background, within the Timeout); otherwise fn
// runs inline and a cancellation is seen before the call starts.
func (s *Store) do(ctx context.Context, fn func() error) error {
	return s.run(ctx, s.async(ctx), fn)
}

// run is do with the choice made: async runs fn in a goroutine.
func (s *Store) run(ctx context.Context, async bool, fn func() error) error {
	if s.closed.Load() {
		return ErrClosed
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	if async {
		done := make(chan error, 1)
		go func() { done <- s.retry(fn) }()
		select {
		case err := <-done:
			return err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return s.retry(fn)
}

// async reports whether do runs its call in a goroutine of its own:
// when ctx could end before a call (a dial and a reply) times out.
func (s *Store) async(ctx context.Context) bool {
	dl, ok := ctx.Deadline()
	return ok && time.Until(dl) < 2*s.timeout
}

// write runs a call that sends value, as do does. When the call runs
// asynchronously it sends a copy, since write may return before the call
// ends and the caller may then reuse value at once.
func (s *Store) write(ctx context.Context, value []byte, fn func(value []byte) error) error {
	async := s.async(ctx)
	if async {
		value = bytes.Clone(value)
	}
	return s.run(ctx, async, func() error { return fn(value) })
}

// retry runs fn, and once more if it failed on a connection the server
// had closed (the server restarted, or dropped idle connections): the
// pooled connections are then dropped, and the second try dials afresh.
// Every call through it is idempotent, or, for Add and CompareAndSwap,
// fails safe (at worst it reports false for a write that the first try
// made).
func (s *Store) retry(fn func() error) error {
	err := fn()
	if err == nil || !staleConn(err) {
		return err
	}
	s.dropIdle()
	return fn()
}

// staleConn reports whether err says that the peer closed the
// connection.
func staleConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE) ||
		errors.Is(err, net.ErrClosed)
}

// dropIdle closes the idle connections, at most once per Timeout.
func (s *Store) dropIdle() {
	now := time.Now().UnixNano()
	last := s.flushed.Load()
	if now-last < int64(s.timeout) || !s.flushed.CompareAndSwap(last, now) {
		return
	}
	s.mc.Close()
	s.raw.closeIdle()
}

// wrap adds the operation to a failure.
func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, ErrClosed) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	if strings.Contains(err.Error(), "SERVER_ERROR object too large") {
		return fmt.Errorf("memcached: %s: %w (%w)", op, backend.ErrTooLarge, err)
	}
	return fmt.Errorf("memcached: %s: %w", op, err)
}

// up returns the error of a call to the server of sk while that server
// is skipped (see ErrServerDown).
func (s *Store) up(sk string) error {
	return s.ring.usable(s.ring.serverFor(sk))
}

// Get returns the value stored under key.
func (s *Store) Get(ctx context.Context, key string) ([]byte, bool, error) {
	sk := s.serverKey(key)
	if err := s.up(sk); err != nil {
		return nil, false, wrap("get", err)
	}
	var it *memcache.Item
	err := s.do(ctx, func() (err error) {
		it, err = s.mc.Get(sk)
		return err
	})
	switch {
	case errors.Is(err, memcache.ErrCacheMiss):
		return nil, false, nil
	case err != nil:
		return nil, false, wrap("get", err)
	}
	if it.Value == nil {
		return []byte{}, true, nil
	}
	return it.Value, true, nil
}

// Set stores value under key for ttl, rounded up to whole seconds plus
// one; a ttl over 30 days is sent as an absolute time (see the package
// documentation).
func (s *Store) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	sk, exp := s.serverKey(key), expiration(ttl, time.Now())
	if err := s.up(sk); err != nil {
		return wrap("set", err)
	}
	return wrap("set", s.write(ctx, value, func(v []byte) error {
		return s.mc.Set(&memcache.Item{Key: sk, Value: v, Expiration: exp})
	}))
}

// Add stores value under key only if the server holds no live entry for
// it; memcached's add is atomic.
func (s *Store) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	sk, exp := s.serverKey(key), expiration(ttl, time.Now())
	if err := s.up(sk); err != nil {
		return false, wrap("add", err)
	}
	err := s.write(ctx, value, func(v []byte) error {
		return s.mc.Add(&memcache.Item{Key: sk, Value: v, Expiration: exp})
	})
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, memcache.ErrNotStored):
		return false, nil
	}
	return false, wrap("add", err)
}

// Delete removes key and reports whether it existed.
func (s *Store) Delete(ctx context.Context, key string) (bool, error) {
	sk := s.serverKey(key)
	if err := s.up(sk); err != nil {
		return false, wrap("delete", err)
	}
	err := s.do(ctx, func() error { return s.mc.Delete(sk) })
	switch {
	case err == nil:
		return true, nil
	case errors.Is(err, memcache.ErrCacheMiss):
		return false, nil
	}
	return false, wrap("delete", err)
}

// Close closes the connections. Calls after Close return ErrClosed.
func (s *Store) Close() error {
	if s.closed.Swap(true) {
		return nil
	}
	s.raw.close()
	return s.mc.Close()
}
