package redis_test

import (
	"strings"
	"testing"

	"github.com/redis/rueidis"

	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache/backend/backendtest"
	"keyedcache.dev/keyedcache/backend/redis"
)

// TestConformance runs the shared suite on two stores opened on one real
// redis-server (two processes), reached each way a URL can reach it.
func TestConformance(t *testing.T) {
	srv := testserver.Redis(t)
	c := raw(t, rueidis.ClientOption{InitAddress: []string{srv.Addr}})
	t.Run("tcp", func(t *testing.T) {
		backendtest.Run(t, pair(c, "redis://"+srv.Addr))
	})
	t.Run("unix", func(t *testing.T) {
		backendtest.Run(t, pair(c, "unix://"+srv.Socket))
	})
	t.Run("db", func(t *testing.T) {
		backendtest.Run(t, pair(c, "redis://"+srv.Addr+"/3"))
	})
}

// TestConformanceAuth runs the suite as an ACL user with a password.
func TestConformanceAuth(t *testing.T) {
	srv := testserver.Redis(t, testserver.Args("--requirepass", "admin-secret"))
	admin := raw(t, rueidis.ClientOption{InitAddress: []string{srv.Addr}, Password: "admin-secret"})
	ctx := ctxFor(t)
	if err := admin.Do(ctx, admin.B().AclSetuser().Username("app").Rule("on", ">app-secret", "~*", "+@all").Build()).Error(); err != nil {
		t.Fatalf("ACL SETUSER: %v", err)
	}
	backendtest.Run(t, pair(admin, "redis://app:app-secret@"+srv.Addr))
}

// TestConformanceTLS runs the suite over TLS, verifying the server's
// certificate against a CA made for the test.
func TestConformanceTLS(t *testing.T) {
	caFile, certFile, keyFile := redis.WriteCerts(t, t.TempDir())
	srv := testserver.Redis(t, testserver.TLS(certFile, keyFile, caFile))
	c := raw(t, rueidis.ClientOption{InitAddress: []string{srv.Addr}})
	backendtest.Run(t, pair(c, "rediss://"+srv.TLSAddr+"?tls_ca_file="+caFile))
}

// TestConformanceCluster runs the suite on a three-master Redis Cluster.
func TestConformanceCluster(t *testing.T) {
	cl := testserver.RedisCluster(t)
	c := raw(t, rueidis.ClientOption{InitAddress: cl.Addrs})
	backendtest.Run(t, pair(c, "redis-cluster://"+strings.Join(cl.Addrs, ",")))
}

// TestCrossProcess runs the cross-process checks with child processes
// sharing one redis-server.
func TestCrossProcess(t *testing.T) {
	backendtest.CrossProcess(t, func(t *testing.T) string { return patient("redis://" + testserver.Redis(t).Addr) })
}

// TestCrossProcessCluster runs them on a Redis Cluster.
func TestCrossProcessCluster(t *testing.T) {
	backendtest.CrossProcess(t, func(t *testing.T) string {
		return patient("redis-cluster://" + strings.Join(testserver.RedisCluster(t).Addrs, ","))
	})
}

// TestOutage hangs (SIGSTOP), kills and restarts the server under a
// store with its default timeouts.
func TestOutage(t *testing.T) {
	srv := testserver.Redis(t)
	backendtest.Outage(t, "redis://"+srv.Addr, srv)
}
