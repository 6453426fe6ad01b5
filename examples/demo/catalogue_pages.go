package main

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/mixin"
)

// catalogueTemplate is pageTemplate with the catalogue's "figures"
// block, which every catalogue page ends with.
func catalogueTemplate(body string) *template.Template {
	return pageTemplate(body + `{{define "figures"}}
<p class="{{if .Queries}}miss{{else}}hit{{end}}">This page made <strong>{{.Queries}}</strong>
database quer{{if eq .Queries 1}}y{{else}}ies{{end}} and took <strong>{{.Took}}</strong>
(each query waits {{.Delay}}, standing in for a database across a network).</p>
<table>
  <tr><th>Product finds</th><td>{{.Model.Finds}}</td><th>answered by the cache</th><td>{{.Model.Hits}}</td></tr>
  <tr><th>Database loads</th><td>{{.Model.Loads}}</td><th>shared by concurrent finds</th><td>{{.Model.Shared}}</td></tr>
  <tr><th>Not found</th><td>{{.Model.NotFound}}</td><th>request-cache hits ({{.Cache.Alias}})</th><td>{{.Cache.RequestHits}}</td></tr>
</table>
<p><a href="/catalogue">All products</a> · <a href="/cache">See the cache</a></p>
{{end}}`)
}

var catalogueListPage = catalogueTemplate(`{{define "title"}}Kite catalogue{{end}}
{{define "content"}}
{{with .Featured}}<p>Featured: <a href="/catalogue/{{.Slug}}">{{.Name}}</a>, {{.Price}} €</p>{{end}}
<table>
  <tr><th>Product</th><th>Price</th><th>Cache key</th></tr>
  {{range .Products}}<tr><td><a href="/catalogue/{{.Slug}}">{{.Name}}</a></td><td>{{.Price}} €</td><td><code>{{.CacheKey}}</code></td></tr>
  {{end}}
</table>
<p>Every product is read with <code>products.Find(ctx, id)</code>: the first load of this page reads
each row from SQLite and caches it; the next load reads none. The featured product is read
twice per page; the second read is answered by the request cache.</p>
{{template "figures" .}}
{{end}}`)

var catalogueProductPage = catalogueTemplate(`{{define "title"}}{{with .Product}}{{.Name}}{{else}}No such product{{end}}{{end}}
{{define "content"}}
{{with .Product}}
{{if $.Saved}}<p class="hit">Saved. Every process sharing the cache reads the new row on its next view.</p>{{end}}
<table>
  <tr><th>Price</th><td>{{.Price}} €</td></tr>
  <tr><th>About</th><td>{{.Description}}</td></tr>
  <tr><th>Cache key</th><td><code>{{.CacheKey}}</code> (found by slug through <code>{{$.IndexKey}}</code>)</td></tr>
</table>
<h2>Related</h2>
<ul>{{range $.Related}}<li><a href="/catalogue/{{.Slug}}">{{.Name}}</a>, {{.Price}} €</li>{{end}}</ul>
{{with $.Featured}}<p>Featured: <a href="/catalogue/{{.Slug}}">{{.Name}}</a></p>{{end}}
<h2>Edit</h2>
<form method="post" action="/catalogue/{{.Slug}}">
  <label>Name <input name="name" value="{{.Name}}" maxlength="100" required></label>
  <label>Price (€) <input name="price" value="{{.Price}}" inputmode="decimal" required></label>
  <button type="submit">Save</button>
</form>
{{else}}
<p class="warn">There is no product called <code>{{.Slug}}</code>. The answer is cached for
{{.NotFoundTTL}}, so asking again does not reach the database.</p>
{{end}}
{{template "figures" .}}
{{end}}`)

// catalogueFigures is what every catalogue page shows besides its own content.
type catalogueFigures struct {
	Queries int64
	Took    time.Duration
	Delay   time.Duration
	Model   mixin.Stats
	Cache   keyedcache.Stats
}

