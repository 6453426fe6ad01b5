package testserver

import (
	"fmt"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

const redisHint = "apt-get install redis-server redis-tools"

// An Option adjusts a server started by Redis or Memcached.
type Option func(*options)

type options struct {
	args             []string
	cert, key, caCrt string
}

// Args adds command-line arguments to the server (for example
// Args("--requirepass", "secret")).
func Args(args ...string) Option {
	return func(o *options) { o.args = append(o.args, args...) }
}

// TLS makes Redis also listen with TLS on Server.TLSAddr, with the given
// PEM files; clients are not asked for certificates.
func TLS(certFile, keyFile, caFile string) Option {
	return func(o *options) { o.cert, o.key, o.caCrt = certFile, keyFile, caFile }
}

// Redis starts redis-server on a free 127.0.0.1 port with no
// persistence, also listening on the unix socket Server.Socket.
func Redis(t testing.TB, opts ...Option) *Server {
	t.Helper()
	bin := need(t, "redis-server", redisHint)
	var o options
	for _, f := range opts {
		f(&o)
	}
	s := &Server{t: t, name: "redis-server", bin: bin, Dir: newDir(t, "redis")}
	s.Socket = filepath.Join(s.Dir, "redis.sock")
	s.ready = func(s *Server) error {
		line, err := dial(s, "PING\r\n")
		if err != nil {
			return err
		}
		if strings.HasPrefix(line, "-NOAUTH") {
			return nil // ready, with a password
		}
		return hasPrefix(line, "+PONG")
	}
	return launch(t, s, false, func(port int) []string {
		args := redisArgs(s, port)
		if o.cert != "" {
			if s.TLSAddr == "" {
				s.TLSAddr = "127.0.0.1:" + strconv.Itoa(FreePort(t, false))
			}
			_, tp, _ := strings.Cut(s.TLSAddr, ":")
			args = append(args, "--tls-port", tp, "--tls-cert-file", o.cert, "--tls-key-file", o.key,
				"--tls-ca-cert-file", o.caCrt, "--tls-auth-clients", "no")
		}
		return append(args, o.args...)
	})
}

func redisArgs(s *Server, port int) []string {
	return []string{
		"--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--dir", s.Dir,
		"--save", "", "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
		"--unixsocket", s.Socket, "--unixsocketperm", "700",
	}
}

// A Cluster is a Redis Cluster of three masters on loopback.
type Cluster struct {
	// Addrs are the masters' "127.0.0.1:port" addresses.
	Addrs []string
	// Nodes are the masters.
	Nodes []*Server
}

// RedisCluster starts three redis-server processes in cluster mode,
// joins them with redis-cli --cluster create and waits until the cluster
// is ready.
func RedisCluster(t testing.TB) *Cluster {
	t.Helper()
	bin := need(t, "redis-server", redisHint)
	cli := need(t, "redis-cli", redisHint)
	c := &Cluster{}
	for i := range 3 {
		s := &Server{t: t, name: fmt.Sprintf("redis-cluster-%d", i), bin: bin, Dir: newDir(t, "rcl")}
		s.Socket = filepath.Join(s.Dir, "redis.sock")
		s.ready = func(s *Server) error {
			line, err := dial(s, "PING\r\n")
			if err != nil {
				return err
			}
			return hasPrefix(line, "+PONG")
		}
		launch(t, s, true, func(port int) []string {
			return append(redisArgs(s, port), "--cluster-enabled", "yes",
				"--cluster-config-file", filepath.Join(s.Dir, "nodes.conf"),
				"--cluster-node-timeout", "2000")
		})
		c.Nodes = append(c.Nodes, s)
		c.Addrs = append(c.Addrs, s.Addr)
	}
	args := append([]string{"--cluster", "create"}, c.Addrs...)
	args = append(args, "--cluster-replicas", "0", "--cluster-yes")
	if out, err := exec.Command(cli, args...).CombinedOutput(); err != nil {
		t.Fatalf("testserver: redis-cli --cluster create: %v\n%s", err, out)
	}
	deadline := time.Now().Add(30 * time.Second)
	for _, s := range c.Nodes {
		for {
			out, _ := exec.Command(cli, "-h", "127.0.0.1", "-p", strconv.Itoa(s.Port), "cluster", "info").Output()
			slots, _ := exec.Command(cli, "-h", "127.0.0.1", "-p", strconv.Itoa(s.Port), "cluster", "slots").Output()
			if strings.Contains(string(out), "cluster_state:ok") && strings.Count(string(slots), "\n") > 0 && allKnown(string(slots), c.Addrs) {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("testserver: redis cluster not ready:\n%s", out)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return c
}

// allKnown reports whether a CLUSTER SLOTS reply names every master.
func allKnown(slots string, addrs []string) bool {
	for _, a := range addrs {
		_, port, _ := strings.Cut(a, ":")
		if !strings.Contains(slots, "\n"+port+"\n") {
			return false
		}
	}
	return true
}
