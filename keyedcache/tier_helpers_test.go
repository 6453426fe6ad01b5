package keyedcache_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend/memory"
)

// watched is a real memory store that counts the reads reaching it and,
// on demand, fails them or holds one back: the tier tests need to know
// how often the backend was asked, and to stop a read halfway. Every
// other method is the store's own.
type watched struct {
	*memory.Store
	gets    atomic.Int64 // value keys read, by Get or GetMany
	logGets atomic.Int64 // keys of the process tiers' log and marker read
	incrs   atomic.Int64 // increments (writes of the log's counter)
	down    atomic.Bool  // every read and write fails

	failKey atomic.Pointer[string] // reads of this key fail

	mu   sync.Mutex
	hold map[string]chan struct{} // a Get of such a key waits, after reading, until the channel closes
	held chan string              // tells which key is being held
}

var errTestDown = errors.New("test: backend down")

func newWatched(t testing.TB) *watched {
	s, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &watched{Store: s, hold: map[string]chan struct{}{}, held: make(chan string, 1)}
}

// count counts a read of key.
func (w *watched) count(key string) {
	if strings.Contains(key, "%near::") {
		w.logGets.Add(1)
	} else {
		w.gets.Add(1)
	}
}

func (w *watched) failing(key string) bool {
	k := w.failKey.Load()
	return w.down.Load() || k != nil && *k == key
}

// GetDecoded is a read like Get: counted, and failing (as a miss, which
// sends the core to Get) while the backend is down.
func (w *watched) GetDecoded(key string) ([]byte, any, bool) {
	if w.failing(key) {
		return nil, nil, false
	}
	w.count(key)
	return w.Store.GetDecoded(key)
}

func (w *watched) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if w.failing(key) {
		return nil, false, errTestDown
	}
	w.count(key)
	v, found, err := w.Store.Get(ctx, key)
	w.mu.Lock()
	ch := w.hold[key]
	w.mu.Unlock()
	if ch != nil {
		w.held <- key
		<-ch
	}
	return v, found, err
}

func (w *watched) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	for _, k := range keys {
		if w.failing(k) {
			return nil, errTestDown
		}
	}
	for _, k := range keys {
		w.count(k)
	}
	return w.Store.GetMany(ctx, keys)
}

func (w *watched) Set(ctx context.Context, key string, v []byte, ttl time.Duration) error {
	if w.down.Load() {
		return errTestDown
	}
	return w.Store.Set(ctx, key, v, ttl)
}

func (w *watched) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	if w.down.Load() {
		return 0, errTestDown
	}
	w.incrs.Add(1)
	return w.Store.Incr(ctx, key, delta)
}

// holdGets makes the next Gets of key wait until release is called.
func (w *watched) holdGets(key string) (release func()) {
	ch := make(chan struct{})
	w.mu.Lock()
	w.hold[key] = ch
	w.mu.Unlock()
	return func() {
		w.mu.Lock()
		delete(w.hold, key)
		w.mu.Unlock()
		close(ch)
	}
}

// cacheOn wraps a backend in a Cache with options.
func cacheOn(t testing.TB, b *watched, opts ...keyedcache.Option) *keyedcache.Cache {
	t.Helper()
	c, err := keyedcache.New(b, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// scope opens a request tier for the test.
func scope(t testing.TB) context.Context {
	ctx, release := keyedcache.WithRequestTier(context.Background())
	t.Cleanup(release)
	return ctx
}
