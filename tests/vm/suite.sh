#!/bin/bash
# The VM integration suite: runs inside Debian's stock 6.1 kernel under
# QEMU (scripts/vm-run.sh), against our zram.ko loaded by path.
#   scripts/vm-run.sh tests/vm/suite.sh [TEST...]
set -euo pipefail
here=$(dirname "$0")
# shellcheck source=tests/vm/lib.sh
source "$here/lib.sh"
# shellcheck source=tests/vm/interface.sh
source "$here/interface.sh"
# shellcheck source=tests/vm/recompress.sh
source "$here/recompress.sh"
# shellcheck source=tests/vm/writeback.sh
source "$here/writeback.sh"
# shellcheck source=tests/vm/races.sh
source "$here/races.sh"
# shellcheck source=tests/vm/policy.sh
source "$here/policy.sh"

test_devices_and_limits() {
	load_ours num_devices=4
	local d q
	for d in zram0 zram1 zram2 zram3; do
		[[ -b /dev/$d ]] || fail "/dev/$d missing"
		q=/sys/block/$d/queue
		[[ $(cat $q/logical_block_size) == 4096 ]] || fail "$d logical block"
		[[ $(cat $q/physical_block_size) == 4096 ]] || fail "$d physical block"
		[[ $(cat $q/minimum_io_size) == 4096 ]] || fail "$d io_min"
		[[ $(cat $q/optimal_io_size) == 4096 ]] || fail "$d io_opt"
		[[ $(cat $q/rotational) == 0 ]] || fail "$d rotational"
		[[ $(cat $q/add_random) == 0 ]] || fail "$d add_random"
		[[ $(cat $q/discard_granularity) == 4096 ]] || fail "$d discard granularity"
		[[ $(cat $q/discard_max_bytes) -gt 0 ]] || fail "$d no discard"
		[[ $(cat $q/write_zeroes_max_bytes) -gt 0 ]] || fail "$d no write-zeroes"
		[[ $(cat $q/stable_writes) == 1 ]] || fail "$d stable_writes"
		[[ $(zattr $d initstate) == 0 ]] || fail "$d initialised at load"
		[[ $(zattr $d disksize) == 0 ]] || fail "$d disksize at load"
		[[ $(cat /sys/block/$d/size) == 0 ]] || fail "$d capacity at load"
	done
	[[ ! -e /dev/zram4 ]] || fail "more devices than asked for"
	init_disk zram0 1G
	[[ $(cat /sys/block/zram0/size) == $((1 << 21)) ]] || fail "capacity after 1G"
	note "4 devices, queue limits as stock"
}

# Only on Debian's PREEMPT_RT 6.12 (scripts/check.sh boots it for this
# test alone): the module refuses to load, with a line saying why, and
# leaves nothing behind; the kernel's own zram loads there.
test_preempt_rt_refused() {
	local out
	grep -q PREEMPT_RT /proc/version || fail "not a PREEMPT_RT kernel: $(cat /proc/version)"
	unload_zram
	if out=$(insmod_zram "$KO" 2>&1); then
		fail "insmod loaded on PREEMPT_RT"
	fi
	[[ $out == *"Operation not supported"* ]] || fail "insmod said: $out"
	[[ ! -d /sys/module/zram && ! -e /dev/zram0 ]] || fail "something of ours is left"
	dmesg | grep -q 'zram: not for PREEMPT_RT kernels' || fail "no log line saying why"
	note "refused: $(dmesg | grep 'zram: not for PREEMPT_RT' | tail -n1 | sed 's/^\[[^]]*\] //')"
	load_stock
	init_disk zram0 64M
	note "the kernel's own zram loads: comp_algorithm $(zattr zram0 comp_algorithm)"
	reset_disk zram0
}

test_module_parameter() {
	local bad out
	for bad in 0 33 abc -1; do
		unload_zram
		if out=$(insmod_zram "$KO" num_devices=$bad 2>&1); then
			fail "insmod num_devices=$bad loaded"
		fi
		[[ ! -d /sys/module/zram ]] || fail "module left loaded"
		note "num_devices=$bad refused: ${out##*: }"
	done
	dmesg | grep -q 'num_devices=33 is out of range 1..32' ||
		fail "no log line for num_devices=33"
	load_ours num_devices=32
	[[ -b /dev/zram31 ]] || fail "num_devices=32 did not make zram31"
}

