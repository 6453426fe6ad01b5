package web

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
)

type userKey struct{}

func withUser(ctx context.Context, user string) context.Context {
	return context.WithValue(ctx, userKey{}, user)
}

func userFrom(ctx context.Context) string {
	u, _ := ctx.Value(userKey{}).(string)
	return u
}

// aliasInfo is what the page and /api/stats show of one alias.
type aliasInfo struct {
	Alias     string `json:"alias"`
	Backend   string `json:"backend"` // the URL, any password removed
	KeyPrefix string `json:"key_prefix"`
	Codec     string `json:"codec"`
	Running   bool   `json:"running"`
	Down      string `json:"down,omitempty"` // why it is not running
	Timeout   string `json:"timeout"`        // the default TTL: a duration or "forever"
	// Keys is the number of entries where the backend tells it.
	Keys            *int64            `json:"keys"`
	CanList         bool              `json:"can_list"`
	Stats           keyedcache.Stats  `json:"stats"`
	BackendStats    map[string]string `json:"backend_stats,omitempty"`
	BackendStatsErr string            `json:"backend_stats_error,omitempty"`
}

// redactURL removes any password from a URL, whatever the cache did.
func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	return backend.Redact(u)
}

// formatTTL shows a TTL for people.
func formatTTL(d time.Duration) string {
	if d == keyedcache.Forever {
		return "forever"
	}
	if d >= time.Second {
		d = d.Round(time.Second)
	}
	return d.String()
}

// info gathers one alias's figures, each backend call bounded by the
// handler's timeout.
func (h *Handler) info(ctx context.Context, c *keyedcache.Cache, st keyedcache.Stats) aliasInfo {
	ai := aliasInfo{
		Alias:     c.Alias(),
		Backend:   redactURL(c.URL()),
		KeyPrefix: c.KeyPrefix(),
		Codec:     c.Codec().Name(),
		Timeout:   formatTTL(c.Timeout()),
		Stats:     st,
	}
	ai.Stats.Backend = ai.Backend
	_, ai.CanList = c.Backend().(backend.KeyLister)
	pctx, cancel := context.WithTimeout(ctx, h.opts.Timeout)
	err := c.Require(pctx)
	cancel()
	if err != nil {
		ai.Down = err.Error()
		return ai // its own figures would fail the same way
	}
	ai.Running = true
	if s, ok := c.Backend().(backend.Statser); ok {
		sctx, cancel := context.WithTimeout(ctx, h.opts.Timeout)
		bs, err := s.BackendStats(sctx)
		cancel()
		if err != nil {
			ai.BackendStatsErr = err.Error()
		} else {
			ai.BackendStats = bs
			for _, name := range []string{"entries", "keys"} {
				if n, err := strconv.ParseInt(bs[name], 10, 64); err == nil {
					ai.Keys = &n
					break
				}
			}
		}
	}
	return ai
}

// infos gathers every alias's figures at once, in alias order.
func (h *Handler) infos(ctx context.Context) ([]aliasInfo, keyedcache.Snapshot) {
	snap := h.reg.Snapshot()
	out := make([]aliasInfo, len(snap.Caches))
	var wg sync.WaitGroup
	for i, st := range snap.Caches {
		c, err := h.reg.Lookup(st.Alias)
		if err != nil { // closed meanwhile
			out[i] = aliasInfo{Alias: st.Alias, Backend: redactURL(st.Backend), Down: err.Error(), Stats: st}
			continue
		}
		wg.Go(func() { out[i] = h.info(ctx, c, st) })
	}
	wg.Wait()
	return out, snap
}

// keyInfo is one key on a page of keys.
type keyInfo struct {
	Key        string   `json:"key"`
	Size       int      `json:"size"`
	TTL        string   `json:"ttl,omitempty"`         // "forever", a duration, or "" when the backend does not tell
	TTLSeconds *float64 `json:"ttl_seconds,omitempty"` // absent for forever and unknown
	// Preview shows the value as JSON (or Go syntax), cut to a length;
	// for an entry a package keeps as a record of its own (a cached
	// function's), what the record holds. Absent when hidden.
	Preview string `json:"preview,omitempty"`
	// Hidden says why the value is not shown (Options.ShowValues,
	// Options.RedactPrefixes); Preview and Value are then absent.
	Hidden    string `json:"value_hidden,omitempty"`
	Note      string `json:"note,omitempty"`        // what a package's record is: "cached function result"
	Undecoded bool   `json:"undecodable,omitempty"` // Preview shows the raw bytes
	DecodeErr string `json:"decode_error,omitempty"`
	Gone      bool   `json:"gone,omitempty"` // deleted or expired since it was listed
	Error     string `json:"error,omitempty"`
	ByRef     bool   `json:"by_reference,omitempty"`
	Value     any    `json:"value,omitempty"` // the decoded value, on /api/key only
}

