package memcached_test

import (
	"testing"
	"time"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/backendtest"
	"keyedcache.dev/keyedcache/backend/memcached"
)

// slack is how much longer than its ttl an entry may live: a ttl is
// rounded up to whole seconds plus one (see the package documentation),
// so an entry of 100ms lives up to 2s; the rest is a margin for a
// loaded machine, on which memcached's once-a-second clock update can
// come late.
const slack = 2500 * time.Millisecond

// suiteTimeout is the network timeout of the Stores the suite and the
// tests that are not about timeouts run on (see newStore).
// The default (250ms) is meant for a production client; here 50
// goroutines under the race detector share two cores with other jobs,
// and a goroutine that waits that long for a CPU finds its read timed
// out although the reply came in time.
const suiteTimeout = 2 * time.Second

// TestConformance runs the shared suite on one real memcached, through
// two Stores (two connection pools, standing for two processes). Each
// case gets a namespace of its own, which is also what the backend's
// Clear removes.
func TestConformance(t *testing.T) {
	t.Parallel()
	srv := startServer(t)
	backendtest.Run(t, func(t *testing.T) (a, b backend.Backend) {
		opts := memcached.Options{Servers: []string{srv.Addr}, Namespace: freshNamespace(), Timeout: suiteTimeout}
		return newStore(t, opts), newStore(t, opts)
	}, backendtest.Slack(slack))
}

// TestConformancePool runs it on three real memcached processes, the keys
// spread over them by consistent hashing; the two Stores list the
// servers in different orders, as two processes configured by hand
// might, and must still agree on where every key lives.
func TestConformancePool(t *testing.T) {
	t.Parallel()
	s1, s2, s3 := startServer(t), startServer(t), startServer(t)
	backendtest.Run(t, func(t *testing.T) (a, b backend.Backend) {
		ns := freshNamespace()
		a = newStore(t, memcached.Options{Servers: []string{s1.Addr, s2.Addr, s3.Addr}, Namespace: ns, Timeout: suiteTimeout})
		b = newStore(t, memcached.Options{Servers: []string{s3.Addr, s1.Addr, s2.Addr}, Namespace: ns, Timeout: suiteTimeout})
		return a, b
	}, backendtest.Slack(slack))
}
