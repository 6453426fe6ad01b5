package threaded_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend/memory"
	"keyedcache.dev/threaded"
)

// reads is a real memory store that counts the read calls reaching it
// (a many-key read is one call) and can be switched off.
type reads struct {
	*memory.Store
	calls atomic.Int64
	down  atomic.Bool
}

var errDown = errors.New("test: backend down")

func (r *reads) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if r.down.Load() {
		return nil, false, errDown
	}
	r.calls.Add(1)
	return r.Store.Get(ctx, key)
}

func (r *reads) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	if r.down.Load() {
		return nil, errDown
	}
	r.calls.Add(1)
	return r.Store.GetMany(ctx, keys)
}

func (r *reads) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if r.down.Load() {
		return errDown
	}
	return r.Store.Set(ctx, key, v, ttl)
}

func countedCache(t *testing.T) (*reads, *keyedcache.Cache) {
	s, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	r := &reads{Store: s}
	return r, cacheOn(t, r)
}

// cacheOn is a Cache on r; two on one r stand for two processes.
func cacheOn(t *testing.T, r *reads) *keyedcache.Cache {
	c, err := keyedcache.New(r, keyedcache.WithAlias("shared"))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestLocalSyncOneReadPerRequest(t *testing.T) {
	r, c := countedCache(t)
	perms := threaded.NewLocalSync[string, []string]("perms", c)
	defer perms.Close()
	menus := threaded.NewLocalSync[int, string]("menus", c)
	defer menus.Close()

	for req := range 3 {
		ctx, release := threaded.WithRequestCache(context.Background())
		r.calls.Store(0)
		for i := range 10 {
			perms.Set(ctx, "alice", []string{"read"})
			perms.Get(ctx, "alice")
			menus.GetOrLoad(ctx, i, func(context.Context) (string, error) { return "menu", nil })
			menus.Get(ctx, i)
		}
		release()
		if n := r.calls.Load(); n != 1 {
			t.Errorf("request %d: 40 uses of two maps read the backend %d times, want 1", req, n)
		}
	}
	// Outside a request every use checks its own map.
	r.calls.Store(0)
	for range 5 {
		perms.Get(context.Background(), "alice")
	}
	if n := r.calls.Load(); n != 5 {
		t.Errorf("5 uses outside a request: %d backend reads, want 5", n)
	}
	if v, ok := perms.Get(context.Background(), "alice"); !ok || v[0] != "read" {
		t.Errorf("perms[alice] = %v, %v", v, ok)
	}
	if menus.Len() != 10 {
		t.Errorf("menus hold %d entries, want 10", menus.Len())
	}
}

// Two Cache values on one store stand for two processes here (the real
// two-process test is in process_test.go).
func TestLocalSyncClear(t *testing.T) {
	r, c := countedCache(t)
	bg := context.Background()
	here := threaded.NewLocalSync[string, int]("config", c)
	defer here.Close()
	other := threaded.NewLocalSync[string, int]("config", cacheOn(t, r))
	defer other.Close()
	unrelated := threaded.NewLocalSync[string, int]("other", c)
	defer unrelated.Close()
	twin := threaded.NewLocalSync[string, int]("config", c) // same process, same name
	defer twin.Close()
	twin.Set(bg, "t", 1)
	here.Set(bg, "a", 1)
	here.Clear(bg)
	if twin.Len() != 0 {
		t.Error("Clear left a map of the same name in the same process untouched")
	}

	here.Set(bg, "a", 1)
	unrelated.Set(bg, "u", 1)
	if err := other.Clear(bg); err != nil {
		t.Fatal(err)
	}
	if _, ok := here.Get(bg, "a"); ok {
		t.Error("a map of the same name kept its entry after Clear")
	}
	if _, ok := unrelated.Get(bg, "u"); !ok {
		t.Error("a map of another name was cleared")
	}
	st := threaded.Stats()
	var found bool
	for _, m := range st.LocalSync {
		if m.Alias == "shared" && m.Name == "other" {
			found = true
			if m.Entries != 1 || m.Clears != 0 || m.RemoteClears != 0 {
				t.Errorf("stats of the untouched map: %+v", m)
			}
		}
	}
	if !found {
		t.Errorf("Stats().LocalSync lacks the map: %+v", st.LocalSync)
	}
}

// A value computed in a request that began before a Clear is not stored:
// it may have been computed from what the Clear was about.
func TestLocalSyncDropsStaleSet(t *testing.T) {
	_, c := countedCache(t)
	m := threaded.NewLocalSync[string, string]("settings", c)
	defer m.Close()
	bg := context.Background()

	ctx, release := threaded.WithRequestCache(bg)
	defer release()
	if _, ok := m.Get(ctx, "theme"); ok {
		t.Fatal("a fresh map has an entry")
	}
	m.Clear(bg) // someone changes the settings and clears
	m.Set(ctx, "theme", "computed before the clear")
	if _, ok := m.Get(bg, "theme"); ok {
		t.Error("a value computed before a Clear was stored after it")
	}
	v, err := m.GetOrLoad(bg, "theme", func(context.Context) (string, error) { return "fresh", nil })
	if err != nil || v != "fresh" {
		t.Fatalf("GetOrLoad = %q, %v", v, err)
	}
	if v, ok := m.Get(bg, "theme"); !ok || v != "fresh" {
		t.Errorf("after GetOrLoad outside a request: %q, %v", v, ok)
	}
	// GetOrLoad whose load overlaps a Clear stores nothing.
	m.Delete(bg, "theme")
	v, _ = m.GetOrLoad(bg, "theme", func(context.Context) (string, error) {
		m.Clear(bg)
		return "raced", nil
	})
	if v != "raced" {
		t.Errorf("GetOrLoad returned %q, want the loaded value", v)
	}
	if _, ok := m.Get(bg, "theme"); ok {
		t.Error("a value loaded across a Clear was stored")
	}
	if _, err := m.GetOrLoad(bg, "x", func(context.Context) (string, error) { return "", errDown }); !errors.Is(err, errDown) {
		t.Errorf("GetOrLoad with a failing load: %v", err)
	}
	if _, ok := m.Get(bg, "x"); ok {
		t.Error("a failed load stored a value")
	}
}

func TestLocalSyncLostToken(t *testing.T) {
	_, c := countedCache(t)
	m := threaded.NewLocalSync[string, string]("lost", c)
	defer m.Close()
	bg := context.Background()
	m.Set(bg, "k", "v")
	c.Clear(bg) // the backend is emptied, token and all: a clear may have been lost with it
	if _, ok := m.Get(bg, "k"); ok {
		t.Error("the map kept its entry after its token vanished")
	}
	m.Set(bg, "k", "v2")
	if v, ok := m.Get(bg, "k"); !ok || v != "v2" {
		t.Errorf("after a new token: %q, %v", v, ok)
	}
}

func TestLocalSyncBackendDown(t *testing.T) {
	r, c := countedCache(t)
	m := threaded.NewLocalSync[string, string]("down", c)
	defer m.Close()
	bg := context.Background()
	m.Set(bg, "k", "v")
	r.down.Store(true)
	if v, ok := m.Get(bg, "k"); !ok || v != "v" {
		t.Errorf("while the backend is down: %q, %v; want the local entry", v, ok)
	}
	if err := m.Clear(bg); !errors.Is(err, errDown) {
		t.Errorf("Clear while down = %v, want the backend's error", err)
	}
	if m.Len() != 0 {
		t.Error("Clear while down did not empty the local copy")
	}
	r.down.Store(false)
	m.Set(bg, "k", "v")
	if _, ok := m.Get(bg, "k"); !ok {
		t.Error("lost the entry after the backend came back")
	}
}

// Entries stored while no check had succeeded yet are dropped at the
// first check that does: a clear may have come and gone unseen.
func TestLocalSyncEntriesBeforeFirstCheck(t *testing.T) {
	r, c := countedCache(t)
	m := threaded.NewLocalSync[string, string]("early", c)
	defer m.Close()
	bg := context.Background()
	r.down.Store(true)
	m.Set(bg, "k", "stored while the backend was down")
	if m.Len() != 1 {
		t.Fatal("Set while down stored nothing")
	}
	r.down.Store(false)
	other := threaded.NewLocalSync[string, string]("early", cacheOn(t, r))
	defer other.Close()
	other.Clear(bg)
	if _, ok := m.Get(bg, "k"); ok {
		t.Error("an entry stored before any successful check survived a clear it could not see")
	}
}
