#!/bin/bash
# Fault injection on the debug kernel: failslab and fail_page_alloc aimed
# at zram.ko (only allocations whose call chain passes through the module)
# during a fio verify run.  I/O errors are allowed; crashes, kernel
# warnings (the VM runner checks the log) and damage to data written
# before are not; with injection off, writes succeed again.
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

	read -r _ size _ _ _ start _ < <(grep '^zram ' /proc/modules)
	end=$(printf '0x%x' $((start + size)))
	for f in failslab fail_page_alloc; do
		echo "$start" >$dbg/$f/require-start
		echo "$end" >$dbg/$f/require-end
		echo 10 >$dbg/$f/probability
		echo 1 >$dbg/$f/interval
		echo -1 >$dbg/$f/times
		echo 0 >$dbg/$f/space
		echo 0 >$dbg/$f/verbose
		echo N >$dbg/$f/ignore-gfp-wait
	done
	# fio's verify may fail where writes failed: that is the point.
	fio --name=faults --filename=/dev/zram0 --ioengine=libaio --direct=1 \
		--bs=4k --iodepth=8 --numjobs=2 --rw=randrw --offset=16M \
		--size=16M --offset_increment=16M --verify=crc32c \
		--refill_buffers --buffer_compress_percentage=50 \
		--continue_on_error=all >/tmp/fio-faults.log 2>&1 || true
	for f in failslab fail_page_alloc; do
		echo 0 >$dbg/$f/probability
	done
	note "under injection: io_stat $(zattr zram0 io_stat), debug_stat $(tail -n1 /sys/block/zram0/debug_stat)"
	(($(io_field zram0 2) > 0)) || fail "no write failed: injection missed the module"
	cmp -n $((8 << 20)) /tmp/ref /dev/zram0 || fail "data written before injection damaged"
	fio --name=after --filename=/dev/zram0 --ioengine=libaio --direct=1 \
		--bs=4k --iodepth=8 --numjobs=2 --rw=randrw --offset=16M \
		--size=16M --offset_increment=16M --verify=crc32c --verify_fatal=1 \
		--refill_buffers --buffer_compress_percentage=50 >/tmp/fio-after.log 2>&1 ||
		{ cat /tmp/fio-after.log; fail "writes still fail with injection off"; }
	note "injection off: fio verify passes again"
}

run_tests test_fault_injection
