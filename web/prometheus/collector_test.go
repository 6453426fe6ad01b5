package prometheus_test

import (
	"encoding/json"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	prom "github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"keyedcache.dev/keyedcache"
	kcprom "keyedcache.dev/web/prometheus"
)

func registry(t *testing.T, aliases map[string]string) *keyedcache.Registry {
	t.Helper()
	reg := keyedcache.NewRegistry()
	t.Cleanup(func() { reg.Close() })
	if err := reg.Configure(aliases, keyedcache.WithLogger(slog.New(slog.DiscardHandler))); err != nil {
		t.Fatal(err)
	}
	return reg
}

func lookup(t *testing.T, reg *keyedcache.Registry, alias string) *keyedcache.Cache {
	t.Helper()
	c, err := reg.Lookup(alias)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestCollectorCounters(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "files")
	os.Mkdir(dir, 0o755)
	reg := registry(t, map[string]string{
		"default": "memory://staff:hunter2@localhost/?key_prefix=site",
		"files":   "file://" + dir,
	})
	ctx := t.Context()
	c := lookup(t, reg, "default")
	c.Set(ctx, "a", 1)
	c.Set(ctx, "b", 2)
	keyedcache.GetOr(ctx, c, 0, "a")
	keyedcache.GetOr(ctx, c, 0, "zzz")
	c.Delete(ctx, "b")
	c.Backend().Set(ctx, "site::bad", []byte{0x01, 0xff}, 0)
	keyedcache.GetOr(ctx, c, 0, "bad") // undecodable: a miss, an error
	lookup(t, reg, "files").Enable(false)
	os.RemoveAll(dir) // the file backend is down from here

	col := kcprom.NewCollector(kcprom.Options{Registry: reg})
	st := c.Stats() // the collector exports what Stats says
	if st.DecodeErrors != 1 || st.Errors == 0 {
		t.Fatalf("stats before the scrape: %+v", st)
	}
	want := `
# HELP keyedcache_calls_total Reads: hits plus misses.
# TYPE keyedcache_calls_total counter
keyedcache_calls_total{alias="default"} 3
keyedcache_calls_total{alias="files"} 0
# HELP keyedcache_hits_total Reads that found a value.
# TYPE keyedcache_hits_total counter
keyedcache_hits_total{alias="default"} 1
keyedcache_hits_total{alias="files"} 0
# HELP keyedcache_misses_total Reads that found no value, for any reason.
# TYPE keyedcache_misses_total counter
keyedcache_misses_total{alias="default"} 2
keyedcache_misses_total{alias="files"} 0
# HELP keyedcache_sets_total Values written.
# TYPE keyedcache_sets_total counter
keyedcache_sets_total{alias="default"} 2
keyedcache_sets_total{alias="files"} 0
# HELP keyedcache_deletes_total Deletes, with or without children, and clears.
# TYPE keyedcache_deletes_total counter
keyedcache_deletes_total{alias="default"} 1
keyedcache_deletes_total{alias="files"} 0
# HELP keyedcache_errors_total Backend failures and undecodable values.
# TYPE keyedcache_errors_total counter
keyedcache_errors_total{alias="default"} ` + strconv.FormatUint(st.Errors, 10) + `
keyedcache_errors_total{alias="files"} 0
# HELP keyedcache_decode_errors_total Stored values that could not be decoded (also in errors_total).
# TYPE keyedcache_decode_errors_total counter
keyedcache_decode_errors_total{alias="default"} 1
keyedcache_decode_errors_total{alias="files"} 0
# HELP keyedcache_invalidations_pending Invalidations that could not reach the backend, queued for replay; their keys read as misses meanwhile.
# TYPE keyedcache_invalidations_pending gauge
keyedcache_invalidations_pending{alias="default"} 0
keyedcache_invalidations_pending{alias="files"} 0
# HELP keyedcache_invalidations_replayed_total Queued invalidations replayed once the backend answered again.
# TYPE keyedcache_invalidations_replayed_total counter
keyedcache_invalidations_replayed_total{alias="default"} 0
keyedcache_invalidations_replayed_total{alias="files"} 0
# HELP keyedcache_invalidations_overflowed_total Queued invalidations folded into a clear of the alias because the queue was full.
# TYPE keyedcache_invalidations_overflowed_total counter
keyedcache_invalidations_overflowed_total{alias="default"} 0
keyedcache_invalidations_overflowed_total{alias="files"} 0
# HELP keyedcache_enabled 1 while the alias is on, 0 while it is switched off.
# TYPE keyedcache_enabled gauge
keyedcache_enabled{alias="default"} 1
keyedcache_enabled{alias="files"} 0
# HELP keyedcache_up 1 when the backend answered a ping at this scrape, 0 when it did not.
# TYPE keyedcache_up gauge
keyedcache_up{alias="default"} 1
keyedcache_up{alias="files"} 0
# HELP keyedcache_info Always 1: the alias's backend URL (any password removed) and codec.
# TYPE keyedcache_info gauge
keyedcache_info{alias="default",backend="memory://staff:xxxxx@localhost/?key_prefix=site",codec="cbor"} 1
keyedcache_info{alias="files",backend="file://` + dir + `",codec="cbor"} 1
`
	names := []string{"keyedcache_calls_total", "keyedcache_hits_total", "keyedcache_misses_total", "keyedcache_sets_total",
		"keyedcache_deletes_total", "keyedcache_errors_total", "keyedcache_decode_errors_total", "keyedcache_enabled", "keyedcache_up", "keyedcache_info",
		"keyedcache_invalidations_pending", "keyedcache_invalidations_replayed_total", "keyedcache_invalidations_overflowed_total"}
	if err := testutil.CollectAndCompare(col, strings.NewReader(want), names...); err != nil {
		t.Error(err)
	}
	if problems, err := testutil.CollectAndLint(col); err != nil || len(problems) > 0 {
		t.Errorf("lint: %v %v", problems, err)
	}
	// A real Prometheus registry accepts it (descriptions consistent).
	pr := prom.NewPedanticRegistry()
	if err := pr.Register(col); err != nil {
		t.Fatal(err)
	}
	if _, err := pr.Gather(); err != nil {
		t.Errorf("Gather: %v", err)
	}
}

