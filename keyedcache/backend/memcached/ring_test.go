package memcached_test

import (
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"

	"keyedcache.dev/keyedcache/backend/memcached"
)

// TestAddingAServerMovesAQuarter writes keys through a Store on three
// real servers, then reads them through a Store on those three and a
// fourth. Only the keys the fourth server now owns miss; with consistent
// hashing that is about a quarter of them (modulo hashing, gomemcache's
// default, would move three quarters).
//
// The bounds: the fraction depends on where the servers' points fall on
// the ring, which depends on their addresses, and the test's ports are
// random. Over 2,000 random sets of four loopback addresses (160 points
// each, 12,000 keys), the fraction moved had mean 0.250 and standard
// deviation 0.018 (min 0.196, max 0.323), and one server's share of
// three had mean 0.333 and standard deviation 0.023. The bounds below
// are five standard deviations wide; modulo hashing is far outside them.
func TestAddingAServerMovesAQuarter(t *testing.T) {
	t.Parallel()
	s1, s2, s3, s4 := startServer(t), startServer(t), startServer(t), startServer(t)
	ns := freshNamespace()
	three := newStore(t, memcached.Options{Servers: []string{s1.Addr, s2.Addr, s3.Addr}, Namespace: ns})
	four := newStore(t, memcached.Options{Servers: []string{s4.Addr, s2.Addr, s1.Addr, s3.Addr}, Namespace: ns})
	ctx := ctxFor(t)

	const n = 12000
	keys := make([]string, n)
	perServer := map[string]int{}
	for i := range keys {
		keys[i] = "frac::" + strconv.Itoa(i)
		if err := three.Set(ctx, keys[i], []byte(strconv.Itoa(i)), time.Hour); err != nil {
			t.Fatalf("Set: %v", err)
		}
		perServer[three.ServerOf(keys[i])]++
	}
	for _, s := range []string{s1.Addr, s2.Addr, s3.Addr} {
		share := float64(perServer[s]) / n
		if share < 0.22 || share > 0.45 {
			t.Errorf("server %s holds %.3f of the keys, want 1/3 (0.22..0.45)", s, share)
		}
		// The servers hold what the ring says they hold.
		if got := serverStat(t, s, "curr_items"); got != strconv.Itoa(perServer[s]) {
			t.Errorf("server %s has curr_items %s, the ring sent it %d", s, got, perServer[s])
		}
	}

	missed := 0
	for lo := 0; lo < n; lo += 100 {
		batch := keys[lo : lo+100]
		got, err := four.GetMany(ctx, batch)
		if err != nil {
			t.Fatalf("GetMany: %v", err)
		}
		for i, k := range batch {
			v, found := got[k]
			onNew := four.ServerOf(k) == s4.Addr
			switch {
			case !found && !onNew:
				t.Fatalf("%s missed but still belongs to %s", k, four.ServerOf(k))
			case found && onNew:
				t.Fatalf("%s was found although it now belongs to the new, empty server", k)
			case found && string(v) != strconv.Itoa(lo+i):
				t.Fatalf("%s = %q, want %d", k, v, lo+i)
			case !found:
				missed++
			}
			if found && four.ServerOf(k) != three.ServerOf(k) {
				t.Fatalf("%s moved from %s to %s, but not to the new server", k, three.ServerOf(k), four.ServerOf(k))
			}
		}
	}
	moved := float64(missed) / n
	t.Logf("adding a 4th server moved %.3f of %d keys", moved, n)
	if moved < 0.16 || moved > 0.34 {
		t.Fatalf("adding a 4th server to 3 moved %.3f of the keys, want about 1/4 (0.16..0.34)", moved)
	}

	// For comparison: gomemcache's own ServerList (CRC-32 modulo the
	// number of servers) on the same addresses.
	var l3, l4 memcache.ServerList
	l3.SetServers(s1.Addr, s2.Addr, s3.Addr)
	l4.SetServers(s1.Addr, s2.Addr, s3.Addr, s4.Addr)
	modMoved := 0
	for _, k := range keys {
		a, _ := l3.PickServer(ns + k)
		b, _ := l4.PickServer(ns + k)
		if a.String() != b.String() {
			modMoved++
		}
	}
	t.Logf("modulo hashing would have moved %.3f", float64(modMoved)/n)
}

// TestServerOrderDoesNotMatter checks that two Stores listing the same
// servers in different orders place every key on the same server.
func TestServerOrderDoesNotMatter(t *testing.T) {
	addrs := []string{"127.0.0.1:11311", "127.0.0.1:11312", "127.0.0.1:11313", "127.0.0.1:11314"}
	a := newStore(t, memcached.Options{Servers: addrs})
	b := newStore(t, memcached.Options{Servers: []string{addrs[2], addrs[0], addrs[3], addrs[1]}})
	used := map[string]bool{}
	for i := range 5000 {
		k := fmt.Sprintf("order::%d", i)
		if a.ServerOf(k) != b.ServerOf(k) {
			t.Fatalf("%s: %s in one Store, %s in the other", k, a.ServerOf(k), b.ServerOf(k))
		}
		used[a.ServerOf(k)] = true
	}
	if len(used) != len(addrs) {
		t.Fatalf("5000 keys went to %d of %d servers", len(used), len(addrs))
	}
}
