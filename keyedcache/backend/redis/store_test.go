package redis_test

import (
	"bytes"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/rueidis"

	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/redis"
)

// exists reports whether the Redis key k exists, looked at directly.
func exists(t *testing.T, c rueidis.Client, k string) bool {
	t.Helper()
	n, err := c.Do(ctxFor(t), c.B().Exists().Key(k).Build()).AsInt64()
	if err != nil {
		t.Fatalf("EXISTS %s: %v", k, err)
	}
	return n == 1
}

func rawSet(t *testing.T, c rueidis.Client, k, v string) {
	t.Helper()
	if err := c.Do(ctxFor(t), c.B().Set().Key(k).Value(v).Build()).Error(); err != nil {
		t.Fatalf("SET %s: %v", k, err)
	}
}

func mustSet(t *testing.T, s *redis.Store, k, v string, ttl time.Duration) {
	t.Helper()
	if err := s.Set(ctxFor(t), k, []byte(v), ttl); err != nil {
		t.Fatalf("Set(%q): %v", k, err)
	}
}

func indexEntries(t *testing.T, s *redis.Store) int {
	t.Helper()
	st, err := s.BackendStats(ctxFor(t))
	if err != nil {
		t.Fatalf("BackendStats: %v", err)
	}
	n, err := strconv.Atoi(st["index_entries"])
	if err != nil {
		t.Fatalf("index_entries = %q: %v", st["index_entries"], err)
	}
	return n
}

// TestClearKeepsOtherKeys checks that Clear and DeletePrefix remove the
// store's keys and nothing else on a shared server, and never scan the
// keyspace or flush the database to do it.
func TestClearKeepsOtherKeys(t *testing.T) {
	srv := testserver.Redis(t)
	c := raw(t, rueidis.ClientOption{InitAddress: []string{srv.Addr}})
	s := connected(t, open(t, patient("redis://"+srv.Addr)))
	for i := range 2000 {
		rawSet(t, c, fmt.Sprintf("other-app:%d", i), "theirs")
	}
	rawSet(t, c, "app::written-by-someone-else", "theirs")
	for _, k := range []string{"app::1", "app::1::a", "app::1::b", "app::10", "app::2"} {
		mustSet(t, s, k, "ours", time.Minute)
	}
	if n, err := s.DeletePrefix(ctxFor(t), "app::1::"); err != nil || n != 2 {
		t.Fatalf("DeletePrefix = %d, %v; want 2", n, err)
	}
	for k, want := range map[string]bool{"app::1": true, "app::1::a": false, "app::1::b": false, "app::10": true, "app::2": true} {
		if got := exists(t, c, k); got != want {
			t.Errorf("after DeletePrefix(app::1::): %s exists = %v, want %v", k, got, want)
		}
	}
	if err := s.Clear(ctxFor(t)); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	n, err := c.Do(ctxFor(t), c.B().Dbsize().Build()).AsInt64()
	if err != nil {
		t.Fatal(err)
	}
	if n != 2001 { // the other program's keys, nothing of ours, no index
		t.Fatalf("DBSIZE after Clear = %d, want the 2001 keys the store did not write", n)
	}
	if !exists(t, c, "other-app:7") || !exists(t, c, "app::written-by-someone-else") {
		t.Fatal("Clear removed a key the store did not write")
	}
	info, err := c.Do(ctxFor(t), c.B().Info().Section("commandstats").Build()).ToString()
	if err != nil {
		t.Fatal(err)
	}
	for _, cmd := range []string{"cmdstat_scan:", "cmdstat_keys:", "cmdstat_flushdb:", "cmdstat_flushall:"} {
		if strings.Contains(info, cmd) {
			t.Errorf("the server ran %s during DeletePrefix and Clear:\n%s", strings.TrimSuffix(cmd, ":"), info)
		}
	}
}

