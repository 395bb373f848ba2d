#!/usr/bin/env bash
# Remote engines reached over the network, for `--builders arm64=ssh://...` and `tcp://...` with
# mutual TLS: one dockerd in a network namespace of its own, behind two doors on one address
# ($ADDR, the namespace's end of a veth pair; the host has $HOST_ADDR):
#   - tcp://$ADDR:$TLS_PORT, --tlsverify: only clients with a certificate of the project's CA
#   - ssh://pkgkit@$ADDR:$SSH_PORT: an sshd (key authentication only) whose user runs
#     `docker system dial-stdio` against that dockerd's socket (docker's ssh transport)
# Its keys and certificates are made here at start-up under $DIR, never in the repository:
#   tls/client/{ca,cert,key}.pem   a client certificate of the CA (DOCKER_CERT_PATH layout)
#   tls/wrong/{ca,cert,key}.pem    one of another CA (tests of the refused certificate)
#   ssh/config                     client config: the key, known_hosts with the host key, no agent
#   ssh/bin/ssh                    `ssh -F ssh/config`: put ssh/bin first on PATH so docker uses it
#
#   test/env/remote-engines.sh start   start unless running; writes $DIR/service.json
#   test/env/remote-engines.sh stop    stop what `start` started; remove the namespace
set -euo pipefail

STATE=${PKGKIT_STATE:-/var/tmp/pkgkit-testenv}
PKI=$STATE/pki
DIR=$STATE/remote-engines
NETNS=${PKGKIT_REMOTE_NETNS:-pkgkit-remote}
HOST_IF=pkgkit-rem0
NS_IF=pkgkit-rem1
HOST_ADDR=${PKGKIT_REMOTE_HOST_ADDR:-10.231.0.1}
ADDR=${PKGKIT_REMOTE_ADDR:-10.231.0.2}
TLS_PORT=2376
SSH_PORT=2222
SSH_USER=pkgkit
WAIT=${PKGKIT_DOCKERD_WAIT:-60}   # seconds

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
# nsenter, not `ip netns exec`: that one remounts /sys, which hides the cgroups dockerd needs.
in_ns() { nsenter --net="/run/netns/$NETNS" "$@"; }

# sign <name> <dir> <ca dir> <extensions>: <dir>/{key,cert}.pem signed by <ca dir>/ca.{crt,key}.
sign() {
  local name=$1 dir=$2 ca=$3 ext=$4
  mkdir -p "$dir"
  openssl req -newkey rsa:2048 -nodes -subj "/CN=$name" -keyout "$dir/key.pem" -out "$dir/req.csr" 2>/dev/null
  printf '%s\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\n' "$ext" > "$dir/ext"
  openssl x509 -req -in "$dir/req.csr" -CA "$ca/ca.crt" -CAkey "$ca/ca.key" -CAcreateserial -days 3650 \
    -extfile "$dir/ext" -out "$dir/cert.pem" 2>/dev/null
  cp "$ca/ca.crt" "$dir/ca.pem"
  rm -f "$dir/req.csr" "$dir/ext"
  chmod 600 "$dir/key.pem"
}

make_tls() {
  if openssl verify -CAfile "$PKI/ca.crt" "$DIR/tls/server/cert.pem" "$DIR/tls/client/cert.pem" >/dev/null 2>&1 \
     && [ -s "$DIR/tls/wrong/cert.pem" ]; then return; fi
  rm -rf "$DIR/tls"; mkdir -p "$DIR/tls/other-ca"
  sign "$ADDR" "$DIR/tls/server" "$PKI" "subjectAltName=IP:$ADDR
extendedKeyUsage=serverAuth"
  sign pkgkit-client "$DIR/tls/client" "$PKI" "extendedKeyUsage=clientAuth"
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=pkgkit-other-ca -keyout "$DIR/tls/other-ca/ca.key" \
    -out "$DIR/tls/other-ca/ca.crt" -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  sign pkgkit-client "$DIR/tls/wrong" "$DIR/tls/other-ca" "extendedKeyUsage=clientAuth"
  # The wrong client trusts the right server (ca.pem): only its own certificate is wrong.
  cp "$PKI/ca.crt" "$DIR/tls/wrong/ca.pem"
}

