package main

import (
	"context"
	"log/slog"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/web"
)

// options configures newServer. The zero value is usable.
type options struct {
	// Delay is how long computing one report takes (default 1s).
	Delay time.Duration
	// TTL is how long a computed report stays cached (default 1m).
	TTL time.Duration
	// Require checks the cache for /healthz (default the cache's own
	// Require; main passes keyedcache.CacheRequire to check every alias).
	Require func(context.Context) error
	// Logger logs deletions and errors (default slog.Default()).
	Logger *slog.Logger
}

// server is the demo's http.Handler. Every handler works on one cache,
// given to newServer, so tests can give each server a cache of its own.
type server struct {
	cache *keyedcache.Cache
	opts  options
	log   *slog.Logger
	mux   *http.ServeMux
	// secured serves the routes with the staff page's security headers.
	secured http.Handler

	// computed counts the slow computations, to show (and test) that a
	// hit does not compute again.
	computed atomic.Int64
}

// newServer returns the demo's handler, working on cache.
func newServer(cache *keyedcache.Cache, opts options) *server {
	if opts.Delay <= 0 {
		opts.Delay = time.Second
	}
	if opts.TTL <= 0 {
		opts.TTL = time.Minute
	}
	if opts.Require == nil {
		opts.Require = cache.Require
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	s := &server{cache: cache, opts: opts, log: opts.Logger, mux: http.NewServeMux()}
	s.mux.HandleFunc("GET /{$}", s.handleIndex)
	s.mux.HandleFunc("GET /slow", s.handleSlow)
	s.mux.HandleFunc("GET /healthz", s.handleHealth)
	s.mux.HandleFunc("GET /style.css", serveStyle)
	s.secured = web.SecureHeaders(http.HandlerFunc(s.route))
	return s
}

// ServeHTTP serves the demo's routes. Every response, errors included,
// carries the same security headers as the staff page (web.SecureHeaders):
// no script runs on the demo's pages either, and they load nothing but
// their style sheet.
func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.secured.ServeHTTP(w, r)
}

// route serves the demo's routes. A request that changes state must be a
// POST (the mux's method patterns see to that) from this site itself.
func (s *server) route(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead && !sameOrigin(r) {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	s.mux.ServeHTTP(w, r)
}

// sameOrigin reports whether a request came from a page of this site, by
// the headers browsers send: Sec-Fetch-Site where present, else Origin.
// A request with neither (curl, a test client) is not from a browser and
// is allowed.
func sameOrigin(r *http.Request) bool {
	switch r.Header.Get("Sec-Fetch-Site") {
	case "same-origin", "none":
		return true
	case "":
	default:
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && u.Host == r.Host
}
