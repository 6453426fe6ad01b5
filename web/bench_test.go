package web_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/web"
)

// BenchmarkPage serves the first page of 50 keys of an alias on the
// memory backend holding n keys, through the handler with its template:
// the whole cost of a page view but the network. "/filtered" asks for
// the keys under one "::" prefix, a tenth of them. The memory backend
// lists in order from the cursor, so the page should cost the same at
// every size.
func BenchmarkPage(b *testing.B) {
	for _, n := range []int{10, 10_000, 100_000, 1_000_000} {
		reg := keyedcache.NewRegistry()
		if err := reg.Configure(map[string]string{"default": fmt.Sprintf("memory://?max_entries=%d", 2*n)}); err != nil {
			b.Fatal(err)
		}
		c, _ := reg.Lookup("default")
		ctx := context.Background()
		for i := range n {
			c.Backend().Set(ctx, fmt.Sprintf("group%d::item::%08d", i%10, i), []byte("1"), time.Hour)
		}
		h := web.New(web.Options{Registry: reg, Logger: slog.New(slog.DiscardHandler), ShowValues: true,
			Auth: web.AuthorizerFunc(func(*http.Request) (string, web.Access) { return "bench", web.Staff })})
		for _, q := range []struct{ name, path string }{{"all", "/?alias=default"}, {"filtered", "/?alias=default&prefix=group3::"}} {
			b.Run(fmt.Sprintf("keys=%d/%s", n, q.name), func(b *testing.B) {
				for b.Loop() {
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, httptest.NewRequest("GET", q.path, nil))
					if rec.Code != http.StatusOK {
						b.Fatal(rec.Code)
					}
				}
			})
		}
		reg.Close()
	}
}
