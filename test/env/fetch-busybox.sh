#!/usr/bin/env bash
# Writes static busybox binaries for both build platforms, from Debian bookworm's busybox-static:
#   <dest-dir>/busybox-amd64   <dest-dir>/busybox-arm64
# The .debs are fetched (once) by install.sh's private apt config into $PKGKIT_STATE/debs.
set -euo pipefail

[ $# -eq 1 ] || { echo "usage: $0 <dest-dir>" >&2; exit 2; }
DEST=$1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
STATE=${PKGKIT_STATE:-/var/tmp/pkgkit-testenv}
DEB_DIR=$STATE/debs

# ELF e_machine (bytes 18-19, little endian) per Debian arch: x86-64 = 62, AArch64 = 183.
declare -A ELF_MACHINE=([amd64]=62 [arm64]=183)

"$HERE/install.sh" busybox-debs "$DEB_DIR"
mkdir -p "$DEST"
unpack=$(mktemp -d)
trap 'rm -rf "$unpack"' EXIT
for arch in amd64 arm64; do
  debs=("$DEB_DIR"/busybox-static_*_"$arch".deb)
  dpkg -x "${debs[-1]}" "$unpack"
  install -m 0755 "$unpack/bin/busybox" "$DEST/busybox-$arch"
  machine=$(od -An -tu2 -j18 -N2 "$DEST/busybox-$arch" | tr -d ' ')
  [ "$machine" = "${ELF_MACHINE[$arch]}" ] \
    || { echo "fetch-busybox.sh: $DEST/busybox-$arch is not an $arch ELF (e_machine=$machine)" >&2; exit 1; }
done

# Running the arm64 binary needs qemu-aarch64 via binfmt_misc (test/env/start.sh enables it).
if grep -qsx enabled /proc/sys/fs/binfmt_misc/qemu-aarch64; then
  out=$("$DEST/busybox-arm64" uname -m)
  [ "$out" = aarch64 ] || { echo "fetch-busybox.sh: busybox-arm64 uname -m printed '$out', want aarch64" >&2; exit 1; }
  echo "busybox-arm64 runs via qemu: uname -m = $out"
fi
ls -l "$DEST/busybox-amd64" "$DEST/busybox-arm64"
