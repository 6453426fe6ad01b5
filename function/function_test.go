package function_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/function"
	"keyedcache.dev/keyedcache"
)

var squareCalls atomic.Int64

// square is a named function, cached under its own name.
func square(ctx context.Context, n int) (int, error) {
	squareCalls.Add(1)
	return n * n, nil
}

// TestParity checks the behaviour django-keyedcache's cache_function
// had: a second call within the TTL does not run the function and
// returns the same result; after the TTL it runs again; after
// CacheDeleteFunction it runs again.
func TestParity(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, c, _ *keyedcache.Cache) {
		withGrowingTTL(t, 100*time.Millisecond, func(ttl time.Duration) bool {
			function.CacheDeleteFunction(ctx, square, function.WithCache(c))
			f := function.CacheFunction(square, function.WithCache(c), function.WithTTL(ttl))
			start := squareCalls.Load()
			calls := func() int64 { return squareCalls.Load() - start }

			t0 := time.Now()
			for i, want := range []int64{1, 1} {
				got, err := f(ctx, 12)
				if err != nil || got != 144 {
					t.Fatalf("call %d: got %d, %v; want 144", i+1, got, err)
				}
				if time.Since(t0) >= ttl {
					return false // the machine was too slow for this TTL
				}
				if calls() != want {
					t.Fatalf("after call %d the function ran %d times, want %d", i+1, calls(), want)
				}
			}
			time.Sleep(ttl + 50*time.Millisecond) // past the TTL
			t1 := time.Now()
			if got, err := f(ctx, 12); err != nil || got != 144 {
				t.Fatalf("after the TTL: got %d, %v", got, err)
			}
			if calls() != 2 {
				t.Fatalf("after the TTL the function ran %d times in all, want 2", calls())
			}
			f(ctx, 12)
			if time.Since(t1) >= ttl {
				return false
			}
			if calls() != 2 {
				t.Fatalf("within the new TTL: ran %d times; want 2", calls())
			}
			if err := function.CacheDeleteFunction(ctx, square, function.WithCache(c)); err != nil {
				t.Fatal(err)
			}
			if got, err := f(ctx, 12); err != nil || got != 144 || calls() != 3 {
				t.Fatalf("after CacheDeleteFunction: got %d, %v, ran %d times; want 144 and 3", got, err, calls())
			}
			return true
		})
	})
}

// withGrowingTTL runs a test that needs some steps to happen within a TTL
// with that TTL, and again with 4 times the TTL (up to three times) when
// run reports that a loaded machine took longer than the TTL, so that the
// test asserts only what the TTL promises and never skips.
func withGrowingTTL(t *testing.T, ttl time.Duration, run func(ttl time.Duration) bool) {
	t.Helper()
	for range 3 {
		if run(ttl) {
			return
		}
		t.Logf("the steps took longer than the TTL %v: again with %v", ttl, 4*ttl)
		ttl *= 4
	}
	t.Fatal("the machine was too slow for every TTL tried")
}

func TestKeyAndName(t *testing.T) {
	c := openCache(t, "memory://?key_prefix=site1")
	f := function.New(square, function.WithCache(c))
	if got, want := f.Name(), "keyedcache.dev/function_test.square"; got != want {
		t.Errorf("Name() = %q, want %q", got, want)
	}
	if got, want := f.Key(7), "site1::func::keyedcache.dev/function_test.square::7"; got != want {
		t.Errorf("Key(7) = %q, want %q", got, want)
	}
	if got, want := f.Key(7), c.Key("func", f.Name(), 7); got != want {
		t.Errorf("Key(7) = %q, but the cache's key rules give %q", got, want)
	}
	named := function.New(square, function.WithCache(c), function.WithName("sq"))
	if got, want := named.Key(-1), "site1::func::sq::-1"; got != want {
		t.Errorf("with WithName: Key(-1) = %q, want %q", got, want)
	}
	// The result is stored under exactly that key.
	ctx := context.Background()
	if _, err := named.Call(ctx, 3); err != nil {
		t.Fatal(err)
	}
	if !c.IsCached(ctx, named.Key(3)) {
		t.Errorf("nothing cached under %q", named.Key(3))
	}
}

