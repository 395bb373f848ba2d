#!/usr/bin/env bash
# Starts what pkgkit's tests need (run as root after install.sh), idempotently:
#   - a Docker engine: reuses one that already answers, else starts dockerd on the default socket
#   - a second, separate engine on its own socket ($PKGKIT_STATE/remote-docker.sock), standing in
#     for a remote builder (`--builders arm64=unix://...`)
#   - qemu-aarch64 via binfmt_misc, so arm64 images build and run on this amd64 machine
#   - three distribution registries (docker-registry 2.8): plain HTTP, HTTP + htpasswd basic auth,
#     TLS (own CA) + htpasswd; the CA and test credentials are generated once under $PKGKIT_STATE
#   - notary-server + notary-signer with memory storage (test/env/notary.sh), for signing tests
#   - a dockerd reached over ssh:// (sshd, key only) and tcp:// (mutual TLS), in a network namespace
#     of its own (test/env/remote-engines.sh)
# and writes $PKGKIT_STATE/env.sh for tests and CI to `source`, and $PKGKIT_STATE/services.json
# (registry addresses, CA, credentials, the remote engine's endpoint, the notary URL) for test/services.ts. Stays fast: no builds here
# (test/env/selfcheck.sh does those). test/env/stop.sh stops what this started.
set -euo pipefail

STATE=${PKGKIT_STATE:-/var/tmp/pkgkit-testenv}
DEFAULT_HOST=unix:///var/run/docker.sock
DOCKERD_PID=$STATE/dockerd.pid
DOCKERD_LOG=$STATE/dockerd.log
DOCKERD_WAIT=${PKGKIT_DOCKERD_WAIT:-60}   # seconds
REMOTE_DIR=$STATE/remote-docker           # the remote builder engine's data, exec root, pidfile, log
REMOTE_HOST=unix://$STATE/remote-docker.sock
BINFMT=/proc/sys/fs/binfmt_misc
PKI=$STATE/pki
REG_DIR=$STATE/registry
CERTS_DIR=$STATE/certs.d                  # certs.d layout (<host:port>/ca.crt), for skopeo and tests
REG_PLAIN=127.0.0.1:${PKGKIT_REGISTRY_PORT:-5000}          # plain HTTP, no auth, delete enabled
REG_AUTH=127.0.0.1:${PKGKIT_REGISTRY_AUTH_PORT:-5001}      # plain HTTP + htpasswd basic auth
REG_TLS=127.0.0.1:${PKGKIT_REGISTRY_TLS_PORT:-5443}        # TLS (own CA) + htpasswd basic auth
REG_WAIT=${PKGKIT_REGISTRY_WAIT:-15}       # seconds

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# wait_for_dockerd <pid> <host> <pidfile> <log>: until the dockerd just spawned answers
# `docker info` on <host> (see await_start).
wait_for_dockerd() {
  local spawned=$1 host=$2 pidfile=$3 log=$4
  await_start "$spawned" "$pidfile" "$log" "$DOCKERD_WAIT" "dockerd on $host" docker -H "$host" info
  # dockerd writes the pidfile itself; record ours if it has not yet.
  [ -s "$pidfile" ] || echo "$spawned" > "$pidfile"
}

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
  wait_for_dockerd $! "$DEFAULT_HOST" "$DOCKERD_PID" "$DOCKERD_LOG"
  DOCKER_HOST_USED=$DEFAULT_HOST
fi
docker -H "$DOCKER_HOST_USED" version \
  --format '   client {{.Client.Version}} (API {{.Client.APIVersion}}) / daemon {{.Server.Version}} (API {{.Server.APIVersion}})'
endstep

step "remote builder engine: $REMOTE_HOST"
# Its own socket, data root, exec root (so its own managed containerd), pidfile, daemon.json, and
# its own network namespace: docker0 and iptables rules of its own, never the main engine's (dockerd
# 20.10 started with --bridge=none deletes docker0 in its namespace). Like a real remote machine it
# cannot reach this host's loopback registries.
remote() { docker --host "$REMOTE_HOST" "$@"; }
if pid_alive "$REMOTE_DIR/dockerd.pid"; then
  remote info >/dev/null 2>&1 || die "remote dockerd (pid $(cat "$REMOTE_DIR/dockerd.pid")) runs but does not answer on $REMOTE_HOST; see $REMOTE_DIR/dockerd.log or run test/env/stop.sh"
  echo "   already running (pid $(cat "$REMOTE_DIR/dockerd.pid"))"
