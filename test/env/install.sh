#!/usr/bin/env bash
# Installs what the pkgkit test environment needs on Debian 12 (run as root). Idempotent: a second
# run only checks. State (private apt lists, downloaded .debs) lives under $PKGKIT_STATE.
#
#   test/env/install.sh                          install everything (Debian packages, docker buildx, cosign)
#   test/env/install.sh busybox-debs <dest-dir>  download bookworm busybox-static .debs (amd64, arm64)
#
# Packages that bookworm lacks (docker-buildx, cosign) or other architectures' packages (busybox-static:arm64)
# come from a private apt configuration: own sources, lists and cache under $PKGKIT_STATE/apt, same
# mirror as the machine's own sources. The machine's apt state is never touched by it.
set -euo pipefail

STATE=${PKGKIT_STATE:-/var/tmp/pkgkit-testenv}
APT_DIR=$STATE/apt
DEB_DIR=$STATE/debs
PLUGIN_DIR=/usr/local/lib/docker/cli-plugins
COSIGN=/usr/local/bin/cosign
PACKAGES=(docker.io git busybox-static qemu-user-static binfmt-support jq curl ca-certificates
          docker-registry skopeo apache2-utils openssl notary
          openssh-server iproute2   # the ssh:// remote engine (test/env/remote-engines.sh)
          xz-utils)   # xz: unpacks the real linuxkit binary the LinuxKit oracle tests compare with

