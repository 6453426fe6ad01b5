package main

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"keyedcache.dev/keyedcache"
)

var slowPage = pageTemplate(`{{define "title"}}Weather report {{.Report.ID}}{{end}}
{{define "content"}}
<p class="{{if .Hit}}hit{{else}}miss{{end}}">
  Cache <strong>{{if .Hit}}hit{{else}}miss{{end}}</strong> for key <code>{{.Key}}</code>
  — this page took <strong>{{.Took}}</strong>.
  {{if .Hit}}The report came from the cache.{{else}}The report was computed and stored for {{.TTL}}.{{end}}
</p>
{{with .MissCause}}<p class="warn">The cache could not be read: {{.}}</p>{{end}}
{{with .SetErr}}<p class="warn">The report could not be stored: {{.}}</p>{{end}}
<table>
  <tr><th>Place</th><td>{{.Report.Place}}</td></tr>
  <tr><th>Sky</th><td>{{.Report.Sky}}</td></tr>
  <tr><th>Temperature</th><td>{{.Report.TempC}} °C</td></tr>
  <tr><th>Wind</th><td>{{.Report.WindKmh}} km/h</td></tr>
  <tr><th>Computed at</th><td>{{.Report.ComputedAt.Format "15:04:05.000 UTC"}}</td></tr>
</table>
<p>Reports computed since the server started: {{.Computed}}.</p>
<p><a href="/slow?id={{.Report.ID}}">Load again</a> ·
   <a href="/slow?id={{.Next}}">Next place</a> ·
   <a href="/cache">See the cache</a></p>
{{end}}`)

// handleSlow serves /slow?id=N: a weather report that takes a second to
// compute, cached with the NotCachedError pattern. The X-Cache response
// header says hit or miss.
func (s *server) handleSlow(w http.ResponseWriter, r *http.Request) {
	id := 1
	if v := r.URL.Query().Get("id"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil {
			http.Error(w, "id must be a whole number", http.StatusBadRequest)
			return
		}
		id = n
	}
	ctx := r.Context()
	start := time.Now()

	hit := true
	var missCause, setErr error
	report, err := keyedcache.Get[Report](ctx, s.cache, "report", id)
	var key string
	var miss *keyedcache.NotCachedError
	switch {
	case err == nil:
		key = s.cache.Key("report", id) // only shown: the hit needed no key of ours
	case errors.As(err, &miss):
		hit, key, missCause = false, miss.Key, miss.Err
		report, err = computeReport(ctx, id, s.opts.Delay)
		if err != nil {
			s.log.Warn("report not computed", "id", id, "err", err)
			http.Error(w, "report not computed: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		s.computed.Add(1)
		// Stored under exactly the key that missed.
		setErr = s.cache.Set(ctx, miss.Key, report, keyedcache.TTL(s.opts.TTL))
		if setErr != nil {
			s.log.Error("report not cached", "key", miss.Key, "err", setErr)
		}
	default:
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}

	if hit {
		w.Header().Set("X-Cache", "hit")
	} else {
		w.Header().Set("X-Cache", "miss")
	}
	w.Header().Set("Cache-Control", "no-store") // so the browser asks again
	s.render(w, slowPage, map[string]any{
		"Hit":       hit,
		"Key":       key,
		"Took":      time.Since(start).Round(100 * time.Microsecond),
		"TTL":       s.opts.TTL,
		"MissCause": missCause,
		"SetErr":    setErr,
		"Report":    report,
		"Computed":  s.computed.Load(),
		"Next":      id + 1,
	})
}