func TestClosuresNeedAName(t *testing.T) {
	c := openCache(t, "memory://")
	mustPanic := func(what string, wrap func()) {
		t.Helper()
		defer func() {
			r := recover()
			if r == nil {
				t.Fatalf("%s: no panic", what)
			}
			if msg, _ := r.(string); !strings.Contains(msg, "WithName") {
				t.Fatalf("%s: panic %v does not say to use WithName", what, r)
			}
		}()
		wrap()
	}
	factor := 3
	closure := func(ctx context.Context, n int) (int, error) { return n * factor, nil }
	mustPanic("closure", func() { function.New(closure, function.WithCache(c)) })
	var r receiver
	mustPanic("method value", func() { function.New(r.double, function.WithCache(c)) })
	mustPanic("generic function", func() { function.New(identity[int], function.WithCache(c)) })
	defer func() {
		if r := recover(); r == nil {
			t.Fatal("nil function: no panic")
		}
	}()
	function.New[int, int](nil)
}

func TestClosureWithName(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	factor := 3
	f := function.CacheFunction(func(ctx context.Context, n int) (int, error) { return n * factor, nil },
		function.WithCache(c), function.WithName("triple"))
	if got, err := f(ctx, 5); err != nil || got != 15 {
		t.Fatalf("got %d, %v; want 15", got, err)
	}
	if !c.IsCached(ctx, "func", "triple", 5) {
		t.Error("the result is not cached under func::triple::5")
	}
	// A method value with a name is cached under it.
	m := function.New(receiver{base: 10}.add, function.WithCache(c), function.WithName("add10"))
	if got, err := m.Call(ctx, 5); err != nil || got != 15 {
		t.Fatalf("method value: got %d, %v; want 15", got, err)
	}
}

type receiver struct{ base int }

func (r receiver) double(ctx context.Context, n int) (int, error) { return 2 * n, nil }
func (r receiver) add(ctx context.Context, n int) (int, error)    { return r.base + n, nil }

func identity[T any](ctx context.Context, v T) (T, error) { return v, nil }

// TestArities checks the forms for no argument and for two and three,
// and the struct argument for more.
func TestArities(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	var n atomic.Int64
	count := func() { n.Add(1) }

	f0 := function.New0(func(ctx context.Context) (string, error) { count(); return "zero", nil },
		function.WithCache(c), function.WithName("f0"))
	f2 := function.New2(func(ctx context.Context, a string, b int) (string, error) {
		count()
		return strings.Repeat(a, b), nil
	}, function.WithCache(c), function.WithName("f2"))
	f3 := function.New3(func(ctx context.Context, a, b, c int) (int, error) { count(); return a*100 + b*10 + c, nil },
		function.WithCache(c), function.WithName("f3"))
	type query struct {
		City  string
		Stars int
		Open  bool
		Tags  []string
	}
	fs := function.New(func(ctx context.Context, q query) (string, error) {
		count()
		return q.City + "/" + strings.Join(q.Tags, ","), nil
	}, function.WithCache(c), function.WithName("fs"))

	for round := range 2 {
		if v, err := f0.Call(ctx); err != nil || v != "zero" {
			t.Fatalf("f0: %q, %v", v, err)
		}
		if v, err := f2.Call(ctx, "ab", 3); err != nil || v != "ababab" {
			t.Fatalf("f2: %q, %v", v, err)
		}
		if v, err := f2.Call(ctx, "ab", 2); err != nil || v != "abab" {
			t.Fatalf("f2: %q, %v", v, err)
		}
		if v, err := f3.Call(ctx, 1, 2, 3); err != nil || v != 123 {
			t.Fatalf("f3: %d, %v", v, err)
		}
		if v, err := fs.Call(ctx, query{City: "Paris", Stars: 2, Tags: []string{"a", "b"}}); err != nil || v != "Paris/a,b" {
			t.Fatalf("struct: %q, %v", v, err)
		}
		if v, err := fs.Call(ctx, query{City: "Paris", Stars: 3, Tags: []string{"a", "b"}}); err != nil || v != "Paris/a,b" {
			t.Fatalf("struct: %q, %v", v, err)
		}
		if got := n.Load(); got != 6 {
			t.Fatalf("round %d: %d computations, want 6 (each distinct call once)", round, got)
		}
	}
	if got, want := f0.Key(), "func::f0"; got != want {
		t.Errorf("f0.Key() = %q, want %q", got, want)
	}
	if got, want := f3.Key(1, 2, 3), "func::f3::1::2::3"; got != want {
		t.Errorf("f3.Key = %q, want %q", got, want)
	}
	if k := fs.Key(query{City: "Paris"}); !strings.HasPrefix(k, "func::fs::%h") {
		t.Errorf("a struct argument is keyed %q, want a hash", k)
	}
}