// keyPage is a page of keys, for the page and /api/keys.
type keyPage struct {
	Alias    string    `json:"alias"`
	Prefix   string    `json:"prefix"`
	After    string    `json:"after,omitempty"`
	Limit    int       `json:"limit"`
	Keys     []keyInfo `json:"keys"`
	Next     string    `json:"next,omitempty"` // pass as after for the next page
	More     bool      `json:"more"`
	Complete bool      `json:"complete"`
	Matched  int       `json:"matched"` // keys under the prefix, -1 when not counted
	CanList  bool      `json:"can_list"`
	Error    string    `json:"error,omitempty"`
}

// listPreview and detailPreview bound previews, in characters.
const (
	listPreview   = 120
	detailPreview = 64 << 10
)

// keys reads one page of keys with a short preview of each.
func (h *Handler) keys(ctx context.Context, c *keyedcache.Cache, prefix, after string, limit int) keyPage {
	kp := keyPage{Alias: c.Alias(), Prefix: prefix, After: after, Limit: limit, Keys: []keyInfo{}, Matched: -1}
	lctx, cancel := context.WithTimeout(ctx, h.opts.Timeout)
	defer cancel()
	p, err := c.ListKeys(lctx, prefix, after, limit)
	switch {
	case errors.Is(err, keyedcache.ErrCannotList):
		return kp
	case err != nil:
		kp.CanList, kp.Error = true, err.Error()
		return kp
	}
	kp.CanList, kp.More, kp.Complete, kp.Matched = true, p.More, p.Complete, p.Seen
	if p.More {
		kp.Next = p.Keys[len(p.Keys)-1]
	}
	for _, k := range p.Keys {
		kp.Keys = append(kp.Keys, h.inspect(lctx, c, k, listPreview, false))
	}
	return kp
}

// inspect describes one key. Its value shows only as the options allow.
func (h *Handler) inspect(ctx context.Context, c *keyedcache.Cache, key string, maxPreview int, withValue bool) keyInfo {
	ki := keyInfo{Key: key}
	e, err := c.Inspect(ctx, key)
	if errors.Is(err, keyedcache.ErrNotCached) {
		ki.Gone = true
		return ki
	}
	if err != nil {
		ki.Error = err.Error()
		return ki
	}
	ki.Size, ki.ByRef = e.Size, e.ByReference
	if e.TTLKnown {
		ki.TTL = formatTTL(e.TTL)
		if e.TTL != keyedcache.Forever {
			s := e.TTL.Seconds()
			ki.TTLSeconds = &s
		}
	}
	ki.Hidden = h.hideReason(key)
	if e.DecodeErr != nil {
		ki.Undecoded, ki.DecodeErr = true, e.DecodeErr.Error()
		if ki.Hidden == "" {
			ki.Preview = truncate(strconv.QuoteToGraphic(string(e.Raw)), maxPreview)
		}
		return ki
	}
	v, has := e.Value, true
	if view, ok := keyedcache.ViewEntry(c, key, v); ok {
		v, has, ki.Note = view.Value, view.HasValue, view.Note
	}
	if ki.Hidden != "" || !has {
		return ki
	}
	ki.Preview = truncate(preview(v, maxPreview > listPreview), maxPreview)
	if withValue {
		if _, err := json.Marshal(v); err == nil {
			ki.Value = v
		}
	}
	return ki
}

// hideReason says why the value under key must not show, or "".
func (h *Handler) hideReason(key string) string {
	if !h.opts.ShowValues {
		return "the staff page is configured without ShowValues"
	}
	for _, p := range h.opts.RedactPrefixes {
		if strings.HasPrefix(key, p) {
			return "the values of keys starting with " + strconv.Quote(p) + " are redacted"
		}
	}
	return ""
}

// preview shows a decoded value as JSON where it can be (indented when
// asked), else in Go syntax. The page escapes it; here nothing is.
func preview(v any, indent bool) string {
	var b strings.Builder
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false) // html/template escapes; "<" must show as "<"
	if indent {
		enc.SetIndent("", "  ")
	}
	if err := enc.Encode(v); err != nil {
		return sprintValue(v)
	}
	return strings.TrimSuffix(b.String(), "\n")
}

// truncate cuts s to at most n characters, marking the cut.
func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for range n {
		_, size := utf8.DecodeRuneInString(s[i:])
		i += size
	}
	return s[:i] + "…"
}
