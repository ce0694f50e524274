#!/bin/bash
# Fault injection on the debug kernel: failslab and fail_page_alloc during
# a fio verify run.  I/O errors are allowed; crashes, kernel warnings (the
# VM runner checks the log) and damage to data written before are not;
# with injection off, writes succeed again.
#
# Aim: 6.1 offers require-start/-end (failures only for call chains
# through the module's text) on everything but x86-64 (lib/Kconfig.debug:
# FAULT_INJECTION_STACKTRACE_FILTER depends on !X86_64).  task-filter does
# the job here: zram does its work in the submitting task, so marking fio's
# job processes (make-it-fail) fails allocations on our write path, be it
# the pool's GFP_NOWAIT try, its GFP_NOIO fallback or a huge page, plus a
# few of fio's own (io_submit's), which fio survives with
# continue_on_error.  The jobs are marked only once they are running:
# marked earlier, exec, fork and page-ins over the 9p root fail too, and
# a failed 9p request leaves the guest's root unusable.
set -euo pipefail
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/../vm/lib.sh"

test_fault_injection() {
	local dbg=/sys/kernel/debug f start size end
	[[ -d $dbg/failslab && -d $dbg/fail_page_alloc ]] || fail "no fault injection in this kernel"
	load_ours num_devices=1
	init_disk zram0 64M
	head -c 8M /dev/urandom >/tmp/ref
	dd if=/tmp/ref of=/dev/zram0 bs=1M oflag=direct status=none

	# Every page allocation of a marked job fails (the pool cannot grow:
	# writes fail or fit the room freed by overwrites); 5 % of its slab
	# allocations do (our I/O path has none: these hit fio's io_submit).
	for f in failslab fail_page_alloc; do
		echo Y >$dbg/$f/task-filter
		echo 1 >$dbg/$f/interval
		echo -1 >$dbg/$f/times
		echo 0 >$dbg/$f/space
		echo 0 >$dbg/$f/verbose
		echo N >$dbg/$f/ignore-gfp-wait
	done
	echo 5 >$dbg/failslab/probability
	echo 100 >$dbg/fail_page_alloc/probability
	echo N >$dbg/fail_page_alloc/ignore-gfp-highmem
	echo 0 >$dbg/fail_page_alloc/min-order
	# fio's verify may fail where writes failed: that is the point.
	fio --name=faults --filename=/dev/zram0 --ioengine=libaio --direct=1 \
		--bs=4k --iodepth=8 --numjobs=2 --rw=randrw --offset=16M \
		--size=16M --offset_increment=16M --verify=crc32c \
		--refill_buffers --buffer_compress_percentage=50 \
		--time_based --runtime=60 \
		--continue_on_error=all >/tmp/fio-faults.log 2>&1 &
	local fio_pid=$! jobs=() i
	# fio forks its jobs after its own set-up, which a debug kernel on a
	# busy host makes slow.
	for i in $(seq 1 300); do
		mapfile -t jobs < <(pgrep -P $fio_pid || true)
		((${#jobs[@]} == 2)) && break
		sleep 0.5
	done
	((${#jobs[@]} == 2)) || fail "fio's two job processes did not start"
	sleep 2 # past their set-up
	for i in "${jobs[@]}"; do
		echo 1 >/proc/$i/make-it-fail
	done
	sleep 20
	for f in failslab fail_page_alloc; do
		echo 0 >$dbg/$f/probability
	done
	wait $fio_pid || true
	note "under injection: io_stat $(zattr zram0 io_stat), debug_stat $(tail -n1 /sys/block/zram0/debug_stat)"
	(($(io_field zram0 2) > 0)) || fail "no write failed: injection missed the module"
	# debug_stat: "version: 1", then writestall and miss_free.
	(($(awk 'NR == 2 {print $1}' /sys/block/zram0/debug_stat) > 0)) ||
		fail "no GFP_NOWAIT pool allocation failed over to GFP_NOIO"
	cmp -n $((8 << 20)) /tmp/ref /dev/zram0 || fail "data written before injection damaged"
	fio --name=after --filename=/dev/zram0 --ioengine=libaio --direct=1 \
		--bs=4k --iodepth=8 --numjobs=2 --rw=randrw --offset=16M \
		--size=16M --offset_increment=16M --verify=crc32c --verify_fatal=1 \
		--refill_buffers --buffer_compress_percentage=50 >/tmp/fio-after.log 2>&1 ||
		{ cat /tmp/fio-after.log; fail "writes still fail with injection off"; }
	note "injection off: fio verify passes again"
}

run_tests test_fault_injection