func TestWithKey(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	type user struct {
		ID   int
		Name string
	}
	var n atomic.Int64
	// The locale does not change the result: leave it out of the key,
	// and key the user by its ID.
	f := function.New2(func(ctx context.Context, u user, locale string) (string, error) {
		n.Add(1)
		return u.Name, nil
	}, function.WithCache(c), function.WithName("greet"), function.WithKey(func(args []any) []any {
		return []any{"user", args[0].(user).ID}
	}))
	if got, want := f.Key(user{ID: 4}, "fr"), "func::greet::user::4"; got != want {
		t.Fatalf("Key = %q, want %q", got, want)
	}
	for _, locale := range []string{"fr", "de"} {
		if v, err := f.Call(ctx, user{ID: 4, Name: "Ann"}, locale); err != nil || v != "Ann" {
			t.Fatalf("got %q, %v", v, err)
		}
	}
	if n.Load() != 1 {
		t.Fatalf("computed %d times, want once", n.Load())
	}
}

func TestTTLOptions(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://?timeout=0.1") // the alias's TTL: 100 ms
	var cnt counted
	byAlias := function.New(cnt.fn, function.WithCache(c), function.WithName(uniqueName(t)))
	forever := function.New(cnt.fn, function.WithCache(c), function.WithName(uniqueName(t)), function.WithTTL(keyedcache.Forever))
	never := function.New(cnt.fn, function.WithCache(c), function.WithName(uniqueName(t)), function.WithTTL(0))

	byAlias.Call(ctx, 1)
	forever.Call(ctx, 1)
	never.Call(ctx, 1)
	never.Call(ctx, 1)
	if got := cnt.calls(); got != 4 {
		t.Fatalf("%d computations, want 4 (TTL 0 stores nothing)", got)
	}
	time.Sleep(150 * time.Millisecond) // past the alias's timeout
	byAlias.Call(ctx, 1)
	forever.Call(ctx, 1)
	if got := cnt.calls(); got != 5 {
		t.Fatalf("%d computations, want 5: the alias's timeout expires, Forever does not", got)
	}
	if _, err := never.Peek(ctx, 1); !errors.Is(err, keyedcache.ErrNotCached) {
		t.Fatalf("TTL 0 cached something: %v", err)
	}
}

