package mixin_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/mixin"
)

func TestFindReadsThrough(t *testing.T) {
	c := openCache(t, "memory://")
	s := newShop(t, c, "")
	s.insert(t, kite())
	setsBefore := c.Stats().Sets

	first := mustFind(t, s, 1)
	if d := diffProduct(kite(), first); d != "" {
		t.Errorf("first Find (-want +got):\n%s", d)
	}
	if !first.IsCached(context.Background()) {
		t.Error("Find did not cache the object")
	}
	// The caller owns its result: changing it changes nothing cached.
	first.Tags[0], first.Price = "changed", 1
	second := mustFind(t, s, 1)
	if d := diffProduct(kite(), second); d != "" {
		t.Errorf("second Find (-want +got):\n%s", d)
	}
	if n := s.loads.Load(); n != 1 {
		t.Errorf("loads = %d, want 1", n)
	}
	want := mixin.Stats{Model: "Product", Finds: 2, Hits: 1, Loads: 1}
	if got := s.products.Stats(); got != want {
		t.Errorf("Stats = %+v, want %+v", got, want)
	}
	// The alias's own figures show one miss, one hit, one set: the
	// model's extra reads (its guard, its second look) are not counted.
	if st := c.Stats(); st.Calls != 2 || st.Hits != 1 || st.Sets-setsBefore != 1 {
		t.Errorf("cache Stats = %+v (%d sets before), want 2 calls, 1 hit, 1 more set", st, setsBefore)
	}
}

func TestFindSeesSave(t *testing.T) {
	c := openCache(t, "memory://")
	s := newShop(t, c, "")
	s.insert(t, kite())

	p := mustFind(t, s, 1)
	p.Price = 990
	s.update(t, p)
	if got := mustFind(t, s, 1).Price; got != 990 {
		t.Errorf("price after save = %d, want 990", got)
	}
	if n := s.loads.Load(); n != 2 {
		t.Errorf("loads = %d, want 2", n)
	}
	// CacheReset stores the saved object: the next Find does not load.
	p.Price = 880
	if _, err := s.db.Exec("UPDATE products SET price = 880 WHERE id = 1"); err != nil {
		t.Fatal(err)
	}
	if err := p.CacheReset(context.Background()); err != nil {
		t.Fatal(err)
	}
	if got := mustFind(t, s, 1).Price; got != 880 {
		t.Errorf("price after CacheReset = %d, want 880", got)
	}
	if n := s.loads.Load(); n != 2 {
		t.Errorf("loads = %d after CacheReset, want still 2", n)
	}
}

func TestFindNotFound(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	s := newShop(t, c, "")

	for i := range 2 {
		_, err := s.products.Find(ctx, 99)
		var nf *mixin.NotFoundError
		if !errors.Is(err, errNoProduct) || !errors.Is(err, mixin.ErrNotFound) || !errors.As(err, &nf) {
			t.Fatalf("Find(99) = %v, want a NotFoundError matching errNoProduct and ErrNotFound", err)
		}
		if nf.Key != "Product::99" || nf.Model != "Product" {
			t.Errorf("NotFoundError = %+v", nf)
		}
		if n := s.loads.Load(); n != int64(i+1) {
			t.Errorf("loads = %d after %d Finds: a not-found answer is not cached by default", n, i+1)
		}
	}
	if st := s.products.Stats(); st.NotFound != 2 || st.Errors != 0 {
		t.Errorf("Stats = %+v, want 2 not found, no errors", st)
	}

	// A loader that returns nil, nil also means not found.
	nilLoader := mixin.NewModel(func(context.Context, int64) (*Product, error) { return nil, nil }, mixin.WithCache(c))
	if _, err := nilLoader.Find(ctx, 5); !errors.Is(err, mixin.ErrNotFound) {
		t.Errorf("Find with a nil, nil loader = %v, want ErrNotFound", err)
	}
}

