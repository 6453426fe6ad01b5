package keyedcache_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
)

func TestOpenErrorsNameTheCulprit(t *testing.T) {
	cases := []struct {
		url  string
		want []string // substrings the message must hold
	}{
		{"nosuch://", []string{`unknown scheme "nosuch"`, "dummy", "file", "memory"}},
		{"memory://?max_entrys=5", []string{"parameter max_entrys", "unknown parameter", "max_entries", "timeout", "key_prefix"}},
		{"memory://?timeout=soon", []string{`parameter timeout="soon"`, "positive"}},
		{"memory://?timeout=-5", []string{`parameter timeout="-5"`}},
		{"memory://?timeout=0", []string{`parameter timeout="0"`}},
		{"memory://?version=0", []string{`parameter version="0"`, "≥ 1"}},
		{"memory://?codec=xml", []string{`parameter codec="xml"`, "cbor, gob, json"}},
		{"memory://?max_entries=lots", []string{`parameter max_entries="lots"`}},
		{"dummy://?max_entries=5", []string{"parameter max_entries", "unknown parameter for dummy://", "valid: timeout"}},
		{"redis://user:s3cret@localhost/?bad=1", []string{"unknown scheme"}},
		{"file://?timeout=1", []string{"file"}},
		{"::not a url", []string{"not a URL"}},
		{"memory://?password=s3cret", []string{"parameter password", "unknown parameter", "password=xxxxx"}},
		{"memory://?sslpassword=s3cret&x=1", []string{"parameter", "sslpassword=xxxxx"}},
		{"memory://?max_entries=5;timeout=9", []string{"bad query", "semicolon"}},
		{"memory://?max_entries=1&max_entries=2", []string{`parameter max_entries="1, 2"`, "given 2 times"}},
		{"memory://?timeout=5&key_prefix=a&timeout=5", []string{"parameter timeout", "given 2 times"}},
		{"dummy://?timeout=1&timeout=2&timeout=3", []string{"parameter timeout", "given 3 times"}},
		{"file:///tmp/keyedcache-never?max_entries=1&max_entries=1", []string{"parameter max_entries", "given 2 times"}},
		{"memory://?password=s3cret&password=s3cret2", []string{"parameter password", "given 2 times"}},
	}
	for _, c := range cases {
		_, err := keyedcache.Open(c.url)
		var ce *backend.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("Open(%q) = %v, want a *backend.ConfigError", c.url, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Open(%q) error %q does not mention %q", c.url, err, w)
			}
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("Open(%q) error shows the password: %q", c.url, err)
		}
	}
}

func TestOpenParameters(t *testing.T) {
	c := open(t, "memory://?timeout=1.5&key_prefix=site1&version=3&codec=json&cull_frequency=3")
	if got := c.Timeout(); got != 1500*time.Millisecond {
		t.Errorf("timeout = %v, want 1.5s", got)
	}
	if got := c.Key("k"); got != "site1::v3::k" {
		t.Errorf("key = %q, want site1::v3::k", got)
	}
	if got := c.Codec().Name(); got != "json" {
		t.Errorf("codec = %q, want json", got)
	}
	if got := open(t, "memory://?timeout=forever").Timeout(); got != keyedcache.Forever {
		t.Errorf("timeout=forever gave %v", got)
	}
	if got := open(t, "memory://?timeout=90s").Timeout(); got != 90*time.Second {
		t.Errorf("timeout=90s gave %v", got)
	}
	if got := open(t, "memory://").Timeout(); got != keyedcache.DefaultTimeout {
		t.Errorf("default timeout = %v, want %v", got, keyedcache.DefaultTimeout)
	}
	// Options in code win over the URL.
	o, err := keyedcache.Open("memory://?key_prefix=url", keyedcache.WithKeyPrefix("code"), keyedcache.WithAlias("x"))
	if err != nil {
		t.Fatal(err)
	}
	if got := o.Key("k"); got != "code::k" {
		t.Errorf("key = %q, want code::k", got)
	}
}

func TestRegistryAndEnvironment(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(keyedcache.EnvAliases, "default=memory://?key_prefix=d; files=file://"+dir+"?timeout=600")
	t.Setenv(keyedcache.EnvAlias, "files")
	r := keyedcache.NewRegistry()
	if err := r.ConfigureFromEnv(); err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if got := strings.Join(r.Aliases(), ","); got != "default,files" {
		t.Fatalf("aliases = %s", got)
	}
	if got := r.Default().Alias(); got != "files" {
		t.Fatalf("current alias = %s, want files", got)
	}
	if got := r.Default().Timeout(); got != 600*time.Second {
		t.Fatalf("files timeout = %v", got)
	}
	if _, err := r.Lookup("nope"); !errors.Is(err, keyedcache.ErrUnknownAlias) || !strings.Contains(err.Error(), "default, files") {
		t.Fatalf("Lookup(nope) = %v", err)
	}

	ctx := context.Background()
	d, _ := r.Lookup("default")
	d.Set(ctx, "k", "v")
	r.Enable(false)
	if _, err := keyedcache.Get[string](ctx, d, "k"); !errors.Is(err, keyedcache.ErrNotCached) {
		t.Fatalf("disabled registry still reads: %v", err)
	}
	r.Enable(true)
	if v, err := keyedcache.Get[string](ctx, d, "k"); err != nil || v != "v" {
		t.Fatalf("re-enabled read = %q, %v", v, err)
	}

	bad := keyedcache.NewRegistry()
	t.Setenv(keyedcache.EnvAliases, "default=memory://;broken=memory://?nope=1")
	err := bad.ConfigureFromEnv()
	if err == nil || !strings.Contains(err.Error(), "alias broken") || !strings.Contains(err.Error(), "parameter nope") {
		t.Fatalf("bad environment gave %v", err)
	}
	if len(bad.Aliases()) != 0 {
		t.Fatalf("a failed Configure registered %v", bad.Aliases())
	}
	if _, err := keyedcache.ParseAliases("default"); err == nil {
		t.Fatal("ParseAliases accepted an item with no URL")
	}
}

func TestDefaultAliasIsMemory(t *testing.T) {
	r := keyedcache.NewRegistry()
	defer r.Close()
	c := r.Default()
	if c.Alias() != "default" || c.URL() != keyedcache.DefaultURL {
		t.Fatalf("default = %s %s", c.Alias(), c.URL())
	}
}

func TestRequireReportsNotResponding(t *testing.T) {
	c, err := keyedcache.New(failing{}, keyedcache.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		t.Fatal(err)
	}
	err = c.Require(context.Background())
	var nr *keyedcache.CacheNotRespondingError
	if !errors.As(err, &nr) || !errors.Is(err, keyedcache.ErrCacheNotResponding) || !errors.Is(err, errDown) {
		t.Fatalf("Require = %v, want a *CacheNotRespondingError wrapping the cause", err)
	}
}
