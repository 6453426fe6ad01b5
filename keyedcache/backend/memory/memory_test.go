package memory_test

import (
	"context"
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/memory"
)

func newStore(t testing.TB, opts memory.Options) *memory.Store {
	t.Helper()
	s, err := memory.New(opts)
	if err != nil {
		t.Fatalf("New(%+v): %v", opts, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// get returns the value under key as a string and whether it was found.
func get(t *testing.T, s *memory.Store, key string) (string, bool) {
	t.Helper()
	v, ok, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return string(v), ok
}

func set(t *testing.T, s *memory.Store, key, value string, ttl time.Duration) {
	t.Helper()
	if err := s.Set(context.Background(), key, []byte(value), ttl); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

// keys returns the live keys under prefix, sorted.
func keys(t *testing.T, s *memory.Store, prefix string) []string {
	t.Helper()
	var ks []string
	complete, err := s.ScanKeys(context.Background(), prefix, func(k string) bool {
		ks = append(ks, k)
		return true
	})
	if err != nil || !complete {
		t.Fatalf("ScanKeys(%q) = %v, %v; want true, nil", prefix, complete, err)
	}
	slices.Sort(ks)
	return ks
}

type found struct {
	Value string
	Found bool
}

func lookup(t *testing.T, s *memory.Store, key string) found {
	t.Helper()
	v, ok := get(t, s, key)
	return found{v, ok}
}

func TestGetSetDelete(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, memory.Options{})

	if diff := cmp.Diff(found{}, lookup(t, s, "a::1")); diff != "" {
		t.Errorf("Get of a missing key (-want +got):\n%s", diff)
	}
	set(t, s, "a::1", "one", backend.NoExpiry)
	set(t, s, "a::2", "", backend.NoExpiry)
	if diff := cmp.Diff(found{"one", true}, lookup(t, s, "a::1")); diff != "" {
		t.Errorf("Get after Set (-want +got):\n%s", diff)
	}
	v, ok, err := s.Get(ctx, "a::2")
	if err != nil || !ok {
		t.Errorf("Get of an empty value = %q, %v, %v; want found", v, ok, err)
	}
	if diff := cmp.Diff([]byte{}, v); diff != "" {
		t.Errorf("Get of an empty value: not a non-nil empty slice (-want +got):\n%s", diff)
	}
	set(t, s, "a::1", "uno", backend.NoExpiry)
	if diff := cmp.Diff(found{"uno", true}, lookup(t, s, "a::1")); diff != "" {
		t.Errorf("Get after a second Set (-want +got):\n%s", diff)
	}

	for _, want := range []bool{true, false} {
		existed, err := s.Delete(ctx, "a::1")
		if err != nil || existed != want {
			t.Errorf("Delete = %v, %v; want %v, nil", existed, err, want)
		}
	}
	if diff := cmp.Diff(found{}, lookup(t, s, "a::1")); diff != "" {
		t.Errorf("Get after Delete (-want +got):\n%s", diff)
	}
}

func TestValuesAreCopied(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, memory.Options{})
	in := []byte("abc")
	if err := s.Set(ctx, "k", in, backend.NoExpiry); err != nil {
		t.Fatal(err)
	}
	in[0] = 'X'
	out, _, _ := s.Get(ctx, "k")
	out[1] = 'Y'
	if diff := cmp.Diff(found{"abc", true}, lookup(t, s, "k")); diff != "" {
		t.Errorf("the caller's slices changed the stored value (-want +got):\n%s", diff)
	}

	many := map[string][]byte{"m": []byte("mm")}
	if err := s.SetMany(ctx, many, backend.NoExpiry); err != nil {
		t.Fatal(err)
	}
	many["m"][0] = 'X'
	got, err := s.GetMany(ctx, []string{"m"})
	if err != nil {
		t.Fatal(err)
	}
	got["m"][1] = 'Y'
	if diff := cmp.Diff(found{"mm", true}, lookup(t, s, "m")); diff != "" {
		t.Errorf("SetMany/GetMany slices changed the stored value (-want +got):\n%s", diff)
	}

	if _, err := s.Add(ctx, "a", in, backend.NoExpiry); err != nil {
		t.Fatal(err)
	}
	in[0] = 'Z'
	if _, err := s.CompareAndSwap(ctx, "a", []byte("Xbc"), in, backend.NoExpiry); err != nil {
		t.Fatal(err)
	}
	in[0] = 'W'
	if diff := cmp.Diff(found{"Zbc", true}, lookup(t, s, "a")); diff != "" {
		t.Errorf("Add/CompareAndSwap kept the caller's slice (-want +got):\n%s", diff)
	}
}

func TestExpiry(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, memory.Options{})
	set(t, s, "short", "v", 30*time.Millisecond)
	set(t, s, "long", "v", time.Hour)
	set(t, s, "never", "v", backend.NoExpiry)

	if diff := cmp.Diff(found{"v", true}, lookup(t, s, "short")); diff != "" {
		t.Errorf("Get before the deadline (-want +got):\n%s", diff)
	}
	time.Sleep(60 * time.Millisecond)
	if diff := cmp.Diff(found{}, lookup(t, s, "short")); diff != "" {
		t.Errorf("Get after a 30ms ttl ran out (-want +got):\n%s", diff)
	}
	if _, ok, _ := s.TTL(ctx, "short"); ok {
		t.Errorf("TTL found the expired entry")
	}
	if existed, _ := s.Delete(ctx, "short"); existed {
		t.Errorf("Delete reported the expired entry as live")
	}

	ttl, ok, err := s.TTL(ctx, "long")
	if err != nil || !ok || ttl <= time.Hour-time.Minute || ttl > time.Hour {
		t.Errorf("TTL(long) = %v, %v, %v; want just under 1h, true, nil", ttl, ok, err)
	}
	ttl, ok, err = s.TTL(ctx, "never")
	if diff := cmp.Diff([]any{backend.NoExpiry, true}, []any{ttl, ok}); diff != "" || err != nil {
		t.Errorf("TTL(never) (-want +got):\n%s (err %v)", diff, err)
	}
	if _, ok, _ := s.TTL(ctx, "missing"); ok {
		t.Errorf("TTL found a missing key")
	}
}

func TestAdd(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, memory.Options{})
	for i, want := range []bool{true, false} {
		added, err := s.Add(ctx, "k", []byte{'a' + byte(i)}, 40*time.Millisecond)
		if err != nil || added != want {
			t.Errorf("Add #%d = %v, %v; want %v, nil", i+1, added, err, want)
		}
	}
	if diff := cmp.Diff(found{"a", true}, lookup(t, s, "k")); diff != "" {
		t.Errorf("a failed Add changed the value (-want +got):\n%s", diff)
	}
	time.Sleep(80 * time.Millisecond)
	added, err := s.Add(ctx, "k", []byte("c"), backend.NoExpiry)
	if err != nil || !added {
		t.Errorf("Add over an expired entry = %v, %v; want true, nil", added, err)
	}
	if diff := cmp.Diff(found{"c", true}, lookup(t, s, "k")); diff != "" {
		t.Errorf("Get after Add over an expired entry (-want +got):\n%s", diff)
	}
}