source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The Debian mirror this machine already uses: first non-security URI of its own apt sources
# (deb822 *.sources or one-line *.list). PKGKIT_DEBIAN_MIRROR overrides.
debian_mirror() {
  if [ -n "${PKGKIT_DEBIAN_MIRROR:-}" ]; then echo "$PKGKIT_DEBIAN_MIRROR"; return; fi
  local uri
  uri=$( { grep -hs '^URIs:' /etc/apt/sources.list.d/*.sources | awk '{print $2}'
           grep -hs '^deb ' /etc/apt/sources.list /etc/apt/sources.list.d/*.list \
             | sed -E 's/^deb +(\[[^]]*\] +)?//' | awk '{print $1}'
         } | grep -v security | head -1 )
  [ -n "$uri" ] || die "no Debian mirror found in /etc/apt/sources.list*; set PKGKIT_DEBIAN_MIRROR"
  echo "$uri"
}

# apt-get wrapped to use only the private configuration.
private_apt() {
  apt-get -q -o Dir::Etc::SourceList=/dev/null -o "Dir::Etc::SourceParts=$APT_DIR/sources.list.d" \
    -o Dir::Etc::Preferences=/dev/null -o "Dir::Etc::PreferencesParts=$APT_DIR/preferences.d" \
    -o "Dir::State::Lists=$APT_DIR/lists" -o "Dir::Cache=$APT_DIR/cache" \
    -o Dir::State::Status=/dev/null -o APT::Sandbox::User=root \
    -o APT::Architectures::=amd64 -o APT::Architectures::=arm64 "$@"
}

# Writes the private sources (bookworm amd64+arm64, trixie amd64) and refreshes their lists when
# missing, older than a day, or when the sources changed.
private_apt_update() {
  mkdir -p "$APT_DIR"/{sources.list.d,preferences.d,lists/partial,cache/archives/partial}
  local mirror sources new key=/usr/share/keyrings/debian-archive-keyring.gpg
  mirror=$(debian_mirror)
  sources=$APT_DIR/sources.list.d/pkgkit.sources
  new=$(printf 'Types: deb\nURIs: %s\nSuites: %s\nComponents: main\nArchitectures: %s\nSigned-By: %s\n\n' \
          "$mirror" bookworm "amd64 arm64" "$key" "$mirror" trixie amd64 "$key")
  if [ "$new" != "$(cat "$sources" 2>/dev/null)" ]; then
    printf '%s\n' "$new" > "$sources"
    rm -f "$APT_DIR/lists/updated"
  fi
  if [ -z "$(find "$APT_DIR/lists/updated" -mmin -1440 2>/dev/null)" ]; then
    echo "   private apt update ($mirror: bookworm amd64+arm64, trixie amd64)"
    private_apt update -qq >/dev/null
    touch "$APT_DIR/lists/updated"
  fi
}

# download_debs <dest-dir> <pkg:arch/suite>...: .debs land in <dest-dir>; already present ones are kept.
download_debs() {
  local dest=$1; shift
  mkdir -p "$dest"
  local spec name arch
  for spec in "$@"; do
    name=${spec%%:*}; arch=${spec#*:}; arch=${arch%%/*}
    if compgen -G "$dest/${name}_*_${arch}.deb" >/dev/null; then echo "   cached: $name:$arch"; continue; fi
    private_apt_update
    (cd "$dest" && private_apt download -qq "$spec" >/dev/null) \
      || die "could not download $spec with the private apt config in $APT_DIR"
    echo "   downloaded: $(cd "$dest" && ls "${name}"_*_"${arch}".deb)"
  done
}

install_debian_packages() {
  step "Debian packages (installs only missing ones)"
  local missing=() p
  for p in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
  done
  if ((${#missing[@]})); then
    echo "   installing: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "   all present"
  fi
  endstep
}

# cosign, the outside verifier of Sigstore signatures: bookworm has none, so take the binary out of
# trixie's cosign .deb (2.5), as for buildx.
install_cosign() {
  step "cosign ($COSIGN)"
  if [ -x "$COSIGN" ] && "$COSIGN" version >/dev/null 2>&1; then
    echo "   present"
    endstep; return
  fi
  download_debs "$DEB_DIR" cosign:amd64/trixie
  local unpack=$STATE/unpack debs=("$DEB_DIR"/cosign_*_amd64.deb)
  rm -rf "$unpack"; mkdir -p "$unpack"
  dpkg -x "${debs[-1]}" "$unpack"
  install -D -m 0755 "$unpack/usr/bin/cosign" "$COSIGN"
  rm -rf "$unpack"
  "$COSIGN" version >/dev/null 2>&1 || die "cosign does not run after installing $COSIGN"
  echo "   installed from $(basename "${debs[-1]}")"
  endstep
}

# docker buildx: bookworm has none, so take the plugin binary out of trixie's docker-buildx .deb.
install_buildx() {
  step "docker buildx plugin ($PLUGIN_DIR)"
  if [ -x "$PLUGIN_DIR/docker-buildx" ] && docker buildx version >/dev/null 2>&1; then
    echo "   present: $(docker buildx version)"
    endstep; return
  fi
  download_debs "$DEB_DIR" docker-buildx:amd64/trixie
  local unpack=$STATE/unpack debs=("$DEB_DIR"/docker-buildx_*_amd64.deb)
  rm -rf "$unpack"; mkdir -p "$unpack"
  dpkg -x "${debs[-1]}" "$unpack"
  install -D -m 0755 "$unpack/usr/libexec/docker/cli-plugins/docker-buildx" "$PLUGIN_DIR/docker-buildx"
  rm -rf "$unpack"
  docker buildx version || die "docker buildx does not run after installing $PLUGIN_DIR/docker-buildx"
  endstep
}

T0=$EPOCHREALTIME
case "${1:-all}" in
  all)
    [ "$(id -u)" = 0 ] || die "run as root"
    install_debian_packages
    install_buildx
    install_cosign
    printf 'TIMING %-60s %6.2fs\n' "install.sh total" "$(elapsed "$T0")"
    ;;
  busybox-debs)
    [ $# -eq 2 ] || die "usage: $0 busybox-debs <dest-dir>"
    step "busybox-static .debs (bookworm amd64, arm64) -> $2"
    download_debs "$2" busybox-static:amd64/bookworm busybox-static:arm64/bookworm
    endstep
    ;;
  *) die "usage: $0 [all | busybox-debs <dest-dir>]" ;;
esac
