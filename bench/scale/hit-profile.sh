#!/usr/bin/env bash
# CPU profiles of a running gridmap under warm tile hits and under the no-op
# route (docs/scale.md, "Warm tiles"): a fresh server on DB with the bench
# routes (GRIDMAP_BENCH_ROUTES=1, which also puts net/http/pprof on the
# metrics listener), one pass over the tiles of ZOOM (default 14) (fills the cache), 2 s of
# warm-up, then per route bench/tiles/replay for DURATION while
# /debug/pprof/profile records SECONDS of it (starting 1 s in). Writes
# OUT-tile.pprof, OUT-noop.pprof and each replay line.
#
#   DB=postgres://…/b1 OUT=/tmp/hit bench/scale/hit-profile.sh bin/gridmap
#   go tool pprof -top -cum bin/gridmap /tmp/hit-tile.pprof
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
DB=${DB:?DB is the database URL to serve}
OUT=${OUT:-/tmp/hit}
SECONDS_=${SECONDS_PROFILE:-20}
DURATION=${DURATION:-24s}
ZOOM=${ZOOM:-14} # the zoom whose tile list is replayed
PORT=${PORT:-8196}
MPORT=$((PORT + 1))
bin=$1
work=$(mktemp -d)
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; rm -rf "$work"' EXIT
for cmd in replay tilelist; do (cd "$root" && go build -o "$work/$cmd" "./bench/tiles/$cmd"); done
GRIDMAP_PUBLIC_RATE=0 GRIDMAP_BENCH_ROUTES=1 GRIDMAP_METRICS_ADDR=127.0.0.1:$MPORT DATABASE_URL=$DB "$bin" serve --addr 127.0.0.1:$PORT >/dev/null 2>"$work/log" &
pid=$!
for _ in $(seq 300); do
  kill -0 "$pid" 2>/dev/null || { cat "$work/log" >&2; exit 1; }
  curl -sf "127.0.0.1:$PORT/readyz" >/dev/null && break
  sleep 0.2
done
"$work/tilelist" -tilejson "http://127.0.0.1:$PORT/tiles/areas,buildings,labels.json" -z "$ZOOM" >"$work/tiles.txt"
tile="http://127.0.0.1:$PORT/tiles/areas,buildings,labels/{z}/{x}/{y}.mvt"
"$work/replay" -url "$tile" -list "$work/tiles.txt" -c 8 >/dev/null
"$work/replay" -url "$tile" -list "$work/tiles.txt" -c 8 -duration 2s >/dev/null
for route in tile noop; do
  u=$tile; [ $route = noop ] && u="http://127.0.0.1:$PORT/bench/noop?t={z}/{x}/{y}"
  "$work/replay" -url "$u" -list "$work/tiles.txt" -c 8 -duration "$DURATION" >"$work/$route.txt" &
  rp=$!
  sleep 1
  curl -sf -o "$OUT-$route.pprof" "127.0.0.1:$MPORT/debug/pprof/profile?seconds=$SECONDS_"
  wait "$rp"
  echo "$route $(cat "$work/$route.txt") load=$(cut -d' ' -f1 /proc/loadavg)"
done
