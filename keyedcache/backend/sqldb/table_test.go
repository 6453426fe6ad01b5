package sqldb_test

import (
	"errors"
	"slices"
	"testing"

	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/sqldb"
)

func testCreateTable(t *testing.T, e engine) {
	ctx := ctxFor(t)
	s := e.open(t, opts(sqldb.Options{}))
	table := s.Table()
	// SQLite's Open makes the table (so that the first calls on a fresh
	// file do not race to); PostgreSQL's does not connect.
	if made, want := e.exists(t, s, table), e.name == "sqlite"; made != want {
		t.Fatalf("table %s exists after Open: %v, want %v", table, made, want)
	}
	if err := s.CreateTable(ctx); err != nil {
		t.Fatalf("CreateTable: %v", err)
	}
	for _, name := range []string{table, table + "_expires"} {
		if !e.exists(t, s, name) {
			t.Errorf("%s does not exist after CreateTable", name)
		}
	}
	if err := s.CreateTable(ctx); err != nil {
		t.Fatalf("CreateTable of an existing table: %v", err)
	}
	mustSet(t, s, "k", []byte("v"), 0)
	if err := s.CreateTable(ctx); err != nil || !present(t, s, "k") {
		t.Fatalf("CreateTable again = %v, and the row is present: %v; want nil and true", err, present(t, s, "k"))
	}

	// From a URL, as a deployment script does.
	other := opts(sqldb.Options{}).Table
	if err := sqldb.CreateTable(ctx, e.url(other)+"&timeout=60&key_prefix=site1"); err != nil {
		t.Fatalf("sqldb.CreateTable(url): %v", err)
	}
	if !e.exists(t, s, other) || !e.exists(t, s, other+"_expires") {
		t.Fatalf("sqldb.CreateTable(url) did not create %s and its index", other)
	}
}

func TestCreateTableURLErrors(t *testing.T) {
	ctx := ctxFor(t)
	cases := []struct {
		url, param string
		valid      []string // some of the names the error must list
	}{
		{"sqlite:///tmp/x.db?tabel=pages", "tabel", []string{"table", "max_entries", "timeout"}},
		{"postgres://u:pw@127.0.0.1:1/db?max_entrys=5", "max_entrys", []string{"max_entries", "sslmode"}},
		{"sqlite:///tmp/x.db?table=no-dashes", "table", nil},
		{"nosuch:///x", "", []string{"sqlite", "postgres"}},
	}
	for _, c := range cases {
		err := sqldb.CreateTable(ctx, c.url)
		var ce *backend.ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("CreateTable(%s) = %v; want a *backend.ConfigError", c.url, err)
			continue
		}
		if ce.Param != c.param {
			t.Errorf("CreateTable(%s): Param = %q, want %q (%v)", c.url, ce.Param, c.param, err)
		}
		for _, v := range c.valid {
			if !slices.Contains(ce.Valid, v) {
				t.Errorf("CreateTable(%s): %v does not list %s", c.url, err, v)
			}
		}
	}
}

func testCreatedOnFirstUse(t *testing.T, e engine) {
	for _, first := range []struct {
		name string
		call func(s *sqldb.Store) error
	}{
		{"Get", func(s *sqldb.Store) error { _, _, err := s.Get(ctxFor(t), "k"); return err }},
		{"Set", func(s *sqldb.Store) error { return s.Set(ctxFor(t), "k", []byte("v"), 0) }},
		{"Add", func(s *sqldb.Store) error { _, err := s.Add(ctxFor(t), "k", []byte("v"), 0); return err }},
		{"Delete", func(s *sqldb.Store) error { _, err := s.Delete(ctxFor(t), "k"); return err }},
		{"DeletePrefix", func(s *sqldb.Store) error { _, err := s.DeletePrefix(ctxFor(t), "k"); return err }},
		{"ScanKeys", func(s *sqldb.Store) error {
			_, err := s.ScanKeys(ctxFor(t), "", func(string) bool { return true })
			return err
		}},
		{"Incr", func(s *sqldb.Store) error {
			if _, err := s.Incr(ctxFor(t), "k", 1); !errors.Is(err, backend.ErrNotFound) {
				return err
			}
			return nil
		}},
		{"Clear", func(s *sqldb.Store) error { return s.Clear(ctxFor(t)) }},
	} {
		t.Run(first.name, func(t *testing.T) {
			s := e.open(t, opts(sqldb.Options{}))
			if err := first.call(s); err != nil {
				t.Fatalf("%s on a database without the table: %v", first.name, err)
			}
			if !e.exists(t, s, s.Table()) {
				t.Fatalf("%s did not create the table", first.name)
			}
			mustSet(t, s, "after", []byte("x"), 0)
			if !present(t, s, "after") {
				t.Fatal("the table made on first use does not keep a row")
			}
		})
	}
}

// testTableDropped drops the table under a Store that has prepared its
// statements: the next calls create it again.
func testTableDropped(t *testing.T, e engine) {
	s := e.open(t, opts(sqldb.Options{}))
	mustSet(t, s, "k", []byte("v"), 0)
	if !present(t, s, "k") {
		t.Fatal("k missing")
	}
	_, write := s.DB()
	if _, err := write.Exec("DROP TABLE " + sqldb.QuoteIdent(s.Table())); err != nil {
		t.Fatalf("DROP TABLE: %v", err)
	}
	if present(t, s, "k") {
		t.Fatal("a row of a dropped table was read")
	}
	mustSet(t, s, "k", []byte("again"), 0)
	if got, found, err := s.Get(ctxFor(t), "k"); err != nil || !found || string(got) != "again" {
		t.Fatalf("Get after the table was made again = %q, %v, %v", got, found, err)
	}
}
