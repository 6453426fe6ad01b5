package file

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io/fs"
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

	"keyedcache.dev/internal/testproc"
)

// listAfter returns every key ScanKeysAfter lists for prefix and after,
// failing the test on an error or an incomplete listing.
func listAfter(t *testing.T, s *Store, prefix, after string) []string {
	t.Helper()
	got, err := scanAll(t.Context(), s, prefix, after)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// scanAll is listAfter for goroutines other than the test's.
func scanAll(ctx context.Context, s *Store, prefix, after string) ([]string, error) {
	var got []string
	complete, err := s.ScanKeysAfter(ctx, prefix, after, func(k string) bool {
		got = append(got, k)
		return true
	})
	if err != nil || !complete {
		return got, fmt.Errorf("ScanKeysAfter(%q, %q) = %v, %v; want complete", prefix, after, complete, err)
	}
	return got, nil
}

// expectAfter is the listing's specification by brute force: the keys
// under prefix after after ("" = all), sorted by bytes.
func expectAfter(keys []string, prefix, after string) []string {
	var want []string
	for _, k := range keys {
		if strings.HasPrefix(k, prefix) && (after == "" || k > after) {
			want = append(want, k)
		}
	}
	slices.Sort(want)
	return want
}

// oddKeys returns a few hundred distinct keys from an alphabet that
// sorts awkwardly (NUL, 0xff, the "::" separator), with the edge cases
// named, so that many keys share prefixes and cross them.
func oddKeys(r *rand.Rand) []string {
	alphabet := []byte{0x00, 0x01, ':', 'a', 'b', 0x7f, 0xfe, 0xff}
	set := map[string]bool{}
	for _, k := range []string{
		"", "\x00", "\x00\x00", "\xff", "\xff\xff", "a", "a:", "a::", "a::\x00", "a::\xff",
		"a:;", "a;", "a::b", "a::b::c", "b", "b::", ":", "::", ":::",
	} {
		set[k] = true
	}
	for len(set) < 300 {
		b := make([]byte, 1+r.IntN(5))
		for i := range b {
			b[i] = alphabet[r.IntN(len(alphabet))]
		}
		set[string(b)] = true
	}
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func TestScanKeysAfterOrderPrefixAndCursor(t *testing.T) {
	s := newStore(t, Options{})
	r := rand.New(rand.NewPCG(1, 2))
	keys := oddKeys(r)
	for _, k := range keys {
		mustSet(t, s, k, "v:"+k, time.Hour)
	}
	prefixes := []string{"", "a", "a:", "a::", "a::b", ":", "::", "\x00", "\xff", "\xff\xff", "b::", "zz"}
	afters := []string{"", "\x00", "\x00\x00\x00", ":", "a", "a:", "a::", "a::\xff", "a;", "b", "\xff", "\xff\xff\xff", "zz"}
	for i := 0; i < len(keys); i += 11 {
		afters = append(afters, keys[i], keys[i]+"\x00")
	}
	for _, prefix := range prefixes {
		for _, after := range afters {
			want := expectAfter(keys, prefix, after)
			got := listAfter(t, s, prefix, after)
			if d := cmp.Diff(want, got, cmpopts.EquateEmpty()); d != "" {
				t.Fatalf("ScanKeysAfter(%q, %q) (-want +got):\n%s", prefix, after, d)
			}
		}
	}
	// The key equal to the prefix is the first under it, and a cursor on
	// it starts just past it.
	if got := listAfter(t, s, "a::", ""); len(got) == 0 || got[0] != "a::" {
		t.Errorf("first key under %q = %q; want the prefix itself", "a::", got)
	}
	if got := listAfter(t, s, "a::", "a::"); len(got) == 0 || got[0] != "a::\x00" {
		t.Errorf("first key under %q after %q = %q; want %q", "a::", "a::", got, "a::\x00")
	}
}

func TestScanKeysAfterStopsWhenFnSaysSo(t *testing.T) {
	s := newStore(t, Options{})
	keys := oddKeys(rand.New(rand.NewPCG(3, 4)))
	for _, k := range keys {
		mustSet(t, s, k, "v", 0)
	}
	for _, c := range []struct {
		prefix, after string
		n             int
	}{{"", "", 1}, {"", "a", 5}, {"a", "a:", 3}, {"\xff", "", 2}} {
		var got []string
		complete, err := s.ScanKeysAfter(t.Context(), c.prefix, c.after, func(k string) bool {
			got = append(got, k)
			return len(got) < c.n
		})
		if err != nil || !complete {
			t.Fatalf("ScanKeysAfter: %v, %v", complete, err)
		}
		want := expectAfter(keys, c.prefix, c.after)[:c.n]
		if d := cmp.Diff(want, got); d != "" {
			t.Errorf("ScanKeysAfter(%q, %q) stopped after %d (-want +got):\n%s", c.prefix, c.after, c.n, d)
		}
	}
}

func TestScanKeysAfterSkipsExpiredKeys(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	clk := fakeClock(s)
	mustSet(t, s, "a", "1", time.Minute)
	mustSet(t, s, "b", "2", 0)
	mustSet(t, s, "c", "3", time.Hour)
	if d := cmp.Diff([]string{"a", "b", "c"}, listAfter(t, s, "", "")); d != "" {
		t.Fatalf("before expiry (-want +got):\n%s", d)
	}
	clk.Advance(2 * time.Minute)
	if d := cmp.Diff([]string{"b", "c"}, listAfter(t, s, "", "")); d != "" {
		t.Errorf("after a's expiry (-want +got):\n%s", d)
	}
	// Another Store writes a again, renaming over the expired file: the
	// index knows the name, and the header read at listing time sees the
	// new expiry.
	other := openStore(t, dir, Options{})
	mustSet(t, other, "a", "again", time.Hour)
	if d := cmp.Diff([]string{"a", "b", "c"}, listAfter(t, s, "", "")); d != "" {
		t.Errorf("after a was written again (-want +got):\n%s", d)
	}
}

func TestScanKeysAfterSkipsCorruptFiles(t *testing.T) {
	for _, warm := range []bool{false, true} {
		t.Run(fmt.Sprintf("index_built_before=%v", warm), func(t *testing.T) {
			s := newStore(t, Options{})
			var keys []string
			for i := range 10 {
				k := fmt.Sprintf("k%d", i)
				keys = append(keys, k)
				mustSet(t, s, k, "v", 0)
			}
			if warm {
				listAfter(t, s, "", "")
			}
			// k3's file turns to garbage in place.
			if err := os.WriteFile(s.locate("k3").path, []byte("not an entry"), 0o600); err != nil {
				t.Fatal(err)
			}
			// The file named for "ghost" holds an entry for another key,
			// and one named by a hash no key has is cut short.
			ghost := s.locate("ghost")
			os.MkdirAll(filepath.Dir(ghost.path), 0o700)
			if err := os.WriteFile(ghost.path, encodeEntry("not ghost", "v", 0), 0o600); err != nil {
				t.Fatal(err)
			}
			stray := filepath.Join(s.dir, "00", strings.Repeat("0", hashHexLen)+entrySuffix)
			os.MkdirAll(filepath.Dir(stray), 0o700)
			if err := os.WriteFile(stray, encodeEntry("stray", "v", 0)[:20], 0o600); err != nil {
				t.Fatal(err)
			}
			// Files that are not entries at all.
			os.WriteFile(filepath.Join(s.dir, "00", "notes.txt"), []byte("x"), 0o600)
			os.WriteFile(filepath.Join(s.dir, "00", tempPrefix+"123"), []byte("x"), 0o600)

			want := slices.DeleteFunc(slices.Clone(keys), func(k string) bool { return k == "k3" })
			if d := cmp.Diff(want, listAfter(t, s, "", "")); d != "" {
				t.Fatalf("with corrupt files (-want +got):\n%s", d)
			}
			// A good entry renamed over a bad file, as a Store writes, is
			// seen: k3 by a Set, ghost by hand.
			mustSet(t, s, "k3", "v", 0)
			tmp := filepath.Join(filepath.Dir(ghost.path), tempPrefix+"ghost")
			if err := os.WriteFile(tmp, encodeEntry("ghost", "v", 0), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Rename(tmp, ghost.path); err != nil {
				t.Fatal(err)
			}
			want = append(slices.Clone(keys), "ghost")
			slices.Sort(want)
			if d := cmp.Diff(want, listAfter(t, s, "", "")); d != "" {
				t.Errorf("after the bad files were replaced (-want +got):\n%s", d)
			}
		})
	}
}

// Another Store on the directory stands for another process: what it
// writes or deletes right after a listing shows in the next one, even
// when both fall in one tick of the file system's clock.
func TestScanKeysAfterSeesAnotherStoresWrites(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	other := openStore(t, dir, Options{})
	ctx := t.Context()
	want := map[string]bool{}
	for i := range 50 {
		k := fmt.Sprintf("base::%02d", i)
		mustSet(t, other, k, "v", 0)
		want[k] = true
	}
	check := func(round int) {
		t.Helper()
		got := listAfter(t, s, "", "")
		if d := cmp.Diff(sortedKeys(want), got, cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("round %d (-want +got):\n%s", round, d)
		}
	}
	check(-1)
	for round := range 40 {
		// Right after the listing, with no pause: a write, a delete and
		// an overwrite by the other Store.
		k := fmt.Sprintf("new::%02d", round)
		mustSet(t, other, k, "v", 0)
		want[k] = true
		del := fmt.Sprintf("base::%02d", round)
		if _, err := other.Delete(ctx, del); err != nil {
			t.Fatal(err)
		}
		delete(want, del)
		mustSet(t, other, fmt.Sprintf("base::%02d", 45+round%5), "overwritten", 0)
		check(round)
	}
	// The other Store clears the directory.
	if err := other.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	clear(want)
	check(40)
}

func sortedKeys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// TestScanKeysAfterRacyDirectoryReadAgain simulates a file system whose
// timestamps did not move for a change made in the tick of the listing:
// the directory's recorded stat is made to match the stat after the
// change. The directory was stamped within racyMargin of its read, so
// the next listing reads it anyway and finds the new key.
func TestScanKeysAfterRacyDirectoryReadAgain(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	other := openStore(t, dir, Options{})
	mustSet(t, s, "old", "v", 0)
	listAfter(t, s, "", "")
	// A new key in the directory of the old one, which the listing read.
	sub := s.locate("old").sub
	newKey := ""
	for i := 0; newKey == ""; i++ {
		if k := fmt.Sprint("new-", i); s.locate(k).sub == sub {
			newKey = k
		}
	}
	mustSet(t, other, newKey, "v", 0)

	i := slices.Index(subdirNames[:], filepath.Base(sub))
	st, err := statDir(sub)
	if err != nil {
		t.Fatal(err)
	}
	idx := &s.index.subs[i]
	if !idx.racy {
		t.Fatalf("directory %s written just before the listing is not racy", filepath.Base(sub))
	}
	idx.state = st // as if the stat had shown no change
	if d := cmp.Diff([]string{newKey, "old"}, listAfter(t, s, "", "")); d != "" {
		t.Errorf("listing after a change the stat did not show (-want +got):\n%s", d)
	}
}

// TestScanKeysAfterRereadsOnlyWhatChanged checks the cost model with the
// index's counters: a listing reads again only the directories that
// changed, and reads headers only of names it has not seen.
func TestScanKeysAfterRereadsOnlyWhatChanged(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{MaxEntries: 1000})
	other := openStore(t, dir, Options{MaxEntries: 1000})
	subs := map[string]bool{}
	for i := range 600 {
		k := fmt.Sprintf("key::%03d", i)
		mustSet(t, s, k, "v", 0)
		subs[s.locate(k).sub] = true
	}
	// Age the fan-out directories past racyMargin, as a cache not
	// written for a few seconds is.
	old := time.Now().Add(-time.Hour)
	for sub := range subs {
		if err := os.Chtimes(sub, old, old); err != nil {
			t.Fatal(err)
		}
	}
	cost := func(what string, relists, headers int64, fn func()) {
		t.Helper()
		r0, h0 := s.index.relists.Load(), s.index.headers.Load()
		fn()
		r, h := s.index.relists.Load()-r0, s.index.headers.Load()-h0
		if r != relists || h != headers {
			t.Errorf("%s: read %d directories and %d headers to refresh; want %d and %d", what, r, h, relists, headers)
		}
	}
	cost("first listing", int64(len(subs)), 600, func() { listAfter(t, s, "", "") })
	cost("nothing changed", 0, 0, func() { listAfter(t, s, "key::5", "") })
	// A write by another Store changes one directory, and makes it racy.
	cost("a new key", 1, 1, func() {
		mustSet(t, other, "key::new", "v", 0)
		if got := listAfter(t, s, "key::n", ""); !slices.Equal(got, []string{"key::new"}) {
			t.Errorf("listing = %q; want key::new", got)
		}
	})
	cost("a racy directory", 1, 0, func() { listAfter(t, s, "", "") })
	// Settle the directory key::new went to; then an overwrite renames
	// over a known name: its directory is read again, but no header.
	if err := os.Chtimes(s.locate("key::new").sub, old, old); err != nil {
		t.Fatal(err)
	}
	listAfter(t, s, "", "")
	cost("an overwrite", 1, 0, func() {
		mustSet(t, other, "key::007", "w", 0)
		listAfter(t, s, "", "")
	})
	cost("nothing changed since", 1, 0, func() { listAfter(t, s, "", "") }) // key::007's directory is racy
}

func TestScanKeysAfterSeesAChildProcess(t *testing.T) {
	if role, ok := testproc.Role(); ok {
		s, err := New(os.Getenv("KEYEDCACHE_SORTED_DIR"), Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer s.Close()
		ctx := context.Background()
		switch role {
		case "write":
			if err := s.Set(ctx, "child::new", []byte("v"), 0); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Delete(ctx, "child::old"); err != nil {
				t.Fatal(err)
			}
		default:
			t.Fatalf("unknown role %q", role)
		}
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	mustSet(t, s, "child::old", "v", 0)
	mustSet(t, s, "parent", "v", 0)
	if d := cmp.Diff([]string{"child::old", "parent"}, listAfter(t, s, "", "")); d != "" {
		t.Fatalf("before the child (-want +got):\n%s", d)
	}
	testproc.Start(t, "write", "KEYEDCACHE_SORTED_DIR="+dir).Wait(t)
	if d := cmp.Diff([]string{"child::new", "parent"}, listAfter(t, s, "", "")); d != "" {
		t.Errorf("after the child wrote child::new and deleted child::old (-want +got):\n%s", d)
	}
}

func TestScanKeysAfterHonoursContext(t *testing.T) {
	s := newStore(t, Options{})
	for i := range 20 {
		mustSet(t, s, fmt.Sprint("k", i), "v", 0)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.ScanKeysAfter(ctx, "", "", func(string) bool { return true }); !errors.Is(err, context.Canceled) {
		t.Errorf("with a cancelled context: %v; want context.Canceled", err)
	}
	// A refresh cut short by ctx leaves the index for the next call.
	if _, err := s.refreshIndex(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("refreshIndex with a cancelled context: %v; want context.Canceled", err)
	}

	// Cancelled while listing: no key after the cancel reaches fn.
	ctx, cancel = context.WithCancel(t.Context())
	defer cancel()
	calls := 0
	_, err := s.ScanKeysAfter(ctx, "", "", func(string) bool {
		calls++
		cancel()
		return true
	})
	if !errors.Is(err, context.Canceled) || calls != 1 {
		t.Errorf("cancelled in fn: %d calls, %v; want 1 call and context.Canceled", calls, err)
	}

	// Waiting for another listing's refresh ends with ctx.
	s.index.sem <- struct{}{}
	ctx, cancel2 := context.WithTimeout(t.Context(), 20*time.Millisecond)
	defer cancel2()
	_, err = s.ScanKeysAfter(ctx, "", "", func(string) bool { return true })
	<-s.index.sem
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("waiting for the index: %v; want context.DeadlineExceeded", err)
	}
	if got := listAfter(t, s, "k1", ""); len(got) != 11 {
		t.Errorf("listing after the cancellations = %q; want k1 and k10…k19", got)
	}
}

// fn may call the Store, listing and deleting included: no lock is held
// while it runs.
func TestScanKeysAfterFnMayUseTheStore(t *testing.T) {
	s := newStore(t, Options{})
	ctx := t.Context()
	for i := range 10 {
		mustSet(t, s, fmt.Sprint("k", i), "v", 0)
	}
	var got []string
	done := make(chan error, 1)
	go func() {
		_, err := s.ScanKeysAfter(ctx, "", "", func(k string) bool {
			got = append(got, k)
			inner, err := scanAll(ctx, s, k, "")
			if err != nil || len(inner) == 0 || inner[0] != k {
				t.Errorf("nested listing from %q = %q, %v", k, inner, err)
			}
			if _, err := s.Delete(ctx, k); err != nil {
				t.Error(err)
			}
			return true
		})
		done <- err
	}()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(time.Minute):
		t.Fatal("ScanKeysAfter with a fn that calls the Store did not return")
	}
	if len(got) != 10 {
		t.Errorf("listed %q; want 10 keys", got)
	}
	if left := listAfter(t, s, "", ""); len(left) != 0 {
		t.Errorf("after fn deleted every key, listing = %q", left)
	}
}

// Listings run together with writers in this Store and another: each
// listing is in order, under its prefix, and holds every key that no
// one touches.
func TestScanKeysAfterConcurrent(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{MaxEntries: 5000})
	other := openStore(t, dir, Options{MaxEntries: 5000})
	ctx := t.Context()
	var stable []string
	for i := range 200 {
		k := fmt.Sprintf("stable::%03d", i)
		mustSet(t, s, k, "v", 0)
		stable = append(stable, k)
	}
	stop := make(chan struct{})
	var writers, listers sync.WaitGroup
	for w, st := range []*Store{s, other} {
		writers.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				k := fmt.Sprintf("churn::%d::%d", w, i%50)
				if i%3 == 2 {
					st.Delete(ctx, k)
				} else {
					st.Set(ctx, k, []byte("v"), 0)
				}
			}
		})
	}
	for g := range 4 {
		listers.Go(func() {
			prefixes := []string{"", "stable::", "stable::1", "churn::"}
			for i := range 15 {
				prefix := prefixes[(g+i)%len(prefixes)]
				got, err := scanAll(ctx, s, prefix, "")
				if err != nil {
					t.Error(err)
					return
				}
				if !slices.IsSorted(got) || len(slices.Compact(slices.Clone(got))) != len(got) {
					t.Errorf("listing under %q is not strictly ascending", prefix)
				}
				for _, k := range got {
					if !strings.HasPrefix(k, prefix) {
						t.Errorf("listing under %q has %q", prefix, k)
					}
				}
				var gotStable []string
				for _, k := range got {
					if strings.HasPrefix(k, "stable::") {
						gotStable = append(gotStable, k)
					}
				}
				if d := cmp.Diff(expectAfter(stable, prefix, ""), gotStable, cmpopts.EquateEmpty()); d != "" {
					t.Errorf("stable keys under %q (-want +got):\n%s", prefix, d)
				}
			}
		})
	}
	listers.Wait()
	close(stop)
	writers.Wait()
}

