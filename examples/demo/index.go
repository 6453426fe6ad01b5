package main

import "net/http"

var indexPage = pageTemplate(`{{define "title"}}keyedcache at work{{end}}
{{define "content"}}
<p>Open <a href="/slow?id=1">a slow page</a> twice: the first load computes a
weather report for {{.Delay}} and stores it in the cache, the second reads it back
at once (the page, and its <code>X-Cache</code> header, say hit or miss).
Then look at <a href="/cache/">what the cache holds</a> (the staff page: log in
with the user and password the demo printed at start), delete the key and
watch the slow page miss again.</p>
<ul>
  <li><a href="/slow?id=1">/slow?id=1</a>, <a href="/slow?id=2">/slow?id=2</a>, … — a report that takes {{.Delay}} to compute, cached for {{.TTL}}</li>
  <li><a href="/function">/function</a> — a slow restaurant lookup wrapped by <code>function.CacheFunction</code>: slow, then fast</li>
  <li><a href="/catalogue">/catalogue</a> — products on SQLite, cached as objects (mixin), with a request cache</li>
  <li><a href="/cache/">/cache/</a> — the staff page: counters, keys, delete</li>
  <li><a href="/healthz">/healthz</a> — "ok" while the cache answers</li>
</ul>
<p>Cache: alias <code>{{.Alias}}</code>{{with .URL}}, backend <code>{{.}}</code>{{end}}.</p>
{{end}}`)

// handleIndex serves the index page.
func (s *server) handleIndex(w http.ResponseWriter, r *http.Request) {
	s.render(w, indexPage, map[string]any{
		"Delay": s.opts.Delay,
		"TTL":   s.opts.TTL,
		"Alias": s.cache.Alias(),
		"URL":   s.cache.URL(),
	})
}
