#!/usr/bin/env bash
# The README's first command: start the engine, qemu for arm64 and a local registry
# (127.0.0.1:5000), push examples/hello for amd64 and arm64 with pkgkit (build, push each arch,
# merge the index), then pull the index by tag for each platform and run it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ORG=${PKGKIT_ORG:-127.0.0.1:5000/demo}

test/env/start.sh >/dev/null
# Unsigned: the demo sets up no signer (README, "Signing").
node lib/bin.mjs push --disable-content-trust --org "$ORG" examples/hello
ref=$(node lib/bin.mjs show-tag --org "$ORG" examples/hello)
for arch in amd64 arm64; do
  docker rmi "$ref" >/dev/null 2>&1 || true
  docker pull -q --platform "linux/$arch" "$ref" >/dev/null
  printf '%s (pulled for linux/%s): ' "$ref" "$arch"
  docker run --rm --platform "linux/$arch" "$ref"
done