// TestDatabases checks that stores on different database numbers do not
// see or clear each other's keys.
func TestDatabases(t *testing.T) {
	srv := testserver.Redis(t)
	db0 := connected(t, open(t, patient("redis://"+srv.Addr)))
	db3 := connected(t, open(t, patient("redis://"+srv.Addr+"/3")))
	db3q := connected(t, open(t, patient("redis://"+srv.Addr+"?db=3")))
	mustSet(t, db0, "k", "zero", time.Minute)
	mustSet(t, db3, "k", "three", time.Minute)
	v, found, err := db3q.Get(ctxFor(t), "k")
	if err != nil || !found || string(v) != "three" {
		t.Fatalf("db=3 reads %q, %v, %v; want the value set through /3", v, found, err)
	}
	if err := db3.Clear(ctxFor(t)); err != nil {
		t.Fatal(err)
	}
	if v, found, err := db0.Get(ctxFor(t), "k"); err != nil || !found || string(v) != "zero" {
		t.Fatalf("database 0 after clearing database 3: %q, %v, %v", v, found, err)
	}
	c3 := raw(t, rueidis.ClientOption{InitAddress: []string{srv.Addr}, SelectDB: 3})
	if exists(t, c3, "k") {
		t.Fatal("Clear on database 3 left its key")
	}
}

// TestIndexSweep checks that index entries of expired and deleted keys
// are dropped as new keys come, so the index follows the live keys.
func TestIndexSweep(t *testing.T) {
	srv := testserver.Redis(t)
	s := connected(t, open(t, patient("redis://"+srv.Addr)))
	for i := range 100 {
		mustSet(t, s, fmt.Sprintf("short::%d", i), "x", 50*time.Millisecond)
	}
	mustSet(t, s, "gone", "x", time.Minute)
	if _, err := s.Delete(ctxFor(t), "gone"); err != nil {
		t.Fatal(err)
	}
	if n := indexEntries(t, s); n != 100 {
		t.Fatalf("index_entries = %d after 100 writes and a delete, want 100", n)
	}
	time.Sleep(100 * time.Millisecond) // the 100 expire
	// Rewriting a key files nothing new, so it starts no sweep.
	for range 300 {
		mustSet(t, s, "hot", "x", time.Minute)
	}
	if n := indexEntries(t, s); n != 101 {
		t.Fatalf("index_entries = %d after rewriting one key, want 101", n)
	}
	// New keys do: a sweep of 256 entries every 128 new ones visits every
	// entry. Sweeps run beside the writes, so the last may still be
	// running when the writes end.
	for i := range 299 {
		mustSet(t, s, fmt.Sprintf("long::%d", i), "x", time.Minute)
	}
	eventually(t, "the index holding only the 300 live keys", func() bool { return indexEntries(t, s) == 300 })
}

// TestIncr checks the contract's errors and that Incr keeps the TTL and
// never creates a key.
func TestIncr(t *testing.T) {
	srv := testserver.Redis(t)
	c := raw(t, rueidis.ClientOption{InitAddress: []string{srv.Addr}})
	s := connected(t, open(t, patient("redis://"+srv.Addr)))
	ctx := ctxFor(t)
	if _, err := s.Incr(ctx, "absent", 1); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("Incr of an absent key = %v, want ErrNotFound", err)
	}
	if exists(t, c, "absent") {
		t.Fatal("Incr created the absent key")
	}
	for _, c := range []struct {
		start string
		delta int64
		want  error
	}{
		{strconv.FormatInt(math.MaxInt64, 10), 1, backend.ErrOverflow},
		{strconv.FormatInt(math.MinInt64, 10), -1, backend.ErrOverflow},
		{"1.5", 1, backend.ErrNotNumeric},
		{"12x", 1, backend.ErrNotNumeric},
		{"", 1, backend.ErrNotNumeric},
	} {
		mustSet(t, s, "n", c.start, time.Minute)
		if _, err := s.Incr(ctx, "n", c.delta); !errors.Is(err, c.want) {
			t.Errorf("Incr(%q, %d) = %v, want %v", c.start, c.delta, err, c.want)
		}
		if v, _, _ := s.Get(ctx, "n"); string(v) != c.start {
			t.Errorf("after a failed Incr the value is %q, want %q unchanged", v, c.start)
		}
	}
	mustSet(t, s, "n", "-7", time.Minute)
	if n, err := s.Incr(ctx, "n", math.MaxInt64); err != nil || n != math.MaxInt64-7 {
		t.Fatalf("Incr = %d, %v", n, err)
	}
	if left, found, err := s.TTL(ctx, "n"); err != nil || !found || left <= 50*time.Second {
		t.Fatalf("TTL after Incr = %v, %v, %v; want the minute kept", left, found, err)
	}
}

