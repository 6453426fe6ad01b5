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

// staffDemo is the demo with the staff page mounted as run mounts it,
// on a registry of its own.
func staffDemo(t *testing.T) (d *demo, user, password string) {
	t.Helper()
	reg := keyedcache.NewRegistry()
	t.Cleanup(func() { reg.Close() })
	if err := reg.Configure(map[string]string{"default": "memory://"}); err != nil {
		t.Fatal(err)
	}
	c, err := reg.Lookup("default")
	if err != nil {
		t.Fatal(err)
	}
	d = newDemoOn(t, c, options{})
	user, password, err = mountStaff(d.srv.mux, reg, slog.New(slog.DiscardHandler), true)
	if err != nil {
		t.Fatal(err)
	}
	return d, user, password
}

func basic(user, password string) http.Header {
	req, _ := http.NewRequest(http.MethodGet, "/", nil)
	req.SetBasicAuth(user, password)
	return req.Header
}

func TestStaffPageNeedsTheLogin(t *testing.T) {
	d, user, password := staffDemo(t)
	if password == "" || user == "" {
		t.Fatal("mountStaff returned an empty login")
	}
	for _, h := range []http.Header{nil, basic(user, "wrong"), basic("admin", password)} {
		if r := d.do(t, http.MethodGet, "/cache/", nil, h); r.Status != http.StatusUnauthorized {
			t.Errorf("GET /cache/ with %v: status %d, want 401", h, r.Status)
		}
	}
	if _, _, password2 := staffDemo(t); password2 == password {
		t.Error("two starts drew the same staff password")
	}
}

func TestStaffPageListsKeysEscaped(t *testing.T) {
	d, user, password := staffDemo(t)
	d.loadSlow(t, 1)
	const evil = "<script>alert(1)</script>"
	if err := d.cache.Set(t.Context(), evil, "boo"); err != nil {
		t.Fatal(err)
	}
	r := d.do(t, http.MethodGet, "/cache/", nil, basic(user, password))
	if r.Status != http.StatusOK {
		t.Fatalf("GET /cache/: status %d", r.Status)
	}
	for _, s := range []string{"report::1", "&lt;script&gt;alert(1)&lt;/script&gt;"} {
		if !strings.Contains(r.Body, s) {
			t.Errorf("GET /cache/: body lacks %q:\n%s", s, r.Body)
		}
	}
	if strings.Contains(r.Body, "<script>") {
		t.Errorf("GET /cache/: body holds a raw <script> tag:\n%s", r.Body)
	}
}

func TestStaffDeleteWithChildrenThenMissAgain(t *testing.T) {
	d, user, password := staffDemo(t)
	ctx := t.Context()
	d.loadSlow(t, 1)
	for _, k := range []string{"report::1::detail", "report::10"} {
		if err := d.cache.Set(ctx, k, k); err != nil {
			t.Fatal(err)
		}
	}
	h := basic(user, password)
	h.Set("Origin", d.ts.URL)
	form := url.Values{"alias": {"default"}, "key": {"report::1"}, "children": {"1"}}
	if r := d.do(t, http.MethodPost, "/cache/delete", form, h); r.Status != http.StatusSeeOther {
		t.Fatalf("POST /cache/delete: status %d, want 303\n%s", r.Status, r.Body)
	}
	got := map[string]bool{}
	for _, k := range []string{"report::1", "report::1::detail", "report::10"} {
		got[k] = d.cache.IsCached(ctx, k)
	}
	want := map[string]bool{"report::1": false, "report::1::detail": false, "report::10": true}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("cached after deleting report::1 with children (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(slowResult{200, "miss", 2}, d.loadSlow(t, 1)); diff != "" {
		t.Errorf("/slow?id=1 after the delete (-want +got):\n%s", diff)
	}
}

func TestStaffDeleteRejected(t *testing.T) {
	d, user, password := staffDemo(t)
	d.loadSlow(t, 1)
	form := url.Values{"alias": {"default"}, "key": {"report::1"}}
	cross := basic(user, password)
	cross.Set("Origin", "http://evil.example")
	cross.Set("Sec-Fetch-Site", "cross-site")
	for _, tc := range []struct {
		name   string
		method string
		form   url.Values
		header http.Header
		want   int
	}{
		{"GET", http.MethodGet, nil, basic(user, password), http.StatusMethodNotAllowed},
		{"no login", http.MethodPost, form, nil, http.StatusUnauthorized},
		{"cross-site", http.MethodPost, form, cross, http.StatusForbidden},
	} {
		if r := d.do(t, tc.method, "/cache/delete", tc.form, tc.header); r.Status != tc.want {
			t.Errorf("%s /cache/delete (%s): status %d, want %d", tc.method, tc.name, r.Status, tc.want)
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
	for _, s := range []string{`href="/slow?id=1"`, `href="/cache/"`, `href="/function"`, `href="/catalogue"`, `href="/healthz"`} {
		if !strings.Contains(r.Body, s) {
			t.Errorf("GET /: body lacks %q", s)
		}
	}
	if r := d.get(t, "/nope"); r.Status != http.StatusNotFound {
		t.Errorf("GET /nope: status %d, want 404", r.Status)
	}
}
