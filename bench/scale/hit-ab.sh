#!/usr/bin/env bash
# Warm tile hits against the no-op route for two or more gridmap builds, in one
# run, alternating builds (docs/scale.md, "Warm tiles"): per build, a fresh
# server on DB, and for each zoom of ZOOMS (default 14) one pass over its
# tiles (fills the cache), 2 s of warm-up, then ROUNDS × (hits, no-op,
# no-op-tile) with bench/tiles/replay for DURATION each, the no-op routes
# replaying the same list; prints req/s, the server's CPU µs and write(2)
# calls per request.
# no-op-tile is /bench/noop-tile?bytes=N, N the hits' mean body size: the
# tile route's headers and as many bytes, without a tile (builds without the
# route skip it).
#
#   DB=postgres://…/b1 bench/scale/hit-ab.sh /tmp/gridmap-old bin/gridmap /tmp/gridmap-old bin/gridmap
#   ZOOMS="12 16" DB=… bench/scale/hit-ab.sh /tmp/gridmap-old bin/gridmap
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
DB=${DB:?DB is the database URL to serve}
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-4s}
ZOOMS=${ZOOMS:-14}
PORT=${PORT:-8195}
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
for cmd in replay tilelist; do (cd "$root" && go build -o "$work/$cmd" "./bench/tiles/$cmd"); done
hz=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
syscw() { sed -n 's/^syscw: //p' "/proc/$pid/io"; }
for bin in "$@"; do
  GRIDMAP_PUBLIC_RATE=0 GRIDMAP_BENCH_ROUTES=1 DATABASE_URL=$DB "$bin" serve --addr 127.0.0.1:$PORT >/dev/null 2>"$work/log" &
  pid=$!
  for _ in $(seq 300); do
    # A server that died (its port taken) must not leave the port's owner to be measured.
    kill -0 "$pid" 2>/dev/null || { cat "$work/log" >&2; exit 1; }
    curl -sf "127.0.0.1:$PORT/readyz" >/dev/null && break
    sleep 0.2
  done
  tile="http://127.0.0.1:$PORT/tiles/areas,buildings,labels/{z}/{x}/{y}.mvt"
  for z in $ZOOMS; do
    list="$work/z$z.txt"
    [ -s "$list" ] || "$work/tilelist" -tilejson "http://127.0.0.1:$PORT/tiles/areas,buildings,labels.json" -z "$z" >"$list"
    "$work/replay" -url "$tile" -list "$list" -c 8 >/dev/null
    warm=$("$work/replay" -url "$tile" -list "$list" -c 8 -duration 2s)
    # The hits' mean body size, for no-op-tile.
    size=$(echo "$warm" | awk '{ for (i = 1; i <= NF; i++) { split($i, kv, "="); v[kv[1]] = kv[2] } } END { printf "%d", v["bytes"] / v["requests"] }')
    routes="tile noop"
    [ "$(curl -s -o /dev/null -w '%{http_code}' "127.0.0.1:$PORT/bench/noop-tile?bytes=1")" = 200 ] && routes="$routes noop-tile"
    for r in $(seq "$ROUNDS"); do
      for route in $routes; do
        case $route in
          tile) u=$tile ;;
          noop) u="http://127.0.0.1:$PORT/bench/noop?t={z}/{x}/{y}" ;;
          noop-tile) u="http://127.0.0.1:$PORT/bench/noop-tile?bytes=$size&t={z}/{x}/{y}" ;;
        esac
        t0=$(cpu) w0=$(syscw); line=$("$work/replay" -url "$u" -list "$list" -c 8 -duration "$DURATION"); t1=$(cpu) w1=$(syscw)
        n=$(echo "$line" | sed -E 's/^requests=([0-9]+).*/\1/')
        echo "$bin z=$z round=$r $route $(echo "$line" | grep -o 'rps=[0-9.]*') server_cpu_us=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v n="$n" 'BEGIN { printf "%.1f", d / hz * 1e6 / n }') writes_per_req=$(awk -v d=$((w1 - w0)) -v n="$n" 'BEGIN { printf "%.2f", d / n }') load=$(cut -d' ' -f1 /proc/loadavg)$([ $route = noop-tile ] && echo " bytes=$size")"
      done
    done
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
done
