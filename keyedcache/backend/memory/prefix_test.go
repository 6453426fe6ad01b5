package memory_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/keyedcache/backend"
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
