#!/usr/bin/env bash
# make run: start the private database unless DATABASE_URL is set, then serve
# gridmap, loading the demo data into an empty database.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$("$root/scripts/db.sh" start)
  export DATABASE_URL
fi
exec "$root/bin/gridmap" serve --demo-if-empty
