package memory

import (
	"context"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/keyedcache/backend"
)

// These tests look inside the store: they run otter's maintenance
// (CleanUp) before they check a bound, since otter applies writes to its
// policy asynchronously and may stand above a bound for a moment, and
// they check the prefix index against the cache.

func newTestStore(t *testing.T, opts Options) *Store {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("New(%+v): %v", opts, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// liveKeys returns the store's live keys, sorted.
func liveKeys(s *Store) []string {
	var ks []string
	for k := range s.c.Keys() {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

// indexedKeys returns the keys the index holds, in the order its
// shards hold them (each shard's keys in order).
func indexedKeys(s *Store) []string {
	var ks []string
	for i := range s.idx.shards {
		sh := &s.idx.shards[i]
		sh.mu.Lock()
		sh.keys.Ascend(func(it indexItem) bool {
			ks = append(ks, it.key())
			return true
		})
		sh.mu.Unlock()
	}
	return ks
}

// checkIndex fails unless the index holds exactly the cache's keys, each
// once, and each prefix's keys are exactly the cache's keys under it.
func checkIndex(t *testing.T, s *Store) {
	t.Helper()
	s.c.CleanUp()
	var want []string
	for k := range s.c.All() {
		want = append(want, k)
	}
	slices.Sort(want)
	got := indexedKeys(s)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("index keys differ from the cache's keys (-cache +index):\n%s", diff)
	}
	// Every prefix's keys (a sample of prefixes, for large stores) are
	// the run of the sorted keys that start with it.
	step := max(1, len(want)/100)
	for i := 0; i < len(want); i += step {
		k := want[i]
		for _, p := range []string{k, k[:len(k)/2]} {
			lo, _ := slices.BinarySearch(want, p)
			hi := lo
			for hi < len(want) && strings.HasPrefix(want[hi], p) {
				hi++
			}
			got := s.idx.under(p)
			slices.Sort(got)
			if !slices.Equal(want[lo:hi], got) {
				t.Errorf("keys under %q (-cache +index):\n%s", p, cmp.Diff(want[lo:hi], got))
			}
		}
	}
}

// waitForSize waits up to 5s for otter to reclaim expired entries until
// the cache holds n.
func waitForSize(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.c.CleanUp(); s.c.EstimatedSize() != n && time.Now().Before(deadline); s.c.CleanUp() {
		time.Sleep(50 * time.Millisecond)
	}
	if got := s.c.EstimatedSize(); got != n {
		t.Fatalf("the cache holds %d entries 5s after the rest expired, want %d", got, n)
	}
}

func TestMaxEntries(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{MaxEntries: 100})
	for i := range 1000 {
		if err := s.Set(ctx, fmt.Sprintf("k::%d", i), []byte("v"), backend.NoExpiry); err != nil {
			t.Fatal(err)
		}
	}
	s.c.CleanUp()
	if n := len(liveKeys(s)); n > 100 || n < 90 {
		t.Errorf("%d entries after 1000 Sets with max_entries=100; want 90..100", n)
	}
	if s.evictions.Load() < 900 {
		t.Errorf("evictions = %d, want ≥ 900", s.evictions.Load())
	}
	checkIndex(t, s)
}

func TestMaxBytes(t *testing.T) {
	ctx := context.Background()
	const maxBytes = 10000
	s := newTestStore(t, Options{MaxEntries: 1 << 20, MaxBytes: maxBytes})
	value := make([]byte, 100)
	for i := range 1000 {
		if err := s.Set(ctx, fmt.Sprintf("k::%04d", i), value, backend.NoExpiry); err != nil {
			t.Fatal(err)
		}
	}
	s.c.CleanUp()
	live := liveKeys(s)
	counted := 0
	for _, k := range live {
		counted += int(allocSize(len(k)) + allocSize(len(value)) + EntryOverhead)
	}
	// 10000 / (8 + 112 + EntryOverhead) = 31 entries at most
	if counted > maxBytes || len(live) < 25 {
		t.Errorf("%d entries counting %d bytes with max_bytes=%d; want ≤ %[3]d bytes and ≥ 25 entries",
			len(live), counted, maxBytes)
	}
	st, _ := s.BackendStats(ctx)
	if st["bytes"] != fmt.Sprint(counted) {
		t.Errorf("BackendStats bytes = %s, want %d", st["bytes"], counted)
	}

	// A value larger than the bound is not kept.
	if err := s.Set(ctx, "huge", make([]byte, maxBytes), backend.NoExpiry); err != nil {
		t.Fatal(err)
	}
	s.c.CleanUp()
	if _, ok, _ := s.Get(ctx, "huge"); ok {
		t.Errorf("a value larger than max_bytes was kept")
	}
	checkIndex(t, s)
}

// With both bounds, small entries are held to max_entries.
func TestBothBounds(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{MaxEntries: 10, MaxBytes: 1 << 20})
	for i := range 100 {
		if err := s.Set(ctx, fmt.Sprint(i), []byte("v"), backend.NoExpiry); err != nil {
			t.Fatal(err)
		}
	}
	s.c.CleanUp()
	if n := len(liveKeys(s)); n > 10 || n < 8 {
		t.Errorf("%d small entries with max_entries=10, max_bytes=1MiB; want 8..10", n)
	}
}

// A byte bound beyond otter's uint32 weights is counted in larger units.
func TestHugeByteBound(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{MaxEntries: 10, MaxBytes: 1 << 40})
	for i := range 100 {
		if err := s.Set(ctx, fmt.Sprint(i), []byte("v"), backend.NoExpiry); err != nil {
			t.Fatal(err)
		}
	}
	s.c.CleanUp()
	if n := len(liveKeys(s)); n > 10 || n < 8 {
		t.Errorf("%d entries with max_entries=10, max_bytes=1TiB; want 8..10", n)
	}
	if s.unit < 2 {
		t.Errorf("unit = %d, want > 1 for a 1TiB bound", s.unit)
	}
}

