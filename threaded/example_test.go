package threaded_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/threaded"
)

func ExampleMiddleware() {
	cache, _ := keyedcache.Open("memory://")
	defer cache.Close()
	cache.Set(context.Background(), cache.Key("product", 7), "Teapot")

	mux := http.NewServeMux()
	mux.HandleFunc("/product", func(w http.ResponseWriter, r *http.Request) {
		// The header, the body and the footer each look the product up;
		// only the first lookup reaches the backend.
		for _, part := range []string{"header", "body", "footer"} {
			name, _ := keyedcache.Get[string](r.Context(), cache, "product", 7)
			fmt.Fprintf(w, "%s: %s\n", part, name)
		}
	})
	srv := httptest.NewServer(threaded.Middleware(mux))
	defer srv.Close()

	resp, err := http.Get(srv.URL + "/product")
	if err != nil {
		fmt.Println(err)
		return
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Print(string(body))
	st := cache.Stats()
	fmt.Printf("hits %d, of which from the request tier %d\n", st.Hits, st.RequestHits)
	// Output:
	// header: Teapot
	// body: Teapot
	// footer: Teapot
	// hits 3, of which from the request tier 2
}

func ExampleWithRequestCache() {
	cache, _ := keyedcache.Open("memory://")
	defer cache.Close()
	cache.Set(context.Background(), cache.Key("rate", "EUR"), 1.08)

	// A job, not an HTTP request: give it a request cache of its own.
	ctx, release := threaded.WithRequestCache(context.Background())
	defer release()
	total := 0.0
	for _, amount := range []float64{10, 20, 30} {
		rate, _ := keyedcache.Get[float64](ctx, cache, "rate", "EUR")
		total += amount * rate
	}
	fmt.Printf("total %.2f; request-tier hits %d\n", total, cache.Stats().RequestHits)
	// Output: total 64.80; request-tier hits 2
}

func ExampleNewLocalSync() {
	dir, _ := os.MkdirTemp("", "localsync")
	defer os.RemoveAll(dir)
	// Two processes share the directory; two caches stand for them here.
	web1, _ := keyedcache.Open("file://" + dir)
	defer web1.Close()
	web2, _ := keyedcache.Open("file://" + dir)
	defer web2.Close()
	ctx := context.Background()

	menus1 := threaded.NewLocalSync[string, []string]("menus", web1)
	defer menus1.Close()
	menus2 := threaded.NewLocalSync[string, []string]("menus", web2)
	defer menus2.Close()

	load := func(context.Context) ([]string, error) { return []string{"home", "shop"}, nil }
	m, _ := menus2.GetOrLoad(ctx, "main", load)
	fmt.Println("process 2 loaded", m)

	menus1.Clear(ctx) // the menus changed: process 1 clears every copy
	_, ok := menus2.Get(ctx, "main")
	fmt.Println("process 2 still holds it:", ok)
	// Output:
	// process 2 loaded [home shop]
	// process 2 still holds it: false
}
