// Command demo is a small web site that shows keyedcache at work.
//
// It serves a deliberately slow page, a cached slow function, a product
// catalogue cached as objects, the staff page and a health check:
//
//	/                  an index page with links to the others
//	/slow?id=N         a weather report for place N that takes a second to
//	                   compute; the first load is a miss and slow, the next
//	                   is a hit and fast (see the X-Cache response header)
//	/function?name=…   a restaurant lookup wrapped by function.CacheFunction:
//	                   slow, then fast; POST /function/delete forgets all
//	/catalogue         kites on SQLite, read through the cache with package
//	                   mixin and a per-request cache (package threaded); each
//	                   page says how many database queries it made
//	/cache/            the staff page (package web): counters, keys, delete;
//	                   log in with the user and password printed at start
//	/healthz           "ok" while the cache answers, 503 when it does not
//
// Run it from the repository root with
//
//	go run ./examples/demo
//
// and open the URL it prints (http://127.0.0.1:8080/ unless -addr says
// otherwise). It uses the default alias, which is the embedded memory://
// backend unless KEYEDCACHE_ALIASES and KEYEDCACHE_ALIAS say otherwise,
// for example
//
//	KEYEDCACHE_ALIASES='default=file:///tmp/demo-cache' go run ./examples/demo
//
// Flags:
//
//	-addr          address to listen on (default 127.0.0.1:8080)
//	-delay         how long the slow computation takes (default 1s)
//	-ttl           how long a computed report stays cached (default 1m)
//	-catalogue-db  the catalogue's SQLite file (created and filled if new)
//	-show-values   show cached values on the staff page (off: keys, sizes
//	               and TTLs only, as a site with secrets in its cache wants)
//
// The staff page's password is drawn at every start and printed with the
// address; nobody else on the machine can guess it.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"keyedcache.dev/keyedcache"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "demo:", err)
		os.Exit(1)
	}
}

func run() error {
	addr := flag.String("addr", "127.0.0.1:8080", "address to listen on")
	delay := flag.Duration("delay", time.Second, "how long the slow computation takes")
	ttl := flag.Duration("ttl", time.Minute, "how long a computed report stays cached")
	catalogueDB := flag.String("catalogue-db", filepath.Join(os.TempDir(), "keyedcache-demo-catalogue.db"),
		"SQLite database of the catalogue (created and filled if new)")
	showValues := flag.Bool("show-values", false, "show cached values on the staff page")
	flag.Parse()

	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	slog.SetDefault(log)

	// Bad configuration fails here, with the error, not later in a handler.
	if err := keyedcache.ConfigureFromEnv(); err != nil {
		return err
	}
	cache := keyedcache.Default()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	s := newServer(cache, options{
		Delay:   *delay,
		TTL:     *ttl,
		Require: keyedcache.CacheRequire, // every configured alias
		Logger:  log,
	})
	registerFunction(s.mux, cache, *delay)
	closeCatalogue, err := registerCatalogue(s.mux, cache, *catalogueDB)
	if err != nil {
		return err
	}
	defer closeCatalogue()
	user, password, err := mountStaff(s.mux, keyedcache.DefaultRegistry(), log, *showValues)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           s,
		ReadHeaderTimeout: 5 * time.Second,
		ReadTimeout:       10 * time.Second,
		WriteTimeout:      30 * time.Second, // well above -delay's default
		IdleTimeout:       time.Minute,
	}
	log.Info("keyedcache demo listening", "url", "http://"+ln.Addr().String()+"/",
		"alias", cache.Alias(), "backend", cache.URL())
	log.Info("staff page", "url", "http://"+ln.Addr().String()+"/cache/", "user", user, "password", password)

	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()

	select {
	case err := <-served:
		return err // Serve failed before any signal
	case <-ctx.Done():
	}
	stop() // a second signal kills the program at once
	log.Info("shutting down")
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutCtx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return keyedcache.DefaultRegistry().Close()
}