test_ext4_tree() {
	load_ours num_devices=4
	init_disk zram1 512M
	modprobe ext4
	mkfs.ext4 -q /dev/zram1
	mount /dev/zram1 /mnt
	local trees=(/usr/share/perl /usr/lib/python3.11 /usr/include/linux)
	[[ $LIGHT == 0 ]] || trees=(/usr/include/linux)
	local t present=()
	for t in "${trees[@]}"; do
		[[ -d $t ]] && present+=("${t#/}")
	done
	# One tar stream, not cp -a: from the 9p root under TCG, cp -a took
	# 41 s for the 21 MiB of Perl (requests per file for what it
	# preserves), tar 20 s for all 81 MiB; ext4 gets the same files.
	tar -C / -cf - "${present[@]}" | tar -C /mnt -xpf -
	sync
	echo 3 >/proc/sys/vm/drop_caches
	for t in "${trees[@]}"; do
		[[ -d $t ]] || continue
		diff -r --no-dereference "$t" "/mnt$t" >/tmp/diff.log 2>&1 || {
			head -20 /tmp/diff.log
			fail "tree $t differs after drop_caches"
		}
	done
	note "copied $(du -sh /mnt | cut -f1) of real files; mm_stat: $(zattr zram1 mm_stat)"
	expect_write_error /sys/block/zram1/reset 1 "Device or resource busy"
	umount /mnt
	fsck.ext4 -fn /dev/zram1 >/tmp/fsck.log 2>&1 || {
		cat /tmp/fsck.log
		fail "fsck found errors"
	}
	reset_disk zram1
	[[ $(mm_field zram1 3) == 0 ]] || fail "memory left after reset"
}

# Swap under memory pressure: a memory cgroup squeezes workers into half
# of what they touch, so their pages round-trip through zram.
in_cgroup() { # CGROUP-DIR COMMAND... (in the background, output to /tmp)
	local cg=$1
	shift
	(
		echo $BASHPID >"$cg/cgroup.procs"
		exec "$@"
	) >>/tmp/swap-workload.log 2>&1 &
}

test_swap_pressure() {
	load_ours num_devices=1
	init_disk zram0 512M
	mkswap /dev/zram0 >/dev/null
	swapon -p 100 /dev/zram0
	local cg=/sys/fs/cgroup/zram-swap-test
	echo +memory >/sys/fs/cgroup/cgroup.subtree_control
	mkdir -p $cg
	local mem_mb stress_mb check_mb
	mem_mb=$(scaled 96 48)
	# A debug kernel swaps a few MiB/s: smaller passes, more time, so
	# stress-ng still completes verified passes.
	stress_mb=$(scaled 64 16)
	check_mb=$(scaled 96 64)
	echo ${mem_mb}M >$cg/memory.max
	: >/tmp/swap-workload.log
	local out0 in0
	out0=$(awk '$1 == "pswpout" {print $2}' /proc/vmstat)
	in0=$(awk '$1 == "pswpin" {print $2}' /proc/vmstat)
	in_cgroup $cg stress-ng --vm 2 --vm-bytes ${stress_mb}M --vm-keep --verify \
		--timeout $(scaled 20 60)s --temp-path /tmp --metrics-brief
	local stress=$!
	in_cgroup $cg python3 tests/vm/swapcheck.py $check_mb
	local check=$!
	local peak=0 used
	while kill -0 $stress 2>/dev/null || kill -0 $check 2>/dev/null; do
		used=$(awk '$1 == "/dev/zram0" {print $4}' /proc/swaps)
		((used > peak)) && peak=$used
		sleep 1
	done
	local rc_stress=0 rc_check=0
	wait $stress || rc_stress=$?
	wait $check || rc_check=$?
	sed 's/^/  /' /tmp/swap-workload.log
	[[ $rc_stress == 0 ]] || fail "stress-ng exited $rc_stress"
	[[ $rc_check == 0 ]] || fail "swapcheck found corrupt pages (exit $rc_check)"
	! grep -qiE 'verif.*fail|fail.*verif|miscompare' /tmp/swap-workload.log ||
		fail "stress-ng reported verify errors"
	grep -qE 'vm +[1-9][0-9]* ' /tmp/swap-workload.log ||
		fail "stress-ng vm finished no verified pass"
	local swapped_out swapped_in
	swapped_out=$(($(awk '$1 == "pswpout" {print $2}' /proc/vmstat) - out0))
	swapped_in=$(($(awk '$1 == "pswpin" {print $2}' /proc/vmstat) - in0))
	note "swapped out $((swapped_out / 256)) MiB, in $((swapped_in / 256)) MiB; /proc/swaps peak $((peak / 1024)) MiB"
	((peak > 0)) || fail "/proc/swaps never showed zram0 in use"
	((swapped_out > $(scaled 16384 4096) && swapped_in > $(scaled 8192 2048))) ||
		fail "too little swap traffic for a test"
	note "io_stat: $(zattr zram0 io_stat)"
	note "debug_stat: $(zattr zram0 debug_stat | tr '\n' ' ')"
	swapoff /dev/zram0
	rmdir $cg
	[[ $(io_field zram0 4) -gt 0 ]] || fail "no swap_slot_free_notify seen"
	[[ $(io_field zram0 1) == 0 && $(io_field zram0 2) == 0 ]] || fail "failed I/O"
	reset_disk zram0
}

