#!/bin/bash
# Guest side of `scripts/bench.sh writeback`: in one boot, stock zram and
# ours (writeback_batch_size 1 and 32, and 32 with compressed_writeback)
# alternating for ROUNDS rounds:
# 64 MiB of real files on a 128 MiB disk backed by a loop device (file
# on the guest's tmpfs), `idle all`, then `writeback idle` timed; then
# the written-back pages read back (dd, direct).  Then ours only, with a
# writeback_limit of a quarter of the pages: largest objects first
# against index order (bytes freed per block written).  Prints
#   WB target round seconds pages_written read_MiB_s
#   LF order writes compr_freed mem_used_freed mem_used_freed_after_compact
set -euo pipefail
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
cd /tmp
ROUNDS=${T_ROUNDS:-3}
MB=${T_WB_MB:-64}
make_real_tar "$MB"
modprobe loop
z=/sys/block/zram0

setup() { # stock|ours [BATCH [COMPRESSED]]
	(unload_zram)
	if [[ $1 == stock ]]; then
		load_stock num_devices=1
	else
		insmod_zram "$KO" num_devices=1
		assert_ours
		echo "$2" >$z/writeback_batch_size
		echo "${3:-0}" >$z/compressed_writeback
	fi
	rm -f /tmp/backing.img
	truncate -s $((MB * 2 + 32))M /tmp/backing.img
	loopdev=$(losetup -f --show /tmp/backing.img)
	echo "$loopdev" >$z/backing_dev
	echo $((MB * 2))M >$z/disksize
	dd if=/tmp/real.tar of=/dev/zram0 bs=1M oflag=direct status=none
}

teardown() {
	echo 1 >$z/reset
	(unload_zram)
	losetup -d "$loopdev"
	rm -f /tmp/backing.img
}

now() { date +%s.%N; }

timed_writeback() { # TARGET ROUND
	local t0 t1 r0 r1 pages
	echo all >$z/idle
	t0=$(now)
	echo idle >$z/writeback
	t1=$(now)
	pages=$(awk '{print $3}' $z/bd_stat)
	echo 3 >/proc/sys/vm/drop_caches
	r0=$(now)
	dd if=/dev/zram0 of=/dev/null bs=1M count="$MB" iflag=direct status=none
	r1=$(now)
	# Untimed: through the page cache (readahead, rw_page), every byte.
	cmp -n $((MB << 20)) /tmp/real.tar /dev/zram0 || fail "$1: read back differs"
	echo "WB $1 $2 $(echo "$t1 - $t0" | bc -l) $pages $(echo "$MB / ($r1 - $r0)" | bc -l)"
}

for round in $(seq 1 "$ROUNDS"); do
	for target in stock ours-b1 ours-b32 ours-cw32; do
		case $target in
		stock) setup stock ;;
		ours-b1) setup ours 1 ;;
		ours-b32) setup ours 32 ;;
		ours-cw32) setup ours 32 1 ;;
		esac
		timed_writeback $target "$round"
		teardown
	done
done

# Largest first against index order, same data, same budget.
budget=$(((MB << 20) / 4096 / 4))
for order in largest-first index-order; do
	setup ours 32
	if [[ $order == index-order ]]; then
		echo N >/sys/module/zram/parameters/writeback_largest_first
	fi
	read -r -a a <$z/mm_stat
	echo 1 >$z/writeback_limit_enable
	echo "$budget" >$z/writeback_limit
	echo all >$z/idle
	echo idle >$z/writeback 2>/dev/null || true # EIO: the limit ended it
	read -r -a b <$z/mm_stat
	echo 1 >$z/compact
	read -r -a c <$z/mm_stat
	writes=$(awk '{print $3}' $z/bd_stat)
	echo "LF $order $writes $((a[1] - b[1])) $((a[2] - b[2])) $((a[2] - c[2]))"
	cmp -n $((MB << 20)) /tmp/real.tar /dev/zram0 || fail "$order: data differs"
	teardown
done
