package threaded_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"keyedcache.dev/internal/testproc"
	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache"
	_ "keyedcache.dev/keyedcache/backend/memcached"
	_ "keyedcache.dev/keyedcache/backend/redis"
	"keyedcache.dev/threaded"
)

// The tests in this file run in two processes: the test binary starts
// itself again (internal/testproc) and both open the same real store —
// files in a directory, memcached, or Redis — by URL. The child signals
// through its output; the parent through files in a directory they share.

const (
	envURL = "THREADED_TEST_URL"
	envSig = "THREADED_TEST_SIGNALS"
)

// shared are the stores two processes can share, each as a function that
// starts one for a test and returns its URL.
var shared = []struct {
	name string
	url  func(t *testing.T) string
}{
	{"file", func(t *testing.T) string { return "file://" + t.TempDir() }},
	{"memcached", func(t *testing.T) string { return "memcached://" + testserver.Memcached(t).Addr }},
	{"redis", func(t *testing.T) string { return "redis://" + testserver.Redis(t).Addr }},
}

// signal and awaitSignal pass a named signal from the parent to the
// child.
func signal(t *testing.T, dir, name string) {
	if err := os.WriteFile(filepath.Join(dir, name), nil, 0o600); err != nil {
		t.Fatal(err)
	}
}

