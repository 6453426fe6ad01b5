package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/internal/testserver"
	_ "keyedcache.dev/keyedcache/backend/memcached"
	"keyedcache.dev/web"
)

// TestMemcachedUnderGenerations browses a real memcached, which cannot
// delete by prefix: delete-with-children replaces a namespace generation
// token, the old entries stay on the server, and the page must list only
// the live keys, without the tokens.
func TestMemcachedUnderGenerations(t *testing.T) {
	srv := testserver.Memcached(t)
	s := newSite(t, map[string]string{"default": "memcached://" + srv.Addr + "?key_prefix=shop"}, web.Options{Auth: staffBasic(t), PageSize: 3, ShowValues: true})
	c := s.cache(t, "default")
	ctx := t.Context()
	for _, k := range []string{"product::1", "product::1::summary", "product::1::photo::1", "product::12", "product::2", "user::7"} {
		c.Set(ctx, k, k)
	}
	for i := range 5 {
		c.Set(ctx, fmt.Sprintf("old::%d", i), i)
	}
	if err := c.DeleteChildren(ctx, "old"); err != nil {
		t.Fatal(err)
	}

	// Every page, following the next links.
	var got []string
	path := "/cache/?alias=default"
	for path != "" {
		r := s.get(t, path, http.StatusOK)
		if strings.Contains(r.Body, "%gen") {
			t.Errorf("a generation token shows on the page:\n%s", r.Body)
		}
		keys, next := listed(r.Body)
		got = append(got, keys...)
		path = ""
		if next != "" {
			path = "/cache/" + strings.TrimPrefix(next, "./")
		}
	}
	want := []string{"product::1", "product::12", "product::1::photo::1", "product::1::summary", "product::2", "user::7"}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("keys on memcached (-want +got):\n%s", d)
	}

	s.post(t, "/cache/delete", url.Values{"alias": {"default"}, "key": {"product::1"}, "children": {"1"}}, http.StatusSeeOther)
	r := s.get(t, "/cache/?alias=default&prefix=product::&limit=10", http.StatusOK)
	keys, _ := listed(r.Body)
	if d := cmp.Diff([]string{"product::12", "product::2"}, keys); d != "" {
		t.Errorf("after deleting product::1 with children (-want +got):\n%s", d)
	}
	// memcached dumps its keys in no order: the page says what a page
	// costs there, counting the entries the dump held under the prefix
	// (live ones and those of deleted generations).
	if !strings.Contains(r.Body, `<p class="note" id="unordered">This backend lists its keys in no order, so to show a page in order it read all `) ||
		!strings.Contains(r.Body, `keys starting with <code>product::</code>: every page costs that`) {
		t.Errorf("no notice that memcached reads every key for a page:\n%s", r.Body)
	}
	r = s.get(t, "/cache/key?alias=default&key=product::12", http.StatusOK)
	if !strings.Contains(r.Body, `&#34;product::12&#34;`) {
		t.Errorf("key page on memcached:\n%s", r.Body)
	}
}
