#!/usr/bin/env bash
# Lookup benchmark (BENCHMARKS.md, "Lookups"): one gridmap process over the
# synthetic subdistrict of GRIDS grids and BUILDINGS buildings, three routes
# through the same server stack and middleware, loaded by wrk on loopback in
# one run, at one concurrency, round after round:
#   a  /bench/noop              writes {} (the cost of HTTP and middleware)
#   b  /bench/lookup-postgis    /api/v1/lookup answered by PostGIS per request
#   c  /api/v1/lookup           answered by the in-memory index
# then a batch of 100,000 points with curl, address lookups, and the index's
# memory. Needs wrk, curl, psql, awk and Go; uses the private cluster of
# scripts/db.sh (or DATABASE_URL's server) and a database gridmap_bench on it,
# created and loaded when missing or of another size.
#
#   bench/lookup/run.sh                 # defaults below
#   ROUNDS=7 DURATION=20s bench/lookup/run.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
GRIDS=${GRIDS:-10000}
BUILDINGS=${BUILDINGS:-200000}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
THREADS=${THREADS:-2}
CONNS=${CONNS:-32}
PORT=${PORT:-8091}
BATCH=${BATCH:-100000}
OUT=${OUT:-$root/bench/lookup/results.txt}
# NICE raises the priority of gridmap and wrk over whatever else the machine
# runs (it needs root; PostgreSQL keeps its priority). Empty: no change.
if [ "$(id -u)" = 0 ]; then NICE=${NICE--10}; else NICE=${NICE-}; fi
nicely() { if [ -n "$NICE" ]; then nice -n "$NICE" "$@"; else "$@"; fi; }

for tool in wrk curl psql awk go; do
  command -v "$tool" >/dev/null || { echo "run.sh: $tool is missing (apt-get install wrk curl postgresql-client)" >&2; exit 1; }
done
work=$(mktemp -d)
server=""
cleanup() {
  if [ -n "$server" ]; then kill "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
  rm -rf "$work"
}
trap cleanup EXIT

base=${DATABASE_URL:-$(scripts/db.sh start)}
db=$(echo "$base" | sed -E 's#/[^/?]+(\?|$)#/gridmap_bench\1#')
go build -o "$work/gridmap" ./cmd/gridmap
go build -o "$work/addresses" ./bench/lookup/addresses
go build -o "$work/indexmem" ./bench/lookup/indexmem

have=$(psql "$db" -XAtc "SELECT count(*) FROM area WHERE level = 'grid'" 2>/dev/null || echo none)
hasb=$(psql "$db" -XAtc "SELECT count(*) FROM building" 2>/dev/null || echo none)
if [ "$have" != "$GRIDS" ] || [ "$hasb" != "$BUILDINGS" ]; then
  echo "== creating gridmap_bench with $GRIDS grids and $BUILDINGS buildings"
  psql "$base" -XqAc "DROP DATABASE IF EXISTS gridmap_bench WITH (FORCE)" -c "CREATE DATABASE gridmap_bench"
  DATABASE_URL=$db "$work/gridmap" demo --grids "$GRIDS" --buildings "$BUILDINGS" | tail -n 1
fi

# A fixed list of random points inside the data's bounds.
read -r x0 y0 x1 y1 < <(psql "$db" -XAt -F ' ' -c \
  "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM (SELECT ST_Extent(geom) e FROM area_version WHERE valid_to IS NULL) s")
awk -v x0="$x0" -v y0="$y0" -v x1="$x1" -v y1="$y1" 'BEGIN{srand(1); for(i=0;i<10000;i++) printf "%.7f %.7f\n", x0+rand()*(x1-x0), y0+rand()*(y1-y0)}' >"$work/points.txt"
psql "$db" -XAtc "SELECT setseed(0.5); SELECT address FROM building WHERE address <> '' ORDER BY random() LIMIT 1000" | tail -n +2 >"$work/addresses.txt"

echo "== starting gridmap on 127.0.0.1:$PORT"
# The public rate limit (20/s per client) is off: wrk is one client.
# nice execs gridmap, so $! is gridmap's own pid (its CPU time is read below).
GRIDMAP_PUBLIC_RATE=0 GRIDMAP_BENCH_ROUTES=1 GRIDMAP_METRICS_ADDR="127.0.0.1:$((PORT + 1))" DATABASE_URL=$db ${NICE:+nice -n "$NICE"} "$work/gridmap" serve --addr "127.0.0.1:$PORT" >"$work/server.out" 2>"$work/server.log" &
server=$!
url="http://127.0.0.1:$PORT"
metrics_url="http://127.0.0.1:$((PORT + 1))" # the metrics listener (GRIDMAP_METRICS_ADDR)
for _ in $(seq 1 600); do
  if curl -sf "$url/readyz" >/dev/null && curl -s "$metrics_url/metrics" | grep -q '^gridmap_lookup_address_index_ready 1'; then break; fi
  kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; exit 1; }
  sleep 0.2
done
curl -sf "$url/readyz" >/dev/null || { echo "run.sh: gridmap not ready" >&2; exit 1; }
grep -h "lookup index" "$work/server.log" | sed 's/^/   /'
rss=$(ps -o rss= -p "$server")