func awaitSignal(t *testing.T, name string) {
	path := filepath.Join(os.Getenv(envSig), name)
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		if _, err := os.Stat(path); err == nil {
			return
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("no signal %q from the parent", name)
}

func withParams(u, params string) string {
	if strings.Contains(u, "?") {
		return u + "&" + params
	}
	return u + "?" + params
}

// inRequest runs fn in a request cache of its own.
func inRequest(fn func(ctx context.Context)) {
	ctx, release := threaded.WithRequestCache(context.Background())
	defer release()
	fn(ctx)
}

func TestLocalSyncAcrossProcesses(t *testing.T) {
	for _, b := range shared {
		t.Run(b.name, func(t *testing.T) {
			if role, ok := testproc.Role(); ok {
				localSyncChild(t, role)
				return
			}
			u := b.url(t)
			sig := t.TempDir()
			p := testproc.Start(t, "holder", envURL+"="+u, envSig+"="+sig)
			c := open(t, u)
			perms := threaded.NewLocalSync[string, string]("perms", c)
			defer perms.Close()
			ctx := context.Background()

			p.WaitFor(t, "filled", time.Minute)
			if err := perms.Clear(ctx); err != nil {
				t.Fatal(err)
			}
			signal(t, sig, "cleared")

			p.WaitFor(t, "filled again", time.Minute)
			if err := perms.Clear(ctx); err != nil {
				t.Fatal(err)
			}
			signal(t, sig, "cleared again")
			p.Wait(t)
		})
	}
}

func localSyncChild(t *testing.T, role string) {
	if role != "holder" {
		t.Fatalf("unknown role %q", role)
	}
	c := open(t, os.Getenv(envURL))
	perms := threaded.NewLocalSync[string, string]("perms", c)
	menus := threaded.NewLocalSync[string, string]("menus", c)
	inRequest(func(ctx context.Context) {
		perms.Set(ctx, "alice", "admin")
		menus.Set(ctx, "main", "home,shop")
	})
	inRequest(func(ctx context.Context) {
		if v, ok := perms.Get(ctx, "alice"); !ok || v != "admin" {
			t.Errorf("before any clear: perms[alice] = %q, %v", v, ok)
		}
	})
	fmt.Println("filled")

	awaitSignal(t, "cleared")
	inRequest(func(ctx context.Context) {
		if v, ok := perms.Get(ctx, "alice"); ok {
			t.Errorf("the first request after the other process's Clear read %q", v)
		}
		if _, ok := menus.Get(ctx, "main"); !ok {
			t.Error("a Clear of perms cleared menus too")
		}
		perms.Set(ctx, "alice", "user")
	})
	fmt.Println("filled again")

	// Outside a request, the next use checks.
	awaitSignal(t, "cleared again")
	if v, ok := perms.Get(context.Background(), "alice"); ok {
		t.Errorf("the first use outside a request after the other process's Clear read %q", v)
	}
	for _, st := range threaded.Stats().LocalSync {
		if want := map[string]uint64{"perms": 2, "menus": 0}[st.Name]; st.RemoteClears != want {
			t.Errorf("%s: %d remote clears, want %d", st.Name, st.RemoteClears, want)
		}
	}
}

const nearStaleness = 200 * time.Millisecond

func TestNearAcrossProcesses(t *testing.T) {
	for _, b := range shared {
		t.Run(b.name, func(t *testing.T) {
			if role, ok := testproc.Role(); ok {
				nearChild(t, role)
				return
			}
			// A key_prefix, so that Clear is of the alias's keys (memcached refuses
			// to Clear a whole server).
			u := withParams(b.url(t), "key_prefix=site1&near_entries=1000&near_staleness="+nearStaleness.String())
			sig := t.TempDir()
			c := open(t, u)
			ctx := context.Background()
			for _, k := range []string{"k", "tree", "tree::a", "tree::a::b", "treetop"} {
				if err := c.Set(ctx, c.Key(k), "old"); err != nil {
					t.Fatal(err)
				}
			}
			p := testproc.Start(t, "reader", envURL+"="+u, envSig+"="+sig)
			p.WaitFor(t, "filled", time.Minute)
			c.Set(ctx, c.Key("k"), "new")
			c.DeleteChildren(ctx, "tree")
			signal(t, sig, "changed")

			p.WaitFor(t, "checked", time.Minute)
			c.Clear(ctx)
			signal(t, sig, "cleared")
			p.Wait(t)
		})
	}
}

func nearChild(t *testing.T, role string) {
	if role != "reader" {
		t.Fatalf("unknown role %q", role)
	}
	c := open(t, os.Getenv(envURL))
	ctx := context.Background()
	read := func(k string) (string, bool) {
		v, err := keyedcache.Get[string](ctx, c, k)
		if err != nil && !errors.Is(err, keyedcache.ErrNotCached) {
			t.Fatalf("Get(%s): %v", k, err)
		}
		return v, err == nil
	}
	keys := []string{"k", "tree", "tree::a", "tree::a::b", "treetop"}
	read("warm-up")                   // the tier announces itself,
	time.Sleep(keyedcache.NearWarmUp) // and answers once writers know of it
	for range 2 {
		for _, k := range keys {
			if v, ok := read(k); v != "old" || !ok {
				t.Fatalf("before any change: %s = %q, %v", k, v, ok)
			}
		}
	}
	if st := c.Stats(); st.ProcessHits != uint64(len(keys)) {
		t.Errorf("the second round: %d process-tier hits, want %d", st.ProcessHits, len(keys))
	}
	fmt.Println("filled")

	// A change made before the signal is seen by a read made a staleness
	// bound after it.
	awaitSignal(t, "changed")
	time.Sleep(nearStaleness)
	if v, _ := read("k"); v != "new" {
		t.Errorf("a staleness bound after the other process's Set: k = %q, want new", v)
	}
	for _, k := range []string{"tree", "tree::a", "tree::a::b"} {
		if v, ok := read(k); ok {
			t.Errorf("a staleness bound after the other process's DeleteChildren: %s = %q", k, v)
		}
	}
	before := c.Stats().ProcessHits
	if v, _ := read("treetop"); v != "old" {
		t.Errorf("treetop = %q, want old", v)
	}
	if c.Stats().ProcessHits != before+1 {
		t.Error("the invalidations dropped treetop, which they do not name")
	}
	fmt.Println("checked")

	awaitSignal(t, "cleared")
	time.Sleep(nearStaleness)
	if v, ok := read("treetop"); ok {
		t.Errorf("a staleness bound after the other process's Clear: treetop = %q", v)
	}
}
