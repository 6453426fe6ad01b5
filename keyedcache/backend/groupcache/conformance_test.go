package groupcache_test

import (
	"fmt"
	"os"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"

	"keyedcache.dev/internal/testproc"
	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/backendtest"
	"keyedcache.dev/keyedcache/backend/groupcache"
)

// TestConformance runs the shared suite in a child process that is one
// of three peers; the other two are children as well. The suite's two
// backends are two Backend values on the child's node (one node per
// process), sharing a namespace fresh for each case, so a third of its
// keys live in the child and the rest in the other two processes.
func TestConformance(t *testing.T) {
	switch role, _ := testproc.Role(); role {
	case "peer":
		runPeer(t)
		return
	case "suite":
		runSuite(t)
		return
	}
	c := newCluster(t, 3, slowMachine)
	peers := c.startAll(t, map[int]bool{1: false, 2: true})
	suite := testproc.Start(t, "suite", c.env(0, false)...)
	suite.Wait(t)
	if out := suite.Output(); !strings.Contains(out, "--- PASS: TestConformance/raw/Capabilities") || !strings.Contains(out, "--- PASS: TestConformance/cache/Concurrent") {
		t.Fatalf("the suite did not run its cases:\n%s", out)
	}
	for _, line := range strings.Split(suite.Output(), "\n") {
		if strings.Contains(line, "--- ") {
			t.Log(strings.TrimSpace(line)) // the child's verdicts, for -v
		}
	}
	for _, p := range peers {
		p.stop(t)
	}
}

func runSuite(t *testing.T) {
	raw := os.Getenv("GC_URL")
	var n atomic.Int64
	backendtest.Run(t, func(t *testing.T) (a, b backend.Backend) {
		ns := fmt.Sprintf("case%d", n.Add(1))
		open := func() backend.Backend {
			be, err := openURL(raw + "&namespace=" + ns)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { be.Close() })
			return be
		}
		a, b = open(), open()
		if a.(*groupcache.Backend).Namespace() != ns {
			t.Fatalf("namespace = %q, want %q", a.(*groupcache.Backend).Namespace(), ns)
		}
		return a, b
	})
}

// TestClientMode runs the suite, then the shared cross-process test, in
// this process as a client of three peer processes: it serves and keeps
// nothing and asks the peers, which keep the entries while clients come
// and go.
func TestClientMode(t *testing.T) {
	if role, ok := testproc.Role(); ok {
		if role == "peer" {
			runPeer(t)
		} else { // a child of the cross-process test
			t.Run("CrossProcess", func(t *testing.T) { backendtest.CrossProcess(t, nil) })
		}
		return
	}
	c := newCluster(t, 3, slowMachine)
	peers := c.startAll(t, map[int]bool{0: false, 1: false, 2: true})
	url := "groupcache://?peers=" + c.peers() + slowMachine
	t.Run("Conformance", func(t *testing.T) {
		var n atomic.Int64
		backendtest.Run(t, func(t *testing.T) (a, b backend.Backend) {
			ns := fmt.Sprintf("client%d", n.Add(1))
			open := func() backend.Backend {
				be, err := openURL(url + "&namespace=" + ns)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { be.Close() })
				return be
			}
			return open(), open()
		})
	})
	t.Run("CrossProcess", func(t *testing.T) {
		backendtest.CrossProcess(t, func(*testing.T) string { return url + "&namespace=xp" })
	})
	for _, p := range peers {
		p.stop(t)
	}
}

// TestOutage runs the shared outage test on a client of one peer
// process, which the suite stops, kills and restarts.
func TestOutage(t *testing.T) {
	if role, ok := testproc.Role(); ok && role == "peer" {
		runPeer(t)
		return
	}
	c := newCluster(t, 1, "")
	srv := &peerServer{t: t, c: c, p: c.start(t, 0, false)}
	backendtest.Outage(t, "groupcache://?peers="+c.peers(), srv)
	srv.p.stop(t)
}

// peerServer is a peer process as a backendtest.Server.
type peerServer struct {
	t *testing.T
	c *clusterEnv
	p *peer
}

func (s *peerServer) Pause()   { s.p.signal(s.t, syscall.SIGSTOP) }
func (s *peerServer) Resume()  { s.p.signal(s.t, syscall.SIGCONT) }
func (s *peerServer) Kill()    { s.p.proc.Kill() }
func (s *peerServer) Restart() { s.p = s.c.start(s.t, 0, false) }
