// Package prometheus exports keyedcache's stats to Prometheus: a
// prometheus.Collector that reads a registry's counters at every scrape.
// It lives apart from the core and the staff page so that only programs
// that import it depend on the Prometheus client.
//
//	reg := prometheus.NewRegistry()
//	reg.MustRegister(kcprom.NewCollector(kcprom.Options{}))
//	http.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
//
// Metrics, each labelled with the alias:
//
//	keyedcache_calls_total, _hits_total, _misses_total, _sets_total,
//	_deletes_total, _errors_total, _decode_errors_total    counters
//	keyedcache_invalidations_replayed_total,
//	_invalidations_overflowed_total                        counters: invalidations replayed after the
//	                                                       backend came back, folded into a clear
//	keyedcache_invalidations_pending                       invalidations queued for an unreachable backend
//	keyedcache_enabled                                     1 while the alias is on
//	keyedcache_up                                          1 while the backend answers (a ping per scrape)
//	keyedcache_info{backend, codec}                        always 1: the URL (password removed) and codec
//	keyedcache_stat{name}                                  any other numeric field of keyedcache.Stats
//	                                                       (tier figures, say), name a dotted path
//	keyedcache_backend_stat{name}                          the backend's own numeric figures (opt-in)
//
// and, without the alias label, keyedcache_section{section, name}: the
// numeric leaves of the sections other packages register with
// keyedcache.RegisterStatsSource (per-function figures, …), name a dotted
// path within the section. The hit ratio is left to PromQL:
// rate(keyedcache_hits_total[5m]) / rate(keyedcache_calls_total[5m]).
package prometheus

import (
	"context"
	"encoding/json"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	prom "github.com/prometheus/client_golang/prometheus"

	"keyedcache.dev/keyedcache"
	"keyedcache.dev/keyedcache/backend"
)

// Options configures a Collector. The zero value is ready to use.
type Options struct {
	// Registry is the registry whose aliases are exported; nil means
	// keyedcache.DefaultRegistry().
	Registry *keyedcache.Registry
	// Namespace prefixes every metric name (default "keyedcache").
	Namespace string
	// PingTimeout bounds the ping behind keyedcache_up (default 1s). A
	// negative value turns the ping, and the metric, off.
	PingTimeout time.Duration
	// BackendStats adds keyedcache_backend_stat from each backend's own
	// figures. It is off by default because some backends pay for them
	// at every scrape: the file backend reads every entry's header.
	BackendStats bool
}

// Collector is a prometheus.Collector of a keyedcache registry. It is
// safe for concurrent use.
type Collector struct {
	opts Options
	reg  *keyedcache.Registry

	calls, hits, misses, sets, deletes, errs, decodeErrs *prom.Desc
	pending, replayed, overflowed                        *prom.Desc
	enabled, up, info, stat, backendStat, section        *prom.Desc
}

// NewCollector returns a Collector for opts.
func NewCollector(opts Options) *Collector {
	if opts.Namespace == "" {
		opts.Namespace = "keyedcache"
	}
	if opts.PingTimeout == 0 {
		opts.PingTimeout = time.Second
	}
	c := &Collector{opts: opts, reg: opts.Registry}
	if c.reg == nil {
		c.reg = keyedcache.DefaultRegistry()
	}
	desc := func(name, help string, labels ...string) *prom.Desc {
		return prom.NewDesc(prom.BuildFQName(opts.Namespace, "", name), help, labels, nil)
	}
	alias := "alias"
	c.calls = desc("calls_total", "Reads: hits plus misses.", alias)
	c.hits = desc("hits_total", "Reads that found a value.", alias)
	c.misses = desc("misses_total", "Reads that found no value, for any reason.", alias)
	c.sets = desc("sets_total", "Values written.", alias)
	c.deletes = desc("deletes_total", "Deletes, with or without children, and clears.", alias)
	c.errs = desc("errors_total", "Backend failures and undecodable values.", alias)
	c.decodeErrs = desc("decode_errors_total", "Stored values that could not be decoded (also in errors_total).", alias)
	c.pending = desc("invalidations_pending", "Invalidations that could not reach the backend, queued for replay; their keys read as misses meanwhile.", alias)
	c.replayed = desc("invalidations_replayed_total", "Queued invalidations replayed once the backend answered again.", alias)
	c.overflowed = desc("invalidations_overflowed_total", "Queued invalidations folded into a clear of the alias because the queue was full.", alias)
	c.enabled = desc("enabled", "1 while the alias is on, 0 while it is switched off.", alias)
	c.up = desc("up", "1 when the backend answered a ping at this scrape, 0 when it did not.", alias)
	c.info = desc("info", "Always 1: the alias's backend URL (any password removed) and codec.", alias, "backend", "codec")
	c.stat = desc("stat", "Other numeric fields of the alias's stats, such as tier figures; name is a dotted path.", alias, "name")
	c.backendStat = desc("backend_stat", "The backend's own numeric figures, by name.", alias, "name")
	c.section = desc("section", "Numeric figures of the registered stats sections (per-function figures, …); name is a dotted path.", "section", "name")
	return c
}

