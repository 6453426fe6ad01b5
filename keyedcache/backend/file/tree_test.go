package file

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// entryKeys returns the keys of every readable entry file in s's
// directory, found by reading every entry file, not through the tree.
func entryKeys(t *testing.T, s *Store) []string {
	t.Helper()
	var keys []string
	for _, path := range files(t, s, kindEntry) {
		if m, err := readMeta(path); err == nil {
			keys = append(keys, m.key)
		}
	}
	slices.Sort(keys)
	return keys
}

// checkMarkers fails t unless every readable entry file has its marker:
// the invariant DeletePrefix and ScanKeys rely on.
func checkMarkers(t *testing.T, s *Store) {
	t.Helper()
	for _, path := range files(t, s, kindEntry) {
		m, err := readMeta(path)
		if err != nil {
			continue
		}
		if marker := s.markerOf(s.locate(m.key)); !exists(marker) {
			t.Errorf("entry of %q has no marker %s", m.key, marker)
		}
	}
}

// randomKey returns a key of 1 to 24 segments, drawn from a few short
// texts (the empty one and ":" among them), so that keys share prefixes,
// run deeper than maxTreeDepth and hold separators that do not split.
func randomKey(r *rand.Rand) string {
	segs := []string{"a", "b", "", ":", "ab", "a:"}
	n := 1 + r.IntN(24)
	parts := make([]string, n)
	for i := range parts {
		parts[i] = segs[r.IntN(len(segs))]
	}
	return strings.Join(parts, sep)
}

// DeletePrefix and ScanKeys through the tree find exactly the keys a
// check of every key finds, for prefixes that end at a separator, in the
// middle of a segment, inside a separator, beyond maxTreeDepth, and "".
func TestTreeMatchesEveryPrefix(t *testing.T) {
	ctx := context.Background()
	r := rand.New(rand.NewPCG(1, 2))
	keys := map[string]bool{}
	for len(keys) < 80 {
		keys[randomKey(r)] = true
	}
	var prefixes []string
	for k := range keys {
		for _, cut := range []int{len(k), len(k) / 2, len(k) / 3, len(k) - 1} {
			if cut >= 0 {
				prefixes = append(prefixes, k[:cut])
			}
		}
		if len(prefixes) > 16 {
			break
		}
	}
	prefixes = append(prefixes, "", "a", "a::", "a:", "::", strings.Repeat("a::", maxTreeDepth+2))
	for _, prefix := range prefixes {
		s := newStore(t, Options{MaxEntries: 10000})
		var want []string
		for k := range keys {
			mustSet(t, s, k, "v", 0)
			if strings.HasPrefix(k, prefix) {
				want = append(want, k)
			}
		}
		var got []string
		if _, err := s.ScanKeys(ctx, prefix, func(k string) bool { got = append(got, k); return true }); err != nil {
			t.Fatal(err)
		}
		sorted := cmpopts.SortSlices(func(a, b string) bool { return a < b })
		if diff := cmp.Diff(want, got, sorted, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("ScanKeys(%q) (-want +got):\n%s", prefix, diff)
		}
		n, err := s.DeletePrefix(ctx, prefix)
		if err != nil || n != len(want) {
			t.Errorf("DeletePrefix(%q) = %d, %v; want %d", prefix, n, err, len(want))
		}
		for _, k := range entryKeys(t, s) {
			if strings.HasPrefix(k, prefix) {
				t.Errorf("DeletePrefix(%q) left %q", prefix, k)
			}
		}
		if got, want := len(entryKeys(t, s)), len(keys)-len(want); got != want {
			t.Errorf("DeletePrefix(%q) left %d entries, want %d", prefix, got, want)
		}
		checkMarkers(t, s)
	}
}

// A DeletePrefix removes the nodes it empties; one that deletes
// everything leaves tree/ empty.
func TestDeletePrefixRemovesEmptyNodes(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, Options{})
	for i := range 20 {
		mustSet(t, s, fmt.Sprintf("p::%d::x", i), "v", 0)
		mustSet(t, s, fmt.Sprintf("q::%d", i), "v", 0)
	}
	if _, err := s.DeletePrefix(ctx, "p::"); err != nil {
		t.Fatal(err)
	}
	if exists(s.nodeOf("p::")) {
		t.Errorf("node of p:: still exists")
	}
	if !exists(s.nodeOf("q::")) {
		t.Errorf("node of q:: is gone")
	}
	for i := range 20 {
		if _, err := s.Delete(ctx, fmt.Sprintf("q::%d", i)); err != nil {
			t.Fatal(err)
		}
	}
	names, err := os.ReadDir(filepath.Join(s.Dir(), treeDirName))
	if err != nil || len(names) != 0 {
		t.Errorf("tree/ after deleting every key: %v, %v; want empty", names, err)
	}
}

