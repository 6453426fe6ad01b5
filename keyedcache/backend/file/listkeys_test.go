package file_test

import (
	"fmt"
	"log/slog"
	"slices"
	"testing"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/backendtest"
	"keyedcache.dev/keyedcache/backend/file"
)

// TestListKeysPagesInOrder pages through a file Store's keys with the
// core's ListKeys, as the staff page does: every key once, in byte
// order, through ScanKeysAfter (a page reports Seen -1 only when the
// backend listed in order), with another alias's keys kept out and a
// second Store's writes seen by the next page.
func TestListKeysPagesInOrder(t *testing.T) {
	ctx := t.Context()
	dir := t.TempDir()
	open := func() *file.Store {
		s, err := file.New(dir, file.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { s.Close() })
		return s
	}
	s, other := open(), open()
	if _, ok := backend.Backend(s).(backend.SortedKeyLister); !ok {
		t.Fatal("*file.Store is not a backend.SortedKeyLister")
	}
	newCache := func(b backend.Backend, prefix string) *keyedcache.Cache {
		c, err := keyedcache.New(b, keyedcache.WithKeyPrefix(prefix), keyedcache.WithLogger(slog.New(slog.DiscardHandler)))
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	site, otherSite, siteAgain := newCache(s, "site"), newCache(s, "site2"), newCache(other, "site")
	var want []string
	for i := range 130 {
		k := fmt.Sprintf("doc::%03d", i)
		if err := site.Set(ctx, site.Key(k), i); err != nil {
			t.Fatal(err)
		}
		otherSite.Set(ctx, otherSite.Key(k), i)
		want = append(want, k)
	}
	page := func(prefix, after string, limit int) keyedcache.KeyPage {
		t.Helper()
		p, err := site.ListKeys(ctx, prefix, after, limit)
		if err != nil {
			t.Fatalf("ListKeys(%q, %q, %d): %v", prefix, after, limit, err)
		}
		if p.Seen != -1 || !p.Complete {
			t.Fatalf("ListKeys: Seen %d, Complete %v; want -1 (listed in order) and true", p.Seen, p.Complete)
		}
		return p
	}
	got, ps := backendtest.ListAll(t, site, "doc::", 17)
	for _, p := range ps {
		if p.Seen != -1 || !p.Complete {
			t.Fatalf("ListKeys: Seen %d, Complete %v; want -1 (listed in order) and true", p.Seen, p.Complete)
		}
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Fatalf("pages of 17 (-want +got):\n%s", d)
	}

	// Between two pages a second Store adds a key ahead of the cursor and
	// deletes one: the next page shows both changes.
	first := page("doc::", "", 50)
	siteAgain.Set(ctx, siteAgain.Key("doc::075x"), 1)
	siteAgain.Delete(ctx, siteAgain.Key("doc::080"))
	next := page("doc::", first.Keys[len(first.Keys)-1], 50)
	wantNext := slices.Concat(want[50:76], []string{"doc::075x"}, want[76:80], want[81:100])
	if d := cmp.Diff(wantNext, next.Keys); d != "" {
		t.Errorf("page after a second Store's write and delete (-want +got):\n%s", d)
	}
}
