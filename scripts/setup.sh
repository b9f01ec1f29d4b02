#!/usr/bin/env bash
# Installs what gridmap needs and is missing: PostgreSQL 15 with PostGIS 3 from
# Debian's apt. Idempotent: a second run checks and returns. With DATABASE_URL
# set, the database is someone else's and nothing is installed.
set -euo pipefail
if [ -n "${DATABASE_URL:-}" ]; then exit 0; fi

need=()
[ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
[ -f /usr/share/postgresql/15/extension/postgis.control ] || need+=(postgresql-15-postgis-3)
[ -f /usr/share/postgresql/15/extension/pg_trgm.control ] || need+=(postgresql-contrib-15)
# postgresql-contrib is part of postgresql-15 on Debian 12; keep the list honest.
if [ ${#need[@]} -gt 0 ]; then
  sudo=""
  [ "$(id -u)" = 0 ] || sudo="sudo"
  echo "setup: installing ${need[*]} with apt-get" >&2
  export DEBIAN_FRONTEND=noninteractive
  # A fresh machine has no package lists; update once, then install.
  $sudo apt-get update -qq
  pkgs=("${need[@]/postgresql-contrib-15/postgresql-15}")
  $sudo apt-get install -y -qq "${pkgs[@]}" >/dev/null
  # Debian's package creates and starts a system cluster; gridmap does not use it.
fi
