#!/usr/bin/env bash
# bench/import: how long gridmap takes to load a city, and how that compares
# with a bare COPY of the same rows into a table without indexes, in the same
# run on the same cluster (the floor no import can beat).
#
#   bench/import/run.sh                       # 10,000 grids, 200,000 buildings
#   GRIDS=50000 BUILDINGS=1000000 bench/import/run.sh
#   OLD=/tmp/gridmap-old bench/import/run.sh  # also time another build (before/after)
#
# Per binary and repeat: `gridmap demo --grids G --buildings B` into an empty
# database; then, into another empty database holding only the levels above
# grid, `gridmap import areas grids.geojson` (the G grids, exported from the
# demo) and `gridmap import buildings buildings.csv` (B buildings: lon, lat,
# address, name, households, residents, floors). Medians of REPEATS runs.
# The machine may be shared: compare ratios within one run, not across runs.
set -euo pipefail
export PGOPTIONS="-c client_min_messages=warning"
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
GRIDS=${GRIDS:-10000}
BUILDINGS=${BUILDINGS:-$((GRIDS * 20))}
REPEATS=${REPEATS:-3}
NEW=${NEW:-$root/bin/gridmap}
OLD=${OLD:-}
out=${OUT:-$root/bench/import/results.txt}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

[ -x "$NEW" ] || go build -o "$NEW" ./cmd/gridmap
base=$(scripts/db.sh start)
server=${base%/*}          # postgres://user@host:port
q() { psql "$base" -qAtX -v ON_ERROR_STOP=1 "$@"; }
fresh() { q -c "DROP DATABASE IF EXISTS $1" -c "CREATE DATABASE $1"; echo "$server/$1?sslmode=disable"; }
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

# The input files, from one demo load by the new binary.
src=$(fresh bench_import_src)
DATABASE_URL=$src "$NEW" demo --grids "$GRIDS" --buildings "$BUILDINGS" >/dev/null 2>&1
for level in district subdistrict community grid; do
  DATABASE_URL=$src "$NEW" export areas --level $level -o "$work/$level.geojson"
done
psql "$src" -qAtX -c "\\copy (SELECT ST_X(geom) AS lon, ST_Y(geom) AS lat, address, name, households, residents, floors FROM building ORDER BY id) TO '$work/buildings.csv' CSV HEADER"
psql "$src" -qAtX -c "\\copy (SELECT a.code, a.name, p.code, ST_AsHEXEWKB(v.geom) FROM area a JOIN area_version v ON v.area_id = a.id JOIN area p ON p.id = a.parent_id WHERE a.level = 'grid' ORDER BY a.id) TO '$work/grids.csv' CSV"
echo "input: $(($(wc -l <"$work/buildings.csv") - 1)) buildings, $(wc -l <"$work/grids.csv") grids" >&2

declare -A results
run() { # name binary
  local name=$1 bin=$2 t0 t1 url
  for i in $(seq "$REPEATS"); do
    url=$(fresh bench_import_run)
    DATABASE_URL=$url "$bin" migrate >/dev/null
    t0=$(now); DATABASE_URL=$url "$bin" demo --grids "$GRIDS" --buildings "$BUILDINGS" >/dev/null 2>&1; t1=$(now)
    results[$name.demo]+="$(secs "$t0" "$t1") "
    url=$(fresh bench_import_run)
    DATABASE_URL=$url "$bin" migrate >/dev/null
    for level in district subdistrict community; do
      DATABASE_URL=$url "$bin" import areas "$work/$level.geojson" --level $level --code-field code --parent-code-field parent_code >/dev/null 2>&1
    done
    t0=$(now)
    DATABASE_URL=$url "$bin" import areas "$work/grid.geojson" --level grid --code-field code --parent-code-field parent_code >"$work/areas.out" 2>&1
    t1=$(now)
    results[$name.areas]+="$(secs "$t0" "$t1") "
    t0=$(now)
    DATABASE_URL=$url "$bin" import buildings "$work/buildings.csv" >"$work/buildings.out" 2>&1
    t1=$(now)
    results[$name.buildings]+="$(secs "$t0" "$t1") "
    grep -h "^areas:\|^buildings:" "$work/areas.out" "$work/buildings.out" >&2
    # The floor: the same rows copied into bare tables.
    psql "$url" -qAtX -c "CREATE TABLE raw_building (lon float8, lat float8, address text, name text, households int, residents int, floors int)" \
      -c "CREATE TABLE raw_area (code text, name text, parent text, geom geometry)"
    t0=$(now); psql "$url" -qAtX -c "\\copy raw_area FROM '$work/grids.csv' CSV"; t1=$(now)
    results[$name.copy_areas]+="$(secs "$t0" "$t1") "
    t0=$(now); psql "$url" -qAtX -c "\\copy raw_building FROM '$work/buildings.csv' CSV HEADER"; t1=$(now)
    results[$name.copy_buildings]+="$(secs "$t0" "$t1") "
  done
}
run new "$NEW"
[ -n "$OLD" ] && run old "$OLD"
q -c "DROP DATABASE IF EXISTS bench_import_run" -c "DROP DATABASE IF EXISTS bench_import_src"

{
  echo "# bench/import $(date -u +%FT%TZ) grids=$GRIDS buildings=$BUILDINGS repeats=$REPEATS load=$(cut -d' ' -f1-3 /proc/loadavg)"
  printf "%-5s %-10s %10s %10s %8s   %s\n" build step median_s copy_s ratio runs
  for name in new old; do
    [ -n "${results[$name.demo]:-}" ] || continue
    for step in demo areas buildings; do
      m=$(echo "${results[$name.$step]}" | tr ' ' '\n' | grep . | median)
      c=-; r=-
      if [ "$step" != demo ]; then
        c=$(echo "${results[$name.copy_$step]}" | tr ' ' '\n' | grep . | median)
        r=$(awk -v a="$m" -v b="$c" 'BEGIN { printf "%.1f", a / b }')
      fi
      printf "%-5s %-10s %10s %10s %8s   %s\n" "$name" "$step" "$m" "$c" "$r" "${results[$name.$step]}"
    done
  done
} | tee -a "$out"
