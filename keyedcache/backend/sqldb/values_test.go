package sqldb_test

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/sqldb"
)

func testBinaryValues(t *testing.T, e engine) {
	s := e.open(t, opts(sqldb.Options{}))
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	values := map[string][]byte{"all": all, "reversed": slices.Clone(all), "empty": {}}
	slices.Reverse(values["reversed"])
	for i := range 256 {
		values[fmt.Sprint("byte::", i)] = []byte{byte(i)}
		values[fmt.Sprint("in-text::", i)] = []byte{'a', byte(i), 'b'}
	}
	for k, v := range values {
		mustSet(t, s, k, v, time.Hour)
	}
	for k, want := range values {
		got, found, err := s.Get(ctxFor(t), k)
		if err != nil || !found || !bytes.Equal(got, want) {
			t.Fatalf("Get(%q) = %x, %v, %v; want %x", k, got, found, err, want)
		}
	}
	keys := slices.Collect(func(yield func(string) bool) {
		for k := range values {
			if !yield(k) {
				return
			}
		}
	})
	got, err := s.GetMany(ctxFor(t), keys)
	if err != nil {
		t.Fatalf("GetMany: %v", err)
	}
	if d := cmp.Diff(values, got); d != "" {
		t.Fatalf("GetMany (-want +got):\n%s", d)
	}
	// A binary value is compared byte for byte by CompareAndSwap.
	if ok, err := s.CompareAndSwap(ctxFor(t), "all", values["reversed"], []byte("no"), time.Hour); err != nil || ok {
		t.Fatalf("CompareAndSwap with other bytes = %v, %v; want false", ok, err)
	}
	if ok, err := s.CompareAndSwap(ctxFor(t), "all", all, []byte{0, 0xff}, time.Hour); err != nil || !ok {
		t.Fatalf("CompareAndSwap with the same 256 bytes = %v, %v; want true", ok, err)
	}
}

func testBinaryKeys(t *testing.T, e engine) {
	s := e.open(t, opts(sqldb.Options{}))
	ctx := ctxFor(t)
	var keys []string
	for i := range 256 {
		keys = append(keys, "b::"+string([]byte{byte(i)}), "b::"+string([]byte{byte(i), 'z'}))
	}
	for i, k := range keys {
		mustSet(t, s, k, []byte(strconv.Itoa(i)), time.Hour)
	}
	for i, k := range keys {
		got, found, err := s.Get(ctx, k)
		if err != nil || !found || string(got) != strconv.Itoa(i) {
			t.Fatalf("Get(%q) = %q, %v, %v; want %d", k, got, found, err, i)
		}
	}
	var listed []string
	if _, err := s.ScanKeys(ctx, "b::", func(k string) bool { listed = append(listed, k); return true }); err != nil {
		t.Fatal(err)
	}
	want := slices.Clone(keys)
	slices.Sort(want)
	if d := cmp.Diff(want, listed); d != "" {
		t.Fatalf("ScanKeys of binary keys, in byte order (-want +got):\n%s", d)
	}

	// A prefix that ends in 0xff bytes: the range's upper bound is the
	// prefix with the last byte below 0xff raised ("p\xff" → "q").
	for _, k := range []string{"p\xfe", "p\xff", "p\xff\xff", "p\xff\x00", "p\xffa", "q", "q\x00"} {
		mustSet(t, s, k, []byte("x"), time.Hour)
	}
	if n, err := s.DeletePrefix(ctx, "p\xff"); err != nil || n != 4 {
		t.Fatalf("DeletePrefix(p\\xff) = %d, %v; want 4", n, err)
	}
	for k, want := range map[string]bool{"p\xfe": true, "p\xff": false, "p\xff\xff": false, "p\xff\x00": false, "p\xffa": false, "q": true, "q\x00": true} {
		if present(t, s, k) != want {
			t.Errorf("after DeletePrefix(p\\xff): %q present = %v, want %v", k, !want, want)
		}
	}
	if n, err := s.DeletePrefix(ctx, "\xff\xff"); err != nil || n != 0 {
		t.Fatalf("DeletePrefix of a prefix of 0xff bytes only = %d, %v; want 0", n, err)
	}
}

