#!/usr/bin/env bash
# Tests the backup and restore procedures of docs/deploy.md once, on loopback, in a temporary folder:
#   1. a primary with WAL archiving, loaded with the demo (gridmap demo);
#   2. a base backup (pg_basebackup), then two writes on either side of a recovery target time;
#   3. point-in-time recovery of the base backup + archived WAL to that time: the first write is there,
#      the second is not, and gridmap reads the restored database;
#   4. pg_dump -Fc of the primary and pg_restore into a new database: the same counts.
# Usage: bench/restore/run.sh   (as root, PostgreSQL's programs run as the postgres user)
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
work=$(mktemp -d /tmp/gridmap-restore-XXXXXX)
chmod 755 "$work"
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
cleanup() {
  for d in "$work"/primary "$work"/restored; do
    [ -f "$d/postmaster.pid" ] && as_pg "$bin/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1 || true
  done
  rm -rf "$work"
}
trap cleanup EXIT
mkdir -p "$work/wal" "$work/primary" "$work/run"
[ "$(id -u)" = 0 ] && chown postgres: "$work/wal" "$work/primary" "$work/run"
chmod 700 "$work/primary"

echo "== primary with WAL archiving"
as_pg "$bin/initdb" -D "$work/primary" -U postgres -E UTF8 --locale=C.UTF-8 --auth=trust >/dev/null
cat <<CONF | as_pg tee -a "$work/primary/postgresql.conf" >/dev/null
listen_addresses = '127.0.0.1'
unix_socket_directories = '$work/run'
wal_level = replica
archive_mode = on
archive_command = 'test ! -f $work/wal/%f && cp %p $work/wal/%f'
CONF
pport=$(free_port)
as_pg "$bin/pg_ctl" -D "$work/primary" -l "$work/run/primary.log" -o "-p $pport" -w start >/dev/null
psql_p() { psql -h 127.0.0.1 -p "$pport" -U postgres -XqAt "$@"; }
psql_p -d postgres -c "create role gridmap login superuser" -c "create database gridmap owner gridmap"
url="postgres://gridmap@127.0.0.1:$pport/gridmap?sslmode=disable"
(cd "$root" && go build -o "$work/gridmap" ./cmd/gridmap)
DATABASE_URL=$url "$work/gridmap" demo >/dev/null 2>&1
areas=$(psql_p -d gridmap -c "select count(*) from area")
buildings=$(psql_p -d gridmap -c "select count(*) from building")
echo "   demo loaded: $areas areas, $buildings buildings"

echo "== base backup"
mkdir -p "$work/base"; [ "$(id -u)" = 0 ] && chown postgres: "$work/base"
start=$(date +%s.%N)
as_pg "$bin/pg_basebackup" -h 127.0.0.1 -p "$pport" -U postgres -D "$work/base/data" -X fetch -c fast
echo "   took $(echo "$(date +%s.%N) - $start" | bc) s, $(du -sh "$work/base/data" | cut -f1)"

echo "== writes on either side of the recovery target"
GRIDMAP_PASSWORD='before the target 1' DATABASE_URL=$url "$work/gridmap" user add before_target --role viewer >/dev/null
sleep 1.1 # the target is a wall-clock time between the two commits, to the second in this output
target=$(psql_p -d gridmap -c "select now()")
sleep 1.1
GRIDMAP_PASSWORD='after the target 1' DATABASE_URL=$url "$work/gridmap" user add after_target --role viewer >/dev/null
psql_p -d gridmap -c "select pg_switch_wal()" >/dev/null
# wait until the segment with both writes is archived
for _ in $(seq 100); do
  [ "$(psql_p -d gridmap -c "select last_archived_wal >= pg_walfile_name(pg_current_wal_lsn() - 1) from pg_stat_archiver")" = t ] && break
  sleep 0.1
done
echo "   target $target"

echo "== point-in-time recovery of the base backup to the target"
mkdir "$work/restored"; [ "$(id -u)" = 0 ] && chown postgres: "$work/restored"
chmod 700 "$work/restored"
as_pg cp -a "$work/base/data/." "$work/restored/"
cat <<CONF | as_pg tee -a "$work/restored/postgresql.auto.conf" >/dev/null
restore_command = 'cp $work/wal/%f %p'
recovery_target_time = '$target'
recovery_target_action = 'promote'
archive_mode = off
CONF
as_pg touch "$work/restored/recovery.signal"
rport=$(free_port)
start=$(date +%s.%N)
as_pg "$bin/pg_ctl" -D "$work/restored" -l "$work/run/restored.log" -o "-p $rport" -w -t 120 start >/dev/null
psql_r() { psql -h 127.0.0.1 -p "$rport" -U postgres -d gridmap -XqAt "$@"; }
for _ in $(seq 300); do [ "$(psql_r -c "select pg_is_in_recovery()")" = f ] && break; sleep 0.1; done
echo "   replayed and promoted in $(echo "$(date +%s.%N) - $start" | bc) s"
got_before=$(psql_r -c "select count(*) from app_user where name = 'before_target'")
got_after=$(psql_r -c "select count(*) from app_user where name = 'after_target'")
got_areas=$(psql_r -c "select count(*) from area")
echo "   before_target: $got_before (want 1), after_target: $got_after (want 0), areas: $got_areas (want $areas)"
[ "$got_before" = 1 ] && [ "$got_after" = 0 ] && [ "$got_areas" = "$areas" ] || { echo "FAIL: point-in-time recovery"; exit 1; }
# gridmap reads the restored database: migrations current, an area answers
DATABASE_URL="postgres://gridmap@127.0.0.1:$rport/gridmap?sslmode=disable" "$work/gridmap" migrate | grep -q "applied 0 migrations" \
  || { echo "FAIL: the restored database is not current for gridmap"; exit 1; }

echo "== pg_dump -Fc and pg_restore"
start=$(date +%s.%N)
pg_dump -h 127.0.0.1 -p "$pport" -U gridmap -Fc -d gridmap -f "$work/gridmap.dump"
psql_p -d postgres -c "create database restored owner gridmap"
pg_restore -h 127.0.0.1 -p "$pport" -U gridmap -d restored --no-owner -j 2 "$work/gridmap.dump"
echo "   dump $(du -h "$work/gridmap.dump" | cut -f1), dump + restore $(echo "$(date +%s.%N) - $start" | bc) s"
d_areas=$(psql_p -d restored -c "select count(*) from area")
d_buildings=$(psql_p -d restored -c "select count(*) from building")
d_users=$(psql_p -d restored -c "select count(*) from app_user")
echo "   restored: $d_areas areas (want $areas), $d_buildings buildings (want $buildings), $d_users accounts (want 2)"
[ "$d_areas" = "$areas" ] && [ "$d_buildings" = "$buildings" ] && [ "$d_users" = 2 ] || { echo "FAIL: pg_dump/pg_restore"; exit 1; }
echo "OK: both restores reproduce the data"
