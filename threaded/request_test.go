package threaded_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/threaded"
)

func open(t testing.TB, rawURL string) *keyedcache.Cache {
	t.Helper()
	c, err := keyedcache.Open(rawURL)
	if err != nil {
		t.Fatalf("Open(%q): %v", rawURL, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// backendHits is the hits that reached the backend.
func backendHits(st keyedcache.Stats) uint64 { return st.Hits - st.RequestHits - st.ProcessHits }

func get(t testing.TB, srv *httptest.Server, path string) string {
	t.Helper()
	resp, err := srv.Client().Get(srv.URL + path)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s: %s: %s", path, resp.Status, b)
	}
	return string(b)
}

func TestMiddlewareReadsOnce(t *testing.T) {
	c := open(t, "file://"+t.TempDir())
	ctx := context.Background()
	for i := range 3 {
		c.Set(ctx, c.Key("product", i), fmt.Sprint("product ", i))
	}
	mux := http.NewServeMux()
	mux.HandleFunc("/page", func(w http.ResponseWriter, r *http.Request) {
		// A page that looks each product up in three places.
		for range 3 {
			for i := range 3 {
				v, err := keyedcache.Get[string](r.Context(), c, "product", i)
				if err != nil {
					http.Error(w, err.Error(), 500)
					return
				}
				io.WriteString(w, v+";")
			}
		}
	})
	srv := httptest.NewServer(threaded.Middleware(mux))
	defer srv.Close()

	for req := 1; req <= 4; req++ {
		get(t, srv, "/page")
		st := c.Stats()
		if got, want := backendHits(st), uint64(3*req); got != want {
			t.Errorf("after %d requests of 9 reads of 3 keys: %d backend reads, want %d", req, got, want)
		}
		if got, want := st.RequestHits, uint64(6*req); got != want {
			t.Errorf("after %d requests: %d request-tier hits, want %d", req, got, want)
		}
	}
	if st := threaded.Stats(); st.Requests < 4 {
		t.Errorf("Stats().Requests = %d, want ≥ 4", st.Requests)
	}
	snap := keyedcache.DefaultRegistry().Snapshot()
	if _, ok := snap.Sections["threaded"].(threaded.TierStats); !ok {
		t.Errorf("the snapshot's threaded section is %T, want threaded.TierStats", snap.Sections["threaded"])
	}
}

// Concurrent requests write the same keys and must each read back their
// own writes: nothing of one request's tier reaches another.
func TestMiddlewareIsolatesRequests(t *testing.T) {
	c := open(t, "memory://")
	mux := http.NewServeMux()
	mux.HandleFunc("/who", func(w http.ResponseWriter, r *http.Request) {
		me := r.URL.Query().Get("me")
		ctx := r.Context()
		for i := range 20 {
			want := fmt.Sprint(me, "/", i)
			c.Set(ctx, c.Key("who"), want)
			if got, _ := keyedcache.Get[string](ctx, c, "who"); got != want {
				http.Error(w, fmt.Sprintf("read %q after writing %q", got, want), 500)
				return
			}
		}
		io.WriteString(w, "ok")
	})
	srv := httptest.NewServer(threaded.Middleware(mux))
	defer srv.Close()
	var wg sync.WaitGroup
	for r := range 64 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			resp, err := srv.Client().Get(srv.URL + "/who?me=" + strconv.Itoa(r))
			if err != nil {
				t.Error(err)
				return
			}
			defer resp.Body.Close()
			if b, _ := io.ReadAll(resp.Body); string(b) != "ok" {
				t.Errorf("request %d: %s", r, b)
			}
		}()
	}
	wg.Wait()
}

func TestMiddlewareReleasesTheTier(t *testing.T) {
	var seen context.Context
	h := threaded.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		seen = r.Context()
		if !keyedcache.HasRequestTier(seen) {
			t.Error("no request tier inside the middleware")
		}
		if r.URL.Path == "/panic" {
			panic("handler failed")
		}
	}))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/", nil))
	if keyedcache.HasRequestTier(seen) {
		t.Error("the request tier outlived the request")
	}
	func() {
		defer func() { recover() }()
		h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("GET", "/panic", nil))
	}()
	if keyedcache.HasRequestTier(seen) {
		t.Error("the request tier outlived a request that panicked")
	}
}

func TestWithRequestCache(t *testing.T) {
	c := open(t, "memory://")
	bg := context.Background()
	c.Set(bg, c.Key("job", "config"), "v1")

	ctx, release := threaded.WithRequestCache(bg)
	inner, innerRelease := threaded.WithRequestCache(ctx)
	if inner != ctx {
		t.Error("a nested WithRequestCache made a new scope")
	}
	for range 4 {
		keyedcache.Get[string](inner, c, "job", "config")
	}
	innerRelease()
	if !keyedcache.HasRequestTier(ctx) {
		t.Error("the inner release ended the outer scope")
	}
	keyedcache.Get[string](ctx, c, "job", "config")
	release()
	if st := c.Stats(); backendHits(st) != 1 || st.RequestHits != 4 {
		t.Errorf("5 reads in one job: %d backend hits, %d request hits; want 1, 4", backendHits(st), st.RequestHits)
	}
	if keyedcache.HasRequestTier(ctx) {
		t.Error("the tier outlived release")
	}
}
