#!/usr/bin/env bash
# The README's first command: start the engine (and qemu for arm64), build examples/hello for
# amd64 and arm64 with pkgkit, then run both images.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ORG=${PKGKIT_ORG:-127.0.0.1:5000/demo}

test/env/start.sh >/dev/null
node lib/bin.mjs build --org "$ORG" examples/hello
ref=$(node lib/bin.mjs show-tag --org "$ORG" examples/hello)
for arch in amd64 arm64; do
  printf '%s-%s: ' "$ref" "$arch"
  docker run --rm --platform "linux/$arch" "$ref-$arch"
done
