package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/web"
)

// TestSecurityHeadersOnEveryPage checks that the demo's own pages, its
// errors and refusals included, send the staff page's security headers.
func TestSecurityHeadersOnEveryPage(t *testing.T) {
	rec := httptest.NewRecorder()
	web.SecureHeaders(http.NotFoundHandler()).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	want := rec.Header().Clone()
	want.Del("Content-Type")
	want.Del("X-Content-Type-Options") // checked below, as http.Error sets it too
	if len(want) < 5 || !strings.Contains(want.Get("Content-Security-Policy"), "default-src 'none'") {
		t.Fatalf("web.SecureHeaders sets %v", want)
	}

	d, user, password := staffDemo(t)
	registerFunction(d.srv.mux, d.cache, testDelay)
	cross := http.Header{"Origin": {"http://evil.example"}, "Sec-Fetch-Site": {"cross-site"}}
	for _, rq := range []struct {
		method, path string
		header       http.Header
		status       int
	}{
		{"GET", "/", nil, 200},
		{"GET", "/slow?id=1", nil, 200},
		{"GET", "/slow?id=abc", nil, 400},
		{"GET", "/function?name=Chez%20Panisse", nil, 200},
		{"GET", "/healthz", nil, 200},
		{"GET", "/style.css", nil, 200},
		{"GET", "/nope", nil, 404},
		{"POST", "/function/delete", cross, 403},
		{"GET", "/cache/", nil, 401},
		{"GET", "/cache/", basic(user, password), 200},
	} {
		var form url.Values
		if rq.method == http.MethodPost {
			form = url.Values{}
		}
		r := d.do(t, rq.method, rq.path, form, rq.header)
		if r.Status != rq.status {
			t.Errorf("%s %s: status %d, want %d", rq.method, rq.path, r.Status, rq.status)
		}
		got := http.Header{}
		for k := range want {
			got[k] = r.Header[k]
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s %s: security headers (-want +got):\n%s", rq.method, rq.path, diff)
		}
		if r.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Errorf("%s %s: X-Content-Type-Options %q", rq.method, rq.path, r.Header.Get("X-Content-Type-Options"))
		}
	}
	// The pages have no inline style the policy would block: they use
	// the style sheet, served as one.
	if r := d.get(t, "/"); strings.Contains(r.Body, "<style") || strings.Contains(r.Body, "style=") || !strings.Contains(r.Body, `<link rel="stylesheet" href="/style.css">`) {
		t.Errorf("the index page has inline styles, or no style sheet:\n%s", r.Body)
	}
	if r := d.get(t, "/style.css"); r.Header.Get("Content-Type") != "text/css; charset=utf-8" || !strings.Contains(r.Body, "body {") {
		t.Errorf("/style.css: %q %q", r.Header.Get("Content-Type"), r.Body)
	}
}
