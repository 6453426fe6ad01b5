package groupcache_test

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	gc "github.com/golang/groupcache"
	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/internal/testproc"
	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/groupcache"
)

var wantParams = []string{"peers", "listen", "base_path", "namespace", "cache_bytes", "max_entries", "max_bytes", "max_stale", "peer_timeout", "fill_timeout"}

func TestDriverParams(t *testing.T) {
	d, ok := backend.Lookup("groupcache")
	if !ok {
		t.Fatal("scheme groupcache is not registered")
	}
	var names []string
	for _, p := range d.Params {
		names = append(names, p.Name)
		if p.Doc == "" {
			t.Errorf("parameter %s has no doc", p.Name)
		}
	}
	if diff := cmp.Diff(wantParams, names); diff != "" {
		t.Errorf("Params (-want +got):\n%s", diff)
	}
}

// TestOpenBadConfig runs in this process: every one of these fails
// before a node starts.
func TestOpenBadConfig(t *testing.T) {
	const self = "groupcache://127.0.0.1:7001"
	for _, tc := range []struct{ url, param, says string }{
		{"groupcache://", "", "host:port"},
		{"groupcache://?listen=false", "", "host:port"},
		{"groupcache://127.0.0.1", "", "host:port"},
		{self + "/path", "", "base_path"},
		{"groupcache://user:secret@127.0.0.1:7001", "", "no user"},
		{self + "?peers=http://127.0.0.1:7002", "peers", "does not include this peer, http://127.0.0.1:7001"},
		{self + "?peers=127.0.0.1:7001,http://127.0.0.1:7001/", "peers", "listed twice"},
		{self + "?peers=127.0.0.1:7001,ftp://127.0.0.1:7002", "peers", "http://"},
		{self + "?peers=127.0.0.1:7001,http://127.0.0.1", "peers", "host:port"},
		{self + "?peers=127.0.0.1:7001,http://127.0.0.1:7002/x", "peers", "no path"},
		{self + "?listen=maybe", "listen", "true or false"},
		{self + "?base_path=groupcache", "base_path", "starts and ends with /"},
		{self + "?namespace=a/b", "namespace", "letters"},
		{self + "?namespace=" + strings.Repeat("n", 65), "namespace", "1 to 64"},
		{self + "?cache_bytes=lots", "cache_bytes", "byte count"},
		{self + "?cache_bytes=0", "cache_bytes", "positive"},
		{self + "?max_entries=0", "max_entries", "≥ 1"},
		{self + "?max_bytes=-1", "max_bytes", "byte count"},
		{self + "?max_stale=0", "max_stale", "positive"},
		{self + "?max_stale=-1s", "max_stale", "positive"},
		{self + "?max_stale=soon", "max_stale", "duration"},
		{self + "?peer_timeout=0", "peer_timeout", "positive"},
		{self + "?fill_timeout=never", "fill_timeout", "duration"},
		{self + "?peer=http://127.0.0.1:7001", "peer", "unknown parameter"},
		{"groupcache://127.0.0.1:99999", "", "port 99999: want a number from 1 to 65535"},
		{"groupcache://127.0.0.1:0", "", "port 0"},
		{self + "?peers=127.0.0.1:7001,127.0.0.1:70000", "peers", "port 70000"},
		{"groupcache://?peers=127.0.0.1:99999", "peers", "port 99999"},
	} {
		_, err := openURL(tc.url)
		var ce *backend.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%s: err = %v, want a *backend.ConfigError", tc.url, err)
			continue
		}
		if ce.Param != tc.param || !strings.Contains(err.Error(), tc.says) || (tc.param != "" && !strings.Contains(err.Error(), "parameter "+tc.param)) {
			t.Errorf("%s: error %q names parameter %q; want %q and a message saying %q", tc.url, err, ce.Param, tc.param, tc.says)
		}
		if strings.Contains(err.Error(), "secret") {
			t.Errorf("%s: the error shows the password: %v", tc.url, err)
		}
		if tc.param == "peer" && !slices.Equal(ce.Valid, wantParams) {
			t.Errorf("unknown parameter: Valid = %v, want %v", ce.Valid, wantParams)
		}
	}
}

// Through the core, an unknown parameter lists ours with the common ones.
func TestOpenUnknownParamThroughCore(t *testing.T) {
	_, err := keyedcache.Open("groupcache://127.0.0.1:7001?cache_size=1")
	var ce *backend.ConfigError
	if !errors.As(err, &ce) || ce.Param != "cache_size" {
		t.Fatalf("err = %v, want a ConfigError naming cache_size", err)
	}
	for _, p := range wantParams {
		if !slices.Contains(ce.Valid, p) {
			t.Errorf("valid parameters %v lack %s", ce.Valid, p)
		}
	}
}

// TestNodeRules checks the one-node-per-process rules in a child
// process, which has no node until the test makes one.
func TestNodeRules(t *testing.T) {
	if role, ok := testproc.Role(); ok {
		switch role {
		case "node":
			nodeRules(t)
		case "foreign":
			foreignPool(t)
		}
		return
	}
	for _, role := range []string{"node", "foreign"} {
		testproc.Start(t, role).Wait(t)
	}
}

