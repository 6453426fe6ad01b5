package backendtest

import (
	"context"
	"testing"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
)

// ListAll reads every page of c.ListKeys under prefix, limit keys at a
// time, passing the last key of each page as the cursor of the next, as
// the staff page does. It fails t on an error and on a page that breaks
// ListKeys's contract (more than limit keys, More on a short page), and
// returns the keys in the order the pages gave them and the pages
// themselves, for checks of Complete and Seen.
func ListAll(t testing.TB, c *keyedcache.Cache, prefix string, limit int) (keys []string, pages []keyedcache.KeyPage) {
	t.Helper()
	after := ""
	for {
		p, err := c.ListKeys(context.Background(), prefix, after, limit)
		if err != nil {
			t.Fatalf("ListKeys(%q, %q, %d): %v", prefix, after, limit, err)
		}
		if len(p.Keys) > limit || (p.More && len(p.Keys) != limit) {
			t.Fatalf("ListKeys(%q, %q, %d): %d keys, More=%v", prefix, after, limit, len(p.Keys), p.More)
		}
		pages = append(pages, p)
		keys = append(keys, p.Keys...)
		if !p.More {
			return keys, pages
		}
		after = p.Keys[len(p.Keys)-1]
	}
}

// ScanAfterAll reads every key under prefix from sl in pages of size
// keys, each ScanKeysAfter call starting after the last key of the one
// before, and returns the keys in the order the pages gave them. It
// fails t on an error.
func ScanAfterAll(t testing.TB, sl backend.SortedKeyLister, prefix string, size int) []string {
	t.Helper()
	var keys []string
	for after := ""; ; {
		var page []string
		if _, err := sl.ScanKeysAfter(context.Background(), prefix, after, func(k string) bool {
			page = append(page, k)
			return len(page) < size
		}); err != nil {
			t.Fatalf("ScanKeysAfter(%q, %q): %v", prefix, after, err)
		}
		keys = append(keys, page...)
		if len(page) < size {
			return keys
		}
		after = page[len(page)-1]
	}
}
