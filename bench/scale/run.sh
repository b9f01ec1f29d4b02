#!/usr/bin/env bash
# City scale (BENCHMARKS.md "City scale", docs/scale.md): for each grid count
# of SIZES (buildings ×20), on the private cluster of scripts/db.sh:
#   load      `gridmap demo --grids G --buildings 20G` into an empty database, seconds
#   db        database size after the load
#   index     lookup index build time (point index, then addresses) from the
#             server's log, its Go heap (bench/lookup/indexmem) and the server's RSS
#   lookup    wrk: /api/v1/lookup against the no-op route /bench/noop, same
#             server and middleware, ROUNDS alternating rounds, medians
#   cold      one pass over every tile covering the data at z12 and at z14, on
#             a fresh server (empty tile cache): req/s (bench/tiles/replay)
#   sizes     z10 and z12 tiles: median and max bytes, gzip as served
#   warm      the z14 list again from the cache against /bench/noop with the
#             same load generator (replay), ROUNDS alternating rounds: req/s,
#             and the server's CPU time per request
# Results are appended to OUT (bench/scale/results.txt). The machine may be
# shared with other work: the ratios within one round are the numbers to read.
#
#   bench/scale/run.sh                         # SIZES="10000 50000"
#   SIZES="10000 50000 100000" ROUNDS=5 bench/scale/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
SIZES=${SIZES:-10000 50000}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-5s}
CONNS=${CONNS:-8}
PORT=${PORT:-8191}
OUT=${OUT:-$root/bench/scale/results.txt}
export GOFLAGS=${GOFLAGS:--buildvcs=false}
export PGOPTIONS="-c client_min_messages=warning"
for tool in wrk curl psql awk go; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (apt-get install wrk)" >&2; exit 1; }
done
work=$(mktemp -d)
server=""
stop_server() { if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; server=""; fi; }
trap 'stop_server; rm -rf "$work"' EXIT

[ -f web/dist/index.html ] || make web
go build -o "$work/gridmap" ./cmd/gridmap
for cmd in tiles/replay tiles/tilelist lookup/indexmem; do go build -o "$work/${cmd#*/}" "./bench/$cmd"; done
base=$(scripts/db.sh start)
url="http://127.0.0.1:$PORT"
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) print 0; else print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
field() { sed -E "s/(^|.* )$1=([^ ]+).*/\\2/"; } # field NAME < "k=v k=v" line
# seconds < a Go duration (1m49.35s, 850ms): seconds with two decimals.
seconds() {
  awk '{ d = $1; t = 0
    while (match(d, /^[0-9.]+/)) {
      n = substr(d, 1, RLENGTH) + 0; d = substr(d, RLENGTH + 1)
      if (d ~ /^ms/) { t += n / 1000; d = substr(d, 3) } else if (d ~ /^(µs|us)/) { t += n / 1e6; sub(/^(µs|us)/, "", d) }
      else if (d ~ /^ns/) { t += n / 1e9; d = substr(d, 3) } else if (d ~ /^h/) { t += n * 3600; d = substr(d, 2) }
      else if (d ~ /^m/) { t += n * 60; d = substr(d, 2) } else if (d ~ /^s/) { t += n; d = substr(d, 2) }
    }
    printf "%.2f\n", t }'
}
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server/stat"; }
hz=$(getconf CLK_TCK)

start_server() { # db url
  GRIDMAP_PUBLIC_RATE=0 GRIDMAP_BENCH_ROUTES=1 GRIDMAP_METRICS_ADDR="127.0.0.1:$((PORT + 1))" DATABASE_URL=$1 \
    "$work/gridmap" serve --addr "127.0.0.1:$PORT" >"$work/server.out" 2>"$work/server.log" &
  server=$!
  for _ in $(seq 1 3000); do
    if curl -sf "$url/readyz" >/dev/null && curl -s "http://127.0.0.1:$((PORT + 1))/metrics" | grep -q '^gridmap_lookup_address_index_ready 1'; then return; fi
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
    sleep 0.2
  done
  echo "run.sh: gridmap not ready" >&2; exit 1
}
# with_cpu CMD...: runs CMD (one result line) and appends the server's CPU µs per request.
with_cpu() {
  local t0 t1 line n
  t0=$(cpu_ticks); line=$("$@"); t1=$(cpu_ticks)
  n=$(echo "$line" | field requests)
  echo "$line server_cpu_us=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v n="$n" 'BEGIN { printf "%.1f", d / hz * 1e6 / n }')"
}
wrk_line() { wrk -t2 -c32 -d"$DURATION" -s bench/lookup/lookup.lua "$url" -- "$1" "$work/points.txt" | grep '^RESULT' | sed 's/^RESULT //'; }