else
  command -v unshare >/dev/null || die "unshare not found (util-linux)"
  mkdir -p "$REMOTE_DIR"
  rm -f "$REMOTE_DIR/dockerd.pid" "$STATE/remote-docker.sock"
  echo '{}' > "$REMOTE_DIR/daemon.json"
  setsid unshare --net dockerd --host "$REMOTE_HOST" --config-file "$REMOTE_DIR/daemon.json" \
    --data-root "$REMOTE_DIR/data" --exec-root "$REMOTE_DIR/exec" --pidfile "$REMOTE_DIR/dockerd.pid" \
    </dev/null >"$REMOTE_DIR/dockerd.log" 2>&1 &
  wait_for_dockerd $! "$REMOTE_HOST" "$REMOTE_DIR/dockerd.pid" "$REMOTE_DIR/dockerd.log"
  echo "   started (pid $(cat "$REMOTE_DIR/dockerd.pid"), log $REMOTE_DIR/dockerd.log)"
fi
remote version --format '   daemon {{.Server.Version}}, data root '"$REMOTE_DIR/data"
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

step "PKI: own CA + server certificate for IP:127.0.0.1, DNS:localhost ($PKI)"
if [ -s "$PKI/ca.crt" ] && [ -s "$PKI/server.key" ] && openssl verify -CAfile "$PKI/ca.crt" "$PKI/server.crt" >/dev/null 2>&1; then
  echo "   present"
else
  command -v openssl >/dev/null || die "openssl not found; run test/env/install.sh first"
  rm -rf "$PKI"; mkdir -p "$PKI"
  (
    cd "$PKI"
    openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=pkgkit-test-ca -keyout ca.key -out ca.crt \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj /CN=127.0.0.1 -keyout server.key -out server.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n' > server.ext
    openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile server.ext -out server.crt 2>/dev/null
    rm -f server.csr server.ext
    chmod 600 ca.key server.key
  )
  openssl verify -CAfile "$PKI/ca.crt" "$PKI/server.crt" >/dev/null || die "the generated server certificate does not verify"
  echo "   created"
fi
# The engine reads certs.d on every pull: it trusts the TLS registry without a restart.
install -D -m 0644 "$PKI/ca.crt" "/etc/docker/certs.d/$REG_TLS/ca.crt"
install -D -m 0644 "$PKI/ca.crt" "$CERTS_DIR/$REG_TLS/ca.crt"
endstep

step "registries: plain $REG_PLAIN, basic auth $REG_AUTH, TLS + basic auth $REG_TLS"
command -v docker-registry >/dev/null || die "docker-registry not found; run test/env/install.sh first"
mkdir -p "$REG_DIR"
# Random test credentials, generated once, kept only under $STATE (never in the repository).
CREDS=$REG_DIR/credentials
if [ ! -s "$CREDS" ]; then
  (umask 077; printf 'pkgkit-%s\n%s\n' "$(openssl rand -hex 4)" "$(openssl rand -hex 16)" > "$CREDS")
fi
REG_USER=$(sed -n 1p "$CREDS"); REG_PASS=$(sed -n 2p "$CREDS")
# htpasswd -i reads the password from stdin, so it never shows in a process list.
if [ ! -s "$REG_DIR/htpasswd" ] || ! printf %s "$REG_PASS" | htpasswd -iv "$REG_DIR/htpasswd" "$REG_USER" >/dev/null 2>&1; then
  printf %s "$REG_PASS" | htpasswd -iBc "$REG_DIR/htpasswd" "$REG_USER" 2>/dev/null
