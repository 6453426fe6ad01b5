package memcached_test

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend/memcached"
)

// startUnixServer starts memcached on a unix socket only. testserver
// starts memcached on TCP, and memcached's -s turns TCP off, so this
// test starts its own; a missing binary skips the test, or fails it
// with CI=true, as testserver does.
func startUnixServer(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("memcached")
	if err != nil {
		msg := "memcached not found (apt-get install memcached)"
		if os.Getenv("CI") == "true" {
			t.Fatal(msg + " (CI=true: a missing server is a failure)")
		}
		t.Skip(msg)
	}
	dir, err := os.MkdirTemp("", "kc-mcsock-") // short: socket paths are limited to ~100 bytes
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	sock := filepath.Join(dir, "mc.sock")
	args := []string{"-s", sock, "-a", "0700", "-m", "16", "-t", "1"}
	if os.Geteuid() == 0 {
		args = append(args, "-u", "root")
	}
	cmd := exec.Command(bin, args...)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	for deadline := time.Now().Add(10 * time.Second); ; {
		if c, err := net.Dial("unix", sock); err == nil {
			c.Close()
			return sock
		}
		if time.Now().After(deadline) {
			t.Fatal("memcached did not open its unix socket within 10s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestUnixSocket runs the main calls through a memcached:///path URL.
func TestUnixSocket(t *testing.T) {
	sock := startUnixServer(t)
	ctx := ctxFor(t)
	b, err := openURL(t, "memcached://"+sock+"?namespace=u:")
	if err != nil {
		t.Fatal(err)
	}
	s := b.(*memcached.Store)
	if err := s.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
		t.Fatalf("Set over a unix socket: %v", err)
	}
	if v, found, err := s.Get(ctx, "k"); err != nil || !found || string(v) != "v" {
		t.Fatalf("Get = %q, %v, %v", v, found, err)
	}
	if added, err := s.Add(ctx, "k", []byte("w"), time.Minute); err != nil || added {
		t.Fatalf("Add over a live key = %v, %v", added, err)
	}
	if left, found, err := s.TTL(ctx, "k"); err != nil || !found || left > time.Minute || left < 55*time.Second {
		t.Fatalf("TTL = %v, %v, %v", left, found, err)
	}
	var keys []string
	if complete, err := s.ScanKeys(ctx, "", func(k string) bool { keys = append(keys, k); return true }); err != nil || !complete || len(keys) != 1 || keys[0] != "k" {
		t.Fatalf("ScanKeys = %q, %v, %v", keys, complete, err)
	}
	st, err := s.BackendStats(ctx)
	if err != nil || st["curr_items"] != "1" {
		t.Fatalf("BackendStats: curr_items=%q, %v", st["curr_items"], err)
	}
	if err := s.Ping(ctx); err != nil {
		t.Fatalf("Ping: %v", err)
	}
	if err := s.Clear(ctx); err != nil {
		t.Fatalf("Clear: %v", err)
	}
	if _, found, _ := s.Get(ctx, "k"); found {
		t.Fatal("k survived Clear")
	}

	c, err := keyedcache.Open("memcached://" + sock + "?key_prefix=app")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Backend().Close()
	if err := c.Set(ctx, "typed", []int{1, 2}); err != nil {
		t.Fatal(err)
	}
	if v, err := keyedcache.Get[[]int](ctx, c, "typed"); err != nil || len(v) != 2 {
		t.Fatalf("through the core: %v, %v", v, err)
	}
}
