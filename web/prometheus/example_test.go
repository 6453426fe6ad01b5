package prometheus_test

import (
	"context"
	"fmt"
	"io"
	"net/http/httptest"
	"strings"

	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"keyedcache.dev/keyedcache"
	kcprom "keyedcache.dev/web/prometheus"
)

func ExampleNewCollector() {
	reg := keyedcache.NewRegistry()
	defer reg.Close()
	reg.Configure(map[string]string{"default": "memory://"})
	c, _ := reg.Lookup("default")
	c.Set(context.Background(), "greeting", "hello")
	keyedcache.GetOr(context.Background(), c, "", "greeting")

	metrics := prom.NewRegistry()
	metrics.MustRegister(kcprom.NewCollector(kcprom.Options{Registry: reg}))
	srv := httptest.NewServer(promhttp.HandlerFor(metrics, promhttp.HandlerOpts{}))
	defer srv.Close()

	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "keyedcache_hits_total") || strings.HasPrefix(line, "keyedcache_up") {
			fmt.Println(line)
		}
	}
	// Output:
	// keyedcache_hits_total{alias="default"} 1
	// keyedcache_up{alias="default"} 1
}
