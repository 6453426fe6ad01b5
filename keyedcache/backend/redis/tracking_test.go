package redis_test

import (
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/redis"
)

// reports collects what a tracked view reports.
type reports struct {
	mu      sync.Mutex
	keys    []string
	flushes int
}

func (r *reports) invalidate(keys []string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if keys == nil {
		r.flushes++
		return
	}
	r.keys = append(r.keys, keys...)
}

// take returns the keys reported since the last take, sorted, and the
// number of flushes so far.
func (r *reports) take() ([]string, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	keys := r.keys
	r.keys = nil
	slices.Sort(keys)
	return keys, r.flushes
}

// track opens a tracked view of s that reports to a new reports.
func track(t *testing.T, s *redis.Store) (backend.TrackedReader, *reports) {
	t.Helper()
	r := &reports{}
	v, err := s.Track(r.invalidate)
	if err != nil {
		t.Fatalf("Track: %v", err)
	}
	t.Cleanup(func() { v.Close() })
	return v, r
}

// redisCLI runs redis-cli against srv with args (and stdin, if given).
func redisCLI(t *testing.T, srv *testserver.Server, stdin string, args ...string) string {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	if err != nil {
		t.Fatalf("redis-cli: %v (apt-get install redis-tools)", err)
	}
	cmd := exec.Command(cli, append([]string{"-h", "127.0.0.1", "-p", strconv.Itoa(srv.Port)}, args...)...)
	if stdin != "" {
		cmd.Stdin = strings.NewReader(stdin)
	}
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("redis-cli %v: %v\n%s", args, err, out)
	}
	return strings.TrimSpace(string(out))
}

// wantReported fails t unless, after a Sync, exactly keys were reported.
func wantReported(t *testing.T, v backend.TrackedReader, r *reports, keys []string, after string) {
	t.Helper()
	if err := v.Sync(ctxFor(t)); err != nil {
		t.Fatalf("Sync after %s: %v", after, err)
	}
	got, _ := r.take()
	if diff := cmp.Diff(keys, got); diff != "" {
		t.Errorf("reported after %s, once Sync returned (-want +got):\n%s", after, diff)
	}
}

