package file

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"keyedcache.dev/keyedcache/backend"
)

// usage returns the number of entry files in s's directory and the sum
// of their sizes.
func usage(t *testing.T, s *Store) (n, size int64) {
	t.Helper()
	for _, p := range files(t, s, kindEntry) {
		fi, err := os.Lstat(p)
		if err != nil {
			t.Fatal(err)
		}
		n++
		size += fi.Size()
	}
	return n, size
}

// checkEstimates fails the test unless s's count and bytes match its
// directory exactly, as they must for a lone Store. It returns the bytes
// the entry files take.
func checkEstimates(t *testing.T, s *Store, when string) int64 {
	t.Helper()
	n, size := usage(t, s)
	want := []int64{n, size}
	got := []int64{s.count.Load(), s.bytes.Load()}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("%s: estimated [entries bytes] (-directory +estimate):\n%s", when, diff)
	}
	return size
}

// value returns a value that makes the entry file for key exactly size
// bytes.
func value(key string, size int) string {
	return strings.Repeat("v", size-headerSize-len(key))
}

func TestMaxBytesBoundHolds(t *testing.T) {
	for _, cf := range []int{1, 3, 10, ClearWhenFull} {
		t.Run(fmt.Sprint("cull_frequency=", cf), func(t *testing.T) {
			const limit = 8 << 10
			s := newStore(t, Options{MaxBytes: limit, CullFrequency: cf})
			rng := rand.New(rand.NewPCG(1, uint64(cf+2)))
			most := int64(0)
			for i := range 250 {
				// Some writes replace an entry with a larger or smaller one.
				key := fmt.Sprint("key-", i)
				if i%4 == 3 {
					key = fmt.Sprint("key-", rng.IntN(i))
				}
				v := strings.Repeat("x", rng.IntN(1000))
				mustSet(t, s, key, v, 0)
				size := checkEstimates(t, s, fmt.Sprint("after ", i+1, " sets"))
				most = max(most, size)
				if size > limit {
					t.Fatalf("after %d sets: entry files take %d bytes, want ≤ %d", i+1, size, limit)
				}
				if diff := cmp.Diff(hit{v, true}, getHit(t, s, key)); diff != "" {
					t.Fatalf("after %d sets: the entry just written (-want +got):\n%s", i+1, diff)
				}
			}
			// Values are up to 1000 bytes, so a directory that never
			// came within 1100 bytes of the bound never filled.
			if most < limit-1100 {
				t.Errorf("the directory never filled: at most %d bytes, want near %d", most, limit)
			}
		})
	}
}

func TestMaxBytesCullAmount(t *testing.T) {
	// Ten entries of 100 bytes fill max_bytes=1000, with room to spare
	// for max_entries; the eleventh culls.
	cases := []struct {
		cf, left int
	}{
		{3, 10 - 4 + 1}, // 1000/3 = 333 bytes: four entries, then the new one
		{2, 10 - 5 + 1},
		{1, 1},
		{ClearWhenFull, 1},
		{100, 10}, // 1000/100 = 10 bytes, but at least room for the new entry
	}
	for _, c := range cases {
		t.Run(fmt.Sprint("cull_frequency=", c.cf), func(t *testing.T) {
			s := newStore(t, Options{MaxBytes: 1000, CullFrequency: c.cf})
			for i := range 11 {
				key := fmt.Sprintf("key-%02d", i)
				mustSet(t, s, key, value(key, 100), 0)
			}
			if diff := cmp.Diff(c.left, len(files(t, s, kindEntry))); diff != "" {
				t.Errorf("entries after the 11th set (-want +got):\n%s", diff)
			}
		})
	}
}

// fillByExpiry writes n entries of 100 bytes, key-00 … key-<n-1>, each
// expiring an hour after the one before, so that a cull takes them in
// that order.
func fillByExpiry(t *testing.T, s *Store, n int) {
	t.Helper()
	for i := range n {
		key := fmt.Sprintf("key-%02d", i)
		mustSet(t, s, key, value(key, 100), time.Duration(i+1)*time.Hour)
	}
}

