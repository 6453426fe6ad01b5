package main

// The cache page: what the cache holds, and a delete button per key. It is
// a stand-in for the real staff page (package web), which will be mounted
// at /cache/; replacing it means replacing mountCachePage and this file.

import (
	"context"
	"net/http"
	"net/url"
	"slices"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
)

// maxKeysShown bounds the keys listed on the cache page.
const maxKeysShown = 200

// mountCachePage registers GET /cache and POST /cache/delete. Any other
// method on /cache/delete is answered 405 by the mux.
func mountCachePage(mux *http.ServeMux, s *server) {
	mux.HandleFunc("GET /cache", s.handleCache)
	mux.HandleFunc("POST /cache/delete", s.handleCacheDelete)
}

var cachePage = pageTemplate(`{{define "title"}}What the cache holds{{end}}
{{define "content"}}
{{with .Deleted}}<p class="hit">Deleted <code>{{.}}</code>{{if $.Children}} and its children{{else if not $.Existed}} (it was not cached){{end}}.</p>{{end}}
<h2>Counters</h2>
<table>
  <tr><th>Alias</th><td><code>{{.Stats.Alias}}</code></td></tr>
  <tr><th>Backend</th><td><code>{{.Stats.Backend}}</code></td></tr>
  <tr><th>Enabled</th><td>{{.Stats.Enabled}}</td></tr>
  <tr><th>Reads</th><td>{{.Stats.Calls}}</td></tr>
  <tr><th>Hits</th><td>{{.Stats.Hits}}</td></tr>
  <tr><th>Misses</th><td>{{.Stats.Misses}}</td></tr>
  <tr><th>Hit rate</th><td>{{printf "%.1f" .HitPercent}} %</td></tr>
  <tr><th>Sets</th><td>{{.Stats.Sets}}</td></tr>
  <tr><th>Deletes</th><td>{{.Stats.Deletes}}</td></tr>
  <tr><th>Errors</th><td>{{.Stats.Errors}} ({{.Stats.DecodeErrors}} undecodable)</td></tr>
</table>
{{if .BackendStats}}
<h2>Backend</h2>
<table>
  {{range $name, $value := .BackendStats}}<tr><th>{{$name}}</th><td>{{$value}}</td></tr>{{end}}
</table>
{{end}}
<h2>Keys</h2>
{{with .Keys}}
{{if not .Supported}}<p>This backend cannot list its keys.</p>
{{else if .Err}}<p class="warn">The keys could not be listed: {{.Err}}</p>
{{else if not .Keys}}<p>The cache is empty. <a href="/slow?id=1">Fill it.</a></p>
{{else}}
<p>{{.Total}} key{{if ne .Total 1}}s{{end}}{{if .Truncated}}; the first {{len .Keys}} in order are shown{{end}}.
{{if not .Complete}}The backend says this listing may be incomplete.{{end}}</p>
<table>
  {{range .Keys}}<tr><td><code>{{.}}</code></td><td>
    <form class="inline" method="post" action="/cache/delete">
      <input type="hidden" name="key" value="{{.}}">
      <label><input type="checkbox" name="children" value="1"> with children</label>
      <button type="submit">Delete</button>
    </form></td></tr>
  {{end}}
</table>
{{end}}
{{end}}
{{end}}`)

// keyListing is the keys part of the cache page.
type keyListing struct {
	Supported bool     // the backend implements backend.KeyLister
	Keys      []string // sorted, at most maxKeysShown
	Total     int      // every key seen
	Truncated bool     // Total > len(Keys)
	Complete  bool     // the backend saw every key
	Err       error
}

// handleCache serves the cache page.
func (s *server) handleCache(w http.ResponseWriter, r *http.Request) {
	ctx := r.Context()
	st := s.cache.Stats()
	var bstats map[string]string
	if b, ok := s.cache.Backend().(backend.Statser); ok {
		var err error
		if bstats, err = b.BackendStats(ctx); err != nil {
			bstats = map[string]string{"error": err.Error()}
		}
	}
	q := r.URL.Query()
	w.Header().Set("Cache-Control", "no-store")
	s.render(w, cachePage, map[string]any{
		"Stats":        st,
		"HitPercent":   st.HitRate * 100,
		"BackendStats": bstats,
		"Keys":         listKeys(ctx, s.cache, maxKeysShown),
		"Deleted":      q.Get("deleted"),
		"Children":     q.Get("children") != "",
		"Existed":      q.Get("existed") != "",
	})
}

// listKeys returns the first max of the cache's keys in sorted order and
// how many there are. It holds at most 2*max keys at a time, however many
// the backend has.
func listKeys(ctx context.Context, c *keyedcache.Cache, max int) keyListing {
	kl, ok := c.Backend().(backend.KeyLister)
	if !ok {
		return keyListing{}
	}
	var keys []string
	total := 0
	complete, err := kl.ScanKeys(ctx, c.KeyPrefix(), func(key string) bool {
		total++
		keys = append(keys, key)
		if len(keys) >= 2*max {
			slices.Sort(keys)
			keys = keys[:max]
		}
		return true
	})
	slices.Sort(keys)
	keys = slices.Compact(keys) // a listing may repeat a key that moved
	if len(keys) > max {
		keys = keys[:max]
	}
	return keyListing{Supported: true, Keys: keys, Total: total, Truncated: total > len(keys), Complete: complete, Err: err}
}

// handleCacheDelete deletes the posted key — with its children when the
// box was ticked — and sends the browser back to the cache page.
func (s *server) handleCacheDelete(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	key := r.PostFormValue("key")
	if key == "" {
		http.Error(w, "no key to delete", http.StatusBadRequest)
		return
	}
	children := r.PostFormValue("children") != ""
	back := url.Values{"deleted": {key}}
	var err error
	if children {
		err = s.cache.DeleteChildren(r.Context(), key)
		back.Set("children", "1")
	} else {
		var existed bool
		existed, err = s.cache.Delete(r.Context(), key)
		if existed {
			back.Set("existed", "1")
		}
	}
	if err != nil {
		s.log.Error("delete failed", "key", key, "children", children, "err", err)
		http.Error(w, "delete failed: "+err.Error(), http.StatusServiceUnavailable)
		return
	}
	s.log.Info("deleted from the cache", "key", key, "children", children)
	http.Redirect(w, r, "/cache?"+back.Encode(), http.StatusSeeOther)
}
