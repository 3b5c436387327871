#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make dkms-check: installation, proven on the host without touching it.
#
#  1. `make install DESTDIR=<scratch> PREFIX=/usr` installs exactly the expected
#     files (helper, man page, bash completion, udev rule, modules-load.d
#     entry, station unit and its example settings, firmware), each checked
#     for what it must do; `systemd-analyze verify` passes on the unit;
#  2. `make uninstall` with the same variables removes every one of them;
#  3. `make dkms-source` copies only the module sources, version baked in, and
#     `dkms build` succeeds for every installed kernel (6.1 and 6.12 at least)
#     in a throwaway DKMS tree; `make dkms-install` and `make dkms-uninstall`
#     work end to end in another (the host's /var/lib/dkms and /lib/modules
#     are not used). The modules are kept as build/dkms/<release>/bootseal.ko for
#     the VM case 90-dkms-load, which loads them.
set -euo pipefail

src=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$src"
tmp=$(mktemp -d "${TMPDIR:-/tmp}/bootseal-install.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
fails=0
failed=()

fail() { echo "FAIL $*"; fails=$((fails + 1)); failed+=("$*"); }
ok() { echo "ok   $*"; }
die() { echo "FAIL $*"; exit 1; }

# ---- 1. make install -------------------------------------------------------
root=$tmp/root
if ! make --no-print-directory install DESTDIR="$root" PREFIX=/usr > "$tmp/install.log" 2>&1; then
	tail -n 40 "$tmp/install.log"
	die "make install DESTDIR=$root PREFIX=/usr"
fi
ok "make install DESTDIR=... PREFIX=/usr"

expected=(usr/sbin/bootseal usr/share/man/man8/bootseal.8
	usr/share/bash-completion/completions/bootseal
	usr/lib/udev/rules.d/99-bootseal.rules usr/lib/modules-load.d/bootseal.conf
	'usr/lib/systemd/system/bootseal-station@.service' usr/share/bootseal/bootseal-station.conf.example
	usr/share/bootseal/blobs/SHA256SUMS)
[ -f blobs/README.md ] && expected+=(usr/share/bootseal/blobs/README.md)
while read -r _ f; do expected+=("usr/share/bootseal/blobs/${f#\*}"); done < blobs/SHA256SUMS
printf '%s\n' "${expected[@]}" | sort > "$tmp/want"
(cd "$root" && find . -type f -o -type l | sed 's,^\./,,' | sort) > "$tmp/have"
if diff -u "$tmp/want" "$tmp/have" > "$tmp/diff"; then
	ok "installed exactly the ${#expected[@]} expected files"
else
	cat "$tmp/diff"; fail "installed file list differs (- expected, + installed)"
fi

# The helper: executable, runs, and looks for firmware where it was installed.
b=$root/usr/sbin/bootseal
[ "$(stat -c %a "$b")" = 755 ] && ok "helper mode 0755" || fail "helper mode is $(stat -c %a "$b"), not 0755"
if out=$("$b" --version 2>&1) && grep -q '^bootseal ' <<<"$out"; then
	ok "bootseal --version: $(head -n1 <<<"$out")"
else
	fail "installed helper does not run: $out"
fi
if "$b" boot --help 2>&1 | grep -q '/usr/share/bootseal/blobs'; then
	ok "helper's default firmware directory is /usr/share/bootseal/blobs"
else
	fail "installed helper does not default to /usr/share/bootseal/blobs ($("$b" boot --help 2>&1 | grep -i firmware))"
fi

# The station unit: paths filled in, and systemd-analyze verify passes on an
# instance (with ExecStart pointed at the installed helper, the man page from
# the scratch root).
unit=$root/usr/lib/systemd/system/bootseal-station@.service
if grep -q '^ExecStart=/usr/sbin/bootseal flash --usbboot --loop' "$unit" && ! grep -q '@[A-Z]*@' "$unit"; then
	ok "station unit names /usr/sbin/bootseal and has no placeholders left"
else
	fail "station unit: ExecStart or placeholders wrong"
fi
if command -v systemd-analyze >/dev/null; then
	mkdir -p "$tmp/units"
	sed "s|^ExecStart=/usr/sbin/bootseal|ExecStart=$b|" "$unit" > "$tmp/units/bootseal-station@.service"
	if v=$(MANPATH=$root/usr/share/man systemd-analyze verify "$tmp/units/bootseal-station@line1.service" 2>&1); then
		ok "systemd-analyze verify bootseal-station@line1.service"
	else
		echo "$v"; fail "systemd-analyze verify of the station unit"
	fi
else
	echo "skip systemd-analyze verify: systemd-analyze not installed"
fi

# The firmware: intact, where the helper looks.
if (cd "$root/usr/share/bootseal/blobs" && sha256sum --quiet --strict -c SHA256SUMS) > "$tmp/sums" 2>&1; then
	ok "firmware matches SHA256SUMS ($(grep -c . blobs/SHA256SUMS) files)"
else
	cat "$tmp/sums"; fail "installed firmware does not match SHA256SUMS"
fi

# The man page: renders without warnings, documents every command and exit code.
man8=$root/usr/share/man/man8/bootseal.8
if w=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings=w -l "$man8" 2>&1 > "$tmp/man.txt") && [ -z "$w" ]; then
	ok "man page renders without warnings"
