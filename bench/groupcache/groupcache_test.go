package groupcache

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"keyedcache.dev/bench/internal/load"
	"net"
	"net/url"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"keyedcache.dev/keyedcache/backend"
	gcb "keyedcache.dev/keyedcache/backend/groupcache"
	"keyedcache.dev/keyedcache/backend/memory"
)

const (
	envRole = "BENCH_GC_ROLE"
	envURL  = "BENCH_GC_URL"

	numKeys   = 10_000 // the keys read, all present
	valueSize = 128
)

func key(i int) string { return "bench::key::" + strconv.Itoa(i%numKeys) }

var value = []byte(strings.Repeat("v", valueSize))

// The cluster: this process is peer 0, the children peers 1 and 2. It is
// started once per process (one groupcache node per process) and the
// children exit when this process does (they read their stdin to EOF).
var cluster struct {
	once   sync.Once
	err    error
	addrs  []string
	stdins []io.WriteCloser // held open: a child exits at EOF
}

func peersOf(addrs []string) string {
	s := make([]string, len(addrs))
	for i, a := range addrs {
		s[i] = "http://" + a
	}
	return strings.Join(s, ",")
}

func startCluster(tb testing.TB) []string {
	tb.Helper()
	cluster.once.Do(func() {
		var ls []net.Listener
		for range 3 {
			l, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				cluster.err = err
				return
			}
			ls = append(ls, l)
			cluster.addrs = append(cluster.addrs, l.Addr().String())
		}
		for _, l := range ls {
			l.Close()
		}
		for _, a := range cluster.addrs[1:] {
			cmd := exec.Command(os.Args[0], "-test.run=^TestPeerProcess$")
			cmd.Env = append(os.Environ(), envRole+"=peer", envURL+"=groupcache://"+a+"?peers="+peersOf(cluster.addrs))
			in, err := cmd.StdinPipe()
			if err != nil {
				cluster.err = err
				return
			}
			cluster.stdins = append(cluster.stdins, in)
			out, err := cmd.StdoutPipe()
			if err != nil {
				cluster.err = err
				return
			}
			cmd.Stderr = os.Stderr
			if err := cmd.Start(); err != nil {
				cluster.err = err
				return
			}
			sc := bufio.NewScanner(out)
			ready := false
			for !ready && sc.Scan() {
				ready = strings.HasPrefix(sc.Text(), "READY")
			}
			if !ready {
				cluster.err = fmt.Errorf("peer %s did not start", a)
				return
			}
			go io.Copy(io.Discard, out)
		}
	})
	if cluster.err != nil {
		tb.Fatal(cluster.err)
	}
	return cluster.addrs
}

func open(tb testing.TB, raw string) backend.Backend {
	tb.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		tb.Fatal(err)
	}
	d, _ := backend.Lookup(u.Scheme)
	b, err := d.Open(backend.Config{URL: u, Params: u.Query()})
	if err != nil {
		tb.Fatal(err)
	}
	return b
}

// peerBackend is this process as peer 0.
func peerBackend(tb testing.TB, ns string) backend.Backend {
	addrs := startCluster(tb)
	return open(tb, "groupcache://"+addrs[0]+"?peers="+peersOf(addrs)+"&namespace="+ns)
}

// clientBackend is a client of the three peers.
func clientBackend(tb testing.TB, ns string) backend.Backend {
	addrs := startCluster(tb)
	return open(tb, "groupcache://?peers="+peersOf(addrs)+"&namespace="+ns)
}

