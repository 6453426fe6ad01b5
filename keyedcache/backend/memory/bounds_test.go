package memory

import (
	"context"
	"fmt"
	"runtime"
	"strconv"
	"sync"
	"testing"
	"time"
)

// heapInUse returns the bytes of live Go heap, after a collection.
func heapInUse() int64 {
	var m runtime.MemStats
	runtime.GC()
	runtime.GC() // the first one's finalizers and sweeping done
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// fill writes n new keys of valueLen bytes from two goroutines. The
// keys are built here, so that the store holds the only reference to
// them, as it does to the keys the core builds.
func fill(s *Store, n, valueLen int) {
	ctx := context.Background()
	value := make([]byte, valueLen)
	var wg sync.WaitGroup
	for g := range 2 {
		wg.Go(func() {
			for i := g; i < n; i += 2 {
				s.Set(ctx, "site::product::"+strconv.Itoa(i), value, time.Hour)
			}
		})
	}
	wg.Wait()
}

// TestHeapWithinMaxBytes checks that max_bytes bounds the Go heap the
// store holds, not only the bytes it counts: after many more small
// entries than fit, and with large values, the heap in use by the store
// (its entries, keys, values, index and otter's structures) stays within
// 1.25× max_bytes. It also checks that the bound is used: the store
// fills at least half of it.
//
// Under the race detector, which makes each write tens of times slower,
// the small-entry cases run at a tenth of the scale, with the same
// number of writes per byte of the bound.
func TestHeapWithinMaxBytes(t *testing.T) {
	type tc struct {
		maxBytes int64
		writes   int
		valueLen int
	}
	cases := []tc{
		{32 << 20, 1_000_000, 1},
		{32 << 20, 5_000_000, 1},
		{32 << 20, 10_000, 20_000},
	}
	if raceEnabled {
		cases = []tc{
			{3 << 20, 100_000, 1},
			{3 << 20, 500_000, 1},
			{32 << 20, 4_000, 20_000},
		}
	}
	for _, c := range cases {
		t.Run(fmt.Sprintf("max_bytes=%dMiB/writes=%d/value=%dB", c.maxBytes>>20, c.writes, c.valueLen), func(t *testing.T) {
			before := heapInUse()
			s, err := New(Options{MaxBytes: c.maxBytes})
			if err != nil {
				t.Fatal(err)
			}
			fill(s, c.writes, c.valueLen)
			used := heapInUse() - before
			entries := s.c.EstimatedSize()
			runtime.KeepAlive(s)
			s.Close()
			ratio := float64(used) / float64(c.maxBytes)
			t.Logf("%d entries, heap %.1f MiB = %.2f × max_bytes, %.0f B per entry", entries, float64(used)/(1<<20), ratio, float64(used)/float64(entries))
			if ratio > 1.25 {
				t.Errorf("the store holds %.1f MiB of heap, %.2f × max_bytes (at most 1.25×)", float64(used)/(1<<20), ratio)
			}
			if ratio < 0.5 {
				t.Errorf("the store holds %.1f MiB of heap, %.2f × max_bytes: it uses less than half its bound", float64(used)/(1<<20), ratio)
			}
		})
	}
}

// TestEntryBoundHolds checks that the store never holds more than 10%
// past max_entries while writes pour in: otter applies writes to its
// policy from a buffer, and without help a burst of writes outruns it
// (1,514 entries in a store of 1,000 was seen). It looks after every
// write of one writer, and all along the writes of several.
func TestEntryBoundHolds(t *testing.T) {
	ctx := context.Background()
	for _, bound := range []int{10, 100, 1000, 10_000} {
		t.Run(fmt.Sprintf("max_entries=%d/one_writer", bound), func(t *testing.T) {
			s := newTestStore(t, Options{MaxEntries: bound})
			most := 0
			for i := range 20 * bound {
				s.Set(ctx, "k::"+strconv.Itoa(i), []byte("v"), time.Hour)
				most = max(most, s.c.EstimatedSize())
			}
			if limit := bound + bound/10; most > limit {
				t.Errorf("held up to %d entries, more than %d", most, limit)
			}
		})
	}
	for _, bound := range []int{1000, 10_000} {
		t.Run(fmt.Sprintf("max_entries=%d/four_writers", bound), func(t *testing.T) {
			s := newTestStore(t, Options{MaxEntries: bound})
			var (
				wg   sync.WaitGroup
				mu   sync.Mutex
				most int
			)
			for g := range 4 {
				wg.Go(func() {
					m := 0
					for i := range 5 * bound {
						s.Set(ctx, fmt.Sprintf("k::%d::%d", g, i), []byte("v"), time.Hour)
						m = max(m, s.c.EstimatedSize())
					}
					mu.Lock()
					most = max(most, m)
					mu.Unlock()
				})
			}
			wg.Wait()
			if limit := bound + bound/10; most > limit {
				t.Errorf("held up to %d entries, more than %d", most, limit)
			}
		})
	}
	t.Run("max_bytes", func(t *testing.T) {
		const maxBytes = 1 << 20
		s := newTestStore(t, Options{MaxBytes: maxBytes})
		most := uint64(0)
		value := make([]byte, 1000)
		for i := range 20_000 {
			s.Set(ctx, "k::"+strconv.Itoa(i), value, time.Hour)
			most = max(most, uint64(s.held.Load()))
		}
		if limit := uint64(maxBytes + maxBytes/10); most > limit {
			t.Errorf("counted up to %d bytes, more than %d", most, limit)
		}
	})
}