func TestScanKeysAfterClosed(t *testing.T) {
	s, err := New(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	mustSet(t, s, "k", "v", 0)
	listAfter(t, s, "", "")
	s.Close()
	if _, err := s.ScanKeysAfter(t.Context(), "", "", func(string) bool { return true }); !errors.Is(err, ErrClosed) {
		t.Errorf("after Close: %v; want ErrClosed", err)
	}
	if s.index.subs != nil {
		t.Error("Close kept the listing index")
	}
}

func TestMergeKeys(t *testing.T) {
	got := mergeKeys([]string{"b", "d", "f", "h"}, []string{"a", "c", "i"}, map[string]struct{}{"d": {}, "h": {}})
	if d := cmp.Diff([]string{"a", "b", "c", "f", "i"}, got); d != "" {
		t.Errorf("mergeKeys (-want +got):\n%s", d)
	}
}

func TestEntryHash(t *testing.T) {
	_, name, _ := nameOf("some key")
	h, ok := entryHash(name)
	if !ok || h != sha256.Sum256([]byte("some key")) {
		t.Errorf("entryHash(%q) = %x, %v; want the key's hash", name, h, ok)
	}
	for _, bad := range []string{
		"", name[:len(name)-1], strings.ToUpper(name[:hashHexLen]) + entrySuffix,
		name[:hashHexLen] + ".cachex", "g" + name[1:], tempPrefix + "1", "notes.txt",
	} {
		if _, ok := entryHash(bad); ok != isEntryName(bad) || ok {
			t.Errorf("entryHash(%q) = %v; isEntryName says %v", bad, ok, isEntryName(bad))
		}
	}
}

// A listing skips the fan-out directories that were missing while the
// Store's directory shows no change; creating one changes it, so a key
// written into a new fan-out directory is seen.
func TestScanKeysAfterSeesNewFanOutDirectory(t *testing.T) {
	dir := t.TempDir()
	s := openStore(t, dir, Options{})
	other := openStore(t, dir, Options{})
	mustSet(t, s, "first", "v", 0)
	old := time.Now().Add(-time.Hour)
	for _, p := range []string{dir, s.locate("first").sub} {
		if err := os.Chtimes(p, old, old); err != nil {
			t.Fatal(err)
		}
	}
	listAfter(t, s, "", "")
	if s.index.rootRacy {
		t.Fatal("a directory stamped an hour ago is racy")
	}
	newKey := ""
	for i := 0; newKey == ""; i++ {
		k := fmt.Sprint("second-", i)
		if _, err := os.Stat(s.locate(k).sub); errors.Is(err, fs.ErrNotExist) {
			newKey = k
		}
	}
	mustSet(t, other, newKey, "v", 0)
	if d := cmp.Diff([]string{"first", newKey}, listAfter(t, s, "", "")); d != "" {
		t.Errorf("after a key went into a new fan-out directory (-want +got):\n%s", d)
	}
}
