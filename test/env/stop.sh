#!/usr/bin/env bash
# Stops the dockerd that test/env/start.sh started (found by its pidfile). An engine that was already
# running before start.sh has no pidfile there and is left alone. binfmt_misc entries stay enabled.
set -euo pipefail

STATE=${PKGKIT_STATE:-/var/tmp/pkgkit-testenv}
DOCKERD_PID=$STATE/dockerd.pid

if [ ! -s "$DOCKERD_PID" ]; then
  echo "stop.sh: no dockerd started by start.sh ($DOCKERD_PID absent); nothing to stop"
  exit 0
fi
pid=$(cat "$DOCKERD_PID")
# Only signal the pid if it still is a dockerd (the pidfile may be stale and the pid reused).
if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" != dockerd ]; then
  echo "stop.sh: pid $pid from $DOCKERD_PID is not a running dockerd; removing stale pidfile"
  rm -f "$DOCKERD_PID"
  exit 0
fi

echo "stop.sh: stopping dockerd (pid $pid)"
kill -TERM "$pid"
# dockerd stops its containers (10 s grace each, in parallel) and its managed containerd first.
for _ in $(seq 1 150); do
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.2
done
if kill -0 "$pid" 2>/dev/null; then
  echo "stop.sh: dockerd (pid $pid) still running after 30s; sending SIGKILL" >&2
  kill -KILL "$pid" 2>/dev/null || true
fi
rm -f "$DOCKERD_PID" "$STATE/env.sh"
echo "stop.sh: stopped"
