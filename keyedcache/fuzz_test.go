package keyedcache_test

import (
	"context"
	"errors"
	"math"
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
	})
}

func FuzzOpen(f *testing.F) {
	for _, u := range []string{"memory://?max_entries=10", "file:///tmp/x?timeout=3", "dummy://", "memory://?timeout=forever&version=2", "%", "redis://u:p@h:1/0", "memory://?max_bytes=1GiB&by_reference=true"} {
		f.Add(u)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		if len(raw) > 4 && raw[:4] == "file" {
			return // do not create directories at random paths
		}
		c, err := keyedcache.Open(raw)
		if err != nil {
			var ce *backend.ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("Open(%q) = %v, want a *backend.ConfigError", raw, err)
			}
			return
		}
		c.Close()
	})
}

// FuzzDecode writes arbitrary bytes where a value would be and reads them
// back as several types: always a hit or a miss, never a panic.
func FuzzDecode(f *testing.F) {
	for _, seed := range [][]byte{{}, {0x01}, {0x01, 0xa1, 0x61, 0x41, 0x01}, []byte("123"), []byte("-"), {0x03, 0xff}, {0x02, '{'}, {0x7f}} {
		f.Add(seed)
	}
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		for _, codec := range []keyedcache.Codec{keyedcache.CBOR, keyedcache.JSON, keyedcache.Gob} {
			c, err := keyedcache.Open("memory://", keyedcache.WithCodec(codec))
			if err != nil {
				t.Fatal(err)
			}
			if err := c.Backend().Set(ctx, "k", data, 0); err != nil {
				t.Fatal(err)
			}
			check := func(err error) {
				if err != nil && !errors.Is(err, keyedcache.ErrNotCached) {
					t.Fatalf("%s: reading %q: %v, want a hit or a miss", codec.Name(), data, err)
				}
			}
			_, err = keyedcache.Get[product](ctx, c, "k")
			check(err)
			c.Backend().Set(ctx, "k", data, 0)
			_, err = keyedcache.Get[map[string]any](ctx, c, "k")
			check(err)
			c.Backend().Set(ctx, "k", data, 0)
			_, err = keyedcache.Get[int8](ctx, c, "k")
			check(err)
			c.Close()
		}
	})
}
