package memcached_test

import (
	"testing"

	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache/backend/backendtest"
)

// TestCrossProcess runs the shared cross-process test: child processes
// of this test binary and this process share real memcached servers
// (three, so that a key and its generation tokens live on different
// servers). The network timeout is suiteTimeout: a write that timed
// out on a loaded machine is dropped, which is right, but the other
// process would then miss the value the test expects it to read.
func TestCrossProcess(t *testing.T) {
	backendtest.CrossProcess(t, func(t *testing.T) string {
		s1, s2, s3 := startServer(t), startServer(t), startServer(t)
		return "memcached://" + s1.Addr + "," + s2.Addr + "," + s3.Addr + "?net_timeout=" + suiteTimeout.String()
	})
}

// TestOutage runs the shared server-failure test on the default
// timeouts: hung (SIGSTOP), resumed, killed and restarted on the same
// port; the Store reconnects by itself.
func TestOutage(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	backendtest.Outage(t, "memcached://"+srv.Addr, settled{srv})
}

// settled waits for a pause to land (see pause).
type settled struct{ *testserver.Server }

func (s settled) Pause() { pause(s.Server) }
