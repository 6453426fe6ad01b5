package memory_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/backendtest"
	"keyedcache.dev/keyedcache/backend/memory"
)

var family = []string{
	"a::b",
	"a::b::",
	"a::b::1",
	"a::b::2::x",
	"a::b:::3",
	"a::bc::1",
	"a::c::1",
	"x::a::b::1",
	"ab",
	"plain",
}

func TestDeletePrefix(t *testing.T) {
	for _, tc := range []struct {
		prefix string
		want   []string // the keys left
	}{
		{"a::b::", []string{"a::b", "a::bc::1", "a::c::1", "ab", "plain", "x::a::b::1"}},
		{"a::b:::", []string{"a::b", "a::b::", "a::b::1", "a::b::2::x", "a::bc::1", "a::c::1", "ab", "plain", "x::a::b::1"}},
		{"a::", []string{"ab", "plain", "x::a::b::1"}},
		// prefixes that do not end in "::"
		{"a::b", []string{"a::c::1", "ab", "plain", "x::a::b::1"}},
		{"a::b::2", []string{"a::b", "a::b::", "a::b::1", "a::b:::3", "a::bc::1", "a::c::1", "ab", "plain", "x::a::b::1"}},
		{"a", []string{"plain", "x::a::b::1"}},
		{"a:", []string{"ab", "plain", "x::a::b::1"}},
		{"", nil},
		{"zzz::", family},
	} {
		ctx := context.Background()
		s := newStore(t, memory.Options{})
		for _, k := range family {
			set(t, s, k, "v", backend.NoExpiry)
		}
		n, err := s.DeletePrefix(ctx, tc.prefix)
		if err != nil {
			t.Fatal(err)
		}
		left := keys(t, s, "")
		if diff := cmp.Diff(sorted(tc.want), left); diff != "" {
			t.Errorf("keys left after DeletePrefix(%q) (-want +got):\n%s", tc.prefix, diff)
		}
		if n != len(family)-len(tc.want) {
			t.Errorf("DeletePrefix(%q) = %d, want %d", tc.prefix, n, len(family)-len(tc.want))
		}
	}
}

func TestDeletePrefixSkipsExpired(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, memory.Options{})
	set(t, s, "p::1", "v", 10*time.Millisecond)
	set(t, s, "p::2", "v", backend.NoExpiry)
	time.Sleep(30 * time.Millisecond)
	n, err := s.DeletePrefix(ctx, "p::")
	if err != nil || n != 1 {
		t.Errorf("DeletePrefix with one live and one expired child = %d, %v; want 1, nil", n, err)
	}
}

func TestDeletePrefixHonoursContext(t *testing.T) {
	s := newStore(t, memory.Options{})
	set(t, s, "p::1", "v", backend.NoExpiry)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := s.DeletePrefix(ctx, "p::"); err != context.Canceled {
		t.Errorf("DeletePrefix with a cancelled context: err = %v, want context.Canceled", err)
	}
	if _, ok := get(t, s, "p::1"); !ok {
		t.Errorf("a cancelled DeletePrefix deleted the key")
	}
}

func TestScanKeys(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, memory.Options{})
	for _, k := range family {
		set(t, s, k, "v", backend.NoExpiry)
	}
	set(t, s, "a::b::expired", "v", time.Millisecond)
	time.Sleep(10 * time.Millisecond)
	for prefix, want := range map[string][]string{
		"a::b::": {"a::b::", "a::b::1", "a::b::2::x", "a::b:::3"},
		"a::b":   {"a::b", "a::b::", "a::b::1", "a::b::2::x", "a::b:::3", "a::bc::1"},
		"a":      {"a::b", "a::b::", "a::b::1", "a::b::2::x", "a::b:::3", "a::bc::1", "a::c::1", "ab"},
		"":       sorted(family),
		"q::":    nil,
	} {
		if diff := cmp.Diff(want, keys(t, s, prefix)); diff != "" {
			t.Errorf("ScanKeys(%q) (-want +got):\n%s", prefix, diff)
		}
	}

	// fn returning false stops the listing.
	calls := 0
	complete, err := s.ScanKeys(ctx, "a::", func(string) bool { calls++; return false })
	if calls != 1 || !complete || err != nil {
		t.Errorf("ScanKeys stopped by fn: %d calls, %v, %v; want 1, true, nil", calls, complete, err)
	}

	// fn may call the store.
	if _, err := s.ScanKeys(ctx, "a::b::", func(k string) bool {
		_, err := s.Delete(ctx, k)
		return err == nil
	}); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string(nil), keys(t, s, "a::b::")); diff != "" {
		t.Errorf("keys left after deleting them from ScanKeys (-want +got):\n%s", diff)
	}
}

