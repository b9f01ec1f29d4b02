#!/usr/bin/env bash
# Case store benchmark (BENCHMARKS.md, "Cases"): a database gridmap_bench_cases
# on the private cluster of scripts/db.sh with the 10,000-grid demo (200,000
# buildings), CASES cases added by bulk SQL, then bench/cases measures
# worklists, case-stats, intake and the escalation sweep through data.CaseStore.
#
#   bench/cases/run.sh                  # 1,000,000 cases
#   CASES=200000 bench/cases/run.sh
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
DATABASE_URL=$url go run ./bench/cases -cases "$CASES" "$@" | tee bench/cases/results.txt
