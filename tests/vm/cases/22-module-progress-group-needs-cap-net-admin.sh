#!/bin/bash
# The "progress" multicast group names every session's process, disk and
# counters, so joining it needs CAP_NET_ADMIN, like GET: user nobody and
# root without CAP_NET_ADMIN get EPERM from NETLINK_ADD_MEMBERSHIP (and
# the helper's monitor says why), root with it receives a session's events.
. "$BOOTSEAL_SRC/tests/vm/lib.sh"
load_bootseal
trap 'rc=$?; set +e; for j in $(jobs -p); do kill $j; done; wait; rmmod bootseal brd 2>/dev/null; exit $rc' EXIT
modprobe brd rd_nr=1 rd_size=8192 max_part=0
N="$TOOLS/nlwatch"

join_refused() {	# WHO CMD...: the listener must be refused with EPERM
	local who=$1 rc=0; shift
	"$@" "$N" listen --timeout 20 > /tmp/ev 2> /tmp/err &
	local pid=$! i
	for i in $(seq 100); do
		grep -q listening /tmp/ev 2>/dev/null || ! kill -0 $pid 2>/dev/null && break
		sleep 0.1
	done
	"$TOOLS/bsctl" attach /dev/ram0 head=4K write 0 8K commit status state=SEALED > /dev/null ||
		die "flash while $who listens"
	wait $pid || rc=$?
	cat /tmp/ev /tmp/err
	grep -q '^STATE ' /tmp/ev && die "$who received bootseal events"
	[ $rc = 2 ] || die "$who: nlwatch exit $rc, expected 2 (join refused)"
	grep -q 'Unable to join group progress: Operation not permitted' /tmp/err ||
		die "$who: joining the group did not fail with EPERM"
}

note "user nobody"
join_refused nobody setpriv --reuid=65534 --regid=65534 --clear-groups
note "root without CAP_NET_ADMIN"
join_refused "root without CAP_NET_ADMIN" setpriv --inh-caps=-all --bounding-set=-net_admin

note "the helper's monitor without CAP_NET_ADMIN"
rc=0
setpriv --inh-caps=-all --bounding-set=-net_admin "$BOOTSEAL" monitor > /tmp/out 2> /tmp/err || rc=$?
cat /tmp/out /tmp/err
[ $rc != 0 ] || die "monitor without CAP_NET_ADMIN succeeded"
grep -q 'CAP_NET_ADMIN' /tmp/err || die "monitor does not say that it needs CAP_NET_ADMIN"

note "root"
"$N" listen --finals 1 --timeout 60 > /tmp/ev &
pid=$!
for i in $(seq 100); do grep -q listening /tmp/ev 2>/dev/null && break; sleep 0.1; done
"$TOOLS/bsctl" attach /dev/ram0 head=4K write 0 8K commit status state=SEALED > /dev/null ||
	die "flash while root listens"
wait $pid || die "root did not receive the final event"
grep -q '^STATE .* state=SEALED ' /tmp/ev || die "root: no SEALED event"
unload_bootseal
rmmod brd
check_dmesg