func TestFindNotFoundCached(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	s := newShop(t, c, "", mixin.WithNotFoundTTL(time.Minute))

	for range 3 {
		if _, err := s.products.Find(ctx, 1); !errors.Is(err, errNoProduct) {
			t.Fatalf("Find(1) = %v, want not found", err)
		}
	}
	if n := s.loads.Load(); n != 1 {
		t.Errorf("loads = %d, want 1: the not-found answer is cached", n)
	}
	// Inserting it, with Saved, ends the cached answer.
	s.insert(t, kite())
	p := mustFind(t, s, 1)
	// Deleted records the answer at once: no load to learn it.
	s.remove(t, p)
	loads := s.loads.Load()
	if _, err := s.products.Find(ctx, 1); !errors.Is(err, errNoProduct) {
		t.Fatalf("Find after delete = %v, want not found", err)
	}
	if n := s.loads.Load(); n != loads {
		t.Errorf("Find after Deleted loaded again (%d → %d)", loads, n)
	}

	// The answer expires.
	short := newShop(t, c, "", mixin.WithNotFoundTTL(50*time.Millisecond), mixin.WithName("Short"))
	short.products.Find(ctx, 1)
	time.Sleep(120 * time.Millisecond)
	short.products.Find(ctx, 1)
	if n := short.loads.Load(); n != 2 {
		t.Errorf("loads = %d, want 2: the not-found answer should have expired", n)
	}
}

func TestFindLoaderError(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	s := newShop(t, c, "")
	s.insert(t, kite())
	s.db.Close() // every query now fails

	for i := range 2 {
		_, err := s.products.Find(ctx, 1)
		if err == nil || errors.Is(err, mixin.ErrNotFound) {
			t.Fatalf("Find on a closed database = %v, want its error", err)
		}
		if n := s.loads.Load(); n != int64(i+1) {
			t.Errorf("loads = %d: an error must not be cached", n)
		}
	}
	if st := s.products.Stats(); st.Errors != 2 {
		t.Errorf("Stats.Errors = %d, want 2", st.Errors)
	}
}

func TestFindOnceForConcurrentCallers(t *testing.T) {
	c := openCache(t, "memory://")
	s := newShop(t, c, "")
	s.insert(t, kite())
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.setHook(func(context.Context, int64) {
		once.Do(func() { close(entered) })
		<-release
	})

	const callers = 100
	results := make(chan *Product, callers)
	var wg sync.WaitGroup
	for range callers {
		wg.Go(func() {
			p, err := s.products.Find(context.Background(), 1)
			if err != nil {
				t.Error(err)
			}
			results <- p
		})
	}
	<-entered
	close(release)
	wg.Wait()
	close(results)

	if n := s.loads.Load(); n != 1 {
		t.Fatalf("loads = %d for %d concurrent Finds, want 1", n, callers)
	}
	seen := map[*Product]bool{}
	for p := range results {
		if d := diffProduct(kite(), p); d != "" {
			t.Fatalf("result (-want +got):\n%s", d)
		}
		if seen[p] {
			t.Fatal("two callers got the same *Product")
		}
		seen[p] = true
		p.Tags[0] = "mine" // under -race: no caller shares a slice with another
	}
	if st := s.products.Stats(); st.Finds != callers || st.Loads != 1 {
		t.Errorf("Stats = %+v", st)
	}
}

func TestFindCancelledCallerLeavesLoadRunning(t *testing.T) {
	c := openCache(t, "memory://")
	s := newShop(t, c, "")
	s.insert(t, kite())
	entered, release := make(chan struct{}), make(chan struct{})
	s.setHook(func(ctx context.Context, _ int64) {
		close(entered)
		<-release
		if ctx.Err() != nil {
			t.Error("the load's context was cancelled with its caller's")
		}
	})

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.products.Find(ctx, 1)
		done <- err
	}()
	<-entered
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled Find = %v, want context.Canceled", err)
	}
	s.setHook(nil)
	close(release)
	// The load finished for nobody, and was cached.
	waitCached(t, c, "Product::1")
	mustFind(t, s, 1)
	if n := s.loads.Load(); n != 1 {
		t.Errorf("loads = %d, want 1", n)
	}
}

