package function

import (
	"log/slog"
	"time"

	"keyedcache.dev/keyedcache"
)

// Defaults of the options.
const (
	// DefaultLease is how long a computation's claim on a key lasts
	// without renewal (WithLease). The holder renews it while it computes,
	// so it bounds how long others wait for a holder that died, not how
	// long a computation may take.
	DefaultLease = 5 * time.Second
	// DefaultMaxWait is how long a caller waits for another process's
	// computation before computing itself (WithMaxWait).
	DefaultMaxWait = 30 * time.Second
)

// An Option changes how a function is cached.
type Option func(*settings)

type settings struct {
	name     string
	cache    *keyedcache.Cache
	alias    string
	ttl      time.Duration
	hasTTL   bool
	errorTTL time.Duration
	stale    time.Duration
	lease    time.Duration
	maxWait  time.Duration
	key      func(args []any) []any
	log      *slog.Logger
}

func newSettings(opts []Option) settings {
	s := settings{lease: DefaultLease, maxWait: DefaultMaxWait}
	for _, o := range opts {
		o(&s)
	}
	if s.lease <= 0 {
		s.lease = DefaultLease
	}
	if s.maxWait < 0 {
		s.maxWait = 0
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	return s
}

// WithName sets the name the function's results are cached under, in
// place of its package path and name. A closure, a method value and a
// generic function need one; two functions given one name share their
// cached results.
func WithName(name string) Option { return func(s *settings) { s.name = name } }

// WithTTL sets how long a result stays fresh: a positive duration or
// keyedcache.Forever. Zero or less stores nothing, so every call computes
// (still once for callers that ask at the same moment). Without it the
// cache's timeout applies.
func WithTTL(d time.Duration) Option {
	return func(s *settings) { s.ttl, s.hasTTL = d, true }
}

// WithAlias caches in the alias of that name in the default registry,
// looked up at each call (so a reconfigured alias is followed). Without
// it, and without WithCache, the default alias is used.
func WithAlias(alias string) Option { return func(s *settings) { s.alias = alias } }

// WithCache caches in c.
func WithCache(c *keyedcache.Cache) Option { return func(s *settings) { s.cache = c } }

// WithKey sets how the arguments become the parts of the key that follow
// func::<name>. It receives the arguments in order and returns the parts;
// by default the parts are the arguments themselves, keyed by the rules
// of keyedcache.Key. Use it to leave out an argument that does not change
// the result, or to key a value by one of its fields.
func WithKey(fn func(args []any) []any) Option { return func(s *settings) { s.key = fn } }

// WithErrorTTL caches an error the function returns for d, so that
// callers within d get it without calling the function again, as a
// *CachedError. Errors are not cached by default, and neither are a
// context's errors (context.Canceled, context.DeadlineExceeded) nor
// panics.
func WithErrorTTL(d time.Duration) Option { return func(s *settings) { s.errorTTL = d } }

// WithStale keeps a result for d after it expires: a call in that window
// returns the old result at once and starts one refresh in the
// background — one across every process sharing the cache. Zero (the
// default) turns it off.
func WithStale(d time.Duration) Option { return func(s *settings) { s.stale = d } }

// WithLease sets how long a computation's claim on a key lasts unless
// renewed (default DefaultLease). The process computing renews it every
// third of d; if it dies, another process takes over once d has passed.
func WithLease(d time.Duration) Option { return func(s *settings) { s.lease = d } }

// WithMaxWait sets how long a call waits for a computation running in
// another process before computing itself (default DefaultMaxWait) —
// and so how long it waits out a slow backend while a claim, its own in
// doubt or another's, is pending (see the package documentation). The
// call's context can end the wait sooner.
func WithMaxWait(d time.Duration) Option { return func(s *settings) { s.maxWait = d } }

// WithLogger sets the logger for failures that no caller sees: a
// background refresh that fails or panics (default slog.Default()).
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.log = l } }
