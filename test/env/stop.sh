#!/usr/bin/env bash
# Stops what test/env/start.sh started, found by pidfiles: notary, the ssh/TLS remote engine, the
# registries, the remote builder engine, then dockerd. An engine that was already running before start.sh has no pidfile
# there and is left alone. binfmt_misc entries stay enabled; the CA, test credentials, registry data
# and the remote engine's images stay for the next start.
set -euo pipefail

STATE=${PKGKIT_STATE:-/var/tmp/pkgkit-testenv}
DOCKERD_PID=$STATE/dockerd.pid
REMOTE_PID=$STATE/remote-docker/dockerd.pid
REG_DIR=$STATE/registry

# stop_pid <pidfile> <comm> <label> <seconds>: TERM, wait, then KILL. Only signals the pid if it
# still is a <comm> (the pidfile may be stale and the pid reused).
stop_pid() {
  local pidfile=$1 comm=$2 label=$3 seconds=$4 pid
  pid=$(cat "$pidfile")
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != "$comm" ]; then
    echo "stop.sh: pid $pid from $pidfile is not a running $comm; removing stale pidfile"
    rm -f "$pidfile"
    return
  fi
  echo "stop.sh: stopping $label (pid $pid)"
  kill -TERM "$pid"
  for _ in $(seq 1 $((seconds * 5))); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    echo "stop.sh: $label (pid $pid) still running after ${seconds}s; sending SIGKILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

"$(dirname "${BASH_SOURCE[0]}")/notary.sh" stop
"$(dirname "${BASH_SOURCE[0]}")/remote-engines.sh" stop
for pidfile in "$REG_DIR"/*.pid; do
  [ -s "$pidfile" ] || continue
  stop_pid "$pidfile" docker-registry "registry $(basename "$pidfile" .pid)" 10
done
rm -f "$STATE/services.json"
[ ! -s "$REMOTE_PID" ] || stop_pid "$REMOTE_PID" dockerd "remote builder dockerd" 30

if [ ! -s "$DOCKERD_PID" ]; then
  echo "stop.sh: no dockerd started by start.sh ($DOCKERD_PID absent); nothing more to stop"
  exit 0
fi
# dockerd stops its containers (10 s grace each, in parallel) and its managed containerd first.
stop_pid "$DOCKERD_PID" dockerd dockerd 30
rm -f "$STATE/env.sh"
echo "stop.sh: stopped"
