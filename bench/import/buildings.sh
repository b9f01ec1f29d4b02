#!/usr/bin/env bash
# bench/import/buildings.sh: the building import alone, for one or more
# gridmap builds alternated in one run, against a bare COPY of the same CSV
# into a table without indexes (the machine's floor) after each import.
# The areas (district → grid) are imported once into a template database by
# the first build; every run starts from a copy of it, so each import is the
# city's first building load (the bulk path of data/import_bulk.go).
#
#   GRIDS=50000 BUILDINGS=1000000 REPEATS=3 bench/import/buildings.sh /tmp/gridmap-old bin/gridmap
#   INPUT=/tmp/city bench/import/buildings.sh bin/gridmap   # reuse input files made by an earlier run
#
# The input comes from `gridmap demo` (as bench/import/run.sh makes it) and is
# kept in $INPUT. Medians of REPEATS runs per build. The machine may be
# shared: compare within one run; the load average is printed per run.
set -euo pipefail
export PGOPTIONS="-c client_min_messages=warning"
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
GRIDS=${GRIDS:-50000}
BUILDINGS=${BUILDINGS:-$((GRIDS * 20))}
REPEATS=${REPEATS:-3}
INPUT=${INPUT:-/tmp/gridmap-bench-city-$GRIDS-$BUILDINGS}
out=${OUT:-$root/bench/import/results-buildings.txt}
[ $# -gt 0 ] || { echo "usage: $0 BINARY..." >&2; exit 2; }
base=$(scripts/db.sh start)
server=${base%/*}
q() { psql "$base" -qAtX -v ON_ERROR_STOP=1 "$@"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
trap 'q -c "DROP DATABASE IF EXISTS bench_buildings_run" -c "DROP DATABASE IF EXISTS bench_buildings_areas" >/dev/null 2>&1 || true' EXIT

if [ ! -s "$INPUT/buildings.csv" ]; then
  mkdir -p "$INPUT"
  q -c "DROP DATABASE IF EXISTS bench_buildings_src" -c "CREATE DATABASE bench_buildings_src"
  src="$server/bench_buildings_src?sslmode=disable"
  DATABASE_URL=$src "$1" demo --grids "$GRIDS" --buildings "$BUILDINGS" >/dev/null 2>&1
  for level in district subdistrict community grid; do
    DATABASE_URL=$src "$1" export areas --level $level -o "$INPUT/$level.geojson"
  done
  psql "$src" -qAtX -c "\\copy (SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, address, name, households, residents, floors FROM building ORDER BY id) TO '$INPUT/buildings.csv' CSV HEADER"
  q -c "DROP DATABASE bench_buildings_src"
fi
q -c "DROP DATABASE IF EXISTS bench_buildings_areas" -c "CREATE DATABASE bench_buildings_areas"
tpl="$server/bench_buildings_areas?sslmode=disable"
DATABASE_URL=$tpl "$1" migrate >/dev/null
for level in district subdistrict community grid; do
  DATABASE_URL=$tpl "$1" import areas "$INPUT/$level.geojson" --level $level --code-field code --parent-code-field parent_code >/dev/null
done
echo "input: $(($(wc -l <"$INPUT/buildings.csv") - 1)) buildings; areas: $(psql "$tpl" -qAtX -c 'SELECT count(*) FROM area')" >&2

declare -A imp cp
for i in $(seq "$REPEATS"); do
  for bin in "$@"; do
    q -c "DROP DATABASE IF EXISTS bench_buildings_run" -c "CREATE DATABASE bench_buildings_run TEMPLATE bench_buildings_areas"
    url="$server/bench_buildings_run?sslmode=disable"
    t0=$(now)
    DATABASE_URL=$url "$bin" import buildings "$INPUT/buildings.csv" 2>/dev/null | grep "^buildings:" >&2
    t1=$(now)
    took=$(secs "$t0" "$t1")
    imp[$bin]+="$took "
    psql "$url" -qAtX -c "CREATE TABLE raw_building (lon float8, lat float8, address text, name text, households int, residents int, floors int)"
    t0=$(now); psql "$url" -qAtX -c "\\copy raw_building FROM '$INPUT/buildings.csv' CSV HEADER"; t1=$(now)
    cp[$bin]+="$(secs "$t0" "$t1") "
    echo "run $i $bin import=$took load=$(cut -d' ' -f1 /proc/loadavg)" >&2
  done
done
{
  echo "# bench/import/buildings.sh $(date -u +%FT%TZ) grids=$GRIDS buildings=$BUILDINGS repeats=$REPEATS load=$(cut -d' ' -f1-3 /proc/loadavg)"
  printf "%-28s %10s %10s %8s   %s\n" build import_s copy_s ratio runs
  for bin in "$@"; do
    m=$(echo "${imp[$bin]}" | tr ' ' '\n' | grep . | median)
    c=$(echo "${cp[$bin]}" | tr ' ' '\n' | grep . | median)
    printf "%-28s %10s %10s %8s   %s\n" "$bin" "$m" "$c" "$(awk -v a="$m" -v b="$c" 'BEGIN { printf "%.1f", a / b }')" "${imp[$bin]}"
  done
} | tee -a "$out"
