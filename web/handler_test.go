package web_test

import (
	"encoding/json"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
	"keyedcache.dev/keyedcache/backend/memory"
	"keyedcache.dev/web"
)

var twoAliases = map[string]string{
	"default":  "memory://staff:hunter2@localhost/?key_prefix=site&timeout=90",
	"sessions": "memory://?timeout=forever",
}

func TestDeniedUnlessAllowed(t *testing.T) {
	s := newSite(t, twoAliases, web.Options{}) // no Auth
	c := s.cache(t, "default")
	c.Set(t.Context(), "product::1", "Tortoise")
	for _, rq := range []request{
		{path: "/cache/"},
		{path: "/cache/api/stats"},
		{path: "/cache/key?key=product::1"},
		{path: "/cache/no-such-page"},
		{method: http.MethodPost, path: "/cache/delete", form: url.Values{"key": {"product::1"}}},
		{method: http.MethodPost, path: "/cache/api/clear", form: url.Values{"alias": {"default"}, "confirm": {"default"}}},
	} {
		r := s.do(t, rq)
		if r.Status != http.StatusForbidden || strings.Contains(r.Body, "Tortoise") {
			t.Errorf("%s %s without an Authorizer: %d %q; want 403", rq.method, rq.path, r.Status, r.Body)
		}
	}
	if !c.IsCached(t.Context(), "product::1") {
		t.Error("a denied POST deleted the key")
	}
}

// cookieAuth is an application's own login: a "who" cookie names the
// user, and "ann" is staff.
var cookieAuth = web.AuthorizerFunc(func(r *http.Request) (string, web.Access) {
	c, err := r.Cookie("who")
	switch {
	case err != nil:
		return "", web.Anonymous
	case c.Value == "ann":
		return "ann", web.Staff
	}
	return c.Value, web.Forbidden
})

func TestLoginRedirectLikeUserPassesTest(t *testing.T) {
	s := newSite(t, twoAliases, web.Options{Auth: cookieAuth, LoginURL: "/login"})

	r := s.do(t, request{path: "/cache/?alias=sessions&prefix=a%20b"})
	want := "/login?next=" + url.QueryEscape("/cache/?alias=sessions&prefix=a%20b")
	if r.Status != http.StatusFound || r.Header.Get("Location") != want {
		t.Errorf("anonymous: %d Location %q; want 302 to %q", r.Status, r.Header.Get("Location"), want)
	}
	r = s.do(t, request{path: "/cache/", header: map[string]string{"Cookie": "who=carl"}})
	if r.Status != http.StatusForbidden || !strings.Contains(r.Body, "carl") {
		t.Errorf("not staff: %d %q; want 403 naming the user", r.Status, r.Body)
	}
	r = s.do(t, request{path: "/cache/api/stats"})
	if r.Status != http.StatusUnauthorized || r.Header.Get("Location") != "" || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Errorf("anonymous JSON: %d Location %q type %q; want 401 JSON, no redirect", r.Status, r.Header.Get("Location"), r.Header.Get("Content-Type"))
	}
	r = s.do(t, request{path: "/cache/", header: map[string]string{"Cookie": "who=ann"}})
	if r.Status != http.StatusOK || !strings.Contains(r.Body, "signed in as <b>ann</b>") {
		t.Errorf("staff: %d; want 200 naming ann", r.Status)
	}

	s = newSite(t, twoAliases, web.Options{Auth: cookieAuth, LoginURL: "/accounts/login?site=2"})
	r = s.do(t, request{path: "/cache/"})
	if loc := r.Header.Get("Location"); loc != "/accounts/login?site=2&next=%2Fcache%2F" {
		t.Errorf("login URL with a query: Location %q", loc)
	}
}

