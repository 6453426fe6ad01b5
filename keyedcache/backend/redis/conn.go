package redis

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"math/bits"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/rueidis"

	"keyedcache.dev/keyedcache/backend"
)

// Defaults of the Options timeouts.
const (
	DefaultDialTimeout = 500 * time.Millisecond
	DefaultReadTimeout = 500 * time.Millisecond
)

// redialAfter is how long a failed first connection is remembered before
// a call tries again; calls in between fail at once with its error.
const redialAfter = 250 * time.Millisecond

// MaxPoolSize is the largest Options.PoolSize (pool_size): the most
// connections per server the client (rueidis, 2^8) keeps.
const MaxPoolSize = 1 << rueidis.MaxPipelineMultiplex

// ErrClosed is returned by every call after Close.
var ErrClosed = backend.ClosedError("redis")

// Options configure a Store. A zero field takes its default.
type Options struct {
	// Addrs are the servers as "host:port". A standalone store uses the
	// first; a cluster store uses them as seeds to discover the cluster.
	// With Network "unix", Addrs[0] is the socket's path.
	Addrs []string
	// Network is "tcp" (the default) or "unix".
	Network string
	// Cluster selects Redis Cluster mode: keys are spread over hash
	// slots, and DB must be 0.
	Cluster bool
	// DB is the database number (SELECT), standalone only.
	DB int
	// Username and Password authenticate (AUTH); a Password alone is the
	// "default" user's.
	Username, Password string
	// TLS, when set, makes every connection use TLS with this
	// configuration.
	TLS *tls.Config
	// PoolSize is how many connections to open to each server, rounded
	// up to a power of two; every connection pipelines the calls of many
	// goroutines. Default: 4 for a standalone server, 1 per cluster node;
	// at most MaxPoolSize.
	PoolSize int
	// DialTimeout bounds opening a connection, TLS and AUTH included
	// (default DefaultDialTimeout).
	DialTimeout time.Duration
	// ReadTimeout bounds how long calls wait for a server that stopped
	// answering (default DefaultReadTimeout): a connection that has
	// calls outstanding and no reply for about that long (at most twice
	// it) is closed, failing them, and reopened. It is enforced per
	// connection, not with a timer per call, which would cost each call
	// as much client time as the call itself; a context deadline still
	// ends a call sooner.
	ReadTimeout time.Duration
	// WriteTimeout bounds writing a call to a connection and the answer
	// to the keep-alive PING (default: ReadTimeout). A hung server is
	// noticed after about ReadTimeout/2 + WriteTimeout.
	WriteTimeout time.Duration
}

// clientOption turns o into rueidis's options.
func (o *Options) clientOption() (rueidis.ClientOption, error) {
	if len(o.Addrs) == 0 {
		return rueidis.ClientOption{}, errors.New("redis: no server address")
	}
	if o.Cluster && o.DB != 0 {
		return rueidis.ClientOption{}, errors.New("redis: a cluster has only database 0")
	}
	if o.PoolSize < 0 || o.DB < 0 {
		return rueidis.ClientOption{}, errors.New("redis: negative PoolSize or DB")
	}
	if o.PoolSize > MaxPoolSize {
		return rueidis.ClientOption{}, fmt.Errorf("redis: PoolSize %d is over %d, the most connections per server the client keeps", o.PoolSize, MaxPoolSize)
	}
	copt := rueidis.ClientOption{
		InitAddress:       o.Addrs,
		Username:          o.Username,
		Password:          o.Password,
		SelectDB:          o.DB,
		TLSConfig:         o.TLS,
		ClientName:        "keyedcache",
		DisableCache:      true, // no client-side caching: the core has its own tiers
		DisableRetry:      true, // a cache call that fails is a miss at once, not retried until its deadline
		ForceSingleClient: !o.Cluster,
	}
	// rueidis bounds a call waiting alone by a connection deadline of
	// ConnWriteTimeout, and pipelined calls by a PING sent every
	// Dialer.KeepAlive that the connection makes no progress, which must
	// answer within ConnWriteTimeout.
	read := orDefault(o.ReadTimeout, DefaultReadTimeout)
	copt.ConnWriteTimeout = orDefault(o.WriteTimeout, read)
	copt.Dialer.KeepAlive = read / 2
	copt.Dialer.Timeout = orDefault(o.DialTimeout, DefaultDialTimeout)
	if o.PoolSize > 0 {
		copt.PipelineMultiplex = bits.Len(uint(o.PoolSize - 1)) // 2^n ≥ PoolSize
	}
	switch o.Network {
	case "", "tcp":
	case "unix":
		if o.Cluster {
			return rueidis.ClientOption{}, errors.New("redis: cluster mode needs TCP addresses")
		}
		copt.InitAddress = o.Addrs[:1]
		copt.DialCtxFn = func(ctx context.Context, path string, d *net.Dialer, _ *tls.Config) (net.Conn, error) {
			return d.DialContext(ctx, "unix", path)
		}
	default:
		return rueidis.ClientOption{}, fmt.Errorf("redis: unknown network %q (valid: tcp, unix)", o.Network)
	}
	if !o.Cluster {
		copt.InitAddress = o.Addrs[:1]
	}
	return copt, nil
}

