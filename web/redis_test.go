package web_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"keyedcache.dev/internal/testserver"
	_ "keyedcache.dev/keyedcache/backend/redis"
	"keyedcache.dev/web"
)

// TestRedisDownAndBack shows a real Redis server's keys, then the server
// stops answering (SIGSTOP): the page still renders, within its timeout,
// and says the backend is down, and a delete made meanwhile shows as a
// pending invalidation; when the server answers again, so does the page,
// and the delete has been replayed.
func TestRedisDownAndBack(t *testing.T) {
	srv := testserver.Redis(t)
	s := newSite(t, map[string]string{"default": "redis://" + srv.Addr + "/0?key_prefix=web", "local": "memory://"},
		web.Options{Auth: staffBasic(t), Timeout: 300 * time.Millisecond})
	c := s.cache(t, "default")
	ctx := t.Context()
	for i := range 5 {
		c.Set(ctx, fmt.Sprintf("order::%d", i), map[string]int{"total": i * 10})
	}
	c.Set(ctx, "order::1::lines", []string{"tea", "cake"})

	r := s.get(t, "/cache/?alias=default&prefix=order::", http.StatusOK)
	keys, _ := listed(r.Body)
	if d := cmp.Diff([]string{"order::0", "order::1", "order::1::lines", "order::2", "order::3", "order::4"}, keys); d != "" {
		t.Errorf("keys on Redis (-want +got):\n%s", d)
	}
	if figures(r.Body)["status"] != "running" {
		t.Errorf("status %q before the pause", figures(r.Body)["status"])
	}

	s.post(t, "/cache/delete", url.Values{"alias": {"default"}, "key": {"order::1"}, "children": {"1"}}, http.StatusSeeOther)
	if c.IsCached(ctx, "order::1") || c.IsCached(ctx, "order::1::lines") || !c.IsCached(ctx, "order::2") {
		t.Error("delete with children on Redis did not delete exactly order::1 and its children")
	}

	srv.Pause()
	r = s.get(t, "/cache/?alias=default", http.StatusOK)
	if got := figures(r.Body)["status"]; got != "down" {
		t.Errorf("status %q while Redis is stopped; want down", got)
	}
	if !strings.Contains(r.Body, "Down because") {
		t.Error("the page does not say why the backend is down")
	}
	r = s.get(t, "/cache/?alias=local", http.StatusOK) // the other alias is unaffected
	if got := figures(r.Body)["status"]; got != "running" {
		t.Errorf("memory alias status %q while Redis is stopped", got)
	}
	s.post(t, "/cache/delete", url.Values{"alias": {"default"}, "key": {"order::2"}}, http.StatusServiceUnavailable)
	r = s.get(t, "/cache/?alias=default", http.StatusOK)
	if got := figures(r.Body)["invalidations-pending"]; !strings.HasPrefix(got, "1 ") {
		t.Errorf("invalidations pending %q after a delete while Redis is stopped; want 1", got)
	}
	srv.Resume()
	s.get(t, "/cache/?alias=default", http.StatusOK) // its ping replays the delete first
	r = s.get(t, "/cache/?alias=default", http.StatusOK)
	if got := figures(r.Body)["status"]; got != "running" {
		t.Errorf("status %q after Redis resumed", got)
	}
	if got := figures(r.Body); got["invalidations-pending"] != "0" || got["invalidations-replayed"] != "1" {
		t.Errorf("invalidations pending %q, replayed %q after Redis resumed; want 0 and 1", got["invalidations-pending"], got["invalidations-replayed"])
	}
	keys, _ = listed(r.Body)
	if d := cmp.Diff([]string{"order::0", "order::3", "order::4"}, keys); d != "" {
		t.Errorf("keys after the outage (-want +got):\n%s", d)
	}
}
