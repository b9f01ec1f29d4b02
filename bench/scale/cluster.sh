#!/usr/bin/env bash
# bench/scale/cluster.sh (BENCHMARKS.md, "Cluster"): a loopback cluster and
# DURATION of mixed traffic through a load balancer, with one replica stopped
# and started again in the middle.
#
#   primary   a fresh PostgreSQL cluster in a temporary folder, the demo loaded
#   r1, r2    streaming replicas of it (pg_basebackup -R -X stream, hot_standby_feedback = on)
#   g1 g2 g3  gridmap processes: DATABASE_URL the primary; GRIDMAP_READ_URL r1,
#             r2, and a multi-host URL r1,r2 (target_session_attrs=prefer-standby)
#   lb        bench/scale/clusterload -proxy: round-robin over g1..g3
#   load      bench/scale/clusterload: CONNS workers (lookups, z12/z14 tiles,
#             grid and building pages, case intake) and one editor renaming
#             a grid every EDIT_EVERY, whose edit is then polled on each
#             process directly (staleness)
# r1 is stopped (pg_ctl -m fast) at 40 % of DURATION and started at 60 %; the
# times go to a file the load generator reads, to report the staleness of
# edits made during the outage from r1's return. Each edit is polled on each
# process for up to 60 s, while the editor goes on.
#
#   bench/scale/cluster.sh                              # 5 minutes, 2,000 grids
#   DURATION=1m GRIDS=500 bench/scale/cluster.sh        # a quick look
# Bounded in time (DURATION plus about two minutes of set-up and polling); every process it
# starts is stopped and the folder removed on exit. Loopback only.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
DURATION=${DURATION:-5m}
GRIDS=${GRIDS:-2000}
CONNS=${CONNS:-8}
EDIT_EVERY=${EDIT_EVERY:-2s}
PORT=${PORT:-8300} # lb; g1..g3 on the next three
OUT=${OUT:-$root/bench/scale/cluster-results.txt}
secs=$(awk -v d="$DURATION" 'BEGIN { n = d + 0; if (d ~ /m$/) n *= 60; print n }')

bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
base=$(mktemp -d /tmp/gridmap-cluster.XXXXXX)
chmod 755 "$base"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for c in r1 r2 primary; do
    [ -f "$base/$c/data/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$base/$c/data" -m immediate stop >/dev/null 2>&1 || true
  done
  rm -rf "$base"
}
trap cleanup EXIT

freeport() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
mkcluster() { mkdir -p "$base/$1"; [ "$(id -u)" = 0 ] && chown postgres: "$base/$1"; true; }
start_pg() { # name port
  as_pg "$bin/pg_ctl" -D "$base/$1/data" -l "$base/$1/log" -o "-p $2 -k $base/$1" -w -t 60 start >/dev/null
}

echo "== building" >&2
go build -o "$base/gridmap" ./cmd/gridmap
go build -o "$base/clusterload" ./bench/scale/clusterload

echo "== primary, demo with $GRIDS grids" >&2
mkcluster primary
as_pg "$bin/initdb" -D "$base/primary/data" -U postgres -E UTF8 --locale=C.UTF-8 --auth=trust >/dev/null
cat <<CONF | as_pg sh -c "cat >> '$base/primary/data/postgresql.conf'"
listen_addresses = '127.0.0.1'
wal_level = replica
max_wal_senders = 6
shared_buffers = 128MB
max_connections = 200
fsync = off
CONF
pp=$(freeport); start_pg primary "$pp"
psql "postgres://postgres@127.0.0.1:$pp/postgres" -qAtX -c "CREATE ROLE gridmap LOGIN SUPERUSER" -c "CREATE DATABASE gridmap OWNER gridmap"
primary="postgres://gridmap@127.0.0.1:$pp/gridmap?sslmode=disable&connect_timeout=2"
password="cluster bench password"
DATABASE_URL=$primary "$base/gridmap" migrate >/dev/null
DATABASE_URL=$primary GRIDMAP_STATEMENT_TIMEOUT=10m "$base/gridmap" demo --grids "$GRIDS" >/dev/null 2>&1

echo "== replicas" >&2
ports=()
for r in r1 r2; do
  mkcluster $r
  as_pg "$bin/pg_basebackup" -h 127.0.0.1 -p "$pp" -U postgres -D "$base/$r/data" -R -X stream -c fast
  # hot_standby_feedback: the replica tells the primary which rows its
  # queries still need, so the primary's vacuum keeps them and a long read
  # (an index load, a cold tile) is not cancelled by a replay conflict; the
  # cost is bloat on the primary while such a read runs.
  echo "hot_standby_feedback = on" | as_pg sh -c 'cat >> "$0"' "$base/$r/data/postgresql.conf"
  p=$(freeport); ports+=("$p"); start_pg $r "$p"
