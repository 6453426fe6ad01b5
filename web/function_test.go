package web_test

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/function"
	"keyedcache.dev/web"
)

// functionEntry is what /api/key tells of a cached function's entry.
type functionEntry struct {
	Preview string `json:"preview"`
	Value   any    `json:"value"`
	Note    string `json:"note"`
}

// TestCachedFunctionEntries shows a cached function's entries as the
// function's result, under every codec, rather than as the record that
// package function keeps around it; a cached error as its message, and
// a computation under way as that.
func TestCachedFunctionEntries(t *testing.T) {
	aliases := map[string]string{
		"cbor": "memory://?key_prefix=site",
		"json": "memory://?codec=json",
		"ref":  "memory://?by_reference=true",
		"file": "file://" + t.TempDir(),
	}
	s := newSite(t, aliases, web.Options{Auth: staffBasic(t), ShowValues: true})
	apiKey := func(alias, key string) functionEntry {
		t.Helper()
		return decode[functionEntry](t, s.get(t, "/cache/api/key?"+url.Values{"alias": {alias}, "key": {key}}.Encode(), http.StatusOK))
	}
	for alias := range aliases {
		c := s.cache(t, alias)
		lookup := function.CacheFunction(func(_ context.Context, id int) (product, error) {
			if id == 0 {
				return product{}, errors.New("no product 0")
			}
			return product{ID: id, Name: "Tortoise", Price: 9.5}, nil
		}, function.WithCache(c), function.WithName("shop.lookup"), function.WithErrorTTL(time.Minute))
		lookup(t.Context(), 1)
		lookup(t.Context(), 0)

		want := functionEntry{
			Preview: "{\n  \"id\": 1,\n  \"name\": \"Tortoise\",\n  \"price\": 9.5\n}",
			Value:   map[string]any{"id": 1.0, "name": "Tortoise", "price": 9.5},
			Note:    "cached function result",
		}
		if d := cmp.Diff(want, apiKey(alias, "func::shop.lookup::1")); d != "" {
			t.Errorf("%s: api/key of a result (-want +got):\n%s", alias, d)
		}
		want = functionEntry{Preview: `"no product 0"`, Value: "no product 0", Note: "cached function error"}
		if d := cmp.Diff(want, apiKey(alias, "func::shop.lookup::0")); d != "" {
			t.Errorf("%s: api/key of a cached error (-want +got):\n%s", alias, d)
		}
		r := s.get(t, "/cache/?alias="+alias+"&prefix=func::", http.StatusOK)
		for _, w := range []string{
			`<small class="what">cached function result</small> <code>{&#34;id&#34;:1,&#34;name&#34;:&#34;Tortoise&#34;,&#34;price&#34;:9.5}</code>`,
			`<small class="what">cached function error</small> <code>&#34;no product 0&#34;</code>`,
		} {
			if !strings.Contains(r.Body, w) {
				t.Errorf("%s: the keys page lacks %s:\n%s", alias, w, r.Body)
			}
		}
	}

	// While the function runs, its entry holds a claim and no result.
	c := s.cache(t, "cbor")
	release, started := make(chan struct{}), make(chan struct{})
	slow := function.CacheFunction(func(_ context.Context, id int) (int, error) {
		close(started)
		<-release
		return id * 2, nil
	}, function.WithCache(c), function.WithName("shop.slow"))
	done := make(chan error, 1)
	go func() { _, err := slow(context.Background(), 21); done <- err }()
	<-started // the claim is stored before the function is called
	if d := cmp.Diff(functionEntry{Note: "computation under way"}, apiKey("cbor", "func::shop.slow::21")); d != "" {
		t.Errorf("api/key of a computation under way (-want +got):\n%s", d)
	}
	r := s.get(t, "/cache/key?alias=cbor&key=func::shop.slow::21", http.StatusOK)
	if !strings.Contains(r.Body, `<td id="note">computation under way</td>`) || !strings.Contains(r.Body, `id="value-none"`) {
		t.Errorf("the key page of a computation under way:\n%s", r.Body)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(functionEntry{Preview: "42", Value: 42.0, Note: "cached function result"}, apiKey("cbor", "func::shop.slow::21")); d != "" {
		t.Errorf("api/key once computed (-want +got):\n%s", d)
	}

	// A key outside package function's that holds the same shape is
	// shown as it is.
	c.Set(t.Context(), "funcs::1", []any{2, 0, 0, 0, "", "", 5})
	want := functionEntry{Preview: "[\n  2,\n  0,\n  0,\n  0,\n  \"\",\n  \"\",\n  5\n]", Value: []any{2.0, 0.0, 0.0, 0.0, "", "", 5.0}}
	if d := cmp.Diff(want, apiKey("cbor", "funcs::1")); d != "" {
		t.Errorf("an array under another key (-want +got):\n%s", d)
	}
}