func TestBasicAuth(t *testing.T) {
	// Six failures from one client would make it wait (TestLoginLimit).
	s := newSite(t, twoAliases, web.Options{Auth: staffBasic(t), LoginLimit: web.LoginLimit{Free: 10}})
	for _, tc := range []struct {
		user, pass string
		status     int
	}{
		{"", "", http.StatusUnauthorized},
		{"ann", "wrong", http.StatusUnauthorized},
		{"ann", "correct hors", http.StatusUnauthorized},
		{"ann", "correct horse!", http.StatusUnauthorized},
		{"bob", "correct horse", http.StatusUnauthorized}, // another user's password
		{"carl", "correct horse", http.StatusUnauthorized},
		{"ann", "correct horse", http.StatusOK},
		{"bob", "battery staple", http.StatusOK},
	} {
		r := s.do(t, request{path: "/cache/", user: tc.user, pass: tc.pass})
		if r.Status != tc.status {
			t.Errorf("%q/%q: status %d, want %d", tc.user, tc.pass, r.Status, tc.status)
		}
		if tc.status == http.StatusUnauthorized && r.Header.Get("WWW-Authenticate") != `Basic realm="staff page", charset="UTF-8"` {
			t.Errorf("%q/%q: WWW-Authenticate %q", tc.user, tc.pass, r.Header.Get("WWW-Authenticate"))
		}
	}
	for _, users := range []map[string]string{nil, {"": "x"}, {"a:b": "x"}, {"ann": ""}} {
		if _, err := web.BasicAuth("r", users); err == nil {
			t.Errorf("BasicAuth(%v) accepted bad configuration", users)
		}
	}
}

func TestSecurityHeadersOnEveryResponse(t *testing.T) {
	s := newSite(t, twoAliases, web.Options{Auth: staffBasic(t)})
	for _, r := range []reply{
		s.get(t, "/cache/", http.StatusOK),
		s.get(t, "/cache/api/stats", http.StatusOK),
		s.get(t, "/cache/style.css", http.StatusOK),
		s.get(t, "/cache/?alias=nope", http.StatusNotFound),
		s.do(t, request{path: "/cache/"}), // 401
		s.post(t, "/cache/delete", url.Values{"alias": {"default"}, "key": {"x"}}, http.StatusSeeOther),
	} {
		for name, want := range map[string]string{
			"Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
			"X-Frame-Options":         "DENY",
			"Cache-Control":           "no-store",
			"X-Content-Type-Options":  "nosniff",
			"Referrer-Policy":         "no-referrer",
		} {
			if got := r.Header.Get(name); got != want {
				t.Errorf("status %d: %s = %q, want %q", r.Status, name, got, want)
			}
		}
	}
}

var figure = regexp.MustCompile(`<dd id="([a-z-]+)">(.*?)</dd>`)

// figures reads the named figures of the stats panel.
func figures(body string) map[string]string {
	out := map[string]string{}
	for _, m := range figure.FindAllStringSubmatch(body, -1) {
		out[m[1]] = html.UnescapeString(regexp.MustCompile(`<[^>]+>`).ReplaceAllString(m[2], ""))
	}
	return out
}

