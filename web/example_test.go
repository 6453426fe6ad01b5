package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/web"
)

// Mount the staff page under /cache/, for staff who log in with HTTP
// Basic credentials taken from configuration.
func Example() {
	reg := keyedcache.NewRegistry()
	defer reg.Close()
	reg.Configure(map[string]string{"default": "memory://?key_prefix=shop"})
	c, _ := reg.Lookup("default")
	c.Set(context.Background(), c.Key("product", 1), "Tortoise")

	auth, err := web.BasicAuth("staff", map[string]string{"ann": "correct horse"}) // from configuration, not code
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("/cache/", http.StripPrefix("/cache", web.New(web.Options{Registry: reg, Auth: auth})))
	srv := httptest.NewServer(mux)
	defer srv.Close()

	get := func(path, user, password string) *http.Response {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if user != "" {
			req.SetBasicAuth(user, password)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		return resp
	}
	resp := get("/cache/", "", "")
	fmt.Println(resp.Status, resp.Header.Get("WWW-Authenticate"))

	resp = get("/cache/api/keys?alias=default", "ann", "correct horse")
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.Status, strings.Contains(string(body), `"key": "product::1"`))
	// Output:
	// 401 Unauthorized Basic realm="staff", charset="UTF-8"
	// 200 OK true
}

// An application with a login of its own decides with an
// AuthorizerFunc: anonymous visitors go to LoginURL, users who are not
// staff get 403, as with Django's user_passes_test.
func ExampleAuthorizerFunc() {
	type user struct {
		name  string
		staff bool
	}
	sessions := map[string]user{"s1": {"ann", true}, "s2": {"carl", false}}
	auth := web.AuthorizerFunc(func(r *http.Request) (string, web.Access) {
		c, err := r.Cookie("session")
		if err != nil {
			return "", web.Anonymous
		}
		u, ok := sessions[c.Value]
		switch {
		case !ok:
			return "", web.Anonymous
		case !u.staff:
			return u.name, web.Forbidden
		}
		return u.name, web.Staff
	})
	reg := keyedcache.NewRegistry()
	defer reg.Close()
	reg.Configure(map[string]string{"default": "memory://"})
	h := http.StripPrefix("/cache", web.New(web.Options{Registry: reg, Auth: auth, LoginURL: "/accounts/login"}))

	for _, cookie := range []string{"", "session=s2", "session=s1"} {
		req := httptest.NewRequest("GET", "/cache/?alias=default", nil)
		if cookie != "" {
			req.Header.Set("Cookie", cookie)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		fmt.Println(strings.TrimSpace(fmt.Sprint(rec.Code, " ", rec.Header().Get("Location"))))
	}
	// Output:
	// 302 /accounts/login?next=%2Fcache%2F%3Falias%3Ddefault
	// 403
	// 200
}

// The rest of a site can send the staff page's security headers too: no
// script runs on its pages, which load nothing but the site's own style
// sheets and images.
func ExampleSecureHeaders() {
	site := http.NewServeMux()
	site.HandleFunc("GET /{$}", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `<!doctype html><link rel="stylesheet" href="/style.css"><p>Hello`)
	})
	h := web.SecureHeaders(site)

	for _, path := range []string{"/", "/missing"} {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		fmt.Println(rec.Code, rec.Header().Get("Content-Security-Policy"))
	}
	// Output:
	// 200 default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'
	// 404 default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'
}

// Show the values of cached entries to staff, except under the prefixes
// that hold secrets; and behind a reverse proxy on 10.0.0.0/8, take the
// client's address for LoginLimit from X-Forwarded-For.
func ExampleOptions() {
	reg := keyedcache.NewRegistry()
	defer reg.Close()
	reg.Configure(map[string]string{"default": "memory://"})
	c, _ := reg.Lookup("default")
	ctx := context.Background()
	c.Set(ctx, c.Key("product", 1), "Tortoise")
	c.Set(ctx, c.Key("session", "f3a9"), "user 7, token 0c1d")

	auth, _ := web.BasicAuth("staff", map[string]string{"ann": "correct horse"}) // from configuration, not code
	h := web.New(web.Options{
		Registry:       reg,
		Auth:           auth,
		ShowValues:     true,
		RedactPrefixes: []string{"session::"},
		TrustedProxies: []netip.Prefix{netip.MustParsePrefix("10.0.0.0/8")},
	})
	for _, key := range []string{"product::1", "session::f3a9"} {
		req := httptest.NewRequest("GET", "/api/key?key="+key, nil)
		req.SetBasicAuth("ann", "correct horse")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		var ki struct {
			Value  any    `json:"value"`
			Hidden string `json:"value_hidden"`
		}
		json.Unmarshal(rec.Body.Bytes(), &ki)
		if ki.Hidden != "" {
			fmt.Printf("%s: hidden (%s)\n", key, ki.Hidden)
			continue
		}
		fmt.Printf("%s: %v\n", key, ki.Value)
	}
	// Output:
	// product::1: Tortoise
	// session::f3a9: hidden (the values of keys starting with "session::" are redacted)
}