done
replica() { echo "postgres://gridmap@127.0.0.1:$1/gridmap?sslmode=disable&connect_timeout=2"; }
reads=("$(replica "${ports[0]}")" "$(replica "${ports[1]}")"
  "postgres://gridmap@127.0.0.1:${ports[0]},127.0.0.1:${ports[1]}/gridmap?sslmode=disable&connect_timeout=2&target_session_attrs=prefer-standby")

echo "== gridmap processes and the load balancer" >&2
direct=()
for i in 0 1 2; do
  gp=$((PORT + 1 + i))
  # g1 creates the first admin and is ready before g2 and g3 start (before
  # TestFirstAdminRace's fix, processes started together raced to create it
  # and the losers exited).
  admin=(); [ $i = 0 ] && admin=(GRIDMAP_ADMIN_USER=admin "GRIDMAP_ADMIN_PASSWORD=$password")
  env GRIDMAP_PUBLIC_RATE=0 "${admin[@]}" DATABASE_URL=$primary GRIDMAP_READ_URL=${reads[$i]} \
    "$base/gridmap" serve --addr "127.0.0.1:$gp" >/dev/null 2>"$base/g$((i + 1)).log" &
  pids+=($!)
  direct+=("http://127.0.0.1:$gp")
  [ $i = 0 ] && for _ in $(seq 1500); do curl -sf "http://127.0.0.1:$gp/readyz" >/dev/null && break; sleep 0.2; done
done
for d in "${direct[@]}"; do
  for _ in $(seq 1500); do curl -sf "$d/readyz" >/dev/null && break; sleep 0.2; done
  curl -sf "$d/readyz" >/dev/null || {
    echo "cluster.sh: $d not ready: $(curl -s "$d/readyz")" >&2
    for f in "$base"/g*.log; do echo "$f:" >&2; tail -n 5 "$f" >&2; done
    exit 1
  }
done
"$base/clusterload" -proxy "127.0.0.1:$PORT" -backends "$(IFS=,; echo "${direct[*]}")" &
pids+=($!)
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 0.1; done

echo "== $DURATION of traffic; r1 stops at $((secs * 4 / 10)) s and starts at $((secs * 6 / 10)) s" >&2
(
  sleep $((secs * 4 / 10)); as_pg "$bin/pg_ctl" -D "$base/r1/data" -m fast -w stop >/dev/null
  echo "stop $(date +%s%3N)" >>"$base/outage"; echo "r1 stopped at $(date -u +%T)" >&2
  sleep $((secs * 2 / 10)); start_pg r1 "${ports[0]}"
  echo "start $(date +%s%3N)" >>"$base/outage"; echo "r1 started at $(date -u +%T)" >&2
  # When r1 has replayed the primary's log as it was at r1's start (its
  # replay lag after the outage), polled every 50 ms for at most 60 s.
  target=$(psql "$primary" -qAtX -c "SELECT seq FROM feed_counter")
  for _ in $(seq 1200); do
    v=$(psql "$(replica "${ports[0]}")" -qAtX -c "SELECT seq FROM feed_counter" 2>/dev/null || true)
    [ "${v:-0}" -ge "$target" ] && { echo "caughtup $(date +%s%3N)" >>"$base/outage"; break; }
    sleep 0.05
  done
) &
pids+=($!)
t0=$(date -u +%T); t0s=$(date +%s.%N)
result=$("$base/clusterload" -url "http://127.0.0.1:$PORT" -direct "$(IFS=,; echo "${direct[*]}")" -db "$primary" \
  -duration "$DURATION" -conns "$CONNS" -edit-every "$EDIT_EVERY" -user admin -password "$password" -outage-file "$base/outage")
{
  echo "# bench/scale/cluster.sh $(date -u +%F) $t0-$(date -u +%T) UTC commit $(git rev-parse --short HEAD) grids=$GRIDS duration=$DURATION conns=$CONNS edit_every=$EDIT_EVERY load=$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "# g1 reads r1, g2 reads r2, g3 reads r1,r2 (prefer-standby); r1 stopped at 40 %, started at 60 %"
  echo "$result"
  echo "server log lines by level: $(cat "$base"/g*.log | grep -o 'level=[A-Z]*' | sort | uniq -c | tr -s ' ' | tr '\n' ' ')"
  echo "t0 $(date -u -d @"$t0s" +%T.%3N): the servers' read-host, change-feed and index-load lines (first 40 of each):"
  for f in "$base"/g*.log; do
    grep -E 'read server|change feed|lookup index: load' "$f" | grep -v 'dial error' | awk 'NR <= 40' | sed "s|^|  $(basename "$f" .log) |" | cut -c1-260 || true
  done
} | tee -a "$OUT"