func TestStatsPage(t *testing.T) {
	keyedcache.RegisterStatsSource("web_test_jobs", func() any {
		return map[string]any{"report": map[string]int{"calls": 7, "computed": 2}, "summary": map[string]int{"calls": 1, "computed": 1}}
	})
	t.Cleanup(func() { keyedcache.RegisterStatsSource("web_test_jobs", nil) })
	s := newSite(t, twoAliases, web.Options{Auth: staffBasic(t)})
	ctx := t.Context()
	c := s.cache(t, "default")
	c.Set(ctx, "product::1", "Tortoise")
	c.Set(ctx, "product::2", "Hare")
	for _, id := range []int{1, 2, 3} {
		keyedcache.GetOr(ctx, c, "", "product", id) // 2 hits, 1 miss
	}

	r := s.get(t, "/cache/?alias=default", http.StatusOK)
	want := map[string]string{
		"status": "running", "calls": "3", "hits": "2", "misses": "1", "hit-rate": "66.7 %",
		"errors": "0", "keys-count": "2", "timeout": "1m30s",
	}
	got := figures(r.Body)
	for k, v := range want {
		if got[k] != v {
			t.Errorf("figure %s = %q, want %q", k, got[k], v)
		}
	}
	if strings.Contains(r.Body, "hunter2") {
		t.Error("the page shows the backend's password")
	}
	if !strings.Contains(r.Body, "memory://staff:xxxxx@localhost/?key_prefix=site&amp;timeout=90") {
		t.Error("the page does not show the backend URL, redacted")
	}
	// The switcher lists both aliases, the current one marked.
	if !strings.Contains(r.Body, `<a href="./?alias=default" aria-current="page">default</a>`) || !strings.Contains(r.Body, `<a href="./?alias=sessions">sessions</a>`) {
		t.Error("no alias switcher with default marked current")
	}
	// A registered section shows as a table of its JSON: one row per
	// function, a column per figure.
	sec := r.Body[strings.Index(r.Body, `<section id="sections">`):]
	for _, want := range []string{"<h3>web_test_jobs</h3>", "<th></th><th>calls</th><th>computed</th>", "<td>report</td><td>7</td><td>2</td>", "<td>summary</td><td>1</td><td>1</td>"} {
		if !strings.Contains(sec, want) {
			t.Errorf("sections do not show %q:\n%s", want, sec)
		}
	}
	// The backend's own figures.
	if !strings.Contains(r.Body, `<tr><th>max_entries</th><td>10000</td></tr>`) {
		t.Error("the backend's own figures are missing")
	}

	r = s.get(t, "/cache/?alias=sessions", http.StatusOK)
	if got := figures(r.Body); got["timeout"] != "forever" || got["calls"] != "0" {
		t.Errorf("sessions figures: %v", got)
	}

	// The same data as JSON.
	st := decode[struct {
		Aliases []struct {
			Alias   string           `json:"alias"`
			Backend string           `json:"backend"`
			Running bool             `json:"running"`
			Timeout string           `json:"timeout"`
			Keys    *int64           `json:"keys"`
			Stats   keyedcache.Stats `json:"stats"`
		} `json:"aliases"`
		Sections map[string]json.RawMessage `json:"sections"` // other tests' sections may be there too
	}](t, s.get(t, "/cache/api/stats", http.StatusOK))
	if len(st.Aliases) != 2 {
		t.Fatalf("api/stats: %d aliases", len(st.Aliases))
	}
	a := st.Aliases[0]
	if a.Alias != "default" || !a.Running || a.Timeout != "1m30s" || a.Keys == nil || *a.Keys != 2 ||
		a.Stats.Calls != 3 || a.Stats.Hits != 2 || a.Backend != "memory://staff:xxxxx@localhost/?key_prefix=site&timeout=90" {
		t.Errorf("api/stats default: %+v", a)
	}
	var jobs map[string]map[string]int
	if err := json.Unmarshal(st.Sections["web_test_jobs"], &jobs); err != nil || jobs["report"]["calls"] != 7 {
		t.Errorf("api/stats section web_test_jobs: %s (%v)", st.Sections["web_test_jobs"], err)
	}
}

var listedKey = regexp.MustCompile(`<td class="key"><a href="[^"]*"><code>(.*?)</code></a></td>`)
var nextLink = regexp.MustCompile(`<a rel="next" href="([^"]*)">`)

// listed reads the keys of a keys page and its next-page link.
func listed(body string) (keys []string, next string) {
	for _, m := range listedKey.FindAllStringSubmatch(body, -1) {
		keys = append(keys, html.UnescapeString(m[1]))
	}
	if m := nextLink.FindStringSubmatch(body); m != nil {
		next = html.UnescapeString(m[1])
	}
	return keys, next
}

