package groupcache_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/internal/testproc"
	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/backendtest"
)

// TestScanKeysAfterAcrossPeers lists, through a client, keys spread over
// three peer processes: every key once, in byte order, in pages that
// continue where the last one ended, with more keys per peer than one
// batch holds. With a peer gone, the listing says it is incomplete and
// still gives the other peers' keys in order.
func TestScanKeysAfterAcrossPeers(t *testing.T) {
	if role, ok := testproc.Role(); ok && role == "peer" {
		runPeer(t)
		return
	}
	c := newCluster(t, 3, slowMachine)
	ps := c.startAll(t, map[int]bool{0: false, 1: false, 2: false})
	t.Cleanup(func() {
		for _, p := range ps[:2] {
			p.stop(t)
		}
	})
	be, err := openURL("groupcache://?peers=" + c.peers() + slowMachine + "&namespace=sorted")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { be.Close() })
	sl := be.(backend.SortedKeyLister)
	ctx := context.Background()
	var want []string
	for i := range 600 {
		k := fmt.Sprintf("item::%d", i*7919%1000) // not in the order written
		want = append(want, k)
		if err := be.Set(ctx, k, []byte("v"), time.Hour); err != nil {
			t.Fatal(err)
		}
	}
	if err := be.Set(ctx, "other::1", []byte("v"), time.Hour); err != nil {
		t.Fatal(err)
	}
	slices.Sort(want)

	list := func(after string, stop int) ([]string, bool) {
		t.Helper()
		var got []string
		complete, err := sl.ScanKeysAfter(ctx, "item::", after, func(k string) bool {
			got = append(got, k)
			return len(got) != stop
		})
		if err != nil {
			t.Fatalf("ScanKeysAfter(item::, %q): %v", after, err)
		}
		return got, complete
	}
	if got, complete := list("", 0); !complete || !cmp.Equal(want, got) {
		t.Fatalf("every key under item:: (complete %v) (-want +got):\n%s", complete, cmp.Diff(want, got))
	}
	if d := cmp.Diff(want, backendtest.ScanAfterAll(t, sl, "item::", 51)); d != "" {
		t.Fatalf("pages of 51 (-want +got):\n%s", d)
	}

	ps[2].proc.Kill()
	got, complete := list("", 0)
	if complete {
		t.Errorf("a listing with a peer gone says it is complete")
	}
	if len(got) == 0 || len(got) >= len(want) || !slices.IsSorted(got) {
		t.Errorf("with a peer gone: %d of %d keys, sorted %v; want the live peers' keys in order", len(got), len(want), slices.IsSorted(got))
	}
	for _, k := range got {
		if _, found := slices.BinarySearch(want, k); !found {
			t.Errorf("listed %q, which was never written", k)
		}
	}
}