// TestTouchForever checks that a touch with NoExpiry removes the TTL of a
// live key and reports a missing one.
func TestTouchForever(t *testing.T) {
	srv := testserver.Redis(t)
	s := connected(t, open(t, patient("redis://"+srv.Addr)))
	ctx := ctxFor(t)
	mustSet(t, s, "k", "v", time.Minute)
	if err := s.Touch(ctx, "k", backend.NoExpiry); err != nil {
		t.Fatalf("Touch(NoExpiry) = %v", err)
	}
	if left, found, err := s.TTL(ctx, "k"); err != nil || !found || left != backend.NoExpiry {
		t.Fatalf("TTL after Touch(NoExpiry) = %v, %v, %v; want NoExpiry", left, found, err)
	}
	mustSet(t, s, "forever", "v", backend.NoExpiry)
	if err := s.Touch(ctx, "forever", backend.NoExpiry); err != nil {
		t.Fatalf("Touch(NoExpiry) of a key without a TTL = %v, want nil", err)
	}
	if err := s.Touch(ctx, "absent", backend.NoExpiry); !errors.Is(err, backend.ErrNotFound) {
		t.Fatalf("Touch(NoExpiry) of an absent key = %v, want ErrNotFound", err)
	}
	if ok, err := s.CompareAndSwap(ctx, "absent", nil, []byte("v"), time.Minute); err != nil || ok {
		t.Fatalf("CompareAndSwap of an absent key = %v, %v; want false", ok, err)
	}
	if _, found, _ := s.Get(ctx, "absent"); found {
		t.Fatal("CompareAndSwap created an absent key")
	}
}

// TestManyKeys lists and deletes more keys than one script takes, in both
// modes, with expired keys left out of the listing.
func TestManyKeys(t *testing.T) {
	srv := testserver.Redis(t)
	cl := testserver.RedisCluster(t)
	for name, u := range map[string]string{
		"standalone": "redis://" + srv.Addr,
		"cluster":    "redis-cluster://" + strings.Join(cl.Addrs, ","),
	} {
		t.Run(name, func(t *testing.T) {
			s := connected(t, open(t, patient(u)))
			ctx := ctxFor(t)
			items := map[string][]byte{}
			for i := range 2500 {
				items[fmt.Sprintf("many::%d", i)] = []byte(strconv.Itoa(i))
			}
			if err := s.SetMany(ctx, items, time.Minute); err != nil {
				t.Fatalf("SetMany: %v", err)
			}
			if err := s.SetMany(ctx, map[string][]byte{"many::short": []byte("x")}, 20*time.Millisecond); err != nil {
				t.Fatal(err)
			}
			mustSet(t, s, "manyx", "not under the prefix", time.Minute)
			time.Sleep(50 * time.Millisecond)

			keys := make([]string, 0, len(items))
			for k := range items {
				keys = append(keys, k)
			}
			got, err := s.GetMany(ctx, append(keys, "many::absent", "many::short"))
			if err != nil || len(got) != len(items) {
				t.Fatalf("GetMany = %d entries, %v; want %d", len(got), err, len(items))
			}
			for k, v := range items {
				if !bytes.Equal(got[k], v) {
					t.Fatalf("GetMany[%s] = %q, want %q", k, got[k], v)
				}
			}

			var listed []string
			complete, err := s.ScanKeys(ctx, "many::", func(k string) bool { listed = append(listed, k); return true })
			if err != nil || !complete {
				t.Fatalf("ScanKeys = %v, %v", complete, err)
			}
			slices.Sort(listed)
			slices.Sort(keys)
			if !slices.Equal(listed, keys) {
				t.Fatalf("ScanKeys listed %d keys, want the %d live ones under the prefix", len(listed), len(keys))
			}
			seen := 0
			s.ScanKeys(ctx, "many::", func(string) bool { seen++; return seen < 10 })
			if seen != 10 {
				t.Fatalf("ScanKeys went on after fn returned false: %d calls", seen)
			}

			if n, err := s.DeletePrefix(ctx, "many::"); err != nil || n != len(items) {
				t.Fatalf("DeletePrefix = %d, %v; want %d", n, err, len(items))
			}
			if got, err := s.GetMany(ctx, keys[:50]); err != nil || len(got) != 0 {
				t.Fatalf("GetMany after DeletePrefix = %d entries, %v", len(got), err)
			}
			if v, found, err := s.Get(ctx, "manyx"); err != nil || !found || string(v) != "not under the prefix" {
				t.Fatalf("a key beside the prefix: %q, %v, %v", v, found, err)
			}
		})
	}
}

