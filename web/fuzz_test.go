package web_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/web"
)

// canary is markup a fuzzed query or form puts where it writes '@'. The
// page may show it (a key or a prefix can hold anything), but escaped:
// an HTML or JSON reply holding it as it is would run what it holds.
const canary = `<x-fz"'>`

var fuzzRoutes = []struct{ method, path string }{
	{http.MethodGet, "/"},
	{http.MethodGet, "/key"},
	{http.MethodGet, "/clear"},
	{http.MethodGet, "/style.css"},
	{http.MethodGet, "/api/stats"},
	{http.MethodGet, "/api/keys"},
	{http.MethodGet, "/api/key"},
	{http.MethodPost, "/delete"},
	{http.MethodPost, "/clear"},
	{http.MethodPost, "/api/delete"},
	{http.MethodPost, "/api/clear"},
}

// FuzzStaffPage sends a logged-in staff user's requests with fuzzed
// query strings and form bodies to every route of the staff page: no
// panic, no 5xx (the memory backends never fail), the security headers
// on every reply, redirects that stay on the page, and no fuzzed markup
// in an HTML or JSON reply unescaped.
func FuzzStaffPage(f *testing.F) {
	for _, s := range []struct {
		route       uint8
		query, body string
	}{
		{0, "alias=default&prefix=user::&limit=5", ""},
		{0, "alias=@&prefix=@&after=@&limit=-1", ""},
		{0, "done=deleted&key=@", ""},
		{0, "done=deleted-children&key=%ff%00@&alias=other", ""},
		{1, "key=user::1", ""},
		{1, "key=@&alias=default", ""},
		{1, "key=%3Cscript%3E", ""},
		{2, "alias=@", ""},
		{5, "prefix=@&after=@&limit=99999999999999999999", ""},
		{6, "key=@", ""},
		{6, "", ""},
		{7, "", "key=user::1&alias=default&prefix=@&after=@"},
		{7, "", "key=@&children=1"},
		{7, "", "alias=@"},
		{7, "", "%zz"},
		{8, "", "confirm=default"},
		{8, "", "confirm=@&alias=other"},
		{9, "", "key=@&children=1&alias=other"},
		{10, "", "confirm=other&alias=other"},
		{11, "@", "@"},
		{12, "x=;y", "a=%"},
	} {
		f.Add(s.route, s.query, s.body, "user::@")
	}
	reg := keyedcache.NewRegistry()
	f.Cleanup(func() { reg.Close() })
	if err := reg.Configure(map[string]string{"default": "memory://", "other": "memory://?max_entries=100"},
		keyedcache.WithLogger(slog.New(slog.DiscardHandler))); err != nil {
		f.Fatal(err)
	}
	h := web.New(web.Options{
		Registry:       reg,
		Logger:         slog.New(slog.DiscardHandler),
		ShowValues:     true,
		RedactPrefixes: []string{"secret::"},
		Auth:           web.AuthorizerFunc(func(*http.Request) (string, web.Access) { return "ann", web.Staff }),
	})
	mux := http.StripPrefix("/cache", h)

	f.Fuzz(func(t *testing.T, route uint8, query, body, key string) {
		ctx := context.Background()
		query = strings.ReplaceAll(query, "@", "%3Cx-fz%22%27%3E")
		body = strings.ReplaceAll(body, "@", "%3Cx-fz%22%27%3E")
		key = strings.ReplaceAll(key, "@", canary)
		for _, alias := range []string{"default", "other"} {
			c, err := reg.Lookup(alias)
			if err != nil {
				t.Fatal(err)
			}
			c.Set(ctx, "user::1", "Tortoise <b>")
			c.Set(ctx, "secret::token", "hunter2")
			c.Set(ctx, key, canary)
		}

		method, path := http.MethodGet, "/"+strings.TrimLeft(query, "/")
		if r := int(route) % (len(fuzzRoutes) + 2); r < len(fuzzRoutes) {
			method, path = fuzzRoutes[r].method, fuzzRoutes[r].path
		} else if r == len(fuzzRoutes)+1 {
			method = http.MethodPost
		}
		req, err := http.NewRequestWithContext(ctx, method, "http://staff.example/cache"+path, strings.NewReader(body))
		if err != nil {
			return // not a request a client could send
		}
		req.URL.RawQuery = query
		req.RequestURI = req.URL.RequestURI()
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		res := rec.Result()
		got, _ := io.ReadAll(res.Body)

		if res.StatusCode >= 500 {
			t.Fatalf("%s %s?%s body %q: status %d:\n%s", method, path, query, body, res.StatusCode, got)
		}
		if res.Header.Get("Content-Security-Policy") == "" || res.Header.Get("X-Content-Type-Options") != "nosniff" {
			t.Fatalf("%s %s?%s: status %d without the security headers: %v", method, path, query, res.StatusCode, res.Header)
		}
		// A POST answers with a redirect relative to the page; a path to
		// clean, with the mux's redirect to the clean path. Neither
		// leaves the site.
		if loc := res.Header.Get("Location"); loc != "" {
			u, err := url.Parse(loc)
			if err != nil || u.Scheme != "" || u.Host != "" || strings.HasPrefix(loc, "//") || strings.ContainsAny(loc, "\r\n\\") ||
				(res.StatusCode == http.StatusSeeOther && !strings.HasPrefix(loc, "./")) {
				t.Fatalf("%s %s?%s body %q: %d redirect to %q, off the page", method, path, query, body, res.StatusCode, loc)
			}
		}
		ct := res.Header.Get("Content-Type")
		if (strings.HasPrefix(ct, "text/html") || strings.HasPrefix(ct, "application/json")) && strings.Contains(string(got), "<x-fz") {
			i := strings.Index(string(got), "<x-fz")
			t.Fatalf("%s %s?%s body %q: %s reply holds the fuzzed markup unescaped: …%s…", method, path, query, body, ct, got[max(0, i-200):min(len(got), i+100)])
		}
		if strings.Contains(string(got), "hunter2") {
			t.Fatalf("%s %s?%s: a redacted value shows", method, path, query)
		}
	})
}

