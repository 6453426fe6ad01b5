package memcached_test

import (
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/memcached"
)

// rejectedKeys are keys memcached refuses as they are.
var rejectedKeys = []string{
	strings.Repeat("k", 251),
	strings.Repeat("long::", 200),
	"a b",
	" lead",
	"tab\tkey",
	"new\nline",
	"cr\r\nlf",
	"nul\x00",
	"del\x7f",
	"\x01\x02\x03",
	strings.Repeat("é", 126), // 252 bytes of UTF-8
	strings.Repeat("x", 300) + " " + strings.Repeat("y", 300),
}

// TestRejectedKeysNeverReachTheServer sends keys that memcached (and
// gomemcache, before sending) would reject through every raw call, and
// checks that each works as for a plain key, that no two keys collide
// (not even "a b" and "a_b", which a byte substitution alone would
// merge), and that the server holds only legal keys.
func TestRejectedKeysNeverReachTheServer(t *testing.T) {
	srv := startServer(t)
	raw := memcache.New(srv.Addr)
	defer raw.Close()
	for _, k := range rejectedKeys {
		if err := raw.Set(&memcache.Item{Key: k, Value: []byte("x")}); !errors.Is(err, memcache.ErrMalformedKey) {
			t.Fatalf("gomemcache accepted %q (err %v); the test needs keys the server rejects", k, err)
		}
	}

	s := newStore(t, memcached.Options{Servers: []string{srv.Addr}})
	ctx := ctxFor(t)
	all := append(slices.Clone(rejectedKeys), "a_b", "tab_key", strings.Repeat("k", 250))
	for i, k := range all {
		if err := s.Set(ctx, k, []byte{byte(i)}, time.Minute); err != nil {
			t.Fatalf("Set(%q): %v", k, err)
		}
	}
	for i, k := range all {
		v, found, err := s.Get(ctx, k)
		if err != nil || !found || len(v) != 1 || v[0] != byte(i) {
			t.Fatalf("Get(%q) = %v, %v, %v; want [%d]", k, v, found, err, i)
		}
	}
	got, err := s.GetMany(ctx, all)
	if err != nil || len(got) != len(all) {
		t.Fatalf("GetMany: %d of %d keys, %v", len(got), len(all), err)
	}
	for i, k := range all {
		if d := cmp.Diff([]byte{byte(i)}, got[k]); d != "" {
			t.Fatalf("GetMany[%q] (-want +got):\n%s", k, d)
		}
	}

	k := rejectedKeys[2]
	if added, err := s.Add(ctx, k, []byte("again"), time.Minute); err != nil || added {
		t.Fatalf("Add(%q) over a live entry = %v, %v; want false", k, added, err)
	}
	if err := s.Touch(ctx, k, time.Hour); err != nil {
		t.Fatalf("Touch(%q): %v", k, err)
	}
	if left, found, err := s.TTL(ctx, k); err != nil || !found || left < 59*time.Minute || left > time.Hour {
		t.Fatalf("TTL(%q) after Touch(1h) = %v, %v, %v", k, left, found, err)
	}
	if ok, err := s.CompareAndSwap(ctx, k, []byte{2}, []byte("swapped"), time.Minute); err != nil || !ok {
		t.Fatalf("CompareAndSwap(%q) = %v, %v; want true", k, ok, err)
	}
	if existed, err := s.Delete(ctx, k); err != nil || !existed {
		t.Fatalf("Delete(%q) = %v, %v; want true", k, existed, err)
	}
	if _, found, _ := s.Get(ctx, k); found {
		t.Fatalf("Get(%q) after Delete: found", k)
	}
	if v, _, _ := s.Get(ctx, "a_b"); string(v) != string([]byte{byte(len(rejectedKeys))}) {
		t.Fatalf(`deleting "a b" changed "a_b": %v`, v)
	}

	onServer := serverKeys(t, srv.Addr)
	if len(onServer) != len(all)-1 {
		t.Fatalf("the server holds %d keys, want %d", len(onServer), len(all)-1)
	}
	for _, sk := range onServer {
		if len(sk) > backend.MaxKeyLen || strings.ContainsFunc(sk, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
			t.Fatalf("the server holds the illegal key %q", sk)
		}
	}

	// The mapping is deterministic: another Store (another process)
	// finds the same entries.
	other := newStore(t, memcached.Options{Servers: []string{srv.Addr}})
	for i, k := range all[3:] {
		if v, found, err := other.Get(ctx, k); err != nil || !found || v[0] != byte(i+3) {
			t.Fatalf("another Store: Get(%q) = %v, %v, %v", k, v, found, err)
		}
	}
}

// TestNamespacedKeys checks the namespace: keys are stored under it,
// legal keys that the namespace pushes past 250 bytes are mapped, and
// the listing reports itself incomplete exactly when mapped keys exist.
func TestNamespacedKeys(t *testing.T) {
	srv := startServer(t)
	ctx := ctxFor(t)
	s := newStore(t, memcached.Options{Servers: []string{srv.Addr}, Namespace: "ns1:"})
	for _, k := range []string{"list::a", "list::b", "other"} {
		if err := s.Set(ctx, k, []byte("x"), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	onServer := serverKeys(t, srv.Addr)
	slices.Sort(onServer)
	if d := cmp.Diff([]string{"ns1:list::a", "ns1:list::b", "ns1:other"}, onServer); d != "" {
		t.Fatalf("keys on the server (-want +got):\n%s", d)
	}
	var listed []string
	complete, err := s.ScanKeys(ctx, "list::", func(k string) bool { listed = append(listed, k); return true })
	slices.Sort(listed)
	if err != nil || !complete || !slices.Equal(listed, []string{"list::a", "list::b"}) {
		t.Fatalf("ScanKeys = %q, complete=%v, %v; want [list::a list::b], complete", listed, complete, err)
	}

	long := "list::" + strings.Repeat("z", 244) // 250 bytes: legal alone, not after "ns1:"
	if err := s.Set(ctx, long, []byte("long"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if v, found, err := s.Get(ctx, long); err != nil || !found || string(v) != "long" {
		t.Fatalf("Get(250-byte key) = %q, %v, %v", v, found, err)
	}
	listed = nil
	complete, err = s.ScanKeys(ctx, "list::", func(k string) bool { listed = append(listed, k); return true })
	if err != nil || complete || len(listed) != 2 {
		t.Fatalf("ScanKeys with a mapped key = %d keys, complete=%v, %v; want the 2 others and complete=false", len(listed), complete, err)
	}

	// Stopping early stops.
	n := 0
	if _, err := s.ScanKeys(ctx, "", func(string) bool { n++; return false }); err != nil || n != 1 {
		t.Fatalf("ScanKeys stopped by fn: called %d times, %v", n, err)
	}
	// The connection that was cut off mid-dump is not reused.
	if v, found, err := s.Get(ctx, "other"); err != nil || !found || string(v) != "x" {
		t.Fatalf("Get after a stopped scan = %q, %v, %v", v, found, err)
	}
	if _, _, err := s.TTL(ctx, "other"); err != nil {
		t.Fatalf("TTL after a stopped scan: %v", err)
	}
}