// TestPeerProcess is a peer when run as a child; otherwise it checks that
// the cluster the benchmarks use works, from a client.
func TestPeerProcess(t *testing.T) {
	if os.Getenv(envRole) == "peer" {
		b := open(t, os.Getenv(envURL)+"&namespace="+fillNS).(*gcb.Backend)
		if err := b.RegisterFill("bench", fillValue); err != nil {
			t.Fatal(err)
		}
		fmt.Println("READY")
		io.Copy(io.Discard, os.Stdin)
		return
	}
	ctx := context.Background()
	peerBackend(t, "smoke") // this process is peer 0
	c := clientBackend(t, "smoke")
	for i := range 30 {
		if err := c.Set(ctx, key(i), []byte(key(i)), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	for i := range 30 {
		if v, found, err := c.Get(ctx, key(i)); err != nil || !found || string(v) != key(i) {
			t.Fatalf("Get(%q) = %q, %v, %v", key(i), v, found, err)
		}
	}
	if err := c.(backend.Pinger).Ping(ctx); err != nil {
		t.Fatal(err)
	}
}

func fillValue(_ context.Context, k string) ([]byte, error) { return append([]byte(k), value...), nil }

// run calls op b.N times from g goroutines and reports throughput and
// the p50 and p99 latency of a call.
func run(b *testing.B, g int, op func(ctx context.Context, i int) error) {
	b.Helper()
	load.Run(b, g, op, load.Config{})
}

var nsSeq atomic.Int64

// modes returns the backends Get and Set are measured on, each on a
// fresh namespace.
func modes(b *testing.B) []struct {
	name string
	be   backend.Backend
} {
	ns := "b" + strconv.FormatInt(nsSeq.Add(1), 10)
	mem, err := memory.New(memory.Options{MaxEntries: 2 * numKeys})
	if err != nil {
		b.Fatal(err)
	}
	return []struct {
		name string
		be   backend.Backend
	}{{"memory", mem}, {"peer", peerBackend(b, ns)}, {"client", clientBackend(b, ns)}}
}

// BenchmarkGet reads warm keys (every key read once before).
func BenchmarkGet(b *testing.B) {
	ctx := context.Background()
	for _, m := range modes(b) {
		for i := range numKeys {
			if err := m.be.Set(ctx, key(i), value, time.Hour); err != nil {
				b.Fatal(err)
			}
		}
		for i := range numKeys { // warm the copies
			m.be.Get(ctx, key(i))
		}
		for _, g := range []int{1, 8} {
			b.Run(fmt.Sprintf("g=%d/mode=%s", g, m.name), func(b *testing.B) {
				run(b, g, func(ctx context.Context, i int) error {
					_, found, err := m.be.Get(ctx, key(i*7919))
					if err == nil && !found {
						err = fmt.Errorf("miss on %s", key(i*7919))
					}
					return err
				})
			})
		}
	}
}

// BenchmarkSet overwrites keys: on the peer and the client, the owner's
// write and then the invalidation sent to the other peers.
func BenchmarkSet(b *testing.B) {
	for _, m := range modes(b) {
		for _, g := range []int{1, 8} {
			b.Run(fmt.Sprintf("g=%d/mode=%s", g, m.name), func(b *testing.B) {
				run(b, g, func(ctx context.Context, i int) error {
					return m.be.Set(ctx, key(i), value, time.Hour)
				})
			})
		}
	}
}

// fillNS is the namespace in which every peer registers the fill.
const fillNS = "fill"

// BenchmarkFill reads warm fill results (one computation per key, done
// before).
func BenchmarkFill(b *testing.B) {
	ctx := context.Background()
	for _, m := range []struct {
		name string
		be   backend.Backend
	}{{"peer", peerBackend(b, fillNS)}, {"client", clientBackend(b, fillNS)}} {
		f := m.be.(backend.Filler)
		if err := f.RegisterFill("bench", fillValue); err != nil && !strings.Contains(err.Error(), "already registered") {
			b.Fatal(err)
		}
		for i := range numKeys {
			if _, err := f.Fill(ctx, "bench", key(i), time.Hour); err != nil {
				b.Fatal(err)
			}
		}
		for _, g := range []int{1, 8} {
			b.Run(fmt.Sprintf("g=%d/mode=%s", g, m.name), func(b *testing.B) {
				run(b, g, func(ctx context.Context, i int) error {
					_, err := f.Fill(ctx, "bench", key(i*7919), time.Hour)
					return err
				})
			})
		}
	}
}
