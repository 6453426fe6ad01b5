// Package fuzzopen_test fuzzes the URLs of every backend of the
// repository through keyedcache.Validate, which must never connect,
// listen, start a goroutine or touch a file, whatever host, socket, path
// or certificate file the fuzzer invents.
package fuzzopen_test

import (
	"context"
	"errors"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
	_ "keyedcache.dev/keyedcache/backend/groupcache"
	_ "keyedcache.dev/keyedcache/backend/memcached"
	_ "keyedcache.dev/keyedcache/backend/redis"
	_ "keyedcache.dev/keyedcache/backend/sqldb/postgres"
	_ "keyedcache.dev/keyedcache/backend/sqldb/sqlite"
)

// openFDs lists this process's open file descriptors (Linux), or nil.
func openFDs() []string {
	ents, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		target, _ := os.Readlink(filepath.Join("/proc/self/fd", e.Name()))
		out = append(out, e.Name()+" → "+target)
	}
	return out
}

// validateAlone runs keyedcache.Validate(raw) and fails t if it returned
// anything but nil or a *backend.ConfigError, left a goroutine or a file
// descriptor behind, or made a file in the working directory or at the
// path a file:// or sqlite:// URL names.
func validateAlone(t *testing.T, raw string) error {
	t.Helper()
	var named string // a path that did not exist before, and must not after
	if u, err := url.Parse(raw); err == nil && u.Path != "" {
		if _, err := os.Lstat(u.Path); errors.Is(err, os.ErrNotExist) {
			named = u.Path
		}
	}
	goroutines, fds := runtime.NumGoroutine(), openFDs()
	err := keyedcache.Validate(raw)
	if err != nil {
		var ce *backend.ConfigError
		if !errors.As(err, &ce) {
			t.Fatalf("Validate(%q) = %v, want nil or a *backend.ConfigError", raw, err)
		}
	}
	if n := runtime.NumGoroutine(); n > goroutines {
		t.Fatalf("Validate(%q) left %d goroutines running, %d before", raw, n, goroutines)
	}
	if now := openFDs(); len(now) > len(fds) {
		t.Fatalf("Validate(%q) left file descriptors open: %q, before %q", raw, now, fds)
	}
	if ents, _ := os.ReadDir("."); len(ents) > 0 {
		t.Fatalf("Validate(%q) made %s in the working directory", raw, ents[0].Name())
	}
	if named != "" {
		if _, err := os.Lstat(named); !errors.Is(err, os.ErrNotExist) {
			os.RemoveAll(named)
			t.Fatalf("Validate(%q) made %s", raw, named)
		}
	}
	return err
}

// FuzzOpen: any URL validates to nil or a *backend.ConfigError, and
// nothing else happens (see validateAlone). For the schemes that open
// nothing outside the process, memory:// and dummy://, Open agrees with
// Validate.
func FuzzOpen(f *testing.F) {
	for _, u := range []string{
		"memory://?max_entries=10", "file:///tmp/x?timeout=3", "dummy://", "memory://?timeout=forever&version=2", "%",
		"memory://?max_bytes=1GiB&by_reference=true", "memory://?max_entries=1&max_entries=2", "dummy://?timeout=1&timeout=1",
		"redis://u:p@h:1/0", "redis://127.0.0.1:6379/2?pool_size=257", "rediss://h?tls_ca_file=/dev/zero&tls_cert_file=/dev/zero&tls_key_file=/dev/zero",
		"redis-cluster://a:1,b:2?near_entries=100", "rediss-cluster://a:1?tls_insecure_skip_verify=yes", "unix:///tmp/fuzz-redis.sock?db=3",
		"memcached://a:1,b:2?namespace=app&net_timeout=50ms", "memcached:///tmp/fuzz-mc.sock", "memcached://[::1]:11211?down_retry=0",
		"postgres://u:secret@127.0.0.1:1/db?sslmode=verify-full&sslrootcert=/dev/zero&table=cache", "postgresql:///db?host=/tmp&port=x",
		"postgres://h/db?passfile=/dev/zero&service=x&connect_timeout=-1", "postgres://h/db?default_query_exec_mode=simple_protocol&unlogged=no",
		"groupcache://127.0.0.1:1?peers=http://127.0.0.1:1,http://127.0.0.1:2", "groupcache://?peers=a:1&listen=false", "groupcache://127.0.0.1:99999",
		"sqlite://fuzz.db?table=t&max_conns=2", "sqlite:///tmp/fuzz-dir/x.db", "sqlite::memory:", "file:///nonexistent-fuzz/dir?fsync=1",
	} {
		f.Add(u)
	}
	f.Chdir(f.TempDir())
	f.Fuzz(func(t *testing.T, raw string) {
		err := validateAlone(t, raw)
		u, perr := url.Parse(raw)
		if perr != nil || (u.Scheme != "memory" && u.Scheme != "dummy") {
			return
		}
		c, oerr := keyedcache.Open(raw)
		if oerr == nil {
			c.Close()
		}
		if (err == nil) != (oerr == nil) {
			t.Fatalf("Validate(%q) = %v, but Open gives %v", raw, err, oerr)
		}
	})
}

