#!/usr/bin/env bash
# Proves the environment from start.sh can do what pkgkit's builders need: build a FROM scratch +
# static busybox image for amd64 and arm64 with docker buildx (daemon's BuildKit, docker driver) and
# with the legacy builder, offline (--network none), then run each and check the architecture; and
# that the test registries work for outside tools: docker push to the plain and the TLS registry
# (CA from /etc/docker/certs.d), skopeo reads the manifests back, docker pulls by digest.
# Removes the images it tags. Run after install.sh and start.sh.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE=${PKGKIT_STATE:-/var/tmp/pkgkit-testenv}
[ -f "$STATE/env.sh" ] || { echo "selfcheck.sh: $STATE/env.sh missing; run test/env/start.sh first" >&2; exit 1; }
# shellcheck source=/dev/null
source "$STATE/env.sh"

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

TMP=$(mktemp -d)
CTX=$TMP/ctx
LOG=$TMP/build.log
TAGS=()
cleanup() {
  rm -rf "$TMP"
  if ((${#TAGS[@]})); then docker image rm -f "${TAGS[@]}" >/dev/null 2>&1 || true; fi
  # The legacy builder keeps every stage as an untagged image; the stages carry our label.
  docker image prune -f --filter label=pkgkit.selfcheck=yes >/dev/null 2>&1 || true
}
trap cleanup EXIT

# expect_image <tag> <arch>: Architecture, label and `uname -m` inside the container must match.
expect_image() {
  local tag=$1 arch=$2 uname got
  case $arch in amd64) uname=x86_64 ;; arm64) uname=aarch64 ;; esac
  got=$(docker image inspect --format '{{.Os}}/{{.Architecture}} {{index .Config.Labels "pkgkit.selfcheck"}}' "$tag")
  [ "$got" = "linux/$arch yes" ] || die "$tag: image inspect gave '$got', want 'linux/$arch yes'"
  got=$(docker run --rm --network none --platform "linux/$arch" "$tag")
  [ "$got" = "arch=$uname" ] || die "$tag: container printed '$got', want 'arch=$uname'"
  echo "   $tag: linux/$arch, runs as $uname"
}

step "docker buildx"
docker buildx version
endstep

step "build context (busybox amd64 + arm64)"
"$HERE/fetch-busybox.sh" "$CTX" >/dev/null
# One Dockerfile for both builders. TARGETARCH is always passed explicitly: the legacy builder
# has no automatic platform ARGs, and this daemon's BuildKit (v0.8) blanks the automatic value
# once the global `ARG TARGETARCH` (needed for FROM in the legacy builder) is declared.
# Each FROM scratch stage starts with COPY: with the legacy builder and --platform, any other
# first instruction makes the stage image amd64 and the next step fails the platform check.
# The stage LABELs only let cleanup find the legacy builder's untagged stage images.
cat > "$CTX/Dockerfile" <<'EOF'
ARG TARGETARCH
FROM scratch AS base-amd64
COPY busybox-amd64 /bin/busybox
LABEL pkgkit.selfcheck=yes
FROM scratch AS base-arm64
COPY busybox-arm64 /bin/busybox
LABEL pkgkit.selfcheck=yes
FROM base-${TARGETARCH}
RUN ["/bin/busybox", "--install", "-s", "/bin"]
RUN echo "arch=$(uname -m)" > /arch.txt
CMD ["/bin/cat", "/arch.txt"]
EOF
endstep

for arch in arm64 amd64; do
  tag=pkgkit-selfcheck:buildx-$arch
  step "buildx build --platform linux/$arch --load --network none"
  TAGS+=("$tag")
  docker buildx build --progress plain --load --no-cache --network none --platform "linux/$arch" \
    --build-arg "TARGETARCH=$arch" --label pkgkit.selfcheck=yes -t "$tag" "$CTX" >"$LOG" 2>&1 \
    || { cat "$LOG" >&2; die "buildx build for linux/$arch failed (log above)"; }
  expect_image "$tag" "$arch"
  endstep
done

for arch in arm64 amd64; do
  tag=pkgkit-selfcheck:legacy-$arch
  step "legacy build --platform linux/$arch --network none"
  TAGS+=("$tag")
  # --no-cache is required: the legacy build cache ignores the platform, so FROM scratch steps
  # cached by a build for another architecture would be reused and carry the wrong Architecture.
  DOCKER_BUILDKIT=0 docker build --no-cache --network none --platform "linux/$arch" \
    --build-arg "TARGETARCH=$arch" --label pkgkit.selfcheck=yes -t "$tag" "$CTX" >"$LOG" 2>&1 \
    || { cat "$LOG" >&2; die "legacy build for linux/$arch failed (log above)"; }
  expect_image "$tag" "$arch"
  endstep
done

step "registries: docker push (plain; TLS + basic auth), skopeo inspect --raw, pull by digest"
SERVICES=$STATE/services.json
[ -f "$SERVICES" ] || die "$SERVICES missing; run test/env/start.sh first"
PLAIN=$(jq -r .registries.plain "$SERVICES"); TLSREG=$(jq -r .registries.tls "$SERVICES")
CERTS=$(jq -r .certsDir "$SERVICES")
# A throwaway Docker config for the login; the password goes through stdin only.
export DOCKER_CONFIG=$TMP/docker-config
jq -j .password "$SERVICES" | docker login -u "$(jq -r .username "$SERVICES")" --password-stdin "$TLSREG" >"$LOG" 2>&1 \
  || { cat "$LOG" >&2; die "docker login $TLSREG failed (log above)"; }
for reg in "$PLAIN" "$TLSREG"; do
  ref=$reg/pkgkit-selfcheck/busybox:amd64
  TAGS+=("$ref")
  docker tag pkgkit-selfcheck:buildx-amd64 "$ref"
  pushed=$(docker push "$ref" | sed -n 's/.*digest: \(sha256:[0-9a-f]*\).*/\1/p')
  [ -n "$pushed" ] || die "docker push $ref printed no digest"
  if [ "$reg" = "$PLAIN" ]; then opts=(--tls-verify=false); else opts=(--cert-dir "$CERTS/$reg" --authfile "$DOCKER_CONFIG/config.json"); fi
  raw=$(skopeo inspect --raw "${opts[@]}" "docker://$ref" | sha256sum | cut -d' ' -f1)
  [ "sha256:$raw" = "$pushed" ] || die "skopeo read $ref as sha256:$raw, docker pushed $pushed"
  docker image rm "$ref" >/dev/null
  docker pull -q "$reg/pkgkit-selfcheck/busybox@$pushed" >/dev/null
  TAGS+=("$reg/pkgkit-selfcheck/busybox@$pushed")
  echo "   $ref: $pushed (skopeo agrees, pulled back by digest)"
done
unset DOCKER_CONFIG
endstep

echo "selfcheck: OK"