// TestChurn writes many short-lived entries and checks that once they
// have expired the cache and the index hold nothing: expired entries are
// reclaimed, not just hidden. Otter's timer wheel reclaims in ticks of
// about a second.
func TestChurn(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for otter's timer wheel")
	}
	ctx := context.Background()
	s := newTestStore(t, Options{MaxEntries: 1 << 20})
	const rounds, perRound = 10, 2000
	for r := range rounds {
		for i := range perRound {
			key := fmt.Sprintf("churn::%d::%d", r, i)
			if err := s.Set(ctx, key, []byte("v"), 5*time.Millisecond); err != nil {
				t.Fatal(err)
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	waitForSize(t, s, 0)
	if k := s.idx.size(); k != 0 {
		t.Errorf("index holds %d keys after every entry expired", k)
	}
	if got := s.expirations.Load(); got != rounds*perRound {
		t.Errorf("expirations = %d, want %d", got, rounds*perRound)
	}
}

// TestDeletePrefixCost checks that a prefix delete visits only the keys
// it removes, however many other keys the store holds.
func TestDeletePrefixCost(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{MaxEntries: 1 << 20})
	put := func(key string) {
		if err := s.Set(ctx, key, []byte("v"), backend.NoExpiry); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 20_000 {
		put(fmt.Sprintf("site::other::%d", i))
	}
	for i := range 10 {
		put(fmt.Sprintf("site::product::%d", i))
		put(fmt.Sprintf("site::product::%d::size::xl", i))
	}
	put("site::productivity::1")

	removed, visited, err := s.deletePrefix(ctx, "site::product::3::")
	if diff := cmp.Diff([2]int{1, 1}, [2]int{removed, visited}); diff != "" || err != nil {
		t.Errorf("deletePrefix(site::product::3::) [removed visited] (-want +got):\n%s (err %v)", diff, err)
	}
	removed, visited, err = s.deletePrefix(ctx, "site::product::")
	if diff := cmp.Diff([2]int{19, 19}, [2]int{removed, visited}); diff != "" || err != nil {
		t.Errorf("deletePrefix(site::product::) [removed visited] (-want +got):\n%s (err %v)", diff, err)
	}
	// So does a prefix that is not a whole part of a key.
	removed, visited, err = s.deletePrefix(ctx, "site::productiv")
	if diff := cmp.Diff([2]int{1, 1}, [2]int{removed, visited}); diff != "" || err != nil {
		t.Errorf("deletePrefix(site::productiv) [removed visited] (-want +got):\n%s (err %v)", diff, err)
	}
	removed, visited, err = s.deletePrefix(ctx, "nothing")
	if diff := cmp.Diff([2]int{0, 0}, [2]int{removed, visited}); diff != "" || err != nil {
		t.Errorf("deletePrefix(nothing) [removed visited] (-want +got):\n%s (err %v)", diff, err)
	}
	checkIndex(t, s)
}

// The index follows every way an entry can leave or come back:
// replacement, deletion, expiry, a write over an expired entry,
// eviction, Clear.
func TestIndexFollowsTheCache(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{MaxEntries: 50})
	for i := range 40 {
		key := fmt.Sprintf("a::%d::b", i)
		if err := s.Set(ctx, key, []byte("1"), 20*time.Millisecond); err != nil {
			t.Fatal(err)
		}
	}
	checkIndex(t, s)
	time.Sleep(40 * time.Millisecond)
	// writes over expired entries that otter has not reclaimed yet
	for i := range 20 {
		key := fmt.Sprintf("a::%d::b", i)
		if err := s.Set(ctx, key, []byte("2"), backend.NoExpiry); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 5 {
		if _, err := s.Incr(ctx, fmt.Sprintf("a::%d::b", i), 1); err != nil {
			t.Fatal(err)
		}
		if err := s.Touch(ctx, fmt.Sprintf("a::%d::b", i+5), time.Hour); err != nil {
			t.Fatal(err)
		}
		if _, err := s.Delete(ctx, fmt.Sprintf("a::%d::b", i+10)); err != nil {
			t.Fatal(err)
		}
	}
	// The 20 entries left to expire stay indexed until otter reclaims
	// them, within about a second.
	waitForSize(t, s, 15)
	checkIndex(t, s)
	if diff := cmp.Diff(15, len(s.idx.under("a::"))); diff != "" {
		t.Errorf("keys under a:: after the writes (-want +got):\n%s", diff)
	}
	// evictions
	for i := range 200 {
		if err := s.Set(ctx, fmt.Sprintf("b::%d", i), []byte("1"), backend.NoExpiry); err != nil {
			t.Fatal(err)
		}
	}
	checkIndex(t, s)
	if err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if k := s.idx.size(); k != 0 {
		t.Errorf("index holds %d keys after Clear", k)
	}
}

func TestStats(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{MaxEntries: 50, MaxBytes: 1 << 20})
	if err := s.Set(ctx, "a", []byte("v"), 10*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := s.Set(ctx, "b", []byte("v"), backend.NoExpiry); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if _, err := s.Delete(ctx, "a"); err != nil { // reclaims the expired entry
		t.Fatal(err)
	}
	s.c.CleanUp()
	st, err := s.BackendStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"entries": "1", "max_entries": "50", "max_bytes": "1048576",
		"bytes":     "20972", // at least max_bytes/max_entries per entry
		"evictions": "0", "expirations": "1", "by_reference": "false",
	}
	if diff := cmp.Diff(want, st); diff != "" {
		t.Errorf("BackendStats (-want +got):\n%s", diff)
	}
}

// A write over an expired entry that otter has not reclaimed yet makes
// otter report the old entry's expiry after the write has registered
// the key; the key must stay indexed.
func TestWriteOverExpiredStaysIndexed(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{})
	if err := s.Set(ctx, "a::b", []byte("1"), time.Millisecond); err != nil {
		t.Fatal(err)
	}
	time.Sleep(5 * time.Millisecond)
	if s.expirations.Load() != 0 {
		t.Skip("otter reclaimed the entry before the test could write over it")
	}
	if err := s.Set(ctx, "a::b", []byte("2"), backend.NoExpiry); err != nil {
		t.Fatal(err)
	}
	if got := s.expirations.Load(); got != 1 {
		t.Fatalf("expirations = %d after the write, want 1: the write did not replace an expired entry", got)
	}
	if diff := cmp.Diff([]string{"a::b"}, s.idx.under("a::")); diff != "" {
		t.Errorf("keys under a:: (-want +got):\n%s", diff)
	}
	checkIndex(t, s)
}