func TestTrack(t *testing.T) {
	srv := testserver.Redis(t)
	s := connected(t, open(t, patient("redis://"+srv.Addr)))
	other := connected(t, open(t, patient("redis://"+srv.Addr))) // another process
	v, r := track(t, s)
	ctx := ctxFor(t)

	for _, k := range []string{"a", "b", "c", "forever"} {
		if err := s.Set(ctx, k, []byte("v-"+k), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	s.Set(ctx, "forever", []byte("v"), backend.NoExpiry)
	val, ttl, found, err := v.Get(ctx, "a")
	if err != nil || !found || string(val) != "v-a" {
		t.Fatalf("Get(a) = %q, %v, %v", val, found, err)
	}
	if ttl <= 59*time.Minute || ttl > time.Hour {
		t.Errorf("Get(a): ttl %v, want the hour it was set with, less the moments since", ttl)
	}
	if _, ttl, found, _ := v.Get(ctx, "forever"); !found || ttl != backend.NoExpiry {
		t.Errorf("Get(forever): ttl %v, found %v; want NoExpiry", ttl, found)
	}
	if _, _, found, err := v.Get(ctx, "missing"); found || err != nil {
		t.Errorf("Get(missing): found %v, %v", found, err)
	}
	vals, ttls, err := v.GetMany(ctx, []string{"b", "c", "missing"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]byte{"b": []byte("v-b"), "c": []byte("v-c")}, vals); diff != "" {
		t.Errorf("GetMany values (-want +got):\n%s", diff)
	}
	if len(ttls) != 2 || ttls["b"] <= 59*time.Minute || ttls["c"] <= 59*time.Minute {
		t.Errorf("GetMany ttls: %v", ttls)
	}
	wantReported(t, v, r, nil, "reads alone")
	if ids := clientIDs(t, srv, "keyedcache-near"); len(ids) != 1 {
		t.Errorf("tracked connections %v, want one: Sync must reach the one the reads used", ids)
	}

	// A change by another client is reported by the time Sync returns:
	// a write, a delete, a write of a missing key read before, a write
	// through redis-cli.
	other.Set(ctx, "a", []byte("new"), time.Hour)
	wantReported(t, v, r, []string{"a"}, "a Set by another store")
	other.Delete(ctx, "b")
	wantReported(t, v, r, []string{"b"}, "a Delete by another store")
	other.Set(ctx, "missing", []byte("now here"), time.Hour)
	wantReported(t, v, r, []string{"missing"}, "a Set of a key read while missing")
	redisCLI(t, srv, "", "SET", "c", "from redis-cli")
	wantReported(t, v, r, []string{"c"}, "a SET by redis-cli")
	// Tracking is one report per read: a key not read again is not
	// reported again.
	redisCLI(t, srv, "", "SET", "c", "again")
	wantReported(t, v, r, nil, "a second SET of a key not read since")
	// A key that was not read is not reported.
	other.Set(ctx, "unread", []byte("v"), time.Hour)
	wantReported(t, v, r, nil, "a Set of a key never read")

	// A key expiring in Redis is reported.
	s.Set(ctx, "short", []byte("v"), 50*time.Millisecond)
	if _, ttl, found, _ := v.Get(ctx, "short"); !found || ttl > 50*time.Millisecond {
		t.Errorf("Get(short): ttl %v, found %v; want at most 50ms", ttl, found)
	}
	eventually(t, "the expiry of a tracked key reported", func() bool {
		other.Get(ctx, "short") // Redis notices an expiry on access at the latest
		v.Sync(ctx)
		got, _ := r.take()
		return slices.Contains(got, "short")
	})

	// FLUSHDB: everything.
	if _, flushes := r.take(); flushes != 0 {
		t.Fatalf("%d flushes before any", flushes)
	}
	v.Get(ctx, "a")
	redisCLI(t, srv, "", "FLUSHDB")
	v.Sync(ctx)
	if _, flushes := r.take(); flushes != 1 {
		t.Errorf("after FLUSHDB: %d flushes, want 1", flushes)
	}
}

func TestTrackBinaryKeysAndValues(t *testing.T) {
	srv := testserver.Redis(t)
	s := connected(t, open(t, patient("redis://"+srv.Addr)))
	v, r := track(t, s)
	ctx := ctxFor(t)
	key := "site1::a b\x00c::ü"
	s.Set(ctx, key, []byte{0, 1, 2, 0xff}, time.Hour)
	if val, _, found, err := v.Get(ctx, key); err != nil || !found || !slices.Equal(val, []byte{0, 1, 2, 0xff}) {
		t.Fatalf("Get = %v, %v, %v", val, found, err)
	}
	s.Delete(ctx, key)
	wantReported(t, v, r, []string{key}, "a delete of a key with spaces, a NUL and UTF-8")
}

// clientIDs returns the ids of the clients of srv named name.
func clientIDs(t *testing.T, srv *testserver.Server, name string) []string {
	var ids []string
	for line := range strings.Lines(redisCLI(t, srv, "", "CLIENT", "LIST")) {
		if strings.Contains(line, " name="+name+" ") {
			for f := range strings.FieldsSeq(line) {
				if id, ok := strings.CutPrefix(f, "id="); ok {
					ids = append(ids, id)
				}
			}
		}
	}
	return ids
}

// A tracked connection that closes — killed, or the server restarted —
// reports everything: what the server would have said on it is lost.
func TestTrackConnectionLost(t *testing.T) {
	srv := testserver.Redis(t)
	s := connected(t, open(t, patient("redis://"+srv.Addr)))
	v, r := track(t, s)
	ctx := ctxFor(t)
	s.Set(ctx, "k", []byte("v"), time.Hour)
	v.Get(ctx, "k")

	ids := clientIDs(t, srv, "keyedcache-near")
	if len(ids) != 1 {
		t.Fatalf("tracked connections: %v, want one", ids)
	}
	redisCLI(t, srv, "", "CLIENT", "KILL", "ID", ids[0])
	eventually(t, "a report of everything after CLIENT KILL", func() bool {
		_, flushes := r.take()
		return flushes == 1
	})
	// The view reconnects, and tracks again.
	if val, _, found, err := v.Get(ctx, "k"); err != nil || !found || string(val) != "v" {
		t.Fatalf("Get after the kill = %q, %v, %v", val, found, err)
	}
	s.Set(ctx, "k", []byte("v2"), time.Hour)
	wantReported(t, v, r, []string{"k"}, "a Set after the view reconnected")

	v.Get(ctx, "k")
	srv.Restart()
	eventually(t, "a report of everything after a server restart", func() bool {
		_, flushes := r.take()
		return flushes >= 2
	})
	eventually(t, "a Sync after the restart", func() bool { return v.Sync(ctx) == nil })
}

// On a cluster, keys live in shards whose hash tags prefix them; reports
// name the keys as the store takes them, and Sync reaches every node.
func TestTrackCluster(t *testing.T) {
	cl := testserver.RedisCluster(t)
	u := patient("redis-cluster://" + strings.Join(cl.Addrs, ","))
	s := connected(t, open(t, u))
	other := connected(t, open(t, u))
	v, r := track(t, s)
	ctx := ctxFor(t)
	var keys []string
	for i := range 40 {
		k := "site1::product::" + strconv.Itoa(i)
		keys = append(keys, k)
		s.Set(ctx, k, []byte("old"), time.Hour)
	}
	vals, _, err := v.GetMany(ctx, keys[:20])
	if err != nil || len(vals) != 20 {
		t.Fatalf("GetMany of 20 keys: %d values, %v", len(vals), err)
	}
	for _, k := range keys[20:] {
		if _, _, found, err := v.Get(ctx, k); !found || err != nil {
			t.Fatalf("Get(%s): %v, %v", k, found, err)
		}
	}
	wantReported(t, v, r, nil, "reads alone")
	for _, k := range keys {
		other.Set(ctx, k, []byte("new"), time.Hour)
	}
	slices.Sort(keys)
	wantReported(t, v, r, keys, "a Set of every key by another store")
	if _, err := other.DeletePrefix(ctx, "site1::"); err != nil {
		t.Fatal(err)
	}
	wantReported(t, v, r, nil, "a delete of keys not read since their last report")
}

func TestTrackNeedsACallback(t *testing.T) {
	s := open(t, "redis://127.0.0.1:1")
	if _, err := s.Track(nil); err == nil {
		t.Error("Track(nil) returned no error")
	}
}
