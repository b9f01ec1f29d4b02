#!/usr/bin/env bash
# Tile benchmark (BENCHMARKS.md, "Tiles"): gridmap against tegola v0.21.2 on
# the same PostGIS database, the same tile SQL (gridmap's, rewritten into
# tegola's mvt_postgis provider by bench/tiles/tegolaconf) and the same tile
# lists: every tile covering the data at each of ZOOMS. One load generator
# (bench/tiles/replay), CONNS connections, Accept-Encoding: gzip, for both.
#
# Per round and zoom, the servers alternate (gridmap first in odd rounds):
#   gridmap  cold  fresh process (empty cache), one pass over the list
#            warm  the same process right after: DURATION round the list
#   tegola   cold  fresh process without cache, one pass over the list
#            fill  fresh process with an empty file cache, one pass (fills it)
#            warm  the same process right after: DURATION round the list
# Warm lines end with the server's CPU time per request (server_cpu_us).
# Each measurement runs on a fresh pool of POOL connections (pool_max_conns in
# the database URL, read by pgx in both servers).
#
# Before measuring: tegola is built (build-tegola.sh), the database
# gridmap_bench_tiles is created and loaded when missing or of another size
# (FRESH=1: always), both servers' tiles are compared (all of z12/z14, every
# EVERY'th of z16: layers, features, ids, properties, geometry), their
# Accept-Encoding handling is probed, and one untimed pass over every list
# warms PostgreSQL's buffers.
#
#   bench/tiles/run.sh                       # defaults below
#   ROUNDS=5 DURATION=10s bench/tiles/run.sh
# gridmap is built from GRIDMAP_REV (default HEAD), the bench tools from the
# working tree. Needs Go, psql, curl, awk; uses the private cluster of scripts/db.sh (or
# DATABASE_URL's server). tegola's source and cache stay in temporary folders.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
GRIDS=${GRIDS:-10000}
BUILDINGS=${BUILDINGS:-200000}
ROUNDS=${ROUNDS:-3}
ZOOMS=${ZOOMS:-12 14 16}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-8}
POOL=${POOL:-8}
EVERY=${EVERY:-10}
LAYERS=areas,buildings,labels
GM_PORT=${GM_PORT:-8092}
TG_PORT=${TG_PORT:-8095} # GM_PORT + 1 is gridmap's metrics listener, TG_PORT + 1 the probe's tegola
TEGOLA_BIN=${TEGOLA_BIN:-/tmp/bin/tegola}
OUT=${OUT:-$root/bench/tiles/results.txt}
export GOFLAGS=${GOFLAGS:--buildvcs=false}

for tool in go psql curl awk; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing" >&2; exit 1; }
done
work=$(mktemp -d /tmp/bench-tiles.XXXXXX)
server="" gm_pid="" tg_pid="" probe_pid=""
stop() { # pid...: stop processes this script started
  for p in "$@"; do kill "$p" 2>/dev/null || true; wait "$p" 2>/dev/null || true; done
}
stop_server() { stop $server; server=""; }
trap 'stop $server $gm_pid $tg_pid $probe_pid; rm -rf "$work"' EXIT

echo "== building"
TEGOLA_BIN=$TEGOLA_BIN bench/tiles/build-tegola.sh
# gridmap is built from a commit (GRIDMAP_REV, default HEAD), not from the
# working tree, which may hold someone's unfinished edits. The binary embeds
# web/dist, which is not committed: the checkout's bundle is copied in.
gridmap_commit=$(git rev-parse --short "${GRIDMAP_REV:-HEAD}")
bench_commit="$(git rev-parse --short HEAD)$(git diff --quiet HEAD -- bench/tiles 2>/dev/null || echo ' + uncommitted changes')"
mkdir "$work/src"
git archive "$gridmap_commit" | tar -x -C "$work/src"
[ -f web/dist/index.html ] || make web
cp -R web/dist/. "$work/src/web/dist/"
(cd "$work/src" && go build -o "$work/gridmap" ./cmd/gridmap)
for cmd in tegolaconf tilelist replay tilecheck; do go build -o "$work/$cmd" "./bench/tiles/$cmd"; done

base=${DATABASE_URL:-$(scripts/db.sh start)}
db=$(echo "$base" | sed -E 's#/[^/?]+(\?|$)#/gridmap_bench_tiles\1#')
have=$(psql "$db" -XAtc "SELECT count(*) FROM area WHERE level = 'grid'" 2>/dev/null || echo none)
hasb=$(psql "$db" -XAtc "SELECT count(*) FROM building" 2>/dev/null || echo none)
if [ "${FRESH:-0}" = 1 ] || [ "$have" != "$GRIDS" ] || [ "$hasb" != "$BUILDINGS" ]; then
  echo "== creating gridmap_bench_tiles with $GRIDS grids and $BUILDINGS buildings"
  psql "$base" -XqAc "DROP DATABASE IF EXISTS gridmap_bench_tiles WITH (FORCE)" -c "CREATE DATABASE gridmap_bench_tiles"
  # The load's grid assignment can pass the default 30 s statement timeout on a busy machine.
  GRIDMAP_STATEMENT_TIMEOUT=10m DATABASE_URL=$db "$work/gridmap" demo --grids "$GRIDS" --buildings "$BUILDINGS" 2>&1 | tr '\r' '\n' | tail -n 1