func TestWithAlias(t *testing.T) {
	ctx := context.Background()
	reg := keyedcache.DefaultRegistry()
	alias := "function-test-" + uniqueName(t)
	if _, err := reg.Register(alias, "memory://"); err != nil {
		t.Fatal(err)
	}
	c, err := keyedcache.Lookup(alias)
	if err != nil {
		t.Fatal(err)
	}
	var cnt counted
	f := function.New(cnt.fn, function.WithAlias(alias), function.WithName(uniqueName(t)))
	f.Call(ctx, 1)
	f.Call(ctx, 1)
	if cnt.calls() != 1 {
		t.Fatalf("computed %d times, want once", cnt.calls())
	}
	if !c.IsCached(ctx, f.Key(1)) {
		t.Fatal("the result is not in the alias's cache")
	}
	// An unknown alias: the function is simply called, and the failure counted.
	g := function.New(cnt.fn, function.WithAlias("no-such-alias"), function.WithName(uniqueName(t)))
	if v, err := g.Call(ctx, 2); err != nil || v == "" {
		t.Fatalf("unknown alias: got %q, %v; want the function's result", v, err)
	}
	if s := g.Stats(); s.Errors != 1 || s.Computations != 1 {
		t.Fatalf("unknown alias: stats %+v, want 1 error and 1 computation", s)
	}
}

// TestHelpers checks the per-argument helpers: Peek, Set, Delete and
// Refresh.
func TestHelpers(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, c, _ *keyedcache.Cache) {
		var cnt counted
		f := function.New(cnt.fn, function.WithCache(c), function.WithName(uniqueName(t)))

		_, err := f.Peek(ctx, 1)
		mustNotCached(t, err)
		var miss *keyedcache.NotCachedError
		if errors.As(err, &miss) && miss.Key != f.Key(1) {
			t.Errorf("Peek's miss carries key %q, want %q", miss.Key, f.Key(1))
		}
		if cnt.calls() != 0 {
			t.Fatal("Peek computed")
		}

		v1, _ := f.Call(ctx, 1)
		if got, err := f.Peek(ctx, 1); err != nil || got != v1 {
			t.Fatalf("Peek after Call = %q, %v; want %q", got, err, v1)
		}

		if err := f.Set(ctx, 1, "set by hand"); err != nil {
			t.Fatal(err)
		}
		if got, err := f.Call(ctx, 1); err != nil || got != "set by hand" {
			t.Fatalf("Call after Set = %q, %v", got, err)
		}

		v2, err := f.Refresh(ctx, 1)
		if err != nil || v2 != "result 2 of 1" {
			t.Fatalf("Refresh = %q, %v; want a new computation", v2, err)
		}
		if got, _ := f.Call(ctx, 1); got != v2 {
			t.Fatalf("Call after Refresh = %q, want the refreshed %q", got, v2)
		}

		f.Call(ctx, 2)
		if err := f.Delete(ctx, 1); err != nil {
			t.Fatal(err)
		}
		_, err = f.Peek(ctx, 1)
		mustNotCached(t, err)
		if _, err := f.Peek(ctx, 2); err != nil {
			t.Fatalf("Delete(1) removed the result for 2: %v", err)
		}
		if got, _ := f.Call(ctx, 1); got != "result 4 of 1" {
			t.Fatalf("Call after Delete = %q, want a new computation", got)
		}
		if err := f.DeleteAll(ctx); err != nil {
			t.Fatal(err)
		}
		for _, a := range []int{1, 2} {
			_, err := f.Peek(ctx, a)
			mustNotCached(t, err)
		}
		if cnt.calls() != 4 {
			t.Fatalf("%d computations, want 4", cnt.calls())
		}
	})
}

// TestRefreshKeepsServing checks that callers get the old result while a
// Refresh computes.
func TestRefreshKeepsServing(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	g := newGated()
	f := function.New(g.fn, function.WithCache(c), function.WithName(uniqueName(t)))
	go func() { g.release <- struct{}{} }()
	old, _ := f.Call(ctx, 1)
	waitStarted(t, g)
	done := make(chan string)
	go func() {
		v, _ := f.Refresh(ctx, 1)
		done <- v
	}()
	waitStarted(t, g)
	if got, err := f.Call(ctx, 1); err != nil || got != old {
		t.Fatalf("during Refresh: %q, %v; want the old %q", got, err, old)
	}
	g.release <- struct{}{}
	fresh := <-done
	if got, _ := f.Call(ctx, 1); got != fresh || fresh == old {
		t.Fatalf("after Refresh: %q; want the refreshed %q (old %q)", got, fresh, old)
	}
}