func TestIncr(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, memory.Options{})
	if _, err := s.Incr(ctx, "n", 1); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Incr of a missing key: err = %v, want ErrNotFound", err)
	}
	set(t, s, "n", "41", backend.NoExpiry)
	for _, step := range []struct{ delta, want int64 }{{1, 42}, {-50, -8}, {0, -8}, {10, 2}} {
		got, err := s.Incr(ctx, "n", step.delta)
		if err != nil || got != step.want {
			t.Errorf("Incr(%d) = %d, %v; want %d, nil", step.delta, got, err, step.want)
		}
	}
	if diff := cmp.Diff(found{"2", true}, lookup(t, s, "n")); diff != "" {
		t.Errorf("the value after Incr is not its decimal form (-want +got):\n%s", diff)
	}
	if ttl, _, _ := s.TTL(ctx, "n"); ttl != backend.NoExpiry {
		t.Errorf("Incr gave an entry with no expiry a ttl of %v", ttl)
	}

	for _, v := range []string{"x", "", "1.5", " 1", "0x10", "99999999999999999999"} {
		set(t, s, "bad", v, backend.NoExpiry)
		if _, err := s.Incr(ctx, "bad", 1); !errors.Is(err, backend.ErrNotNumeric) {
			t.Errorf("Incr of %q: err = %v, want ErrNotNumeric", v, err)
		}
		if diff := cmp.Diff(found{v, true}, lookup(t, s, "bad")); diff != "" {
			t.Errorf("a failed Incr changed %q (-want +got):\n%s", v, diff)
		}
	}

	set(t, s, "big", "9223372036854775806", backend.NoExpiry)
	if got, err := s.Incr(ctx, "big", 1); err != nil || got != 1<<63-1 {
		t.Errorf("Incr to MaxInt64 = %d, %v", got, err)
	}
	if _, err := s.Incr(ctx, "big", 1); !errors.Is(err, memory.ErrOverflow) {
		t.Errorf("Incr past MaxInt64: err = %v, want ErrOverflow", err)
	}
	set(t, s, "small", "-9223372036854775808", backend.NoExpiry)
	if _, err := s.Incr(ctx, "small", -1); !errors.Is(err, memory.ErrOverflow) {
		t.Errorf("Incr past MinInt64: err = %v, want ErrOverflow", err)
	}
}