func TestKeysPagedFilteredSorted(t *testing.T) {
	s := newSite(t, twoAliases, web.Options{Auth: staffBasic(t), PageSize: 20, ShowValues: true})
	ctx := t.Context()
	c := s.cache(t, "default")
	var want []string
	for i := range 45 {
		k := fmt.Sprintf("product::%02d", 44-i) // written in reverse
		c.Set(ctx, k, i, keyedcache.TTL(time.Hour))
		want = append([]string{k}, want...)
	}
	c.Set(ctx, "user::1", "Ann")

	var got []string
	path, pages := "/cache/?alias=default&prefix=product::", 0
	for path != "" {
		r := s.get(t, path, http.StatusOK)
		keys, next := listed(r.Body)
		got = append(got, keys...)
		pages++
		if next == "" {
			break
		}
		path = "/cache/" + strings.TrimPrefix(next, "./")
	}
	if d := cmp.Diff(want, got); d != "" || pages != 3 {
		t.Errorf("%d pages (-want +got):\n%s", pages, d)
	}

	r := s.get(t, "/cache/?alias=default&prefix=product::4", http.StatusOK)
	keys, next := listed(r.Body)
	if d := cmp.Diff([]string{"product::40", "product::41", "product::42", "product::43", "product::44"}, keys); d != "" || next != "" {
		t.Errorf("filtered (-want +got):\n%s\nnext %q", d, next)
	}
	// memory:// lists in order from the cursor, so the page reads only
	// the keys it shows and makes no claim to have counted the rest.
	if !strings.Contains(r.Body, "Showing 5, in order.") || strings.Contains(r.Body, `id="unordered"`) {
		t.Error("the page does not say it shows the 5 matching keys, or claims a count it did not make")
	}
	if !strings.Contains(r.Body, "<td>59m") && !strings.Contains(r.Body, "<td>1h0m0s</td>") {
		t.Error("no TTL shown")
	}

	kp := decode[struct {
		Keys []struct {
			Key        string   `json:"key"`
			TTLSeconds *float64 `json:"ttl_seconds"`
			Preview    string   `json:"preview"`
		} `json:"keys"`
		Next string `json:"next"`
		More bool   `json:"more"`
	}](t, s.get(t, "/cache/api/keys?alias=default&prefix=product::&limit=2&after=product::10", http.StatusOK))
	if len(kp.Keys) != 2 || kp.Keys[0].Key != "product::11" || kp.Keys[0].Preview != "33" || kp.Next != "product::12" || !kp.More ||
		kp.Keys[0].TTLSeconds == nil || *kp.Keys[0].TTLSeconds > 3600 || *kp.Keys[0].TTLSeconds < 3500 {
		t.Errorf("api/keys: %+v", kp)
	}
}

func TestKeysAndValuesAreEscaped(t *testing.T) {
	s := newSite(t, twoAliases, web.Options{Auth: staffBasic(t), ShowValues: true})
	ctx := t.Context()
	c := s.cache(t, "default")
	key := `<script>alert(1)</script>`
	c.Set(ctx, key, map[string]string{"bio": `<img src=x onerror=alert(2)>"'&`})
	for _, path := range []string{
		"/cache/?alias=default",
		"/cache/key?alias=default&key=" + url.QueryEscape(key),
		"/cache/?alias=default&done=deleted&key=" + url.QueryEscape(key),
		"/cache/?alias=" + url.QueryEscape(key), // an unknown alias named in the error
	} {
		r := s.do(t, request{path: path, user: "ann", pass: "correct horse"})
		if strings.Contains(r.Body, "<script") || strings.Contains(r.Body, "<img") {
			t.Errorf("%s: markup from a key or value is not escaped:\n%s", path, r.Body)
		}
	}
	r := s.get(t, "/cache/key?alias=default&key="+url.QueryEscape(key), http.StatusOK)
	if !strings.Contains(r.Body, "&lt;script&gt;alert(1)&lt;/script&gt;") || !strings.Contains(r.Body, "&lt;img src=x onerror=alert(2)&gt;") {
		t.Errorf("the key and value do not show as text:\n%s", r.Body)
	}
}

