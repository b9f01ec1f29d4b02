#!/usr/bin/env bash
# bench/import/areas.sh: the grid level's area import alone, REPEATS runs of
# one gridmap build, each into a copy of a database that holds the levels
# above it (district, subdistrict, community). Input: the files
# bench/import/buildings.sh keeps in $INPUT (run that first).
#
#   INPUT=/tmp/gridmap-bench-city-50000-1000000 bench/import/areas.sh bin/gridmap
set -euo pipefail
export PGOPTIONS="-c client_min_messages=warning"
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
REPEATS=${REPEATS:-3}
INPUT=${INPUT:-/tmp/gridmap-bench-city-50000-1000000}
bin=${1:?usage: $0 BINARY}
base=$(scripts/db.sh start)
server=${base%/*}
q() { psql "$base" -qAtX -v ON_ERROR_STOP=1 "$@"; }
trap 'q -c "DROP DATABASE IF EXISTS bench_areas_run" -c "DROP DATABASE IF EXISTS bench_areas_tpl" >/dev/null 2>&1 || true' EXIT
imp() { DATABASE_URL=$1 "$bin" import areas "$INPUT/$2.geojson" --level "$2" --code-field code --parent-code-field parent_code; }
q -c "DROP DATABASE IF EXISTS bench_areas_tpl" -c "CREATE DATABASE bench_areas_tpl"
tpl="$server/bench_areas_tpl?sslmode=disable"
DATABASE_URL=$tpl "$bin" migrate >/dev/null
for level in district subdistrict community; do imp "$tpl" $level >/dev/null 2>&1; done
for i in $(seq "$REPEATS"); do
  q -c "DROP DATABASE IF EXISTS bench_areas_run" -c "CREATE DATABASE bench_areas_run TEMPLATE bench_areas_tpl"
  t0=$(date +%s.%N)
  imp "$server/bench_areas_run?sslmode=disable" grid 2>&1 | grep "^areas:" >&2
  t1=$(date +%s.%N)
  echo "run $i $bin import=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.2f", b - a }') load=$(cut -d' ' -f1 /proc/loadavg)"
done
