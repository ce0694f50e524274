#!/bin/bash
# Fault injection on the debug kernel: failslab and fail_page_alloc during
# fio verify runs.  I/O errors are allowed; crashes, kernel warnings (the
# VM runner checks the log) and damage to data written before are not;
# with injection off, writes succeed again.
#
# Aim: 6.1 offers require-start/-end (failures only for call chains
# through the module's text) on everything but x86-64 (lib/Kconfig.debug:
# FAULT_INJECTION_STACKTRACE_FILTER depends on !X86_64).  task-filter does
# the job here: zram does its work in the submitting task, so marking fio's
# job processes (make-it-fail) fails allocations on our write path.
#
# Two phases:
#  1. Every page allocation of a marked job that cannot sleep fails
#     (ignore-gfp-wait): that is exactly the pool's GFP_NOWAIT try under the
#     per-CPU stream, so every growing write takes the GFP_NOIO way round;
#     nothing else fails, so fio's verify must pass in full.
#  2. A bounded number of any of its page and slab allocations fail: the
#     NOIO fallback and huge-page allocations too, so some writes fail
#     (and some of fio's own page faults and io_submit calls, which fio
#     and the kernel survive).  A bound, not a rate: at a steady rate a
#     debug kernel under TCG drowns in page-fault retries and ratelimited
#     allocation-failure lines.
#
# A marked task must never touch the guest's 9p root: a 9p request whose
# allocation fails leaves the mount broken for every task ("cat: Invalid
# argument" afterwards).  So fio runs chrooted in a tmpfs holding copies
# of it and its libraries, and its jobs are marked only once running.
set -euo pipefail
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/../vm/lib.sh"

dbg=/sys/kernel/debug
root=/tmp/fioroot
# Phase 2's budgets of injected failures.
page_fails=2000
slab_fails=500

# Progress into the kernel log too: the serial console shows it live, and
# it survives a guest whose 9p output has stopped.
step() {
	note "$*"
	echo "faults.sh: $*" >/dev/kmsg
}

# A tmpfs root with fio, its libraries, /dev, /proc and /sys.
make_fio_root() {
	mkdir -p $root/{bin,dev,proc,sys,tmp}
	cp -L "$(command -v fio)" $root/bin/fio
	# One cp for all ~100 libraries: each exec costs a second on a debug
	# kernel under TCG.
	ldd "$(command -v fio)" | grep -oE '/[^ ]+' | xargs cp -L --parents -t $root
	mount --bind /dev $root/dev
	mount -t proc proc $root/proc
	mount --bind /sys $root/sys
}

drop_fio_root() {
	umount $root/dev $root/proc $root/sys 2>/dev/null || true
}

injection() { # off | nowait | bounded
	local f
	for f in failslab fail_page_alloc; do
		echo 0 >$dbg/$f/probability
		echo Y >$dbg/$f/task-filter
		echo 1 >$dbg/$f/interval
		echo 0 >$dbg/$f/space
		echo 0 >$dbg/$f/verbose
	done
	echo N >$dbg/fail_page_alloc/ignore-gfp-highmem
	echo 0 >$dbg/fail_page_alloc/min-order
	case $1 in
	nowait)
		echo -1 >$dbg/fail_page_alloc/times
		echo Y >$dbg/fail_page_alloc/ignore-gfp-wait
		echo 100 >$dbg/fail_page_alloc/probability
		;;
	bounded)
		for f in failslab fail_page_alloc; do
			echo N >$dbg/$f/ignore-gfp-wait
		done
		echo $slab_fails >$dbg/failslab/times
		echo 5 >$dbg/failslab/probability
		echo $page_fails >$dbg/fail_page_alloc/times
		echo 50 >$dbg/fail_page_alloc/probability
		;;
	esac
}

# fio in the chroot on /dev/zram0's 16..48 MiB, its two jobs marked once
# they run; the timeout turns a hang into a failure.
FIO_OPTS=(--filename=/dev/zram0 --ioengine=libaio --direct=1 --bs=4k
	--iodepth=8 --numjobs=2 --rw=randrw --offset=16M --size=16M
	--offset_increment=16M --verify=crc32c --refill_buffers
	--buffer_compress_percentage=50)
