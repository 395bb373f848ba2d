#!/usr/bin/env bash
# Starts what pkgkit's tests need (run as root after install.sh), idempotently:
#   - a Docker engine: reuses one that already answers, else starts dockerd on the default socket
#   - qemu-aarch64 via binfmt_misc, so arm64 images build and run on this amd64 machine
# and writes $PKGKIT_STATE/env.sh for tests and CI to `source`. Stays fast: no builds here
# (test/env/selfcheck.sh does those). test/env/stop.sh stops what this started.
set -euo pipefail

STATE=${PKGKIT_STATE:-/var/tmp/pkgkit-testenv}
DEFAULT_HOST=unix:///var/run/docker.sock
DOCKERD_PID=$STATE/dockerd.pid
DOCKERD_LOG=$STATE/dockerd.log
DOCKERD_WAIT=${PKGKIT_DOCKERD_WAIT:-60}   # seconds
BINFMT=/proc/sys/fs/binfmt_misc

step() { STEP_NAME=$1; STEP_T0=$EPOCHREALTIME; echo "== $1"; }
endstep() { printf 'TIMING %-60s %6.2fs\n' "$STEP_NAME" "$(elapsed "$STEP_T0")"; }
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }
die() { echo "start.sh: $*" >&2; exit 1; }
pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

T0=$EPOCHREALTIME
[ "$(id -u)" = 0 ] || die "run as root"
mkdir -p "$STATE"

step "Docker engine"
if docker info >/dev/null 2>&1; then
  # Someone else's engine (DOCKER_HOST, or the default socket): use it, never stop it.
  DOCKER_HOST_USED=${DOCKER_HOST:-$DEFAULT_HOST}
  if pid_alive "$DOCKERD_PID"; then echo "   already running (started by start.sh)"; else echo "   using existing engine"; fi
else
  [ -z "${DOCKER_HOST:-}" ] || die "DOCKER_HOST=$DOCKER_HOST does not answer 'docker info'; unset it to start a local dockerd"
  command -v dockerd >/dev/null || die "dockerd not found; run test/env/install.sh first"
  if pid_alive "$DOCKERD_PID"; then
    die "dockerd (pid $(cat "$DOCKERD_PID")) runs but does not answer; see $DOCKERD_LOG or run test/env/stop.sh"
  fi
  rm -f "$DOCKERD_PID"
  echo "   starting dockerd (log: $DOCKERD_LOG)"
  # setsid + closed stdio: dockerd outlives this script and does not hold the caller's pipes open.
  setsid dockerd --host "$DEFAULT_HOST" --pidfile "$DOCKERD_PID" </dev/null >"$DOCKERD_LOG" 2>&1 &
  spawned=$!
  deadline=$((SECONDS + DOCKERD_WAIT))
  until docker -H "$DEFAULT_HOST" info >/dev/null 2>&1; do
    problem=
    kill -0 "$spawned" 2>/dev/null || problem="dockerd exited"
    ((SECONDS < deadline)) || problem="dockerd did not answer 'docker info' within ${DOCKERD_WAIT}s"
    if [ -n "$problem" ]; then
      tail -n 30 "$DOCKERD_LOG" >&2 || true
      kill "$spawned" 2>/dev/null || true
      die "$problem (log above: $DOCKERD_LOG)"
    fi
    sleep 0.2
  done
  # dockerd writes the pidfile itself; record ours if it has not yet.
  [ -s "$DOCKERD_PID" ] || echo "$spawned" > "$DOCKERD_PID"
  DOCKER_HOST_USED=$DEFAULT_HOST
fi
docker -H "$DOCKER_HOST_USED" version \
  --format '   client {{.Client.Version}} (API {{.Client.APIVersion}}) / daemon {{.Server.Version}} (API {{.Server.APIVersion}})'
endstep

step "binfmt_misc: qemu-aarch64"
mountpoint -q "$BINFMT" || mount -t binfmt_misc binfmt_misc "$BINFMT" \
  || die "cannot mount binfmt_misc on $BINFMT (needs root on a kernel with CONFIG_BINFMT_MISC)"
if [ -e "$BINFMT/qemu-aarch64" ]; then
  # Registered but switched off (update-binfmts --enable would not switch it back on).
  grep -qx enabled "$BINFMT/qemu-aarch64" || echo 1 > "$BINFMT/qemu-aarch64"
else
  update-binfmts --enable qemu-aarch64 >/dev/null 2>&1 || true
fi
grep -qsx enabled "$BINFMT/qemu-aarch64" \
  || die "qemu-aarch64 is not enabled in $BINFMT (is qemu-user-static installed? run test/env/install.sh)"
# F (fix binary): the kernel opens the interpreter now, so it also works inside containers/chroots.
grep -q '^flags: .*F' "$BINFMT/qemu-aarch64" \
  || die "qemu-aarch64 in $BINFMT lacks the F flag (arm64 RUN steps would fail inside containers);" \
         "re-register it: echo -1 > $BINFMT/qemu-aarch64 && update-binfmts --enable qemu-aarch64"
sed -n 's/^interpreter /   interpreter /p; s/^flags: /   flags: /p' "$BINFMT/qemu-aarch64"
endstep

cat > "$STATE/env.sh" <<EOF
# Written by test/env/start.sh; source it before running tests.
export PKGKIT_STATE=$(printf %q "$STATE")
export DOCKER_HOST=$(printf %q "$DOCKER_HOST_USED")
EOF
echo "wrote $STATE/env.sh"
printf 'TIMING %-60s %6.2fs\n' "start.sh total" "$(elapsed "$T0")"
