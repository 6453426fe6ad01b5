#!/bin/sh
# before-after.sh BEFORE_REV AFTER_REV [ROUNDS]
#
# Builds today's bench code (this directory) against two revisions of the
# keyedcache library and runs the CacheGet/CacheSet benchmarks on Redis and
# memcached (1/8/64 goroutines, keyedcache and the raw client) in
# interleaved rounds: each round runs the BEFORE binary, then the AFTER
# binary, so that both see the same machine load. Then the stampede test
# (bench/function TestStampede, redis and memcached) once per revision.
# Output: $OUT/{before,after}-{redis,memcached}.txt (benchstat input) and
# $OUT/{before,after}-stampede.txt. Run from bench/.
set -eu
before=$1 after=$2 rounds=${3:-6}
OUT=${OUT:-/tmp/before-after}
BENCHTIME=${BENCHTIME:-300ms}
top=$(git rev-parse --show-toplevel)
mkdir -p "$OUT"
for which in before after; do
	rev=$(eval echo \$$which)
	lib="$OUT/lib-$which"
	[ -d "$lib" ] || git -C "$top" worktree add --detach "$lib" "$rev" >/dev/null
	git -C "$lib" checkout -q --detach "$rev"
	rm -rf "$OUT/bench-$which" && cp -r . "$OUT/bench-$which"
	sed -i "s#^replace keyedcache.dev => .*#replace keyedcache.dev => $lib#" "$OUT/bench-$which/go.mod"
	for p in redis memcached function; do
		(cd "$OUT/bench-$which" && go test -c -o "$OUT/$which-$p.test" ./$p/)
	done
	: >"$OUT/$which-redis.txt"; : >"$OUT/$which-memcached.txt"
done
for r in $(seq "$rounds"); do
	for which in before after; do
		"$OUT/$which-redis.test" -test.run '^$' -test.bench 'BenchmarkCache$/op=(get|set)/g=[0-9]+/impl=(raw|keyedcache)$' \
			-test.benchtime "$BENCHTIME" -test.count 1 >>"$OUT/$which-redis.txt"
		"$OUT/$which-memcached.test" -test.run '^$' -test.bench 'Benchmark(Get|Set)$/g=[0-9]+/impl=(raw|keyedcache)$' \
			-test.benchtime "$BENCHTIME" -test.count 1 >>"$OUT/$which-memcached.txt"
	done
	echo "round $r done" >&2
done
for which in before after; do
	"$OUT/$which-function.test" -test.run 'TestStampede/(redis|memcached)$' -test.v >"$OUT/$which-stampede.txt" 2>&1 || true
done