# fio with crc32c verification: 2 jobs, iodepth 8, random read/write.
fio_verify() { # DEV LABEL FIO-OPTIONS...
	local dev=$1 label=$2 mb
	shift 2
	mb=$(scaled 24 8)
	fio --name="verify-$label" --filename="/dev/$dev" --ioengine=libaio \
		--direct=1 --bs=4k --iodepth=8 --numjobs=2 --rw=randrw \
		--size=${mb}M --offset_increment=${mb}M --verify=crc32c \
		--do_verify=1 --verify_fatal=1 --verify_backlog=256 \
		--group_reporting "$@" >/tmp/fio-$label.log 2>&1 || {
		cat /tmp/fio-$label.log
		fail "fio $label failed"
	}
	grep -E '^ *(READ|WRITE):' /tmp/fio-$label.log | sed 's/^ */  /'
}

test_fio_verify() {
	load_ours num_devices=4
	init_disk zram2 48M
	fio_verify zram2 random --refill_buffers --buffer_compress_percentage=0
	fio_verify zram2 half --refill_buffers --buffer_compress_percentage=50
	fio_verify zram2 full --refill_buffers --buffer_compress_percentage=100
	fio_verify zram2 zeros --zero_buffers
	note "mm_stat: $(zattr zram2 mm_stat)"
	[[ $(mm_field zram2 8) -gt 0 ]] || fail "random data stored no huge pages"
	[[ $(io_field zram2 1) == 0 && $(io_field zram2 2) == 0 ]] || fail "failed I/O"
}

