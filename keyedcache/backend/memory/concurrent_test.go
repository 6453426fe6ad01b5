package memory_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/memory"
)

const goroutines = 50

// run calls fn on goroutines goroutines at once and waits for them.
func run(fn func(g int)) {
	var wg sync.WaitGroup
	start := make(chan struct{})
	for g := range goroutines {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			fn(g)
		}()
	}
	close(start)
	wg.Wait()
}

func TestConcurrentAddHasOneWinner(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, memory.Options{})
	for round := range 50 {
		key := fmt.Sprintf("lease::%d", round)
		var wins atomic.Int32
		run(func(g int) {
			added, err := s.Add(ctx, key, []byte(fmt.Sprint(g)), time.Minute)
			if err != nil {
				t.Error(err)
			}
			if added {
				wins.Add(1)
			}
		})
		if n := wins.Load(); n != 1 {
			t.Fatalf("round %d: %d of %d concurrent Adds succeeded, want 1", round, n, goroutines)
		}
	}
}

func TestConcurrentIncrIsAtomic(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, memory.Options{})
	set(t, s, "n", "0", backend.NoExpiry)
	const each = 200
	run(func(int) {
		for range each {
			if _, err := s.Incr(ctx, "n", 1); err != nil {
				t.Error(err)
				return
			}
		}
	})
	if diff := cmp.Diff(found{fmt.Sprint(goroutines * each), true}, lookup(t, s, "n")); diff != "" {
		t.Errorf("after %d concurrent Incrs (-want +got):\n%s", goroutines*each, diff)
	}
}

func TestConcurrentCompareAndSwapLosesNoUpdate(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, memory.Options{})
	set(t, s, "n", "0", backend.NoExpiry)
	const each = 50
	run(func(int) {
		for done := 0; done < each; {
			old, _, err := s.Get(ctx, "n")
			if err != nil {
				t.Error(err)
				return
			}
			var n int
			fmt.Sscan(string(old), &n)
			swapped, err := s.CompareAndSwap(ctx, "n", old, []byte(fmt.Sprint(n+1)), backend.NoExpiry)
			if err != nil {
				t.Error(err)
				return
			}
			if swapped {
				done++
			}
		}
	})
	if diff := cmp.Diff(found{fmt.Sprint(goroutines * each), true}, lookup(t, s, "n")); diff != "" {
		t.Errorf("after %d read-CAS loops (-want +got):\n%s", goroutines*each, diff)
	}
}

// TestConcurrentMixedOps runs every operation from 50 goroutines over a
// small key space, with short ttls and a small bound so that expiry and
// eviction race with the writes, then checks that the store still
// behaves: a prefix delete removes exactly the live keys under it.
func TestConcurrentMixedOps(t *testing.T) {
	ctx := context.Background()
	s := newStore(t, memory.Options{MaxEntries: 300})
	const ops = 2000
	key := func(r *rand.Rand) string {
		return fmt.Sprintf("s::%d::%d", r.IntN(4), r.IntN(50))
	}
	run(func(g int) {
		r := rand.New(rand.NewPCG(uint64(g), 1))
		for range ops {
			k := key(r)
			ttl := []time.Duration{backend.NoExpiry, time.Millisecond, time.Second}[r.IntN(3)]
			var err error
			switch r.IntN(14) {
			case 0, 1, 2:
				_, _, err = s.Get(ctx, k)
			case 3, 4:
				err = s.Set(ctx, k, []byte("1"), ttl)
			case 5:
				_, err = s.Add(ctx, k, []byte("1"), ttl)
			case 6:
				_, err = s.Delete(ctx, k)
			case 7:
				if _, err = s.Incr(ctx, k, 1); err == backend.ErrNotFound || err == backend.ErrNotNumeric {
					err = nil
				}
			case 8:
				if err = s.Touch(ctx, k, ttl); err == backend.ErrNotFound {
					err = nil
				}
			case 9:
				_, err = s.CompareAndSwap(ctx, k, []byte("1"), []byte("2"), ttl)
			case 10:
				_, err = s.DeletePrefix(ctx, fmt.Sprintf("s::%d::", r.IntN(4)))
			case 11:
				_, err = s.ScanKeys(ctx, "s::", func(string) bool { return true })
			case 12:
				s.SetObject(k, g, ttl)
				s.GetObject(k)
			case 13:
				_, _, err = s.TTL(ctx, k)
			}
			if err != nil {
				t.Errorf("op on %s: %v", k, err)
				return
			}
		}
	})

	before := keys(t, s, "s::1::")
	n, err := s.DeletePrefix(ctx, "s::1::")
	if err != nil {
		t.Fatal(err)
	}
	// Entries with 1ms ttls may expire between the listing and the delete.
	if n > len(before) {
		t.Errorf("DeletePrefix removed %d entries, but only %d were listed", n, len(before))
	}
	if got := keys(t, s, "s::1::"); len(got) != 0 {
		t.Errorf("keys left under s::1:: after DeletePrefix: %q", got)
	}
	for _, p := range []string{"s::0::", "s::2::", "s::3::"} {
		for _, k := range keys(t, s, p) {
			if _, _, ok := s.GetObject(k); !ok { // GetObject also finds objects
				if ttl, ok, _ := s.TTL(ctx, k); ok && ttl > 10*time.Millisecond {
					t.Errorf("listed key %s with %v left is missing", k, ttl)
				}
			}
		}
	}
}