// TestCollectorGenericFigures checks that Stats fields beyond the named
// ones (tier figures, say) and registered sections are exported without
// changes to the collector.
func TestCollectorGenericFigures(t *testing.T) {
	keyedcache.RegisterStatsSource("prom_test", func() any {
		return map[string]any{"report": map[string]any{"calls": 7, "computed": 2, "name": "skipped: not a number"}, "ok": true}
	})
	t.Cleanup(func() { keyedcache.RegisterStatsSource("prom_test", nil) })
	reg := registry(t, map[string]string{"default": "memory://"})
	col := kcprom.NewCollector(kcprom.Options{Registry: reg, BackendStats: true, PingTimeout: -1})

	// Every numeric Stats field not exported by name is a keyedcache_stat.
	data, _ := json.Marshal(keyedcache.Stats{})
	var fields map[string]any
	json.Unmarshal(data, &fields)
	var wantStat []string
	for name, v := range fields {
		if _, isNum := v.(float64); isNum && !slices.Contains([]string{"calls", "hits", "misses", "sets", "deletes", "errors", "decode_errors", "hit_rate",
			"pending_invalidations", "replayed_invalidations", "overflowed_invalidations"}, name) {
			wantStat = append(wantStat, name)
		}
	}
	slices.Sort(wantStat)

	mfs, err := gather(col)
	if err != nil {
		t.Fatal(err)
	}
	var gotStat []string
	for _, m := range mfs["keyedcache_stat"] {
		gotStat = append(gotStat, m["name"])
	}
	slices.Sort(gotStat)
	if d := cmp.Diff(wantStat, gotStat); d != "" {
		t.Errorf("keyedcache_stat names (-want +got):\n%s", d)
	}

	want := `
# HELP keyedcache_section Numeric figures of the registered stats sections (per-function figures, …); name is a dotted path.
# TYPE keyedcache_section gauge
keyedcache_section{name="ok",section="prom_test"} 1
keyedcache_section{name="report.calls",section="prom_test"} 7
keyedcache_section{name="report.computed",section="prom_test"} 2
`
	if err := testutil.CollectAndCompare(col, strings.NewReader(want), "keyedcache_section"); err != nil {
		t.Error(err)
	}
	var backendNames []string
	for _, m := range mfs["keyedcache_backend_stat"] {
		backendNames = append(backendNames, m["name"])
	}
	if !slices.Contains(backendNames, "max_entries") || !slices.Contains(backendNames, "by_reference") {
		t.Errorf("backend stats %v; want the memory backend's figures", backendNames)
	}
	if _, ok := mfs["keyedcache_up"]; ok {
		t.Error("keyedcache_up exported with the ping off")
	}
}

// gather collects col into metric name → label maps.
func gather(col prom.Collector) (map[string][]map[string]string, error) {
	pr := prom.NewPedanticRegistry()
	if err := pr.Register(col); err != nil {
		return nil, err
	}
	mfs, err := pr.Gather()
	if err != nil {
		return nil, err
	}
	out := map[string][]map[string]string{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			out[mf.GetName()] = append(out[mf.GetName()], labels)
		}
	}
	return out, nil
}