// render fills in the figures and writes the page with status, or a 500
// if the template fails; the X-DB-Queries header repeats the count.
func (cat *catalogue) render(w http.ResponseWriter, status int, t *template.Template, pc *cataloguePageCounts, start time.Time, data map[string]any) {
	p := catalogueFigures{
		Queries: pc.queries.Load(),
		Took:    time.Since(start).Round(100 * time.Microsecond),
		Delay:   cat.delay,
		Model:   cat.products.Stats(),
		Cache:   cat.cache.Stats(),
	}
	data["Queries"], data["Took"], data["Delay"], data["Model"], data["Cache"] = p.Queries, p.Took, p.Delay, p.Model, p.Cache
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		cat.log.Error("catalogue: template failed", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("X-DB-Queries", strconv.FormatInt(p.Queries, 10))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// unavailable answers a database failure.
func (cat *catalogue) unavailable(w http.ResponseWriter, err error) {
	cat.log.Warn("catalogue: database failed", "err", err)
	http.Error(w, "the catalogue database is not answering", http.StatusServiceUnavailable)
}

// handleList serves /catalogue.
func (cat *catalogue) handleList(w http.ResponseWriter, r *http.Request) {
	ctx, pc := withCataloguePageCounts(r.Context())
	start := time.Now()
	featured, err := cat.products.Find(ctx, catalogueFeaturedID)
	if err != nil && !errors.Is(err, errNoProduct) {
		cat.unavailable(w, err)
		return
	}
	ids, err := cat.productIDs(ctx)
	if err != nil {
		cat.unavailable(w, err)
		return
	}
	products := make([]*Product, 0, len(ids))
	for _, id := range ids {
		p, err := cat.products.Find(ctx, id)
		switch {
		case errors.Is(err, errNoProduct):
			continue // deleted since the list was cached
		case err != nil:
			cat.unavailable(w, err)
			return
		}
		products = append(products, p)
	}
	cat.render(w, http.StatusOK, catalogueListPage, pc, start, map[string]any{
		"Featured": featured, "Products": products,
	})
}

// handleProduct serves /catalogue/{slug}.
func (cat *catalogue) handleProduct(w http.ResponseWriter, r *http.Request) {
	ctx, pc := withCataloguePageCounts(r.Context())
	start := time.Now()
	slug := r.PathValue("slug")
	p, err := cat.bySlug.Find(ctx, slug)
	if errors.Is(err, errNoProduct) {
		cat.render(w, http.StatusNotFound, catalogueProductPage, pc, start, map[string]any{
			"Product": (*Product)(nil), "Slug": slug, "NotFoundTTL": catalogueNotFoundTTL,
		})
		return
	}
	if err != nil {
		cat.unavailable(w, err)
		return
	}
	var related []*Product
	for _, id := range p.Related {
		rp, err := cat.products.Find(ctx, id)
		switch {
		case errors.Is(err, errNoProduct):
			continue
		case err != nil:
			cat.unavailable(w, err)
			return
		}
		related = append(related, rp)
	}
	featured, err := cat.products.Find(ctx, catalogueFeaturedID)
	if err != nil && !errors.Is(err, errNoProduct) {
		cat.unavailable(w, err)
		return
	}
	cat.render(w, http.StatusOK, catalogueProductPage, pc, start, map[string]any{
		"Product": p, "Related": related, "Featured": featured,
		"IndexKey": cat.bySlug.Key(slug), "Saved": r.URL.Query().Get("saved") == "1",
	})
}

// catalogueMaxForm bounds a save's request body.
const catalogueMaxForm = 16 << 10

// handleSave serves POST /catalogue/{slug}: a new name and price.
func (cat *catalogue) handleSave(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, catalogueMaxForm)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form: "+err.Error(), http.StatusBadRequest)
		return
	}
	name := strings.TrimSpace(r.PostFormValue("name"))
	if name == "" || len(name) > 100 {
		http.Error(w, "name: must be 1 to 100 characters", http.StatusBadRequest)
		return
	}
	cents, err := parseEuros(r.PostFormValue("price"))
	if err != nil {
		http.Error(w, "price: "+err.Error(), http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	slug := r.PathValue("slug")
	p, err := cat.bySlug.Find(ctx, slug)
	if errors.Is(err, errNoProduct) {
		http.Error(w, "no product called "+slug, http.StatusNotFound)
		return
	}
	if err != nil {
		cat.unavailable(w, err)
		return
	}
	p.Name, p.PriceCents = name, cents
	if err := cat.save(ctx, p); err != nil {
		cat.unavailable(w, err)
		return
	}
	http.Redirect(w, r, "/catalogue/"+url.PathEscape(slug)+"?saved=1", http.StatusSeeOther)
}

// catalogueMaxPriceCents bounds a price: 1,000,000.00 €.
const catalogueMaxPriceCents = 100_000_000

// parseEuros reads a price in euros, such as 12, 12.5 or 12.50, into
// cents.
func parseEuros(s string) (int64, error) {
	s = strings.TrimSpace(s)
	whole, frac, hasFrac := strings.Cut(s, ".")
	if whole == "" || len(frac) > 2 || hasFrac && frac == "" {
		return 0, errors.New("write euros and at most two decimals, such as 12.50")
	}
	euros, err := strconv.ParseUint(whole, 10, 32)
	if err != nil {
		return 0, errors.New("write euros and at most two decimals, such as 12.50")
	}
	var cents uint64
	if frac != "" {
		if cents, err = strconv.ParseUint(frac, 10, 8); err != nil {
			return 0, errors.New("write euros and at most two decimals, such as 12.50")
		}
		if len(frac) == 1 {
			cents *= 10
		}
	}
	total := euros*100 + cents
	if total > catalogueMaxPriceCents {
		return 0, errors.New("at most 1000000.00")
	}
	return int64(total), nil
}
