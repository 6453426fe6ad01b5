package main

import (
	"bytes"
	"context"
	"fmt"
	"hash/fnv"
	"log/slog"
	"net/http"
	"sync/atomic"
	"time"

	"keyedcache.dev/function"
	"keyedcache.dev/keyedcache"
)

// Restaurant is what the demo's cached function finds.
type Restaurant struct {
	Name       string
	Cuisine    string
	Rating     float64
	ComputedAt time.Time
}

var cuisines = []string{"Basque", "Ethiopian", "Sichuan", "Oaxacan", "Neapolitan", "Kerala", "Georgian"}

// restaurants is a slow lookup — it stands for a remote API — cached with
// package function: the first lookup of a name is slow, the next ones
// are fast, and the same name asked for by many requests at once is
// looked up once.
type restaurants struct {
	delay time.Duration
	looks atomic.Int64 // lookups actually made
	fn    *function.Func[string, Restaurant]
}

// find is the slow function itself.
func (rs *restaurants) find(ctx context.Context, name string) (Restaurant, error) {
	t := time.NewTimer(rs.delay)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return Restaurant{}, context.Cause(ctx)
	case <-t.C:
	}
	rs.looks.Add(1)
	h := fnv.New32a()
	h.Write([]byte(name))
	n := h.Sum32()
	return Restaurant{
		Name:       name,
		Cuisine:    cuisines[n%uint32(len(cuisines))],
		Rating:     3 + float64(n%21)/10,
		ComputedAt: time.Now().UTC(),
	}, nil
}

var functionPage = pageTemplate(`{{define "title"}}Restaurant lookup{{end}}
{{define "content"}}
<form method="get" action="/function">
  <input name="name" value="{{.Name}}" aria-label="restaurant name">
  <button>Look up</button>
</form>
<p class="{{if .Computed}}miss{{else}}hit{{end}}">
  {{if .Computed}}Slow: looked up and cached{{else}}Fast: from the cache{{end}}
  — this page took <strong>{{.Took}}</strong>. Key: <code>{{.Key}}</code>
</p>
<table>
  <tr><th>Name</th><td>{{.R.Name}}</td></tr>
  <tr><th>Cuisine</th><td>{{.R.Cuisine}}</td></tr>
  <tr><th>Rating</th><td>{{printf "%.1f" .R.Rating}}</td></tr>
  <tr><th>Looked up at</th><td>{{.R.ComputedAt.Format "15:04:05.000 UTC"}}</td></tr>
</table>
<p>The function <code>{{.Stats.Name}}</code> in this process: {{.Stats.Calls}} calls,
{{.Stats.Hits}} hits, {{.Stats.Misses}} misses, {{.Stats.Computations}} lookups
({{.Stats.ComputeTime}} in all), {{.Stats.LeaseWaits}} waits for another process.</p>
<form class="inline" method="post" action="/function/delete">
  <button>Forget every lookup (CacheDeleteFunction)</button>
</form>
{{end}}`)

// registerFunction mounts the cached restaurant lookup on mux:
// GET /function?name=… shows a lookup (slow the first time, then fast;
// X-Cache says which), and POST /function/delete forgets every result.
// The lookup takes delay and is cached in c.
func registerFunction(mux *http.ServeMux, c *keyedcache.Cache, delay time.Duration) {
	rs := &restaurants{delay: delay}
	rs.fn = function.New(rs.find, function.WithCache(c), function.WithName("demo.restaurant"), function.WithTTL(10*time.Minute))

	mux.HandleFunc("GET /function", func(w http.ResponseWriter, r *http.Request) {
		name := r.URL.Query().Get("name")
		if name == "" {
			name = "Chez Panisse"
		}
		start := time.Now()
		before := rs.looks.Load()
		res, err := rs.fn.Call(r.Context(), name)
		if err != nil {
			http.Error(w, "lookup failed: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		computed := rs.looks.Load() != before
		if computed {
			w.Header().Set("X-Cache", "miss")
		} else {
			w.Header().Set("X-Cache", "hit")
		}
		w.Header().Set("Cache-Control", "no-store")
		var buf bytes.Buffer
		err = functionPage.Execute(&buf, map[string]any{
			"Name":     name,
			"R":        res,
			"Computed": computed,
			"Took":     time.Since(start).Round(100 * time.Microsecond),
			"Key":      rs.fn.Key(name),
			"Stats":    rs.fn.Stats(),
		})
		if err != nil {
			slog.Error("template failed", "template", "function", "err", err)
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Write(buf.Bytes())
	})

	mux.HandleFunc("POST /function/delete", func(w http.ResponseWriter, r *http.Request) {
		if err := rs.fn.DeleteAll(r.Context()); err != nil {
			http.Error(w, fmt.Sprintf("delete failed: %v", err), http.StatusServiceUnavailable)
			return
		}
		http.Redirect(w, r, "/function", http.StatusSeeOther)
	})
}
