// Command ratios reads Go benchmark output (from files or standard
// input) and prints, for every contender, the ratio of one metric to the
// anchor's, round by round, with its spread: min, median and max over
// rounds.
//
// A contender and its anchor are benchmarks whose names differ only in
// the value of one sub-benchmark label (-label, default impl): with
// -anchor raw, "Cache/op=get/g=8/impl=keyedcache" is compared with
// "Cache/op=get/g=8/impl=raw". The n-th result of a name is paired with
// the n-th result of its anchor's name, so benchmarks run in interleaved
// rounds (each round runs every contender once, -count 1) give one ratio
// per round, each measured under the same load.
//
//	go run ./internal/ratios -anchor raw -metric ops/s results.txt
//
// The ratio is contender ÷ anchor of the metric, as printed: for ops/s
// 0.9 means 90% of the anchor's throughput; for sec/op 1.25 means 25%
// slower.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"io"
	"log"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
)

func main() {
	label := flag.String("label", "impl", "the sub-benchmark label that names the contender")
	anchor := flag.String("anchor", "raw", "the label value of the anchor")
	metric := flag.String("metric", "ops/s", "the metric compared (ops/s, sec/op, ns/op, …)")
	filter := flag.String("filter", "", "only benchmarks whose name matches this regular expression")
	reported := flag.Bool("reported", false, "summarize the ratios benchmarks report themselves (metrics named <contender>/<anchor>, as internal/interleave reports them) instead of pairing benchmarks")
	flag.Parse()
	var in []io.Reader
	for _, name := range flag.Args() {
		f, err := os.Open(name)
		if err != nil {
			log.Fatal(err)
		}
		defer f.Close()
		in = append(in, f)
	}
	if len(in) == 0 {
		in = append(in, os.Stdin)
	}
	var re *regexp.Regexp
	if *filter != "" {
		re = regexp.MustCompile(*filter)
	}
	if *reported {
		summarize(in, re)
		return
	}
	results := map[string][]float64{}
	var order []string
	for _, r := range in {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			name, v, ok := parse(sc.Text(), *metric)
			if !ok || re != nil && !re.MatchString(name) {
				continue
			}
			if _, seen := results[name]; !seen {
				order = append(order, name)
			}
			results[name] = append(results[name], v)
		}
		if err := sc.Err(); err != nil {
			log.Fatal(err)
		}
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	fmt.Fprintf(w, "| benchmark (%s ÷ the same with %s=%s) | rounds | min | median | max |\n|---|---|---|---|---|\n", *metric, *label, *anchor)
	for _, name := range order {
		base, ok := swap(name, *label, *anchor)
		if !ok || base == name {
			continue
		}
		den := results[base]
		num := results[name]
		var ratios []float64
		for i := range min(len(num), len(den)) {
			if den[i] != 0 {
				ratios = append(ratios, num[i]/den[i])
			}
		}
		if len(ratios) == 0 {
			continue
		}
		slices.Sort(ratios)
		fmt.Fprintf(w, "| %s | %d | %.2f | %.2f | %.2f |\n", name, len(ratios), ratios[0], median(ratios), ratios[len(ratios)-1])
	}
}

// parse returns the name (without the -GOMAXPROCS suffix) and the value
// of metric of one benchmark result line.
func parse(line, metric string) (string, float64, bool) {
	f := strings.Fields(line)
	if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
		return "", 0, false
	}
	name := strings.TrimPrefix(f[0], "Benchmark")
	if i := strings.LastIndexByte(name, '-'); i > 0 {
		if _, err := strconv.Atoi(name[i+1:]); err == nil {
			name = name[:i]
		}
	}
	for i := 2; i+1 < len(f); i += 2 {
		unit := f[i+1]
		v, err := strconv.ParseFloat(f[i], 64)
		if err != nil {
			continue
		}
		if unit == metric || metric == "sec/op" && unit == "ns/op" {
			return name, v, true
		}
	}
	return "", 0, false
}

// swap returns name with the value of label replaced by value.
func swap(name, label, value string) (string, bool) {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		if k, _, ok := strings.Cut(p, "="); ok && k == label {
			parts[i] = label + "=" + value
			return strings.Join(parts, "/"), true
		}
	}
	return "", false
}

func median(s []float64) float64 {
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// ratioUnit matches the units of the ratio metrics internal/interleave
// reports, "<contender>/<anchor>", and not its -min and -max, nor units
// such as ns/op, B/op, ops/s or <name>-ns/call.
var ratioUnit = regexp.MustCompile(`^[A-Za-z0-9+_.]+(-[A-Za-z0-9+_.]+)*/[A-Za-z0-9+_.]+(-[A-Za-z0-9+_.]+)*$`)

func isRatioUnit(u string) bool {
	if !ratioUnit.MatchString(u) || strings.HasSuffix(u, "-min") || strings.HasSuffix(u, "-max") {
		return false
	}
	for _, suffix := range []string{"/op", "/s", "/call", "/read", "/page"} {
		if strings.HasSuffix(u, suffix) {
			return false
		}
	}
	return true
}

// summarize prints, for every benchmark and ratio metric it reports,
// min, median and max over the runs (each run a -count), and the
// in-run spread: the lowest -min and highest -max reported.
func summarize(in []io.Reader, re *regexp.Regexp) {
	type key struct{ name, unit string }
	vals := map[key][]float64{}
	lo, hi := map[key]float64{}, map[key]float64{}
	var order []key
	for _, r := range in {
		sc := bufio.NewScanner(r)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			f := strings.Fields(sc.Text())
			if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
				continue
			}
			name := strings.TrimPrefix(f[0], "Benchmark")
			if re != nil && !re.MatchString(name) {
				continue
			}
			for i := 2; i+1 < len(f); i += 2 {
				v, err := strconv.ParseFloat(f[i], 64)
				if err != nil {
					continue
				}
				u := f[i+1]
				switch {
				case isRatioUnit(u):
					k := key{name, u}
					if _, ok := vals[k]; !ok {
						order = append(order, k)
						lo[k], hi[k] = v, v
					}
					vals[k] = append(vals[k], v)
				case strings.HasSuffix(u, "-min") && isRatioUnit(strings.TrimSuffix(u, "-min")):
					k := key{name, strings.TrimSuffix(u, "-min")}
					if _, ok := lo[k]; !ok || v < lo[k] {
						lo[k] = v
					}
				case strings.HasSuffix(u, "-max") && isRatioUnit(strings.TrimSuffix(u, "-max")):
					k := key{name, strings.TrimSuffix(u, "-max")}
					if _, ok := hi[k]; !ok || v > hi[k] {
						hi[k] = v
					}
				}
			}
		}
		if err := sc.Err(); err != nil {
			log.Fatal(err)
		}
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	fmt.Fprintf(w, "| benchmark | ratio | runs | min | median | max | lowest, highest round |\n|---|---|---|---|---|---|---|\n")
	for _, k := range order {
		v := slices.Clone(vals[k])
		slices.Sort(v)
		fmt.Fprintf(w, "| %s | %s | %d | %.3g | %.3g | %.3g | %.3g, %.3g |\n", k.name, k.unit, len(v), v[0], median(v), v[len(v)-1], lo[k], hi[k])
	}
}
