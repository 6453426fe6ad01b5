package memory_test

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/memory"
)

func open(t *testing.T, rawURL string) (backend.Backend, error) {
	t.Helper()
	d, ok := backend.Lookup("memory")
	if !ok {
		t.Fatalf("scheme memory is not registered")
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

func TestDriverParams(t *testing.T) {
	d, _ := backend.Lookup("memory")
	var names []string
	for _, p := range d.Params {
		names = append(names, p.Name)
		if p.Doc == "" {
			t.Errorf("parameter %s has no doc", p.Name)
		}
	}
	want := []string{"max_entries", "max_bytes", "cull_frequency", "by_reference"}
	if diff := cmp.Diff(want, names); diff != "" {
		t.Errorf("Params (-want +got):\n%s", diff)
	}
}

func TestOpen(t *testing.T) {
	ctx := context.Background()
	b, err := open(t, "memory://?max_entries=5&max_bytes=64KiB&cull_frequency=0&by_reference=yes")
	if err != nil {
		t.Fatal(err)
	}
	s, ok := b.(*memory.Store)
	if !ok {
		t.Fatalf("Open returned a %T, want *memory.Store", b)
	}
	st, err := s.BackendStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{st["max_entries"], st["max_bytes"], st["by_reference"]}
	if diff := cmp.Diff([]string{"5", "65536", "true"}, got); diff != "" {
		t.Errorf("[max_entries max_bytes by_reference] (-want +got):\n%s", diff)
	}

	def, err := open(t, "memory://")
	if err != nil {
		t.Fatal(err)
	}
	st, _ = def.(*memory.Store).BackendStats(ctx)
	got = []string{st["max_entries"], st["max_bytes"], st["by_reference"]}
	if diff := cmp.Diff([]string{"10000", "0", "false"}, got); diff != "" {
		t.Errorf("defaults [max_entries max_bytes by_reference] (-want +got):\n%s", diff)
	}

	// Each Open is a store of its own.
	if err := b.Set(ctx, "k", []byte("v"), 0); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := def.Get(ctx, "k"); ok {
		t.Errorf("a second Open shares the first one's entries")
	}
}

func TestOpenBadParams(t *testing.T) {
	for _, tc := range []struct{ query, param string }{
		{"max_entries=0", "max_entries"},
		{"max_entries=-3", "max_entries"},
		{"max_entries=lots", "max_entries"},
		{"max_bytes=64XB", "max_bytes"},
		{"max_bytes=-1", "max_bytes"},
		{"cull_frequency=-1", "cull_frequency"},
		{"cull_frequency=often", "cull_frequency"},
		{"by_reference=maybe", "by_reference"},
	} {
		_, err := open(t, "memory://?"+tc.query)
		var ce *backend.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%s: err = %v, want a *backend.ConfigError", tc.query, err)
			continue
		}
		if ce.Param != tc.param || !strings.Contains(err.Error(), tc.param) {
			t.Errorf("%s: error %q names parameter %q, want %q", tc.query, err, ce.Param, tc.param)
		}
	}
}

func TestNewBadOptions(t *testing.T) {
	for _, opts := range []memory.Options{{MaxEntries: -1}, {MaxBytes: -1}} {
		if _, err := memory.New(opts); err == nil {
			t.Errorf("New(%+v) succeeded", opts)
		}
	}
}

// max_bytes without max_entries bounds the store by bytes alone: the
// default entry bound does not cap it.
func TestOpenMaxBytesAlone(t *testing.T) {
	ctx := context.Background()
	b, err := open(t, "memory://?max_bytes=16MiB")
	if err != nil {
		t.Fatal(err)
	}
	s := b.(*memory.Store)
	const n = 3 * memory.DefaultMaxEntries
	for i := range n {
		if err := s.Set(ctx, fmt.Sprintf("k::%d", i), []byte("v"), backend.NoExpiry); err != nil {
			t.Fatal(err)
		}
	}
	st, err := s.BackendStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st["max_entries"] != "0" {
		t.Errorf("max_entries = %s, want 0 (no entry bound)", st["max_entries"])
	}
	held := 0
	for i := range n {
		if _, ok, _ := s.Get(ctx, fmt.Sprintf("k::%d", i)); ok {
			held++
		}
	}
	if held != n {
		t.Errorf("the store holds %d of %d small entries that fit in 16MiB (stats %v)", held, n, st)
	}
	if used, _ := strconv.ParseInt(st["bytes"], 10, 64); used > 16<<20 {
		t.Errorf("bytes = %d, above max_bytes", used)
	}

}