# Random overwrites with fio's half-compressible pages, which all compress
# to about one size: each new object must fit a hole an old one left.
# (Before sizes were rounded to their class, the pool grew 27 % here while
# stock's stayed flat.)  Also: debugfs zram/zram0/pool accounts for every
# pool page.
test_overwrites_keep_memory() {
	load_ours num_devices=1
	init_disk zram0 64M
	local mb before after pass
	mb=$(scaled 32 8)
	fio --name=fill --filename=/dev/zram0 --rw=write --bs=64k --direct=1 \
		--ioengine=libaio --iodepth=4 --size=${mb}M --refill_buffers \
		--buffer_compress_percentage=50 >/tmp/fio-fill.log 2>&1 ||
		{ cat /tmp/fio-fill.log; fail "fill failed"; }
	before=$(mm_field zram0 3)
	for pass in 1 2; do
		fio --name=overwrite --filename=/dev/zram0 --rw=randwrite --bs=4k \
			--direct=1 --ioengine=libaio --iodepth=8 --numjobs=2 \
			--size=$((mb / 2))M --offset_increment=$((mb / 2))M \
			--refill_buffers --buffer_compress_percentage=50 \
			--randseed=$pass >/tmp/fio-overwrite.log 2>&1 ||
			{ cat /tmp/fio-overwrite.log; fail "overwrite pass $pass failed"; }
	done
	after=$(mm_field zram0 3)
	note "mem_used_total after the fill $before, after two overwrite passes $after"
	((after * 100 <= before * 102)) || fail "overwrites grew the pool by more than 2 %"
	local chunks16k chunks4k
	chunks16k=$(awk '$1 == "chunks_16k:" {print $2}' /sys/kernel/debug/zram/zram0/pool)
	chunks4k=$(awk '$1 == "chunks_4k:" {print $2}' /sys/kernel/debug/zram/zram0/pool)
	note "debugfs pool: $chunks16k chunks of 16 KiB, $chunks4k of 4 KiB"
	[[ $(mm_field zram0 8) == 0 ]] || fail "half-compressible data stored huge pages"
	((chunks16k * 16384 + chunks4k * 4096 == after)) ||
		fail "debugfs pool does not add up to mem_used_total"
}

test_fio_cpu_hotplug() {
	local online=/sys/devices/system/cpu/cpu1/online
	[[ -w $online ]] || fail "guest has no hot-pluggable cpu1"
	load_ours num_devices=4
	init_disk zram2 48M
	(
		n=0
		while [[ ! -e /tmp/fio-done ]]; do
			echo 0 >$online
			sleep 0.3
			echo 1 >$online
			sleep 0.3
			n=$((n + 1))
		done
		echo $n >/tmp/toggles
	) &
	local toggler=$!
	rm -f /tmp/fio-done
	fio_verify zram2 hotplug --refill_buffers --buffer_compress_percentage=50 \
		--loops=$(scaled 2 1)
	touch /tmp/fio-done
	wait $toggler
	[[ $(cat $online) == 1 ]] || fail "cpu1 left offline"
	note "cpu1 went offline and online $(cat /tmp/toggles) times during fio"
	(($(cat /tmp/toggles) >= 3)) || fail "too few hotplug cycles to mean anything"
	# Streams created while cpu1 was down must exist once it is back.
	reset_disk zram2
	echo 0 >$online
	init_disk zram2 16M
	echo 1 >$online
	fio_verify zram2 after-online --refill_buffers --buffer_compress_percentage=50 \
		--size=8M --offset_increment=8M
}

# Every 4 KiB page of DEV equals the same page of FILE or is all zeros
# (discarded); prints how many of each.
pages_match_or_zero() { # DEV FILE
	python3 - "$1" "$2" <<'PY'
import sys
dev, ref = open(sys.argv[1], "rb"), open(sys.argv[2], "rb")
zero = bytes(4096)
same = zeroed = bad = 0
while True:
    a, b = dev.read(4096), ref.read(4096)
    if not b:
        break
    if a == b:
        same += 1
    elif a == zero:
        zeroed += 1
    else:
        bad += 1
print(same, zeroed, bad)
PY
}

