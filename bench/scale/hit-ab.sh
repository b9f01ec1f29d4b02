#!/usr/bin/env bash
# Warm tile hits against the no-op route for two or more gridmap builds, in one
# run, alternating builds (docs/scale.md, "Warm tiles"): per build, a fresh
# server on DB, one pass over the z14 tiles (fills the cache), 2 s of warm-up,
# then ROUNDS × (hits, no-op) with bench/tiles/replay for DURATION each;
# prints req/s and the server's CPU µs per request.
#
#   DB=postgres://…/b1 bench/scale/hit-ab.sh /tmp/gridmap-old bin/gridmap /tmp/gridmap-old bin/gridmap
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
DB=${DB:?DB is the database URL to serve}
ROUNDS=${ROUNDS:-2}
DURATION=${DURATION:-4s}
PORT=${PORT:-8195}
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
for cmd in replay tilelist; do (cd "$root" && go build -o "$work/$cmd" "./bench/tiles/$cmd"); done
hz=$(getconf CLK_TCK)
cpu() { awk '{ print $14 + $15 }' "/proc/$pid/stat"; }
for bin in "$@"; do
  GRIDMAP_PUBLIC_RATE=0 GRIDMAP_BENCH_ROUTES=1 DATABASE_URL=$DB "$bin" serve --addr 127.0.0.1:$PORT >/dev/null 2>"$work/log" &
  pid=$!
  for _ in $(seq 300); do curl -sf "127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.2; done
  [ -s "$work/z14.txt" ] || "$work/tilelist" -tilejson "http://127.0.0.1:$PORT/tiles/areas,buildings,labels.json" -z 14 >"$work/z14.txt"
  tile="http://127.0.0.1:$PORT/tiles/areas,buildings,labels/{z}/{x}/{y}.mvt"
  "$work/replay" -url "$tile" -list "$work/z14.txt" -c 8 >/dev/null
  "$work/replay" -url "$tile" -list "$work/z14.txt" -c 8 -duration 2s >/dev/null
  for r in $(seq "$ROUNDS"); do
    for route in tile noop; do
      u=$tile; [ $route = noop ] && u="http://127.0.0.1:$PORT/bench/noop?t={z}/{x}/{y}"
      t0=$(cpu); line=$("$work/replay" -url "$u" -list "$work/z14.txt" -c 8 -duration "$DURATION"); t1=$(cpu)
      n=$(echo "$line" | sed -E 's/^requests=([0-9]+).*/\1/')
      echo "$bin round=$r $route $(echo "$line" | grep -o 'rps=[0-9.]*') server_cpu_us=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v n="$n" 'BEGIN { printf "%.1f", d / hz * 1e6 / n }')"
    done
  done
  kill "$pid"; wait "$pid" 2>/dev/null || true; pid=""
done