// FuzzLogin sends requests with fuzzed Basic credentials, client
// addresses, X-Forwarded-For headers and request URIs to the staff page
// behind Basic authentication, with and without a login URL: only the
// right credentials get in; the others get a 401 with its challenge, a
// redirect to the login URL that brings them back where they asked, or a
// 429 when they failed too often; never a 5xx or a panic; and the
// login limit remembers no more clients than it may.
func FuzzLogin(f *testing.F) {
	users := map[string]string{"ann": "correct horse", "bob": "battery staple"}
	for _, s := range []struct{ auth, xff, remote, uri string }{
		{"Basic YW5uOmNvcnJlY3QgaG9yc2U=", "", "192.0.2.1:1234", "/cache/"},
		{"Basic YW5uOndyb25n", "", "192.0.2.1:1234", "/cache/?alias=x"},
		{"Basic !!!", "198.51.100.7, 10.0.0.1", "10.0.0.2:80", "/cache/key?key=a%20b"},
		{"Basic Ym9iOmJhdHRlcnkgc3RhcGxl", "2001:db8::1, [::1]:7", "[::1]:9", "/cache/api/stats"},
		{"Bearer x", "x, y, 10.1.1.1", "10.0.0.9:1", "/cache/%zz"},
		{"", "", "no-port", "/cache/\r\nLocation: //evil"},
		{"basic YW5uOmNvcnJlY3QgaG9yc2U=", "::ffff:10.0.0.1", "[fe80::1%eth0]:5", "//evil.example/"},
	} {
		f.Add(s.auth, s.xff, s.remote, s.uri)
	}
	trusted := []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8"), netip.MustParsePrefix("::1/128")}
	limit := web.LoginLimit{Clients: 50}
	auth, err := web.BasicAuth("staff page", users)
	if err != nil {
		f.Fatal(err)
	}
	reg := keyedcache.NewRegistry()
	f.Cleanup(func() { reg.Close() })
	if err := reg.Configure(map[string]string{"default": "memory://"}, keyedcache.WithLogger(slog.New(slog.DiscardHandler))); err != nil {
		f.Fatal(err)
	}
	opts := web.Options{Registry: reg, Logger: slog.New(slog.DiscardHandler), Auth: auth, LoginLimit: limit, TrustedProxies: trusted}
	plainH := web.New(opts)
	opts.LoginURL = "/login?from=staff"
	loginH := web.New(opts)

	f.Fuzz(func(t *testing.T, authz, xff, remote, uri string) {
		for _, h := range []*web.Handler{plainH, loginH} {
			req, err := http.NewRequest(http.MethodGet, "http://staff.example/cache/", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.RequestURI = uri
			req.RemoteAddr = remote
			req.Header["Authorization"] = []string{authz}
			req.Header["X-Forwarded-For"] = []string{xff}
			name, pass, basic := req.BasicAuth()
			right := basic && users[name] == pass && pass != ""

			rec := httptest.NewRecorder()
			http.StripPrefix("/cache", h).ServeHTTP(rec, req)
			res := rec.Result()
			if res.Header.Get("Content-Security-Policy") == "" {
				t.Fatalf("status %d without the security headers", res.StatusCode)
			}
			switch res.StatusCode {
			case http.StatusOK:
				if !right {
					t.Fatalf("Authorization %q (user %q, password %q) got in", authz, name, pass)
				}
			case http.StatusUnauthorized:
				if right || !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), `Basic realm=`) {
					t.Fatalf("Authorization %q: 401 with challenge %q", authz, res.Header.Get("WWW-Authenticate"))
				}
			case http.StatusFound:
				next := uri
				if next == "" { // a request made in the program: the path the page saw
					next = "/"
				}
				loc, err := url.Parse(res.Header.Get("Location"))
				if right || h != loginH || err != nil || loc.Path != "/login" || loc.Host != "" || loc.Query().Get("from") != "staff" ||
					loc.Query().Get("next") != next {
					t.Fatalf("Authorization %q, URI %q: redirect to %q", authz, uri, res.Header.Get("Location"))
				}
			case http.StatusTooManyRequests:
				if res.Header.Get("Retry-After") == "" {
					t.Fatalf("429 without Retry-After")
				}
			default:
				t.Fatalf("Authorization %q from %q (X-Forwarded-For %q): status %d", authz, remote, xff, res.StatusCode)
			}
			if n := web.RememberedClients(h); n > limit.Clients {
				t.Fatalf("the login limit remembers %d clients, at most %d allowed", n, limit.Clients)
			}
		}
	})
}
