package function_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"keyedcache.dev/function"
	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache"
	_ "keyedcache.dev/keyedcache/backend/memcached"
	_ "keyedcache.dev/keyedcache/backend/redis"
)

// backends are the stores the single-process tests run on: real ones,
// each shared by two Cache values where a test needs two processes'
// views (the multi-process tests start real processes).
var backends = []struct {
	name string
	open func(t *testing.T) (a, b *keyedcache.Cache)
}{
	{"memory", func(t *testing.T) (a, b *keyedcache.Cache) {
		c := openCache(t, "memory://")
		return c, c
	}},
	// By reference, entries live in slots rather than as bytes.
	{"memory-byref", func(t *testing.T) (a, b *keyedcache.Cache) {
		c := openCache(t, "memory://?by_reference=true")
		return c, c
	}},
	{"file", func(t *testing.T) (a, b *keyedcache.Cache) {
		dir := t.TempDir()
		return openCache(t, "file://"+dir), openCache(t, "file://"+dir)
	}},
	{"redis", func(t *testing.T) (a, b *keyedcache.Cache) {
		// Generous timeouts: a loaded test machine must not look like
		// a server that is down.
		url := "redis://" + testserver.Redis(t).Addr + "?dial_timeout=10s&read_timeout=10s"
		return openCache(t, url), openCache(t, url)
	}},
	// memcached cannot delete by prefix: the core uses namespace
	// generations, and whole-second TTLs.
	{"memcached", func(t *testing.T) (a, b *keyedcache.Cache) {
		url := "memcached://" + testserver.Memcached(t).Addr + "?key_prefix=t&net_timeout=10s"
		return openCache(t, url), openCache(t, url)
	}},
}

func openCache(t testing.TB, url string) *keyedcache.Cache {
	t.Helper()
	c, err := keyedcache.Open(url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// forEachBackend runs f once per backend as a subtest.
func forEachBackend(t *testing.T, f func(t *testing.T, a, b *keyedcache.Cache)) {
	for _, bk := range backends {
		t.Run(bk.name, func(t *testing.T) {
			a, b := bk.open(t)
			f(t, a, b)
		})
	}
}

// uniqueName gives each test's function a name of its own, so that the
// per-name stats of one test are not another's.
var nameSeq atomic.Int64

func uniqueName(t testing.TB) string {
	return fmt.Sprintf("test.%s.%d", strings.ReplaceAll(t.Name(), "/", "."), nameSeq.Add(1))
}

// counted is a slow function under test: it counts its calls and returns
// a value that says which call computed it.
type counted struct {
	n     atomic.Int64
	delay time.Duration
}

func (c *counted) fn(ctx context.Context, id int) (string, error) {
	n := c.n.Add(1)
	if c.delay > 0 {
		time.Sleep(c.delay)
	}
	return fmt.Sprintf("result %d of %d", n, id), nil
}

func (c *counted) calls() int64 { return c.n.Load() }

// gated is a function that blocks until released, so that a test can act
// while a computation is under way.
type gated struct {
	n       atomic.Int64
	started chan struct{} // receives one value per call, once it runs
	release chan struct{} // closed or sent to, to let a call finish
	result  func(n int64) (string, error)
}

func newGated() *gated {
	return &gated{started: make(chan struct{}, 1000), release: make(chan struct{})}
}

func (g *gated) fn(ctx context.Context, id int) (string, error) {
	n := g.n.Add(1)
	g.started <- struct{}{}
	select {
	case <-g.release:
	case <-time.After(time.Minute): // fail the test rather than hang it
		return "", errors.New("gated: never released")
	}
	if g.result != nil {
		return g.result(n)
	}
	return fmt.Sprintf("result %d of %d", n, id), nil
}

func waitStarted(t testing.TB, g *gated) {
	t.Helper()
	select {
	case <-g.started:
	case <-time.After(10 * time.Second):
		t.Fatal("the function never started")
	}
}

// eventually polls cond until it holds or ten seconds pass. It waits
// for something to happen, never asserts how fast it happened.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("gave up waiting: %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// mustNotCached checks that err is a miss.
func mustNotCached(t testing.TB, err error) {
	t.Helper()
	if !errors.Is(err, keyedcache.ErrNotCached) {
		t.Fatalf("got error %v, want a keyedcache.NotCachedError", err)
	}
}

// appendLine appends one line to a file opened O_APPEND: lines written
// by several processes never interleave.
func appendLine(path, line string) error {
	f, err := os.OpenFile(path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	_, err = f.WriteString(line + "\n")
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// lines returns the lines of a file, none if it does not exist.
func lines(t testing.TB, path string) []string {
	t.Helper()
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	s := strings.TrimSpace(string(data))
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// waitFile waits until path exists.
func waitFile(t testing.TB, path string) {
	t.Helper()
	eventually(t, "file "+filepath.Base(path), func() bool {
		_, err := os.Stat(path)
		return err == nil
	})
}

func touch(t testing.TB, path string) {
	t.Helper()
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
}

// callTogether calls f(7) from n goroutines of a child process, prints
// "waiting" once asked() says every call is in (so the parent may open
// the gate), and returns the one result they all got.
func callTogether(t *testing.T, f *function.Func[int, string], n int, what string, asked func() bool) string {
	t.Helper()
	results := make([]string, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			v, err := f.Call(context.Background(), 7)
			if err != nil {
				t.Error(err)
			}
			results[i] = v
		})
	}
	eventually(t, what, asked)
	fmt.Println("waiting")
	wg.Wait()
	for _, v := range results {
		if v != results[0] {
			t.Fatalf("one process got two results: %q and %q", results[0], v)
		}
	}
	return results[0]
}
