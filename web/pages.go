package web

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	"html/template"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"

	"keyedcache.dev/keyedcache"
)

//go:embed templates/*.html static/style.css
var files embed.FS

var pages = template.Must(template.New("").Funcs(template.FuncMap{
	"percent": func(f float64) string { return strconv.FormatFloat(f*100, 'f', 1, 64) + " %" },
	"link":    link,
	"itoa":    strconv.Itoa,
	"wbr":     wbr,
	"dict": func(kv ...any) map[string]any {
		m := make(map[string]any, len(kv)/2)
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	},
}).ParseFS(files, "templates/*.html"))

// wbr lets a name break after its underscores ("compute_<wbr>time"), so
// that a table of many figures fits its card.
func wbr(name string) template.HTML {
	return template.HTML(strings.ReplaceAll(template.HTMLEscapeString(name), "_", "_<wbr>"))
}

// link builds a relative link to a page of the handler with a query.
func link(page string, kv ...string) string {
	q := url.Values{}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] != "" {
			q.Set(kv[i], kv[i+1])
		}
	}
	if page == "" {
		page = "./"
	}
	if len(q) == 0 {
		return page
	}
	return page + "?" + q.Encode()
}

func serveStyle(w http.ResponseWriter, r *http.Request) {
	data, _ := files.ReadFile("static/style.css")
	w.Header().Set("Content-Type", "text/css; charset=utf-8")
	w.Write(data)
}

// pageData is what every template receives.
type pageData struct {
	User     string
	Aliases  []aliasInfo
	Current  *aliasInfo
	Counters tree // stats fields beyond the ones shown by name
	Backend  []treePair
	Keys     keyPage
	Sections []treePair // one per registered section, by name
	Notice   string
	Entry    keyInfo
	Problem  string
	// ShowValues is Options.ShowValues: without it the list of keys
	// has no value column.
	ShowValues bool
}

// counterNames are the Stats fields the page shows by name; any other
// field shows in the generic table.
var counterNames = []string{"alias", "backend", "enabled", "calls", "hits", "misses", "hit_rate", "errors", "decode_errors", "sets", "deletes",
	"pending_invalidations", "replayed_invalidations", "overflowed_invalidations"}