func orDefault(d, def time.Duration) time.Duration {
	if d > 0 {
		return d
	}
	return def
}

// connection holds the rueidis client, created in the background so that
// a store opens while its server is down. Once created, rueidis
// reconnects by itself.
type connection struct {
	opt   rueidis.ClientOption
	quiet bool // no warning about the eviction policy: another connection of the store gives it

	client atomic.Pointer[rueidis.Client]
	closed atomic.Bool

	mu      sync.Mutex
	dialing chan struct{} // closed when the dial in flight ends; nil when none is
	dialErr error         // why the last dial failed
	dialEnd time.Time     // when it ended
}

// dial starts connecting unless a dial is in flight or failed less than
// redialAfter ago, and returns the channel that closes when the dial in
// flight ends (nil when none is).
func (c *connection) dial() (chan struct{}, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return nil, ErrClosed
	}
	if c.dialing != nil || c.client.Load() != nil {
		return c.dialing, nil
	}
	if c.dialErr != nil && time.Since(c.dialEnd) < redialAfter {
		return nil, c.dialErr
	}
	done := make(chan struct{})
	c.dialing = done
	go func() {
		cl, err := rueidis.NewClient(c.opt)
		c.mu.Lock()
		if err == nil && c.closed.Load() {
			cl.Close()
			err = ErrClosed
		}
		if err == nil {
			c.client.Store(&cl)
			if !c.quiet {
				go warnEvictable(cl, c.opt.Dialer.Timeout)
			}
		} else {
			err = fmt.Errorf("redis: connect to %s: %w", strings.Join(c.opt.InitAddress, ","), err)
		}
		c.dialErr, c.dialEnd, c.dialing = err, time.Now(), nil
		c.mu.Unlock()
		close(done)
	}()
	return done, nil
}

// get returns the client, waiting for a dial in flight while ctx allows.
func (c *connection) get(ctx context.Context) (rueidis.Client, error) {
	if cl := c.client.Load(); cl != nil && !c.closed.Load() {
		return *cl, nil
	}
	if c.closed.Load() {
		return nil, ErrClosed
	}
	done, err := c.dial()
	if err != nil {
		return nil, err
	}
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
			return nil, fmt.Errorf("redis: still connecting: %w", ctx.Err())
		}
	}
	if cl := c.client.Load(); cl != nil && !c.closed.Load() {
		return *cl, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Load() {
		return nil, ErrClosed
	}
	return nil, c.dialErr
}

// warnEvictable logs a warning when the server's maxmemory-policy may
// evict the index (see the package documentation). A server that does not
// allow CONFIG GET (a managed service, say) is not warned about.
func warnEvictable(c rueidis.Client, timeout time.Duration) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	for addr, n := range c.Nodes() {
		m, err := n.Do(ctx, n.B().ConfigGet().Parameter("maxmemory-policy").Build()).AsStrMap()
		if policy := m["maxmemory-policy"]; err == nil && strings.HasPrefix(policy, "allkeys-") {
			slog.Warn("keyedcache/redis: the server may evict the key index under memory pressure; "+
				"delete-with-children and Clear would then miss keys written before (use a volatile-* policy or noeviction)",
				"server", addr, "maxmemory-policy", policy)
			return
		}
	}
}

// close closes the client, if any; a dial in flight closes its client
// when it ends.
func (c *connection) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed.Swap(true) {
		return
	}
	if cl := c.client.Load(); cl != nil {
		(*cl).Close()
	}
}
