package postgres_test

import (
	"context"
	"errors"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/internal/testserver"
	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/sqldb"
	"keyedcache.dev/keyedcache/backend/sqldb/postgres"
)

func openURL(t *testing.T, raw string) (*sqldb.Store, error) {
	t.Helper()
	u, err := url.Parse(raw)
	if err != nil {
		t.Fatalf("url.Parse(%s): %v", raw, err)
	}
	d, ok := backend.Lookup(u.Scheme)
	if !ok {
		t.Fatalf("scheme %s is not registered", u.Scheme)
	}
	b, err := d.Open(backend.Config{URL: u, Params: u.Query()})
	if err != nil {
		return nil, err
	}
	t.Cleanup(func() { b.Close() })
	return b.(*sqldb.Store), nil
}

func TestDriverParams(t *testing.T) {
	for _, scheme := range []string{"postgres", "postgresql"} {
		d, ok := backend.Lookup(scheme)
		if !ok {
			t.Fatalf("scheme %s is not registered", scheme)
		}
		var names []string
		for _, p := range d.Params {
			names = append(names, p.Name)
			if p.Doc == "" {
				t.Errorf("parameter %s has no Doc", p.Name)
			}
		}
		for _, want := range []string{"table", "max_entries", "cull_frequency", "query_timeout", "reap_interval", "max_conns", "unlogged", "sslmode", "connect_timeout", "application_name"} {
			if !slices.Contains(names, want) {
				t.Errorf("%s: Params lack %s", scheme, want)
			}
		}
		for _, secret := range []string{"password", "sslpassword"} {
			if slices.Contains(names, secret) {
				t.Errorf("%s: Params accept %s in the URL's query, where it would be shown", scheme, secret)
			}
		}
	}
}

// testURL opens real connections: keyedcache's parameters are taken
// out of the URL and PostgreSQL's go to the server.
func testURL(t *testing.T, pg *testserver.Server) {
	ctx := context.Background()
	for _, scheme := range []string{"postgres", "postgresql"} {
		raw := strings.Replace(pg.DSN, "postgres://", scheme+"://", 1) +
			"&table=pages_" + scheme + "&max_entries=7&cull_frequency=0&query_timeout=2s&reap_interval=30&max_conns=3&unlogged=false" +
			"&application_name=kc_" + scheme + "&options=-c%20statement_timeout%3D4321"
		s, err := openURL(t, raw)
		if err != nil {
			t.Fatalf("open %s: %v", raw, err)
		}
		want := sqldb.Options{Table: "pages_" + scheme, MaxEntries: 7, CullFrequency: sqldb.ClearWhenFull,
			QueryTimeout: 2 * time.Second, ReapInterval: 30 * time.Second, MaxConns: 3}
		if d := cmp.Diff(want, s.Options()); d != "" {
			t.Errorf("options (-want +got):\n%s", d)
		}
		if err := s.Set(ctx, "k", []byte("v"), time.Minute); err != nil {
			t.Fatalf("Set: %v", err)
		}
		read, _ := s.DB()
		var app, stmt string
		var persistence string
		if err := read.QueryRow("SELECT current_setting('application_name'), current_setting('statement_timeout')").Scan(&app, &stmt); err != nil {
			t.Fatal(err)
		}
		if app != "kc_"+scheme || stmt != "4321ms" {
			t.Errorf("application_name = %q, statement_timeout = %q; want kc_%s and 4321ms passed through", app, stmt, scheme)
		}
		if err := read.QueryRow("SELECT relpersistence FROM pg_class WHERE relname = $1", "pages_"+scheme).Scan(&persistence); err != nil || persistence != "p" {
			t.Errorf("relpersistence of pages_%s = %q, %v; want p (logged), as unlogged=false asked", scheme, persistence, err)
		}
		if read.Stats().MaxOpenConnections != 3 {
			t.Errorf("pool of %d connections; want 3", read.Stats().MaxOpenConnections)
		}
	}
	// By default the table is UNLOGGED.
	s, err := openURL(t, pg.DSN+"&table=fast")
	if err != nil {
		t.Fatal(err)
	}
	// On the default query timeout, which this Store keeps to check it,
	// a loaded machine can time CREATE TABLE out: try again.
	for deadline := time.Now().Add(20 * time.Second); ; time.Sleep(20 * time.Millisecond) {
		err := s.CreateTable(ctx)
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal(err)
		}
	}
	read, _ := s.DB()
	var persistence string
	if err := read.QueryRow("SELECT relpersistence FROM pg_class WHERE relname = 'fast'").Scan(&persistence); err != nil || persistence != "u" {
		t.Errorf("relpersistence = %q, %v; want u (unlogged)", persistence, err)
	}
	if got := s.Options(); got.MaxConns != postgres.DefaultMaxConns || got.QueryTimeout != sqldb.DefaultQueryTimeout {
		t.Errorf("default options = %+v", got)
	}
}

func TestURLErrors(t *testing.T) {
	const base = "postgres://app:s3cret@127.0.0.1:5432/app?sslmode=disable"
	cases := []struct{ url, param, mention string }{
		{base + "&max_entries=0", "max_entries", "≥ 1"},
		{base + "&cull_frequency=often", "cull_frequency", "whole number"},
		{base + "&query_timeout=soon", "query_timeout", "duration"},
		{base + "&reap_interval=0", "reap_interval", "positive"},
		{base + "&max_conns=-2", "max_conns", "≥ 1"},
		{base + "&unlogged=maybe", "unlogged", "true or false"},
		{base + "&table=pages-x", "table", "letters, digits and underscores"},
		{base + "&connect_timeout=soon", "", "connect_timeout"},
		{base + "&sslmode=sometimes", "", "sslmode"},
		{"postgres://app:s3cret@127.0.0.1:99999/app", "", "port"},
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

// testPasswordNeverShown checks that a password in the URL is shown
// neither by a configuration error nor by the error of a call that the
// server refuses.
func testPasswordNeverShown(t *testing.T, pg *testserver.Server) {
	_, err := keyedcache.Open("postgres://app:s3cret@127.0.0.1:5432/app?max_entrys=1")
	if err == nil || strings.Contains(err.Error(), "s3cret") {
		t.Errorf("Open with a bad parameter = %v; want an error without the password", err)
	}
	var ce *backend.ConfigError
	if !errors.As(err, &ce) || !slices.Contains(ce.Valid, "max_entries") || !slices.Contains(ce.Valid, "sslmode") {
		t.Errorf("Open with max_entrys = %v; want a ConfigError listing max_entries and sslmode", err)
	}

	u, _ := url.Parse(pg.DSN)
	u.User = url.UserPassword("nobody_here", "s3cret")
	s, err := openURL(t, u.String())
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = s.Get(context.Background(), "k")
	if err == nil {
		t.Fatal("Get as a user that does not exist succeeded")
	}
	if strings.Contains(err.Error(), "s3cret") {
		t.Errorf("the error of a call shows the password: %v", err)
	}
}
