package neartest_test

import (
	"context"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache"
)

// The process tier on Redis, where the server reports changes: two Cache
// values in this process (process_test.go has real processes).

func TestNearTrackedGetMany(t *testing.T) {
	srv := testserver.Redis(t)
	u := "redis://" + srv.Addr + "?key_prefix=site1&dial_timeout=10s&read_timeout=10s"
	writer := open(t, u)
	reader := open(t, u+"&near_entries=100&near_staleness=100ms&near_ttl=5m")

	ctx := context.Background()
	keys := []string{"a", "b", "c"}
	for _, k := range keys {
		writer.Set(ctx, writer.Key(k), "old")
	}
	want := map[string]string{"a": "old", "b": "old", "c": "old"}
	for range 2 {
		got, err := keyedcache.GetMany[string](ctx, reader, keys...)
		if diff := cmp.Diff(want, got); diff != "" || err != nil {
			t.Fatalf("GetMany: %v (-want +got):\n%s", err, diff)
		}
	}
	if st := reader.Stats(); st.ProcessHits != 3 {
		t.Fatalf("the second GetMany: %d process-tier hits, want 3", st.ProcessHits)
	}
	writer.Set(ctx, writer.Key("a"), "new")
	writer.Delete(ctx, "b")
	time.Sleep(100 * time.Millisecond) // near_staleness
	got, _ := keyedcache.GetMany[string](ctx, reader, keys...)
	if diff := cmp.Diff(map[string]string{"a": "new", "c": "old"}, got); diff != "" {
		t.Errorf("GetMany a staleness bound after another cache's Set and Delete (-want +got):\n%s", diff)
	}
}

// An entry of the tier lives no longer than its key in Redis, even when
// Redis does not notice the expiry (no one reads the key there, and its
// active expiry is off here).
func TestNearTrackedEntryExpiresWithItsKey(t *testing.T) {
	srv := testserver.Redis(t, testserver.Args("--enable-debug-command", "yes"))
	u := "redis://" + srv.Addr + "?dial_timeout=10s&read_timeout=10s"
	writer := open(t, u)
	reader := open(t, u+"&near_entries=100&near_staleness=1h&near_ttl=5m")
	ctx := context.Background()
	redisCLI(t, srv, "", "DEBUG", "SET-ACTIVE-EXPIRE", "0")
	const ttl = time.Second
	var start time.Time
	for attempt := 0; ; attempt++ {
		// Fill the tier and read the entry from it, well within the TTL;
		// a machine too busy for that tries again with a fresh key.
		start = time.Now()
		writer.Set(ctx, writer.Key("k"), "v", keyedcache.TTL(ttl))
		hits := reader.Stats().ProcessHits
		for range 2 {
			keyedcache.Get[string](ctx, reader, "k")
		}
		if reader.Stats().ProcessHits == hits+1 && time.Since(start) < ttl/2 {
			break
		}
		if attempt == 20 {
			t.Fatal("could not read an entry from the tier within half its TTL in 20 attempts")
		}
	}
	time.Sleep(time.Until(start.Add(ttl + ttl/10)))
	if v, err := keyedcache.Get[string](ctx, reader, "k"); err == nil {
		t.Errorf("Get after the key's TTL = %q: the tier kept it past its TTL in Redis", v)
	}
}

func open(t testing.TB, rawURL string) *keyedcache.Cache {
	t.Helper()
	c, err := keyedcache.Open(rawURL)
	if err != nil {
		t.Fatalf("Open(%q): %v", rawURL, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}
