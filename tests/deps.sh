#!/bin/sh
# Install every build and test dependency from Debian packages.
# Idempotent; when everything is present it only runs dpkg-query.
set -eu

PKGS="build-essential pkg-config git kmod
linux-image-amd64 linux-headers-amd64 linux-image-6.12-amd64 linux-headers-6.12-amd64
qemu-system-x86 busybox-static
libnl-genl-3-dev libnl-3-dev libusb-1.0-0-dev libudev-dev liblzma-dev libzstd-dev
zlib1g-dev libbz2-dev libarchive-dev libssl-dev libxml2-dev libcurl4-openssl-dev libdevmapper-dev libsystemd-dev
dkms sparse linux-source-6.1 linux-source-6.12 clang-format cppcheck clang libclang-rt-14-dev
bmap-tools dosfstools mtools e2fsprogs fdisk parted util-linux dmsetup udev
xz-utils zstd bzip2 gzip zip unzip jq time python3"

missing=""
for p in $PKGS; do
	s=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$s" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done
# npm fetches the usbboot firmware; any npm will do (the machine's own, or Debian's).
command -v npm >/dev/null 2>&1 || missing="$missing npm"
[ -z "$missing" ] && { echo "deps: all installed"; exit 0; }

echo "deps: installing:$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
# shellcheck disable=SC2086
$SUDO apt-get install -y -q --no-install-recommends $missing