for G in $SIZES; do
  B=$((G * 20))
  db="${base%/*}/bench_scale?sslmode=disable"
  log="$work/scale-$G.txt"
  : >"$log"
  echo "== $G grids, $B buildings"
  psql "$base" -qAtX -c "DROP DATABASE IF EXISTS bench_scale WITH (FORCE)" -c "CREATE DATABASE bench_scale"
  DATABASE_URL=$db "$work/gridmap" migrate >/dev/null
  t0=$(date +%s.%N)
  DATABASE_URL=$db "$work/gridmap" demo --grids "$G" --buildings "$B" 2>/dev/null | tail -n 1
  t1=$(date +%s.%N)
  echo "load_s=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')" >>"$log"
  psql "$db" -qAtX -c "VACUUM ANALYZE"
  psql "$db" -qAtX -F ' ' -c "SELECT 'db_mb=' || pg_database_size(current_database()) / 1048576,
      'building_mb=' || pg_total_relation_size('building') / 1048576, 'area_version_mb=' || pg_total_relation_size('area_version') / 1048576" >>"$log"

  start_server "$db"
  echo "index_points_s=$(grep -h "lookup index: loaded" "$work/server.log" | field duration | seconds)" >>"$log"
  echo "index_addresses_s=$(grep -h "lookup index: addresses loaded" "$work/server.log" | field duration | seconds)" >>"$log"
  echo "server_rss_mb=$(($(ps -o rss= -p "$server") / 1024))" >>"$log"

  # Tiles first, on the fresh server: cold passes, then sizes, then warm against no-op.
  "$work/tilelist" -tilejson "$url/tiles/areas,buildings,labels.json" -z 10 >"$work/z10.txt"
  for z in 12 14; do
    "$work/tilelist" -tilejson "$url/tiles/areas,buildings,labels.json" -z $z >"$work/z$z.txt"
    line=$("$work/replay" -url "$url/tiles/areas,buildings,labels/{z}/{x}/{y}.mvt" -list "$work/z$z.txt" -c "$CONNS")
    echo "cold_z${z} tiles=$(wc -l <"$work/z$z.txt") $line" >>"$log"
  done
  for z in 10 12; do
    while read -r t; do
      curl -s -o /dev/null -H 'Accept-Encoding: gzip' -w '%{size_download}\n' "$url/tiles/areas,buildings,labels/$t.mvt"
    done <"$work/z$z.txt" | sort -n | awk -v z=$z '{ v[NR] = $1 } END { printf "size_z%d tiles=%d median_kb=%.1f max_kb=%.1f\n", z, NR, v[int((NR + 1) / 2)] / 1024, v[NR] / 1024 }' >>"$log"
  done
  "$work/replay" -url "$url/tiles/areas,buildings,labels/{z}/{x}/{y}.mvt" -list "$work/z14.txt" -c "$CONNS" -duration 2s >/dev/null
  for round in $(seq 1 "$ROUNDS"); do
    for k in 0 1; do
      if [ $(((k + round) % 2)) = 0 ]; then
        echo "warm round=$round route=tile $(with_cpu "$work/replay" -url "$url/tiles/areas,buildings,labels/{z}/{x}/{y}.mvt" -list "$work/z14.txt" -c "$CONNS" -duration "$DURATION")" >>"$log"
      else
        echo "warm round=$round route=noop $(with_cpu "$work/replay" -url "$url/bench/noop?t={z}/{x}/{y}" -list "$work/z14.txt" -c "$CONNS" -duration "$DURATION")" >>"$log"
      fi
    done
  done

  # Lookups against the no-op route (bench/lookup's wrk script and points).
  read -r x0 y0 x1 y1 < <(psql "$db" -XAt -F ' ' -c \
    "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM area_version WHERE valid_to IS NULL) s")
  awk -v x0="$x0" -v y0="$y0" -v x1="$x1" -v y1="$y1" 'BEGIN{srand(1); for(i=0;i<10000;i++) printf "%.7f %.7f\n", x0+rand()*(x1-x0), y0+rand()*(y1-y0)}' >"$work/points.txt"
  for round in $(seq 1 "$ROUNDS"); do
    for k in 0 1; do
      if [ $(((k + round) % 2)) = 0 ]; then
        echo "lookup round=$round route=lookup $(with_cpu wrk_line /api/v1/lookup)" >>"$log"
      else
        echo "lookup round=$round route=noop $(with_cpu wrk_line /bench/noop)" >>"$log"
      fi
    done
  done
  stop_server
  DATABASE_URL=$db "$work/indexmem" | sed 's/^/indexmem: /' >>"$log"

  # Summary: medians per route and the ratio per round.
  {
    echo "# bench/scale/run.sh $(date -u +%FT%TZ) grids=$G buildings=$B ROUNDS=$ROUNDS DURATION=$DURATION CONNS=$CONNS $(nproc) CPUs load=$(cut -d' ' -f1-3 /proc/loadavg) commit=$(git rev-parse --short HEAD)"
    cat "$log"
    for kind in warm:tile lookup:lookup; do
      k=${kind%:*} r=${kind#*:}
      a=$(grep "^$k .*route=$r " "$log" | field rps | median)
      n=$(grep "^$k .*route=noop " "$log" | field rps | median)
      ca=$(grep "^$k .*route=$r " "$log" | field server_cpu_us | median)
      cn=$(grep "^$k .*route=noop " "$log" | field server_cpu_us | median)
      per=$(for i in $(seq 1 "$ROUNDS"); do
        x=$(grep "^$k round=$i route=$r " "$log" | field rps); y=$(grep "^$k round=$i route=noop " "$log" | field rps)
        awk -v x="$x" -v y="$y" 'BEGIN { printf "%.2f ", x / y }'; done)
      echo "summary $k: $r req/s median $a, noop $n, ratio of medians $(awk -v a="$a" -v n="$n" 'BEGIN { printf "%.2f", a / n }'), per round: $per; server CPU µs/req $r $ca, noop $cn"
    done
    echo
  } | tee -a "$OUT"
done
psql "$base" -qAtX -c "DROP DATABASE IF EXISTS bench_scale WITH (FORCE)"