fio_marked() { # LOG FIO-OPTIONS... -> waits; returns fio's status
	local log=$1 pid jobs=() i rc=0
	shift
	timeout -k 10 600 chroot $root /bin/fio "${FIO_OPTS[@]}" "$@" >"$log" 2>&1 &
	pid=$!
	# fio forks its jobs after its own set-up, slow on a debug kernel;
	# a short-lived fio process seen meanwhile may be gone before it is
	# marked: look again until both jobs are.
	local marked=0 j
	for i in $(seq 1 300); do
		mapfile -t jobs < <(pgrep -x fio | grep -vx "$(pgrep -o -x fio)" || true)
		if ((${#jobs[@]} == 2)); then
			marked=0
			for j in "${jobs[@]}"; do
				{ echo 1 >/proc/$j/make-it-fail; } 2>/dev/null && marked=$((marked + 1))
			done
			((marked == 2)) && break
		fi
		sleep 0.5
	done
	((marked == 2)) || fail "fio's two job processes did not start"
	step "marked fio jobs ${jobs[*]}"
	wait $pid || rc=$?
	[[ $rc != 124 && $rc != 137 ]] || { tail -20 "$log"; fail "fio hung (killed after 600 s)"; }
	return $rc
}

stats() {
	echo "io_stat $(zattr zram0 io_stat) debug_stat $(sed -n 2p /sys/block/zram0/debug_stat)" \
		"pool $(tr '\n' ' ' <$dbg/zram/zram0/pool)"
}
writestall() { awk 'NR == 2 {print $1}' /sys/block/zram0/debug_stat; }

test_fault_injection() {
	[[ -d $dbg/failslab && -d $dbg/fail_page_alloc ]] || fail "no fault injection in this kernel"
	load_ours num_devices=1
	init_disk zram0 64M
	head -c 8M /dev/urandom >/tmp/ref
	dd if=/tmp/ref of=/dev/zram0 bs=1M oflag=direct status=none
	make_fio_root
	trap drop_fio_root EXIT

	step "phase 1: every non-sleeping page allocation of the jobs fails"
	local stall0
	stall0=$(writestall)
	injection nowait
	fio_marked /tmp/fio-nowait.log --name=nowait --verify_fatal=1 ||
		{ cat /tmp/fio-nowait.log; injection off; fail "fio verify failed with only GFP_NOWAIT failing"; }
	injection off
	step "after phase 1: $(stats)"
	(($(writestall) > stall0)) || fail "no GFP_NOWAIT pool allocation failed over to GFP_NOIO"
	(($(io_field zram0 2) == 0)) || fail "writes failed though GFP_NOIO could always succeed"

	# Where the bounded failures land is chance (fio's page faults and
	# io_submit take some): up to three runs for one to fail a write.
	local run
	for run in 1 2 3; do
		# Discarded, the range needs new pool memory again.
		blkdiscard -o $((16 << 20)) -l $((32 << 20)) /dev/zram0
		step "phase 2, run $run: a bounded number of any of the jobs' allocations fail"
		injection bounded
		# fio's verify may fail where writes failed: that is the point.
		fio_marked /tmp/fio-faults.log --name=faults --continue_on_error=all || true
		step "after phase 2, run $run: $(stats); injected failures:" \
			"page $((page_fails - $(cat $dbg/fail_page_alloc/times)))," \
			"slab $((slab_fails - $(cat $dbg/failslab/times)))"
		injection off
		grep -E 'err=|error' /tmp/fio-faults.log | head -4 | sed 's/^/  fio: /' || true
		(($(io_field zram0 2) == 0)) || break
	done
	(($(io_field zram0 2) > 0)) || fail "no write failed: injection missed the module"
	cmp -n $((8 << 20)) /tmp/ref /dev/zram0 || fail "data written before injection damaged"

	timeout -k 10 600 chroot $root /bin/fio "${FIO_OPTS[@]}" --name=after \
		--verify_fatal=1 >/tmp/fio-after.log 2>&1 ||
		{ cat /tmp/fio-after.log; fail "writes still fail with injection off"; }
	step "injection off: fio verify passes again; $(stats)"
}

run_tests test_fault_injection
