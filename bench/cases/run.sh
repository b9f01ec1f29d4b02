#!/usr/bin/env bash
# Case store benchmark (BENCHMARKS.md, "Cases"): a database gridmap_bench_cases
# on the private cluster of scripts/db.sh with the 10,000-grid demo (200,000
# buildings), CASES cases added by bulk SQL, then bench/cases measures
# worklists, case-stats, intake and the escalation sweep through data.CaseStore.
#
#   bench/cases/run.sh                  # 1,000,000 cases
#   CASES=200000 bench/cases/run.sh
#   DESK=1 bench/cases/run.sh           # the dispatch desk in Chromium (bench/cases -desk): starts
#                                       # `gridmap serve` on the database (web/dist built: make build)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
CASES=${CASES:-1000000}
base=$(scripts/db.sh url)
url="${base%/*}/gridmap_bench_cases?sslmode=disable"
if ! psql "$url" -Atc 'SELECT 1 FROM area LIMIT 1' 2>/dev/null | grep -q 1; then
  psql "$base" -qc 'DROP DATABASE IF EXISTS gridmap_bench_cases' -c 'CREATE DATABASE gridmap_bench_cases'
  go build -o /tmp/gridmap-bench-cases ./cmd/gridmap
  DATABASE_URL=$url /tmp/gridmap-bench-cases demo --grids 10000 --buildings 200000
fi
if [ -n "${DESK:-}" ]; then
  go build -o /tmp/gridmap-bench-cases ./cmd/gridmap
  port=${PORT:-18089}
  DATABASE_URL=$url /tmp/gridmap-bench-cases serve --addr "127.0.0.1:$port" >/tmp/gridmap-bench-desk.log 2>&1 &
  pid=$!
  trap 'kill $pid' EXIT
  for _ in $(seq 1 120); do curl -fs "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.5; done
  DATABASE_URL=$url go run ./bench/cases -cases "$CASES" -desk "http://127.0.0.1:$port" "$@" | tee bench/cases/desk-results.txt
  exit
fi
DATABASE_URL=$url go run ./bench/cases -cases "$CASES" "$@" | tee bench/cases/results.txt
