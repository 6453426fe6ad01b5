package memcached_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/memcached"
)

func TestDriverParams(t *testing.T) {
	d, ok := backend.Lookup("memcached")
	if !ok {
		t.Fatal("scheme memcached is not registered")
	}
	var names []string
	for _, p := range d.Params {
		names = append(names, p.Name)
		if p.Doc == "" {
			t.Errorf("parameter %s has no doc", p.Name)
		}
	}
	want := []string{"namespace", "net_timeout", "max_idle_conns", "down_retry"}
	if d := cmp.Diff(want, names); d != "" {
		t.Errorf("Params (-want +got):\n%s", d)
	}
}

// TestOpen opens URLs (no server is contacted: a Store connects on its
// first call).
func TestOpen(t *testing.T) {
	cases := []struct {
		url  string
		want memcached.Options
	}{
		{"memcached://127.0.0.1:11211", memcached.Options{
			Servers: []string{"127.0.0.1:11211"}, Timeout: memcached.DefaultTimeout,
			MaxIdleConns: memcached.DefaultMaxIdleConns, DownRetry: memcached.DefaultDownRetry}},
		{"memcached://cache1,cache2:11311,10.0.0.3:11411/?namespace=app:&net_timeout=0.1&max_idle_conns=200&down_retry=5s", memcached.Options{
			Servers: []string{"cache1:11211", "cache2:11311", "10.0.0.3:11411"}, Namespace: "app:",
			Timeout: 100 * time.Millisecond, MaxIdleConns: 200, DownRetry: 5 * time.Second}},
		{"memcached://[::1]:11411", memcached.Options{
			Servers: []string{"[::1]:11411"}, Timeout: memcached.DefaultTimeout,
			MaxIdleConns: memcached.DefaultMaxIdleConns, DownRetry: memcached.DefaultDownRetry}},
		{"memcached:///run/memcached/mc.sock?down_retry=0&net_timeout=1s", memcached.Options{
			Servers: []string{"/run/memcached/mc.sock"}, Timeout: time.Second,
			MaxIdleConns: memcached.DefaultMaxIdleConns, DownRetry: -1}},
	}
	for _, c := range cases {
		b, err := openURL(t, c.url)
		if err != nil {
			t.Errorf("%s: %v", c.url, err)
			continue
		}
		if d := cmp.Diff(c.want, b.(*memcached.Store).Options()); d != "" {
			t.Errorf("%s: options (-want +got):\n%s", c.url, d)
		}
	}
}

// TestOpenErrors checks that every bad URL is refused with a
// *backend.ConfigError that names what is wrong.
func TestOpenErrors(t *testing.T) {
	cases := []struct {
		url, param string
		says       []string // the message contains each
	}{
		{"memcached://h:1?pool=3", "pool", []string{"unknown parameter", "namespace, net_timeout, max_idle_conns, down_retry"}},
		{"memcached://h:1?net_timeout=fast", "net_timeout", []string{`"fast"`, "duration"}},
		{"memcached://h:1?net_timeout=-1", "net_timeout", []string{`"-1"`}},
		{"memcached://h:1?max_idle_conns=0", "max_idle_conns", []string{"≥ 1"}},
		{"memcached://h:1?max_idle_conns=many", "max_idle_conns", []string{`"many"`}},
		{"memcached://h:1?down_retry=-2s", "down_retry", []string{`"-2s"`}},
		{"memcached://h:1?namespace=a%20b", "namespace", []string{"space"}},
		{"memcached://h:1?namespace=" + strings.Repeat("n", 65), "namespace", []string{"64 bytes"}},
		{"memcached://h:99999", "", []string{`"h:99999"`, "port"}},
		{"memcached://h:0", "", []string{"port"}},
		{"memcached://h:1,,h:2", "", []string{"bad server address"}},
		{"memcached://h:1,h:1", "", []string{"listed twice"}},
		{"memcached://user:secret@h:1", "", []string{"authentication"}},
		{"memcached://h:1/run/mc.sock", "", []string{"not both"}},
		{"memcached://", "", []string{"no server"}},
		{"memcached:relative", "", []string{"memcached://host:port"}},
	}
	for _, c := range cases {
		_, err := openURL(t, c.url)
		var ce *backend.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%s: err = %v, want a *backend.ConfigError", c.url, err)
			continue
		}
		if ce.Param != c.param {
			t.Errorf("%s: ConfigError.Param = %q, want %q (%v)", c.url, ce.Param, c.param, err)
		}
		for _, s := range c.says {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: error %q does not say %q", c.url, err, s)
			}
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error shows the password: %v", c.url, err)
		}
	}
}

// TestOpenThroughCore checks the URL as users write it: the core takes
// its own parameters and hands the rest to the driver, and an unknown
// one lists both.
func TestOpenThroughCore(t *testing.T) {
	c, err := keyedcache.Open("memcached://127.0.0.1:11211?timeout=60&key_prefix=app&namespace=ns:&max_idle_conns=8")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Backend().Close()
	if got := c.Backend().(*memcached.Store).Options().MaxIdleConns; got != 8 {
		t.Errorf("max_idle_conns = %d, want 8", got)
	}
	if c.Timeout() != time.Minute || c.KeyPrefix() != "app::" {
		t.Errorf("timeout %v, key prefix %q", c.Timeout(), c.KeyPrefix())
	}
	_, err = keyedcache.Open("memcached://127.0.0.1:11211?max_idle=8")
	var ce *backend.ConfigError
	if !errors.As(err, &ce) || ce.Param != "max_idle" || !strings.Contains(err.Error(), "key_prefix") || !strings.Contains(err.Error(), "max_idle_conns") {
		t.Fatalf("unknown parameter through the core: %v", err)
	}
}

func TestNewErrors(t *testing.T) {
	if _, err := memcached.New(memcached.Options{}); err == nil {
		t.Error("New with no server succeeded")
	}
	if _, err := memcached.New(memcached.Options{Servers: []string{"h:1"}, Namespace: "tab\t"}); err == nil {
		t.Error("New with a namespace holding a tab succeeded")
	}
}
