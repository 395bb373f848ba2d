#!/usr/bin/env bash
# The README's first command: start the engine, qemu for arm64, a local registry (127.0.0.1:5000)
# and a local notary server (https://127.0.0.1:4443); push examples/hello for amd64 and arm64 with
# pkgkit (build, push each arch, merge the index, sign all three with Notary); then, as a user with
# Docker Content Trust on, pull the index by tag for each platform and run it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
ORG=${PKGKIT_ORG:-127.0.0.1:5000/demo}
STATE=${PKGKIT_STATE:-/var/tmp/pkgkit-testenv}

test/env/start.sh >/dev/null
NOTARY_URL=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).notary.url)' "$STATE/services.json")
NOTARY_CA=$(node -e 'console.log(JSON.parse(require("fs").readFileSync(process.argv[1], "utf8")).notary.ca)' "$STATE/services.json")

# The demo's signer: a trust directory of its own, and random passphrases made once, kept (0600)
# beside it and read by a passphrase command, never passed as arguments or printed.
DEMO="$STATE/demo"
mkdir -p "$DEMO/docker/tls/${NOTARY_URL#https://}"
cp "$NOTARY_CA" "$DEMO/docker/tls/${NOTARY_URL#https://}/ca.crt"
[ -f "$DEMO/docker/config.json" ] || echo '{}' > "$DEMO/docker/config.json"
for f in repository-passphrase root-passphrase; do
  [ -s "$DEMO/$f" ] || (umask 077 && od -An -N16 -tx1 /dev/urandom | tr -d ' \n' > "$DEMO/$f")
done
cat > "$DEMO/pkgkit.yml" <<EOF
signer: notary
notary:
  server: $NOTARY_URL
  passphraseCommand: cat '$DEMO/repository-passphrase'
EOF
export DOCKER_CONFIG="$DEMO/docker" DOCKER_CONTENT_TRUST_SERVER="$NOTARY_URL" PKGKIT_CONFIG="$DEMO/pkgkit.yml"
DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE=$(cat "$DEMO/root-passphrase")
export DOCKER_CONTENT_TRUST_ROOT_PASSPHRASE

# The notary server keeps its data in memory: after a restart it has none for the demo's
# repository, and pkgkit refuses to sign over the trust directory's copy of the old one (see
# README, Signing). The demo starts its repository over then. Asked with an empty trust
# directory, so that notary cannot answer from that copy.
gun="$ORG/hello"
scratch=$(mktemp -d)
said=$(notary -s "$NOTARY_URL" -d "$scratch" --tlscacert "$NOTARY_CA" list "$gun" 2>&1 || true)
if [[ $said == *"does not have trust data"* ]]; then
  rm -rf "$DOCKER_CONFIG/trust/tuf/$gun"
fi
rm -rf "$scratch"

node lib/bin.mjs push --org "$ORG" examples/hello
node lib/bin.mjs verify --org "$ORG" examples/hello
ref=$(node lib/bin.mjs show-tag --org "$ORG" examples/hello)
# Pull as a user of its own would: a docker config with the notary CA and no trust data, so what
# docker trusts comes from the notary server, not from the signer's trust directory.
client=$(mktemp -d)
trap 'rm -rf "$client"' EXIT
cp -r "$DEMO/docker/tls" "$client/tls"
echo '{}' > "$client/config.json"
for arch in amd64 arm64; do
  # Content trust pulls by digest, and the engine keeps one image per repository@digest: drop the last one.
  ids=$(docker images -q "$ORG/hello" | sort -u)
  [ -z "$ids" ] || docker rmi -f $ids >/dev/null
  out=$(DOCKER_CONFIG=$client DOCKER_CONTENT_TRUST=1 docker pull --platform "linux/$arch" "$ref" 2>&1) || { echo "$out" >&2; exit 1; }
  printf '%s (pulled with content trust for linux/%s): ' "$ref" "$arch"
  docker run --rm --platform "linux/$arch" "$ref"
done
