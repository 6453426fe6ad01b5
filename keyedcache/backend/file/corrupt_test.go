package file

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"keyedcache.dev/keyedcache/backend"
)

// encodeEntry returns the bytes of a well-formed entry file.
func encodeEntry(key, value string, expiry int64) []byte {
	return append(encodeHeader(key, []byte(value), expiry, len(value)), value...)
}

func TestDecodeRoundTrip(t *testing.T) {
	b := encodeEntry("key", "value", 12345)
	got, err := decode(b)
	if err != nil {
		t.Fatalf("decode: %v", err)
	}
	want := entry{key: "key", expiry: 12345, value: []byte("value")}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(entry{})); diff != "" {
		t.Errorf("decode (-want +got):\n%s", diff)
	}
}

func TestCorruptFilesAreMissesAndRemoved(t *testing.T) {
	good := encodeEntry("k", "value", 0)
	wrongVersion := append([]byte(nil), good...)
	wrongVersion[3] = formatVersion + 1
	flipped := append([]byte(nil), good...)
	flipped[len(flipped)-1] ^= 1
	huge := append([]byte(nil), good...)
	huge[16], huge[17] = 0xff, 0xff // key length far beyond the file
	cases := map[string][]byte{
		"empty":         {},
		"garbage":       []byte("this is not a cache entry at all, just some text"),
		"short header":  good[:10],
		"truncated":     good[:len(good)-2],
		"too long":      append(append([]byte(nil), good...), "extra"...),
		"wrong version": wrongVersion,
		"bad checksum":  flipped,
		"bad lengths":   huge,
		"other key":     encodeEntry("not k", "value", 0),
	}
	for name, data := range cases {
		t.Run(name, func(t *testing.T) {
			s := newStore(t, Options{})
			ctx := context.Background()
			mustSet(t, s, "k", "value", 0)
			path := s.locate("k").path
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, ok, err := s.TTL(ctx, "k"); ok || err != nil {
				// TTL reads only the header: a flipped value bit passes.
				if name != "bad checksum" {
					t.Errorf("TTL = found %v, err %v; want a miss", ok, err)
				}
			}
			if _, err := s.Incr(ctx, "k", 1); !errors.Is(err, backend.ErrNotFound) {
				t.Errorf("Incr = %v, want ErrNotFound", err)
			}
			if diff := cmp.Diff(hit{}, getHit(t, s, "k")); diff != "" {
				t.Errorf("Get (-want +got):\n%s", diff)
			}
			if exists(path) {
				t.Errorf("corrupt file still on disk after Get")
			}
			if ok, err := s.Add(ctx, "k", []byte("new"), 0); !ok || err != nil {
				t.Errorf("Add after a corrupt file = %v, %v; want true", ok, err)
			}
			if diff := cmp.Diff(hit{"new", true}, getHit(t, s, "k")); diff != "" {
				t.Errorf("Get after Add (-want +got):\n%s", diff)
			}
		})
	}
}

func TestCorruptFilesAreSkippedByScans(t *testing.T) {
	s := newStore(t, Options{})
	ctx := context.Background()
	mustSet(t, s, "good", "v", 0)
	mustSet(t, s, "bad", "v", 0)
	os.WriteFile(s.locate("bad").path, []byte("garbage"), 0o600)
	var keys []string
	s.ScanKeys(ctx, "", func(k string) bool { keys = append(keys, k); return true })
	if diff := cmp.Diff([]string{"good"}, keys); diff != "" {
		t.Errorf("ScanKeys (-want +got):\n%s", diff)
	}
	stats, err := s.BackendStats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]string{"entries": stats["entries"], "expired": stats["expired"]}
	if diff := cmp.Diff(map[string]string{"entries": "1", "expired": "1"}, got); diff != "" {
		t.Errorf("BackendStats (-want +got):\n%s", diff)
	}
	n, err := s.DeletePrefix(ctx, "")
	if diff := cmp.Diff([]any{1, nil}, []any{n, err}); diff != "" {
		t.Errorf("DeletePrefix (-want +got):\n%s", diff)
	}
}

