#!/usr/bin/env bash
# The private PostGIS cluster gridmap uses when DATABASE_URL is not set.
#   scripts/db.sh start   create (once) and start the cluster; print its DATABASE_URL
#   scripts/db.sh stop    stop it
#   scripts/db.sh url     print the DATABASE_URL of the running cluster
# The cluster lives in .gridmap/ of the checkout (git-ignored): data in
# .gridmap/pg, unix socket in .gridmap/run, on a free loopback port chosen at
# start. As root, initdb and postgres run as the postgres user.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
state="$root/.gridmap"
data="$state/pg"
sock="$state/run"
bin=/usr/lib/postgresql/15/bin

as_pg() {
  if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

running() { [ -f "$data/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; }

port_free() { ! (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

url() {
  local port
  port=$(sed -n 4p "$data/postmaster.pid")
  echo "postgres://gridmap@127.0.0.1:${port}/gridmap?sslmode=disable"
}

start() {
  mkdir -p "$state"
  if [ "$(id -u)" = 0 ]; then
    # postgres must reach the folder: the checkout may sit below a private home.
    if ! runuser -u postgres -- test -x "$state"; then
      echo "db: the postgres user cannot reach $state; make its parent folders traversable (chmod o+x)" >&2
      exit 1
    fi
  fi
  if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$data" "$sock" "$state/log"
    if [ "$(id -u)" = 0 ]; then chown postgres: "$data" "$sock" "$state/log"; fi
    chmod 700 "$data"
    as_pg "$bin/initdb" -D "$data" -U postgres -E UTF8 --locale=C.UTF-8 --auth=trust >"$state/initdb.log" 2>&1 \
      || { cat "$state/initdb.log" >&2; exit 1; }
    cat >>"$data/postgresql.conf" <<CONF
# gridmap's private cluster
listen_addresses = '127.0.0.1'
unix_socket_directories = '$sock'
max_connections = 200
shared_buffers = 256MB
CONF
    cat >"$data/pg_hba.conf" <<HBA
local all all trust
host  all all 127.0.0.1/32 trust
HBA
  fi
  if ! running; then
    local port=54329
    while ! port_free "$port"; do port=$((port + 1)); done
    as_pg "$bin/pg_ctl" -D "$data" -l "$state/log/postgres.log" -o "-p $port" -w -t 30 start >/dev/null \
      || { tail -n 20 "$state/log/postgres.log" >&2; exit 1; }
  fi
  local port
  port=$(sed -n 4p "$data/postmaster.pid")
  if [ "$(psql -h "$sock" -p "$port" -U postgres -d postgres -XqAt -c "select 1 from pg_roles where rolname='gridmap'")" != 1 ]; then
    psql -h "$sock" -p "$port" -U postgres -d postgres -Xq -c "create role gridmap login superuser" >/dev/null
  fi
  if [ "$(psql -h "$sock" -p "$port" -U postgres -d postgres -XqAt -c "select 1 from pg_database where datname='gridmap'")" != 1 ]; then
    psql -h "$sock" -p "$port" -U postgres -d postgres -Xq -c "create database gridmap owner gridmap" >/dev/null
  fi
  url
}

case "${1:-start}" in
  start) start ;;
  stop) if running; then as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null; echo "db: stopped"; else echo "db: not running"; fi ;;
  url) running && url ;;
  *) echo "usage: $0 start|stop|url" >&2; exit 2 ;;
esac