func TestMaxBytesCullMakesRoomForTheNewEntry(t *testing.T) {
	s := newStore(t, Options{MaxBytes: 1000, CullFrequency: 10})
	clk := fakeClock(s)
	fillByExpiry(t, s, 9)
	mustSet(t, s, "dead", value("dead", 50), time.Second)
	clk.Advance(2 * time.Second)
	// 950 bytes; a 400-byte entry needs 350 freed, more than 950/10: the
	// expired entry goes first, then the three closest to expiry.
	mustSet(t, s, "big", value("big", 400), 0)
	want := []string{"big", "key-03", "key-04", "key-05", "key-06", "key-07", "key-08"}
	if diff := cmp.Diff(want, keysOf(t, s)); diff != "" {
		t.Errorf("keys after the cull (-want +got):\n%s", diff)
	}
	if _, size := usage(t, s); size != 1000 {
		t.Errorf("entry files take %d bytes, want 1000", size)
	}
	checkEstimates(t, s, "after the cull")
}

// A write that grows an entry culls others, never the entry itself: the
// bytes it would free come straight back with the write.
func TestMaxBytesGrowingEntryKeepsItsPlace(t *testing.T) {
	ctx := context.Background()
	grow := map[string]func(s *Store, clk *clock, key string) error{
		"Set": func(s *Store, _ *clock, key string) error {
			return s.Set(ctx, key, []byte(value(key, 300)), time.Hour)
		},
		"CompareAndSwap": func(s *Store, _ *clock, key string) error {
			ok, err := s.CompareAndSwap(ctx, key, []byte(value(key, 100)), []byte(value(key, 300)), time.Hour)
			if err == nil && !ok {
				err = errors.New("not swapped")
			}
			return err
		},
		"Add over the expired entry": func(s *Store, clk *clock, key string) error {
			clk.Advance(90 * time.Minute) // key-00 expires, key-01 not yet
			ok, err := s.Add(ctx, key, []byte(value(key, 300)), time.Hour)
			if err == nil && !ok {
				err = errors.New("not added")
			}
			return err
		},
	}
	for name, write := range grow {
		t.Run(name, func(t *testing.T) {
			s := newStore(t, Options{MaxBytes: 1000, CullFrequency: 10})
			clk := fakeClock(s)
			fillByExpiry(t, s, 10)
			// key-00 is the first victim, but it is the one growing: it
			// stays, and key-01 and key-02 make the 200 bytes it needs.
			if err := write(s, clk, "key-00"); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(hit{value("key-00", 300), true}, getHit(t, s, "key-00")); diff != "" {
				t.Errorf("the grown entry (-want +got):\n%s", diff)
			}
			if _, size := usage(t, s); size != 1000 {
				t.Errorf("entry files take %d bytes, want 1000", size)
			}
			if n := len(keysOf(t, s)); n != 8 {
				t.Errorf("%d entries left, want 8", n)
			}
			checkEstimates(t, s, "after the write")
		})
	}
}

func TestMaxBytesIncrCulls(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, Options{MaxBytes: 1000, CullFrequency: 1000})
	fillByExpiry(t, s, 9)                          // 900 bytes
	mustSet(t, s, "n", "9999999999", 0)            // 39 bytes
	mustSet(t, s, "pad", value("pad", 61), 0)      // 1000 bytes in all
	if _, err := s.Incr(ctx, "n", 1); err != nil { // one digit more
		t.Fatal(err)
	}
	if diff := cmp.Diff(hit{"10000000000", true}, getHit(t, s, "n")); diff != "" {
		t.Errorf("the incremented entry (-want +got):\n%s", diff)
	}
	if _, size := usage(t, s); size > 1000 {
		t.Errorf("entry files take %d bytes after Incr grew an entry, want ≤ 1000", size)
	}
	if _, ok := get(t, s, "key-00"); ok {
		t.Errorf("key-00, the closest to expiry, survived the cull Incr needed")
	}
	checkEstimates(t, s, "after Incr")
}