# The issue's experiment: real files, a random half of their pages
# discarded, then the shrinkers (drop_caches=2) and `compact`.  The pool
# must shrink to about what the live half needs, the shrinker must do it
# by itself, and every page left must read back unchanged.
test_compaction_gives_memory_back() {
	load_ours num_devices=1
	local mb full sparse shrunk compacted pages same zeroed bad
	mb=$(scaled 96 24)
	make_real_tar "$mb"
	init_disk zram0 $((mb * 2))M
	dd if=/tmp/real.tar of=/dev/zram0 bs=1M oflag=direct status=none
	full=$(mm_field zram0 3)
	(($(mm_field zram0 6) < (mb << 8) / 10 && full > mb << 18)) ||
		fail "real files make poor data: mm_stat $(zattr zram0 mm_stat)"
	pages=$((mb << 8))
	fio --name=trim-half --filename=/dev/zram0 --rw=randtrim --bs=4k \
		--size=${mb}M --io_size=$((mb / 2))M --randseed=7 \
		>/tmp/fio-trim.log 2>&1 || { cat /tmp/fio-trim.log; fail "randtrim failed"; }
	sparse=$(mm_field zram0 3)
	[[ $(mm_field zram0 7) == 0 ]] || fail "compacted before anyone asked"
	# debugfs pool's free space: the holes the trim left are in it, and
	# all of it is pool beyond the compressed bytes.
	local holes
	holes=$(pool_free_bytes zram0)
	((holes * 100 >= sparse * 25 && holes <= sparse - $(mm_field zram0 2))) ||
		fail "debugfs pool counts $holes bytes free of $sparse, $(mm_field zram0 2) compressed"
	echo 2 >/proc/sys/vm/drop_caches
	shrunk=$(mm_field zram0 3)
	local by_shrinker
	by_shrinker=$(mm_field zram0 7)
	echo 1 >/sys/block/zram0/compact
	compacted=$(mm_field zram0 3)
	note "mem_used_total: full $full, random half discarded $sparse, after drop_caches=2 $shrunk, after compact $compacted"
	note "pages_compacted: $by_shrinker by the shrinker, $(mm_field zram0 7) in all"
	note "debugfs pool free bytes: $holes after the trim, $(pool_free_bytes zram0) after compact"
	(($(pool_free_bytes zram0) * 2 <= holes)) ||
		fail "compaction left $(pool_free_bytes zram0) of $holes free bytes in the pool"
	((by_shrinker > 0)) || fail "drop_caches=2 did not run our shrinker"
	(((sparse - compacted) >> 12 == $(mm_field zram0 7))) ||
		fail "pages_compacted $(mm_field zram0 7) is not what mem_used_total lost"
	# Half the data is live: about half the memory, as stock's zsmalloc.
	((compacted * 100 <= full * 60)) ||
		fail "compaction left $compacted of $full bytes for half the data"
	read -r same zeroed bad < <(pages_match_or_zero /dev/zram0 /tmp/real.tar)
	note "after compaction: $same pages intact, $zeroed discarded, $bad wrong"
	[[ $bad == 0 ]] || fail "$bad pages read back wrong after compaction"
	((zeroed >= pages * 45 / 100)) || fail "only $zeroed of $pages pages discarded"
	# Refilling the freed half reuses the holes compaction packed away.
	dd if=/tmp/real.tar of=/dev/zram0 bs=1M oflag=direct status=none
	cmp -n $((mb << 20)) /tmp/real.tar /dev/zram0 || fail "refill reads back wrong"
	note "refilled: mem_used_total $(mm_field zram0 3) (full was $full)"
}

# fill_churn_region fills zram0's region at 2*MB MiB (MB long);
# verify_beside_churn runs fio_verify on its first region while that one is
# overwritten and trimmed: the background work of the tests around it
# (compaction, recompression) then meets reads, writes and frees at once.
fill_churn_region() { # MB
	fio --name=fill --filename=/dev/zram0 --rw=write --bs=64k --direct=1 \
		--ioengine=libaio --iodepth=4 --offset=$(($1 * 2))M --size=${1}M \
		--refill_buffers --buffer_compress_percentage=60 >/tmp/fio-fill.log 2>&1 ||
		{ cat /tmp/fio-fill.log; fail "fill failed"; }
}

verify_beside_churn() { # LABEL MB
	local mb=$2 churn trims
	fio --name=churn --filename=/dev/zram0 --ioengine=libaio --direct=1 \
		--bs=4k --iodepth=8 --rw=randrw --rwmixread=30 --offset=$((mb * 2))M \
		--size=${mb}M --refill_buffers --buffer_compress_percentage=60 \
		--loops=$(scaled 3 1) >/tmp/fio-churn.log 2>&1 &
	churn=$!
	fio --name=trims --filename=/dev/zram0 --rw=randtrim --bs=4k \
		--offset=$((mb * 2))M --size=${mb}M --io_size=$((mb / 2))M --loops=$(scaled 3 1) \
		>/tmp/fio-trims.log 2>&1 &
	trims=$!
	fio_verify zram0 "$1" --refill_buffers --buffer_compress_percentage=50 \
		--loops=$(scaled 3 1)
	wait $churn || { cat /tmp/fio-churn.log; fail "churn job failed"; }
	wait $trims || { cat /tmp/fio-trims.log; fail "trim job failed"; }
}

