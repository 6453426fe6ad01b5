package testserver

import (
	"io"
	"net"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// answers reports whether s replies to req within a short deadline.
func answers(s *Server, req, want string) bool {
	line, err := dialTimeout(s, req, 300*time.Millisecond)
	return err == nil && strings.HasPrefix(line, want)
}

func dialTimeout(s *Server, req string, d time.Duration) (string, error) {
	c, err := net.DialTimeout("tcp", s.Addr, d)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(d))
	if _, err := c.Write([]byte(req)); err != nil {
		return "", err
	}
	buf := make([]byte, 64)
	n, err := c.Read(buf)
	return string(buf[:n]), err
}

func TestRedisLifecycle(t *testing.T) {
	s := Redis(t)
	if !answers(s, "PING\r\n", "+PONG") {
		t.Fatal("redis does not answer")
	}
	out, err := exec.Command("redis-cli", "-s", s.Socket, "ping").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "PONG") {
		t.Fatalf("unix socket: %v %s", err, out)
	}
	s.Pause()
	if answers(s, "PING\r\n", "+PONG") {
		t.Fatal("a paused redis answered")
	}
	s.Resume()
	if !answers(s, "PING\r\n", "+PONG") {
		t.Fatal("a resumed redis does not answer")
	}
	s.Kill()
	if answers(s, "PING\r\n", "+PONG") {
		t.Fatal("a killed redis answered")
	}
	s.Restart()
	if !answers(s, "PING\r\n", "+PONG") {
		t.Fatal("a restarted redis does not answer")
	}
}

func TestRedisCluster(t *testing.T) {
	c := RedisCluster(t)
	if len(c.Addrs) != 3 {
		t.Fatalf("%d masters", len(c.Addrs))
	}
	out, err := exec.Command("redis-cli", "-c", "-p", itoa(c.Nodes[0].Port), "set", "{x}k", "v").CombinedOutput()
	if err != nil || !strings.Contains(string(out), "OK") {
		t.Fatalf("set through the cluster: %v %s", err, out)
	}
}

func TestMemcachedLifecycle(t *testing.T) {
	s := Memcached(t)
	if !answers(s, "version\r\n", "VERSION") {
		t.Fatal("memcached does not answer")
	}
	s.Kill()
	s.Restart()
	if !answers(s, "version\r\n", "VERSION") {
		t.Fatal("a restarted memcached does not answer")
	}
}

func TestPostgresLifecycle(t *testing.T) {
	s := Postgres(t)
	psql, err := exec.LookPath("psql")
	if err != nil {
		t.Fatalf("psql: %v", err)
	}
	q := func() (string, error) {
		out, err := exec.Command(psql, s.DSN, "-Atc", "select current_database()").CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	if out, err := q(); err != nil || out != "keyedcache" {
		t.Fatalf("query: %v %q", err, out)
	}
	s.Kill()
	if _, err := q(); err == nil {
		t.Fatal("a killed postgres answered")
	}
	s.Restart()
	if out, err := q(); err != nil || out != "keyedcache" {
		t.Fatalf("query after restart: %v %q", err, out)
	}
}

func itoa(n int) string { return strconv.Itoa(n) }

func TestPostgresPauseReachesOpenConnections(t *testing.T) {
	s := Postgres(t)
	// A psql session opened before the pause must not answer during it.
	cmd := exec.Command("psql", s.DSN, "-At")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	var out logBuffer
	cmd.Stdout = &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	io.WriteString(stdin, "select 'before';\n")
	waitFor(t, &out, "before")
	s.Pause()
	io.WriteString(stdin, "select 'during';\n")
	time.Sleep(300 * time.Millisecond)
	if strings.Contains(out.String(), "during") {
		t.Fatal("an open connection answered while the server was paused")
	}
	s.Resume()
	waitFor(t, &out, "during")
}

func waitFor(t *testing.T, out *logBuffer, s string) {
	t.Helper()
	for range 200 {
		if strings.Contains(out.String(), s) {
			return
		}
		time.Sleep(25 * time.Millisecond)
	}
	t.Fatalf("psql never printed %q; got %q", s, out.String())
}
