#!/usr/bin/env bash
# bench/scale/parent-ab.sh (BENCHMARKS.md, "City scale: the area import's
# parent search"): the community and grid levels of a demo, imported with
# `gridmap import areas` into a copy of a database that holds its district
# and subdistricts, by an OLD and a NEW build alternating, ROUNDS rounds.
# IN holds the levels as exported by `gridmap export areas --level L -o
# $IN/L.geojson`. Times per level; the statements' own times are in
# PostgreSQL's log when log_min_duration_statement is set.
#
#   IN=/tmp/areas OLD=/tmp/gridmap-old NEW=/tmp/gridmap-new ROUNDS=2 bench/scale/parent-ab.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
export PGOPTIONS="-c client_min_messages=warning"
IN=${IN:?the exported levels}
OLD=${OLD:?old gridmap binary}
NEW=${NEW:?new gridmap binary}
ROUNDS=${ROUNDS:-1}
base=$(scripts/db.sh start)
server=${base%/*}
q() { psql "$base" -qAtX -v ON_ERROR_STOP=1 "$@"; }
imp() { DATABASE_URL=$1 "$2" import areas "$IN/$3.geojson" --level "$3" --code-field code --parent-code-field parent_code 2>/dev/null; }
trap 'q -c "DROP DATABASE IF EXISTS parent_ab_run" -c "DROP DATABASE IF EXISTS parent_ab_tpl" >/dev/null 2>&1 || true' EXIT
q -c "DROP DATABASE IF EXISTS parent_ab_tpl" -c "CREATE DATABASE parent_ab_tpl"
tpl="$server/parent_ab_tpl?sslmode=disable"
DATABASE_URL=$tpl "$NEW" migrate >/dev/null
for level in district subdistrict; do imp "$tpl" "$NEW" $level | head -1; done
for round in $(seq "$ROUNDS"); do
  order="old new"; [ $((round % 2)) = 0 ] && order="new old"
  for b in $order; do
    bin=$OLD; [ $b = new ] && bin=$NEW
    q -c "DROP DATABASE IF EXISTS parent_ab_run" -c "CREATE DATABASE parent_ab_run TEMPLATE parent_ab_tpl"
    u="$server/parent_ab_run?sslmode=disable"
    for level in community grid; do
      t0=$(date +%s.%N); r=$(imp "$u" "$bin" $level | head -1); t1=$(date +%s.%N)
      echo "round=$round build=$b level=$level seconds=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }') load=$(cut -d' ' -f1 /proc/loadavg) $r"
    done
  done
done