// TestIndexUnderConcurrency races every kind of write, expiry and
// eviction from 50 goroutines, then checks that the index holds exactly
// the cache's keys.
func TestIndexUnderConcurrency(t *testing.T) {
	ctx := context.Background()
	s := newTestStore(t, Options{MaxEntries: 150})
	var wg sync.WaitGroup
	for g := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(g), 2))
			for range 1000 {
				k := fmt.Sprintf("s::%d::%d", r.IntN(3), r.IntN(100))
				ttl := []time.Duration{backend.NoExpiry, time.Millisecond, 3 * time.Millisecond}[r.IntN(3)]
				switch op := r.IntN(100); {
				case op < 30:
					s.Set(ctx, k, []byte("1"), ttl)
				case op < 40:
					s.Add(ctx, k, []byte("1"), ttl)
				case op < 50:
					s.Delete(ctx, k)
				case op < 60:
					s.Incr(ctx, k, 1)
				case op < 70:
					s.Touch(ctx, k, ttl)
				case op < 80:
					s.CompareAndSwap(ctx, k, []byte("1"), []byte("2"), ttl)
				case op < 90:
					s.SetObject(k, g, ttl)
				case op < 99:
					s.Get(ctx, k)
				default:
					s.DeletePrefix(ctx, fmt.Sprintf("s::%d::", r.IntN(3)))
				}
			}
		}()
	}
	wg.Wait()
	// Let the short ttls run out and otter reclaim them.
	time.Sleep(10 * time.Millisecond)
	waitForSize(t, s, len(liveKeys(s)))
	checkIndex(t, s)
}
