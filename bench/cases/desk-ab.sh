#!/usr/bin/env bash
# Dispatch desk before/after in one run (BENCHMARKS.md "Dispatch desk"): two
# gridmap servers on the bench database of run.sh (which must exist), OLD
# (a binary built from the commit before the change) and NEW (this checkout,
# web/dist built), then bench/cases -desk against each in turn, ROUNDS times
# (A, B, A, B…), and once bench/cases -desk-sql (counts and tiles through
# data.CaseStore, variants alternating within each round).
#
#   OLD=/tmp/gridmap-old ROUNDS=2 bench/cases/desk-ab.sh -desk-reps 10
#   SIDES=new SQL_ROUNDS=3 SQL_FLAGS=-desk-tiles=false …   (one side; counts only)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
: "${OLD:?OLD=path of the gridmap binary before the change}"
ROUNDS=${ROUNDS:-2}
base=$(scripts/db.sh url)
url="${base%/*}/gridmap_bench_cases?sslmode=disable"
go build -o /tmp/gridmap-desk-new ./cmd/gridmap
DATABASE_URL=$url "$OLD" serve --addr 127.0.0.1:18301 >/tmp/gridmap-desk-old.log 2>&1 &
old=$!
DATABASE_URL=$url /tmp/gridmap-desk-new serve --addr 127.0.0.1:18302 >/tmp/gridmap-desk-new.log 2>&1 &
new=$!
trap 'kill $old $new' EXIT
for p in 18301 18302; do
  for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$p/readyz" >/dev/null && break; sleep 0.5; done
done
go build -o /tmp/gridmap-desk-bench ./bench/cases
echo "--- $(date -u '+%F %H:%M') UTC, desk-sql, load $(cut -d' ' -f1-3 /proc/loadavg) ---"
DATABASE_URL=$url /tmp/gridmap-desk-bench -cases 1 -desk-sql "${SQL_ROUNDS:-5}" ${SQL_FLAGS:-}
for r in $(seq 1 "$ROUNDS"); do
  for side in ${SIDES:-old new}; do
    port=18301; [ $side = new ] && port=18302
    echo "--- $(date -u '+%F %H:%M') UTC, round $r, $side server, load $(cut -d' ' -f1-3 /proc/loadavg) ---"
    DATABASE_URL=$url /tmp/gridmap-desk-bench -cases 1 -desk "http://127.0.0.1:$port" "$@"
  done
done