fi
# curl reads the credentials from a config on stdin, also kept out of argv.
curl_creds() { printf 'user = "%s:%s"\n' "$REG_USER" "$REG_PASS" | curl -K - "$@"; }
# start_registry <name> <addr> <extra yaml> <probe command...>
start_registry() {
  local name=$1 addr=$2 extra=$3 pidfile=$REG_DIR/$1.pid log=$REG_DIR/$1.log spawned
  shift 3
  cat > "$REG_DIR/$name.yml" <<YML
version: 0.1
log: {level: warn, accesslog: {disabled: true}}
storage:
  filesystem: {rootdirectory: $REG_DIR/$name-data}
  delete: {enabled: true}
http:
  addr: $addr
  secret: pkgkit-test-$name
$extra
YML
  if runs_as "$pidfile" docker-registry; then
    "$@" >/dev/null 2>&1 || die "registry $name (pid $(cat "$pidfile")) runs but does not answer on $addr; see $log or run test/env/stop.sh"
    echo "   $name: already running on $addr (pid $(cat "$pidfile"))"
    return
  fi
  rm -f "$pidfile"
  port_busy "${addr##*:}" && die "port ${addr##*:} is in use by another process; set PKGKIT_REGISTRY_PORT, PKGKIT_REGISTRY_AUTH_PORT or PKGKIT_REGISTRY_TLS_PORT"
  setsid docker-registry serve "$REG_DIR/$name.yml" </dev/null >"$log" 2>&1 &
  spawned=$!
  echo "$spawned" > "$pidfile"
  await_start "$spawned" "$pidfile" "$log" "$REG_WAIT" "registry $name on $addr" "$@"
  echo "   $name: started on $addr (pid $spawned, log $log)"
}
HTPASSWD_AUTH="auth: {htpasswd: {realm: pkgkit-test, path: $REG_DIR/htpasswd}}"
start_registry plain "$REG_PLAIN" "" curl -sf "http://$REG_PLAIN/v2/"
start_registry auth "$REG_AUTH" "$HTPASSWD_AUTH" curl_creds -sf "http://$REG_AUTH/v2/"
start_registry tls "$REG_TLS" "  tls: {certificate: $PKI/server.crt, key: $PKI/server.key}
$HTPASSWD_AUTH" curl_creds -sf --cacert "$PKI/ca.crt" "https://$REG_TLS/v2/"
# Without credentials the authenticated ones must refuse.
for url in "http://$REG_AUTH/v2/" "https://$REG_TLS/v2/"; do
  code=$(curl -s -o /dev/null -w '%{http_code}' --cacert "$PKI/ca.crt" "$url")
  [ "$code" = 401 ] || die "$url answered $code without credentials, expected 401"
done
# The password reaches jq through its environment, not argv.
(umask 077; PKGKIT_REG_PASS=$REG_PASS jq -n --arg plain "$REG_PLAIN" --arg auth "$REG_AUTH" --arg tls "$REG_TLS" \
  --arg ca "$PKI/ca.crt" --arg certsDir "$CERTS_DIR" --arg username "$REG_USER" \
  --arg htpasswd "$REG_DIR/htpasswd" --arg tlsCert "$PKI/server.crt" --arg tlsKey "$PKI/server.key" \
  --arg remoteEngine "$REMOTE_HOST" \
  '{registries: {plain: $plain, auth: $auth, tls: $tls}, ca: $ca, certsDir: $certsDir,
    username: $username, password: $ENV.PKGKIT_REG_PASS, htpasswd: $htpasswd, tlsCert: $tlsCert, tlsKey: $tlsKey,
    remoteEngine: $remoteEngine}' \
  > "$STATE/services.json")
echo "   wrote $STATE/services.json"
endstep

step "notary-server + notary-signer (memory storage, TLS from $PKI)"
"$(dirname "${BASH_SOURCE[0]}")/notary.sh" start
endstep

step "remote engines: ssh:// and tcp:// with mutual TLS (one dockerd in its own network namespace)"
"$(dirname "${BASH_SOURCE[0]}")/remote-engines.sh" start
endstep

cat > "$STATE/env.sh" <<EOF
# Written by test/env/start.sh; source it before running tests.
export PKGKIT_STATE=$(printf %q "$STATE")
export DOCKER_HOST=$(printf %q "$DOCKER_HOST_USED")
EOF
echo "wrote $STATE/env.sh"
printf 'TIMING %-60s %6.2fs\n' "start.sh total" "$(elapsed "$T0")"
