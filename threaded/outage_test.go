package threaded_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache"
	"keyedcache.dev/threaded"
)

// When the server dies, the tiers degrade to the backend's misses (never
// an error, never a value the process tier can no longer vouch for); when
// it comes back empty, the process tier and the LocalSync maps notice and
// drop what they held. A dead server refuses connections at once, so
// the timeouts play no part; they are far above what loopback needs,
// because on a loaded machine a timed-out write is dropped, and the
// checks after the restart would then read a miss.
func TestTiersWhenTheServerDies(t *testing.T) {
	for _, tc := range []struct {
		name   string
		start  func(t *testing.T) *testserver.Server
		url    func(s *testserver.Server) string
		params string
	}{
		{"redis", func(t *testing.T) *testserver.Server { return testserver.Redis(t) },
			func(s *testserver.Server) string { return "redis://" + s.Addr }, "read_timeout=2s&dial_timeout=2s"},
		{"memcached", func(t *testing.T) *testserver.Server { return testserver.Memcached(t) },
			func(s *testserver.Server) string { return "memcached://" + s.Addr }, "net_timeout=2s&down_retry=100ms"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := tc.start(t)
			const bound = 100 * time.Millisecond
			c := open(t, withParams(tc.url(srv), tc.params+"&key_prefix=app&near_entries=100&near_staleness="+bound.String()))
			bg := context.Background()
			keyedcache.Get[string](bg, c, "warm-up") // the tier announces itself,
			time.Sleep(keyedcache.NearWarmUp)        // and answers once writers know of it
			c.Set(bg, c.Key("k"), "v")
			keyedcache.Get[string](bg, c, "k")
			if v, _ := keyedcache.Get[string](bg, c, "k"); v != "v" || c.Stats().ProcessHits != 1 {
				t.Fatalf("before: k = %q, process hits %d", v, c.Stats().ProcessHits)
			}
			perms := threaded.NewLocalSync[string, string]("perms", c)
			defer perms.Close()
			perms.Set(bg, "alice", "admin")

			srv.Kill()
			time.Sleep(bound)
			_, err := keyedcache.Get[string](bg, c, "k")
			var miss *keyedcache.NotCachedError
			if !errors.As(err, &miss) {
				t.Errorf("read while down: %v, want a *NotCachedError", err)
			}
			if c.Stats().ProcessFlushes == 0 {
				t.Error("the process tier was not flushed when its check failed")
			}
			if v, ok := perms.Get(bg, "alice"); !ok || v != "admin" {
				t.Errorf("LocalSync while down: %q, %v; want its entry", v, ok)
			}
			inRequest(func(ctx context.Context) {
				// Dropped by the backend, which may still hold an older
				// draft: queued as a delete, so even the request reads a
				// miss until it is replayed.
				c.Set(ctx, c.Key("draft"), "mine")
				if v, err := keyedcache.Get[string](ctx, c, "draft"); !errors.Is(err, keyedcache.ErrInvalidationPending) {
					t.Errorf("the request's own failed write while down: %q, %v; want a miss while its delete is queued", v, err)
				}
			})

			srv.Restart() // empty: no persistence
			deadline := time.Now().Add(30 * time.Second)
			for c.Require(bg) != nil {
				if time.Now().After(deadline) {
					t.Fatal("the backend did not come back")
				}
				time.Sleep(50 * time.Millisecond)
			}
			time.Sleep(bound)
			if v, err := keyedcache.Get[string](bg, c, "k"); err == nil {
				t.Errorf("after a restart that lost everything: k = %q from the process tier", v)
			}
			time.Sleep(keyedcache.NearWarmUp) // where the restart lost its marker, the tier waits again
			c.Set(bg, c.Key("k2"), "v2")
			keyedcache.Get[string](bg, c, "k2")
			before := c.Stats().ProcessHits
			if v, _ := keyedcache.Get[string](bg, c, "k2"); v != "v2" || c.Stats().ProcessHits != before+1 {
				t.Errorf("after the restart: k2 = %q, process hits %d → %d", v, before, c.Stats().ProcessHits)
			}
			if _, ok := perms.Get(bg, "alice"); ok {
				t.Error("LocalSync kept its entry although the backend came back without its token")
			}
		})
	}
}
