package web_test

import (
	"encoding/json"
	"expvar"
	"net/http/httptest"
	"testing"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/web"
)

func TestExpvar(t *testing.T) {
	reg := keyedcache.NewRegistry()
	t.Cleanup(func() { reg.Close() })
	if err := reg.Configure(map[string]string{"jobs": "memory://?key_prefix=j"}); err != nil {
		t.Fatal(err)
	}
	c, _ := reg.Lookup("jobs")
	c.Set(t.Context(), "a", 1)
	keyedcache.GetOr(t.Context(), c, 0, "a")
	expvar.Publish("keyedcache_web_test", web.Expvar(reg))

	rec := httptest.NewRecorder()
	expvar.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/debug/vars", nil))
	var vars struct {
		Snap keyedcache.Snapshot `json:"keyedcache_web_test"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &vars); err != nil {
		t.Fatal(err)
	}
	if len(vars.Snap.Caches) != 1 || vars.Snap.Caches[0].Alias != "jobs" || vars.Snap.Caches[0].Hits != 1 || vars.Snap.Caches[0].Sets != 1 {
		t.Errorf("expvar shows %+v", vars.Snap)
	}
}