routes=(/bench/noop /bench/lookup-postgis /api/v1/lookup)
names=(a b c)
# cpu_ticks is the server's user+system CPU time so far, in clock ticks.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$server/stat"; }
hz=$(getconf CLK_TCK)
wrkrun() { # route duration: one wrk line, with the server's CPU time per request
  local t0 t1 line n
  t0=$(cpu_ticks)
  line=$(nicely wrk -t"$THREADS" -c"$CONNS" -d"$2" -s bench/lookup/lookup.lua "$url" -- "$1" "$work/points.txt" | grep '^RESULT')
  t1=$(cpu_ticks)
  n=$(echo "$line" | sed -E 's/.*requests=([0-9]+).*/\1/')
  echo "$line server_cpu_us=$(awk -v d=$((t1 - t0)) -v hz="$hz" -v n="$n" 'BEGIN { printf "%.1f", d / hz * 1e6 / n }')"
}
echo "== warm-up"
for r in "${routes[@]}"; do wrkrun "$r" 3s >/dev/null; done
: >"$work/wrk.txt"
for round in $(seq 1 "$ROUNDS"); do
  for k in 0 1 2; do # a different route first in each round
    i=$(((k + round) % 3))
    line=$(wrkrun "${routes[$i]}" "$DURATION")
    echo "round=$round route=${names[$i]} $line" | tee -a "$work/wrk.txt"
  done
done

echo "== batch of $BATCH points"
awk -v n="$BATCH" '
  { x[NR] = $1; y[NR] = $2 }
  END { printf "{\"points\":["; for (i = 0; i < n; i++) { j = i % NR + 1; printf "%s{\"id\":%d,\"lon\":%s,\"lat\":%s}", (i ? "," : ""), i, x[j], y[j] } print "]}" }' \
  "$work/points.txt" >"$work/batch.json"
curl -s -o "$work/batch.out" -H 'Content-Type: application/json' --data-binary @"$work/batch.json" "$url/api/v1/lookup/batch"
results=$(grep -o '{"id":[0-9]*,"areas"' "$work/batch.out" | wc -l)
[ "$results" = "$BATCH" ] || { echo "run.sh: the batch answered $results of $BATCH points" >&2; exit 1; }
rm "$work/batch.out"
: >"$work/batch.txt"
for _ in 1 2 3 4 5; do # timed: the answer streams into /dev/null
  nicely curl -s -o /dev/null -w '%{time_total} %{http_code} %{size_download}\n' -H 'Content-Type: application/json' \
    --data-binary @"$work/batch.json" "$url/api/v1/lookup/batch" >>"$work/batch.txt"
done

echo "== address lookups"
nicely "$work/addresses" -url "$url" -addresses "$work/addresses.txt" -n 2000 >"$work/addresses.out"

echo "== index memory"
DATABASE_URL=$db "$work/indexmem" >"$work/indexmem.out"

{
  echo "# bench/lookup/run.sh, $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, $(uname -r)"
  echo "# GRIDS=$GRIDS BUILDINGS=$BUILDINGS ROUNDS=$ROUNDS DURATION=$DURATION THREADS=$THREADS CONNS=$CONNS NICE=$NICE"
  echo "# load average before the last round: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "## wrk rounds"
  cat "$work/wrk.txt"
  echo
  echo "## medians over $ROUNDS rounds"
  awk '
    function median(a, n,   i, j, t) { for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j+1] = a[j]; a[j+1] = t }
      return n % 2 ? a[(n+1)/2] : (a[n/2] + a[n/2+1]) / 2 }
    { for (f = 1; f <= NF; f++) { split($f, kv, "="); v[kv[1]] = kv[2] }
      r = v["route"]; n[r]++; rps[r, n[r]] = v["rps"]; p50[r, n[r]] = v["p50_us"]; p99[r, n[r]] = v["p99_us"]
      cpu[r, n[r]] = v["server_cpu_us"]; round[v["round"], r] = v["rps"] }
    END {
      printf "%-6s %10s %10s %10s %18s\n", "route", "req/s", "p50 ms", "p99 ms", "server CPU µs/req"
      split("a b c", rs, " ")
      for (k = 1; k <= 3; k++) { r = rs[k]
        for (i = 1; i <= n[r]; i++) { x[i] = rps[r, i]; y[i] = p50[r, i]; z[i] = p99[r, i]; u[i] = cpu[r, i] }
        m[r] = median(x, n[r]); mc[r] = median(u, n[r])
        printf "%-6s %10.0f %10.2f %10.2f %18.1f\n", r, m[r], median(y, n[r]) / 1000, median(z, n[r]) / 1000, mc[r] }
      printf "server CPU per request, c/a %.2f\n", mc["c"] / mc["a"]
      printf "c/a of the medians %.2f, c/b %.1f\n", m["c"] / m["a"], m["c"] / m["b"]
      for (i = 1; i <= n["c"]; i++) { ca[i] = round[i, "c"] / round[i, "a"]; cb[i] = round[i, "c"] / round[i, "b"] }
      printf "per round: c/a median %.2f (", median(ca, n["c"]); for (i = 1; i <= n["c"]; i++) printf "%s%.2f", (i > 1 ? " " : ""), round[i, "c"] / round[i, "a"]
      printf "), c/b median %.1f\n", median(cb, n["c"])
    }' "$work/wrk.txt"
  echo
  echo "## batch of $BATCH points (curl time_total s, status, bytes)"
  cat "$work/batch.txt"
  sort -n "$work/batch.txt" | awk '{ t[NR] = $1 } END { printf "median %.3f s\n", t[int((NR + 1) / 2)] }'
  echo
  echo "## address lookups, one at a time"
  cat "$work/addresses.out"
  echo
  echo "## memory"
  cat "$work/indexmem.out"
  echo "gridmap server RSS after loading both indexes: $((rss / 1024)) MB"
} | tee "$OUT"