func nodeRules(t *testing.T) {
	ctx := context.Background()
	// Before any node, the handler says so.
	rec := httptest.NewRecorder()
	groupcache.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/_groupcache/x/y", nil))
	if rec.Code != http.StatusServiceUnavailable {
		t.Fatalf("Handler before any node: %d, want 503", rec.Code)
	}

	// A busy port is an error, and does not use up the process's pool.
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	if _, err := openURL("groupcache://" + busy.Addr().String()); err == nil || !strings.Contains(err.Error(), "listen") {
		t.Fatalf("Open on a busy port = %v, want a listen error", err)
	}

	addrs := freeAddrs(t, 2)
	base := "groupcache://" + addrs[0] + "?peers=" + addrs[0] + "&max_stale=10s"
	b1, err := openURL(base)
	if err != nil {
		t.Fatal(err)
	}
	same, err := groupcache.New(groupcache.Options{Self: "http://" + addrs[0], MaxStale: 10 * time.Second})
	if err != nil {
		t.Fatalf("New with the same options as the URL: %v", err)
	}
	if same.Namespace() != "default" {
		t.Errorf("default namespace = %q", same.Namespace())
	}
	other, err := openURL(base + "&namespace=other")
	if err != nil {
		t.Fatalf("another namespace on the node: %v", err)
	}

	for _, tc := range []struct{ url, param string }{
		{base + "&cache_bytes=1MiB", "cache_bytes"},
		{"groupcache://" + addrs[0] + "?max_stale=11s", "max_stale"},
		{base + "&listen=false", "listen"},
		{base + "&peer_timeout=2s", "peer_timeout"},
		{"groupcache://" + addrs[1] + "?max_stale=10s", ""},
		{"groupcache://" + addrs[0] + "?max_stale=10s&peers=" + addrs[0] + "," + addrs[1], "peers"},
	} {
		_, err := openURL(tc.url)
		var ce *backend.ConfigError
		if !errors.As(err, &ce) || ce.Param != tc.param || !strings.Contains(err.Error(), "one node per process") {
			t.Errorf("%s: err = %v, want a ConfigError for %q about one node per process", tc.url, err, tc.param)
		}
	}

	// Namespaces are separate caches.
	if err := b1.Set(ctx, "k", []byte("one"), time.Minute); err != nil {
		t.Fatal(err)
	}
	if _, found, _ := other.Get(ctx, "k"); found {
		t.Fatal("a key set in one namespace is visible in another")
	}
	other.Set(ctx, "k", []byte("other"), time.Minute)
	if err := other.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if v, found, _ := same.Get(ctx, "k"); !found || string(v) != "one" {
		t.Fatalf("after Clear of another namespace, Get = %q, %v; want one", v, found)
	}

	// Fill registration rules.
	f := b1.(backend.Filler)
	fill := func(ctx context.Context, key string) ([]byte, error) { return []byte("f:" + key), nil }
	if err := f.RegisterFill("name with / and space", fill); err != nil {
		t.Fatal(err)
	}
	if err := same.RegisterFill("name with / and space", fill); err == nil {
		t.Error("a second RegisterFill of a name in a namespace succeeded")
	}
	if err := other.(backend.Filler).RegisterFill("name with / and space", fill); err != nil {
		t.Errorf("the same name in another namespace: %v", err)
	}
	if err := f.RegisterFill("nil", nil); err == nil {
		t.Error("RegisterFill of a nil fill succeeded")
	}
	if v, err := f.Fill(ctx, "name with / and space", "a b/c", time.Minute); err != nil || string(v) != "f:a b/c" {
		t.Errorf("Fill = %q, %v", v, err)
	}
	if _, err := f.Fill(ctx, "unknown", "k", time.Minute); err == nil || !strings.Contains(err.Error(), "not registered") {
		t.Errorf("Fill of an unregistered name = %v", err)
	}
	if _, err := f.Fill(ctx, "name with / and space", "k", -time.Second); err == nil {
		t.Error("Fill with a negative ttl succeeded")
	}

	// Close closes one Backend value; the node keeps serving.
	b1.Close()
	if _, _, err := b1.Get(ctx, "k"); !errors.Is(err, groupcache.ErrClosed) {
		t.Errorf("Get after Close = %v, want ErrClosed", err)
	}
	if v, found, err := same.Get(ctx, "k"); err != nil || !found || string(v) != "one" {
		t.Errorf("another value on the node after Close: %q, %v, %v", v, found, err)
	}
	res, err := http.Get("http://" + addrs[0] + "/_groupcache/nothing/here")
	if err != nil {
		t.Fatalf("the node stopped serving after Close: %v", err)
	}
	res.Body.Close()
}

// foreignPool: a process whose groupcache pool someone else made cannot
// start a node; it gets an error, not a panic.
func foreignPool(t *testing.T) {
	gc.NewHTTPPoolOpts("http://127.0.0.1:1", nil)
	addr := freeAddrs(t, 1)[0]
	_, err := openURL("groupcache://" + addr)
	if err == nil || !strings.Contains(err.Error(), "one per process") {
		t.Fatalf("Open after someone else's pool = %v, want an error", err)
	}
	// And the listener it opened for the attempt is closed again.
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatalf("the failed Open kept its port: %v", err)
	}
	l.Close()
}