func testScanKeys(t *testing.T, e engine) {
	s := e.open(t, opts(sqldb.Options{}))
	ctx := ctxFor(t)
	const n = 2100 // more than two pages of 1000
	items := map[string][]byte{}
	var want []string
	for i := range n {
		k := fmt.Sprintf("s::%05d", (i*7919)%n)
		items[k] = []byte("x")
		want = append(want, k)
	}
	slices.Sort(want)
	for _, k := range []string{"s:", "s;", "r::1", "t::1"} {
		items[k] = []byte("outside")
	}
	if err := s.SetMany(ctx, items, time.Hour); err != nil {
		t.Fatalf("SetMany: %v", err)
	}
	mustSet(t, s, "s::expired", []byte("x"), 30*time.Millisecond)
	time.Sleep(60 * time.Millisecond)
	var got []string
	complete, err := s.ScanKeys(ctx, "s::", func(k string) bool { got = append(got, k); return true })
	if err != nil || !complete {
		t.Fatalf("ScanKeys = %v, %v; want complete", complete, err)
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("ScanKeys: every live key under the prefix, in byte order (-want +got):\n%s", d)
	}
	// From a cursor: the keys after it, in order, across page boundaries.
	var after []string
	if complete, err := s.ScanKeysAfter(ctx, "s::", want[995], func(k string) bool { after = append(after, k); return true }); err != nil || !complete {
		t.Fatalf("ScanKeysAfter = %v, %v; want complete", complete, err)
	}
	if d := cmp.Diff(want[996:], after); d != "" {
		t.Fatalf("ScanKeysAfter(%q): the keys after the cursor, in byte order (-want +got):\n%s", want[995], d)
	}
	var _ backend.SortedKeyLister = s
	calls := 0
	if _, err := s.ScanKeys(ctx, "s::", func(string) bool { calls++; return calls < 10 }); err != nil || calls != 10 {
		t.Fatalf("ScanKeys stopped by fn after %d calls (%v); want 10", calls, err)
	}
	var all []string
	if _, err := s.ScanKeys(ctx, "", func(k string) bool { all = append(all, k); return true }); err != nil || len(all) != n+4 {
		t.Fatalf("ScanKeys of every key listed %d (%v); want %d", len(all), err, n+4)
	}
	if n, err := s.DeletePrefix(ctx, "s::"); err != nil || n != 2100 {
		t.Fatalf("DeletePrefix(s::) = %d, %v; want the 2100 live rows", n, err)
	}
	if got := rows(t, s); got != 4 {
		t.Fatalf("%d rows after DeletePrefix, want the 4 outside the prefix", got)
	}
}

func testStats(t *testing.T, e engine) {
	s := e.open(t, opts(sqldb.Options{MaxEntries: 500}))
	for i := range 20 {
		mustSet(t, s, fmt.Sprint("k::", i), bytes.Repeat([]byte("v"), 1000), time.Hour)
	}
	mustSet(t, s, "short", []byte("x"), 30*time.Millisecond)
	time.Sleep(60 * time.Millisecond)
	st, err := s.BackendStats(ctxFor(t))
	if err != nil {
		t.Fatalf("BackendStats: %v", err)
	}
	for name, want := range map[string]string{"engine": e.name, "table": s.Table(), "entries": "20", "expired_rows": "1", "max_entries": "500", "cull_frequency": "3"} {
		if st[name] != want {
			t.Errorf("BackendStats[%s] = %q, want %q", name, st[name], want)
		}
	}
	if size, err := strconv.Atoi(st["bytes"]); err != nil || size < 20_000 {
		t.Errorf("BackendStats[bytes] = %q; want at least the 20 kB stored", st["bytes"])
	}
	if err := s.Ping(ctxFor(t)); err != nil {
		t.Errorf("Ping: %v", err)
	}
}

func testIncrContended(t *testing.T, e engine) {
	o := opts(sqldb.Options{})
	a := e.open(t, o)
	b := e.open(t, o)
	mustSet(t, a, "n", []byte("0"), time.Hour)
	const workers, rounds = 8, 15
	var wg sync.WaitGroup
	errs := make(chan error, 2*workers)
	for w := range 2 * workers {
		s := a
		if w%2 == 1 {
			s = b
		}
		wg.Go(func() {
			for range rounds {
				if _, err := s.Incr(ctxFor(t), "n", 1); err != nil {
					errs <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	got, _, err := a.Get(ctxFor(t), "n")
	if err != nil || string(got) != strconv.Itoa(2*workers*rounds) {
		t.Fatalf("counter = %q, %v after %d increments from two Stores", got, err, 2*workers*rounds)
	}
	if left, found, err := b.TTL(ctxFor(t), "n"); err != nil || !found || left < 50*time.Minute {
		t.Fatalf("TTL after the increments = %v, %v, %v; want the hour it was set with", left, found, err)
	}
}

func testClosed(t *testing.T, e engine) {
	s := e.open(t, opts(sqldb.Options{}))
	mustSet(t, s, "k", []byte("v"), time.Hour)
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if _, _, err := s.Get(ctxFor(t), "k"); !errors.Is(err, sqldb.ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
	if err := s.Set(ctxFor(t), "k", nil, time.Hour); !errors.Is(err, sqldb.ErrClosed) {
		t.Errorf("Set after Close = %v, want ErrClosed", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("a second Close = %v, want nil", err)
	}
}
