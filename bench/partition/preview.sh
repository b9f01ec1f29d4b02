#!/bin/sh
# bench/partition/preview.sh: the edit preview of a repartition, before and
# after restricting the building reassignment to the changed region (and the
# grids it retires) and turning JIT off in the edit transaction. Three trees
# in one run, the benchmark BenchmarkPartitionPreview
# (data/partition_bench_test.go, the demo with 130 grids, its first
# community) in each, interleaved ROUNDS times:
#   base:   BASE (default ae4fb1f: every building in the bounds of every
#           touched area recomputed) with the benchmark copied in
#   region: this tree without `SET LOCAL jit = off` (reassignment restricted only)
#   new:    this tree
# Prints the medians of plan (no preview) and propose (with the preview), ms.
set -eu
cd "$(dirname "$0")/../.."
base=${BASE:-ae4fb1f}
rounds=${ROUNDS:-5}
url=$(scripts/db.sh start)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$tmp/base" "$tmp/region"
git archive "$base" | tar -x -C "$tmp/base"
cp data/partition_bench_test.go "$tmp/base/data/"
git ls-files -z | xargs -0 tar -c | tar -x -C "$tmp/region"
cp data/partition_bench_test.go "$tmp/region/data/"
grep -q 'SET LOCAL jit = off' "$tmp/region/data/edit.go"
sed -i 's/`SET LOCAL jit = off`/`SELECT 1`/' "$tmp/region/data/edit.go"
date -u +"%Y-%m-%d %H:%M UTC"
for i in $(seq "$rounds"); do
	for tree in "$tmp/base" "$tmp/region" .; do
		name=new
		[ "$tree" = "$tmp/base" ] && name=base
		[ "$tree" = "$tmp/region" ] && name=region
		(cd "$tree" && GRIDMAP_TEST_DATABASE_URL=$url nice go test ./data -run '^$' -bench PartitionPreview -benchtime 3x -count 1) |
			awk -v n="$name" '/^BenchmarkPartitionPreview/ { sub(/-[0-9]+$/, "", $1); print n, $1, $3 / 1e6 }'
	done
done >"$tmp/runs"
cat "$tmp/runs"
echo "median of $rounds runs (3 iterations each), ms:"
for name in base region new; do
	for b in plan propose; do
		printf '%s %s ' "$name" "$b"
		awk -v n="$name" -v b="BenchmarkPartitionPreview/$b" '$1 == n && $2 == b { print $3 }' "$tmp/runs" | sort -n |
			awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
	done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
