#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make blobs: fetch the Raspberry Pi usbboot firmware set published in the npm
# package node-raspberrypi-usbboot (see blobs/README.md), check every file
# against blobs/SHA256SUMS and install blobs/raspberrypi/ and blobs/cm4/.
#
# Idempotent: when the installed files already match SHA256SUMS nothing is
# fetched. Nothing is installed unless every file matches. Exit status 0 on
# success, 1 on any failure (with a message on stderr saying what failed).
set -euo pipefail

PKG=node-raspberrypi-usbboot
VER=1.1.12
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
sums="$here/SHA256SUMS"

die() { echo "blobs: $*" >&2; exit 1; }

[ -r "$sums" ] || die "Unable to read $sums: missing"
command -v sha256sum >/dev/null || die "Unable to check the firmware: sha256sum not found (coreutils)"
command -v tar >/dev/null || die "Unable to unpack the firmware: tar not found"

# Already installed and intact?
if (cd "$here" && sha256sum --quiet --strict -c SHA256SUMS) >/dev/null 2>&1; then
	echo "blobs: $PKG@$VER already installed in $here (all files match SHA256SUMS)"
	exit 0
fi

command -v npm >/dev/null ||
	die "Unable to fetch $PKG@$VER: npm not found (install the Debian package 'npm', or put the files listed in blobs/SHA256SUMS into $here by hand)"

tmp=$(mktemp -d "${TMPDIR:-/tmp}/bootseal-blobs.XXXXXX")
trap 'rm -rf "$tmp"' EXIT

echo "blobs: fetching $PKG@$VER with npm pack"
if ! (cd "$tmp" && npm pack --silent "$PKG@$VER" >pack.out 2>pack.err); then
	cat "$tmp/pack.err" >&2 || true
	die "Unable to fetch $PKG@$VER: 'npm pack' failed (is the npm registry reachable? check 'npm config get registry' and proxy settings)"
fi
tgz=$(ls "$tmp"/*.tgz 2>/dev/null | head -n 1)
[ -n "$tgz" ] || die "Unable to fetch $PKG@$VER: npm pack produced no tarball"

mkdir "$tmp/x"
tar -xzf "$tgz" -C "$tmp/x" --no-same-owner --no-same-permissions ||
	die "Unable to unpack $(basename "$tgz"): tar failed"
src="$tmp/x/package/blobs"
[ -d "$src" ] || die "Unable to find blobs/ in $(basename "$tgz"): unexpected package layout"

# Every file named in SHA256SUMS must be present and match.
if ! (cd "$src" && sha256sum --strict -c "$sums") >"$tmp/check.out" 2>&1; then
	grep -v ': OK$' "$tmp/check.out" >&2 || true
	die "Unable to verify $PKG@$VER: files differ from blobs/SHA256SUMS (nothing installed)"
fi
# ... and the package must hold nothing that SHA256SUMS does not list.
extra=$(cd "$src" && find raspberrypi cm4 -type f | sort |
	while read -r f; do grep -q "  $f\$" "$sums" || echo "$f"; done)
[ -z "$extra" ] || die "Unable to verify $PKG@$VER: files not listed in SHA256SUMS: $extra"

# Install: replace the two directories as a whole.
for d in raspberrypi cm4; do
	rm -rf "$here/$d.new"
	cp -R "$src/$d" "$here/$d.new"
	chmod -R u+rwX,go+rX,go-w "$here/$d.new"
	rm -rf "$here/$d"
	mv "$here/$d.new" "$here/$d"
done
(cd "$here" && sha256sum --quiet --strict -c SHA256SUMS) ||
	die "Unable to install the firmware: files in $here changed while installing"
n=$(grep -c . "$sums")
echo "blobs: installed $n files of $PKG@$VER into $here/raspberrypi and $here/cm4 (all match SHA256SUMS)"
