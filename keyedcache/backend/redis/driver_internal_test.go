package redis

import (
	"crypto/tls"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"keyedcache.dev/keyedcache/backend"
)

func parse(t *testing.T, raw string) (Options, error) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("url.Parse(%q): %v", raw, err)
	}
	return parseConfig(backend.Config{URL: u, Params: u.Query()})
}

// defaults fills the timeouts parseConfig always sets.
func defaults(o Options) Options {
	o.DialTimeout = orDefault(o.DialTimeout, DefaultDialTimeout)
	o.ReadTimeout = orDefault(o.ReadTimeout, DefaultReadTimeout)
	o.WriteTimeout = orDefault(o.WriteTimeout, o.ReadTimeout)
	return o
}

// TestParseConfig reads every form of URL and every parameter.
func TestParseConfig(t *testing.T) {
	for raw, want := range map[string]Options{
		"redis://":                             {Addrs: []string{"localhost:6379"}},
		"redis://10.1.2.3":                     {Addrs: []string{"10.1.2.3:6379"}},
		"redis://cache.internal:6380/2":        {Addrs: []string{"cache.internal:6380"}, DB: 2},
		"redis://h?db=5":                       {Addrs: []string{"h:6379"}, DB: 5},
		"redis://h/5?db=5":                     {Addrs: []string{"h:6379"}, DB: 5},
		"redis://[::1]:7000/1":                 {Addrs: []string{"[::1]:7000"}, DB: 1},
		"redis://[::1]":                        {Addrs: []string{"[::1]:6379"}},
		"redis://:s3cret@h":                    {Addrs: []string{"h:6379"}, Password: "s3cret"},
		"redis://app:p%40ss@h":                 {Addrs: []string{"h:6379"}, Username: "app", Password: "p@ss"},
		"redis://h?pool_size=8":                {Addrs: []string{"h:6379"}, PoolSize: 8},
		"redis://h?dial_timeout=2s":            {Addrs: []string{"h:6379"}, DialTimeout: 2 * time.Second},
		"redis://h?read_timeout=0.25":          {Addrs: []string{"h:6379"}, ReadTimeout: 250 * time.Millisecond},
		"redis://h?write_timeout=100ms":        {Addrs: []string{"h:6379"}, WriteTimeout: 100 * time.Millisecond},
		"unix:///var/run/redis.sock":           {Network: "unix", Addrs: []string{"/var/run/redis.sock"}},
		"unix://:pw@/tmp/r.sock?db=2":          {Network: "unix", Addrs: []string{"/tmp/r.sock"}, Password: "pw", DB: 2},
		"redis-cluster://a:7000,b,c:7002":      {Cluster: true, Addrs: []string{"a:7000", "b:6379", "c:7002"}},
		"redis-cluster://u:pw@a:7000/0":        {Cluster: true, Addrs: []string{"a:7000"}, Username: "u", Password: "pw"},
		"rediss://h?tls_server_name=redis.lan": {Addrs: []string{"h:6379"}, TLS: &tls.Config{MinVersion: tls.VersionTLS12, ServerName: "redis.lan"}},
		"rediss://h?tls_insecure_skip_verify=true": {Addrs: []string{"h:6379"},
			TLS: &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: true}},
		"rediss-cluster://a:1,b:2": {Cluster: true, Addrs: []string{"a:1", "b:2"}, TLS: &tls.Config{MinVersion: tls.VersionTLS12}},
	} {
		got, err := parse(t, raw)
		if err != nil {
			t.Errorf("%s: %v", raw, err)
			continue
		}
		if d := cmp.Diff(defaults(want), got, cmpopts.IgnoreUnexported(tls.Config{})); d != "" {
			t.Errorf("%s (-want +got):\n%s", raw, d)
		}
	}
}

// TestParseConfigTLSFiles reads the CA and client certificate files.
func TestParseConfigTLSFiles(t *testing.T) {
	dir := t.TempDir()
	caFile, certFile, keyFile := writeCerts(t, dir)
	o, err := parse(t, "rediss://h?tls_ca_file="+caFile+"&tls_cert_file="+certFile+"&tls_key_file="+keyFile)
	if err != nil {
		t.Fatal(err)
	}
	if o.TLS.RootCAs == nil || len(o.TLS.Certificates) != 1 {
		t.Fatalf("TLS = %+v; want the CA pool and one client certificate", o.TLS)
	}
}

