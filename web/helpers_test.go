package web_test

import (
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/web"
)

// site is a test web site with the staff page mounted at /cache/, as an
// application would mount it, and a registry of its own.
type site struct {
	reg *keyedcache.Registry
	ts  *httptest.Server
	h   *web.Handler
}

// newSite opens the aliases (name → URL) and serves the staff page with
// opts (Registry and Logger are filled in).
func newSite(t *testing.T, aliases map[string]string, opts web.Options) *site {
	t.Helper()
	reg := keyedcache.NewRegistry()
	t.Cleanup(func() { reg.Close() })
	if err := reg.Configure(aliases, keyedcache.WithLogger(slog.New(slog.DiscardHandler))); err != nil {
		t.Fatal(err)
	}
	opts.Registry = reg
	if opts.Logger == nil {
		opts.Logger = slog.New(slog.DiscardHandler)
	}
	h := web.New(opts)
	mux := http.NewServeMux()
	mux.Handle("/cache/", http.StripPrefix("/cache", h))
	ts := httptest.NewServer(mux)
	t.Cleanup(ts.Close)
	return &site{reg: reg, ts: ts, h: h}
}

func (s *site) cache(t *testing.T, alias string) *keyedcache.Cache {
	t.Helper()
	c, err := s.reg.Lookup(alias)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

type reply struct {
	Status int
	Header http.Header
	Body   string
}

// staffBasic is the Basic authorizer the tests log in with.
func staffBasic(t *testing.T) web.Challenger {
	t.Helper()
	a, err := web.BasicAuth("staff page", map[string]string{"ann": "correct horse", "bob": "battery staple"})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// request describes one request to the site.
type request struct {
	method string
	path   string // under the site root, e.g. "/cache/?alias=x"
	form   url.Values
	user   string // Basic credentials, when user != ""
	pass   string
	header map[string]string
}

// do sends a request without following redirects.
func (s *site) do(t *testing.T, rq request) reply {
	t.Helper()
	if rq.method == "" {
		rq.method = http.MethodGet
	}
	var body io.Reader
	if rq.form != nil {
		body = strings.NewReader(rq.form.Encode())
	}
	req, err := http.NewRequestWithContext(t.Context(), rq.method, s.ts.URL+rq.path, body)
	if err != nil {
		t.Fatal(err)
	}
	if rq.form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	if rq.user != "" {
		req.SetBasicAuth(rq.user, rq.pass)
	}
	for k, v := range rq.header {
		req.Header.Set(k, v)
	}
	client := *s.ts.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return reply{Status: resp.StatusCode, Header: resp.Header, Body: string(data)}
}

// get fetches a page as ann, who is staff, and checks the status.
func (s *site) get(t *testing.T, path string, status int) reply {
	t.Helper()
	r := s.do(t, request{path: path, user: "ann", pass: "correct horse"})
	if r.Status != status {
		t.Fatalf("GET %s: status %d, want %d; body:\n%s", path, r.Status, status, r.Body)
	}
	return r
}

// post posts a form as ann, from the page itself (as a browser would say).
func (s *site) post(t *testing.T, path string, form url.Values, status int) reply {
	t.Helper()
	r := s.do(t, request{method: http.MethodPost, path: path, form: form, user: "ann", pass: "correct horse",
		header: map[string]string{"Sec-Fetch-Site": "same-origin", "Origin": s.ts.URL}})
	if r.Status != status {
		t.Fatalf("POST %s %v: status %d, want %d; body:\n%s", path, form, r.Status, status, r.Body)
	}
	return r
}

func decode[T any](t *testing.T, r reply) T {
	t.Helper()
	var v T
	if err := json.Unmarshal([]byte(r.Body), &v); err != nil {
		t.Fatalf("decoding %q: %v", r.Body, err)
	}
	return v
}
