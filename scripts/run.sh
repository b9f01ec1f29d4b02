#!/usr/bin/env bash
# make run: start the private database unless DATABASE_URL is set, then serve
# gridmap, loading the demo data into an empty database. On the private
# cluster a first admin "admin" is created with a random password kept in
# .gridmap/admin-password (git-ignored), unless GRIDMAP_ADMIN_USER is set.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$("$root/scripts/db.sh" start)
  export DATABASE_URL
  if [ -z "${GRIDMAP_ADMIN_USER:-}" ]; then
    pw="$root/.gridmap/admin-password"
    if [ ! -s "$pw" ]; then
      (umask 077; head -c 18 /dev/urandom | base64 | tr -d '/+=' > "$pw")
    fi
    export GRIDMAP_ADMIN_USER=admin GRIDMAP_ADMIN_PASSWORD="$(cat "$pw")"
    echo "staff sign-in: admin / $(cat "$pw")   (kept in .gridmap/admin-password)"
  fi
fi
exec "$root/bin/gridmap" serve --demo-if-empty