// Describe sends the descriptions of every metric the Collector makes.
func (c *Collector) Describe(ch chan<- *prom.Desc) {
	for _, d := range []*prom.Desc{c.calls, c.hits, c.misses, c.sets, c.deletes, c.errs, c.decodeErrs, c.pending, c.replayed, c.overflowed, c.enabled, c.info, c.stat, c.section} {
		ch <- d
	}
	if c.opts.PingTimeout > 0 {
		ch <- c.up
	}
	if c.opts.BackendStats {
		ch <- c.backendStat
	}
}

// known are the Stats fields exported under names of their own.
var known = []string{"alias", "backend", "enabled", "calls", "hits", "misses", "sets", "deletes", "errors", "decode_errors", "hit_rate",
	"pending_invalidations", "replayed_invalidations", "overflowed_invalidations"}

// Collect reads every alias's counters, pings the backends (at once,
// each bounded by PingTimeout) and reads the sections.
func (c *Collector) Collect(ch chan<- prom.Metric) {
	snap := c.reg.Snapshot()
	var wg sync.WaitGroup
	for _, st := range snap.Caches {
		a := st.Alias
		counter := func(d *prom.Desc, v uint64) {
			ch <- prom.MustNewConstMetric(d, prom.CounterValue, float64(v), a)
		}
		counter(c.calls, st.Calls)
		counter(c.hits, st.Hits)
		counter(c.misses, st.Misses)
		counter(c.sets, st.Sets)
		counter(c.deletes, st.Deletes)
		counter(c.errs, st.Errors)
		counter(c.decodeErrs, st.DecodeErrors)
		counter(c.replayed, st.ReplayedInvalidations)
		counter(c.overflowed, st.OverflowedInvalidations)
		ch <- prom.MustNewConstMetric(c.pending, prom.GaugeValue, float64(st.PendingInvalidations), a)
		ch <- prom.MustNewConstMetric(c.enabled, prom.GaugeValue, boolValue(st.Enabled), a)

		cache, err := c.reg.Lookup(a)
		if err != nil { // closed since the snapshot
			continue
		}
		ch <- prom.MustNewConstMetric(c.info, prom.GaugeValue, 1, a, redact(cache.URL()), cache.Codec().Name())
		if m, err := toJSON(st); err == nil {
			for _, name := range known {
				delete(m, name)
			}
			for _, l := range leaves(m) {
				ch <- prom.MustNewConstMetric(c.stat, prom.GaugeValue, l.value, a, l.path)
			}
		}
		if c.opts.PingTimeout > 0 || c.opts.BackendStats {
			wg.Go(func() { c.probe(ch, cache) })
		}
	}
	for name, v := range snap.Sections {
		for _, l := range leaves(v) {
			ch <- prom.MustNewConstMetric(c.section, prom.GaugeValue, l.value, name, l.path)
		}
	}
	wg.Wait()
}

// probe pings a backend and reads its own figures.
func (c *Collector) probe(ch chan<- prom.Metric, cache *keyedcache.Cache) {
	a := cache.Alias()
	if c.opts.PingTimeout > 0 {
		ctx, cancel := context.WithTimeout(context.Background(), c.opts.PingTimeout)
		err := cache.Require(ctx)
		cancel()
		ch <- prom.MustNewConstMetric(c.up, prom.GaugeValue, boolValue(err == nil), a)
	}
	if !c.opts.BackendStats {
		return
	}
	s, ok := cache.Backend().(backend.Statser)
	if !ok {
		return
	}
	timeout := c.opts.PingTimeout
	if timeout <= 0 {
		timeout = time.Second
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	bs, err := s.BackendStats(ctx)
	if err != nil {
		return
	}
	names := make([]string, 0, len(bs))
	for name := range bs {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		if f, err := strconv.ParseFloat(bs[name], 64); err == nil {
			ch <- prom.MustNewConstMetric(c.backendStat, prom.GaugeValue, f, a, name)
		} else if b, err := strconv.ParseBool(bs[name]); err == nil {
			ch <- prom.MustNewConstMetric(c.backendStat, prom.GaugeValue, boolValue(b), a, name)
		}
	}
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return ""
	}
	return backend.Redact(u)
}

func toJSON(v any) (map[string]any, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	var m map[string]any
	return m, json.Unmarshal(data, &m)
}

type leaf struct {
	path  string
	value float64
}

// leaves returns the numeric (and boolean) leaves of a value's JSON form,
// by dotted path, sorted.
func leaves(v any) []leaf {
	data, err := json.Marshal(v)
	if err != nil {
		return nil
	}
	var x any
	if json.Unmarshal(data, &x) != nil {
		return nil
	}
	var out []leaf
	var walk func(path string, x any)
	walk = func(path string, x any) {
		join := func(k string) string {
			if path == "" {
				return k
			}
			return path + "." + k
		}
		switch v := x.(type) {
		case map[string]any:
			for k, e := range v {
				walk(join(k), e)
			}
		case []any:
			for i, e := range v {
				walk(join(strconv.Itoa(i)), e)
			}
		case float64:
			out = append(out, leaf{path, v})
		case bool:
			out = append(out, leaf{path, boolValue(v)})
		}
	}
	walk("", x)
	slices.SortFunc(out, func(a, b leaf) int {
		switch {
		case a.path < b.path:
			return -1
		case a.path > b.path:
			return 1
		}
		return 0
	})
	return out
}
