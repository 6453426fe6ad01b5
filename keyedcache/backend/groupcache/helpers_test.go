package groupcache_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"keyedcache.dev/internal/testproc"
	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/groupcache"
)

// The tests of this package that need a node run it in child processes:
// groupcache allows one node per process, and the parent process keeps
// its one for the Example.

// slowMachine raises the timeouts of tests that check behaviour, not
// timeouts: a loaded machine running -race can stall a peer for longer
// than the defaults, and a write dropped on a timeout is correct
// behaviour that would fail them. TestPeerDown and TestOutage check the
// timeouts.
const slowMachine = "&peer_timeout=10s&fill_timeout=30s"

// freeAddrs returns n distinct free loopback addresses.
func freeAddrs(t *testing.T, n int) []string {
	t.Helper()
	var ls []net.Listener
	var out []string
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		ls = append(ls, l)
		out = append(out, l.Addr().String())
	}
	for _, l := range ls {
		l.Close()
	}
	return out
}

// A peer is a child process serving one peer of a cluster, driven over
// a small control API.
type peer struct {
	proc    *testproc.Proc
	self    string // http://host:port
	control string // base URL of the control API
	pid     int
}

// clusterEnv configures the children: the peer list, the extra URL
// parameters, and the file in which fills append a line each.
type clusterEnv struct {
	addrs    []string
	params   string // "&name=value…"
	fillLog  string
	fillWait time.Duration
}

func newCluster(t *testing.T, n int, params string) *clusterEnv {
	return &clusterEnv{addrs: freeAddrs(t, n), params: params, fillLog: t.TempDir() + "/fills.log", fillWait: 200 * time.Millisecond}
}

func (c *clusterEnv) peers() string {
	s := make([]string, len(c.addrs))
	for i, a := range c.addrs {
		s[i] = "http://" + a
	}
	return strings.Join(s, ",")
}

// env returns the child environment for peer i.
func (c *clusterEnv) env(i int, mount bool) []string {
	listen := "true"
	if mount {
		listen = "false"
	}
	return []string{
		"GC_URL=groupcache://" + c.addrs[i] + "?peers=" + c.peers() + "&listen=" + listen + c.params,
		"GC_FILL_LOG=" + c.fillLog,
		"GC_FILL_WAIT=" + c.fillWait.String(),
	}
}

// start starts peer i as role "peer" of the running test.
func (c *clusterEnv) start(t *testing.T, i int, mount bool) *peer {
	t.Helper()
	return c.startAll(t, map[int]bool{i: mount})[0]
}

// startAll starts the peers i → mount at once, and returns them in the
// order of i once they all serve.
func (c *clusterEnv) startAll(t *testing.T, which map[int]bool) []*peer {
	t.Helper()
	idx := slices.Sorted(maps.Keys(which))
	procs := make([]*testproc.Proc, len(idx))
	for j, i := range idx {
		procs[j] = testproc.Start(t, "peer", c.env(i, which[i])...)
	}
	out := make([]*peer, len(idx))
	for j, i := range idx {
		control := procs[j].WaitFor(t, "CONTROL ", 60*time.Second)
		pid, _ := strconv.Atoi(procs[j].WaitFor(t, "PID ", 10*time.Second))
		out[j] = &peer{proc: procs[j], self: "http://" + c.addrs[i], control: control, pid: pid}
	}
	return out
}

// fills returns the lines the fills wrote, one per computation:
// "self<TAB>key<TAB>unix nanoseconds".
func (c *clusterEnv) fills(t *testing.T) []string {
	t.Helper()
	b, err := os.ReadFile(c.fillLog)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		if l != "" {
			out = append(out, l)
		}
	}
	return out
}

// computed counts the computations of key.
func (c *clusterEnv) computed(t *testing.T, key string) int {
	n := 0
	for _, l := range c.fills(t) {
		if f := strings.Split(l, "\t"); len(f) >= 2 && f[1] == key {
			n++
		}
	}
	return n
}

var controlClient = &http.Client{Timeout: 30 * time.Second} // a liveness bound, not a speed check