func TestDelete(t *testing.T) {
	s := newSite(t, twoAliases, web.Options{Auth: staffBasic(t)})
	ctx := t.Context()
	c := s.cache(t, "default")
	for _, k := range []string{"product::1", "product::1::summary", "product::1::photo::2", "product::12", "product::2"} {
		c.Set(ctx, k, k)
	}
	cached := func() []string {
		var out []string
		for _, k := range []string{"product::1", "product::1::summary", "product::1::photo::2", "product::12", "product::2"} {
			if c.IsCached(ctx, k) {
				out = append(out, k)
			}
		}
		return out
	}

	// Only a POST deletes, and only from this site.
	s.get(t, "/cache/delete?alias=default&key=product::2", http.StatusMethodNotAllowed)
	r := s.do(t, request{method: http.MethodPost, path: "/cache/delete", form: url.Values{"alias": {"default"}, "key": {"product::2"}},
		user: "ann", pass: "correct horse", header: map[string]string{"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}})
	if r.Status != http.StatusForbidden {
		t.Errorf("cross-site POST: %d, want 403", r.Status)
	}
	r = s.do(t, request{method: http.MethodPost, path: "/cache/delete", form: url.Values{"alias": {"default"}, "key": {"product::2"}},
		user: "ann", pass: "correct horse", header: map[string]string{"Origin": "https://evil.example"}})
	if r.Status != http.StatusForbidden {
		t.Errorf("POST from another origin: %d, want 403", r.Status)
	}
	if d := cmp.Diff([]string{"product::1", "product::1::summary", "product::1::photo::2", "product::12", "product::2"}, cached()); d != "" {
		t.Fatalf("refused requests deleted keys (-want +got):\n%s", d)
	}

	r = s.post(t, "/cache/delete", url.Values{"alias": {"default"}, "key": {"product::2"}, "children": {"0"}, "prefix": {"product::"}}, http.StatusSeeOther)
	if loc := r.Header.Get("Location"); loc != "./?alias=default&done=deleted&key=product%3A%3A2&prefix=product%3A%3A" {
		t.Errorf("after a delete, Location %q", loc)
	}
	r = s.get(t, "/cache/"+strings.TrimPrefix(r.Header.Get("Location"), "./"), http.StatusOK)
	if !strings.Contains(r.Body, `<p class="notice" role="status">Deleted &#34;product::2&#34;.</p>`) {
		t.Error("no notice of the delete")
	}
	s.post(t, "/cache/delete", url.Values{"alias": {"default"}, "key": {"product::1"}, "children": {"1"}}, http.StatusSeeOther)
	if d := cmp.Diff([]string{"product::12"}, cached()); d != "" {
		t.Errorf("after deleting product::1 with children (-want +got):\n%s", d)
	}

	// The JSON endpoint.
	c.Set(ctx, "product::3", 3)
	d := decode[map[string]any](t, s.post(t, "/cache/api/delete", url.Values{"alias": {"default"}, "key": {"product::3"}}, http.StatusOK))
	if d["deleted"] != "product::3" || c.IsCached(ctx, "product::3") {
		t.Errorf("api/delete: %v", d)
	}
	s.post(t, "/cache/api/delete", url.Values{"alias": {"default"}}, http.StatusBadRequest)
	s.post(t, "/cache/delete", url.Values{"alias": {"nope"}, "key": {"x"}}, http.StatusNotFound)
}

func TestDeleteEveryKeyNeedsConfirmation(t *testing.T) {
	aliases := map[string]string{"default": "memory://?key_prefix=a", "other": "memory://?key_prefix=b"}
	s := newSite(t, aliases, web.Options{Auth: staffBasic(t)})
	ctx := t.Context()
	a, b := s.cache(t, "default"), s.cache(t, "other")
	a.Set(ctx, "k::1", 1)
	a.Set(ctx, "k::2", 2)
	b.Set(ctx, "k::1", 1)

	r := s.get(t, "/cache/clear?alias=default", http.StatusOK)
	if !strings.Contains(r.Body, `<input name="confirm"`) || !strings.Contains(r.Body, `<b id="count">2</b> now`) {
		t.Errorf("no confirmation form:\n%s", r.Body)
	}
	s.post(t, "/cache/clear", url.Values{"alias": {"default"}}, http.StatusBadRequest)
	r = s.post(t, "/cache/clear", url.Values{"alias": {"default"}, "confirm": {"defaul"}}, http.StatusBadRequest)
	if !strings.Contains(r.Body, "Nothing was deleted") {
		t.Error("a wrong confirmation does not say nothing was deleted")
	}
	s.post(t, "/cache/api/clear", url.Values{"alias": {"default"}, "confirm": {"other"}}, http.StatusBadRequest)
	if !a.IsCached(ctx, "k::1") || !a.IsCached(ctx, "k::2") {
		t.Fatal("keys deleted without confirmation")
	}
	r = s.post(t, "/cache/clear", url.Values{"alias": {"default"}, "confirm": {"default"}}, http.StatusSeeOther)
	if a.IsCached(ctx, "k::1") || a.IsCached(ctx, "k::2") || !b.IsCached(ctx, "k::1") {
		t.Errorf("after delete-all of default: default k::1 %v, k::2 %v, other k::1 %v", a.IsCached(ctx, "k::1"), a.IsCached(ctx, "k::2"), b.IsCached(ctx, "k::1"))
	}
	if loc := r.Header.Get("Location"); loc != "./?alias=default&done=cleared&key=default" {
		t.Errorf("Location %q", loc)
	}
	s.post(t, "/cache/api/clear", url.Values{"alias": {"other"}, "confirm": {"other"}}, http.StatusOK)
	if b.IsCached(ctx, "k::1") {
		t.Error("api/clear did not clear")
	}
}

func TestKeyPage(t *testing.T) {
	aliases := map[string]string{"default": "memory://?key_prefix=site", "ref": "memory://?by_reference=true"}
	s := newSite(t, aliases, web.Options{Auth: staffBasic(t), ShowValues: true})
	ctx := t.Context()
	c := s.cache(t, "default")
	c.Set(ctx, "product::1", map[string]any{"name": "Tortoise", "price": 9.5}, keyedcache.TTL(keyedcache.Forever))

	r := s.get(t, "/cache/key?alias=default&key=product::1", http.StatusOK)
	for _, want := range []string{`<td id="ttl">forever</td>`, "<code>site::product::1</code>", "{\n  &#34;name&#34;: &#34;Tortoise&#34;,\n  &#34;price&#34;: 9.5\n}"} {
		if !strings.Contains(r.Body, want) {
			t.Errorf("key page lacks %q:\n%s", want, r.Body)
		}
	}
	s.get(t, "/cache/key?alias=default&key=product::2", http.StatusNotFound)

	ki := decode[map[string]any](t, s.get(t, "/cache/api/key?alias=default&key=product::1", http.StatusOK))
	if d := cmp.Diff(map[string]any{"name": "Tortoise", "price": 9.5}, ki["value"]); d != "" || ki["ttl"] != "forever" {
		t.Errorf("api/key %v (-want +got value):\n%s", ki, d)
	}
	s.get(t, "/cache/api/key?alias=default&key=product::2", http.StatusNotFound)

	// A value kept by reference shows as Go syntax when JSON cannot
	// encode it.
	type withChan struct {
		Name string
		C    chan int
	}
	s.cache(t, "ref").Set(ctx, "v", &withChan{Name: "ch"})
	r = s.get(t, "/cache/key?alias=ref&key=v", http.StatusOK)
	if !strings.Contains(r.Body, "kept by reference") || !strings.Contains(r.Body, "Name:&#34;ch&#34;") {
		t.Errorf("by-reference value:\n%s", r.Body)
	}
}

func TestCorruptValueIsShownNotFatal(t *testing.T) {
	s := newSite(t, map[string]string{"default": "memory://"}, web.Options{Auth: staffBasic(t), ShowValues: true})
	c := s.cache(t, "default")
	c.Backend().Set(t.Context(), "bad", []byte{0x01, 0xbf, 0x61, '<', 'b', '>'}, time.Minute)
	r := s.get(t, "/cache/key?alias=default&key=bad", http.StatusOK)
	if !strings.Contains(r.Body, "The value cannot be decoded") || !strings.Contains(r.Body, `&#34;\x01\xbfa&lt;b&gt;&#34;`) {
		t.Errorf("corrupt value page:\n%s", r.Body)
	}
	r = s.get(t, "/cache/?alias=default", http.StatusOK)
	if !strings.Contains(r.Body, `<span class="warn">undecodable:</span>`) {
		t.Errorf("keys page does not mark the corrupt value:\n%s", r.Body)
	}
	if !c.IsCached(t.Context(), "bad") {
		t.Error("looking at a corrupt value deleted it")
	}
}

func TestBackendThatCannotList(t *testing.T) {
	s := newSite(t, map[string]string{"default": "dummy://"}, web.Options{Auth: staffBasic(t)})
	r := s.get(t, "/cache/", http.StatusOK)
	if !strings.Contains(r.Body, `id="cannot-list"`) {
		t.Errorf("no notice that the backend cannot list keys:\n%s", r.Body)
	}
	s.get(t, "/cache/api/keys", http.StatusNotImplemented)
}

// lister hides prefix delete from a memory store, so the core uses
// namespace generations.
type lister struct {
	backend.Backend
	backend.KeyLister
	backend.TTLReader
}

func init() {
	backend.Register("webtestgens", backend.Driver{Open: func(backend.Config) (backend.Backend, error) {
		s, err := memory.New(memory.Options{})
		if err != nil {
			return nil, err
		}
		return lister{s, s, s}, nil
	}})
}

// TestLongKeyListedUnderGenerations: under generations every entry is
// stored under its own key, so a long key is listed as Key built it
// (shortened, its parent kept), the listing stays complete, the listed
// key opens the entry and a delete of the parent with children hides it.
func TestLongKeyListedUnderGenerations(t *testing.T) {
	s := newSite(t, map[string]string{"default": "webtestgens://"}, web.Options{Auth: staffBasic(t)})
	c := s.cache(t, "default")
	ctx := t.Context()
	c.Set(ctx, "short", 1)
	long := c.Key(strings.Repeat("x", 190), strings.Repeat("y", 30)) // Key shortens it, keeping the parent
	c.Set(ctx, long, 1)
	r := s.get(t, "/cache/", http.StatusOK)
	if strings.Contains(r.Body, `id="incomplete"`) {
		t.Errorf("a complete listing is said to be incomplete:\n%s", r.Body)
	}
	keys, _ := listed(r.Body)
	if len(keys) != 2 || keys[0] != "short" {
		t.Fatalf("listed %q; want short and the long key's shortened form", keys)
	}
	if parent := strings.Repeat("x", 190) + keyedcache.Sep; keys[1] != long || !strings.HasPrefix(long, parent) {
		t.Errorf("long key listed as %q; want %q, the key Key built, starting with its parent %q", keys[1], long, parent)
	}
	s.get(t, "/cache/api/key?alias=default&key="+url.QueryEscape(keys[1]), http.StatusOK)
	c.DeleteChildren(ctx, strings.Repeat("x", 190))
	r = s.get(t, "/cache/", http.StatusOK)
	if keys, _ := listed(r.Body); !cmp.Equal(keys, []string{"short"}) {
		t.Errorf("after deleting the parent with children, listed %q; want [short]", keys)
	}
}

func TestBackendDownShowsDown(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	s := newSite(t, map[string]string{"default": "file://" + dir, "mem": "memory://"}, web.Options{Auth: staffBasic(t), Timeout: time.Second})
	s.cache(t, "default").Set(t.Context(), "k", 1)
	if err := os.RemoveAll(dir); err != nil {
		t.Fatal(err)
	}
	r := s.get(t, "/cache/?alias=default", http.StatusOK)
	if got := figures(r.Body)["status"]; got != "down" {
		t.Errorf("status %q, want down", got)
	}
	if !strings.Contains(r.Body, "Down because") || !strings.Contains(r.Body, `id="list-error"`) {
		t.Errorf("the page does not say why:\n%s", r.Body)
	}
	st := decode[struct {
		Aliases []struct {
			Alias   string `json:"alias"`
			Running bool   `json:"running"`
			Down    string `json:"down"`
		} `json:"aliases"`
	}](t, s.get(t, "/cache/api/stats", http.StatusOK))
	if len(st.Aliases) != 2 || st.Aliases[0].Running || st.Aliases[0].Down == "" || !st.Aliases[1].Running {
		t.Errorf("api/stats: %+v", st.Aliases)
	}
}

func TestUnknownAliasAndRoutes(t *testing.T) {
	s := newSite(t, twoAliases, web.Options{Auth: staffBasic(t)})
	r := s.get(t, "/cache/?alias=nope", http.StatusNotFound)
	if !strings.Contains(r.Body, `no alias &#34;nope&#34; (configured: [default sessions])`) {
		t.Errorf("unknown alias page:\n%s", r.Body)
	}
	s.get(t, "/cache/api/keys?alias=nope", http.StatusNotFound)
	s.get(t, "/cache/nothing-here", http.StatusNotFound)
	s.get(t, "/cache/clear?alias=sessions", http.StatusOK)
}
