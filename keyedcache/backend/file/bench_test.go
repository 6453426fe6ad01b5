package file

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"keyedcache.dev/internal/keyheap"
)

func BenchmarkSet(b *testing.B) {
	s, _ := New(b.TempDir(), Options{})
	defer s.Close()
	ctx := context.Background()
	v := make([]byte, 256)
	for i := 0; b.Loop(); i++ {
		if err := s.Set(ctx, fmt.Sprint("key-", i%1000), v, 0); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkGet(b *testing.B) {
	s, _ := New(b.TempDir(), Options{})
	defer s.Close()
	ctx := context.Background()
	s.Set(ctx, "key", make([]byte, 256), 0)
	for b.Loop() {
		if _, ok, err := s.Get(ctx, "key"); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

func BenchmarkIncr(b *testing.B) {
	s, _ := New(b.TempDir(), Options{})
	defer s.Close()
	ctx := context.Background()
	s.Set(ctx, "n", []byte("0"), 0)
	for b.Loop() {
		if _, err := s.Incr(ctx, "n", 1); err != nil {
			b.Fatal(err)
		}
	}
}

// Two Stores on one directory contend for one key, as two processes do.
func BenchmarkIncrTwoStoresParallel(b *testing.B) {
	dir := b.TempDir()
	s1, _ := New(dir, Options{})
	s2, _ := New(dir, Options{})
	defer s1.Close()
	defer s2.Close()
	ctx := context.Background()
	s1.Set(ctx, "n", []byte("0"), 0)
	var next atomic.Int32
	b.RunParallel(func(pb *testing.PB) {
		s := s1
		if next.Add(1)%2 == 0 {
			s = s2
		}
		for pb.Next() {
			if _, err := s.Incr(ctx, "n", 1); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// TestMain removes the directories the listing benchmarks built.
func TestMain(m *testing.M) {
	code := m.Run()
	benchDirs.Lock()
	for _, dir := range benchDirs.m {
		os.RemoveAll(dir)
	}
	benchDirs.Unlock()
	os.Exit(code)
}

// benchDirs are directories of n entries, built once per process by
// benchDir, so that -count and the sub-benchmarks share them.
var benchDirs struct {
	sync.Mutex
	m map[int]string
}

func benchKey(i int) string { return fmt.Sprintf("page::%08d", i) }

// benchDir returns a directory (under os.TempDir) holding n entries,
// benchKey(0) to benchKey(n-1), with 16-byte values and no expiry. It
// waits racyMargin after the last write, so that the fan-out
// directories are settled as in a cache not written to for a few
// seconds (busy directories are measured apart, as page=busy).
func benchDir(b *testing.B, n int) string {
	benchDirs.Lock()
	defer benchDirs.Unlock()
	if dir, ok := benchDirs.m[n]; ok {
		return dir
	}
	dir, err := os.MkdirTemp("", fmt.Sprintf("keyedcache-file-bench-%d-", n))
	if err != nil {
		b.Fatal(err)
	}
	if benchDirs.m == nil {
		benchDirs.m = map[int]string{}
	}
	benchDirs.m[n] = dir
	s, err := New(dir, Options{MaxEntries: n + 1})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		fails atomic.Int64
		value = make([]byte, 16)
	)
	for range 4 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < n; i = int(next.Add(1) - 1) {
				if err := s.Set(context.Background(), benchKey(i), value, 0); err != nil {
					fails.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if fails.Load() > 0 {
		b.Fatalf("%d of %d writes failed", fails.Load(), n)
	}
	time.Sleep(racyMargin + 100*time.Millisecond)
	return dir
}

// pageViaScanKeys makes a page as the core does over a backend without
// backend.SortedKeyLister, and as it did over this one before: one
// ScanKeys pass, keeping the limit smallest keys after after.
func pageViaScanKeys(ctx context.Context, s *Store, prefix, after string, limit int) ([]string, error) {
	top := keyheap.NewSmallest(limit)
	_, err := s.ScanKeys(ctx, prefix, func(k string) bool {
		if after == "" || k > after {
			top.Offer(k)
		}
		return true
	})
	return top.Sorted(), err
}

// pageViaScanKeysAfter reads a page of limit keys with ScanKeysAfter.
func pageViaScanKeysAfter(ctx context.Context, s *Store, prefix, after string, limit int) ([]string, error) {
	out := make([]string, 0, limit)
	_, err := s.ScanKeysAfter(ctx, prefix, after, func(k string) bool {
		out = append(out, k)
		return len(out) < limit
	})
	return out, err
}

// BenchmarkScanKeysAfter reads a page of 50 keys out of n entries, as
// the staff page does:
//
//   - page=first and page=middle (after the middle key), via
//     ScanKeysAfter with the listing index built, and via ScanKeys, the
//     full pass the core made before the file Store listed in order;
//   - page=cold: the first page of a Store, which builds the index
//     (reported with the index's heap size per entry);
//   - page=busy: every fan-out directory marked changed before each
//     page, as under a write load that touches all 256 between pages.
//
// n is 10, 10,000 and 100,000; KEYEDCACHE_BENCH_MILLION=1 adds
// 1,000,000 (about 4 GB of 4 KiB blocks under os.TempDir, and a few
// minutes to write; removed at the end).
func BenchmarkScanKeysAfter(b *testing.B) {
	sizes := []int{10, 10_000, 100_000}
	if os.Getenv("KEYEDCACHE_BENCH_MILLION") == "1" {
		sizes = append(sizes, 1_000_000)
	}
	const limit = 50
	ctx := context.Background()
	for _, n := range sizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			s, err := New(benchDir(b, n), Options{MaxEntries: n + 1})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			// check fails b unless page is the page after after.
			check := func(b *testing.B, page []string, err error, after string) {
				if err != nil {
					b.Fatal(err)
				}
				start := 0
				if after != "" {
					start = n/2 + 1
				}
				if len(page) != min(limit, n-start) || len(page) > 0 && page[0] != benchKey(start) {
					b.Fatalf("page after %q: %d keys from %q; want %d from %q", after, len(page), page, min(limit, n-start), benchKey(start))
				}
			}
			for _, c := range []struct{ page, after string }{{"first", ""}, {"middle", benchKey(n / 2)}} {
				b.Run("page="+c.page+"/via=ScanKeysAfter", func(b *testing.B) {
					pageViaScanKeysAfter(ctx, s, "page::", c.after, limit) // builds the index
					for b.Loop() {
						page, err := pageViaScanKeysAfter(ctx, s, "page::", c.after, limit)
						check(b, page, err, c.after)
					}
				})
				b.Run("page="+c.page+"/via=ScanKeys", func(b *testing.B) {
					pageViaScanKeys(ctx, s, "page::", c.after, limit) // as warm as the other
					for b.Loop() {
						page, err := pageViaScanKeys(ctx, s, "page::", c.after, limit)
						check(b, page, err, c.after)
					}
				})
			}
			b.Run("page=cold/via=ScanKeysAfter", func(b *testing.B) {
				var before, after runtime.MemStats
				s.index.subs = nil
				runtime.GC()
				runtime.ReadMemStats(&before)
				if _, err := pageViaScanKeysAfter(ctx, s, "page::", "", limit); err != nil {
					b.Fatal(err)
				}
				runtime.GC()
				runtime.ReadMemStats(&after)
				perEntry := float64(int64(after.HeapAlloc)-int64(before.HeapAlloc)) / float64(n)
				for b.Loop() {
					s.index.subs = nil
					page, err := pageViaScanKeysAfter(ctx, s, "page::", "", limit)
					check(b, page, err, "")
				}
				b.ReportMetric(perEntry, "index-B/entry")
			})
			b.Run("page=busy/via=ScanKeysAfter", func(b *testing.B) {
				if _, err := pageViaScanKeysAfter(ctx, s, "page::", "", limit); err != nil {
					b.Fatal(err)
				}
				for b.Loop() {
					for i := range s.index.subs {
						s.index.subs[i].racy = true
					}
					page, err := pageViaScanKeysAfter(ctx, s, "page::", benchKey(n/2), limit)
					check(b, page, err, benchKey(n/2))
				}
			})
		})
	}
}

// BenchmarkDeletePrefix deletes the 100 children of one key
// ("target::" + i) from a directory that holds 10k or 1M other entries
// ("bulk::<i%1000>::<i>", 1000 parents): the time should not grow with
// the entries the directory holds, only with the children deleted.
// Writing the children again between iterations is not timed.
//
// Filling a directory with 1M entries takes minutes and about 5 GB of
// disk (one file and one marker per entry); with
// KEYEDCACHE_FILE_BENCH_DIR set, each size is filled once under that
// directory and reused by later runs (remove it afterwards). -short
// skips the 1M case.
func BenchmarkDeletePrefix(b *testing.B) {
	const children = 100
	parent := b
	for _, total := range []int{10_000, 1_000_000} {
		var s *Store // filled once, for every run of the sub-benchmark
		b.Run(fmt.Sprintf("entries=%d/children=%d", total, children), func(b *testing.B) {
			if total > 10_000 && testing.Short() {
				b.Skip("fills a directory with 1M entries")
			}
			if s == nil {
				s = filledStore(parent, total)
			}
			ctx := context.Background()
			v := make([]byte, 64)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				b.StopTimer()
				parent := fmt.Sprint("target::", i)
				for c := range children {
					if err := s.Set(ctx, fmt.Sprint(parent, "::", c), v, 0); err != nil {
						b.Fatal(err)
					}
				}
				b.StartTimer()
				n, err := s.DeletePrefix(ctx, parent+"::")
				if err != nil || n != children {
					b.Fatalf("DeletePrefix = %d, %v; want %d", n, err, children)
				}
			}
		})
	}
}

// filledStore returns a Store holding total entries under bulk::, in
// b.TempDir() (removed when b ends) or, with KEYEDCACHE_FILE_BENCH_DIR set, in a directory
// under it that is filled once and reused.
func filledStore(b *testing.B, total int) *Store {
	b.Helper()
	dir := b.TempDir()
	if root := os.Getenv("KEYEDCACHE_FILE_BENCH_DIR"); root != "" {
		dir = filepath.Join(root, fmt.Sprintf("v%d-entries-%d", formatVersion, total))
	}
	done := filepath.Join(dir, "filled")
	s, err := New(dir, Options{MaxEntries: 2 * total})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { s.Close() })
	if exists(done) {
		return s
	}
	ctx := context.Background()
	v := make([]byte, 64)
	var next atomic.Int64
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			for i := int(next.Add(1) - 1); i < total; i = int(next.Add(1) - 1) {
				if err := s.Set(ctx, fmt.Sprintf("bulk::%d::%d", i%1000, i), v, 0); err != nil {
					b.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := os.WriteFile(done, nil, 0o600); err != nil {
		b.Fatal(err)
	}
	return s
}
