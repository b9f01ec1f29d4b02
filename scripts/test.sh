#!/usr/bin/env bash
# make test: start the private database unless DATABASE_URL is set, then run
# the JavaScript unit tests (node's built-in runner) and every Go test (fuzz
# seed corpora included) with the race detector against it. Any failure fails
# make test. The real-world test data is in testdata/ of the checkout.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
if [ -z "${DATABASE_URL:-}" ]; then
  DATABASE_URL=$("$root/scripts/db.sh" start)
fi
export GRIDMAP_TEST_DATABASE_URL="${GRIDMAP_TEST_DATABASE_URL:-$DATABASE_URL}"

# JavaScript: web/test/*.test.js (gcj02.js, snap.js); the spec reporter ends
# with node's summary (tests, pass, fail).
echo "== node --test (web/test)"
(cd web && node --test --test-reporter=spec test/*.test.js)

go vet ./...
# -race needs cgo (a C compiler; scripts/setup.sh --browser installs gcc).
# -p 2: packages run in parallel on this 2-core machine, each in its own database.
echo "== go test -race"
go test -race -p 2 -count=1 -timeout 30m ./...
