package keyedcache_test

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/keyedcache"
)

func TestEntryView(t *testing.T) {
	c, err := keyedcache.Open("memory://")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	type record struct{ V any }
	keyedcache.RegisterEntryView("rec", func(got *keyedcache.Cache, v any) (keyedcache.EntryView, bool) {
		if got != c {
			t.Errorf("the view was given another cache")
		}
		r, ok := v.(record)
		return keyedcache.EntryView{Value: r.V, HasValue: true, Note: "a record"}, ok
	})
	t.Cleanup(func() { keyedcache.RegisterEntryView("rec", nil) })

	for _, tc := range []struct {
		key  string
		v    any
		want keyedcache.EntryView
		ok   bool
	}{
		{"rec::1", record{V: 7}, keyedcache.EntryView{Value: 7, HasValue: true, Note: "a record"}, true},
		{"rec", record{V: 8}, keyedcache.EntryView{Value: 8, HasValue: true, Note: "a record"}, true},
		{"rec::1", "not a record", keyedcache.EntryView{}, false}, // the view declines
		{"records::1", record{V: 7}, keyedcache.EntryView{}, false},
		{"other::rec::1", record{V: 7}, keyedcache.EntryView{}, false},
	} {
		got, ok := keyedcache.ViewEntry(c, tc.key, tc.v)
		if ok != tc.ok || (ok && !cmp.Equal(got, tc.want)) {
			t.Errorf("ViewEntry(%q, %v) = %+v, %v; want %+v, %v", tc.key, tc.v, got, ok, tc.want, tc.ok)
		}
	}
	keyedcache.RegisterEntryView("rec", nil)
	if _, ok := keyedcache.ViewEntry(c, "rec::1", record{V: 7}); ok {
		t.Error("a removed view still applies")
	}
}
