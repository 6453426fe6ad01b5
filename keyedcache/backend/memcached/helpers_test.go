package memcached_test

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"net/url"
	"strings"
	"testing"
	"time"

	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/memcached"
)

// startServer starts a memcached for one test. Its item size limit is
// 2 MiB, because the conformance suite stores 1 MiB values, which the
// default limit (1 MiB including key and header) refuses; see
// TestTooLargeValue for what happens then.
func startServer(t testing.TB) *testserver.Server {
	t.Helper()
	return testserver.Memcached(t, testserver.Args("-I", "2m"))
}

// freshNamespace returns a namespace no other test uses.
func freshNamespace() string {
	var b [6]byte
	rand.Read(b[:])
	return "t" + hex.EncodeToString(b[:]) + ":"
}

// newStore opens a Store that is closed when t ends. A Store whose
// options set no Timeout gets suiteTimeout, not the default: the tests
// that are about timeouts set their own, and for the others a read
// timed out on a loaded machine is a failure that says nothing.
func newStore(t testing.TB, opts memcached.Options) *memcached.Store {
	t.Helper()
	if opts.Timeout == 0 {
		opts.Timeout = suiteTimeout
	}
	s, err := memcached.New(opts)
	if err != nil {
		t.Fatalf("memcached.New: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// openURL opens a backend through the registered driver, as the core
// does (its own parameters removed).
func openURL(t testing.TB, rawURL string) (backend.Backend, error) {
	t.Helper()
	d, ok := backend.Lookup("memcached")
	if !ok {
		t.Fatal("scheme memcached is not registered")
	}
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	b, err := d.Open(backend.Config{URL: u, Params: u.Query()})
	if err == nil {
		t.Cleanup(func() { b.Close() })
	}
	return b, err
}

func ctxFor(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// serverKeys lists the keys a server holds, as it stores them, by
// speaking the protocol directly (not through the package under test).
func serverKeys(t testing.TB, addr string) []string {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write([]byte("lru_crawler metadump hash\r\n")); err != nil {
		t.Fatal(err)
	}
	var keys []string
	sc := bufio.NewScanner(nc)
	for sc.Scan() {
		line := sc.Text()
		if line == "END" {
			return keys
		}
		f, _, _ := strings.Cut(line, " ")
		k, ok := strings.CutPrefix(f, "key=")
		if !ok {
			t.Fatalf("metadump: unexpected line %q", line)
		}
		k, err := url.PathUnescape(k)
		if err != nil {
			t.Fatalf("metadump: %v", err)
		}
		keys = append(keys, k)
	}
	t.Fatalf("metadump: %v", sc.Err())
	return nil
}

// serverStat returns one figure of a server's stats, read directly.
func serverStat(t testing.TB, addr, name string) string {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := nc.Write([]byte("stats\r\n")); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(nc)
	for sc.Scan() {
		line := sc.Text()
		if line == "END" {
			break
		}
		if v, ok := strings.CutPrefix(line, "STAT "+name+" "); ok {
			return v
		}
	}
	t.Fatalf("stats of %s: no %s", addr, name)
	return ""
}
