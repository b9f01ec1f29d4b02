#!/usr/bin/env bash
# Roads benchmark (BENCHMARKS.md, "Roads"): what the roads layer adds to the
# tiles, and how fast `gridmap import roads` reads and writes a PBF.
#
#   bench/tiles/roads.sh            # REPEATS=5 GRIDS=2000 BUILDINGS=40000
#
# 1. Tile sizes: two databases on the private cluster of scripts/db.sh (or
#    DATABASE_URL's server): the default demo, and a scaled demo of GRIDS
#    grids; bench/tiles/roadsize builds every tile covering the areas at
#    z12 and z14 with the old layer set (areas,buildings,labels) and with all
#    four layers, REPEATS times each, in the same run.
# 2. The Liechtenstein extract (testdata/): admin areas, buildings and roads
#    imported, then the same tile measurement over its 11 Gemeinden (real
#    OSM roads, 10,420 of them).
# 3. Import rate: REPEATS imports of the extract's roads (each replaces the
#    last); the median wall time of the command and of its read phase.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
REPEATS=${REPEATS:-5}
GRIDS=${GRIDS:-2000}
BUILDINGS=${BUILDINGS:-40000}
export GOFLAGS=${GOFLAGS:--buildvcs=false}
base=${DATABASE_URL:-$(scripts/db.sh start)}
work=$(mktemp -d /tmp/bench-roads.XXXXXX)
trap 'rm -rf "$work"' EXIT
go build -o "$work/gridmap" ./cmd/gridmap
go build -o "$work/roadsize" ./bench/tiles/roadsize
fresh() { # name: a new empty database, its URL on stdout
  psql "$base" -XqAc "DROP DATABASE IF EXISTS $1 WITH (FORCE)" -c "CREATE DATABASE $1" >/dev/null
  echo "$base" | sed -E "s#/[^/?]+(\?|$)#/$1\1#"
}
median() { sort -n | awk '{v[NR]=$1} END {print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }

echo "== machine: $(nproc) cores, $(uname -r); shared and noisy (other work runs beside)"
echo "== tile sizes, default demo (42 grids, 1,600 buildings, 46 roads)"
db=$(fresh gridmap_bench_roads_demo)
DATABASE_URL=$db "$work/gridmap" demo >/dev/null 2>&1
DATABASE_URL=$db "$work/roadsize" -z 12,14 -repeats "$REPEATS"
echo "== tile sizes, demo of $GRIDS grids, $BUILDINGS buildings"
db=$(fresh gridmap_bench_roads_scaled)
DATABASE_URL=$db "$work/gridmap" demo --grids "$GRIDS" --buildings "$BUILDINGS" >/dev/null 2>&1
DATABASE_URL=$db "$work/roadsize" -z 12,14 -repeats "$REPEATS"
echo "== tile sizes, Liechtenstein (OSM roads)"
db=$(fresh gridmap_bench_roads_li)
export DATABASE_URL=$db
"$work/gridmap" level add --hierarchy li --key li_country --depth 0 --zh 国家 --en country >/dev/null
"$work/gridmap" level add --hierarchy li --key li_wahlkreis --depth 1 --zh 选区 --en Wahlkreis >/dev/null
"$work/gridmap" level add --hierarchy li --key li_gemeinde --depth 2 --zh 市镇 --en Gemeinde >/dev/null
"$work/gridmap" import areas testdata/liechtenstein-admin.geojson --level li_country --where admin_level=2 --code-field ISO3166-1 >/dev/null 2>&1
"$work/gridmap" import areas testdata/liechtenstein-admin.geojson --level li_wahlkreis --where admin_level=6 --code-field wikidata >/dev/null 2>&1
"$work/gridmap" import areas testdata/liechtenstein-admin.geojson --level li_gemeinde --where admin_level=8 --code-field ISO3166-2 >/dev/null 2>&1
"$work/gridmap" import buildings testdata/liechtenstein.osm.pbf >/dev/null 2>&1
echo "== import rate: gridmap import roads testdata/liechtenstein.osm.pbf, $REPEATS runs"
: >"$work/times"
for i in $(seq "$REPEATS"); do
  start=$(date +%s.%N)
  out=$("$work/gridmap" import roads testdata/liechtenstein.osm.pbf 2>&1)
  end=$(date +%s.%N)
  read_ms=$(echo "$out" | sed -nE 's/.* in ([0-9.]+)ms$/\1/p; s/.* in ([0-9.]+)s$/\1 1000/p' | head -1 | awk '{print ($2 ? $1*$2 : $1)}')
  echo "$end $start $read_ms" | awk '{printf "%.1f %.1f\n", ($1-$2)*1000, $3}' >>"$work/times"
done
echo "$out" | grep "^roads of source"
roads=$(echo "$out" | sed -nE 's/.*imported ([0-9]+) .*/\1/p')
wall=$(cut -d' ' -f1 "$work/times" | median)
rd=$(cut -d' ' -f2 "$work/times" | median)
echo "median wall time ${wall} ms (the command: migrations check, read, COPY, commit), median read ${rd} ms; $(awk -v n="$roads" -v w="$wall" 'BEGIN {printf "%.0f", n/(w/1000)}') roads/s end to end"
"$work/roadsize" -z 12,14 -repeats "$REPEATS"