func TestMaxBytesOversizedValue(t *testing.T) {
	ctx := context.Background()
	const limit = 1000
	s := newStore(t, Options{MaxBytes: limit})
	mustSet(t, s, "other", "v", 0)
	mustSet(t, s, "k", "old", 0)

	// An entry of exactly max_bytes fits, after a cull of everything else.
	mustSet(t, s, "exact", value("exact", limit), 0)
	if diff := cmp.Diff([]string{"exact"}, keysOf(t, s)); diff != "" {
		t.Errorf("keys after a write of exactly max_bytes (-want +got):\n%s", diff)
	}
	mustSet(t, s, "other", "v", 0)
	mustSet(t, s, "k", "old", 0)

	// One byte more is not stored, and the value it replaces goes too.
	if err := s.Set(ctx, "k", []byte(value("k", limit+1)), 0); err != nil {
		t.Errorf("Set of an oversized value = %v, want nil", err)
	}
	if diff := cmp.Diff([]string{"other"}, keysOf(t, s)); diff != "" {
		t.Errorf("keys after an oversized Set (-want +got):\n%s", diff)
	}
	checkEstimates(t, s, "after an oversized Set")

	ok, err := s.Add(ctx, "k", []byte(value("k", limit+1)), 0)
	if diff := cmp.Diff([]any{false, nil}, []any{ok, err}); diff != "" {
		t.Errorf("Add of an oversized value (-want +got):\n%s", diff)
	}
	if _, found := get(t, s, "k"); found {
		t.Errorf("Add of an oversized value stored it")
	}
	// Add of a value that fits still works on the same key.
	ok, err = s.Add(ctx, "k", []byte("small"), 0)
	if diff := cmp.Diff([]any{true, nil}, []any{ok, err}); diff != "" {
		t.Errorf("Add of a small value (-want +got):\n%s", diff)
	}

	// A swap to an oversized value reports true and leaves a miss.
	ok, err = s.CompareAndSwap(ctx, "k", []byte("small"), []byte(value("k", limit+1)), 0)
	if diff := cmp.Diff([]any{true, nil}, []any{ok, err}); diff != "" {
		t.Errorf("CompareAndSwap to an oversized value (-want +got):\n%s", diff)
	}
	if _, found := get(t, s, "k"); found {
		t.Errorf("CompareAndSwap to an oversized value left the key readable")
	}
	if diff := cmp.Diff([]string{"other"}, keysOf(t, s)); diff != "" {
		t.Errorf("keys after the oversized writes (-want +got):\n%s", diff)
	}
	checkEstimates(t, s, "after the oversized writes")
}

func TestMaxBytesIncrPastTheBound(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, Options{MaxBytes: headerSize + 1 + 1}) // room for "n" = one digit
	mustSet(t, s, "n", "9", 0)
	n, err := s.Incr(ctx, "n", 1)
	if diff := cmp.Diff([]any{int64(10), nil}, []any{n, err}); diff != "" {
		t.Errorf("Incr past the bound (-want +got):\n%s", diff)
	}
	if _, found := get(t, s, "n"); found {
		t.Errorf("Incr stored an entry larger than max_bytes")
	}
	checkEstimates(t, s, "after Incr")
}

// Every operation keeps the estimates exact for a lone Store.
func TestBytesEstimateFollowsEveryWrite(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, Options{MaxBytes: 1 << 20})
	clk := fakeClock(s)
	steps := []struct {
		name string
		do   func() error
	}{
		{"Set", func() error { return s.Set(ctx, "a", []byte("12"), 0) }},
		{"Set larger", func() error { return s.Set(ctx, "a", []byte("12345"), 0) }},
		{"Set smaller", func() error { return s.Set(ctx, "a", []byte("9"), 0) }},
		{"Set expiring", func() error { return s.Set(ctx, "e", []byte("gone soon"), time.Second) }},
		{"Set p::1", func() error { return s.Set(ctx, "p::1", []byte("x"), 0) }},
		{"Set p::2", func() error { return s.Set(ctx, "p::2", []byte("xyz"), 0) }},
		{"Incr", func() error { _, err := s.Incr(ctx, "a", 1); return err }},
		{"Touch", func() error { return s.Touch(ctx, "a", time.Hour) }},
		{"CompareAndSwap", func() error {
			_, err := s.CompareAndSwap(ctx, "a", []byte("10"), []byte("a longer value"), 0)
			return err
		}},
		{"expire", func() error { clk.Advance(time.Minute); return nil }},
		{"Add over a dead entry", func() error { _, err := s.Add(ctx, "e", []byte("back, longer"), 0); return err }},
		{"expire again", func() error { return s.Set(ctx, "e2", []byte("v"), time.Second) }},
		{"Get of a dead entry", func() error { clk.Advance(time.Minute); _, _, err := s.Get(ctx, "e2"); return err }},
		{"Delete", func() error { _, err := s.Delete(ctx, "a"); return err }},
		{"DeletePrefix", func() error { _, err := s.DeletePrefix(ctx, "p::"); return err }},
		{"SetMany", func() error { return s.SetMany(ctx, map[string][]byte{"m1": []byte("1"), "m2": nil}, 0) }},
		{"DeleteMany", func() error { _, err := s.DeleteMany(ctx, []string{"m1", "nope"}); return err }},
		{"Clear", func() error { return s.Clear(ctx) }},
	}
	for _, st := range steps {
		if err := st.do(); err != nil {
			t.Fatalf("%s: %v", st.name, err)
		}
		checkEstimates(t, s, st.name)
	}
}

