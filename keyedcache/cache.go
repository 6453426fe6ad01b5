package keyedcache

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"keyedcache.dev/keyedcache/backend"
)

// Forever is the TTL of an entry that never expires.
const Forever time.Duration = math.MaxInt64

// DefaultTimeout is the TTL of an alias with no timeout parameter.
const DefaultTimeout = 300 * time.Second

// Cache is one alias: a backend with a key prefix, a version, a default
// TTL and a codec. It is safe for concurrent use.
type Cache struct {
	alias   string
	url     string // redacted
	b       backend.Backend
	prefix  string // "site1::v2::" or ""
	timeout time.Duration
	codec   Codec
	tag     byte

	// Optional capabilities, discovered once.
	multi   backend.Multi
	prefixD backend.PrefixDeleter
	toucher backend.Toucher
	incr    backend.Incrementer
	cas     backend.CompareAndSwapper
	ttlR    backend.TTLReader
	objects backend.ObjectStore // non-nil only in by-reference mode
	// decoded keeps decoded values beside their bytes (get.go): non-nil
	// in copy mode on a backend that can, without generations or a
	// process tier.
	decoded backend.DecodedKeeper
	gens    bool          // delete-with-children through namespace generations
	stamps  stampCache    // the generation tokens last read (generations.go)
	near    *nearTier     // the process tier, or nil
	pub     *publisher    // tells other processes' process tiers of changes, or nil
	pend    pending       // invalidations waiting for the backend (pending.go)
	inval   invalidations // the deletes made through this Cache (function_support.go)

	enabled atomic.Bool
	closed  atomic.Bool
	stats   *counters
	log     *slog.Logger
	lastLog atomic.Int64
	quiet   atomic.Uint64 // errors not logged since the last log line
}

// An Option changes how a Cache is set up. Options given in code win over
// the same setting in the URL.
type Option func(*settings)

type settings struct {
	alias     string
	timeout   time.Duration
	keyPrefix *string
	version   int
	codec     Codec
	logger    *slog.Logger
	near      NearCache

	presenceEvery time.Duration // tests only: a shorter presenceEvery
}

// WithAlias names the cache in stats and logs (default "default").
func WithAlias(name string) Option { return func(s *settings) { s.alias = name } }

// WithTimeout sets the default TTL (the timeout parameter): positive, or
// Forever.
func WithTimeout(d time.Duration) Option { return func(s *settings) { s.timeout = d } }

// WithKeyPrefix sets the prefix of every key (the key_prefix parameter).
func WithKeyPrefix(p string) Option { return func(s *settings) { s.keyPrefix = &p } }

// WithVersion sets the key version (the version parameter), a segment
// "v<N>" after the prefix; changing it hides every old key at once.
func WithVersion(n int) Option { return func(s *settings) { s.version = n } }

// WithCodec sets the codec (the codec parameter).
func WithCodec(c Codec) Option { return func(s *settings) { s.codec = c } }

// WithLogger sets the logger for backend errors (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.logger = l } }

// commonParams are the URL parameters every alias understands.
var commonParams = []backend.Param{
	{Name: "timeout", Doc: "default TTL: seconds (fractions allowed), a duration such as 90s, or forever; default 300"},
	{Name: "key_prefix", Doc: "prefix of every key, e.g. site1; default none"},
	{Name: "version", Doc: "key version, a whole number ≥ 1; default none"},
	{Name: "codec", Doc: "value encoding: cbor (default), json or gob"},
}

// CommonParams returns the URL parameters every scheme accepts.
func CommonParams() []backend.Param { return slices.Clone(commonParams) }

// NearParams returns the URL parameters of the process tier, which every
// scheme accepts except the ones that keep entries in the process
// already, or none: memory:// and dummy://.
func NearParams() []backend.Param { return slices.Clone(nearParams) }

// inProcess reports whether a scheme's entries live in this process (or
// nowhere), so that a process tier in front of it has no use.
func inProcess(scheme string) bool { return scheme == "memory" || scheme == "dummy" }

