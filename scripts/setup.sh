#!/usr/bin/env bash
# Installs what gridmap needs and is missing. Idempotent: a second run checks
# and returns in well under a second.
#   scripts/setup.sh            PostgreSQL 15 + PostGIS 3 (unless DATABASE_URL is set), Node.js,
#                               and the web packages (npm ci when web/node_modules is missing
#                               or web/package-lock.json changed)
#   scripts/setup.sh --browser  also Chromium and a CJK font for the browser tests, and gcc for
#                               the race detector (make test)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
browser=0
[ "${1:-}" = "--browser" ] && browser=1

need=()    # installed as apt-get would by default
quiet=()   # installed without recommended packages (the browser's pull in desktop services)
# With DATABASE_URL set, the database is someone else's: no PostgreSQL here.
if [ -z "${DATABASE_URL:-}" ]; then
  [ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
  [ -f /usr/share/postgresql/15/extension/postgis.control ] || need+=(postgresql-15-postgis-3)
  # pg_trgm ships in postgresql-15 on Debian 12.
  [ -f /usr/share/postgresql/15/extension/pg_trgm.control ] || need+=(postgresql-15)
fi
command -v node >/dev/null || need+=(nodejs)
command -v npm >/dev/null || need+=(npm)
if [ "$browser" = 1 ]; then
  # make test runs the Go tests with -race, which needs cgo and a C compiler.
  command -v gcc >/dev/null || need+=(gcc)
  [ -x /usr/bin/chromium ] || quiet+=(chromium)
  # Posters and screenshots print Chinese: a CJK font for headless Chromium.
  [ -f /usr/share/fonts/truetype/wqy/wqy-zenhei.ttc ] || quiet+=(fonts-wqy-zenhei)
fi
if [ $((${#need[@]} + ${#quiet[@]})) -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup: installing ${need[*]} ${quiet[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine has no package lists; update once, then install.
  $sudo apt-get update -qq
  if [ ${#need[@]} -gt 0 ]; then
    mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
    $sudo apt-get install -y -qq "${need[@]}" >/dev/null
  fi
  if [ ${#quiet[@]} -gt 0 ]; then
    $sudo apt-get install -y -qq --no-install-recommends "${quiet[@]}" >/dev/null
  fi
  # Debian's postgresql package creates and starts a system cluster; gridmap does not use it.
fi

# The web packages, pinned by package-lock.json; the stamp records the lock
# file that node_modules was installed from.
web="$root/web"
stamp="$web/node_modules/.gridmap-lock.sha256"
want=$(sha256sum "$web/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$want" ]; then
  echo "setup: npm ci in web/" >&2
  (cd "$web" && npm ci --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$want" >"$stamp"
fi