func TestBytesEstimateComesFromTheDirectory(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	first := openStore(t, dir, Options{})
	for i := range 10 {
		key := fmt.Sprintf("key-%02d", i)
		mustSet(t, first, key, value(key, 100), 0)
	}
	// A second Store opened on the same directory knows it is full.
	second := openStore(t, dir, Options{MaxBytes: 1000, CullFrequency: 2})
	st, err := second.BackendStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"1000", "1000", "1000"}, []string{st["bytes"], st["estimated_bytes"], st["max_bytes"]}); diff != "" {
		t.Errorf("BackendStats [bytes estimated_bytes max_bytes] (-want +got):\n%s", diff)
	}
	mustSet(t, second, "one-more", value("one-more", 100), 0)
	if diff := cmp.Diff(6, len(files(t, second, kindEntry))); diff != "" {
		t.Errorf("entries after a write to a full directory (-want +got):\n%s", diff)
	}
	// The first Store's writes reach the second's estimate only at its
	// next scan; its stats show both.
	mustSet(t, first, "unseen", value("unseen", 100), 0)
	st, err = second.BackendStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"700", "600"}, []string{st["bytes"], st["estimated_bytes"]}); diff != "" {
		t.Errorf("BackendStats [bytes estimated_bytes] after another Store's write (-want +got):\n%s", diff)
	}
}

func TestBytesEstimateSeesOtherStoresAtTheNextScan(t *testing.T) {
	dir := t.TempDir()
	a := openStore(t, dir, Options{MaxBytes: 1000, CullFrequency: 2})
	b := openStore(t, dir, Options{MaxBytes: 1000, CullFrequency: 2})
	for i := range 100 {
		s := a
		if i%2 == 1 {
			s = b
		}
		key := fmt.Sprintf("key-%02d", i)
		mustSet(t, s, key, value(key, 100), 0)
		// Each Store counts its own writes between scans, so two of them
		// may overshoot by one cull's worth (1000/2 bytes) each.
		if _, size := usage(t, a); size > 1000+2*500 {
			t.Fatalf("after %d sets: %d bytes with two writers, want ≤ %d", i+1, size, 1000+2*500)
		}
	}
}

func TestNewRejectsNegativeMaxBytes(t *testing.T) {
	if _, err := New(t.TempDir(), Options{MaxBytes: -1}); err == nil || !strings.Contains(err.Error(), "MaxBytes") {
		t.Errorf("New with MaxBytes -1 = %v, want an error naming MaxBytes", err)
	}
}

// A byte bound set through the URL is the one the Store keeps.
func TestOpenURLMaxBytesBounds(t *testing.T) {
	b, err := openURL("file://" + t.TempDir() + "?max_bytes=1KiB&cull_frequency=2")
	if err != nil {
		t.Fatal(err)
	}
	s := b.(*Store)
	t.Cleanup(func() { s.Close() })
	for i := range 50 {
		key := fmt.Sprintf("key-%02d", i)
		mustSet(t, s, key, value(key, 100), backend.NoExpiry)
		if _, size := usage(t, s); size > 1024 {
			t.Fatalf("after %d sets: %d bytes, want ≤ 1024", i+1, size)
		}
	}
}
