package mixin

import (
	"log/slog"
	"time"

	"keyedcache.dev/keyedcache"
)

// An Option changes how a Model caches its type.
type Option func(*settings)

type settings struct {
	name        string
	alias       string
	cache       *keyedcache.Cache
	ttl         time.Duration // 0: the alias's timeout
	notFound    error
	notFoundTTL time.Duration // 0: not-found answers are not cached
	logger      *slog.Logger
}

// WithName sets the name that starts every key of the model (default:
// the Go type's name, so Product is keyed Product::7).
func WithName(name string) Option { return func(s *settings) { s.name = name } }

// WithAlias makes the model use the cache registered as alias in the
// default registry (see keyedcache.Configure), looked up at each use.
// Without WithAlias or WithCache the model uses the default registry's
// current alias, keyedcache.Default().
func WithAlias(alias string) Option {
	return func(s *settings) { s.alias, s.cache = alias, nil }
}

// WithCache makes the model use c.
func WithCache(c *keyedcache.Cache) Option {
	return func(s *settings) { s.cache, s.alias = c, "" }
}

// WithTTL sets how long a cached object lives (default: the alias's
// timeout). Forever (keyedcache.Forever) never expires.
func WithTTL(d time.Duration) Option { return func(s *settings) { s.ttl = d } }

// WithNotFound sets the model's not-found error (default ErrNotFound),
// which every *NotFoundError from the model matches. A loader reports a
// missing row by returning it (wrapped or not), ErrNotFound,
// sql.ErrNoRows, or a nil object with a nil error.
func WithNotFound(err error) Option { return func(s *settings) { s.notFound = err } }

// WithNotFoundTTL caches not-found answers for d, so that repeated
// lookups of a missing id or slug do not reach the database each time.
// Zero (the default) caches nothing. Keep d short: a row inserted
// without a call to Saved stays invisible for up to d.
func WithNotFoundTTL(d time.Duration) Option { return func(s *settings) { s.notFoundTTL = d } }

// WithLogger sets the logger for the few things the model reports
// itself (default slog.Default()); backend failures are logged by the
// cache.
func WithLogger(l *slog.Logger) Option { return func(s *settings) { s.logger = l } }