// A writer that dies between writing its temporary file and renaming it
// leaves the temporary file. It must never be read as an entry, and is
// removed once stale.
func TestCrashedWriterTempFile(t *testing.T) {
	s := newStore(t, Options{})
	ctx := context.Background()
	l := s.locate("k")
	os.MkdirAll(l.sub, 0o700)
	complete := filepath.Join(l.sub, tempPrefix+"111")
	partial := filepath.Join(l.sub, tempPrefix+"222")
	fresh := filepath.Join(l.sub, tempPrefix+"333")
	full := encodeEntry("k", "from a dead writer", 0)
	os.WriteFile(complete, full, 0o600)
	os.WriteFile(partial, full[:headerSize+3], 0o600)
	os.WriteFile(fresh, full, 0o600)
	old := time.Now().Add(-2 * staleTempAge)
	os.Chtimes(complete, old, old)
	os.Chtimes(partial, old, old)

	if diff := cmp.Diff(hit{}, getHit(t, s, "k")); diff != "" {
		t.Errorf("Get with only a temporary file (-want +got):\n%s", diff)
	}
	var keys []string
	s.ScanKeys(ctx, "", func(k string) bool { keys = append(keys, k); return true })
	if diff := cmp.Diff([]string(nil), keys); diff != "" {
		t.Errorf("ScanKeys listed a temporary file (-want +got):\n%s", diff)
	}
	if ok, err := s.Add(ctx, "k", []byte("mine"), 0); !ok || err != nil {
		t.Errorf("Add = %v, %v; want true", ok, err)
	}
	stats, _ := s.BackendStats(ctx)
	if diff := cmp.Diff("3", stats["temp_files"]); diff != "" {
		t.Errorf("temp_files (-want +got):\n%s", diff)
	}

	if err := s.Clear(ctx); err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{fresh}, files(t, s, kindTemp)); diff != "" {
		t.Errorf("temporary files after Clear: stale ones go, a fresh one stays (-want +got):\n%s", diff)
	}
}

func TestCullRemovesStaleTempFiles(t *testing.T) {
	s := newStore(t, Options{MaxEntries: 2})
	root := filepath.Join(s.Dir(), tempPrefix+"ping-1")
	os.WriteFile(root, nil, 0o600)
	old := time.Now().Add(-2 * staleTempAge)
	os.Chtimes(root, old, old)
	for _, k := range []string{"a", "b", "c"} {
		mustSet(t, s, k, "v", 0)
	}
	if diff := cmp.Diff([]string(nil), files(t, s, kindTemp)); diff != "" {
		t.Errorf("temporary files after a cull (-want +got):\n%s", diff)
	}
}

func TestStripeOfNameMatchesNameOf(t *testing.T) {
	for i := range 1000 {
		key := fmt.Sprint("key-", i)
		_, name, stripe := nameOf(key)
		if got := stripeOfName(name); got != stripe {
			t.Fatalf("stripeOfName(nameOf(%q)) = %d, nameOf says %d", key, got, stripe)
		}
	}
}

// FuzzDecode checks that no file content makes decode or readMeta
// panic, that whatever decode accepts is exactly what encodeHeader
// writes, and that readMeta agrees with it.
func FuzzDecode(f *testing.F) {
	f.Add(encodeEntry("k", "value", 0))
	f.Add(encodeEntry("", "", 1))
	f.Add(encodeEntry("site1::product::123", "\x00\xff", -5))
	f.Add([]byte("KCF\x01garbage"))
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, data []byte) {
		e, err := decode(data)
		path := filepath.Join(dir, "entry")
		if werr := os.WriteFile(path, data, 0o600); werr != nil {
			t.Fatal(werr)
		}
		m, merr := readMeta(path)
		if err != nil {
			return
		}
		if diff := cmp.Diff(data, encodeEntry(e.key, string(e.value), e.expiry)); diff != "" {
			t.Fatalf("decode accepted bytes encodeHeader does not write (-data +re-encoded):\n%s", diff)
		}
		if merr != nil || m.key != e.key || m.expiry != e.expiry || m.size != int64(len(data)) {
			t.Fatalf("readMeta = %+v, %v; decode = key %q, expiry %d", m, merr, e.key, e.expiry)
		}
	})
}
