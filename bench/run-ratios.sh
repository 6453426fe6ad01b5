#!/bin/sh
# run-ratios.sh [ROUNDS]  — run from bench/.
#
# Runs every benchmark that compares keyedcache with an anchor (a raw
# client, otter, a plain CacheGet) in interleaved rounds and prints one
# table of ratios with their spread. Each round runs every suite once
# (-count 1), one after the other, so that all see the same drift of the
# machine's load; suites that time their contenders inside one benchmark
# (internal/interleave) interleave them again within the run.
#
#   redis      BenchmarkCache, keyedcache vs rueidis (impl=raw), ops/s ratio
#   memcached  BenchmarkGet/BenchmarkSet, keyedcache vs gomemcache (impl=raw), ops/s ratio
#   getbench   BenchmarkGetInterleaved, by-reference/copy hit vs otter, time ratio, -cpu 1,2
#   function   BenchmarkHitInterleaved, CacheFunction hit vs CacheGet hit, time ratio
#   threaded   BenchmarkHitInterleaved, process tier vs remote, time ratio
#   stampede   TestStampede (4 processes, 64 and 1000 callers): function calls, once
#
# The ratios are per round: a contender's figure over its anchor's in the
# same round; the table shows min, median and max over ROUNDS rounds (and,
# for interleaved suites, the lowest and highest single round inside them).
# Raw outputs are kept in $OUT (default /tmp/run-ratios). STAMPEDE=0 skips
# the stampede.
set -eu
ROUNDS=${1:-6}
OUT=${OUT:-/tmp/run-ratios}
BENCHTIME=${BENCHTIME:-300ms}
ROUNDTIME=${ROUNDTIME:-20x} # rounds inside an interleaved benchmark
mkdir -p "$OUT"
for p in redis memcached getbench function threaded; do
	go test -c -o "$OUT/$p.test" "./$p/"
	: >"$OUT/$p.txt"
done
for r in $(seq "$ROUNDS"); do
	"$OUT/redis.test" -test.run '^$' -test.bench 'BenchmarkCache$/op=(get|set)/g=[0-9]+/impl=(raw|keyedcache)$' \
		-test.benchtime "$BENCHTIME" -test.count 1 >>"$OUT/redis.txt"
	"$OUT/memcached.test" -test.run '^$' -test.bench 'Benchmark(Get|Set)$/g=[0-9]+/impl=(raw|keyedcache)$' \
		-test.benchtime "$BENCHTIME" -test.count 1 >>"$OUT/memcached.txt"
	"$OUT/getbench.test" -test.run '^$' -test.bench 'BenchmarkGetInterleaved' -test.cpu 1,2 \
		-test.benchtime "$ROUNDTIME" -test.count 1 >>"$OUT/getbench.txt"
	(cd function && "$OUT/function.test" -test.run '^$' -test.bench 'BenchmarkHitInterleaved' \
		-test.benchtime "$ROUNDTIME" -test.count 1) >>"$OUT/function.txt"
	"$OUT/threaded.test" -test.run '^$' -test.bench 'BenchmarkHitInterleaved' \
		-test.benchtime "$ROUNDTIME" -test.count 1 >>"$OUT/threaded.txt"
	echo "round $r of $ROUNDS done" >&2
done
if [ "${STAMPEDE:-1}" = 1 ]; then
	"$OUT/function.test" -test.run 'TestStampede' -test.v >"$OUT/stampede.txt" 2>&1 || true
fi

echo "## Remote backends: keyedcache ops/s ÷ raw client ops/s, per round"
go run ./internal/ratios -anchor raw -metric ops/s "$OUT/redis.txt" "$OUT/memcached.txt"
echo
echo "## In-process: time ratios reported by interleaved benchmarks (1 = the anchor's time)"
go run ./internal/ratios -reported "$OUT/getbench.txt" "$OUT/function.txt" "$OUT/threaded.txt"
echo
echo "## Stampede (function calls per round; keyedcache must be 1)"
[ -f "$OUT/stampede.txt" ] && grep -E '^\s+\| ' "$OUT/stampede.txt" | sed 's/^ *//'
true
