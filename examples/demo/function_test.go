package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"keyedcache.dev/function"
	"keyedcache.dev/keyedcache"
)

// TestFunctionPage checks the cached restaurant lookup: slow, slow, fast;
// one lookup for many requests at once; everything forgotten on delete.
func TestFunctionPage(t *testing.T) {
	c, err := keyedcache.Open("memory://")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	mux := http.NewServeMux()
	registerFunction(mux, c, 20*time.Millisecond)
	ts := httptest.NewServer(mux)
	defer ts.Close()
	client := ts.Client()
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	get := func(name string) (xcache, body string) {
		t.Helper()
		resp, err := client.Get(ts.URL + "/function?name=" + url.QueryEscape(name))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			t.Fatalf("GET %s: %s\n%s", name, resp.Status, b)
		}
		return resp.Header.Get("X-Cache"), string(b)
	}
	for i, step := range []struct{ name, want string }{
		{"Zuni Café", "miss"}, {"Chez Panisse", "miss"}, {"Zuni Café", "hit"},
	} {
		got, body := get(step.name)
		if got != step.want {
			t.Fatalf("step %d (%s): X-Cache %q, want %q", i, step.name, got, step.want)
		}
		if !strings.Contains(body, "Zuni Café") && !strings.Contains(body, "Chez Panisse") {
			t.Fatalf("step %d: the page does not show the restaurant:\n%s", i, body)
		}
	}
	if _, body := get("Zuni Café"); !strings.Contains(body, "func::demo.restaurant::Zuni%20Café") {
		t.Fatalf("the page does not show the key:\n%s", body)
	}

	// Many requests for one cold name: one lookup.
	before, _ := function.StatsOf("demo.restaurant")
	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() { get("Noma") })
	}
	wg.Wait()
	after, _ := function.StatsOf("demo.restaurant")
	if n := after.Computations - before.Computations; n != 1 {
		t.Fatalf("20 concurrent requests for one name made %d lookups, want 1", n)
	}

	resp, err := client.PostForm(ts.URL+"/function/delete", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("delete: %s", resp.Status)
	}
	if got, _ := get("Zuni Café"); got != "miss" {
		t.Fatalf("after the delete: X-Cache %q, want miss", got)
	}
}
