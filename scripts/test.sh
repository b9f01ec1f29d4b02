#!/usr/bin/env bash
# make test: start the private database unless DATABASE_URL is set, then run
# every Go test (fuzz seed corpora included) against it.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$("$root/scripts/db.sh" start)
fi
export GRIDMAP_TEST_DATABASE_URL="${GRIDMAP_TEST_DATABASE_URL:-$DATABASE_URL}"
go vet ./...
# -p 2: packages run in parallel on this 2-core machine, each in its own database.
go test -p 2 -count=1 -timeout 20m ./...
