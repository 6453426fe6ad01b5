package redis_test

import (
	"testing"

	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache/backend/backendtest"
)

// TestInvalidationUnderFaults stops (SIGSTOP) and kills a real
// redis-server under cached functions deleted every 100 ms, with the
// store's default timeouts, and counts stale reads in the deleting
// process and in a child process (see backendtest.InvalidationUnderFaults).
func TestInvalidationUnderFaults(t *testing.T) {
	backendtest.InvalidationUnderFaults(t, func(t *testing.T) (string, backendtest.Server) {
		srv := testserver.Redis(t)
		return "redis://" + srv.Addr, srv
	})
}