// call sends one control request and returns the status and body.
func (p *peer) call(t *testing.T, method, path string, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, p.control+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	res, err := controlClient.Do(req)
	if err != nil {
		t.Fatalf("peer %s: %s %s: %v", p.self, method, path, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

func q(s string) string { return url.QueryEscape(s) }

func (p *peer) set(t *testing.T, key, value string, ttl time.Duration) {
	t.Helper()
	if code, body := p.call(t, "POST", "/test/set?k="+q(key)+"&ttl="+ttl.String(), value); code != 200 {
		t.Fatalf("peer %s: Set(%q): %d %s", p.self, key, code, body)
	}
}

// get returns the value and whether it was found; err is a failed read.
func (p *peer) get(t *testing.T, key string) (string, bool, string) {
	t.Helper()
	code, body := p.call(t, "GET", "/test/get?k="+q(key), "")
	switch code {
	case 200:
		return body, true, ""
	case 404:
		return "", false, ""
	}
	return "", false, body
}

func (p *peer) wantValue(t *testing.T, key, want string) {
	t.Helper()
	got, found, errText := p.get(t, key)
	if errText != "" || !found || got != want {
		t.Fatalf("peer %s: Get(%q) = %q, found=%v, err=%q; want %q", p.self, key, got, found, errText, want)
	}
}

func (p *peer) wantMiss(t *testing.T, key string) {
	t.Helper()
	got, found, errText := p.get(t, key)
	if errText != "" || found {
		t.Fatalf("peer %s: Get(%q) = %q, found=%v, err=%q; want a miss", p.self, key, got, found, errText)
	}
}

// fill calls Fill of the "count" fill; it returns the value or the error.
func (p *peer) fill(t *testing.T, key string, ttl time.Duration) (string, error) {
	t.Helper()
	code, body := p.call(t, "GET", "/test/fill?k="+q(key)+"&ttl="+ttl.String(), "")
	if code != 200 {
		return "", fmt.Errorf("%d %s", code, body)
	}
	return body, nil
}

func (p *peer) owner(t *testing.T, key string) string {
	_, body := p.call(t, "GET", "/test/owner?k="+q(key), "")
	return body
}

func (p *peer) stop(t *testing.T) {
	t.Helper()
	if res, err := controlClient.Post(p.control+"/test/exit", "text/plain", nil); err == nil {
		res.Body.Close()
	}
	p.proc.Wait(t)
}

// signal sends sig to the peer process; for SIGSTOP it returns once
// the process has stopped.
func (p *peer) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if sig == syscall.SIGSTOP {
		testserver.StopProcess(t, p.pid)
		return
	}
	if err := syscall.Kill(p.pid, sig); err != nil {
		t.Fatal(err)
	}
}

// keyOwnedBy returns a key with prefix whose Set entries peer owner
// stores, asking p.
func keyOwnedBy(t *testing.T, p *peer, prefix, owner string) string {
	t.Helper()
	for i := range 1000 {
		k := prefix + strconv.Itoa(i)
		if p.owner(t, k) == owner {
			return k
		}
	}
	t.Fatalf("no key owned by %s", owner)
	return ""
}

// openURL opens a groupcache:// URL as the core does.
func openURL(rawURL string) (backend.Backend, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	d, ok := backend.Lookup(u.Scheme)
	if !ok {
		return nil, fmt.Errorf("scheme %s is not registered", u.Scheme)
	}
	return d.Open(backend.Config{URL: u, Params: u.Query()})
}

// runPeer is the child side of peer: it opens GC_URL, registers the
// "count" fill, serves the control API and waits for /test/exit.
func runPeer(t *testing.T) {
	raw := os.Getenv("GC_URL")
	b, err := openURL(raw)
	if err != nil {
		t.Fatalf("open %s: %v", raw, err)
	}
	be := b.(*groupcache.Backend)
	wait, _ := time.ParseDuration(os.Getenv("GC_FILL_WAIT"))
	logPath := os.Getenv("GC_FILL_LOG")
	self := be.Self()
	err = be.RegisterFill("count", func(ctx context.Context, key string) ([]byte, error) {
		select {
		case <-time.After(wait):
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		now := time.Now().UnixNano()
		f, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if _, err := fmt.Fprintf(f, "%s\t%s\t%d\n", self, key, now); err != nil {
			return nil, err
		}
		if strings.HasPrefix(key, "fail::") {
			return nil, errors.New("refused " + key)
		}
		return []byte(fmt.Sprintf("%s|%s|%d", key, self, now)), nil
	})
	if err != nil {
		t.Fatal(err)
	}

	exit := make(chan struct{})
	var once sync.Once
	mux := http.NewServeMux()
	mux.HandleFunc("/test/", func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		qs := r.URL.Query()
		k := qs.Get("k")
		ttl, _ := time.ParseDuration(qs.Get("ttl"))
		body, _ := io.ReadAll(r.Body)
		fail := func(err error) { http.Error(w, err.Error(), http.StatusBadGateway) }
		switch strings.TrimPrefix(r.URL.Path, "/test/") {
		case "set":
			if err := be.Set(ctx, k, body, ttl); err != nil {
				fail(err)
			}
		case "get":
			v, found, err := be.Get(ctx, k)
			switch {
			case err != nil:
				fail(err)
			case !found:
				http.Error(w, "miss", http.StatusNotFound)
			default:
				w.Write(v)
			}
		case "delete":
			existed, err := be.Delete(ctx, k)
			if err != nil {
				fail(err)
				return
			}
			fmt.Fprint(w, existed)
		case "deleteprefix":
			n, err := be.DeletePrefix(ctx, qs.Get("p"))
			if err != nil {
				fail(err)
				return
			}
			fmt.Fprint(w, n)
		case "clear":
			if err := be.Clear(ctx); err != nil {
				fail(err)
			}
		case "fill":
			v, err := be.Fill(ctx, "count", k, ttl)
			if err != nil {
				fail(err)
				return
			}
			w.Write(v)
		case "add":
			added, err := be.Add(ctx, k, body, ttl)
			if err != nil {
				fail(err)
				return
			}
			fmt.Fprint(w, added)
		case "incr":
			d, _ := strconv.ParseInt(qs.Get("d"), 10, 64)
			n, err := be.Incr(ctx, k, d)
			if err != nil {
				fail(err)
				return
			}
			fmt.Fprint(w, n)
		case "owner":
			fmt.Fprint(w, be.Owner(k))
		case "ping":
			if err := be.Ping(ctx); err != nil {
				fail(err)
			}
		case "exit":
			once.Do(func() { close(exit) })
		default:
			http.NotFound(w, r)
		}
	})
	var control string
	u, _ := url.Parse(raw)
	if u.Query().Get("listen") == "false" {
		// Mount the node's handler on our own server, next to the control API.
		mux.Handle(groupcache.DefaultBasePath, groupcache.Handler())
		l, err := net.Listen("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		go http.Serve(l, mux)
		control = "http://" + u.Host
	} else {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		go http.Serve(l, mux)
		control = "http://" + l.Addr().String()
	}
	fmt.Printf("CONTROL %s\nPID %d\n", control, os.Getpid())
	select {
	case <-exit:
		time.Sleep(50 * time.Millisecond) // let the answer to /test/exit go out
	case <-time.After(5 * time.Minute):
		t.Fatal("peer was never told to exit")
	}
}
