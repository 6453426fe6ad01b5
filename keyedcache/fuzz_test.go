package keyedcache_test

import (
	"context"
	"errors"
	"log/slog"
	"math"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/dummy"
)

// acceptable reports why no backend would take key, or "" if all would:
// at most 250 bytes, valid UTF-8, no spaces or control characters.
func acceptable(key string) string {
	switch {
	case key == "":
		return "empty"
	case len(key) > backend.MaxKeyLen:
		return "longer than 250 bytes"
	case !utf8.ValidString(key):
		return "invalid UTF-8"
	}
	for i := 0; i < len(key); i++ {
		if key[i] <= ' ' || key[i] == 0x7f {
			return "space or control character"
		}
	}
	return ""
}

func FuzzKey(f *testing.F) {
	f.Add("product", int64(123), 1.5, "xl", "site1")
	f.Add("a b", int64(-1), math.Inf(1), "%", "")
	f.Add("\xff\x00::%nil", int64(0), math.NaN(), "%h00", "v::")
	f.Add(string(make([]byte, 400)), int64(math.MaxInt64), math.Copysign(0, -1), "é", "p r")
	f.Fuzz(func(t *testing.T, s string, n int64, fl float64, kv string, prefix string) {
		c, err := keyedcache.New(dummy.Backend{}, keyedcache.WithKeyPrefix(prefix))
		if err != nil {
			var ce *backend.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("New: %v", err)
			}
			return
		}
		for _, parts := range [][]any{
			{s}, {s, n}, {s, fl, keyedcache.KV{kv: s}}, {[]any{s, kv}}, {s, nil, ""},
			{map[string]string{s: kv}}, {struct{ A string }{s}}, {[]byte(s)}, {kv, s, s, s, s},
		} {
			k := c.Key(parts...)
			if why := acceptable(k); why != "" {
				t.Fatalf("Key(%q) = %q: %s", parts, k, why)
			}
			if again := c.Key(k); again != k {
				t.Fatalf("Key(Key(%q)) = %q, want %q unchanged", parts, again, k)
			}
		}
		// Hostile parts: values that refer to themselves, share parts
		// without end or nest deep get a key or the unkeyable key, and
		// never hang or exhaust memory.
		depth := int(uint64(n) % 3000)
		m := map[string]any{kv: s}
		m[s] = m
		for _, p := range []any{selfLoop(int(n)), twinChain(depth % 120), list(depth), m, []any{s, m}} {
			k := c.Key(s, p)
			if why := acceptable(k); why != "" {
				t.Fatalf("Key(%q, %T) = %q: %s", s, p, k, why)
			}
			if again := c.Key(k); again != k {
				t.Fatalf("Key(Key(%q, %T)) = %q, want %q unchanged", s, p, again, k)
			}
		}
		// Long keys keep their children: a child's key starts with its
		// parent's (or, for a parent with no room left, the parent's
		// parent's) key and "::", and built from the parent's key it is
		// the same.
		parent := []any{kv, strings.Repeat(s+"x", 1+depth/(len(s)+1)), s}
		pk := c.Key(parent...)
		root := pk
		if len(pk) > 214 {
			root = pk[:strings.LastIndex(pk, "::")]
		}
		for _, more := range [][]any{{kv}, {s, kv}, {strings.Repeat(kv+"y", 300/(len(kv)+1)), n, s}} {
			k := c.Key(append(slices.Clone(parent), more...)...)
			if why := acceptable(k); why != "" {
				t.Fatalf("child key %q: %s", k, why)
			}
			if !strings.HasPrefix(k, root+"::") {
				t.Fatalf("child key %q does not start with %q and \"::\"", k, root)
			}
			if from := c.Key(append([]any{pk}, more...)...); from != k {
				t.Fatalf("built from the parent's key %q the child is %q; from the parts, %q", pk, from, k)
			}
		}
	})
}

// FuzzOpen, which validates URLs of every backend without opening
// them, is in keyedcache/fuzzopen.