# fio verify on one region while another, filled first, is overwritten and
# trimmed, and compaction runs over and over (sysfs and the shrinkers)
# until all three jobs are done: every verified block must read back as
# written, and the trims must have given compaction work.
test_fio_verify_during_compaction() {
	load_ours num_devices=1
	local mb passes=0
	mb=$(scaled 32 8)
	init_disk zram0 $((mb * 4))M
	# The churn region full first, so the trims leave sparse chunks for
	# compaction to empty while the verify job runs.
	fill_churn_region "$mb"
	rm -f /tmp/fio-done
	(
		n=0
		while [[ ! -e /tmp/fio-done ]]; do
			echo 1 >/sys/block/zram0/compact
			echo 2 >/proc/sys/vm/drop_caches
			n=$((n + 1))
			sleep 0.2
		done
		echo $n >/tmp/compactions
	) &
	local compactor=$!
	verify_beside_churn compaction "$mb"
	touch /tmp/fio-done
	wait $compactor
	passes=$(cat /tmp/compactions)
	note "$passes compact + drop_caches rounds during fio; pages_compacted $(mm_field zram0 7)"
	((passes >= 3)) || fail "too few compactions to mean anything"
	(($(mm_field zram0 7) > 0)) || fail "nothing was compacted during the churn"
	[[ $(io_field zram0 1) == 0 && $(io_field zram0 2) == 0 ]] || fail "failed I/O"
}

test_discard_frees_memory() {
	load_ours num_devices=4
	init_disk zram3 64M
	head -c 32M /dev/urandom >/tmp/rand
	dd if=/tmp/rand of=/dev/zram3 bs=1M oflag=direct status=none
	local before after
	before=$(mm_field zram3 3)
	((before >= 32 << 20)) || fail "random data used only $before bytes"
	blkdiscard /dev/zram3
	after=$(mm_field zram3 3)
	[[ $after == 0 && $(mm_field zram3 1) == 0 ]] ||
		fail "after blkdiscard mm_stat: $(zattr zram3 mm_stat)"
	note "blkdiscard: mem_used_total $before -> $after"
	dd if=/tmp/rand of=/dev/zram3 bs=1M oflag=direct status=none
	blkdiscard -z /dev/zram3
	[[ $(mm_field zram3 3) == 0 ]] || fail "write-zeroes left memory"
	cmp -n $((32 << 20)) /dev/zram3 /dev/zero || fail "zeroed range reads non-zero"
	note "blkdiscard -z: memory freed, reads zeros"
}

