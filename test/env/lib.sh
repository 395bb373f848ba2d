# shellcheck shell=bash
# Shared by the test environment's scripts: `source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"`.
# Messages name the script that sourced this.

ME=$(basename "$0")
die() { echo "$ME: $*" >&2; exit 1; }

# step "<what>" … endstep: a heading, then the step's time as a TIMING line.
step() { STEP_NAME=$1; STEP_T0=$EPOCHREALTIME; echo "== $1"; }
endstep() { printf 'TIMING %-60s %6.2fs\n' "$STEP_NAME" "$(elapsed "$STEP_T0")"; }
elapsed() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.2f", b - a }'; }

# pid_alive <pidfile>: it names a live process.
pid_alive() { [ -s "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
# runs_as <pidfile> <command>: it names a live process of that command (not a reused pid).
runs_as() { [ -s "$1" ] && [ "$(cat "/proc/$(cat "$1")/comm" 2>/dev/null)" = "$2" ]; }
port_busy() { ss -Hltn "sport = :$1" | grep -q .; }

# await_start <pid> <pidfile> <log> <seconds> <what> <probe...>: until <probe> succeeds for the
# process just spawned as <pid>. If it exits, or does not answer within <seconds>, prints the
# log's tail, kills it, removes <pidfile> and dies.
await_start() {
  local spawned=$1 pidfile=$2 log=$3 wait=$4 what=$5 problem deadline
  shift 5
  deadline=$((SECONDS + wait))
  until "$@" >/dev/null 2>&1; do
    problem=
    kill -0 "$spawned" 2>/dev/null || problem="$what exited"
    ((SECONDS < deadline)) || problem="$what did not answer within ${wait}s"
    if [ -n "$problem" ]; then
      tail -n 30 "$log" >&2 || true
      kill "$spawned" 2>/dev/null || true
      rm -f "$pidfile"
      die "$problem (log above: $log)"
    fi
    sleep 0.1
  done
}