make_ssh() {
  local s=$DIR/ssh
  mkdir -p "$s/bin" "$s/home"
  [ -s "$s/host_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C pkgkit-remote-host -f "$s/host_ed25519"
  [ -s "$s/id_ed25519" ] || ssh-keygen -q -t ed25519 -N '' -C pkgkit-tests -f "$s/id_ed25519"
  # The user docker's ssh transport logs in as: in the docker group (the dockerd's socket), no password.
  id -u "$SSH_USER" >/dev/null 2>&1 || useradd --system --no-create-home --home-dir "$s/home" --shell /bin/sh "$SSH_USER"
  usermod -a -G docker "$SSH_USER"
  # "*": no password, and not "!" (locked), which sshd without PAM refuses even a key.
  usermod -p '*' "$SSH_USER"
  install -m 0644 "$s/id_ed25519.pub" "$s/authorized_keys"
  cat > "$s/sshd_config" <<CFG
ListenAddress $ADDR:$SSH_PORT
HostKey $s/host_ed25519
PidFile $s/sshd.pid
AuthorizedKeysFile $s/authorized_keys
AllowUsers $SSH_USER
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin no
UsePAM no
# The keys live under $STATE, below the world-writable /var/tmp that StrictModes rejects.
StrictModes no
X11Forwarding no
AllowTcpForwarding no
# docker's ssh transport runs \`docker system dial-stdio\`, which reads DOCKER_HOST.
SetEnv DOCKER_HOST=unix://$DIR/docker.sock
LogLevel ERROR
CFG
  printf '[%s]:%s %s\n' "$ADDR" "$SSH_PORT" "$(cut -d' ' -f1-2 "$s/host_ed25519.pub")" > "$s/known_hosts"
  cat > "$s/config" <<CFG
Host $ADDR
  Port $SSH_PORT
  User $SSH_USER
  IdentityFile $s/id_ed25519
  IdentitiesOnly yes
  IdentityAgent none
  UserKnownHostsFile $s/known_hosts
  GlobalKnownHostsFile /dev/null
  StrictHostKeyChecking yes
  BatchMode yes
CFG
  # OpenSSH reads ~/.ssh from the passwd entry, not $HOME: the tests' ssh is this wrapper on PATH.
  printf '#!/bin/sh\nexec /usr/bin/ssh -F %q "$@"\n' "$s/config" > "$s/bin/ssh"
  chmod 755 "$s/bin/ssh"
}

make_netns() {
  [ -e "/run/netns/$NETNS" ] || ip netns add "$NETNS"
  if ! ip link show "$HOST_IF" >/dev/null 2>&1; then
    ip link add "$HOST_IF" type veth peer name "$NS_IF" netns "$NETNS"
    ip addr add "$HOST_ADDR/30" dev "$HOST_IF"
    ip link set "$HOST_IF" up
    in_ns ip addr add "$ADDR/30" dev "$NS_IF"
    in_ns ip link set "$NS_IF" up
    in_ns ip link set lo up
  fi
}

start() {
  [ "$(id -u)" = 0 ] || die "run as root"
  command -v sshd >/dev/null || [ -x /usr/sbin/sshd ] || die "sshd not found; run test/env/install.sh (openssh-server)"
  [ -s "$PKI/ca.key" ] || die "$PKI/ca.key missing; run test/env/start.sh"
  mkdir -p "$DIR"
  make_tls
  make_ssh
  make_netns
  if runs_as "$DIR/dockerd.pid" dockerd; then
    echo "   dockerd: already running (pid $(cat "$DIR/dockerd.pid"))"
  else
    rm -f "$DIR/dockerd.pid" "$DIR/docker.sock"
    echo '{}' > "$DIR/daemon.json"
    setsid nsenter --net="/run/netns/$NETNS" dockerd --host "unix://$DIR/docker.sock" --host "tcp://$ADDR:$TLS_PORT" \
      --tlsverify --tlscacert "$PKI/ca.crt" --tlscert "$DIR/tls/server/cert.pem" --tlskey "$DIR/tls/server/key.pem" \
      --config-file "$DIR/daemon.json" --data-root "$DIR/data" --exec-root "$DIR/exec" --pidfile "$DIR/dockerd.pid" \
      </dev/null >"$DIR/dockerd.log" 2>&1 &
    await_start $! "$DIR/dockerd.pid" "$DIR/dockerd.log" "$WAIT" "remote dockerd" docker --host "unix://$DIR/docker.sock" info
    echo "   dockerd: started (pid $(cat "$DIR/dockerd.pid"), log $DIR/dockerd.log)"
  fi
  if runs_as "$DIR/ssh/sshd.pid" sshd; then
    echo "   sshd: already running (pid $(cat "$DIR/ssh/sshd.pid"))"
  else
    rm -f "$DIR/ssh/sshd.pid"
    mkdir -p /run/sshd   # sshd's privilege separation directory
    # sshd -D stays in the foreground (so its pid is ours); it writes its own pidfile too.
    setsid nsenter --net="/run/netns/$NETNS" /usr/sbin/sshd -D -e -f "$DIR/ssh/sshd_config" </dev/null >"$DIR/sshd.log" 2>&1 &
    echo $! > "$DIR/ssh/sshd.pid"
    await_start $! "$DIR/ssh/sshd.pid" "$DIR/sshd.log" 15 "sshd" \
      env PATH="$DIR/ssh/bin:$PATH" docker --host "ssh://$SSH_USER@$ADDR:$SSH_PORT" version
    echo "   sshd: started on $ADDR:$SSH_PORT (pid $(cat "$DIR/ssh/sshd.pid"), log $DIR/sshd.log)"
  fi
  DOCKER_CERT_PATH=$DIR/tls/client DOCKER_TLS_VERIFY=1 docker --host "tcp://$ADDR:$TLS_PORT" version --format '   tls: daemon {{.Server.Version}}' \
    || die "the TLS engine does not answer a client with a certificate of the CA"
  jq -n --arg ssh "ssh://$SSH_USER@$ADDR:$SSH_PORT" --arg sshPath "$DIR/ssh/bin" --arg sshConfig "$DIR/ssh/config" \
    --arg tls "tcp://$ADDR:$TLS_PORT" --arg certs "$DIR/tls/client" --arg wrong "$DIR/tls/wrong" \
    --arg socket "unix://$DIR/docker.sock" \
    '{ssh: {host: $ssh, path: $sshPath, config: $sshConfig}, tls: {host: $tls, certs: $certs, wrongCerts: $wrong}, socket: $socket}' \
    > "$DIR/service.json"
  echo "   wrote $DIR/service.json"
}

# stop_pid <pidfile> <comm> <label>: TERM, then KILL after 30 s, if it still is a <comm>.
stop_pid() {
  local pidfile=$1 comm=$2 label=$3 pid
  [ -s "$pidfile" ] || return 0
  pid=$(cat "$pidfile")
  if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]; then
    echo "remote-engines.sh: stopping $label (pid $pid)"
    kill -TERM "$pid"
    for _ in $(seq 1 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

stop() {
  stop_pid "$DIR/ssh/sshd.pid" sshd sshd
  stop_pid "$DIR/dockerd.pid" dockerd "remote dockerd (ssh, tls)"
  rm -f "$DIR/service.json"
  ip link del "$HOST_IF" 2>/dev/null || true
  [ ! -e "/run/netns/$NETNS" ] || ip netns del "$NETNS"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) die "usage: $0 start|stop" ;;
esac
