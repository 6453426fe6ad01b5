package keyedcache_test

import (
	"context"
	"strconv"
	"testing"
	"time"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
)

// Writers without a process tier of their own tell the processes that
// have one (tier_presence.go). Two Cache values on one store stand for two
// processes, as in tier_near_test.go; package neartest uses real ones.

const hereKey = "%near::here"

// readerWriter returns a cache with a process tier and one without, on
// one store, the tier warmed up.
func readerWriter(t *testing.T) (w *watched, reader, writer *keyedcache.Cache) {
	w = newWatched(t)
	reader = cacheOn(t, w, nearOpts(keyedcache.NearCache{MaxEntries: 1000, Staleness: staleness, TTL: time.Hour})...)
	writer = cacheOn(t, w, keyedcache.WithPresenceEvery(presence))
	warm(t, reader)
	return w, reader, writer
}

// counter returns the log's counter, or -1 when there is none.
func counter(t *testing.T, w *watched) int64 {
	t.Helper()
	data, found, err := w.Store.Get(context.Background(), seqKey)
	if err != nil || !found {
		return -1
	}
	n, err := strconv.ParseInt(string(data), 10, 64)
	if err != nil {
		t.Fatalf("the counter holds %q", data)
	}
	return n
}

func TestNearWriterWithoutTier(t *testing.T) {
	_, reader, writer := readerWriter(t)
	ctx := context.Background()
	keys := []string{"k", "d", "tree", "tree::a", "tree::a::b", "treetop", "n", "m1", "m2", "gone"}
	for _, k := range keys {
		writer.Set(ctx, writer.Key(k), "old")
	}
	writer.Set(ctx, writer.Key("n"), 1)
	for _, k := range keys {
		keyedcache.Get[any](ctx, reader, k) // fill
	}
	before := reader.Stats().ProcessHits
	for _, k := range keys {
		keyedcache.Get[any](ctx, reader, k)
	}
	if hits := reader.Stats().ProcessHits - before; hits != uint64(len(keys)) {
		t.Fatalf("the reader's second round: %d process-tier hits, want %d", hits, len(keys))
	}

	writer.Set(ctx, writer.Key("k"), "new")
	writer.Delete(ctx, "d")
	writer.DeleteChildren(ctx, "tree")
	writer.Incr(ctx, writer.Key("n"), 1)
	writer.SetMany(ctx, map[string]any{"m1": "new"})
	writer.DeleteMany(ctx, "m2")
	afterBound()
	wantValue(t, reader, "k", "new", "after a Set by a writer without a tier")
	wantValue(t, reader, "d", "", "after a Delete by a writer without a tier")
	for _, k := range []string{"tree", "tree::a", "tree::a::b"} {
		wantValue(t, reader, k, "", "after a DeleteChildren by a writer without a tier")
	}
	wantValue(t, reader, "treetop", "old", "a sibling of the deleted tree")
	if n, _ := keyedcache.Get[int](ctx, reader, "n"); n != 2 {
		t.Errorf("after an Incr by a writer without a tier: n = %d, want 2", n)
	}
	wantValue(t, reader, "m1", "new", "after a SetMany by a writer without a tier")
	wantValue(t, reader, "m2", "", "after a DeleteMany by a writer without a tier")

	writer.Clear(ctx)
	afterBound()
	wantValue(t, reader, "treetop", "", "after a Clear by a writer without a tier")
	wantValue(t, reader, "gone", "", "after a Clear by a writer without a tier")
}

// With no process tier anywhere, a writer pays no log writes, and reads
// the marker about once per presenceEvery, not once per write.
func TestNearWriterPaysNothingWithoutTiers(t *testing.T) {
	w := newWatched(t)
	writer := cacheOn(t, w) // the real presenceEvery
	ctx := context.Background()
	start := time.Now()
	const writes = 2000
	for i := range writes {
		writer.Set(ctx, writer.Key("k", i%10), i)
		if i%3 == 0 {
			writer.Delete(ctx, "k", i%10)
		}
	}
	elapsed := time.Since(start)
	if n := w.incrs.Load(); n != 0 {
		t.Errorf("%d log increments with no process tier anywhere", n)
	}
	if n := counter(t, w); n != -1 {
		t.Errorf("a log counter (%d) was created with no process tier anywhere", n)
	}
	// One look before the first write, then at most one each half
	// presenceEvery in the background (plus one under way at the end).
	if looks, most := w.logGets.Load(), 2+int64(2*elapsed/time.Second); looks > most {
		t.Errorf("%d looks at the marker for %d writes in %v, want at most %d", looks, writes+writes/3, elapsed, most)
	}
}

