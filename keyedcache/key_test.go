package keyedcache_test

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"keyedcache.dev/keyedcache"
)

func open(t testing.TB, rawURL string) *keyedcache.Cache {
	t.Helper()
	c, err := keyedcache.Open(rawURL)
	if err != nil {
		t.Fatalf("Open(%q): %v", rawURL, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

type sku string

func (s sku) CacheKey() string { return "sku-" + string(s) }

type row struct{ id int }

func (r row) CacheID() any { return r.id }

type point struct{ X, Y int }
type size struct{ X, Y int }

var (
	when = time.Date(2026, 11, 21, 6, 7, 8, 900, time.FixedZone("CET", 3600))
	long = strings.Repeat("x", 300)
)

// keyVectors is the key encoding's specification, case by case.
var keyVectors = []struct {
	name   string
	prefix string // the key_prefix query, if any
	parts  []any
	want   string
}{
	{"one string", "", []any{"test"}, "test"},
	{"string and int", "", []any{"test", 2}, "test::2"},
	{"kv", "", []any{"test", keyedcache.KV{"more": "yes"}}, "test::more::yes"},
	{"int and kv", "", []any{"test", 3, keyedcache.KV{"more": "yes"}}, "test::3::more::yes"},
	{"kv sorted by name", "", []any{"p", keyedcache.KV{"z": 1, "a": 2, "m": 3}}, "p::a::2::m::3::z::1"},
	{"empty kv adds nothing", "", []any{"p", keyedcache.KV{}}, "p"},
	{"nested kv", "", []any{"p", keyedcache.KV{"b": keyedcache.KV{"y": 2, "x": nil}, "a": point{1, 2}}}, "p::a::%h" + hashOf(point{1, 2}) + "::b::x::%nil::y::2"},
	{"prefix", "site1", []any{"test", 2}, "site1::test::2"},
	{"built key not prefixed twice", "site1", []any{"site1::test::2"}, "site1::test::2"},
	{"built key as first part", "site1", []any{"site1::test", 2}, "site1::test::2"},
	{"prefix and kv", "site1", []any{"product", 123, keyedcache.KV{"size": "xl"}}, "site1::product::123::size::xl"},
	{"no parts with prefix is the root", "site1", nil, "site1"},
	{"no parts and no prefix", "", nil, "%empty"},
	{"joined string equals parts", "", []any{"product::123"}, "product::123"},
	{"lone []any flattens", "", []any{[]any{"a", 1}}, "a::1"},
	{"lone []string flattens", "", []any{[]string{"a", "b"}}, "a::b"},
	{"lone []int flattens", "", []any{[]int{4, 5}}, "4::5"},
	{"int64", "", []any{int64(-9223372036854775808)}, "-9223372036854775808"},
	{"uint64", "", []any{uint64(18446744073709551615)}, "18446744073709551615"},
	{"int8 and uint16", "", []any{int8(-8), uint16(16)}, "-8::16"},
	{"float shortest", "", []any{1.5}, "1.5"},
	{"float whole", "", []any{100.0}, "100"},
	{"float small", "", []any{0.000001}, "1e-06"},
	{"float32 shortest", "", []any{float32(0.1)}, "0.1"},
	{"negative zero", "", []any{math.Copysign(0, -1)}, "0"},
	{"bool", "", []any{true, false}, "true::false"},
	{"time in UTC with nanoseconds", "", []any{when}, "2026-11-21T05:07:08.0000009Z"},
	{"duration", "", []any{90 * time.Second}, "1m30s"},
	{"nil", "", []any{"a", nil}, "a::%nil"},
	{"empty string", "", []any{"a", ""}, "a::"},
	{"absent", "", []any{"a"}, "a"},
	{"space escaped", "", []any{"a b"}, "a%20b"},
	{"dot kept", "", []any{"a.b"}, "a.b"},
	{"percent escaped", "", []any{"50%"}, "50%25"},
	{"control characters escaped", "", []any{"a\x00b\nc\x7f"}, "a%00b%0Ac%7F"},
	{"tab escaped", "", []any{"a\tb"}, "a%09b"},
	{"unicode kept", "", []any{"żółw", "亀"}, "żółw::亀"},
	{"invalid utf-8 escaped", "", []any{"a\xffb"}, "a%FFb"},
	{"escape passed back unchanged", "", []any{"a%20b"}, "a%20b"},
	{"bytes as text", "", []any{[]byte("raw key")}, "raw%20key"},
	{"Keyer", "", []any{"item", sku("42")}, "item::sku-42"},
	{"Identifier", "", []any{"row", row{7}}, "row::7"},
	{"pointer to Identifier", "", []any{"row", &row{8}}, "row::8"},
	{"nil pointer", "", []any{"row", (*row)(nil)}, "row::%nil"},
	{"named int kind keys by number", "", []any{time.Month(3)}, "3"},
	{"pointer to int", "", []any{ptr(5)}, "5"},
	{"struct hashed", "", []any{"p", point{1, 2}}, "p::%h" + hashOf(point{1, 2})},
	{"version", "site1&version=2", []any{"k"}, "site1::v2::k"},
	{"lone colon inside kept", "", []any{"a:b", "10:30"}, "a:b::10:30"},
	{"lone colon ending a part escaped", "", []any{"a", "b:"}, "a::b%3A"},
	{"lone colon starting a part escaped", "", []any{"a", ":b"}, "a::%3Ab"},
	{"three colons: a separator, then an escaped colon", "", []any{"a:::b"}, "a::%3Ab"},
	{"four colons: an empty part", "", []any{"a::::b"}, "a::::b"},
	{"leading separator: an empty first part", "", []any{"::1"}, "::1"},
	{"text naming the unkeyable marker", "site1", []any{"a", "%unkeyable"}, "site1::%unkeyable"},
	{"214 bytes kept", "", []any{strings.Repeat("k", 214)}, strings.Repeat("k", 214)},
	{"long part cut to a head and a hash", "", []any{strings.Repeat("x", 215)}, strings.Repeat("x", 32) + "%h9353aeb0fd593ec7daaebfdd8d51a8f0"},
	{"long part after a short one", "", []any{strings.Repeat("a", 100), strings.Repeat("y", 300)}, strings.Repeat("a", 100) + "::" + strings.Repeat("y", 32) + "%hd410c498a8d489d5ca6ab343a6202d2e"},
	{"a head is cut between characters", "", []any{"é", strings.Repeat("é", 200)}, "é::" + strings.Repeat("é", 16) + "%h4ed3c76db23db59fc491f2de38f02777"},
	{"no room left: a tail part", "", []any{strings.Repeat("a", 190), strings.Repeat("b", 30)}, strings.Repeat("a", 190) + "::" + strings.Repeat("b", 24) + "%tb06662792912d3bb079562645563ccd3"},
	{"a tail goes on over the parts after it", "", []any{strings.Repeat("a", 190), strings.Repeat("b", 30), "c"}, strings.Repeat("a", 190) + "::" + strings.Repeat("b", 24) + "%t1e8d244119a0a12b2c0fbf54d4adb2f0"},
}

func ptr[T any](v T) *T { return &v }

// hashOf reads the hash the builder writes for a composite value.
func hashOf(v any) string {
	c, _ := keyedcache.Open("memory://")
	k := c.Key(v)
	return strings.TrimPrefix(k, "%h")
}

func TestKeyVectors(t *testing.T) {
	for _, v := range keyVectors {
		t.Run(v.name, func(t *testing.T) {
			u := "memory://"
			if v.prefix != "" {
				u += "?key_prefix=" + v.prefix
			}
			c := open(t, u)
			if got := c.Key(v.parts...); got != v.want {
				t.Errorf("Key(%#v) = %q, want %q", v.parts, got, v.want)
			}
		})
	}
	if len(keyVectors) < 40 {
		t.Fatalf("only %d vectors; the specification wants at least 40", len(keyVectors))
	}
}

func TestKeyRules(t *testing.T) {
	c := open(t, "memory://")
	distinct := [][]any{{"a"}, {"a", ""}, {"a", nil}, {"a b"}, {"a.b"}, {"a", point{1, 2}}, {"a", size{1, 2}}, {"a", point{2, 1}}}
	seen := map[string][]any{}
	for _, parts := range distinct {
		k := c.Key(parts...)
		if prev, dup := seen[k]; dup {
			t.Errorf("Key(%#v) == Key(%#v) == %q; want different keys", parts, prev, k)
		}
		seen[k] = parts
	}
	m1 := map[string]int{"a": 1, "b": 2, "c": 3, "d": 4}
	m2 := map[string]int{"d": 4, "c": 3, "b": 2, "a": 1}
	for range 20 { // map iteration order is random: the hash must not be
		if k1, k2 := c.Key("m", m1), c.Key("m", m2); k1 != k2 {
			t.Fatalf("equal maps gave %q and %q", k1, k2)
		}
	}
	if k1, k2 := c.Key("n", [][]int{{1}, {2}}), c.Key("n", [][]int{{1, 2}}); k1 == k2 {
		t.Errorf("different nested slices share the key %q", k1)
	}
	if got := c.Key("a", "b"); got != c.Key(c.Key("a", "b")) {
		t.Errorf("a built key passed back changed: %q", c.Key(c.Key("a", "b")))
	}
	if got, want := c.Key([]any{"a", 1}...), c.Key("a", 1); got != want {
		t.Errorf("flattened %q != %q", got, want)
	}
}

// TestKeyStableAcrossRuns pins the hash of a composite value: the same
// value must give the same key in every process and every release.
func TestKeyStableAcrossRuns(t *testing.T) {
	c := open(t, "memory://")
	got := c.Key("p", map[string]any{"b": []int{1, 2}, "a": point{3, 4}})
	// Pinned: if this changes, every composite key in every deployed
	// cache changes with it. Change it only on purpose, with a version.
	const want = "p::%hd639def47bbb702e07132f8b9b31b43f"
	if got != want {
		t.Fatalf("Key = %q, want %q", got, want)
	}
}

func TestLongKeys(t *testing.T) {
	c := open(t, "memory://?key_prefix=site1")
	k1 := c.Key("product", long+"1")
	k2 := c.Key("product", long+"2")
	for _, k := range []string{k1, k2} {
		if len(k) > 250 {
			t.Fatalf("key of %d bytes: %q", len(k), k)
		}
		if !strings.HasPrefix(k, "site1::product::xxxx") {
			t.Fatalf("long key %q lost its readable head", k)
		}
	}
	if k1 == k2 {
		t.Fatalf("two long keys that differ at the end collided: %q", k1)
	}
	if again := c.Key(k1); again != k1 {
		t.Fatalf("a shortened key passed back changed: %q → %q", k1, again)
	}
	uk := c.Key(strings.Repeat("é", 200)) // the cut must not split a character
	if !utf8.ValidString(uk) || len(uk) > 250 {
		t.Fatalf("long unicode key %q: valid=%v len=%d", uk, utf8.ValidString(uk), len(uk))
	}
	ek := c.Key(strings.Repeat(" ", 200)) // nor an escape
	head := ek[:strings.LastIndex(ek, "%h")]
	if strings.Count(head, "%")*3 != len(head)-len("site1::") || len(ek) > 250 {
		t.Fatalf("long escaped key %q cut through an escape", ek)
	}
}

func TestCacheKeyOnDefault(t *testing.T) {
	if got := keyedcache.CacheKey("test", 2); got != "test::2" {
		t.Fatalf(`CacheKey("test", 2) = %q`, got)
	}
	if got, want := keyedcache.CacheKey("product::123"), keyedcache.CacheKey("product", 123); got != want {
		t.Fatalf("%q != %q", got, want)
	}
}

func ExampleCacheKey() {
	fmt.Println(keyedcache.CacheKey("product", 123, keyedcache.KV{"size": "xl"}))
	fmt.Println(keyedcache.CacheKey("product::123") == keyedcache.CacheKey("product", 123))
	fmt.Println(keyedcache.CacheKey("a b", "a.b", nil, ""))
	// Output:
	// product::123::size::xl
	// true
	// a%20b::a.b::%nil::
}

type loop struct{ Next *loop }

type selfID struct{}

func (s selfID) CacheID() any { return s }

// TestKeyOfCyclicValues: a value that refers to itself, or names itself
// as its identity, still gets a key (a bounded walk), never a hang.
func TestKeyOfCyclicValues(t *testing.T) {
	c := open(t, "memory://")
	l := &loop{}
	l.Next = l
	m := map[string]any{}
	m["self"] = m
	for _, p := range []any{l, m, selfID{}} {
		k := c.Key("cyclic", p)
		if !strings.HasPrefix(k, "cyclic::%h") {
			t.Errorf("Key(%T) = %q, want a hash", p, k)
		}
		if k2 := c.Key("cyclic", p); k2 != k {
			t.Errorf("Key(%T) is not stable: %q then %q", p, k, k2)
		}
	}
}

// TestColonsAtPartEnds: a colon at either end of a part is escaped, so
// "::" separates parts at one place only, and parts that differ only in
// where a colon sits give different keys.
func TestColonsAtPartEnds(t *testing.T) {
	c := open(t, "memory://")
	if a, b := c.Key("a", "b:", "c"), c.Key("a", "b", ":c"); a == b {
		t.Errorf(`Key("a", "b:", "c") == Key("a", "b", ":c") == %q`, a)
	}
	for _, s := range []string{"a:", ":a", "a:::b", "a::::b:", "::", ":::", "a:b"} {
		k := c.Key(s)
		if bad := oddColons(k); bad != "" {
			t.Errorf("Key(%q) = %q: %s", s, k, bad)
		}
		if again := c.Key(k); again != k {
			t.Errorf("Key(Key(%q)) = %q, want %q unchanged", s, again, k)
		}
	}
}

// oddColons says what is wrong with the colons of a key, if anything:
// every run of them must be "::" separators (an even run) or a lone ':'
// inside a part.
func oddColons(k string) string {
	for i := 0; i < len(k); {
		if k[i] != ':' {
			i++
			continue
		}
		j := i
		for j < len(k) && k[j] == ':' {
			j++
		}
		switch n := j - i; {
		case n == 1 && (i == 0 || j == len(k)):
			return "a lone ':' at an end"
		case n > 1 && n%2 == 1:
			return fmt.Sprintf("a run of %d colons", n)
		}
		i = j
	}
	return ""
}

// keyFamily returns parents of many shapes and lengths (200 to 2,000
// bytes before shortening) for the long-key tests.
func keyFamily() map[string][]any {
	fam := map[string][]any{}
	for _, n := range []int{150, 176, 177, 178, 179, 180, 200, 205, 206, 207, 208, 209, 210, 214, 215, 216, 217, 250, 251, 400, 1000, 2000} {
		fam[fmt.Sprintf("one part of %d", n)] = []any{strings.Repeat("p", n)}
		fam[fmt.Sprintf("short part, then one of %d", n)] = []any{"product", n, strings.Repeat("q", n)}
		fam[fmt.Sprintf("escaped part of %d", n)] = []any{"s", strings.Repeat(" é%", n/5) + strings.Repeat("z", n%5)}
	}
	for n := 2; n <= 12; n++ {
		var parts []any
		for i := range n {
			parts = append(parts, strings.Repeat(string(rune('a'+i)), 90+i))
		}
		fam[fmt.Sprintf("%d parts of about 90", n)] = parts
		fam[fmt.Sprintf("%d parts of about 90, short ones between", n)] = append(slices.Clone(parts), "x", 7, "y")
	}
	return fam
}

// TestLongKeyFamily: at any length, a key fits every backend, passes
// through Key unchanged, is the same built from a built key and more
// parts as from the original parts, and keeps its children under it: a
// child's key starts with its parent's key and "::" when the parent's
// key is at most 214 bytes (and so has room for a child's own part),
// otherwise with the parent's parent's key and "::", which
// DeleteChildren then deletes.
func TestLongKeyFamily(t *testing.T) {
	c := open(t, "memory://?key_prefix=site")
	seen := map[string]string{}
	for name, parent := range keyFamily() {
		with := func(more ...any) []any { return append(slices.Clone(parent), more...) }
		pk := c.Key(parent...)
		kids := map[string][]any{
			"child":           with("c"),
			"long child":      with(strings.Repeat("c", 400)),
			"grandchild":      with("c", "g"),
			"long grandchild": with(strings.Repeat("c", 400), strings.Repeat("g", 400)),
			"deep":            with("1", strings.Repeat("2", 300), "3", strings.Repeat("4", 300), "5", strings.Repeat("6", 300)),
		}
		root := pk
		if len(pk) > 214 {
			root = pk[:strings.LastIndex(pk, "::")]
			if !strings.HasPrefix(pk, root+"::") || len(root) > 214 {
				t.Errorf("%s: the parent's parent %q (%d bytes) is no place for children", name, root, len(root))
			}
		}
		for kid, parts := range kids {
			k := c.Key(parts...)
			if why := acceptable(k); why != "" {
				t.Fatalf("%s, %s: key %q: %s", name, kid, k, why)
			}
			if again := c.Key(k); again != k {
				t.Errorf("%s, %s: Key(%q) = %q, want it unchanged", name, kid, k, again)
			}
			if !strings.HasPrefix(k, root+"::") {
				t.Errorf("%s, %s: key %q does not start with %q and \"::\"", name, kid, k, root)
			}
			if from := c.Key(append([]any{pk}, parts[len(parent):]...)...); from != k {
				t.Errorf("%s, %s: built from the parent's key it is %q, from the parts %q", name, kid, from, k)
			}
			if prev, dup := seen[k]; dup {
				t.Errorf("%s, %s and %s share the key %q", name, kid, prev, k)
			}
			seen[k] = name + ", " + kid
		}
	}
}