// A marker whose entry is gone (a writer that died between the two, or
// a cull that found the key's lock busy) is skipped by ScanKeys and
// removed by DeletePrefix and Clear.
func TestOrphanMarker(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, Options{})
	mustSet(t, s, "p::live", "v", 0)
	orphan := s.locate("p::orphan")
	if err := s.ensureMarker(orphan); err != nil {
		t.Fatal(err)
	}
	var keys []string
	s.ScanKeys(ctx, "p::", func(k string) bool { keys = append(keys, k); return true })
	if diff := cmp.Diff([]string{"p::live"}, keys); diff != "" {
		t.Errorf("ScanKeys (-want +got):\n%s", diff)
	}
	if n, err := s.DeletePrefix(ctx, "p::"); n != 1 || err != nil {
		t.Errorf("DeletePrefix = %d, %v; want 1, nil", n, err)
	}
	if exists(s.markerOf(orphan)) {
		t.Errorf("orphan marker survived DeletePrefix")
	}
	if err := s.ensureMarker(s.locate("q::orphan")); err != nil {
		t.Fatal(err)
	}
	if err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if exists(s.markerOf(s.locate("q::orphan"))) {
		t.Errorf("orphan marker survived Clear")
	}
}

// An entry of format version 1, written before the tree existed and so
// without a marker, is a miss: it could otherwise survive a DeletePrefix.
func TestVersion1EntryIsMiss(t *testing.T) {
	s := newStore(t, Options{})
	l := s.locate("p::old")
	b := encodeEntry("p::old", "v", 0)
	b[3] = 1
	os.MkdirAll(l.sub, 0o700)
	if err := os.WriteFile(l.path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(hit{"", false}, getHit(t, s, "p::old")); diff != "" {
		t.Errorf("Get of a version 1 entry (-want +got):\n%s", diff)
	}
}

// Writers of every kind race DeletePrefix and a cull, from two Stores on
// one directory (as two processes). Once they stop, one more DeletePrefix
// must leave no key under the prefix, and every entry must have its
// marker.
func TestDeletePrefixRacesWriters(t *testing.T) {
	dir := t.TempDir()
	// A small MaxEntries makes the writers cull, which evicts entries
	// and their markers.
	s1 := openStore(t, dir, Options{MaxEntries: 150})
	s2 := openStore(t, dir, Options{MaxEntries: 150})
	ctx := context.Background()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := range 4 {
		s := []*Store{s1, s2}[w%2]
		wg.Go(func() {
			r := rand.New(rand.NewPCG(uint64(w), 7))
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				key := fmt.Sprintf("t::%d::%d", r.IntN(8), r.IntN(40))
				if r.IntN(3) == 0 {
					key += "::leaf"
				}
				var err error
				switch i % 6 {
				case 0, 1:
					err = s.Set(ctx, key, []byte("1"), time.Hour)
				case 2:
					_, err = s.Add(ctx, key, []byte("1"), time.Hour)
				case 3:
					_, err = s.Incr(ctx, key, 1)
					if err != nil && strings.Contains(err.Error(), "not found") {
						err = nil
					}
				case 4:
					_, err = s.CompareAndSwap(ctx, key, []byte("1"), []byte("2"), time.Hour)
				case 5:
					_, err = s.Delete(ctx, key)
				}
				if err != nil {
					t.Errorf("%s: %v", key, err)
					return
				}
				mustSet(t, s, fmt.Sprintf("u::%d", i%50), "x", time.Hour)
			}
		})
	}
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			prefix := []string{"t::", "t::3::", "t::1"}[i%3]
			if _, err := []*Store{s1, s2}[i%2].DeletePrefix(ctx, prefix); err != nil {
				t.Errorf("DeletePrefix(%s): %v", prefix, err)
				return
			}
		}
	})
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()
	checkMarkers(t, s1)
	if _, err := s2.DeletePrefix(ctx, "t::"); err != nil {
		t.Fatal(err)
	}
	for _, k := range entryKeys(t, s1) {
		if strings.HasPrefix(k, "t::") {
			t.Errorf("%q survived the last DeletePrefix", k)
		}
	}
	checkMarkers(t, s1)
}
