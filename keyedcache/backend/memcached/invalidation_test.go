package memcached_test

import (
	"testing"

	"keyedcache.dev/keyedcache/backend/backendtest"
)

// TestInvalidationUnderFaults stops (SIGSTOP) and kills a real memcached
// under cached functions deleted every 100 ms — delete with children
// through namespace generations here — with the store's default
// timeouts, and counts stale reads in the deleting process and in a
// child process (see backendtest.InvalidationUnderFaults).
func TestInvalidationUnderFaults(t *testing.T) {
	backendtest.InvalidationUnderFaults(t, func(t *testing.T) (string, backendtest.Server) {
		srv := startServer(t)
		return "memcached://" + srv.Addr, settled{srv}
	})
}
