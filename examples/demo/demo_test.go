package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
)

// testDelay keeps the slow page slow enough to tell apart by eye in a
// failure, and fast enough for a test. Nothing asserts on timing.
const testDelay = 50 * time.Millisecond

type demo struct {
	srv   *server
	ts    *httptest.Server
	cache *keyedcache.Cache
}

// newDemo starts the demo on a cache of its own, never the default alias.
func newDemo(t *testing.T, opts options) *demo {
	t.Helper()
	c, err := keyedcache.Open("memory://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return newDemoOn(t, c, opts)
}

func newDemoOn(t *testing.T, c *keyedcache.Cache, opts options) *demo {
	t.Helper()
	if opts.Delay == 0 {
		opts.Delay = testDelay
	}
	opts.Logger = slog.New(slog.DiscardHandler)
	s := newServer(c, opts)
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return &demo{srv: s, ts: ts, cache: c}
}

type reply struct {
	Status int
	Header http.Header
	Body   string
}

// do sends a request without following redirects.
func (d *demo) do(t *testing.T, method, path string, form url.Values, header http.Header) reply {
	t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), method, d.ts.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	for k, v := range header {
		req.Header[k] = v
	}
	client := *d.ts.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: string(b)}
}

func (d *demo) get(t *testing.T, path string) reply {
	t.Helper()
	return d.do(t, http.MethodGet, path, nil, nil)
}

// slowResult is what one load of /slow shows, to compare with cmp.Diff.
type slowResult struct {
	Status   int
	XCache   string
	Computed int64
}

func (d *demo) loadSlow(t *testing.T, id int) slowResult {
	t.Helper()
	r := d.get(t, fmt.Sprintf("/slow?id=%d", id))
	return slowResult{Status: r.Status, XCache: r.Header.Get("X-Cache"), Computed: d.srv.computed.Load()}
}

func TestSlowMissThenHit(t *testing.T) {
	d := newDemo(t, options{})
	for i, want := range []slowResult{
		{Status: 200, XCache: "miss", Computed: 1}, // computed and stored
		{Status: 200, XCache: "hit", Computed: 1},  // read back, not computed again
		{Status: 200, XCache: "hit", Computed: 1},
	} {
		if diff := cmp.Diff(want, d.loadSlow(t, 1)); diff != "" {
			t.Errorf("load %d of /slow?id=1 (-want +got):\n%s", i+1, diff)
		}
	}
	// Another id is another key.
	if diff := cmp.Diff(slowResult{200, "miss", 2}, d.loadSlow(t, 2)); diff != "" {
		t.Errorf("first load of /slow?id=2 (-want +got):\n%s", diff)
	}
	if !d.cache.IsCached(t.Context(), "report", 1) {
		t.Errorf("report::1 is not cached after loading /slow?id=1")
	}
}

func TestSlowPageShowsKeyAndOutcome(t *testing.T) {
	d := newDemo(t, options{})
	for _, want := range []string{"miss", "hit"} {
		r := d.get(t, "/slow?id=7")
		for _, s := range []string{"<code>report::7</code>", "<strong>" + want + "</strong>", "this page took"} {
			if !strings.Contains(r.Body, s) {
				t.Errorf("%s: body lacks %q:\n%s", want, s, r.Body)
			}
		}
	}
}

func TestSlowBadID(t *testing.T) {
	d := newDemo(t, options{})
	if r := d.get(t, "/slow?id=abc"); r.Status != http.StatusBadRequest {
		t.Errorf("GET /slow?id=abc: status %d, want 400", r.Status)
	}
	if n := d.srv.computed.Load(); n != 0 {
		t.Errorf("a bad id computed %d reports, want 0", n)
	}
}

func TestCachePageListsKeysEscaped(t *testing.T) {
	d := newDemo(t, options{})
	d.loadSlow(t, 1)
	const evil = "<script>alert(1)</script>"
	if err := d.cache.Set(t.Context(), evil, "boo"); err != nil {
		t.Fatal(err)
	}
	r := d.get(t, "/cache")
	if r.Status != http.StatusOK {
		t.Fatalf("GET /cache: status %d", r.Status)
	}
	for _, s := range []string{"<code>report::1</code>", "&lt;script&gt;alert(1)&lt;/script&gt;", "2 keys"} {
		if !strings.Contains(r.Body, s) {
			t.Errorf("GET /cache: body lacks %q:\n%s", s, r.Body)
		}
	}
	if strings.Contains(r.Body, "<script>") {
		t.Errorf("GET /cache: body holds a raw <script> tag:\n%s", r.Body)
	}
}

