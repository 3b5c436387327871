#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make checkpatch: the kernel's own style checker on module/.
#
# Debian's kernel headers do not ship scripts/checkpatch.pl; the kernel source
# package does (linux-source-6.12, a dependency of `make check`). The script and
# the two data files it reads are taken out of that tarball once, into
# build/checkpatch/. CHECKPATCH=/path/to/checkpatch.pl overrides.
#
# module/compat.h is the one place for kernel differences, so there (and only
# there) the version tests checkpatch warns about are the point:
# LINUX_VERSION_CODE and CONSTANT_COMPARISON (it takes LINUX_VERSION_CODE for
# a constant on the left) are ignored for that file alone.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
cd "$src"
cp=${CHECKPATCH:-}
if [ -z "$cp" ]; then
	d=build/checkpatch
	cp=$d/scripts/checkpatch.pl
	if [ ! -x "$cp" ]; then
		tarball=$(ls /usr/src/linux-source-*.tar.xz 2>/dev/null | sort -V | tail -n 1 || true)
		if [ -z "$tarball" ]; then
			echo "checkpatch: no /usr/src/linux-source-*.tar.xz (apt-get install linux-source-6.12)" >&2
			exit 2
		fi
		top=$(basename "$tarball" .tar.xz)
		echo "  EXTRACT checkpatch.pl from $tarball"
		rm -rf "$d.tmp" && mkdir -p "$d.tmp"
		tar -xJf "$tarball" -C "$d.tmp" --strip-components=1 \
			"$top/scripts/checkpatch.pl" "$top/scripts/spelling.txt" \
			"$top/scripts/const_structs.checkpatch"
		rm -rf "$d" && mv "$d.tmp" "$d"
	fi
fi
rc=0
run() {
	local out
	out=$("$cp" --no-tree --terse --show-types "$@" 2>&1 | grep -v '^total:' | grep -v '^$' || true)
	if [ -n "$out" ]; then
		echo "$out"
		rc=1
	fi
}
for f in module/*.c module/*.h module/uapi/*.h; do
	case $f in
	module/compat.h) run --ignore LINUX_VERSION_CODE,CONSTANT_COMPARISON -f "$f" ;;
	*) run -f "$f" ;;
	esac
done
if [ $rc -eq 0 ]; then
	echo "checkpatch: module/ clean ($(ls module/*.[ch] module/uapi/*.h | wc -l) files)"
else
	echo "checkpatch: module/ has findings (above)" >&2
fi
exit $rc