// Open opens a cache from a URL such as "memory://?max_entries=10000".
// An unknown scheme, an unknown parameter or a bad value is a
// *backend.ConfigError that names it and lists what is valid.
func Open(rawURL string, opts ...Option) (*Cache, error) {
	u, drv, own, s, err := parseURL(rawURL)
	if err != nil {
		return nil, err
	}
	for _, o := range opts {
		o(&s)
	}
	b, err := drv.Open(backend.Config{URL: u, Params: own})
	if err != nil {
		return nil, err
	}
	c, err := newCache(b, s)
	if err != nil {
		b.Close()
		if ce, ok := err.(*backend.ConfigError); ok && ce.URL == "" {
			ce.URL = backend.Redact(u)
		}
		return nil, err
	}
	c.url = rawURL
	if _, hasPassword := u.User.Password(); hasPassword {
		c.url = backend.Redact(u)
	}
	return c, nil
}

// parseURL reads rawURL: its scheme's driver, the parameters meant for
// the driver and the core's settings. It opens nothing.
func parseURL(rawURL string) (u *url.URL, drv backend.Driver, own url.Values, s settings, err error) {
	fail := func(e error) (*url.URL, backend.Driver, url.Values, settings, error) {
		return nil, backend.Driver{}, nil, settings{}, e
	}
	u, err = url.Parse(rawURL)
	if err != nil {
		return fail(&backend.ConfigError{Reason: "not a URL: " + err.Error()})
	}
	drv, ok := backend.Lookup(u.Scheme)
	if !ok {
		return fail(&backend.ConfigError{URL: backend.Redact(u), Reason: fmt.Sprintf("unknown scheme %q (did you import its package?)", u.Scheme), Valid: backend.Schemes()})
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil { // u.Query would drop the bad pair (a ";", say) silently
		return fail(&backend.ConfigError{URL: backend.Redact(u), Reason: "bad query: " + err.Error()})
	}
	if err := checkRepeated(u, q); err != nil {
		return fail(err)
	}
	common := backend.Config{URL: u, Params: url.Values{}}
	own = url.Values{}
	known := slices.Clone(commonParams)
	if !inProcess(u.Scheme) {
		known = append(known, nearParams...)
	}
	for name, vals := range q {
		switch {
		case paramKnown(known, name):
			common.Params[name] = vals
		case paramKnown(drv.Params, name):
			own[name] = vals
		default:
			var valid []string
			for _, p := range append(known, drv.Params...) {
				valid = append(valid, p.Name)
			}
			reason := "unknown parameter for " + u.Scheme + "://"
			if paramKnown(nearParams, name) {
				reason = u.Scheme + ":// keeps its entries in this process already (or none): a process tier is for shared backends"
			}
			return fail(&backend.ConfigError{URL: backend.Redact(u), Param: name, Reason: reason, Valid: valid})
		}
	}
	if err := s.fromParams(common); err != nil {
		return fail(err)
	}
	return u, drv, own, s, nil
}

// Validate returns the *backend.ConfigError Open would return for
// rawURL's scheme, parameters and values, without opening anything: no
// connection, listener, goroutine or file. A nil error does not promise
// that Open succeeds: what only opening can tell (a server that does not
// answer, a directory that cannot be written, a certificate file that
// does not parse, a backend that cannot keep a process tier's log) is
// left to Open.
func Validate(rawURL string) error {
	u, drv, own, s, err := parseURL(rawURL)
	if err != nil {
		return err
	}
	if _, err := s.prefix(); err != nil {
		err.URL = backend.Redact(u)
		return err
	}
	if drv.Validate == nil {
		return nil
	}
	return drv.Validate(backend.Config{URL: u, Params: own})
}

// checkRepeated refuses a parameter given more than once
// (max_entries=1&max_entries=2): every scheme reads one value, and
// silently taking the first or the last hides a mistake.
func checkRepeated(u *url.URL, q url.Values) error {
	for _, name := range slices.Sorted(maps.Keys(q)) {
		if vals := q[name]; len(vals) > 1 {
			if name == "password" || name == "sslpassword" {
				vals = []string{"xxxxx"}
			}
			return &backend.ConfigError{URL: backend.Redact(u), Param: name, Value: strings.Join(vals, ", "),
				Reason: fmt.Sprintf("given %d times; give it once", len(q[name]))}
		}
	}
	return nil
}

func paramKnown(ps []backend.Param, name string) bool {
	return slices.ContainsFunc(ps, func(p backend.Param) bool { return p.Name == name })
}

func (s *settings) fromParams(cfg backend.Config) error {
	if t := cfg.Params.Get("timeout"); t == "forever" || t == "none" {
		s.timeout = Forever
	} else {
		d, err := cfg.Duration("timeout", 0)
		if err != nil {
			return err
		}
		s.timeout = d
	}
	if cfg.Params.Has("key_prefix") {
		p := cfg.Params.Get("key_prefix")
		s.keyPrefix = &p
	}
	v, err := cfg.Int("version", 0, 1)
	if err != nil {
		return err
	}
	s.version = int(v)
	if name := cfg.Params.Get("codec"); name != "" {
		c, ok := codecs[name]
		if !ok {
			return &backend.ConfigError{URL: backend.Redact(cfg.URL), Param: "codec", Value: name, Reason: "unknown codec", Valid: []string{"cbor", "gob", "json"}}
		}
		s.codec = c
	}
	return s.nearFromParams(cfg)
}

// New wraps a backend value in a Cache. It is how tests and programs that
// build their own backend use one; Open is the usual way in.
func New(b backend.Backend, opts ...Option) (*Cache, error) {
	var s settings
	for _, o := range opts {
		o(&s)
	}
	return newCache(b, s)
}

// prefix is what every key of a cache with settings s starts with: the
// escaped key_prefix and the version, each followed by Sep.
func (s *settings) prefix() (string, *backend.ConfigError) {
	var prefix string
	if s.keyPrefix != nil && *s.keyPrefix != "" {
		prefix = string(appendText(nil, *s.keyPrefix)) + Sep
	}
	if s.version > 0 {
		prefix += "v" + strconv.Itoa(s.version) + Sep
	}
	if len(prefix) > backend.MaxKeyLen/2 {
		return "", &backend.ConfigError{Param: "key_prefix", Value: *s.keyPrefix, Reason: "too long: keys must fit in 250 bytes"}
	}
	return prefix, nil
}

func newCache(b backend.Backend, s settings) (*Cache, error) {
	c := &Cache{alias: s.alias, b: b, timeout: s.timeout, codec: s.codec, log: s.logger, stats: new(counters)}
	c.pend.stop = make(chan struct{})
	if c.alias == "" {
		c.alias = "default"
	}
	switch {
	case c.timeout == 0:
		c.timeout = DefaultTimeout
	case c.timeout < 0:
		return nil, &backend.ConfigError{Param: "timeout", Value: c.timeout.String(), Reason: "the default TTL must be positive or forever"}
	}
	if c.codec == nil {
		c.codec = CBOR
	}
	c.tag = codecTag(c.codec)
	if c.log == nil {
		c.log = slog.Default()
	}
	prefix, perr := s.prefix()
	if perr != nil {
		return nil, perr
	}
	c.prefix = prefix
	c.multi, _ = b.(backend.Multi)
	c.prefixD, _ = b.(backend.PrefixDeleter)
	c.toucher, _ = b.(backend.Toucher)
	c.incr, _ = b.(backend.Incrementer)
	c.cas, _ = b.(backend.CompareAndSwapper)
	c.ttlR, _ = b.(backend.TTLReader)
	if o, ok := b.(backend.ObjectStore); ok && o.ByReference() {
		c.objects = o
	}
	c.gens = c.prefixD == nil
	if err := c.setUpTiers(s); err != nil {
		return nil, err
	}
	if k, ok := b.(backend.DecodedKeeper); ok && c.objects == nil && !c.gens && c.near == nil {
		c.decoded = k
	}
	c.enabled.Store(true)
	return c, nil
}

// Alias returns the cache's alias.
func (c *Cache) Alias() string { return c.alias }

// URL returns the URL the cache was opened with, any password removed.
func (c *Cache) URL() string { return c.url }

// KeyPrefix returns what every key of this cache starts with: the
// key_prefix and version segments with their trailing "::", or "" when
// the alias has neither.
func (c *Cache) KeyPrefix() string { return c.prefix }

// Timeout returns the default TTL.
func (c *Cache) Timeout() time.Duration { return c.timeout }

// Backend returns the backend, for its optional interfaces.
func (c *Cache) Backend() backend.Backend { return c.b }

// Codec returns the codec.
func (c *Cache) Codec() Codec { return c.codec }

// Enable turns the cache on or off. While off, reads miss (returning the
// key they would have used) and writes store nothing; deletes still
// reach the backend, so nothing turns stale meanwhile — and so do writes
// that delete (a TTL of zero or less, with Set, SetMany or Touch).
// Turning it back on shows what was stored before.
func (c *Cache) Enable(on bool) { c.enabled.Store(on) }

// Enabled reports whether the cache is on.
func (c *Cache) Enabled() bool { return c.enabled.Load() }

// ErrClosed is matched by the error of every operation on a Cache after
// its Close, and of every backend call after the backend's Close.
var ErrClosed = backend.ErrClosed

// Close closes the backend (and empties the process tier). Invalidations
// still queued for a backend that could not be reached are dropped.
// Every operation after it returns an error that matches ErrClosed:
// reads a *NotCachedError caused by it, writes, deletes and the rest the
// error itself. Closing twice does nothing.
func (c *Cache) Close() error {
	if c.closed.Swap(true) {
		return nil
	}
	c.closePending()
	if c.near != nil {
		c.near.close()
	}
	return c.b.Close()
}

// closedErr returns ErrClosed after Close, else nil: what an operation
// that finds the cache off returns. (An operation on a cache that is on
// reaches the backend, which says it is closed, or checks closed itself
// where a tier or by-reference value would answer without the backend.)
func (c *Cache) closedErr() error {
	if c.closed.Load() {
		return ErrClosed
	}
	return nil
}

// Require checks that the backend answers, returning a
// *CacheNotRespondingError when it does not. Invalidations queued while
// it could not be reached are replayed first; one that still cannot be
// is the error.
func (c *Cache) Require(ctx context.Context) error {
	err := c.settle(ctx)
	if err == nil {
		if p, ok := c.b.(backend.Pinger); ok {
			err = p.Ping(ctx)
		} else {
			_, _, err = c.b.Get(ctx, "keyedcache%ping")
		}
	}
	if err != nil {
		c.fail("require", "", err)
		return &CacheNotRespondingError{Alias: c.alias, Err: err}
	}
	return nil
}

// logEvery spaces out log lines about backend errors: one per burst.
const logEvery = 10 * time.Second

// fail counts a backend error and logs it, once per burst.
func (c *Cache) fail(op, key string, err error) {
	c.stats.shard().errors.Add(1)
	c.logFailure(op, key, err)
}

// logFailure logs a failure already counted, once per burst.
func (c *Cache) logFailure(op, key string, err error) {
	now := time.Now().UnixNano()
	last := c.lastLog.Load()
	if now-last < int64(logEvery) || !c.lastLog.CompareAndSwap(last, now) {
		c.quiet.Add(1)
		return
	}
	c.log.Warn("keyedcache: backend error; degrading to a miss", "alias", c.alias, "op", op, "key", key, "err", err, "unlogged_since_last", c.quiet.Swap(0))
}

var _ io.Closer = (*Cache)(nil)
