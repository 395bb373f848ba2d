#!/usr/bin/env bash
# notary-server + notary-signer (Debian's `notary` package) for the signing tests, memory storage,
# TLS from the project's CA under $PKGKIT_STATE/pki (start.sh creates it):
#   test/env/notary.sh start   start both unless running; add {notary: {url, ca}} to services.json
#   test/env/notary.sh stop    stop what `start` started (pidfiles)
# Memory storage: trust data lives as long as the servers, so the two start and stop together.
# The server reaches the signer over mutual TLS with a client certificate of the same CA.
set -euo pipefail

STATE=${PKGKIT_STATE:-/var/tmp/pkgkit-testenv}
PKI=$STATE/pki
DIR=$STATE/notary
SERVER_ADDR=127.0.0.1:${PKGKIT_NOTARY_PORT:-4443}
SIGNER_ADDR=127.0.0.1:${PKGKIT_NOTARY_SIGNER_PORT:-7899}
WAIT=${PKGKIT_NOTARY_WAIT:-15}   # seconds

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
health() { curl -sf --cacert "$PKI/ca.crt" "https://$SERVER_ADDR/_notary_server/health"; }

# run <name> <config> <probe...>: start `<name> -config <config>` unless its pidfile names a live one.
run() {
  local name=$1 config=$2 pidfile=$DIR/$1.pid log=$DIR/$1.log spawned
  shift 2
  if runs_as "$pidfile" "$name"; then echo "   $name: already running (pid $(cat "$pidfile"))"; return; fi
  rm -f "$pidfile"
  setsid "$name" -config "$config" </dev/null >"$log" 2>&1 &
  spawned=$!
  echo "$spawned" > "$pidfile"
  await_start "$spawned" "$pidfile" "$log" "$WAIT" "$name" "$@"
  echo "   $name: started (pid $spawned, log $log)"
}

start() {
  command -v notary-server >/dev/null || die "notary-server not found; run test/env/install.sh (Debian package notary)"
  [ -s "$PKI/ca.crt" ] && [ -s "$PKI/ca.key" ] || die "$PKI/ca.crt missing; run test/env/start.sh"
  mkdir -p "$DIR"
  if ! openssl verify -CAfile "$PKI/ca.crt" "$DIR/client.crt" >/dev/null 2>&1; then
    (
      cd "$DIR"
      openssl req -newkey rsa:2048 -nodes -subj /CN=notary-server -keyout client.key -out client.csr 2>/dev/null
      printf 'basicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=clientAuth\n' > client.ext
      openssl x509 -req -in client.csr -CA "$PKI/ca.crt" -CAkey "$PKI/ca.key" -CAcreateserial -days 3650 -extfile client.ext -out client.crt 2>/dev/null
      rm -f client.csr client.ext
      chmod 600 client.key
    )
  fi
  cat > "$DIR/signer.json" <<JSON
{ "server": { "grpc_addr": "$SIGNER_ADDR", "tls_cert_file": "$PKI/server.crt", "tls_key_file": "$PKI/server.key",
              "client_ca_file": "$PKI/ca.crt" },
  "logging": { "level": "warn" }, "storage": { "backend": "memory" } }
JSON
  cat > "$DIR/server.json" <<JSON
{ "server": { "http_addr": "$SERVER_ADDR", "tls_cert_file": "$PKI/server.crt", "tls_key_file": "$PKI/server.key" },
  "trust_service": { "type": "remote", "hostname": "${SIGNER_ADDR%:*}", "port": "${SIGNER_ADDR##*:}", "key_algorithm": "ecdsa",
                     "tls_ca_file": "$PKI/ca.crt", "tls_client_cert": "$DIR/client.crt", "tls_client_key": "$DIR/client.key" },
  "logging": { "level": "warn" }, "storage": { "backend": "memory" } }
JSON
  # A fresh signer under a running server would lose the server's keys: restart both together.
  if runs_as "$DIR/notary-signer.pid" notary-signer && ! runs_as "$DIR/notary-server.pid" notary-server; then stop; fi
  if ! runs_as "$DIR/notary-signer.pid" notary-signer && runs_as "$DIR/notary-server.pid" notary-server; then stop; fi
  local name addr
  for name in notary-signer:"$SIGNER_ADDR" notary-server:"$SERVER_ADDR"; do
    addr=${name#*:}; name=${name%%:*}
    if port_busy "${addr##*:}" && ! runs_as "$DIR/$name.pid" "$name"; then
      die "port ${addr##*:} ($name) is in use by another process; set PKGKIT_NOTARY_PORT / PKGKIT_NOTARY_SIGNER_PORT"
    fi
  done
  run notary-signer "$DIR/signer.json" port_busy "${SIGNER_ADDR##*:}"
  run notary-server "$DIR/server.json" health
  health >/dev/null || die "notary-server on $SERVER_ADDR does not answer its health check; see $DIR/notary-server.log"
  # Also in a file of its own, which a start.sh rewriting services.json leaves alone.
  local services=$STATE/services.json tmp
  [ -s "$services" ] || die "$services missing; run test/env/start.sh"
  jq -n --arg url "https://$SERVER_ADDR" --arg ca "$PKI/ca.crt" '{url: $url, ca: $ca}' > "$DIR/service.json"
  tmp=$(mktemp "$STATE/services.XXXXXX")
  (umask 077; jq --slurpfile n "$DIR/service.json" '.notary = $n[0]' "$services" > "$tmp")
  mv "$tmp" "$services"
  echo "   notary: https://$SERVER_ADDR (CA $PKI/ca.crt) in $services and $DIR/service.json"
}

stop() {
  local name pidfile pid
  for name in notary-server notary-signer; do
    pidfile=$DIR/$name.pid
    [ -s "$pidfile" ] || continue
    pid=$(cat "$pidfile")
    if runs_as "$pidfile" "$name"; then
      echo "notary.sh: stopping $name (pid $pid)"
      kill -TERM "$pid"
      for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
  done
  rm -f "$DIR/service.json"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  *) die "usage: $0 start|stop" ;;
esac
