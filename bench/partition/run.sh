#!/bin/sh
# bench/partition/run.sh: gridmap's partition (划网格) against weighted k-means +
# Voronoi, on the private cluster of scripts/db.sh (database
# gridmap_test_bench_partition_$DATA, recreated each run).
# DATA=demo (default; GRIDS=400 COMMUNITIES=6; output results.txt) or
# DATA=li (the 11 Liechtenstein Gemeinden; output results-li.txt). ROUNDS=3.
set -eu
cd "$(dirname "$0")/../.."
data=${DATA:-demo}
out=bench/partition/results.txt
communities=${COMMUNITIES:-6}
if [ "$data" = li ]; then
	out=bench/partition/results-li.txt
	communities=${COMMUNITIES:-11}
fi
url=$(scripts/db.sh start)
date -u +"%Y-%m-%d %H:%M UTC" | tee "$out"
GRIDMAP_TEST_DATABASE_URL=$url nice go run ./bench/partition -data "$data" -grids "${GRIDS:-400}" -rounds "${ROUNDS:-3}" -communities "$communities" \
	| tee -a "$out"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)" | tee -a "$out"