fi
case "$db" in *\?*) dbpool="$db&pool_max_conns=$POOL" ;; *) dbpool="$db?pool_max_conns=$POOL" ;; esac

gm_url="http://127.0.0.1:$GM_PORT"
gm_metrics="http://127.0.0.1:$((GM_PORT + 1))" # the metrics listener (GRIDMAP_METRICS_ADDR)
tg_url="http://127.0.0.1:$TG_PORT"
gm_tile="$gm_url/tiles/$LAYERS/{z}/{x}/{y}.mvt"
tg_tile="$tg_url/maps/gridmap/{z}/{x}/{y}.pbf"

# start_gridmap starts a fresh gridmap and waits until its lookup indexes are
# loaded (their loading would compete with the measurement) and its tile
# cache stores tiles (it stores none until the change feed listens): a z0
# tile, outside every list, must come back as a hit.
start_gridmap() {
  GRIDMAP_PUBLIC_RATE=0 GRIDMAP_METRICS_ADDR="127.0.0.1:$((GM_PORT + 1))" DATABASE_URL=$dbpool "$work/gridmap" serve --addr "127.0.0.1:$GM_PORT" >"$work/gridmap.out" 2>"$work/gridmap.log" &
  server=$!
  for _ in $(seq 1 600); do
    if curl -sf "$gm_url/readyz" >/dev/null && curl -s "$gm_metrics/metrics" | grep -q '^gridmap_lookup_address_index_ready 1' &&
      curl -s -o /dev/null "$gm_url/tiles/$LAYERS/0/0/0.mvt" &&
      [ "$(curl -s -o /dev/null -D - "$gm_url/tiles/$LAYERS/0/0/0.mvt" | tr -d '\r' | sed -n 's/^X-Tile-Cache: //Ip')" = hit ]; then
      return
    fi
    kill -0 "$server" 2>/dev/null || { cat "$work/gridmap.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "run.sh: gridmap not ready" >&2
  exit 1
}

# start_tegola [cache folder] starts a fresh tegola, with a file cache in the
# folder when given.
start_tegola() {
  "$work/tegolaconf" -db "$dbpool" ${1:+-cache "$1"} >"$work/tegola.toml"
  (cd "$work" && exec "$TEGOLA_BIN" serve --config "$work/tegola.toml" --port "127.0.0.1:$TG_PORT") >"$work/tegola.log" 2>&1 &
  server=$!
  for _ in $(seq 1 300); do
    curl -sf -o /dev/null "$tg_url/capabilities" && return
    kill -0 "$server" 2>/dev/null || { cat "$work/tegola.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "run.sh: tegola not ready" >&2
  exit 1
}

replay() { # label url list [duration]
  "$work/replay" -label "$1 load=$(cut -d' ' -f1 /proc/loadavg)" -url "$2" -list "$3" -c "$CONNS" ${4:+-duration "$4"}
}

# warm label url list: replay for DURATION, the line followed by the server's
# CPU time (user + system, /proc) per request.
hz=$(getconf CLK_TCK)
warm() {
  local c0 c1 line
  c0=$(awk '{ print $14 + $15 }' "/proc/$server/stat")
  line=$(replay "$1" "$2" "$3" "$DURATION")
  c1=$(awk '{ print $14 + $15 }' "/proc/$server/stat")
  echo "$line server_cpu_us=$(echo "$line" | awk -v d=$((c1 - c0)) -v hz="$hz" '{ for (i = 1; i <= NF; i++) if ($i ~ /^requests=/) { split($i, kv, "="); printf "%.1f", d / hz * 1e6 / kv[2] } }')"
}

echo "== tile lists"
start_gridmap
tilejson="$gm_url/tiles/$LAYERS.json"
for z in $ZOOMS; do
  "$work/tilelist" -tilejson "$tilejson" -z "$z" >"$work/tiles-z$z.txt"
  echo "z$z: $(wc -l <"$work/tiles-z$z.txt") tiles"
done
bounds=$(curl -s "$tilejson" | grep -o '"bounds":\[[^]]*\]')
cat "$work"/tiles-z*.txt >"$work/tiles-all.txt"
: >"$work/check-list.txt"
for z in $ZOOMS; do
  if [ "$z" -ge 16 ]; then awk -v n="$EVERY" '(NR - 1) % n == 0' "$work/tiles-z$z.txt"; else cat "$work/tiles-z$z.txt"; fi >>"$work/check-list.txt"
done
gm_pid=$server
server=""

echo "== same tiles from both servers? (z12, z14 all; z16 every ${EVERY}th)"
start_tegola
"$work/tilecheck" -a "$gm_tile" -b "$tg_tile" -list "$work/check-list.txt" | tee "$work/check.txt"
tg_pid=$server
server=""
probe_tile=$(grep "^16/" "$work/tiles-z16.txt" 2>/dev/null | awk 'NR % 97 == 0' | while read -r t; do
  [ "$(curl -s -o /dev/null -w '%{size_download}' "$gm_url/tiles/$LAYERS/$t.mvt")" -gt 100 ] && { echo "$t"; break; }
done || true)
probe_tile=${probe_tile:-$(head -n 1 "$work/tiles-all.txt")}
mkdir -p "$work/probe-cache"
"$work/tegolaconf" -db "$dbpool" -cache "$work/probe-cache" >"$work/tegola-probe.toml"
(cd "$work" && exec "$TEGOLA_BIN" serve --config "$work/tegola-probe.toml" --port "127.0.0.1:$((TG_PORT + 1))") >"$work/tegola-probe.log" 2>&1 &
probe_pid=$!
for _ in $(seq 1 100); do curl -sf -o /dev/null "http://127.0.0.1:$((TG_PORT + 1))/capabilities" && break; sleep 0.2; done
echo "== Accept-Encoding, tile $probe_tile"
"$work/tilecheck" -a "$gm_tile" -b "$tg_tile" -bc "http://127.0.0.1:$((TG_PORT + 1))/maps/gridmap/{z}/{x}/{y}.pbf" -probe "$probe_tile" | tee "$work/probe.txt"
stop "$probe_pid" "$gm_pid"
probe_pid="" gm_pid=""

echo "== warming PostgreSQL: one untimed pass over every list (tegola, no cache)"
server=$tg_pid tg_pid=""
replay "warmup" "$tg_tile" "$work/tiles-all.txt"
stop_server

: >"$work/runs.txt"
measure_gridmap() { # round zoom
  start_gridmap
  replay "round=$1 zoom=$2 server=gridmap phase=cold" "$gm_tile" "$work/tiles-z$2.txt" | tee -a "$work/runs.txt"
  warm "round=$1 zoom=$2 server=gridmap phase=warm" "$gm_tile" "$work/tiles-z$2.txt" | tee -a "$work/runs.txt"
  echo "   gridmap cache: $(curl -s "$gm_metrics/metrics" | awk '/^gridmap_tile_cache_(entries|bytes) / { printf "%s=%.0f ", $1, $2 }')"
  stop_server
}
measure_tegola() { # round zoom
  start_tegola
  replay "round=$1 zoom=$2 server=tegola phase=cold" "$tg_tile" "$work/tiles-z$2.txt" | tee -a "$work/runs.txt"
  stop_server
  rm -rf "$work/cache" && mkdir "$work/cache"
  start_tegola "$work/cache"
  replay "round=$1 zoom=$2 server=tegola phase=fill" "$tg_tile" "$work/tiles-z$2.txt" | tee -a "$work/runs.txt"
  warm "round=$1 zoom=$2 server=tegola phase=warm" "$tg_tile" "$work/tiles-z$2.txt" | tee -a "$work/runs.txt"
  echo "   tegola file cache: $(find "$work/cache" -type f | wc -l) files, $(du -sk "$work/cache" | cut -f1) KiB"
  stop_server
}
for round in $(seq 1 "$ROUNDS"); do
  for z in $ZOOMS; do
    echo "== round $round, z$z"
    if [ $((round % 2)) = 1 ]; then measure_gridmap "$round" "$z"; measure_tegola "$round" "$z"
    else measure_tegola "$round" "$z"; measure_gridmap "$round" "$z"; fi
  done
done

{
  echo "# bench/tiles/run.sh, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -r), $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //')"
  echo "# gridmap $gridmap_commit, bench/tiles $bench_commit, tegola $("$TEGOLA_BIN" version 2>&1 | sed -n 's/.*version: //p'), $(psql "$db" -XAtc 'SELECT version()' | cut -d' ' -f1-2), PostGIS $(psql "$db" -XAtc "SELECT extversion FROM pg_extension WHERE extname = 'postgis'")"
  echo "# GRIDS=$GRIDS BUILDINGS=$BUILDINGS ROUNDS=$ROUNDS ZOOMS='$ZOOMS' DURATION=$DURATION CONNS=$CONNS POOL=$POOL layers=$LAYERS data $bounds"
  echo
  echo "## tile comparison"
  cat "$work/check.txt"
  echo
  echo "## Accept-Encoding, tile $probe_tile"
  cat "$work/probe.txt"
  echo
  echo "## runs"
  cat "$work/runs.txt"
  echo
  echo "## summary (bench/tiles/summary.sh)"
  bench/tiles/summary.sh "$work/runs.txt"
} | tee -a "$OUT"
