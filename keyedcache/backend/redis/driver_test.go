package redis_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
	_ "keyedcache.dev/keyedcache/backend/redis"
)

// TestSchemes checks that importing the package registers every scheme.
func TestSchemes(t *testing.T) {
	for _, s := range []string{"redis", "rediss", "unix", "redis-cluster", "rediss-cluster"} {
		if !slices.Contains(backend.Schemes(), s) {
			t.Errorf("scheme %s is not registered (have %v)", s, backend.Schemes())
		}
	}
}

// TestUnknownParameter checks that the core rejects a parameter a scheme
// does not read, listing the scheme's own: TLS options only on the TLS
// schemes, db not on a cluster.
func TestUnknownParameter(t *testing.T) {
	for _, c := range []struct {
		url          string
		param        string
		valid, never []string
	}{
		{"redis://:hunter2@127.0.0.1:1?tls_ca_file=/x", "tls_ca_file",
			[]string{"db", "pool_size", "dial_timeout", "read_timeout", "timeout", "key_prefix"}, []string{"tls_server_name"}},
		{"rediss://:hunter2@127.0.0.1:1?poolsize=3", "poolsize",
			[]string{"db", "pool_size", "tls_ca_file", "tls_cert_file", "tls_key_file", "tls_server_name", "tls_insecure_skip_verify"}, nil},
		{"unix://:hunter2@/tmp/none.sock?host=x", "host", []string{"db", "read_timeout"}, []string{"tls_ca_file"}},
		{"redis-cluster://:hunter2@127.0.0.1:1?db=2", "db", []string{"pool_size", "read_timeout"}, []string{"db", "tls_ca_file"}},
		{"rediss-cluster://:hunter2@127.0.0.1:1?db=2", "db", []string{"pool_size", "tls_ca_file"}, []string{"db"}},
	} {
		_, err := keyedcache.Open(c.url)
		var ce *backend.ConfigError
		if !errors.As(err, &ce) || ce.Param != c.param {
			t.Errorf("%s: error %v, want a ConfigError for %s", c.url, err, c.param)
			continue
		}
		for _, v := range c.valid {
			if !slices.Contains(ce.Valid, v) {
				t.Errorf("%s: valid parameters %v lack %s", c.url, ce.Valid, v)
			}
		}
		for _, v := range c.never {
			if slices.Contains(ce.Valid, v) {
				t.Errorf("%s: valid parameters %v include %s", c.url, ce.Valid, v)
			}
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error shows the password: %v", c.url, err)
		}
	}
}

// TestBadValueThroughCore checks that a bad value reaches the user as the
// driver's ConfigError, and that a good URL's password never shows.
func TestBadValueThroughCore(t *testing.T) {
	_, err := keyedcache.Open("redis://:hunter2@127.0.0.1:1?read_timeout=never")
	var ce *backend.ConfigError
	if !errors.As(err, &ce) || ce.Param != "read_timeout" || ce.Value != "never" {
		t.Fatalf("error %v; want a ConfigError for read_timeout=never", err)
	}
	if strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("the error shows the password: %v", err)
	}
	// Opening does not need the server: a store connects in the background.
	c, err := keyedcache.Open("redis://app:hunter2@127.0.0.1:1/2?key_prefix=shop")
	if err != nil {
		t.Fatalf("Open with no server listening: %v", err)
	}
	defer c.Close()
	for _, shown := range []string{c.URL(), c.Stats().Backend} {
		if strings.Contains(shown, "hunter2") {
			t.Fatalf("the cache shows the password: %s", shown)
		}
	}
}

// TestPoolSizeLimit: pool_size above what the client keeps is refused at
// Open, naming the parameter, instead of opening a cache whose every call
// fails; the largest accepted size works against a real server.
func TestPoolSizeLimit(t *testing.T) {
	_, err := keyedcache.Open("redis://127.0.0.1:1?pool_size=257")
	var ce *backend.ConfigError
	if !errors.As(err, &ce) || ce.Param != "pool_size" || ce.Value != "257" {
		t.Fatalf("pool_size=257: %v, want a ConfigError for pool_size", err)
	}
	srv := testserver.Redis(t)
	c, err := keyedcache.Open("redis://" + srv.Addr + "?pool_size=256")
	if err != nil {
		t.Fatalf("pool_size=256: %v", err)
	}
	defer c.Close()
	ctx := ctxFor(t)
	if err := c.Require(ctx); err != nil {
		t.Fatalf("Require with pool_size=256: %v", err)
	}
	c.Set(ctx, "k", "v")
	if v, err := keyedcache.Get[string](ctx, c, "k"); v != "v" || err != nil {
		t.Fatalf("Get with pool_size=256 = %q, %v", v, err)
	}
}
