package file

import (
	"context"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"keyedcache.dev/keyedcache/backend"
)

func TestCullKeepsCountBounded(t *testing.T) {
	for _, cf := range []int{1, 3, 10, ClearWhenFull} {
		t.Run(fmt.Sprint("cull_frequency=", cf), func(t *testing.T) {
			const limit = 20
			s := newStore(t, Options{MaxEntries: limit, CullFrequency: cf})
			most := 0
			for i := range 200 {
				mustSet(t, s, fmt.Sprint("key-", i), "v", 0)
				n := len(files(t, s, kindEntry))
				most = max(most, n)
				if n > limit {
					t.Fatalf("after %d sets: %d entry files, want ≤ %d", i+1, n, limit)
				}
			}
			if most != limit {
				t.Errorf("the directory never filled: at most %d entries, want %d", most, limit)
			}
			// The newest entry always survives the cull it caused.
			if diff := cmp.Diff(hit{"v", true}, getHit(t, s, "key-199")); diff != "" {
				t.Errorf("newest entry (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCullAmount(t *testing.T) {
	cases := []struct {
		cf, left int
	}{
		{3, 10 - 3 + 1}, // 10 entries: 10/3 = 3 removed, then the new one
		{2, 10 - 5 + 1},
		{1, 1},
		{ClearWhenFull, 1},
		{100, 10}, // 10/100 = 0, but at least room for one
	}
	for _, c := range cases {
		t.Run(fmt.Sprint("cull_frequency=", c.cf), func(t *testing.T) {
			s := newStore(t, Options{MaxEntries: 10, CullFrequency: c.cf})
			for i := range 11 {
				mustSet(t, s, fmt.Sprint("key-", i), "v", 0)
			}
			if diff := cmp.Diff(c.left, len(files(t, s, kindEntry))); diff != "" {
				t.Errorf("entries after the 11th set (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCullOrder(t *testing.T) {
	s := newStore(t, Options{MaxEntries: 6, CullFrequency: 3})
	clk := fakeClock(s)
	mustSet(t, s, "expired-1", "v", time.Second)
	mustSet(t, s, "expired-2", "v", time.Second)
	mustSet(t, s, "soon", "v", time.Hour)
	mustSet(t, s, "later", "v", 2*time.Hour)
	mustSet(t, s, "never-old", "v", backend.NoExpiry)
	mustSet(t, s, "never-new", "v", backend.NoExpiry)
	clk.Advance(2 * time.Second)
	// Make the mtimes tell which never-expiring entry is older.
	old := time.Now().Add(-time.Hour)
	os.Chtimes(s.locate("never-old").path, old, old)

	// Full: 6/3 = 2 to remove, and both expired ones go.
	mustSet(t, s, "new-1", "v", 0)
	if diff := cmp.Diff([]string{"later", "never-new", "never-old", "new-1", "soon"}, keysOf(t, s)); diff != "" {
		t.Errorf("after the first cull (-want +got):\n%s", diff)
	}
	// Add a dead entry the cull removes even past its quota.
	mustSet(t, s, "dead", "v", time.Second)
	clk.Advance(2 * time.Second)
	// Full again: 6/3 = 2: the dead one, then the closest to expiry.
	mustSet(t, s, "new-2", "v", 0)
	if diff := cmp.Diff([]string{"later", "never-new", "never-old", "new-1", "new-2"}, keysOf(t, s)); diff != "" {
		t.Errorf("after the second cull (-want +got):\n%s", diff)
	}
	// Full again at the second write: later goes, then the oldest written
	// of the never-expiring ones.
	mustSet(t, s, "new-3", "v", 0)
	mustSet(t, s, "new-4", "v", 0)
	if diff := cmp.Diff([]string{"never-new", "new-1", "new-2", "new-3", "new-4"}, keysOf(t, s)); diff != "" {
		t.Errorf("after the third cull (-want +got):\n%s", diff)
	}
}

// keysOf returns the live keys of s, sorted.
func keysOf(t *testing.T, s *Store) []string {
	t.Helper()
	var keys []string
	if _, err := s.ScanKeys(context.Background(), "", func(k string) bool { keys = append(keys, k); return true }); err != nil {
		t.Fatal(err)
	}
	slices.Sort(keys)
	return keys
}

func TestCountComesFromTheDirectory(t *testing.T) {
	dir := t.TempDir()
	first := openStore(t, dir, Options{})
	for i := range 10 {
		mustSet(t, first, fmt.Sprint("key-", i), "v", 0)
	}
	// A second Store opened on the same directory knows it is full.
	second := openStore(t, dir, Options{MaxEntries: 10, CullFrequency: 2})
	mustSet(t, second, "one-more", "v", 0)
	if diff := cmp.Diff(6, len(files(t, second, kindEntry))); diff != "" {
		t.Errorf("entries after a write to a full directory (-want +got):\n%s", diff)
	}
}

func TestCountSeesOtherStoresAtTheNextScan(t *testing.T) {
	dir := t.TempDir()
	a := openStore(t, dir, Options{MaxEntries: 10, CullFrequency: 2})
	b := openStore(t, dir, Options{MaxEntries: 10, CullFrequency: 2})
	for i := range 100 {
		s := a
		if i%2 == 1 {
			s = b
		}
		mustSet(t, s, fmt.Sprint("key-", i), "v", 0)
	}
	// Each Store counts its own writes between scans, so two of them may
	// overshoot by one cull's worth each, never more.
	if n := len(files(t, a, kindEntry)); n > 10+2*5 {
		t.Errorf("%d entries with two writers, want ≤ %d", n, 10+2*5)
	}
}