func (h *Handler) render(w http.ResponseWriter, status int, name string, d *pageData) {
	d.ShowValues = h.opts.ShowValues
	var buf bytes.Buffer
	if err := pages.ExecuteTemplate(&buf, name, d); err != nil {
		h.log.Error("keyedcache staff page: template failed", "template", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// cache returns the alias a request names (?alias=, else "default" if
// configured, else the first alias), or writes a page saying why not.
func (h *Handler) cache(w http.ResponseWriter, r *http.Request, name string, api bool) (*keyedcache.Cache, bool) {
	aliases := h.reg.Aliases()
	if name == "" {
		switch {
		case slices.Contains(aliases, "default"):
			name = "default"
		case len(aliases) > 0:
			name = aliases[0]
		default:
			h.problem(w, r, http.StatusNotFound, "no cache aliases are configured", api)
			return nil, false
		}
	}
	if !slices.Contains(aliases, name) {
		h.problem(w, r, http.StatusNotFound, fmt.Sprintf("no alias %q (configured: %v)", name, aliases), api)
		return nil, false
	}
	c, err := h.reg.Lookup(name)
	if err != nil {
		h.problem(w, r, http.StatusNotFound, err.Error(), api)
		return nil, false
	}
	return c, true
}

func (h *Handler) problem(w http.ResponseWriter, r *http.Request, status int, msg string, api bool) {
	if api {
		writeJSONError(w, status, msg)
		return
	}
	h.render(w, status, "problem", &pageData{User: userFrom(r.Context()), Aliases: h.aliasNames(), Problem: msg})
}

// aliasNames lists the aliases without asking their backends anything.
func (h *Handler) aliasNames() []aliasInfo {
	var out []aliasInfo
	for _, a := range h.reg.Aliases() {
		out = append(out, aliasInfo{Alias: a})
	}
	return out
}

// maxLimit bounds ?limit=: every key on a page is read for its preview.
const maxLimit = 1000

// limit reads ?limit=, bounded.
func (h *Handler) limit(r *http.Request) int {
	n, err := strconv.Atoi(r.URL.Query().Get("limit"))
	if err != nil || n <= 0 {
		return h.opts.PageSize
	}
	return min(n, maxLimit)
}

// notices say what a POST did, on the page it redirects to.
var notices = map[string]string{
	"deleted":          "Deleted %s.",
	"deleted-children": "Deleted %s and every key under it.",
	"cleared":          "Deleted every key of alias %s.",
}

func (h *Handler) servePage(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, ok := h.cache(w, r, q.Get("alias"), false)
	if !ok {
		return
	}
	ctx := r.Context()
	infos, snap := h.infos(ctx)
	d := &pageData{User: userFrom(ctx), Aliases: infos}
	for i := range infos {
		if infos[i].Alias == c.Alias() {
			d.Current = &infos[i]
		}
	}
	if d.Current == nil { // registered after the snapshot
		ai := h.info(ctx, c, c.Stats())
		d.Current = &ai
	}
	d.Counters = extraCounters(d.Current.Stats)
	for _, name := range slices.Sorted(maps.Keys(d.Current.BackendStats)) {
		d.Backend = append(d.Backend, treePair{Name: name, Value: tree{Text: d.Current.BackendStats[name]}})
	}
	for _, name := range slices.Sorted(maps.Keys(snap.Sections)) {
		d.Sections = append(d.Sections, treePair{Name: name, Value: newTree(snap.Sections[name])})
	}
	if d.Current.Running {
		d.Keys = h.keys(ctx, c, q.Get("prefix"), q.Get("after"), h.limit(r))
	} else {
		d.Keys = keyPage{Alias: c.Alias(), Prefix: q.Get("prefix"), CanList: d.Current.CanList, Error: "the backend is down"}
	}
	if f, ok := notices[q.Get("done")]; ok {
		d.Notice = fmt.Sprintf(f, strconv.Quote(q.Get("key")))
	}
	h.render(w, http.StatusOK, "page", d)
}

// extraCounters lays out the Stats fields that the page does not show by
// name: tier figures and anything added later.
func extraCounters(st keyedcache.Stats) tree {
	m, _ := plain(st).(map[string]any)
	for _, n := range counterNames {
		delete(m, n)
	}
	if len(m) == 0 {
		return tree{}
	}
	return layout(m, 0)
}

func (h *Handler) serveKey(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	c, ok := h.cache(w, r, q.Get("alias"), false)
	if !ok {
		return
	}
	ctx := r.Context()
	ai := aliasInfo{Alias: c.Alias(), Backend: redactURL(c.URL()), KeyPrefix: c.KeyPrefix(), Codec: c.Codec().Name()}
	d := &pageData{User: userFrom(ctx), Aliases: h.aliasNames(), Current: &ai}
	ictx, cancel := h.timeout(ctx)
	defer cancel()
	d.Entry = h.inspect(ictx, c, q.Get("key"), detailPreview, false)
	status := http.StatusOK
	if d.Entry.Gone {
		status = http.StatusNotFound
	}
	h.render(w, status, "key", d)
}

func (h *Handler) serveClearConfirm(w http.ResponseWriter, r *http.Request) {
	c, ok := h.cache(w, r, r.URL.Query().Get("alias"), false)
	if !ok {
		return
	}
	ai := h.info(r.Context(), c, c.Stats())
	h.render(w, http.StatusOK, "clear", &pageData{User: userFrom(r.Context()), Aliases: h.aliasNames(), Current: &ai})
}

// form parses a POST body of at most 64 KiB.
func form(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	return r.ParseForm()
}

func (h *Handler) serveDelete(w http.ResponseWriter, r *http.Request) {
	if err := form(w, r); err != nil {
		h.problem(w, r, http.StatusBadRequest, "bad form: "+err.Error(), false)
		return
	}
	c, ok := h.cache(w, r, r.PostForm.Get("alias"), false)
	if !ok {
		return
	}
	key, children := r.PostForm.Get("key"), r.PostForm.Get("children") == "1"
	if !r.PostForm.Has("key") {
		h.problem(w, r, http.StatusBadRequest, "no key to delete", false)
		return
	}
	if err := h.delete(r, c, key, children); err != nil {
		h.problem(w, r, http.StatusServiceUnavailable, "the delete failed: "+err.Error(), false)
		return
	}
	done := "deleted"
	if children {
		done = "deleted-children"
	}
	f := r.PostForm
	seeOther(w, link("", "alias", c.Alias(), "prefix", f.Get("prefix"), "after", f.Get("after"), "done", done, "key", key))
}

// delete deletes a key and logs who did it.
func (h *Handler) delete(r *http.Request, c *keyedcache.Cache, key string, children bool) error {
	ctx, cancel := h.timeout(r.Context())
	defer cancel()
	err := c.DeleteListed(ctx, key, children)
	h.log.Info("keyedcache staff page: delete", "user", userFrom(r.Context()), "alias", c.Alias(), "key", key, "children", children, "err", err)
	return err
}

// errConfirm reports a delete-all without the alias's name typed in.
var errConfirm = errors.New("to delete every key, type the alias's name in confirm")

func (h *Handler) clear(r *http.Request, c *keyedcache.Cache) error {
	if r.PostForm.Get("confirm") != c.Alias() {
		return errConfirm
	}
	ctx, cancel := h.timeout(r.Context())
	defer cancel()
	err := c.Clear(ctx)
	h.log.Info("keyedcache staff page: delete every key", "user", userFrom(r.Context()), "alias", c.Alias(), "err", err)
	return err
}

func (h *Handler) serveClear(w http.ResponseWriter, r *http.Request) {
	if err := form(w, r); err != nil {
		h.problem(w, r, http.StatusBadRequest, "bad form: "+err.Error(), false)
		return
	}
	c, ok := h.cache(w, r, r.PostForm.Get("alias"), false)
	if !ok {
		return
	}
	switch err := h.clear(r, c); {
	case errors.Is(err, errConfirm):
		ai := h.info(r.Context(), c, c.Stats())
		h.render(w, http.StatusBadRequest, "clear", &pageData{User: userFrom(r.Context()), Aliases: h.aliasNames(), Current: &ai,
			Problem: "Nothing was deleted: the name typed was not " + strconv.Quote(c.Alias()) + "."})
	case err != nil:
		h.problem(w, r, http.StatusServiceUnavailable, "deleting every key failed: "+err.Error(), false)
	default:
		seeOther(w, link("", "alias", c.Alias(), "done", "cleared", "key", c.Alias()))
	}
}
