package file

import (
	"context"
	"os"
	"sort"
	"sync"
	"testing"
	"time"
)

// newStore opens a Store on a fresh directory, closed when the test ends.
func newStore(t *testing.T, opts Options) *Store {
	t.Helper()
	return openStore(t, t.TempDir(), opts)
}

// openStore opens a Store on dir, closed when the test ends.
func openStore(t *testing.T, dir string, opts Options) *Store {
	t.Helper()
	s, err := New(dir, opts)
	if err != nil {
		t.Fatalf("New(%q): %v", dir, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// clock is a settable time source for a Store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// fakeClock makes s read time from a clock that starts at the real now
// and moves only when told to.
func fakeClock(s *Store) *clock {
	c := &clock{t: time.Now()}
	s.now = c.Now
	return c
}

// files returns the paths of the entry files (kindEntry) or temporary
// files (kindTemp) in s's directory, sorted.
func files(t *testing.T, s *Store, k kind) []string {
	t.Helper()
	var out []string
	err := s.walk(context.Background(), func(path string, got kind) error {
		if got == k {
			out = append(out, path)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("walk: %v", err)
	}
	sort.Strings(out)
	return out
}

func mustSet(t *testing.T, s *Store, key, value string, ttl time.Duration) {
	t.Helper()
	if err := s.Set(context.Background(), key, []byte(value), ttl); err != nil {
		t.Fatalf("Set(%q): %v", key, err)
	}
}

// get returns the value under key and whether it was found, failing the
// test on an error.
func get(t *testing.T, s *Store, key string) (string, bool) {
	t.Helper()
	v, ok, err := s.Get(context.Background(), key)
	if err != nil {
		t.Fatalf("Get(%q): %v", key, err)
	}
	return string(v), ok
}

type hit struct {
	Value string
	Found bool
}

func getHit(t *testing.T, s *Store, key string) hit {
	t.Helper()
	v, ok := get(t, s, key)
	return hit{v, ok}
}

func exists(path string) bool {
	_, err := os.Lstat(path)
	return err == nil
}
