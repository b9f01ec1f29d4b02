#!/bin/sh
# bench/partition/run.sh: gridmap's partition (划网格) against weighted k-means +
# Voronoi on the demo, on the private cluster of scripts/db.sh (database
# gridmap_test_bench_partition, recreated each run). Output: results.txt.
# GRIDS=400 ROUNDS=3 COMMUNITIES=6 by default.
set -eu
cd "$(dirname "$0")/../.."
url=$(scripts/db.sh start)
GRIDMAP_TEST_DATABASE_URL=$url nice go run ./bench/partition -grids "${GRIDS:-400}" -rounds "${ROUNDS:-3}" -communities "${COMMUNITIES:-6}" \
	| tee bench/partition/results.txt
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a bench/partition/results.txt