else
	echo "$w"; fail "man page has warnings"
fi
cmds=$("$b" help | sed -n 's/^  \([a-z]\+\) .*/\1/p')
[ -n "$cmds" ] || fail "could not read the command table from 'bootseal help'"
for c in $cmds; do
	grep -q "^\.SS \"\?$c\b" "$man8" || fail "man page has no section for the command '$c'"
done
codes=$(sed -n 's/^\s*BS_EXIT_[A-Z]* = \([0-9]\+\),.*/\1/p' userspace/helper.h)
[ -n "$codes" ] || fail "could not read enum bs_exit from userspace/helper.h"
exitsec=$(awk '/^\.SH "?EXIT STATUS/{on=1; next} /^\.SH/{on=0} on' "$man8")
for n in $codes; do
	if [ "$n" = 128 ]; then
		# BS_EXIT_SIGNAL is a base: 128 plus the signal (129, 130, 143).
		grep -q "128 plus the signal" <<<"$exitsec" && grep -q "^\.BR 129 \", \" 130 \", \" 143$" <<<"$exitsec" ||
			fail "man page EXIT STATUS does not document the signal exit codes 128 + N"
		continue
	fi
	grep -q "^\.B $n$" <<<"$exitsec" || fail "man page EXIT STATUS does not document exit code $n"
done
ok "man page documents commands: $(echo $cmds) and exit codes: $(echo $codes)"