// A writer that cannot tell whether a tier exists writes the log.
func TestNearWriterLogsWhenInDoubt(t *testing.T) {
	w := newWatched(t)
	writer := cacheOn(t, w, keyedcache.WithPresenceEvery(presence))
	ctx := context.Background()
	k := hereKey
	w.failKey.Store(&k)
	writer.Set(ctx, writer.Key("k"), "v")
	seq := counter(t, w)
	if seq == -1 {
		t.Error("a write after a failed look at the marker was not logged")
	}
	if st := writer.Stats(); st.Errors != 1 {
		t.Errorf("the failed look: %d errors counted, want 1", st.Errors)
	}
	w.failKey.Store(nil)
	time.Sleep(2 * presence)
	writer.Set(ctx, writer.Key("k"), "v")
	if n := counter(t, w); n != seq {
		t.Errorf("a write after a look that found no marker moved the log from %d to %d", seq, n)
	}
}

// A new tier answers nothing until every writer must have seen its
// marker: a writer may go on deciding, for up to presenceEvery, on a look
// made before the marker was there.
func TestNearNewTierWaitsForWriters(t *testing.T) {
	w := newWatched(t)
	ctx := context.Background()
	slow := keyedcache.WithPresenceEvery(time.Hour)
	writer := cacheOn(t, w, slow)
	writer.Set(ctx, writer.Key("k"), "old") // looks: no marker, and believes it for an hour
	reader := cacheOn(t, w, keyedcache.WithNearCache(keyedcache.NearCache{MaxEntries: 10, Staleness: staleness, TTL: time.Hour}), slow)
	for range 3 {
		wantValue(t, reader, "k", "old", "a new tier")
		time.Sleep(staleness)
	}
	if _, found, _ := w.Store.Get(ctx, hereKey); !found {
		t.Fatal("the new tier put no presence marker")
	}
	writer.Set(ctx, writer.Key("k"), "new")
	if n := w.incrs.Load(); n != 0 {
		t.Fatalf("the writer logged (%d increments) though its last look found no tier", n)
	}
	wantValue(t, reader, "k", "new", "a new tier, after an unlogged write")
	if st := reader.Stats(); st.ProcessHits != 0 {
		t.Errorf("the new tier answered %d reads before writers could know of it", st.ProcessHits)
	}
}

// A marker that goes missing (expired, evicted, cleared) lets writers
// stop writing the log: the tier notices at its next check and drops
// everything.
func TestNearMarkerLapse(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name  string
		lapse func(w *watched)
	}{
		{"deleted", func(w *watched) { w.Store.Delete(ctx, hereKey) }},
		{"replaced", func(w *watched) { w.Store.Set(ctx, hereKey, []byte("another tier's"), time.Hour) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w, reader, writer := readerWriter(t)
			writer.Set(ctx, writer.Key("k"), "old")
			wantValue(t, reader, "k", "old", "fill")
			wantValue(t, reader, "k", "old", "from the tier")
			tc.lapse(w)
			if tc.name == "deleted" {
				time.Sleep(presence + presence/2) // the writer's last look is too old to use
			}
			seq := counter(t, w)
			writer.Set(ctx, writer.Key("k"), "new")
			if tc.name == "deleted" && counter(t, w) != seq {
				t.Fatal("the writer logged its write though the marker was gone: the test proves nothing")
			}
			afterBound()
			wantValue(t, reader, "k", "new", "after the marker lapsed and a write")
			if st := reader.Stats(); st.ProcessFlushes != 1 {
				t.Errorf("flushes %d, want 1", st.ProcessFlushes)
			}
			if data, _, _ := w.Store.Get(ctx, hereKey); tc.name == "deleted" && len(data) == 0 {
				t.Error("the tier did not put its marker back")
			}
			// It answers again once writers must have seen the marker.
			time.Sleep(2*presence + presence/2)
			wantValue(t, reader, "k", "new", "refill")
			before := reader.Stats().ProcessHits
			wantValue(t, reader, "k", "new", "from the tier again")
			if reader.Stats().ProcessHits != before+1 {
				t.Error("the tier did not answer again after the lapse")
			}
		})
	}
}

// A tier renews its marker's TTL, which is 300 presence intervals, after a
// quarter of it.
func TestNearMarkerRenewed(t *testing.T) {
	w := newWatched(t)
	reader := cacheOn(t, w, nearOpts(keyedcache.NearCache{MaxEntries: 10, Staleness: staleness})...)
	ctx := context.Background()
	keyedcache.Get[string](ctx, reader, "k")
	const ttl = 300 * presence // 3s
	time.Sleep(ttl / 2)
	keyedcache.Get[string](ctx, reader, "k") // a check, due to renew
	left, found, err := w.Store.TTL(ctx, hereKey)
	if err != nil || !found {
		t.Fatalf("the marker: found %v, %v", found, err)
	}
	if left < ttl*3/4 || left == backend.NoExpiry {
		t.Errorf("the marker has %v left, %v after it was put with %v: not renewed", left, ttl/2, ttl)
	}
}