// FuzzDecode writes arbitrary bytes where a value would be and reads them
// back as several types: always a hit or a miss, never a panic. A miss
// caused by a *TypeError (intact bytes of another type) leaves the entry
// where it was; any other miss (bytes that do not decode) deletes it.
func FuzzDecode(f *testing.F) {
	for _, seed := range [][]byte{{}, {0x01}, {0x01, 0xa1, 0x61, 0x41, 0x01}, []byte("123"), []byte("-"), {0x03, 0xff}, {0x02, '{'}, {0x7f},
		{0x01, 0x63, 'a', 'b', 'c'}, {0x02, '"', 'a', '"'}, []byte("300"), []byte("-9223372036854775809"), {0x01, 0x9f, 0x9f, 0xff, 0xff}} {
		f.Add(seed)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, codec := range []keyedcache.Codec{keyedcache.CBOR, keyedcache.JSON, keyedcache.Gob} {
			c, err := keyedcache.Open("memory://", keyedcache.WithCodec(codec), keyedcache.WithLogger(slog.New(slog.DiscardHandler)))
			if err != nil {
				t.Fatal(err)
			}
			read := func(what string, get func() error) {
				if err := c.Backend().Set(ctx, "k", data, 0); err != nil {
					t.Fatal(err)
				}
				err := get()
				if err == nil {
					return
				}
				if !errors.Is(err, keyedcache.ErrNotCached) {
					t.Fatalf("%s: reading %q as %s: %v, want a hit or a miss", codec.Name(), data, what, err)
				}
				var te *keyedcache.TypeError
				_, kept, _ := c.Backend().Get(ctx, "k")
				if intact := errors.As(err, &te); kept != intact {
					t.Fatalf("%s: reading %q as %s: %v; the entry kept: %v", codec.Name(), data, what, err, kept)
				}
			}
			read("a struct", func() error { _, err := keyedcache.Get[product](ctx, c, "k"); return err })
			read("a map", func() error { _, err := keyedcache.Get[map[string]any](ctx, c, "k"); return err })
			read("an int8", func() error { _, err := keyedcache.Get[int8](ctx, c, "k"); return err })
			read("a string", func() error { _, err := keyedcache.Get[string](ctx, c, "k"); return err })
			read("an interface", func() error { _, err := keyedcache.Get[any](ctx, c, "k"); return err })
			c.Close()
		}
	})
}

// FuzzParseAliases: any KEYEDCACHE_ALIASES text parses into name=URL
// pairs, both non-empty, or fails with a *backend.ConfigError, never a
// panic; what it parses, written back, parses the same.
func FuzzParseAliases(f *testing.F) {
	for _, s := range []string{"default=memory://", "default=memory://?max_entries=1;sessions=file:///var/tmp/s", " a=b \n\tc=d ", "a=b;a=c", "=x", "a=", ";;", "a=memory://?x=1&x=2", "a==b"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, spec string) {
		aliases, err := keyedcache.ParseAliases(spec)
		if err != nil {
			var ce *backend.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("ParseAliases(%q) = %v, want a *backend.ConfigError", spec, err)
			}
			return
		}
		var parts []string
		for name, u := range aliases {
			if name == "" || u == "" || strings.ContainsAny(name+u, "; \n\t") {
				t.Fatalf("ParseAliases(%q) gave %q=%q", spec, name, u)
			}
			parts = append(parts, name+"="+u)
		}
		again, err := keyedcache.ParseAliases(strings.Join(parts, ";"))
		if err != nil {
			t.Fatalf("ParseAliases of its own output %q: %v", parts, err)
		}
		if len(again) != len(aliases) {
			t.Fatalf("ParseAliases(%q) = %v, written back and parsed again %v", spec, aliases, again)
		}
		for name, u := range aliases {
			if again[name] != u {
				t.Fatalf("ParseAliases(%q) = %v, written back and parsed again %v", spec, aliases, again)
			}
		}
	})
}