# Bash completion: loads, completes commands, options and targets.
comp=$root/usr/share/bash-completion/completions/bootseal
complete_words() { # words... (the last one is being completed)
	bash -c '
		. "$1"; shift
		COMP_WORDS=("$@"); COMP_CWORD=$(( $# - 1 )); COMP_LINE="$*"; COMP_POINT=${#COMP_LINE}
		_bootseal bootseal "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD-1]}"
		printf "%s\n" "${COMPREPLY[@]}"' _ "$comp" "$@"
}
if bash -n "$comp" && bash -c '. "$1"; complete -p bootseal' _ "$comp" | grep -q _bootseal; then
	ok "bash completion loads and registers _bootseal"
else
	fail "bash completion does not load"
fi
got=$(complete_words bootseal "" | sort | tr '\n' ' ')
want=$(echo $cmds | tr ' ' '\n' | sort | tr '\n' ' ')
[ "$got" = "$want" ] && ok "completion: commands ($got)" || fail "completion of commands: got '$got', want '$want'"
complete_words bootseal flash --no- | grep -qx -- --no-verify && ok "completion: flash --no-<TAB> offers --no-verify" ||
	fail "completion: flash --no-<TAB> does not offer --no-verify"
complete_words bootseal boot --firmware "$src/blo" | grep -qx "$src/blobs" && ok "completion: boot --firmware completes directories" ||
	fail "completion: boot --firmware does not complete directories"

# udev rule and modules-load.d entry.
rule=$root/usr/lib/udev/rules.d/99-bootseal.rules
if grep -v '^#' "$rule" | grep -q 'KERNEL=="bootseal", SUBSYSTEM=="misc",.*MODE="0600"'; then
	ok "udev rule makes /dev/bootseal 0600 (the VM case 90-dkms-load applies it)"
else
	fail "udev rule does not set MODE=\"0600\" on the bootseal misc device"
fi
ml=$(grep -v -e '^#' -e '^$' "$root/usr/lib/modules-load.d/bootseal.conf")
[ "$ml" = bootseal ] && ok "modules-load.d/bootseal.conf loads bootseal" || fail "modules-load.d entry is '$ml'"

# ---- 2. make uninstall ------------------------------------------------------
if make --no-print-directory uninstall DESTDIR="$root" PREFIX=/usr > "$tmp/uninstall.log" 2>&1; then
	left=$(cd "$root" && find . -type f -o -type l)
	leftdirs=$(cd "$root" && find . -path ./usr/share/bootseal -o -path './usr/share/bootseal/*' | head -n 5)
	if [ -z "$left$leftdirs" ]; then ok "make uninstall removed every installed file"
	else echo "$left $leftdirs"; fail "make uninstall left files behind"; fi
else
	tail -n 20 "$tmp/uninstall.log"; fail "make uninstall"
fi

# ---- 3. DKMS ------------------------------------------------------------------
command -v dkms > /dev/null || die "dkms not installed (make deps)"
srctree=$tmp/src
make --no-print-directory dkms-source DKMS_SRCTREE="$srctree" > "$tmp/dkms-source.log" 2>&1 ||
	{ cat "$tmp/dkms-source.log"; die "make dkms-source"; }
d=$(ls -d "$srctree"/bootseal-*)
ver=${d##*/bootseal-}
(cd "$d" && find . -type f | sed 's,^\./,,' | sort) > "$tmp/dkms-have"
{ echo Kbuild; echo dkms.conf; ls module/*.c module/*.h module/uapi/*.h; } | sort > "$tmp/dkms-want"
if diff -u "$tmp/dkms-want" "$tmp/dkms-have"; then ok "dkms-source copies only the module sources ($(wc -l < "$tmp/dkms-want") files) to bootseal-$ver"
else fail "dkms-source file list differs"; fi
grep -qx "PACKAGE_VERSION=\"$ver\"" "$d/dkms.conf" && grep -qx "BOOTSEAL_VERSION ?= $ver" "$d/Kbuild" &&
	ok "version $ver baked into dkms.conf and Kbuild" || fail "version not baked into dkms.conf/Kbuild"

# BUILD_EXCLUSIVE_KERNEL: the supported kernels are the 6.1 and 6.12 series.
re=$(bash -c '. "$1"; echo "$BUILD_EXCLUSIVE_KERNEL"' _ "$d/dkms.conf")
for k in 6.1.0-56-amd64 6.1.140 6.12.117+deb12-amd64 6.12.117+deb12-rt-amd64 6.12.1; do
	[[ $k =~ $re ]] || fail "BUILD_EXCLUSIVE_KERNEL refuses supported $k"
done
for k in 5.10.0-30-amd64 6.0.12 6.2.1 6.6.13-amd64 6.10.1 6.11.0 6.13.2-amd64 6.16.0 7.1.0 16.1.0 6.120.1; do
	[[ $k =~ $re ]] && fail "BUILD_EXCLUSIVE_KERNEL accepts unsupported $k"
done
ok "BUILD_EXCLUSIVE_KERNEL accepts the 6.1 and 6.12 series and refuses 5.10, 6.0, 6.2, 6.6, 6.10, 6.13, 7.1"

dkmstree=$tmp/dkms
mkdir -p "$dkmstree"
hostdkms_before=$(ls -la /var/lib/dkms 2>&1 || true)
# Module signing (dkms signs when the kernel's sign-file exists) with a throwaway key.
export mok_signing_key=$tmp/mok.key mok_certificate=$tmp/mok.pub
dk=(dkms --dkmstree "$dkmstree" --sourcetree "$srctree")
"${dk[@]}" add -m bootseal -v "$ver" > "$tmp/dkms-add.log" 2>&1 || { cat "$tmp/dkms-add.log"; die "dkms add"; }
kernels=$(ls -d /usr/src/linux-headers-*-amd64 2>/dev/null | sed 's,.*/linux-headers-,,' | sort -V)
for want in 6.1 6.12; do
	grep -q "^$want\." <<<"$kernels" || fail "no linux-headers for a $want kernel (make deps)"
done
for k in $kernels; do
	log=$tmp/dkms-build-$k.log
	if ! "${dk[@]}" build -m bootseal -v "$ver" -k "$k" > "$log" 2>&1; then
		cat "$log"; tail -n 40 "$dkmstree/bootseal/$ver/build/make.log" 2>/dev/null || true
		fail "dkms build for $k"; continue
	fi
	ko=$dkmstree/bootseal/$ver/$k/x86_64/module/bootseal.ko
	[ -f "$ko" ] || ko=$(find "$dkmstree/bootseal/$ver/$k" -name 'bootseal.ko*' | head -n 1)
	[ -n "$ko" ] && [ -f "$ko" ] || { fail "dkms build for $k produced no bootseal.ko"; continue; }
	case "$ko" in *.xz) xz -dkf "$ko"; ko=${ko%.xz} ;; *.zst) zstd -qdf "$ko"; ko=${ko%.zst} ;; esac
	mver=$(modinfo -F version "$ko")
	magic=$(modinfo -F vermagic "$ko")
	[ "$mver" = "$ver" ] || fail "dkms module for $k has version '$mver', not '$ver'"
	[ "${magic%% *}" = "$k" ] || fail "dkms module for $k has vermagic '$magic'"
	mlog=$dkmstree/bootseal/$ver/$k/x86_64/log/make.log
	if [ ! -f "$mlog" ]; then
		fail "dkms build for $k left no make.log"
	elif grep -q 'warning:' "$mlog"; then
		grep 'warning:' "$mlog" | head; fail "dkms build for $k has warnings"
	fi
	signer=$(modinfo -F signer "$ko" || true)
	out=$src/build/dkms/$k
	mkdir -p "$out"
	cp "$ko" "$out/bootseal.ko"
	echo "$ver" > "$out/version"
	ok "dkms build for $k: bootseal.ko version $ver${signer:+, signed by '$signer'} -> build/dkms/$k/"
done
# The whole `make dkms-install` / `make dkms-uninstall` flow (add, build,
# install; run twice: re-runnable), in a second throwaway tree whose install
# tree stands in for /lib/modules (no depmod on the host).
k=$(tail -n 1 <<<"$kernels")
t2=$tmp/flow
mkdir -p "$t2/dkms" "$t2/inst/$k"
dk2="dkms --dkmstree $t2/dkms --sourcetree $t2/src --installtree $t2/inst --no-depmod"
for run in 1 2; do
	if ! make --no-print-directory dkms-install DKMS_SRCTREE="$t2/src" DKMS="$dk2" DKMS_KERNEL="$k" \
		> "$tmp/dkms-install-$run.log" 2>&1; then
		tail -n 30 "$tmp/dkms-install-$run.log"; fail "make dkms-install (run $run)"
	fi
done
if [ -f "$t2/inst/$k/updates/dkms/bootseal.ko" ] || [ -f "$t2/inst/$k/updates/dkms/bootseal.ko.xz" ]; then
	ok "make dkms-install (twice): add, build, install into updates/dkms/ for $k"
else
	fail "make dkms-install installed no module into $t2/inst/$k/updates/dkms"
fi
make --no-print-directory dkms-uninstall DKMS_SRCTREE="$t2/src" DKMS="$dk2" > "$tmp/dkms-uninstall.log" 2>&1 ||
	{ cat "$tmp/dkms-uninstall.log"; fail "make dkms-uninstall"; }
left=$(find "$t2/inst" "$t2/dkms" "$t2/src" -name 'bootseal*' 2>/dev/null)
[ -z "$left" ] && ok "make dkms-uninstall removed the module, the DKMS entry and the sources" ||
	{ echo "$left"; fail "make dkms-uninstall left files behind"; }

hostdkms_after=$(ls -la /var/lib/dkms 2>&1 || true)
[ "$hostdkms_before" = "$hostdkms_after" ] && ok "host /var/lib/dkms untouched" || fail "host /var/lib/dkms changed"

if [ $fails -eq 0 ]; then
	echo "install: all checks passed"
else
	printf 'FAIL %s\n' "${failed[@]}"
	echo "install: $fails checks failed"
	exit 1
fi
