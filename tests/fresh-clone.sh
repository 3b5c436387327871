#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# First contact: the VM harness works from a fresh clone in the folders where
# a new user's clone lands. Clones this repository's HEAD (nothing outside
# the clone is needed) into a new folder under /root, puts
# two case scripts in a folder under /tmp, and runs the clone's own
# tests/vm/run on them. Both folders are replaced by tmpfs inside the guest,
# so the harness must share them explicitly. The cases check that the guest
# runs the clone's harness from the clone's path, that a script from outside
# the clone runs, and that the per-case clean-up of /tmp spares a shared
# folder. Cleans up after itself.
#
#   tests/fresh-clone.sh [KERNEL]     (default 6.12)
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
kernel=${1:-6.12}
base=${FRESH_CLONE_BASE:-/root}

work=$(mktemp -d "$base/bootseal-fresh.XXXXXX")
scripts=$(mktemp -d /tmp/bootseal-fresh-cases.XXXXXX)
trap 'rm -rf "$work" "$scripts"' EXIT
clone=$work/bootseal
git clone -q "$src" "$clone"
echo "fresh-clone: $clone (HEAD $(git -C "$clone" rev-parse --short HEAD)), cases in $scripts"

cat > "$scripts/a-first.sh" <<EOF
#!/bin/bash
. "\$BOOTSEAL_SRC/tests/vm/lib.sh"
[ "\$BOOTSEAL_SRC" = '$clone' ] || die "BOOTSEAL_SRC is \$BOOTSEAL_SRC, not the clone"
[ -f '$clone/tests/vm/guest.sh' ] || die "the clone is not visible in the guest"
grep -q '$clone/tests/vm/guest.sh' /proc/1/cmdline || die "the guest does not run the clone's guest.sh"
touch '$clone/x' 2>/dev/null && die "the clone is writable in the guest"
echo scratch > /tmp/scratch-from-a
touch /root/written-in-guest || die "/root is not writable scratch in the guest"
echo "clone seen at $clone"
EOF
cat > "$scripts/b-second.sh" <<EOF
#!/bin/bash
. "\$BOOTSEAL_SRC/tests/vm/lib.sh"
[ ! -e /tmp/scratch-from-a ] || die "/tmp was not emptied between cases"
[ -f '$scripts/a-first.sh' ] || die "the cases' folder under /tmp was removed between cases"
echo "the cases' folder survived the clean-up"
EOF
chmod +x "$scripts"/*.sh

out=$("$clone/tests/vm/run" --kernel "$kernel" --smp 1 --case-timeout 60 \
	"$scripts/a-first.sh" "$scripts/b-second.sh" 2>&1) && rc=0 || rc=$?
echo "$out" | sed 's/^/  /'
bad=0
grep -q '^PASS a-first' <<<"$out" || { echo "fresh-clone: FAIL: a clone under $base did not run"; bad=1; }
grep -q '^PASS b-second' <<<"$out" || { echo "fresh-clone: FAIL: a script under /tmp did not survive the clean-up"; bad=1; }
grep -q '^2 passed, 0 failed$' <<<"$out" || { echo "fresh-clone: FAIL: summary line"; bad=1; }
[ $rc -eq 0 ] || { echo "fresh-clone: FAIL: tests/vm/run exited $rc"; bad=1; }
if [ $bad -eq 0 ]; then echo "fresh-clone: 1 passed, 0 failed"; else echo "fresh-clone: 0 passed, 1 failed"; fi
exit $bad