test_bad_input() {
	load_ours num_devices=4
	local z=/sys/block/zram3
	expect_write_error $z/disksize abc "Invalid argument"
	expect_write_error $z/disksize 12Q "Invalid argument"
	expect_write_error $z/disksize 1KB "Invalid argument"
	expect_write_error $z/disksize 0 "Invalid argument"
	expect_write_error $z/disksize -4096 "Invalid argument"
	expect_write_error $z/disksize 99999999999999999999 "Invalid argument"
	[[ $(zattr zram3 initstate) == 0 ]] || fail "rejected disksize initialised"
	expect_write_error $z/comp_algorithm nonsense "Invalid argument"
	set_attr zram3 comp_algorithm lzo
	set_attr zram3 disksize 1M
	[[ $(zattr zram3 disksize) == 1048576 ]] || fail "disksize 1M"
	expect_write_error $z/disksize 2M "Device or resource busy"
	expect_write_error $z/comp_algorithm lzo "Device or resource busy"
	expect_write_error $z/reset 0 "Invalid argument"
	expect_write_error $z/reset abc "Invalid argument"
	expect_write_error $z/mem_used_max 1 "Invalid argument"
	expect_write_error $z/mem_limit 5X "Invalid argument"

	local out
	if out=$(dd if=/dev/zero of=/dev/zram3 bs=4k seek=256 count=1 oflag=direct 2>&1); then
		fail "write past the end succeeded"
	fi
	note "write past the end: ${out%%$'\n'*}"
	[[ $(dd if=/dev/zram3 bs=4k skip=256 count=1 iflag=direct status=none | wc -c) == 0 ]] ||
		fail "read past the end returned data"
	if out=$(dd if=/dev/zero of=/dev/zram3 bs=512 seek=1 count=1 oflag=direct 2>&1); then
		fail "unaligned direct write succeeded"
	fi
	[[ $out == *"Invalid argument"* ]] || fail "unaligned direct write: $out"
	if out=$(dd if=/dev/zram3 of=/dev/null bs=512 skip=3 count=1 iflag=direct 2>&1); then
		fail "unaligned direct read succeeded"
	fi
	note "unaligned direct I/O: Invalid argument"

	# Reset and rmmod while open: refused, data intact.
	head -c 1M /dev/urandom >/tmp/r1
	dd if=/tmp/r1 of=/dev/zram3 bs=4k oflag=direct status=none
	exec 3</dev/zram3
	expect_write_error $z/reset 1 "Device or resource busy"
	if rmmod zram 2>/dev/null; then
		fail "rmmod succeeded with a device open"
	fi
	exec 3<&-
	cmp /tmp/r1 /dev/zram3 || fail "data changed by refused reset"
	note "reset and rmmod refused while open; data intact"
	reset_disk zram3
	[[ $(zattr zram3 initstate) == 0 && $(zattr zram3 disksize) == 0 ]] ||
		fail "reset did not clear the device"
}

test_load_unload_cycles() {
	local i cycles
	# Ten: a leak or a lost reference shows in two; 20 took 52 s.
	cycles=$(scaled 10 5)
	head -c 4M /dev/urandom >/tmp/r4
	for i in $(seq 1 "$cycles"); do
		load_ours num_devices=2
		init_disk zram1 16M
		dd if=/tmp/r4 of=/dev/zram1 bs=64k oflag=direct status=none
		dd if=/dev/zero of=/dev/zram1 bs=64k seek=64 count=64 oflag=direct status=none
		cmp -n $((4 << 20)) /tmp/r4 /dev/zram1 || fail "cycle $i: data differs"
		[[ $(mm_field zram1 6) -gt 0 ]] || fail "cycle $i: zero pages not same-filled"
		unload_zram
	done
	note "$cycles load/use/unload cycles"
}

test_kmemleak_after_unload() {
	unload_zram
	kmemleak_clean_of_ours
}

tests=("$@")
if [[ ${#tests[@]} == 0 ]]; then
	tests=(test_devices_and_limits test_module_parameter test_ext4_tree
		test_swap_pressure test_fio_verify test_overwrites_keep_memory
		test_fio_cpu_hotplug
		test_discard_frees_memory test_compaction_gives_memory_back
		test_fio_verify_during_compaction test_bad_input test_load_unload_cycles
		"${interface_tests[@]}" "${recompress_tests[@]}" "${writeback_tests[@]}" "${race_tests[@]}"
		"${policy_tests[@]}")
	# Fault injection: the debug kernel's.
	[[ ! -d /sys/kernel/debug/failslab ]] || tests+=(test_backing_reads_share_the_bio_reserve)
	# The debug kernel: after everything is unloaded, nothing of ours leaked.
	[[ ! -w /sys/kernel/debug/kmemleak ]] || tests+=(test_kmemleak_after_unload)
	# T_SKIP: tests that do not apply to this kernel.
	for skip in ${T_SKIP:-}; do
		for i in "${!tests[@]}"; do
			[[ ${tests[i]} != "$skip" ]] || unset 'tests[i]'
		done
	done
fi
run_tests "${tests[@]}"
