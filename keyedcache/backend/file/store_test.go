package file

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"keyedcache.dev/keyedcache/backend"
)

func TestRoundTrip(t *testing.T) {
	s := newStore(t, Options{})
	ctx := context.Background()
	big := bytes.Repeat([]byte("0123456789abcdef"), 1000) // past the one-write limit
	cases := []struct {
		name, key string
		value     []byte
	}{
		{"simple", "site1::product::123", []byte("hello")},
		{"empty value", "empty", []byte{}},
		{"binary", "bin", []byte{0, 1, 2, 0xff, '\n', 0}},
		{"big", "big", big},
		{"empty key", "", []byte("no name")},
		{"unicode key", "clé::ünïcode::日本", []byte("ok")},
		{"longest key", strings.Repeat("k", backend.MaxKeyLen), []byte("long")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if err := s.Set(ctx, c.key, c.value, backend.NoExpiry); err != nil {
				t.Fatalf("Set: %v", err)
			}
			got, ok, err := s.Get(ctx, c.key)
			if err != nil || !ok {
				t.Fatalf("Get = _, %v, %v; want found", ok, err)
			}
			if diff := cmp.Diff(c.value, got); diff != "" {
				t.Errorf("Get value (-want +got):\n%s", diff)
			}
		})
	}
	mustSet(t, s, "site1::product::123", "replaced", backend.NoExpiry)
	if diff := cmp.Diff(hit{"replaced", true}, getHit(t, s, "site1::product::123")); diff != "" {
		t.Errorf("after overwrite (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(len(cases), len(files(t, s, kindEntry))); diff != "" {
		t.Errorf("entry files (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string(nil), files(t, s, kindTemp)); diff != "" {
		t.Errorf("temporary files left behind (-want +got):\n%s", diff)
	}
}

func TestValuesAreCopies(t *testing.T) {
	s := newStore(t, Options{})
	ctx := context.Background()
	in := []byte("original")
	if err := s.Set(ctx, "k", in, 0); err != nil {
		t.Fatal(err)
	}
	copy(in, "CHANGED!")
	out, _, _ := s.Get(ctx, "k")
	copy(out, "CHANGED!")
	if diff := cmp.Diff(hit{"original", true}, getHit(t, s, "k")); diff != "" {
		t.Errorf("value changed through a caller's slice (-want +got):\n%s", diff)
	}
}

func TestMissing(t *testing.T) {
	s := newStore(t, Options{})
	if diff := cmp.Diff(hit{}, getHit(t, s, "nope")); diff != "" {
		t.Errorf("Get of a missing key (-want +got):\n%s", diff)
	}
}

func TestFanOut(t *testing.T) {
	s := newStore(t, Options{})
	mustSet(t, s, "a", "1", 0)
	sub, name, _ := nameOf("a")
	want := s.Dir() + string(os.PathSeparator) + sub + string(os.PathSeparator) + name
	if diff := cmp.Diff([]string{want}, files(t, s, kindEntry)); diff != "" {
		t.Errorf("entry files (-want +got):\n%s", diff)
	}
	if !isSubdirName(sub) || !isEntryName(name) || !strings.HasPrefix(name, sub) {
		t.Errorf("nameOf(a) = %q, %q: not a fan-out directory and entry name", sub, name)
	}
}

func TestExpirySubSecondRealClock(t *testing.T) {
	s := newStore(t, Options{})
	ctx := context.Background()
	const ttl = 300 * time.Millisecond
	start := time.Now()
	mustSet(t, s, "short", "v", ttl)
	mustSet(t, s, "forever", "v", backend.NoExpiry)
	left, ok, err := s.TTL(ctx, "short")
	if err != nil || !ok || left <= 0 || left > ttl {
		t.Fatalf("TTL(short) = %v, %v, %v; want found in (0, %v]", left, ok, err, ttl)
	}
	if time.Since(start) < ttl/2 { // a slow machine cannot assert a hit
		if diff := cmp.Diff(hit{"v", true}, getHit(t, s, "short")); diff != "" {
			t.Errorf("Get before expiry (-want +got):\n%s", diff)
		}
	}
	time.Sleep(time.Until(start.Add(ttl + 50*time.Millisecond)))
	if diff := cmp.Diff(hit{}, getHit(t, s, "short")); diff != "" {
		t.Errorf("Get after expiry (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(hit{"v", true}, getHit(t, s, "forever")); diff != "" {
		t.Errorf("Get of a NoExpiry entry (-want +got):\n%s", diff)
	}
	if exists(s.locate("short").path) {
		t.Errorf("expired entry file still on disk after Get")
	}
}

func TestExpiryExact(t *testing.T) {
	s := newStore(t, Options{})
	clk := fakeClock(s)
	ctx := context.Background()
	mustSet(t, s, "k", "v", time.Millisecond)
	clk.Advance(time.Millisecond - time.Nanosecond)
	left, ok, err := s.TTL(ctx, "k")
	if diff := cmp.Diff([]any{time.Nanosecond, true, nil}, []any{left, ok, err}, cmpopts.EquateErrors()); diff != "" {
		t.Errorf("TTL 1ns before expiry (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(hit{"v", true}, getHit(t, s, "k")); diff != "" {
		t.Errorf("Get 1ns before expiry (-want +got):\n%s", diff)
	}
	clk.Advance(time.Nanosecond)
	if diff := cmp.Diff(hit{}, getHit(t, s, "k")); diff != "" {
		t.Errorf("Get at expiry (-want +got):\n%s", diff)
	}
	if _, ok, _ := s.TTL(ctx, "k"); ok {
		t.Errorf("TTL at expiry found the entry")
	}
}

func TestAdd(t *testing.T) {
	s := newStore(t, Options{})
	clk := fakeClock(s)
	ctx := context.Background()
	add := func(key, value string, ttl time.Duration) bool {
		t.Helper()
		ok, err := s.Add(ctx, key, []byte(value), ttl)
		if err != nil {
			t.Fatalf("Add(%q): %v", key, err)
		}
		return ok
	}
	got := []bool{add("k", "first", time.Second), add("k", "second", 0)}
	if diff := cmp.Diff([]bool{true, false}, got); diff != "" {
		t.Errorf("Add results (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(hit{"first", true}, getHit(t, s, "k")); diff != "" {
		t.Errorf("after a failed Add (-want +got):\n%s", diff)
	}
	clk.Advance(time.Second)
	if !add("k", "third", 0) {
		t.Errorf("Add over an expired entry = false, want true")
	}
	if diff := cmp.Diff(hit{"third", true}, getHit(t, s, "k")); diff != "" {
		t.Errorf("after Add over an expired entry (-want +got):\n%s", diff)
	}
}

// Fifty goroutines, half on each of two Stores sharing a directory, Add
// one key at once; exactly one wins. Many rounds, because a broken lock
// loses only some of them.
func TestConcurrentAddOneWinner(t *testing.T) {
	dir := t.TempDir()
	stores := []*Store{openStore(t, dir, Options{}), openStore(t, dir, Options{})}
	s := stores[0]
	ctx := context.Background()
	const goroutines, rounds = 50, 100
	for r := range rounds {
		key := fmt.Sprintf("lease-%d", r)
		var (
			wg      sync.WaitGroup
			start   = make(chan struct{})
			mu      sync.Mutex
			winners []string
		)
		for g := range goroutines {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				id := fmt.Sprint("g", g)
				ok, err := stores[g%2].Add(ctx, key, []byte(id), 0)
				if err != nil {
					t.Errorf("Add: %v", err)
				}
				if ok {
					mu.Lock()
					winners = append(winners, id)
					mu.Unlock()
				}
			}()
		}
		close(start)
		wg.Wait()
		if diff := cmp.Diff(1, len(winners)); diff != "" {
			t.Fatalf("round %d: winners %v (-want +got count):\n%s", r, winners, diff)
		}
		if diff := cmp.Diff(hit{winners[0], true}, getHit(t, s, key)); diff != "" {
			t.Errorf("round %d: stored value is not the winner's (-want +got):\n%s", r, diff)
		}
	}
}

func TestDelete(t *testing.T) {
	s := newStore(t, Options{})
	clk := fakeClock(s)
	ctx := context.Background()
	mustSet(t, s, "live", "v", 0)
	mustSet(t, s, "expired", "v", time.Second)
	clk.Advance(time.Second)
	var got []bool
	for _, k := range []string{"live", "live", "expired", "never"} {
		ok, err := s.Delete(ctx, k)
		if err != nil {
			t.Fatalf("Delete(%q): %v", k, err)
		}
		got = append(got, ok)
	}
	if diff := cmp.Diff([]bool{true, false, false, false}, got); diff != "" {
		t.Errorf("Delete existed (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string(nil), files(t, s, kindEntry)); diff != "" {
		t.Errorf("entry files after deletes (-want +got):\n%s", diff)
	}
}

func TestIncr(t *testing.T) {
	s := newStore(t, Options{})
	clk := fakeClock(s)
	ctx := context.Background()
	mustSet(t, s, "n", "41", 10*time.Second)
	mustSet(t, s, "neg", "-5", 0)
	mustSet(t, s, "text", "forty", 0)
	mustSet(t, s, "space", " 1", 0)
	mustSet(t, s, "max", "9223372036854775807", 0)
	mustSet(t, s, "min", "-9223372036854775808", 0)
	mustSet(t, s, "gone", "1", time.Second)
	clk.Advance(4 * time.Second)

	type result struct {
		N   int64
		Err error
	}
	incr := func(key string, d int64) result {
		n, err := s.Incr(ctx, key, d)
		return result{n, err}
	}
	got := []result{
		incr("n", 1), incr("n", -50), incr("neg", 5),
		incr("missing", 1), incr("gone", 1),
		incr("text", 1), incr("space", 1),
		incr("max", 1), incr("min", -1), incr("max", -1),
	}
	want := []result{
		{42, nil}, {-8, nil}, {0, nil},
		{0, backend.ErrNotFound}, {0, backend.ErrNotFound},
		{0, backend.ErrNotNumeric}, {0, backend.ErrNotNumeric},
		{0, backend.ErrOverflow}, {0, backend.ErrOverflow}, {math.MaxInt64 - 1, nil},
	}
	if diff := cmp.Diff(want, got, cmpopts.EquateErrors()); diff != "" {
		t.Errorf("Incr results (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(hit{"-8", true}, getHit(t, s, "n")); diff != "" {
		t.Errorf("stored value (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(hit{"-9223372036854775808", true}, getHit(t, s, "min")); diff != "" {
		t.Errorf("value after an overflowing Incr, want it unchanged (-want +got):\n%s", diff)
	}
	left, _, _ := s.TTL(ctx, "n")
	if diff := cmp.Diff(6*time.Second, left); diff != "" {
		t.Errorf("TTL after Incr, want unchanged (-want +got):\n%s", diff)
	}
}

func TestTouch(t *testing.T) {
	s := newStore(t, Options{})
	clk := fakeClock(s)
	ctx := context.Background()
	mustSet(t, s, "k", "v", time.Second)
	if err := s.Touch(ctx, "k", 5*time.Second); err != nil {
		t.Fatalf("Touch: %v", err)
	}
	clk.Advance(2 * time.Second)
	left, ok, err := s.TTL(ctx, "k")
	if err != nil || !ok {
		t.Fatalf("TTL after Touch: %v, %v", ok, err)
	}
	if diff := cmp.Diff(3*time.Second, left); diff != "" {
		t.Errorf("TTL after Touch (-want +got):\n%s", diff)
	}
	if err := s.Touch(ctx, "k", backend.NoExpiry); err != nil {
		t.Fatalf("Touch to NoExpiry: %v", err)
	}
	clk.Advance(time.Hour)
	left, ok, _ = s.TTL(ctx, "k")
	if diff := cmp.Diff([]any{backend.NoExpiry, true}, []any{left, ok}); diff != "" {
		t.Errorf("TTL after Touch to NoExpiry (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(hit{"v", true}, getHit(t, s, "k")); diff != "" {
		t.Errorf("value after Touch (-want +got):\n%s", diff)
	}
	if err := s.Touch(ctx, "missing", time.Second); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Touch(missing) = %v, want ErrNotFound", err)
	}
}

func TestCompareAndSwap(t *testing.T) {
	s := newStore(t, Options{})
	ctx := context.Background()
	mustSet(t, s, "k", "v1", 0)
	cas := func(key, old, value string) bool {
		t.Helper()
		ok, err := s.CompareAndSwap(ctx, key, []byte(old), []byte(value), time.Hour)
		if err != nil {
			t.Fatalf("CompareAndSwap: %v", err)
		}
		return ok
	}
	got := []bool{cas("k", "nope", "x"), cas("k", "v1", "v2"), cas("k", "v1", "v3"), cas("missing", "", "x")}
	if diff := cmp.Diff([]bool{false, true, false, false}, got); diff != "" {
		t.Errorf("CompareAndSwap results (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(hit{"v2", true}, getHit(t, s, "k")); diff != "" {
		t.Errorf("value after swaps (-want +got):\n%s", diff)
	}
	if left, _, _ := s.TTL(ctx, "k"); left <= 0 || left > time.Hour {
		t.Errorf("TTL after swap = %v, want the new ttl", left)
	}
	if diff := cmp.Diff(hit{}, getHit(t, s, "missing")); diff != "" {
		t.Errorf("CompareAndSwap created a missing key (-want +got):\n%s", diff)
	}
}

func TestMulti(t *testing.T) {
	s := newStore(t, Options{})
	ctx := context.Background()
	items := map[string][]byte{"a": []byte("1"), "b": []byte("2"), "c": []byte("3")}
	if err := s.SetMany(ctx, items, 0); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetMany(ctx, []string{"a", "b", "c", "x"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(items, got); diff != "" {
		t.Errorf("GetMany (-want +got):\n%s", diff)
	}
	n, err := s.DeleteMany(ctx, []string{"a", "c", "x"})
	if diff := cmp.Diff([]any{2, nil}, []any{n, err}); diff != "" {
		t.Errorf("DeleteMany (-want +got):\n%s", diff)
	}
	got, _ = s.GetMany(ctx, []string{"a", "b", "c"})
	if diff := cmp.Diff(map[string][]byte{"b": []byte("2")}, got); diff != "" {
		t.Errorf("GetMany after DeleteMany (-want +got):\n%s", diff)
	}
}

func TestScanKeysAndDeletePrefix(t *testing.T) {
	s := newStore(t, Options{})
	clk := fakeClock(s)
	ctx := context.Background()
	for _, k := range []string{"p::1", "p::1::a", "p::2", "q::1", "p"} {
		mustSet(t, s, k, "v", 0)
	}
	mustSet(t, s, "p::old", "v", time.Second)
	clk.Advance(time.Second)

	scan := func(prefix string) []string {
		t.Helper()
		var keys []string
		complete, err := s.ScanKeys(ctx, prefix, func(k string) bool { keys = append(keys, k); return true })
		if err != nil || !complete {
			t.Fatalf("ScanKeys(%q) = %v, %v; want complete", prefix, complete, err)
		}
		return keys
	}
	sorted := cmpopts.SortSlices(func(a, b string) bool { return a < b })
	if diff := cmp.Diff([]string{"p::1", "p::1::a", "p::2"}, scan("p::"), sorted); diff != "" {
		t.Errorf("ScanKeys(p::) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(5, len(scan(""))); diff != "" {
		t.Errorf("ScanKeys(\"\") count (-want +got):\n%s", diff)
	}
	calls := 0
	s.ScanKeys(ctx, "", func(string) bool { calls++; return false })
	if diff := cmp.Diff(1, calls); diff != "" {
		t.Errorf("ScanKeys calls after fn returned false (-want +got):\n%s", diff)
	}

	n, err := s.DeletePrefix(ctx, "p::1")
	if diff := cmp.Diff([]any{2, nil}, []any{n, err}); diff != "" {
		t.Errorf("DeletePrefix(p::1) (-want +got):\n%s", diff)
	}
	n, err = s.DeletePrefix(ctx, "p::")
	if diff := cmp.Diff([]any{1, nil}, []any{n, err}); diff != "" {
		t.Errorf("DeletePrefix(p::), expired entry not counted (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"p", "q::1"}, scan(""), sorted); diff != "" {
		t.Errorf("keys left (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(2, len(files(t, s, kindEntry))); diff != "" {
		t.Errorf("entry files left, expired one removed too (-want +got):\n%s", diff)
	}
}

func TestStatsAndPing(t *testing.T) {
	s := newStore(t, Options{MaxEntries: 50, MaxBytes: 1000, CullFrequency: ClearWhenFull})
	clk := fakeClock(s)
	ctx := context.Background()
	mustSet(t, s, "a", "12345", 0)
	mustSet(t, s, "b", "", time.Second)
	clk.Advance(time.Second)
	got, err := s.BackendStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"entries":         "1",
		"expired":         "1",
		"bytes":           fmt.Sprint(headerSize + 1 + 5 + headerSize + 1),
		"estimated_bytes": fmt.Sprint(headerSize + 1 + 5 + headerSize + 1),
		"temp_files":      "0",
		"max_entries":     "50",
		"max_bytes":       "1000",
		"cull_frequency":  "0",
		"dir":             s.Dir(),
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("BackendStats (-want +got):\n%s", diff)
	}
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if err := os.RemoveAll(s.Dir()); err != nil {
		t.Fatal(err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Errorf("Ping of a removed directory = nil, want an error")
	}
}

func TestClearRemovesOnlyItsOwnFiles(t *testing.T) {
	s := newStore(t, Options{})
	for i := range 20 {
		mustSet(t, s, fmt.Sprint("k", i), "v", 0)
	}
	sub, _, _ := nameOf("k0")
	foreign := []string{
		s.Dir() + "/notes.txt",
		s.Dir() + "/" + sub + "/readme",
		s.Dir() + "/" + sub + "/abc.cache",
		s.Dir() + "/zz.cache",
	}
	for _, p := range foreign {
		if err := os.WriteFile(p, []byte("mine"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	// A lock file in use: Clear must keep it.
	if _, err := s.Incr(context.Background(), "k0", 1); !errors.Is(err, backend.ErrNotNumeric) {
		t.Fatalf("Incr: %v", err)
	}
	locks, _ := os.ReadDir(s.Dir() + "/" + lockDirName)
	if err := s.Clear(context.Background()); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	if diff := cmp.Diff([]string(nil), files(t, s, kindEntry)); diff != "" {
		t.Errorf("entries after Clear (-want +got):\n%s", diff)
	}
	for _, p := range foreign {
		if !exists(p) {
			t.Errorf("Clear removed %s, which is not its own", p)
		}
	}
	locksAfter, _ := os.ReadDir(s.Dir() + "/" + lockDirName)
	if len(locks) == 0 || len(locksAfter) != len(locks) {
		t.Errorf("lock files: %d before Clear, %d after; want the same, at least one", len(locks), len(locksAfter))
	}
	if diff := cmp.Diff(hit{}, getHit(t, s, "k1")); diff != "" {
		t.Errorf("Get after Clear (-want +got):\n%s", diff)
	}
}

func TestClosed(t *testing.T) {
	s, err := New(t.TempDir(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	mustSet(t, s, "k", "v", 0)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	_, _, getErr := s.Get(ctx, "k")
	_, addErr := s.Add(ctx, "k", nil, 0)
	_, incrErr := s.Incr(ctx, "k", 1)
	errs := []error{getErr, s.Set(ctx, "k", nil, 0), addErr, incrErr, s.Clear(ctx), s.Ping(ctx), s.Close()}
	for i, err := range errs {
		if !errors.Is(err, ErrClosed) {
			t.Errorf("call %d after Close = %v, want ErrClosed", i, err)
		}
	}
}

func TestCancelledContext(t *testing.T) {
	s := newStore(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := s.Set(ctx, "k", []byte("v"), 0); !errors.Is(err, context.Canceled) {
		t.Errorf("Set with a cancelled context = %v, want context.Canceled", err)
	}
	// A lock held elsewhere and a context that ends: the wait ends too.
	mustSet(t, s, "k", "1", 0)
	st, err := s.lock(context.Background(), s.locate("k").stripe)
	if err != nil {
		t.Fatal(err)
	}
	defer st.unlock()
	ctx, cancel = context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := s.Incr(ctx, "k", 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Incr on a held lock = %v, want context.DeadlineExceeded", err)
	}
}

// A Store waiting for a lock another Store (another process, for flock)
// holds gives up when its context ends, and both work afterwards.
func TestLockWaitAbandoned(t *testing.T) {
	if !crossProcess {
		t.Skip("locks are not shared between Stores on this system")
	}
	dir := t.TempDir()
	a, b := openStore(t, dir, Options{}), openStore(t, dir, Options{})
	mustSet(t, a, "k", "1", 0)
	held, err := a.lock(context.Background(), a.locate("k").stripe)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := b.Incr(ctx, "k", 1); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Incr on a lock held by another Store = %v, want context.DeadlineExceeded", err)
	}
	held.unlock()
	ctx, cancel = context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i, s := range []*Store{b, a, b} {
		if _, err := s.Incr(ctx, "k", 1); err != nil {
			t.Fatalf("Incr %d after the lock was freed: %v", i, err)
		}
	}
	if diff := cmp.Diff(hit{"4", true}, getHit(t, a, "k")); diff != "" {
		t.Errorf("value (-want +got):\n%s", diff)
	}
}

func TestNewErrors(t *testing.T) {
	notDir := t.TempDir() + "/file"
	os.WriteFile(notDir, nil, 0o600)
	for _, c := range []struct {
		dir  string
		opts Options
	}{
		{"", Options{}},
		{t.TempDir(), Options{MaxEntries: -1}},
		{t.TempDir(), Options{CullFrequency: -2}},
		{notDir, Options{}},
	} {
		if s, err := New(c.dir, c.opts); err == nil {
			s.Close()
			t.Errorf("New(%q, %+v) = nil error, want one", c.dir, c.opts)
		}
	}
}

func TestNewCreatesPrivateDirectory(t *testing.T) {
	dir := t.TempDir() + "/a/b"
	openStore(t, dir, Options{})
	fi, err := os.Stat(dir)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(os.FileMode(0o700), fi.Mode().Perm()); diff != "" {
		t.Errorf("directory mode (-want +got):\n%s", diff)
	}
}
