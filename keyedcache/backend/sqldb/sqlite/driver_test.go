package sqlite_test

import (
	"context"
	"errors"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/sqldb"
	"keyedcache.dev/keyedcache/backend/sqldb/sqlite"
)

func openURL(t *testing.T, raw string) (*sqldb.Store, error) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("url.Parse(%s): %v", raw, err)
	}
	d, ok := backend.Lookup("sqlite")
	if !ok {
		t.Fatal("scheme sqlite is not registered")
	}
	b, err := d.Open(backend.Config{URL: u, Params: u.Query()})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { b.Close() })
	return b.(*sqldb.Store), nil
}

func TestDriverParams(t *testing.T) {
	d, _ := backend.Lookup("sqlite")
	var names []string
	for _, p := range d.Params {
		names = append(names, p.Name)
		if p.Doc == "" {
			t.Errorf("parameter %s has no Doc", p.Name)
		}
	}
	want := []string{"table", "max_entries", "cull_frequency", "query_timeout", "reap_interval", "max_conns"}
	if d := cmp.Diff(want, names); d != "" {
		t.Errorf("Params (-want +got):\n%s", d)
	}
}

// TestPaths opens each form of URL and checks that the first write
// creates the database file where the URL says.
func TestPaths(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	if err := os.Mkdir("sub", 0o755); err != nil {
		t.Fatal(err)
	}
	abs := filepath.Join(t.TempDir(), "abs.db")
	for raw, file := range map[string]string{
		"sqlite://" + abs:          abs,
		"sqlite://rel.db":          filepath.Join(dir, "rel.db"),
		"sqlite://sub/rel.db":      filepath.Join(dir, "sub", "rel.db"),
		"sqlite:opaque.db":         filepath.Join(dir, "opaque.db"),
		"sqlite://./dot.db":        filepath.Join(dir, "dot.db"),
		"sqlite://sub/sp%20ace.db": filepath.Join(dir, "sub", "sp ace.db"),
	} {
		s, err := openURL(t, raw)
		if err != nil {
			t.Errorf("open %s: %v", raw, err)
			continue
		}
		if err := s.Set(context.Background(), "k", []byte("v"), time.Minute); err != nil {
			t.Errorf("%s: Set: %v", raw, err)
		}
		if _, err := os.Stat(file); err != nil {
			t.Errorf("%s: the database file %s was not created: %v", raw, file, err)
		}
	}
}

func TestOpenURL(t *testing.T) {
	path := filepath.Join(t.TempDir(), "c.db")
	s, err := openURL(t, "sqlite://"+path+"?table=pages&max_entries=7&cull_frequency=0&query_timeout=250ms&reap_interval=30&max_conns=3")
	if err != nil {
		t.Fatal(err)
	}
	want := sqldb.Options{Table: "pages", MaxEntries: 7, CullFrequency: sqldb.ClearWhenFull,
		QueryTimeout: 250 * time.Millisecond, ReapInterval: 30 * time.Second, MaxConns: 3}
	if d := cmp.Diff(want, s.Options()); d != "" {
		t.Errorf("options (-want +got):\n%s", d)
	}
	read, write := s.DB()
	if read.Stats().MaxOpenConnections != 3 || write.Stats().MaxOpenConnections != 1 {
		t.Errorf("pools of %d readers and %d writers; want 3 and 1", read.Stats().MaxOpenConnections, write.Stats().MaxOpenConnections)
	}
	s, err = openURL(t, "sqlite://"+path)
	if err != nil {
		t.Fatal(err)
	}
	want = sqldb.Options{Table: "keyedcache", MaxEntries: 10000, CullFrequency: 3,
		QueryTimeout: 500 * time.Millisecond, ReapInterval: time.Minute, MaxConns: sqlite.DefaultMaxConns()}
	if d := cmp.Diff(want, s.Options()); d != "" {
		t.Errorf("default options (-want +got):\n%s", d)
	}
	// WAL, so that readers in other processes do not wait for writers.
	var mode string
	if err := read.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode = %q, %v; want wal", mode, err)
	}
}

func TestOpenURLErrors(t *testing.T) {
	dir := t.TempDir()
	notDB := filepath.Join(dir, "not-a-database.db")
	if err := os.WriteFile(notDB, []byte(strings.Repeat("not SQLite. ", 400)), 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct{ url, param, mention string }{
		{"sqlite://", "", "no database file"},
		{"sqlite:///", "", "no database file"},
		{"sqlite:///" + dir + "/:memory:", "", "memory://"},
		{"sqlite://user:s3cret@cache.db", "", "no user or password"},
		{"sqlite://" + dir + "/no/such/dir/c.db", "", "does not exist"},
		{"sqlite://" + dir + "/a%3Fb.db", "", "'?'"},
		{"sqlite://" + dir, "", "is a directory"},
		{"sqlite://" + dir + "/c.db?max_entries=0", "max_entries", "≥ 1"},
		{"sqlite://" + dir + "/c.db?max_entries=many", "max_entries", "whole number"},
		{"sqlite://" + dir + "/c.db?cull_frequency=-1", "cull_frequency", "≥ 0"},
		{"sqlite://" + dir + "/c.db?query_timeout=fast", "query_timeout", "duration"},
		{"sqlite://" + dir + "/c.db?query_timeout=0", "query_timeout", "positive"},
		{"sqlite://" + dir + "/c.db?reap_interval=-1s", "reap_interval", "positive"},
		{"sqlite://" + dir + "/c.db?max_conns=0", "max_conns", "≥ 1"},
		{"sqlite://" + dir + "/c.db?table=bad-name", "table", "letters, digits and underscores"},
		{"sqlite://" + dir + "/c.db?table=", "table", "empty"},
		// A path that cannot hold a database fails at open, not at the
		// first call (these hold even for root).
		{"sqlite:///proc/keyedcache-test.db", "", "cannot set up the database file"},
		{"sqlite://" + notDB, "", "cannot set up the database file"},
	}
	for _, c := range cases {
		_, err := openURL(t, c.url)
		var ce *backend.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("open %s = %v; want a *backend.ConfigError", c.url, err)
			continue
		}
		if ce.Param != c.param {
			t.Errorf("open %s: Param = %q, want %q", c.url, ce.Param, c.param)
		}
		if !strings.Contains(err.Error(), c.mention) {
			t.Errorf("open %s: %q does not mention %q", c.url, err, c.mention)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("open %s: the error shows the password: %v", c.url, err)
		}
	}
}

// TestUnknownParam goes through keyedcache.Open: an unknown parameter
// names itself and lists the valid ones, the core's and the driver's.
func TestUnknownParam(t *testing.T) {
	_, err := keyedcache.Open("sqlite://" + filepath.Join(t.TempDir(), "c.db") + "?max_entrys=5")
	var ce *backend.ConfigError
	if !errors.As(err, &ce) || ce.Param != "max_entrys" {
		t.Fatalf("Open with max_entrys = %v; want a *backend.ConfigError for max_entrys", err)
	}
	for _, v := range []string{"max_entries", "table", "query_timeout", "timeout", "key_prefix"} {
		if !slices.Contains(ce.Valid, v) {
			t.Errorf("%v does not list %s", err, v)
		}
	}
}