// TestValidateNeverDials aims a URL of every scheme at a listener of
// the test's own and checks that Validate accepts each without
// connecting to it, and that a groupcache node's address stays free;
// then that Open of the same Redis URL does connect, so that the check
// can see a connection.
func TestValidateNeverDials(t *testing.T) {
	t.Chdir(t.TempDir())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	sock := filepath.Join(t.TempDir(), "s.sock")
	uln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	defer uln.Close()
	accepted := make(chan string, 100)
	for _, l := range []net.Listener{ln, uln} {
		go func() {
			for {
				c, err := l.Accept()
				if err != nil {
					return
				}
				accepted <- c.LocalAddr().String()
				c.Close()
			}
		}()
	}
	free, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	freeAddr := free.Addr().String()
	free.Close()

	addr := ln.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	urls := []string{
		"redis://" + addr + "/1",
		"redis://u:p@" + addr + "?pool_size=4&dial_timeout=1s",
		"rediss://" + addr + "?tls_server_name=x",
		"redis-cluster://" + addr + "," + addr[:len(addr)-len(port)] + strconv.Itoa(mustAtoi(t, port)+1),
		"rediss-cluster://" + addr,
		"unix://" + sock + "?db=2",
		"memcached://" + addr,
		"memcached://" + sock + "?namespace=x",
		"postgres://u:p@" + addr + "/db?sslmode=disable",
		"postgresql:///db?host=" + url.QueryEscape(filepath.Dir(sock)) + "&port=" + port,
		"groupcache://" + freeAddr + "?peers=http://" + freeAddr + ",http://" + addr,
		"groupcache://?peers=http://" + addr,
		"sqlite://cache.db",
		"sqlite://" + filepath.Join(t.TempDir(), "sub", "cache.db"),
		"file://" + filepath.Join(t.TempDir(), "cache"),
		"memory://", "dummy://",
	}
	for _, raw := range urls {
		if err := validateAlone(t, raw); err != nil {
			t.Errorf("Validate(%q) = %v, want nil", raw, err)
		}
	}
	select {
	case a := <-accepted:
		t.Fatalf("Validate connected to %s", a)
	case <-time.After(100 * time.Millisecond):
	}
	l, err := net.Listen("tcp", freeAddr)
	if err != nil {
		t.Fatalf("after Validate of a groupcache node at %s the address is taken: %v", freeAddr, err)
	}
	l.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c, err := keyedcache.Open("redis://" + addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	go c.Backend().Get(ctx, "k")
	select {
	case <-accepted:
	case <-ctx.Done():
		t.Fatal("Open and Get of a redis:// URL never connected: the check above could not have seen a connection")
	}
}

func mustAtoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