func waitCached(t *testing.T, c *keyedcache.Cache, key string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !c.IsCached(context.Background(), key) {
		if time.Now().After(deadline) {
			t.Fatalf("%s never cached", key)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestFindLoaderPanic(t *testing.T) {
	c := openCache(t, "memory://")
	var logs bytes.Buffer
	s := newShop(t, c, "", mixin.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	s.insert(t, kite())
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	s.setHook(func(context.Context, int64) {
		once.Do(func() { close(entered) })
		<-release
		panic("shelf collapsed")
	})

	panics := make(chan any, 2)
	find := func() {
		defer func() { panics <- recover() }()
		s.products.Find(context.Background(), 1)
	}
	go find()
	<-entered
	go find()
	// Let the second caller join the flight; if it comes late it loads
	// again and panics by itself, which the test accepts too.
	time.Sleep(50 * time.Millisecond)
	close(release)
	for range 2 {
		if v := <-panics; v != "shelf collapsed" {
			t.Errorf("caller recovered %v, want the loader's panic value", v)
		}
	}
	if !bytes.Contains(logs.Bytes(), []byte("loader panicked")) || !bytes.Contains(logs.Bytes(), []byte("find_test.go")) {
		t.Errorf("the panic and its stack were not logged:\n%s", logs.String())
	}
	if c.IsCached(context.Background(), "Product::1") {
		t.Error("a panicking load cached something")
	}
	s.setHook(nil)
	if got := mustFind(t, s, 1); got.Name != "Red kite" {
		t.Errorf("Find after the panic = %+v", got)
	}
}

// A load that read the row before a concurrent save returns what it read
// but must not leave it cached: on every kind of store, and inside a
// request scope, whose first-level tier must not hide the save from the
// load's check.
func TestFindDoesNotCacheRowReadBeforeSave(t *testing.T) {
	for _, tc := range []struct {
		name, url    string
		requestScope bool
	}{
		{"memory", "memory://", false},
		{"memory-by-reference", "memory://?by_reference=true", false},
		{"file", "file://", false},
		{"request-scope", "memory://", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.url == "file://" {
				tc.url += filepath.Join(t.TempDir(), "cache")
			}
			c := openCache(t, tc.url)
			s := newShop(t, c, "")
			s.insert(t, kite())
			read, resume := make(chan struct{}), make(chan struct{})
			s.setHook(func(context.Context, int64) {
				close(read)
				<-resume
			})
			ctx := context.Background()
			if tc.requestScope {
				var release func()
				ctx, release = keyedcache.WithRequestTier(ctx)
				defer release()
			}

			done := make(chan *Product)
			go func() {
				p, err := s.products.Find(ctx, 1)
				if err != nil {
					t.Error(err)
				}
				done <- p
			}()
			<-read // the loader has the old row
			s.setHook(nil)
			p := s.products.Bind(kite())
			p.Price = 990
			s.update(t, p) // another request
			close(resume)

			if got := (<-done).Price; got != 1200 {
				t.Errorf("the racing Find returned price %d, want the 1200 it read", got)
			}
			if got := mustFind(t, s, 1).Price; got != 990 {
				t.Errorf("next Find = price %d, want 990: the row read before the save stayed cached", got)
			}
			if st := s.products.Stats(); st.Discarded != 1 || st.Loads != 2 {
				t.Errorf("Stats = %+v, want 1 discarded, 2 loads", st)
			}
		})
	}
}

func TestFindDoesNotCacheNotFoundReadBeforeInsert(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	s := newShop(t, c, "", mixin.WithNotFoundTTL(time.Minute))
	read, resume := make(chan struct{}), make(chan struct{})
	s.products = mixin.NewModel(func(ctx context.Context, id int64) (*Product, error) {
		p, err := s.load(ctx, id)
		close(read)
		<-resume
		return p, err
	}, mixin.WithCache(c), mixin.WithNotFoundTTL(time.Minute))

	done := make(chan error)
	go func() {
		_, err := s.products.Find(ctx, 1)
		done <- err
	}()
	<-read
	s.insert(t, kite())
	close(resume)
	if err := <-done; !errors.Is(err, mixin.ErrNotFound) {
		t.Fatalf("racing Find = %v, want the not-found it read", err)
	}
	read, resume = make(chan struct{}), make(chan struct{})
	close(resume)
	if _, err := s.products.Find(ctx, 1); err != nil {
		t.Errorf("Find after the insert = %v: the stale not-found answer stayed cached", err)
	}
}

func TestFindCacheDown(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	c := openCache(t, "file://"+dir)
	s := newShop(t, c, "")
	s.insert(t, kite())
	// The cache directory becomes a plain file: every backend call fails.
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dir, []byte("not a directory"), 0o644); err != nil {
		t.Fatal(err)
	}

	for range 2 {
		if d := diffProduct(kite(), mustFind(t, s, 1)); d != "" {
			t.Errorf("Find with the cache down (-want +got):\n%s", d)
		}
	}
	if n := s.loads.Load(); n != 2 {
		t.Errorf("loads = %d, want 2: nothing can be cached", n)
	}
	if c.Stats().Errors == 0 {
		t.Error("the cache counted no errors: was it really down?")
	}
	// Saved reports the failure: the old row may stay cached elsewhere.
	if err := s.products.Saved(context.Background(), s.products.Bind(kite())); err == nil {
		t.Error("Saved with the cache down returned no error")
	}
}

func TestFindCacheDisabled(t *testing.T) {
	c := openCache(t, "memory://")
	s := newShop(t, c, "")
	s.insert(t, kite())
	c.Enable(false)
	mustFind(t, s, 1)
	mustFind(t, s, 1)
	if n := s.loads.Load(); n != 2 {
		t.Errorf("loads = %d with the cache disabled, want 2", n)
	}
	c.Enable(true)
	mustFind(t, s, 1)
	mustFind(t, s, 1)
	if n := s.loads.Load(); n != 3 {
		t.Errorf("loads = %d after enabling, want 3", n)
	}
}

func TestFindCorruptValue(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	s := newShop(t, c, "")
	s.insert(t, kite())
	// Bytes no codec can read, stored under the object's key.
	if err := c.Backend().Set(ctx, "Product::1", []byte{0xff, 0x00, 0xfe, 0x17}, time.Minute); err != nil {
		t.Fatal(err)
	}
	if d := diffProduct(kite(), mustFind(t, s, 1)); d != "" {
		t.Errorf("Find over a corrupt entry (-want +got):\n%s", d)
	}
	if st := c.Stats(); st.DecodeErrors != 1 {
		t.Errorf("cache DecodeErrors = %d, want 1", st.DecodeErrors)
	}
	mustFind(t, s, 1)
	if n := s.loads.Load(); n != 1 {
		t.Errorf("loads = %d, want 1: the loaded row replaces the corrupt entry", n)
	}
}

func TestFindObjectWithOtherIdentityNotCached(t *testing.T) {
	ctx := context.Background()
	c := openCache(t, "memory://")
	var logs bytes.Buffer
	m := mixin.NewModel(func(context.Context, int64) (*Product, error) { return kite(), nil },
		mixin.WithCache(c), mixin.WithLogger(slog.New(slog.NewTextHandler(&logs, nil))))
	p, err := m.Find(ctx, 2)
	if err != nil || p.ID != 1 {
		t.Fatalf("Find(2) = %+v, %v", p, err)
	}
	if c.IsCached(ctx, "Product::2") || c.IsCached(ctx, "Product::1") {
		t.Error("an object whose CacheID differs from its id was cached")
	}
	if !bytes.Contains(logs.Bytes(), []byte("does not match")) {
		t.Errorf("no warning logged:\n%s", logs.String())
	}
}
