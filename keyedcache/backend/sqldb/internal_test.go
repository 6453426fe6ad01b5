package sqldb

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestUpperBound(t *testing.T) {
	cases := []struct {
		prefix, want string
		ok           bool
	}{
		{"app::product::1::", "app::product::1:;", true},
		{"a", "b", true},
		{"a\xff", "b", true},
		{"a\xff\xff", "b", true},
		{"\xfe\xff", "\xff", true},
		{"é", "ê", true}, // C3 A9 → C3 AA
		{"\xff", "", false},
		{"\xff\xff", "", false},
		{"", "", false},
	}
	for _, c := range cases {
		got, ok := upperBound(c.prefix)
		if got != c.want || ok != c.ok {
			t.Errorf("upperBound(%q) = %q, %v; want %q, %v", c.prefix, got, ok, c.want, c.ok)
		}
		if !ok {
			continue
		}
		// Every string with the prefix sorts below the bound, and the
		// bound does not have the prefix.
		for _, tail := range []string{"", "\x00", "\xff\xff\xff", "zzz"} {
			if k := c.prefix + tail; k >= got {
				t.Errorf("upperBound(%q) = %q is not above %q", c.prefix, got, k)
			}
		}
		if strings.HasPrefix(got, c.prefix) {
			t.Errorf("upperBound(%q) = %q starts with the prefix", c.prefix, got)
		}
	}
}

func TestQuoteIdent(t *testing.T) {
	for in, want := range map[string]string{"cache": `"cache"`, `a"b`: `"a""b"`, "": `""`} {
		if got := QuoteIdent(in); got != want {
			t.Errorf("QuoteIdent(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestCheckTable(t *testing.T) {
	for _, ok := range []string{"keyedcache", "_t", "Cache_2", strings.Repeat("a", 55)} {
		if err := checkTable(ok); err != nil {
			t.Errorf("checkTable(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "2cache", "a-b", "a b", `a"b`, "schema.table", "é", strings.Repeat("a", 56)} {
		if err := checkTable(bad); err == nil {
			t.Errorf("checkTable(%q) = nil, want an error", bad)
		}
	}
}

func TestWithDefaults(t *testing.T) {
	got, err := Options{}.withDefaults()
	want := Options{Table: DefaultTable, MaxEntries: DefaultMaxEntries, CullFrequency: DefaultCullFrequency,
		QueryTimeout: DefaultQueryTimeout, ReapInterval: DefaultReapInterval}
	if err != nil || got != want {
		t.Errorf("withDefaults of the zero Options = %+v, %v; want %+v", got, err, want)
	}
	got, _ = Options{CullFrequency: -5, QueryTimeout: time.Second}.withDefaults()
	if got.CullFrequency != ClearWhenFull || got.QueryTimeout != time.Second {
		t.Errorf("withDefaults kept %+v", got)
	}
	if _, err := (Options{Table: "no-dash"}).withDefaults(); err == nil {
		t.Error("withDefaults accepted the table name no-dash")
	}
}

func TestStatements(t *testing.T) {
	d := Dialect{Name: "test", Placeholder: QuestionPlaceholder, Schema: func(string) []string { return nil }, MissingTable: func(error) bool { return false }}
	s, err := New(nil, nil, d, Options{Table: "c"})
	if err != nil {
		t.Fatal(err)
	}
	want := map[int]string{
		qGet: `SELECT value FROM "c" WHERE key = ?1 AND expires > ?2`,
		qAdd: `INSERT INTO "c" (key, value, expires) VALUES (?1, ?2, ?3) ON CONFLICT (key) DO UPDATE SET value = excluded.value, expires = excluded.expires WHERE "c".expires <= ?4`,
	}
	for q, w := range want {
		if d := cmp.Diff(w, s.sql[q]); d != "" {
			t.Errorf("statement %d (-want +got):\n%s", q, d)
		}
	}
	cond, args, next := s.prefixRange("a::")
	if cond != "key >= ?1 AND key < ?2" || len(args) != 2 || args[1] != "a:;" || next != 3 {
		t.Errorf("prefixRange(a::) = %q, %v, %d", cond, args, next)
	}
	if cond, args, next := s.prefixRange("\xff"); cond != "key >= ?1" || len(args) != 1 || next != 2 {
		t.Errorf("prefixRange(\\xff) = %q, %v, %d", cond, args, next)
	}
}