// TestIncrKeepsDeadline fails if Incr restarts the entry's ttl.
func TestIncrKeepsDeadline(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, memory.Options{})
	set(t, s, "n", "1", 150*time.Millisecond)
	time.Sleep(100 * time.Millisecond)
	if _, err := s.Incr(ctx, "n", 1); err != nil {
		t.Fatal(err)
	}
	if ttl, ok, _ := s.TTL(ctx, "n"); !ok || ttl > 60*time.Millisecond {
		t.Errorf("TTL after Incr = %v, %v; want at most the 50ms left", ttl, ok)
	}
	time.Sleep(100 * time.Millisecond)
	if diff := cmp.Diff(found{}, lookup(t, s, "n")); diff != "" {
		t.Errorf("the entry outlived its deadline after Incr (-want +got):\n%s", diff)
	}
}

func TestTouch(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, memory.Options{})
	if err := s.Touch(ctx, "k", time.Hour); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Touch of a missing key: err = %v, want ErrNotFound", err)
	}

	set(t, s, "k", "v", 50*time.Millisecond)
	if err := s.Touch(ctx, "k", time.Hour); err != nil {
		t.Fatal(err)
	}
	time.Sleep(100 * time.Millisecond)
	if diff := cmp.Diff(found{"v", true}, lookup(t, s, "k")); diff != "" {
		t.Errorf("Touch did not extend the entry (-want +got):\n%s", diff)
	}

	if err := s.Touch(ctx, "k", 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if ttl, ok, _ := s.TTL(ctx, "k"); !ok || ttl > 30*time.Millisecond {
		t.Errorf("TTL after Touch(30ms) = %v, %v", ttl, ok)
	}
	time.Sleep(60 * time.Millisecond)
	if diff := cmp.Diff(found{}, lookup(t, s, "k")); diff != "" {
		t.Errorf("Touch did not shorten the entry (-want +got):\n%s", diff)
	}
	if err := s.Touch(ctx, "k", time.Hour); !errors.Is(err, backend.ErrNotFound) {
		t.Errorf("Touch of an expired key: err = %v, want ErrNotFound", err)
	}

	set(t, s, "k", "v", time.Minute)
	if err := s.Touch(ctx, "k", backend.NoExpiry); err != nil {
		t.Fatal(err)
	}
	if ttl, _, _ := s.TTL(ctx, "k"); ttl != backend.NoExpiry {
		t.Errorf("TTL after Touch(NoExpiry) = %v, want NoExpiry", ttl)
	}
}

func TestCompareAndSwap(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, memory.Options{})
	cas := func(key, old, value string, ttl time.Duration) bool {
		t.Helper()
		ok, err := s.CompareAndSwap(ctx, key, []byte(old), []byte(value), ttl)
		if err != nil {
			t.Fatalf("CompareAndSwap: %v", err)
		}
		return ok
	}
	if cas("k", "", "v", backend.NoExpiry) {
		t.Errorf("CompareAndSwap stored under a missing key")
	}
	if diff := cmp.Diff(found{}, lookup(t, s, "k")); diff != "" {
		t.Errorf("after CompareAndSwap of a missing key (-want +got):\n%s", diff)
	}
	set(t, s, "k", "v1", backend.NoExpiry)
	if cas("k", "v0", "v2", backend.NoExpiry) {
		t.Errorf("CompareAndSwap with a stale old value swapped")
	}
	if diff := cmp.Diff(found{"v1", true}, lookup(t, s, "k")); diff != "" {
		t.Errorf("a failed CompareAndSwap changed the value (-want +got):\n%s", diff)
	}
	if !cas("k", "v1", "v2", 40*time.Millisecond) {
		t.Errorf("CompareAndSwap with the current value did not swap")
	}
	if diff := cmp.Diff(found{"v2", true}, lookup(t, s, "k")); diff != "" {
		t.Errorf("after CompareAndSwap (-want +got):\n%s", diff)
	}
	time.Sleep(80 * time.Millisecond)
	if diff := cmp.Diff(found{}, lookup(t, s, "k")); diff != "" {
		t.Errorf("CompareAndSwap did not apply its ttl (-want +got):\n%s", diff)
	}
	if cas("k", "v2", "v3", backend.NoExpiry) {
		t.Errorf("CompareAndSwap matched an expired entry")
	}
}