func sorted(ks []string) []string {
	if len(ks) == 0 {
		return nil
	}
	out := slices.Clone(ks)
	slices.Sort(out)
	return out
}

// after lists the keys ScanKeysAfter gives, stopping after stop keys
// (0: never).
func after(t *testing.T, s *memory.Store, prefix, cursor string, stop int) []string {
	t.Helper()
	var got []string
	complete, err := s.ScanKeysAfter(context.Background(), prefix, cursor, func(k string) bool {
		got = append(got, k)
		return len(got) != stop
	})
	if err != nil || !complete {
		t.Fatalf("ScanKeysAfter(%q, %q) = %v, %v; want complete", prefix, cursor, complete, err)
	}
	return got
}

// TestScanKeysAfterPages pages through thousands of random keys, as the
// staff page does, across every shard of the index and many batches:
// each page must continue exactly where the last one ended.
func TestScanKeysAfterPages(t *testing.T) {
	s := newStore(t, memory.Options{MaxEntries: 1 << 20})
	rnd := rand.New(rand.NewPCG(1, 2))
	want := map[string]bool{}
	for len(want) < 5000 {
		var b []byte
		const alphabet = "a:b\x00\xffé" // bytes that sort apart from their runes
		for range 1 + rnd.IntN(6) {
			b = append(b, alphabet[rnd.IntN(len(alphabet))])
		}
		k := "p::" + string(b)
		want[k] = true
		set(t, s, k, "v", backend.NoExpiry)
		set(t, s, "q"+k, "v", backend.NoExpiry) // outside the prefix
	}
	sortedWant := slices.Sorted(maps.Keys(want))
	if diff := cmp.Diff(sortedWant, after(t, s, "p::", "", 0)); diff != "" {
		t.Fatalf("every key under p:: in byte order (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(sortedWant, backendtest.ScanAfterAll(t, s, "p::", 51)); diff != "" {
		t.Fatalf("pages of 51 (-want +got):\n%s", diff)
	}
}

func TestScanKeysAfterSkipsExpiredAndHonoursContext(t *testing.T) {
	s := newStore(t, memory.Options{})
	for _, k := range family {
		set(t, s, k, "v", backend.NoExpiry)
	}
	set(t, s, "a::b::0", "v", time.Millisecond)
	time.Sleep(10 * time.Millisecond)
	if diff := cmp.Diff([]string{"a::b::", "a::b::1", "a::b::2::x", "a::b:::3"}, after(t, s, "a::b::", "", 0)); diff != "" {
		t.Errorf("ScanKeysAfter(a::b::) with an expired key (-want +got):\n%s", diff)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for i := range 1000 {
		set(t, s, fmt.Sprintf("n::%04d", i), "v", backend.NoExpiry)
	}
	calls := 0
	if _, err := s.ScanKeysAfter(ctx, "n::", "", func(string) bool { calls++; return true }); !errors.Is(err, context.Canceled) || calls >= 1000 {
		t.Errorf("ScanKeysAfter with a cancelled context: %d calls, err %v; want context.Canceled before the end", calls, err)
	}
}

// fn runs with no lock held: it may write and delete, even the keys
// being listed, and the keys no one touches are all listed once.
func TestScanKeysAfterWhileWriting(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, memory.Options{MaxEntries: 1 << 20})
	var stable []string
	for i := range 2000 {
		k := fmt.Sprintf("k::%05d", 2*i)
		stable = append(stable, k)
		set(t, s, k, "v", backend.NoExpiry)
	}
	var got []string
	if _, err := s.ScanKeysAfter(ctx, "k::", "", func(k string) bool {
		got = append(got, k)
		n, _ := strconv.Atoi(strings.TrimPrefix(k, "k::"))
		if n%2 == 1 { // a key this walk wrote: drop it again
			_, err := s.Delete(ctx, k)
			return err == nil
		}
		return s.Set(ctx, fmt.Sprintf("k::%05d", n+1), []byte("w"), backend.NoExpiry) == nil
	}); err != nil {
		t.Fatal(err)
	}
	var listedStable []string
	for _, k := range got {
		if n, _ := strconv.Atoi(strings.TrimPrefix(k, "k::")); n%2 == 0 {
			listedStable = append(listedStable, k)
		}
	}
	if diff := cmp.Diff(stable, listedStable); diff != "" {
		t.Errorf("untouched keys listed while fn wrote (-want +got):\n%s", diff)
	}
	if !slices.IsSorted(got) {
		t.Errorf("a listing during writes is out of order")
	}
}
