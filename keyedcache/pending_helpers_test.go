package keyedcache_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/memory"
)

// switched is a real memory store behind a switch: up, down (every call
// fails), or deletesDown (deletes and clears fail, the rest works — a
// backend that lost some requests, or one server of several). It notes
// every call that reached the store, in order, so that tests can see
// what was sent and when. It offers only the core contract and TTL, so
// delete-with-children goes through namespace generations; full adds
// the store's other powers.
type switched struct {
	s    *memory.Store
	mode atomic.Int32

	mu  sync.Mutex
	log []string
}

const (
	up int32 = iota
	down
	deletesDown
)

var errSwitchedDown = errors.New("test: the store is switched off")

func newSwitched(t testing.TB) *switched {
	s, err := memory.New(memory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return &switched{s: s}
}

// call reports whether a call may reach the store and notes it.
func (w *switched) call(op, key string, del bool) error {
	switch m := w.mode.Load(); {
	case m == down, m == deletesDown && del:
		return errSwitchedDown
	}
	w.mu.Lock()
	w.log = append(w.log, op+" "+key)
	w.mu.Unlock()
	return nil
}

// calls returns the calls noted since the last time and forgets them.
func (w *switched) calls() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	out := w.log
	w.log = nil
	return out
}

func (w *switched) Get(ctx context.Context, key string) ([]byte, bool, error) {
	if err := w.call("get", key, false); err != nil {
		return nil, false, err
	}
	return w.s.Get(ctx, key)
}

func (w *switched) Set(ctx context.Context, key string, value []byte, ttl time.Duration) error {
	if err := w.call("set", key, false); err != nil {
		return err
	}
	return w.s.Set(ctx, key, value, ttl)
}

func (w *switched) Add(ctx context.Context, key string, value []byte, ttl time.Duration) (bool, error) {
	if err := w.call("add", key, false); err != nil {
		return false, err
	}
	return w.s.Add(ctx, key, value, ttl)
}

func (w *switched) Delete(ctx context.Context, key string) (bool, error) {
	if err := w.call("delete", key, true); err != nil {
		return false, err
	}
	return w.s.Delete(ctx, key)
}

func (w *switched) Clear(ctx context.Context) error {
	if err := w.call("clear", "", true); err != nil {
		return err
	}
	return w.s.Clear(ctx)
}

func (w *switched) Close() error { return nil }

func (w *switched) TTL(ctx context.Context, key string) (time.Duration, bool, error) {
	if err := w.call("ttl", key, false); err != nil {
		return 0, false, err
	}
	return w.s.TTL(ctx, key)
}

// full is switched with the store's many-key, prefix-delete, CAS, Incr
// and Touch powers.
type full struct{ *switched }

func (w full) GetMany(ctx context.Context, keys []string) (map[string][]byte, error) {
	if err := w.call("get_many", strings.Join(keys, ","), false); err != nil {
		return nil, err
	}
	return w.s.GetMany(ctx, keys)
}

func (w full) SetMany(ctx context.Context, items map[string][]byte, ttl time.Duration) error {
	if err := w.call("set_many", "", false); err != nil {
		return err
	}
	return w.s.SetMany(ctx, items, ttl)
}

func (w full) DeleteMany(ctx context.Context, keys []string) (int, error) {
	if err := w.call("delete_many", strings.Join(keys, ","), true); err != nil {
		return 0, err
	}
	return w.s.DeleteMany(ctx, keys)
}

func (w full) DeletePrefix(ctx context.Context, prefix string) (int, error) {
	if err := w.call("delete_prefix", prefix, true); err != nil {
		return 0, err
	}
	return w.s.DeletePrefix(ctx, prefix)
}

func (w full) CompareAndSwap(ctx context.Context, key string, old, value []byte, ttl time.Duration) (bool, error) {
	if err := w.call("cas", key, false); err != nil {
		return false, err
	}
	return w.s.CompareAndSwap(ctx, key, old, value, ttl)
}

func (w full) Incr(ctx context.Context, key string, delta int64) (int64, error) {
	if err := w.call("incr", key, false); err != nil {
		return 0, err
	}
	return w.s.Incr(ctx, key, delta)
}

func (w full) Touch(ctx context.Context, key string, ttl time.Duration) error {
	if err := w.call("touch", key, false); err != nil {
		return err
	}
	return w.s.Touch(ctx, key, ttl)
}

// logBuffer collects log lines written by many goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// newSwitchedCache wraps b in a Cache that logs into a buffer and is
// closed when t ends.
func newSwitchedCache(t testing.TB, b interface {
	Get(context.Context, string) ([]byte, bool, error)
	Set(context.Context, string, []byte, time.Duration) error
	Add(context.Context, string, []byte, time.Duration) (bool, error)
	Delete(context.Context, string) (bool, error)
	Clear(context.Context) error
	Close() error
}, opts ...keyedcache.Option) (*keyedcache.Cache, *logBuffer) {
	t.Helper()
	logs := &logBuffer{}
	c, err := keyedcache.New(b, append([]keyedcache.Option{keyedcache.WithLogger(slog.New(slog.NewTextHandler(logs, nil)))}, opts...)...)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c, logs
}

// waitFor polls cond for up to 10 seconds.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); !cond(); time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within 10s", what)
		}
	}
}

// filling is full with backend.Filler, done in this process as one
// groupcache peer owning every key would: a key's value is the store's,
// else what its fill computes, kept.
type filling struct {
	full
	mu    sync.Mutex
	fills map[string]backend.FillFunc
}

func (w *filling) RegisterFill(name string, fill backend.FillFunc) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.fills == nil {
		w.fills = map[string]backend.FillFunc{}
	}
	w.fills[name] = fill
	return nil
}

func (w *filling) Fill(ctx context.Context, name, key string, ttl time.Duration) ([]byte, error) {
	if data, found, err := w.Get(ctx, key); err != nil || found {
		return data, err
	}
	w.mu.Lock()
	fill := w.fills[name]
	w.mu.Unlock()
	data, err := fill(ctx, key)
	if err != nil {
		return nil, err
	}
	return data, w.Set(ctx, key, data, ttl)
}