func TestCachePageWithoutKeyLister(t *testing.T) {
	mem, err := keyedcache.Open("memory://")
	if err != nil {
		t.Fatal(err)
	}
	// A struct that embeds only the Backend interface hides every
	// optional capability, KeyLister among them.
	c, err := keyedcache.New(struct{ backend.Backend }{mem.Backend()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	d := newDemoOn(t, c, options{})
	d.loadSlow(t, 1)
	r := d.get(t, "/cache")
	if !strings.Contains(r.Body, "This backend cannot list its keys.") {
		t.Errorf("GET /cache on a backend without KeyLister does not say so:\n%s", r.Body)
	}
}

func TestListKeysSortedAndBounded(t *testing.T) {
	c, err := keyedcache.Open("memory://")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	var all []string
	for i := 24; i >= 0; i-- { // written out of order
		k := fmt.Sprintf("k%03d", i)
		if err := c.Set(t.Context(), k, i); err != nil {
			t.Fatal(err)
		}
		all = append([]string{k}, all...)
	}
	for _, max := range []int{3, 10, 25, 200} {
		got := listKeys(t.Context(), c, max)
		n := min(max, len(all))
		want := keyListing{Supported: true, Keys: all[:n], Total: len(all), Truncated: n < len(all), Complete: true}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("listKeys(max=%d) (-want +got):\n%s", max, diff)
		}
	}
}

func TestCachePageTruncates(t *testing.T) {
	d := newDemo(t, options{})
	for i := range maxKeysShown + 5 {
		if err := d.cache.Set(t.Context(), fmt.Sprintf("item::%04d", i), i); err != nil {
			t.Fatal(err)
		}
	}
	r := d.get(t, "/cache")
	want := fmt.Sprintf("%d keys; the first %d in order are shown", maxKeysShown+5, maxKeysShown)
	if !strings.Contains(r.Body, want) {
		t.Errorf("GET /cache: body lacks %q", want)
	}
	if n := strings.Count(r.Body, `action="/cache/delete"`); n != maxKeysShown {
		t.Errorf("GET /cache shows %d delete forms, want %d", n, maxKeysShown)
	}
}

func TestDeleteThenMissAgain(t *testing.T) {
	d := newDemo(t, options{})
	d.loadSlow(t, 1)
	r := d.do(t, http.MethodPost, "/cache/delete", url.Values{"key": {"report::1"}}, nil)
	if r.Status != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/cache?") {
		t.Fatalf("POST /cache/delete: status %d, Location %q; want 303 to /cache", r.Status, r.Header.Get("Location"))
	}
	if d.cache.IsCached(t.Context(), "report", 1) {
		t.Errorf("report::1 is still cached after POST /cache/delete")
	}
	if diff := cmp.Diff(slowResult{200, "miss", 2}, d.loadSlow(t, 1)); diff != "" {
		t.Errorf("/slow?id=1 after the delete (-want +got):\n%s", diff)
	}
	// The page the redirect leads to says what happened, escaped.
	back := d.get(t, r.Header.Get("Location"))
	if !strings.Contains(back.Body, "Deleted <code>report::1</code>") {
		t.Errorf("the cache page after a delete does not say so:\n%s", back.Body)
	}
}

func TestDeleteChildren(t *testing.T) {
	d := newDemo(t, options{})
	ctx := t.Context()
	for _, k := range []string{"report::1", "report::1::detail", "report::10"} {
		if err := d.cache.Set(ctx, k, k); err != nil {
			t.Fatal(err)
		}
	}
	r := d.do(t, http.MethodPost, "/cache/delete", url.Values{"key": {"report::1"}, "children": {"1"}}, nil)
	if r.Status != http.StatusSeeOther {
		t.Fatalf("POST /cache/delete with children: status %d, want 303", r.Status)
	}
	got := map[string]bool{}
	for _, k := range []string{"report::1", "report::1::detail", "report::10"} {
		got[k] = d.cache.IsCached(ctx, k)
	}
	want := map[string]bool{"report::1": false, "report::1::detail": false, "report::10": true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cached after deleting report::1 with children (-want +got):\n%s", diff)
	}
}

func TestDeleteRejected(t *testing.T) {
	d := newDemo(t, options{})
	d.loadSlow(t, 1)
	key := url.Values{"key": {"report::1"}}
	for _, tc := range []struct {
		name   string
		method string
		path   string
		form   url.Values
		header http.Header
		want   int
	}{
		{"GET", http.MethodGet, "/cache/delete", nil, nil, http.StatusMethodNotAllowed},
		{"GET with the key in the query", http.MethodGet, "/cache/delete?key=report::1", nil, nil, http.StatusMethodNotAllowed},
		{"no key", http.MethodPost, "/cache/delete", url.Values{}, nil, http.StatusBadRequest},
		{"cross-site", http.MethodPost, "/cache/delete", key, http.Header{"Sec-Fetch-Site": {"cross-site"}}, http.StatusForbidden},
		{"other origin", http.MethodPost, "/cache/delete", key, http.Header{"Origin": {"http://evil.example"}}, http.StatusForbidden},
	} {
		if r := d.do(t, tc.method, tc.path, tc.form, tc.header); r.Status != tc.want {
			t.Errorf("%s %s (%s): status %d, want %d", tc.method, tc.path, tc.name, r.Status, tc.want)
		}
	}
	if !d.cache.IsCached(t.Context(), "report", 1) {
		t.Errorf("a rejected request deleted report::1")
	}
}

func TestHealthz(t *testing.T) {
	d := newDemo(t, options{})
	r := d.get(t, "/healthz")
	if r.Status != http.StatusOK || r.Body != "ok\n" {
		t.Errorf("GET /healthz: %d %q, want 200 \"ok\\n\"", r.Status, r.Body)
	}
}

func TestHealthzDown(t *testing.T) {
	down := func(context.Context) error { return errors.New("backend down") }
	d := newDemo(t, options{Require: down})
	r := d.get(t, "/healthz")
	if r.Status != http.StatusServiceUnavailable || !strings.Contains(r.Body, "backend down") {
		t.Errorf("GET /healthz with the cache down: %d %q, want 503 and the error", r.Status, r.Body)
	}
}

func TestIndex(t *testing.T) {
	d := newDemo(t, options{})
	r := d.get(t, "/")
	for _, s := range []string{`href="/slow?id=1"`, `href="/cache"`, `href="/healthz"`} {
		if !strings.Contains(r.Body, s) {
			t.Errorf("GET /: body lacks %q", s)
		}
	}
	if r := d.get(t, "/nope"); r.Status != http.StatusNotFound {
		t.Errorf("GET /nope: status %d, want 404", r.Status)
	}
}
