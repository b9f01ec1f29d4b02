#!/usr/bin/env bash
# build-tegola.sh builds tegola (the peer tile server of bench/tiles) from the Go
# module proxy into $TEGOLA_BIN (default /tmp/bin/tegola). tegola's code is
# copied to a temporary folder and never enters this repository. Skips the
# build when the binary already reports the wanted version.
#   bench/tiles/build-tegola.sh            # ~5 min on 2 cores (cgo)
set -euo pipefail
version=${TEGOLA_VERSION:-v0.21.2}
bin=${TEGOLA_BIN:-/tmp/bin/tegola}

if [ -x "$bin" ] && "$bin" version 2>/dev/null | grep -q -- "${version#v}"; then
  echo "build-tegola: $bin is $version already" >&2
  exit 0
fi

# go install is refused for modules with replace directives, so download the
# exact version and build it as its own main module.
dir=$(cd /tmp && GOFLAGS=-mod=mod go mod download -json "github.com/go-spatial/tegola@$version" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
[ -d "$dir" ] || { echo "build-tegola: go mod download gave no Dir for $version" >&2; exit 1; }

work=$(mktemp -d /tmp/tegola-src.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -R "$dir"/. "$work"
chmod -R u+w "$work"
mkdir -p "$(dirname "$bin")"
cd "$work"
# tegola's Makefile sets the version through ldflags; do the same so that
# `tegola version` says which release this is.
GOFLAGS=-buildvcs=false go build -mod=mod \
  -ldflags "-X github.com/go-spatial/tegola/internal/build.Version=$version" \
  -o "$bin" ./cmd/tegola
echo "build-tegola: built $bin ($("$bin" version 2>&1 | head -1))" >&2