func TestErrorsNotCachedByDefault(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	boom := errors.New("upstream down")
	var n atomic.Int64
	f := function.New(func(ctx context.Context, id int) (int, error) {
		n.Add(1)
		return 0, boom
	}, function.WithCache(c), function.WithName(uniqueName(t)))
	for range 3 {
		if _, err := f.Call(ctx, 1); !errors.Is(err, boom) {
			t.Fatalf("got %v, want the function's own error", err)
		}
	}
	if n.Load() != 3 {
		t.Fatalf("computed %d times, want 3: errors are not cached", n.Load())
	}
	_, err := f.Peek(ctx, 1)
	mustNotCached(t, err)
	if s := f.Stats(); s.FuncErrors != 3 {
		t.Fatalf("FuncErrors = %d, want 3", s.FuncErrors)
	}
}

func TestErrorTTL(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, c, other *keyedcache.Cache) {
		withGrowingTTL(t, 100*time.Millisecond, func(errTTL time.Duration) bool {
			boom := errors.New("upstream down")
			var n atomic.Int64
			fn := func(ctx context.Context, id int) (int, error) {
				if n.Add(1) == 1 {
					return 0, boom
				}
				return id * 10, nil
			}
			name := uniqueName(t)
			f := function.New(fn, function.WithCache(c), function.WithName(name), function.WithErrorTTL(errTTL))
			t0 := time.Now()
			if _, err := f.Call(ctx, 1); !errors.Is(err, boom) {
				t.Fatalf("first call: %v, want the original error", err)
			}
			// Another process (a second Cache on the store) gets the cached error.
			g := function.New(fn, function.WithCache(other), function.WithName(name), function.WithErrorTTL(errTTL))
			_, err := g.Call(ctx, 1)
			if time.Since(t0) >= errTTL {
				return false
			}
			var ce *function.CachedError
			if !errors.As(err, &ce) || ce.Msg != boom.Error() || ce.Key != f.Key(1) || ce.Func != name {
				t.Fatalf("within the error TTL: %#v, want a CachedError of %q", err, boom)
			}
			if n.Load() != 1 {
				t.Fatalf("computed %d times within the error TTL, want once", n.Load())
			}
			time.Sleep(errTTL + 50*time.Millisecond)
			if v, err := g.Call(ctx, 1); err != nil || v != 10 {
				t.Fatalf("after the error TTL: %d, %v; want 10", v, err)
			}
			return true
		})
	})
}

func TestContextErrorsNeverCached(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	var n atomic.Int64
	f := function.New(func(ctx context.Context, id int) (int, error) {
		if n.Add(1) == 1 {
			return 0, context.DeadlineExceeded
		}
		return 1, nil
	}, function.WithCache(c), function.WithName(uniqueName(t)), function.WithErrorTTL(time.Hour))
	f.Call(ctx, 1)
	if v, err := f.Call(ctx, 1); err != nil || v != 1 {
		t.Fatalf("got %d, %v: a deadline error was cached", v, err)
	}
}

// TestDisabled checks that a disabled cache simply calls the function.
func TestDisabled(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	var cnt counted
	f := function.New(cnt.fn, function.WithCache(c), function.WithName(uniqueName(t)))
	f.Call(ctx, 1)
	c.Enable(false)
	for i := range 3 {
		if v, err := f.Call(ctx, 1); err != nil || v != fmt.Sprintf("result %d of 1", i+2) {
			t.Fatalf("disabled, call %d: %q, %v", i, v, err)
		}
	}
	c.Enable(true)
	if v, _ := f.Call(ctx, 1); v != "result 1 of 1" {
		t.Fatalf("enabled again: %q, want what was stored before", v)
	}
	if cnt.calls() != 4 {
		t.Fatalf("%d computations, want 4", cnt.calls())
	}
}

