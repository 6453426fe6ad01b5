package backendtest

import (
	"bytes"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"keyedcache.dev/keyedcache/backend"
)

func mustGet(t *testing.T, b backend.Backend, key string) ([]byte, bool) {
	t.Helper()
	v, found, err := b.Get(ctxFor(t), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return v, found
}

func mustSet(t *testing.T, b backend.Backend, key string, v []byte, ttl time.Duration) {
	t.Helper()
	if err := b.Set(ctxFor(t), key, v, ttl); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

func wantValue(t *testing.T, b backend.Backend, key string, want []byte) {
	t.Helper()
	got, found := mustGet(t, b, key)
	if !found {
		t.Fatalf("Get(%q): miss, want %d bytes", key, len(want))
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("Get(%q) = %q, want %q", key, clip(got), clip(want))
	}
}

// value is wantValue that returns what is wrong as an error.
func value(t *testing.T, b backend.Backend, key string, want []byte) error {
	got, found, err := b.Get(ctxFor(t), key)
	switch {
	case err != nil:
		return fmt.Errorf("Get(%q): %w", key, err)
	case !found:
		return fmt.Errorf("Get(%q): miss, want %d bytes", key, len(want))
	case !bytes.Equal(got, want):
		return fmt.Errorf("Get(%q) = %q, want %q", key, clip(got), clip(want))
	}
	return nil
}

func wantMiss(t *testing.T, b backend.Backend, key string) {
	t.Helper()
	if got, found := mustGet(t, b, key); found {
		t.Fatalf("Get(%q) = %q, want a miss", key, clip(got))
	}
}

func clip(b []byte) []byte {
	if len(b) > 40 {
		return append(b[:40:40], "…"...)
	}
	return b
}

func (s *suite) testRawSetGet(t *testing.T) {
	a, b := s.open(t)
	wantMiss(t, a, "raw::k")
	mustSet(t, a, "raw::k", []byte("one"), time.Minute)
	wantValue(t, a, "raw::k", []byte("one"))
	wantValue(t, b, "raw::k", []byte("one"))
	mustSet(t, b, "raw::k", []byte("two"), time.Minute)
	wantValue(t, a, "raw::k", []byte("two"))

	// The backend must not keep the caller's slice, nor hand out its own.
	buf := []byte("mutable")
	mustSet(t, a, "raw::m", buf, time.Minute)
	buf[0] = 'X'
	got, _ := mustGet(t, a, "raw::m")
	got[1] = 'Y'
	wantValue(t, a, "raw::m", []byte("mutable"))
}

func (s *suite) testRawAdd(t *testing.T) {
	a, b := s.open(t)
	ctx := ctxFor(t)
	if added, err := a.Add(ctx, "raw::add", []byte("first"), time.Minute); err != nil || !added {
		t.Fatalf("Add on an absent key = %v, %v; want true, nil", added, err)
	}
	if added, err := b.Add(ctx, "raw::add", []byte("second"), time.Minute); err != nil || added {
		t.Fatalf("Add on a present key = %v, %v; want false, nil", added, err)
	}
	wantValue(t, a, "raw::add", []byte("first"))

	mustSet(t, a, "raw::short", []byte("old"), 100*time.Millisecond)
	s.wait(150 * time.Millisecond)
	if added, err := b.Add(ctx, "raw::short", []byte("new"), time.Minute); err != nil || !added {
		t.Fatalf("Add over an expired entry = %v, %v; want true, nil", added, err)
	}
	wantValue(t, a, "raw::short", []byte("new"))
}

func (s *suite) testRawDelete(t *testing.T) {
	a, b := s.open(t)
	ctx := ctxFor(t)
	mustSet(t, a, "raw::del", []byte("x"), time.Minute)
	if existed, err := b.Delete(ctx, "raw::del"); err != nil || !existed {
		t.Fatalf("Delete of a present key = %v, %v; want true, nil", existed, err)
	}
	wantMiss(t, a, "raw::del")
	if existed, err := b.Delete(ctx, "raw::del"); err != nil || existed {
		t.Fatalf("Delete of an absent key = %v, %v; want false, nil", existed, err)
	}
}

func (s *suite) testRawValues(t *testing.T) {
	a, b := s.open(t)
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(i)
	}
	big := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	cases := []struct {
		name string
		v    []byte
	}{
		{"empty", []byte{}},
		{"binary", all},
		{"unicode", []byte("żółw 🐢 черепаха 亀")},
		{"1MiB", big},
	}
	for _, c := range cases {
		mustSet(t, a, "raw::v::"+c.name, c.v, time.Minute)
		wantValue(t, b, "raw::v::"+c.name, c.v)
	}
	mustSet(t, a, "raw::v::nil", nil, time.Minute)
	if got, found := mustGet(t, b, "raw::v::nil"); !found || len(got) != 0 {
		t.Fatalf("a nil value read back as %q, found=%v; want an empty hit", got, found)
	}
}

func (s *suite) testRawUnicodeKeys(t *testing.T) {
	a, b := s.open(t)
	keys := []string{"ключ::1", "鍵::2", "clé::é", "emoji::🐢", strings.Repeat("é", 120)}
	for i, k := range keys {
		mustSet(t, a, k, []byte(fmt.Sprint(i)), time.Minute)
	}
	for i, k := range keys {
		wantValue(t, b, k, []byte(fmt.Sprint(i)))
	}
}

func (s *suite) testRawExpiry(t *testing.T) {
	a, b := s.open(t)
	// Long enough that a loaded machine reads the entry before it expires.
	ttl := time.Second + 2*s.slack
	var short string
	var setAt time.Time // when the entry's ttl has begun at the latest
	inTime(t, ttl, func(n int) error {
		short = keyN("raw::ttl::short", n)
		if err := a.Set(ctxFor(t), short, []byte("x"), ttl); err != nil {
			return fmt.Errorf("Set(%q): %w", short, err)
		}
		setAt = time.Now()
		if err := a.Set(ctxFor(t), "raw::ttl::forever", []byte("y"), backend.NoExpiry); err != nil {
			return fmt.Errorf("Set(%q): %w", "raw::ttl::forever", err)
		}
		return value(t, b, short, []byte("x"))
	})
	s.wait(time.Until(setAt.Add(ttl + 100*time.Millisecond)))
	wantMiss(t, b, short)
	wantValue(t, b, "raw::ttl::forever", []byte("y"))
}

func (s *suite) testRawCapabilities(t *testing.T) {
	a, b := s.open(t)
	ctx := ctxFor(t)
	if tc, ok := b.(backend.Toucher); ok {
		var key string
		inTime(t, 200*time.Millisecond, func(n int) error {
			key = keyN("raw::touch", n)
			if err := a.Set(ctx, key, []byte("x"), 200*time.Millisecond); err != nil {
				return fmt.Errorf("Set(%q): %w", key, err)
			}
			if err := tc.Touch(ctx, key, time.Minute); err != nil {
				return fmt.Errorf("Touch: %w", err)
			}
			return nil
		})
		s.wait(300 * time.Millisecond)
		wantValue(t, a, key, []byte("x"))
		if err := tc.Touch(ctx, "raw::touch::absent", time.Minute); !errors.Is(err, backend.ErrNotFound) {
			t.Fatalf("Touch of an absent key = %v, want ErrNotFound", err)
		}
	}
	if in, ok := b.(backend.Incrementer); ok {
		mustSet(t, a, "raw::n", []byte("41"), time.Minute)
		if n, err := in.Incr(ctx, "raw::n", 1); err != nil || n != 42 {
			t.Fatalf("Incr = %d, %v; want 42", n, err)
		}
		if n, err := in.Incr(ctx, "raw::n", -50); err != nil || n != -8 {
			t.Fatalf("Incr(-50) = %d, %v; want -8", n, err)
		}
		if _, err := in.Incr(ctx, "raw::n::absent", 1); !errors.Is(err, backend.ErrNotFound) {
			t.Fatalf("Incr of an absent key = %v, want ErrNotFound", err)
		}
		mustSet(t, a, "raw::text", []byte("abc"), time.Minute)
		if _, err := in.Incr(ctx, "raw::text", 1); !errors.Is(err, backend.ErrNotNumeric) {
			t.Fatalf("Incr of text = %v, want ErrNotNumeric", err)
		}
	}
	if m, ok := b.(backend.Multi); ok {
		items := map[string][]byte{"raw::m::1": []byte("1"), "raw::m::2": []byte("2")}
		if err := m.SetMany(ctx, items, time.Minute); err != nil {
			t.Fatalf("SetMany: %v", err)
		}
		got, err := m.GetMany(ctx, []string{"raw::m::1", "raw::m::2", "raw::m::3"})
		if err != nil {
			t.Fatalf("GetMany: %v", err)
		}
		if d := cmp.Diff(items, got); d != "" {
			t.Fatalf("GetMany (-want +got):\n%s", d)
		}
		if n, err := m.DeleteMany(ctx, []string{"raw::m::1", "raw::m::3"}); err != nil || n != 1 {
			t.Fatalf("DeleteMany = %d, %v; want 1", n, err)
		}
		wantMiss(t, a, "raw::m::1")
	}
	if pd, ok := b.(backend.PrefixDeleter); ok {
		for _, k := range []string{"raw::p::1", "raw::p::1::a", "raw::p::1::a::b", "raw::p::12", "raw::q::1"} {
			mustSet(t, a, k, []byte("x"), time.Minute)
		}
		if n, err := pd.DeletePrefix(ctx, "raw::p::1::"); err != nil || n != 2 {
			t.Fatalf("DeletePrefix = %d, %v; want 2", n, err)
		}
		wantMiss(t, a, "raw::p::1::a")
		wantMiss(t, a, "raw::p::1::a::b")
		wantValue(t, a, "raw::p::1", []byte("x"))
		wantValue(t, a, "raw::p::12", []byte("x"))
		wantValue(t, a, "raw::q::1", []byte("x"))
	}
	if cs, ok := b.(backend.CompareAndSwapper); ok {
		mustSet(t, a, "raw::cas", []byte("v1"), time.Minute)
		if ok, err := cs.CompareAndSwap(ctx, "raw::cas", []byte("v0"), []byte("v2"), time.Minute); err != nil || ok {
			t.Fatalf("CompareAndSwap with a stale old value = %v, %v; want false", ok, err)
		}
		if ok, err := cs.CompareAndSwap(ctx, "raw::cas", []byte("v1"), []byte("v2"), time.Minute); err != nil || !ok {
			t.Fatalf("CompareAndSwap with the current value = %v, %v; want true", ok, err)
		}
		wantValue(t, a, "raw::cas", []byte("v2"))
	}
	if kl, ok := b.(backend.KeyLister); ok {
		for _, k := range []string{"raw::list::b", "raw::list::a", "raw::other"} {
			mustSet(t, a, k, []byte("x"), time.Minute)
		}
		var got []string
		if _, err := kl.ScanKeys(ctx, "raw::list::", func(k string) bool { got = append(got, k); return true }); err != nil {
			t.Fatalf("ScanKeys: %v", err)
		}
		slices.Sort(got)
		if d := cmp.Diff([]string{"raw::list::a", "raw::list::b"}, got); d != "" {
			t.Fatalf("ScanKeys (-want +got):\n%s", d)
		}
	}
	if tr, ok := b.(backend.TTLReader); ok {
		mustSet(t, a, "raw::ttl", []byte("x"), time.Minute)
		mustSet(t, a, "raw::ttl::never", []byte("x"), backend.NoExpiry)
		if left, found, err := tr.TTL(ctx, "raw::ttl"); err != nil || !found || left <= 50*time.Second || left > time.Minute {
			t.Fatalf("TTL = %v, %v, %v; want about a minute", left, found, err)
		}
		if left, found, err := tr.TTL(ctx, "raw::ttl::never"); err != nil || !found || left != backend.NoExpiry {
			t.Fatalf("TTL of a forever entry = %v, %v, %v; want NoExpiry", left, found, err)
		}
		if _, found, err := tr.TTL(ctx, "raw::ttl::absent"); err != nil || found {
			t.Fatalf("TTL of an absent key: found=%v, %v", found, err)
		}
	}
	mustSet(t, a, "raw::clear", []byte("x"), time.Minute)
	if err := a.Clear(ctx); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	wantMiss(t, b, "raw::clear")
}

// testRawSortedKeys checks a backend.SortedKeyLister against the order
// and the cursor rules users page by: byte order (not locale or length
// order), only keys under the prefix, strictly after the cursor, a stop
// when fn says so, and no deleted key.
func (s *suite) testRawSortedKeys(t *testing.T) {
	a, b := s.open(t)
	sl, ok := b.(backend.SortedKeyLister)
	if !ok {
		return // nothing to check: the backend lists in no order
	}
	ctx := ctxFor(t)
	const prefix = "raw::sorted::"
	want := []string{prefix, prefix + "0", prefix + "A", prefix + "a", prefix + "a:", prefix + "a::b",
		prefix + "a::b::c", prefix + "b", prefix + "~", prefix + "é", prefix + "日本"}
	for i := range 40 { // more than a small batch, in an order that is not the writes'
		want = append(want, fmt.Sprintf("%sn::%02d", prefix, (i*7)%40))
	}
	for _, k := range append(want, "raw::sorte", "raw::sortedx", "raw::sorted:") {
		mustSet(t, a, k, []byte("x"), time.Minute)
	}
	mustSet(t, a, prefix+"gone", []byte("x"), time.Minute)
	if _, err := a.Delete(ctx, prefix+"gone"); err != nil {
		t.Fatalf("Delete: %v", err)
	}
	slices.Sort(want)
	list := func(prefix, after string, stop int) []string {
		t.Helper()
		var got []string
		complete, err := sl.ScanKeysAfter(ctx, prefix, after, func(k string) bool {
			got = append(got, k)
			return len(got) != stop
		})
		if err != nil || !complete {
			t.Fatalf("ScanKeysAfter(%q, %q) = %v, %v; want complete", prefix, after, complete, err)
		}
		return got
	}
	if d := cmp.Diff(want, list(prefix, "", 0)); d != "" {
		t.Fatalf("ScanKeysAfter(%q, \"\"): every key under the prefix in byte order (-want +got):\n%s", prefix, d)
	}
	for _, i := range []int{0, 1, 5, 17, len(want) - 2, len(want) - 1} {
		if d := cmp.Diff(want[i+1:], list(prefix, want[i], 0), cmpopts.EquateEmpty()); d != "" {
			t.Fatalf("ScanKeysAfter after %q: the keys after it (-want +got):\n%s", want[i], d)
		}
	}
	between := prefix + "a::a" // not a key: the keys after it start at a::b
	i, _ := slices.BinarySearch(want, between)
	if d := cmp.Diff(want[i:], list(prefix, between, 0)); d != "" {
		t.Fatalf("ScanKeysAfter after %q (-want +got):\n%s", between, d)
	}
	if d := cmp.Diff(want, list(prefix, "raw::", 0)); d != "" {
		t.Fatalf("ScanKeysAfter after a cursor before the prefix (-want +got):\n%s", d)
	}
	if got := list(prefix, prefix+"\xff", 0); len(got) != 0 {
		t.Fatalf("ScanKeysAfter after every key under the prefix = %q, want none", got)
	}
	if d := cmp.Diff(want[:3], list(prefix, "", 3)); d != "" {
		t.Fatalf("ScanKeysAfter stopped after 3 (-want +got):\n%s", d)
	}
	if d := cmp.Diff(want[5:8], list(prefix, want[4], 3)); d != "" {
		t.Fatalf("ScanKeysAfter from a cursor, stopped after 3 (-want +got):\n%s", d)
	}
}