func TestMulti(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, memory.Options{})
	items := map[string][]byte{"a": []byte("1"), "b": []byte("2"), "c": []byte("3")}
	if err := s.SetMany(ctx, items, backend.NoExpiry); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetMany(ctx, []string{"a", "c", "z"})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(map[string][]byte{"a": []byte("1"), "c": []byte("3")}, got); diff != "" {
		t.Errorf("GetMany (-want +got):\n%s", diff)
	}
	n, err := s.DeleteMany(ctx, []string{"a", "b", "z"})
	if err != nil || n != 2 {
		t.Errorf("DeleteMany = %d, %v; want 2, nil", n, err)
	}
	if diff := cmp.Diff([]string{"c"}, keys(t, s, "")); diff != "" {
		t.Errorf("keys after DeleteMany (-want +got):\n%s", diff)
	}
}

func TestClear(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, memory.Options{})
	for _, k := range []string{"a", "a::b", "c::d::e"} {
		set(t, s, k, "v", backend.NoExpiry)
	}
	if err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string(nil), keys(t, s, "")); diff != "" {
		t.Errorf("keys after Clear (-want +got):\n%s", diff)
	}
	if n, _ := s.DeletePrefix(ctx, "c::"); n != 0 {
		t.Errorf("DeletePrefix after Clear removed %d entries", n)
	}
	set(t, s, "a", "v", backend.NoExpiry)
	if diff := cmp.Diff(found{"v", true}, lookup(t, s, "a")); diff != "" {
		t.Errorf("Set after Clear (-want +got):\n%s", diff)
	}
}

func TestNegativeTTLExpiresAtOnce(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, memory.Options{})
	set(t, s, "k", "v", backend.NoExpiry)
	set(t, s, "k", "w", -time.Second)
	if diff := cmp.Diff(found{}, lookup(t, s, "k")); diff != "" {
		t.Errorf("Set with a negative ttl (-want +got):\n%s", diff)
	}
	set(t, s, "k", "v", backend.NoExpiry)
	if err := s.Touch(ctx, "k", -time.Second); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(found{}, lookup(t, s, "k")); diff != "" {
		t.Errorf("Touch with a negative ttl (-want +got):\n%s", diff)
	}
}

func TestClosed(t *testing.T) {
	ctx := context.Background()
	s, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	set(t, s, "k", "v", backend.NoExpiry)
	if err := s.Ping(ctx); err != nil {
		t.Errorf("Ping of an open store: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	calls := map[string]error{
		"Ping":  s.Ping(ctx),
		"Set":   s.Set(ctx, "k", nil, 0),
		"Clear": s.Clear(ctx),
		"Touch": s.Touch(ctx, "k", 0),
	}
	_, _, calls["Get"] = s.Get(ctx, "k")
	_, calls["Add"] = s.Add(ctx, "k", nil, 0)
	_, calls["Delete"] = s.Delete(ctx, "k")
	_, calls["Incr"] = s.Incr(ctx, "k", 1)
	_, calls["CompareAndSwap"] = s.CompareAndSwap(ctx, "k", nil, nil, 0)
	_, calls["DeletePrefix"] = s.DeletePrefix(ctx, "k::")
	_, calls["ScanKeys"] = s.ScanKeys(ctx, "", func(string) bool { return true })
	_, _, calls["TTL"] = s.TTL(ctx, "k")
	_, calls["BackendStats"] = s.BackendStats(ctx)
	_, calls["GetMany"] = s.GetMany(ctx, []string{"k"})
	calls["SetMany"] = s.SetMany(ctx, map[string][]byte{"k": nil}, 0)
	_, calls["DeleteMany"] = s.DeleteMany(ctx, []string{"k"})
	for name, err := range calls {
		if !errors.Is(err, memory.ErrClosed) {
			t.Errorf("%s after Close: err = %v, want ErrClosed", name, err)
		}
	}
	if _, _, ok := s.GetObject("k"); ok {
		t.Errorf("GetObject after Close found the key")
	}
}