// TestBackendDown checks that a failing backend degrades to computing:
// the result is returned at once and the failure counted, as a
// computation without a claim. (A closed store refuses every call at
// once: it is down, not slow.)
func TestBackendDown(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name string
		open func(t *testing.T) *keyedcache.Cache
	}{
		{"memory-closed", func(t *testing.T) *keyedcache.Cache {
			c := openQuiet(t, "memory://")
			c.Close()
			return c
		}},
		{"memory-byref-closed", func(t *testing.T) *keyedcache.Cache {
			c := openQuiet(t, "memory://?by_reference=true")
			c.Close()
			return c
		}},
		{"file-closed", func(t *testing.T) *keyedcache.Cache {
			c := openQuiet(t, "file://"+t.TempDir())
			c.Close()
			return c
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := tc.open(t)
			var cnt counted
			f := function.New(cnt.fn, function.WithCache(c), function.WithName(uniqueName(t)))
			for i := range 3 {
				v, err := f.Call(ctx, 7)
				if err != nil || v == "" {
					t.Fatalf("call %d: %q, %v; want the function's result", i, v, err)
				}
			}
			s := f.Stats()
			if s.Computations != 3 || s.Unclaimed != 3 || s.Errors < 3 || s.Misses != 3 {
				t.Fatalf("stats %+v: want 3 computations without a claim, 3 misses and at least 3 errors", s)
			}
			if c.Stats().Errors == 0 {
				t.Error("the cache counted no error")
			}
		})
	}
}

// openQuiet opens a cache whose backend errors are not logged.
func openQuiet(t *testing.T, url string) *keyedcache.Cache {
	c, err := keyedcache.Open(url, keyedcache.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestCorruptEntry checks that an entry that cannot be decoded is a
// miss, replaced by the next result.
func TestCorruptEntry(t *testing.T) {
	ctx := context.Background()
	forEachBackend(t, func(t *testing.T, c, _ *keyedcache.Cache) {
		var cnt counted
		f := function.New(cnt.fn, function.WithCache(c), function.WithName(uniqueName(t)))
		for _, junk := range [][]byte{{0xff, 0x00, 0x13}, {}, []byte("\x01\xa1\x61s\x19")} {
			if err := c.SetBytes(ctx, f.Key(1), junk); err != nil {
				t.Fatal(err)
			}
			v, err := f.Call(ctx, 1)
			if err != nil || v == "" {
				t.Fatalf("over %q: %q, %v", junk, v, err)
			}
			if got, err := f.Peek(ctx, 1); err != nil || got != v {
				t.Fatalf("over %q: the new result was not stored: %q, %v", junk, got, err)
			}
		}
	})
}

func TestStats(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	cnt := counted{delay: 2 * time.Millisecond}
	name := uniqueName(t)
	f := function.New(cnt.fn, function.WithCache(c), function.WithName(name))
	f.Call(ctx, 1)
	f.Call(ctx, 1)
	f.Call(ctx, 2)
	want := function.Stats{Name: name, Calls: 3, Hits: 1, Misses: 2, Computations: 2}
	got := f.Stats()
	if got.ComputeTime < 4*time.Millisecond {
		t.Errorf("ComputeTime = %v, want at least the two 2 ms computations", got.ComputeTime)
	}
	got.ComputeTime = 0
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Stats (-want +got):\n%s", d)
	}
	if s, ok := function.StatsOf(name); !ok || s.Calls != 3 {
		t.Errorf("StatsOf = %+v, %v", s, ok)
	}
	// The snapshot of keyedcache's stats carries them.
	sec, ok := keyedcache.StatsSources()["functions"].([]function.Stats)
	if !ok {
		t.Fatalf("no functions section in the stats snapshot: %#v", keyedcache.StatsSources()["functions"])
	}
	found := false
	for _, s := range sec {
		if s.Name == name {
			found = s.Hits == 1 && s.Computations == 2
		}
	}
	if !found {
		t.Errorf("the snapshot's functions section lacks %s's figures", name)
	}
}