// TestParseConfigErrors checks that each bad URL or value is a
// *backend.ConfigError naming the culprit, without the password.
func TestParseConfigErrors(t *testing.T) {
	dir := t.TempDir()
	notPEM := filepath.Join(dir, "not.pem")
	if err := os.WriteFile(notPEM, []byte("hello"), 0o600); err != nil {
		t.Fatal(err)
	}
	for raw, wantParam := range map[string]string{
		"redis://:hunter2@h/x":                                                    "db",
		"redis://:hunter2@h/-1":                                                   "db",
		"redis://:hunter2@h/2?db=3":                                               "db",
		"redis://:hunter2@h?db=two":                                               "db",
		"redis://:hunter2@h?db=-1":                                                "db",
		"redis://:hunter2@h?pool_size=0":                                          "pool_size",
		"redis://:hunter2@h?pool_size=many":                                       "pool_size",
		"redis://:hunter2@h?pool_size=257":                                        "pool_size",
		"redis-cluster://:hunter2@a:1?pool_size=100000":                           "pool_size",
		"redis://:hunter2@h?dial_timeout=soon":                                    "dial_timeout",
		"redis://:hunter2@h?read_timeout=-1s":                                     "read_timeout",
		"redis://:hunter2@h?read_timeout=0":                                       "read_timeout",
		"redis://:hunter2@h:99999":                                                "",
		"unix://:hunter2@host/tmp/r.sock":                                         "",
		"unix://:hunter2@":                                                        "",
		"redis-cluster://:hunter2@":                                               "",
		"redis-cluster://:hunter2@a:1,:2":                                         "",
		"redis-cluster://:hunter2@a:1/3":                                          "db",
		"redis-cluster://:hunter2@a:1?db=3":                                       "db",
		"rediss://:hunter2@h?tls_ca_file=/nonexistent":                            "tls_ca_file",
		"rediss://:hunter2@h?tls_ca_file=" + notPEM:                               "tls_ca_file",
		"rediss://:hunter2@h?tls_cert_file=" + notPEM:                             "tls_key_file",
		"rediss://:hunter2@h?tls_key_file=" + notPEM:                              "tls_cert_file",
		"rediss://:hunter2@h?tls_insecure_skip_verify=maybe":                      "tls_insecure_skip_verify",
		"rediss://:hunter2@h?tls_cert_file=" + notPEM + "&tls_key_file=" + notPEM: "tls_cert_file",
		"memcached://:hunter2@h":                                                  "",
	} {
		_, err := parse(t, raw)
		var ce *backend.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%s: error %v, want a *backend.ConfigError", raw, err)
			continue
		}
		if ce.Param != wantParam {
			t.Errorf("%s: the error names parameter %q, want %q (%v)", raw, ce.Param, wantParam, err)
		}
		if strings.Contains(err.Error(), "hunter2") {
			t.Errorf("%s: the error shows the password: %v", raw, err)
		}
	}
}

// TestPoolSize checks the rounding of pool_size to rueidis's power of two,
// and that a size rueidis would refuse at the first call is refused at
// once.
func TestPoolSize(t *testing.T) {
	for _, size := range []int{MaxPoolSize + 1, 1 << 16} {
		if _, err := (&Options{Addrs: []string{"h:1"}, PoolSize: size}).clientOption(); err == nil {
			t.Errorf("PoolSize %d accepted, want an error (at most %d)", size, MaxPoolSize)
		}
	}
	for size, want := range map[int]int{1: 0, 2: 1, 3: 2, 4: 2, 5: 3, 8: 3, 9: 4, 255: 8, 256: 8} {
		o := Options{Addrs: []string{"h:1"}, PoolSize: size}
		copt, err := o.clientOption()
		if err != nil {
			t.Fatal(err)
		}
		if copt.PipelineMultiplex != want {
			t.Errorf("PoolSize %d: PipelineMultiplex %d, want %d (2^n ≥ size)", size, copt.PipelineMultiplex, want)
		}
	}
}