// TestClusterSpread checks that a cluster store spreads keys over every
// node and that its prefix delete reaches them all.
func TestClusterSpread(t *testing.T) {
	cl := testserver.RedisCluster(t)
	s := connected(t, open(t, patient("redis-cluster://"+strings.Join(cl.Addrs, ","))))
	for i := range 300 {
		mustSet(t, s, fmt.Sprintf("spread::%d", i), "x", time.Minute)
	}
	dbsize := func(addr string) int64 {
		c := raw(t, rueidis.ClientOption{InitAddress: []string{addr}, ForceSingleClient: true})
		n, err := c.Do(ctxFor(t), c.B().Dbsize().Build()).AsInt64()
		if err != nil {
			t.Fatalf("DBSIZE on %s: %v", addr, err)
		}
		return n
	}
	for _, a := range cl.Addrs {
		if n := dbsize(a); n < 50 {
			t.Errorf("node %s holds %d keys of 300 (and index shards); want them spread", a, n)
		}
	}
	st, err := s.BackendStats(ctxFor(t))
	if err != nil {
		t.Fatal(err)
	}
	if st["index_entries"] != "300" || st[cl.Addrs[0]+" redis_version"] == "" {
		t.Errorf("BackendStats = %v; want index_entries 300 and per-node figures", st)
	}
	if n, err := s.DeletePrefix(ctxFor(t), "spread::"); err != nil || n != 300 {
		t.Fatalf("DeletePrefix = %d, %v; want 300", n, err)
	}
	for _, a := range cl.Addrs {
		if n := dbsize(a); n != 0 {
			t.Errorf("node %s holds %d keys after deleting them all", a, n)
		}
	}
}

// TestScriptsFlushed checks that the store's scripts work again after the
// servers forget them (SCRIPT FLUSH, as after a restart), in both modes.
func TestScriptsFlushed(t *testing.T) {
	srv := testserver.Redis(t)
	cl := testserver.RedisCluster(t)
	for name, c := range map[string]struct {
		url string
		opt rueidis.ClientOption
	}{
		"standalone": {"redis://" + srv.Addr, rueidis.ClientOption{InitAddress: []string{srv.Addr}}},
		"cluster":    {"redis-cluster://" + strings.Join(cl.Addrs, ","), rueidis.ClientOption{InitAddress: cl.Addrs}},
	} {
		t.Run(name, func(t *testing.T) {
			s := connected(t, open(t, patient(c.url)))
			rc := raw(t, c.opt)
			ctx := ctxFor(t)
			for i := range 20 {
				mustSet(t, s, fmt.Sprintf("f::%d", i), "1", time.Minute)
			}
			if _, err := s.Incr(ctx, "f::0", 1); err != nil { // loads the scripts
				t.Fatal(err)
			}
			if _, err := s.DeletePrefix(ctx, "nothing::"); err != nil {
				t.Fatal(err)
			}
			for addr, n := range rc.Nodes() {
				if err := n.Do(ctx, n.B().ScriptFlush().Build()).Error(); err != nil {
					t.Fatalf("SCRIPT FLUSH on %s: %v", addr, err)
				}
			}
			if n, err := s.Incr(ctx, "f::1", 1); err != nil || n != 2 {
				t.Fatalf("Incr after SCRIPT FLUSH = %d, %v", n, err)
			}
			if n, err := s.DeletePrefix(ctx, "f::"); err != nil || n != 20 {
				t.Fatalf("DeletePrefix after SCRIPT FLUSH = %d, %v; want 20", n, err)
			}
		})
	}
}
