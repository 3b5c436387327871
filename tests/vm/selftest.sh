#!/bin/bash
# Self-test of the VM harness: a failing script, a guest kernel panic, a WARN
# and a hang must each be reported as failures; passing and skipped cases as
# such; a VM that dies is restarted for the cases it did not reach.
set -uo pipefail
src=$(cd "$(dirname "$0")/../.." && pwd)
st=$src/tests/vm/selftest
kernels=${*:-6.1 6.12}
bad=0
ok() { echo "selftest ok: $*"; }
no() { echo "selftest FAILED: $*"; bad=1; }

# Bad input gets a clear error before any VM starts.
tmpd=$(mktemp -d)
trap 'rm -rf "$tmpd"' EXIT
printf '#!/bin/bash\nexit 0\n' > "$tmpd/noexec.sh"
printf '#!/bin/bash\nexit 0\n' > "$tmpd/noread.sh"; chmod 0311 "$tmpd/noread.sh"
# expect_refusal WHAT PATTERN ARGS...: tests/vm/run ARGS exits 2 printing PATTERN.
expect_refusal() {
	local what=$1 pat=$2 o rc; shift 2
	o=$("$src/tests/vm/run" "$@" 2>&1) && rc=0 || rc=$?
	if [ $rc -eq 2 ] && grep -q -- "$pat" <<<"$o"; then ok "refused: $what"
	else no "$what: exit $rc, said: $o"; fi
}
expect_refusal "a missing script" "no such script: $tmpd/none.sh" "$tmpd/none.sh"
expect_refusal "a script that is not executable" "is not executable" "$tmpd/noexec.sh"
if [ "$(id -u)" -ne 0 ]; then
	expect_refusal "a script that is not readable" "cannot read the script" "$tmpd/noread.sh"
fi
expect_refusal "a directory as a script" "is a directory" "$tmpd/"
expect_refusal "an unknown case name" "no case in tests/vm/cases/ matches 'no-such-case'" no-such-case
expect_refusal "a kernel that is not a version" "'jessie' is not a kernel" --kernel jessie
expect_refusal "a kernel that is not installed" "apt-get install linux-image-5.10-amd64" --kernel 5.10
expect_refusal "a missing --ko" "no such readable module file" --ko "$tmpd/none.ko"

for k in $kernels; do
	kver=$(ls /boot/vmlinuz-"$k".* 2>/dev/null | sed "s,.*/vmlinuz-,," | grep -v -- "-rt-" | sort -V | tail -n 1)
	[ -n "$kver" ] || { no "no kernel $k installed"; continue; }
	d=$src/build/selftest/$kver
	mkdir -p "$d" && cp -u "$st/warnmod.c" "$st/Kbuild" "$d/"
	make -s -C "/usr/src/linux-headers-$kver" M="$d" modules > "$d/build.log" 2>&1 ||
		{ cat "$d/build.log"; no "warnmod build for $kver"; continue; }

	out=$("$src/tests/vm/run" --kernel "$k" --case-timeout 20 \
		"$st/cases/pass.sh" "$st/cases/fail.sh" "$st/cases/skip.sh" "$st/cases/panic.sh" \
		"$st/cases/warn.sh" "$st/cases/hang.sh" "$st/cases/after-crash.sh" 2>&1)
	rc=$?
	echo "$out" | sed "s/^/  [$k] /"
	[ $rc -ne 0 ] && ok "$k: failures give a non-zero exit" || no "$k: exit status 0 despite failures"
	grep -q '^PASS pass' <<<"$out" && ok "$k: passing case" || no "$k: passing case not reported"
	grep -q '^FAIL fail (exit 1' <<<"$out" && ok "$k: failing script" || no "$k: failing script not reported"
	grep -q '^SKIP skip' <<<"$out" && ok "$k: skipped case" || no "$k: skip not reported"
	grep -q '^FAIL panic: the guest died: .*Kernel panic' <<<"$out" && ok "$k: panic" || no "$k: panic not reported"
	grep -q '^FAIL warn: the guest died: .*panic_on_warn' <<<"$out" && ok "$k: WARN" || no "$k: WARN not reported"
	grep -q '^FAIL hang: timed out' <<<"$out" && ok "$k: hang" || no "$k: hang not reported as timeout"
	grep -q "^PASS after-crash" <<<"$out" && grep -q "restarting the VM" <<<"$out" && ok "$k: VM restarted after a crash" || no "$k: no restart"
	grep -q '^2 passed, 4 failed, 1 skipped$' <<<"$out" && ok "$k: summary line" || no "$k: summary line"
done
[ $bad -eq 0 ] && echo "harness self-test: all good" || echo "harness self-test: FAILED"
exit $bad
