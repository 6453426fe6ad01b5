package file

import (
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"keyedcache.dev/keyedcache/backend"
)

func openURL(raw string) (backend.Backend, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, err
	}
	d, ok := backend.Lookup("file")
	if !ok {
		return nil, errors.New("scheme file is not registered")
	}
	return d.Open(backend.Config{URL: u, Params: u.Query()})
}

func TestDriverParams(t *testing.T) {
	d, ok := backend.Lookup("file")
	if !ok {
		t.Fatal("scheme file is not registered")
	}
	var names []string
	for _, p := range d.Params {
		names = append(names, p.Name)
		if p.Doc == "" {
			t.Errorf("parameter %s has no Doc", p.Name)
		}
	}
	if diff := cmp.Diff([]string{"max_entries", "max_bytes", "cull_frequency", "fsync"}, names); diff != "" {
		t.Errorf("Params (-want +got):\n%s", diff)
	}
}

func TestOpenURL(t *testing.T) {
	dir := t.TempDir()
	type config struct {
		Dir           string
		MaxEntries    int64
		MaxBytes      int64
		CullFrequency int
		Sync          bool
	}
	cases := []struct {
		url  string
		want config
	}{
		{"file://" + dir, config{dir, DefaultMaxEntries, 0, DefaultCullFrequency, false}},
		{"file://" + dir + "/sub/?max_entries=7&cull_frequency=0&fsync=true", config{dir + "/sub", 7, 0, ClearWhenFull, true}},
		{"file://localhost" + dir + "?cull_frequency=5", config{dir, DefaultMaxEntries, 0, 5, false}},
		{"file://" + dir + "?max_bytes=64KiB", config{dir, DefaultMaxEntries, 64 << 10, DefaultCullFrequency, false}},
		{"file://" + dir + "?max_bytes=1048576&max_entries=3", config{dir, 3, 1 << 20, DefaultCullFrequency, false}},
		{"file://" + dir + "?max_bytes=64MB", config{dir, DefaultMaxEntries, 64e6, DefaultCullFrequency, false}},
		{"file://" + dir + "?max_bytes=0", config{dir, DefaultMaxEntries, 0, DefaultCullFrequency, false}},
	}
	for _, c := range cases {
		b, err := openURL(c.url)
		if err != nil {
			t.Errorf("open %s: %v", c.url, err)
			continue
		}
		s := b.(*Store)
		got := config{s.Dir(), s.maxEntries, s.maxBytes, s.cullFrequency, s.sync}
		if diff := cmp.Diff(c.want, got); diff != "" {
			t.Errorf("open %s (-want +got):\n%s", c.url, diff)
		}
		s.Close()
	}
}

func TestOpenURLErrors(t *testing.T) {
	dir := t.TempDir()
	aFile := filepath.Join(dir, "a-file")
	if err := os.WriteFile(aFile, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	before, err := os.ReadDir("/")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		url, param, mention string
	}{
		{"file://relative", "", "absolute"},
		{"file://relative/path", "", "got host relative"},
		{"file:relative", "", "relative path"},
		{"file://", "", "no directory"},
		{"file://" + dir + "?max_entries=0", "max_entries", "≥ 1"},
		{"file://" + dir + "?max_entries=lots", "max_entries", "whole number"},
		{"file://" + dir + "?cull_frequency=-1", "cull_frequency", "≥ 0"},
		{"file://" + dir + "?fsync=maybe", "fsync", "true or false"},
		{"file://" + dir + "?max_bytes=lots", "max_bytes", "byte count"},
		{"file://" + dir + "?max_bytes=-1", "max_bytes", "byte count"},
		{"file://" + dir + "?max_bytes=64XB", "max_bytes", "byte count"},
		// Directories the cache cannot own or write: refused at open, with
		// nothing written (these hold even for root).
		{"file:///", "", "root"},
		{"file:///..", "", "root"},
		{"file://localhost/", "", "root"},
		{"file:///proc/self", "", "/proc/self cannot be used"},
		{"file:///proc/keyedcache-test", "", "/proc/keyedcache-test cannot be used"},
		{"file://" + aFile + "/sub", "", aFile + "/sub cannot be used"},
	}
	for _, c := range cases {
		_, err := openURL(c.url)
		var ce *backend.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("open %s = %v, want a *backend.ConfigError", c.url, err)
			continue
		}
		if diff := cmp.Diff(c.param, ce.Param); diff != "" {
			t.Errorf("open %s: Param (-want +got):\n%s", c.url, diff)
		}
		if !strings.Contains(err.Error(), c.mention) {
			t.Errorf("open %s: error %q does not mention %q", c.url, err, c.mention)
		}
	}
	after, err := os.ReadDir("/")
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("the root directory had %d entries before, %d after", len(before), len(after))
	}
}
