#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Build the debug kernel for `make check-debug` from Debian's linux-source-6.12
# package: x86-64 defconfig, kvm_guest.config, then tests/debug/debug.config
# (KASAN, KFENCE, lockdep, atomic-sleep checks, kmemleak; the test drivers as
# modules). The result is cached outside the clone and reused while the
# source package and the fragment are unchanged:
#
#   $BOOTSEAL_CACHE/debug-kernel/<key>/
#       src/          the configured, built tree (KDIR for the module)
#       vmlinuz       the kernel image
#       root/lib/modules/<release>/   the modules, as the guest sees them
#       release       the kernel release string
#
# Prints the cache folder on the last line. BOOTSEAL_CACHE defaults to
# /var/cache/bootseal.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=${BOOTSEAL_CACHE:-/var/cache/bootseal}/debug-kernel
tarball=$(ls /usr/src/linux-source-6.12.tar.xz 2>/dev/null || true)
[ -n "$tarball" ] || {
	echo "build-kernel: /usr/src/linux-source-6.12.tar.xz is missing: apt-get install linux-source-6.12" >&2
	exit 2
}
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
key=$( { echo "$srcver"; cat "$here/debug.config" "$0"; } | sha256sum | cut -c1-16)
dir=$cache/$key
if [ -s "$dir/release" ] && [ -s "$dir/vmlinuz" ]; then
	echo "build-kernel: cached, $(cat "$dir/release") (linux-source-6.12 $srcver)" >&2
	echo "$dir"
	exit 0
fi

mkdir -p "$cache"
# An unfinished build of the same source resumes (kbuild rebuilds only what
# the configuration change touches); anything else is of no further use.
partial=$(ls -d "$cache"/*.tmp 2>/dev/null | head -n 1)
if [ -n "$partial" ] && [ -f "$partial/src/Makefile" ] && [ "$(cat "$partial/srcver" 2>/dev/null)" = "$srcver" ]; then
	[ "$partial" = "$dir.tmp" ] || mv "$partial" "$dir.tmp"
	echo "build-kernel: resuming the unfinished build in $dir.tmp" >&2
fi
find "$cache" -mindepth 1 -maxdepth 1 -type d ! -name "$key" ! -name "$key.tmp" -exec rm -rf {} +
t0=$(date +%s)
if [ ! -f "$dir.tmp/src/Makefile" ]; then
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	echo "build-kernel: unpacking linux-source-6.12 $srcver" >&2
	tar -xJf "$tarball" -C "$dir.tmp"
	mv "$dir.tmp"/linux-source-6.12 "$dir.tmp/src"
	echo "$srcver" > "$dir.tmp/srcver"
fi
cd "$dir.tmp/src"
make -s x86_64_defconfig
scripts/kconfig/merge_config.sh -m .config kernel/configs/kvm_guest.config "$here/debug.config" > ../merge.log
make -s olddefconfig
# Every option of the fragment must have survived the dependency resolution.
bad=0
while IFS= read -r line; do
	case "$line" in CONFIG_*=*) ;; *) continue ;; esac
	opt=${line%%=*} want=${line#*=}
	if [ "$want" = n ]; then
		grep -qE "^$opt=[ym]" .config && { echo "build-kernel: $opt is still set" >&2; bad=1; }
	else
		grep -qxF "$line" .config || { echo "build-kernel: $line did not stick: $(grep "^$opt=\|^# $opt " .config)" >&2; bad=1; }
	fi
done < "$here/debug.config"
[ $bad -eq 0 ] || exit 1
echo "build-kernel: building on $(nproc) CPUs (log: $dir.tmp/build.log)" >&2
if ! make -j"$(nproc)" bzImage modules > ../build.log 2>&1; then
	tail -n 40 ../build.log >&2
	exit 1
fi
make -s INSTALL_MOD_PATH="$dir.tmp/root" modules_install > /dev/null
make -s kernelrelease > "$dir.tmp/release"
cp arch/x86/boot/bzImage "$dir.tmp/vmlinuz"
rel=$(cat "$dir.tmp/release")
rm -f "$dir.tmp/root/lib/modules/$rel/build" "$dir.tmp/root/lib/modules/$rel/source"
cd /
mv "$dir.tmp" "$dir"
echo "build-kernel: built $rel in $(( $(date +%s) - t0 )) s" >&2
echo "$dir"
