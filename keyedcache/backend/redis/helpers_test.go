package redis_test

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/redis"
)

// open opens the store of rawURL through the registered driver, as the
// core does, and closes it when t ends.
func open(t testing.TB, rawURL string) *redis.Store {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	b, err := redis.Open(backend.Config{URL: u, Params: u.Query()})
	if err != nil {
		t.Fatalf("Open(%s): %v", backend.Redact(u), err)
	}
	t.Cleanup(func() { b.Close() })
	return b.(*redis.Store)
}

// raw is a plain client on the same servers, to look behind the store.
func raw(t testing.TB, opt rueidis.ClientOption) rueidis.Client {
	t.Helper()
	opt.DisableCache = true
	c, err := rueidis.NewClient(opt)
	if err != nil {
		t.Fatalf("rueidis.NewClient: %v", err)
	}
	t.Cleanup(c.Close)
	return c
}

// flush empties every node of c, so that each pair of the conformance
// suite starts on an empty store.
func flush(t testing.TB, c rueidis.Client) {
	t.Helper()
	for addr, n := range c.Nodes() {
		if err := n.Do(context.Background(), n.B().Flushall().Build()).Error(); err != nil {
			t.Fatalf("FLUSHALL on %s: %v", addr, err)
		}
	}
}

// pair returns the conformance suite's open function for rawURL: a fresh
// pair of stores (two processes) on the emptied server, with timeouts
// that a loaded test machine cannot trip (TestOutage checks the defaults).
func pair(c rueidis.Client, rawURL string) func(t *testing.T) (a, b backend.Backend) {
	rawURL = patient(rawURL)
	return func(t *testing.T) (a, b backend.Backend) {
		flush(t, c)
		return connected(t, open(t, rawURL)), connected(t, open(t, rawURL))
	}
}

// connected waits until s has connected (it connects in the background),
// so that the suite's timings do not include opening connections.
func connected(t testing.TB, s *redis.Store) *redis.Store {
	t.Helper()
	if err := s.Ping(ctxFor(t)); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	return s
}

// patient adds generous timeouts to rawURL.
func patient(rawURL string) string {
	sep := "?"
	if strings.Contains(rawURL, "?") {
		sep = "&"
	}
	return rawURL + sep + "dial_timeout=10s&read_timeout=10s"
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	t.Cleanup(cancel)
	return ctx
}
