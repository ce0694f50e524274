#!/bin/bash
# Guest side of scripts/bench.sh: the same fio jobs on stock zram, ours
# and brd (uncompressed RAM disk: the ceiling), alternating in rounds, in
# one boot.  Prints "RESULT round target job MiB/s" and "MEM ..." lines.
set -euo pipefail
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"

ROUNDS=${T_ROUNDS:-3}
cd /tmp # fio may write state files into the working directory
SIZE_MB=${T_SIZE_MB:-64}
ALGO=${T_ALGO:-}            # empty: each driver's default
JOBS=${T_JOBS:-all}
DISK=$((SIZE_MB * 4))M

modprobe brd rd_nr=1 rd_size=$((SIZE_MB * 4 * 1024))
rmmod brd

setup_target() { # stock|ours|brd [DISKSIZE] -> prints the device
	local disk=${2:-$DISK}
	(unload_zram)
	rmmod brd 2>/dev/null || true
	case $1 in
	ours)
		insmod "$KO" num_devices=1
		assert_ours
		;;
	stock)
		modprobe zram num_devices=1
		[[ $(cat /sys/module/zram/srcversion 2>/dev/null) != "$(modinfo -F srcversion "$KO")" ]] ||
			fail "modprobe zram loaded ours"
		;;
	brd)
		modprobe brd rd_nr=1 rd_size=$((SIZE_MB * 4 * 1024))
		echo /dev/ram0
		return
		;;
	esac
	[[ -z $ALGO ]] || echo "$ALGO" >/sys/block/zram0/comp_algorithm
	echo "$disk" >/sys/block/zram0/disksize
	echo /dev/zram0
}

# name: fio options (all 4 KiB, direct, libaio, 50% compressible refills)
declare -A job_opts=(
	[seed]="--rw=write --numjobs=2 --iodepth=8"
	[seed-verify]="--rw=write --numjobs=2 --iodepth=8 --verify=meta --do_verify=1 --verify_state_save=0"
	[seqread-j1-d1]="--rw=read --numjobs=1 --iodepth=1"
	[seqread-j2-d8]="--rw=read --numjobs=2 --iodepth=8"
	[randread-j1-d1]="--rw=randread --numjobs=1 --iodepth=1"
	[randread-j2-d8]="--rw=randread --numjobs=2 --iodepth=8"
	[randwrite-j1-d1]="--rw=randwrite --numjobs=1 --iodepth=1"
	[randwrite-j2-d8]="--rw=randwrite --numjobs=2 --iodepth=8"
	[mix7030-j1-d1]="--rw=randrw --rwmixread=70 --numjobs=1 --iodepth=1"
	[mix7030-j2-d8]="--rw=randrw --rwmixread=70 --numjobs=2 --iodepth=8"
)
job_names=(seed seed-verify seqread-j1-d1 seqread-j2-d8 randread-j1-d1 randread-j2-d8
	randwrite-j1-d1 randwrite-j2-d8 mix7030-j1-d1 mix7030-j2-d8)
[[ $JOBS == all ]] || read -r -a job_names <<<"$JOBS"

run_job() { # DEV NAME -> MiB/s (reads and writes together)
	local dev=$1 name=$2
	# Reads need data: fill the disk first (not timed).
	if [[ $name != seed* ]]; then
		fio --name=fill --filename="$dev" --rw=write --bs=64k --direct=1 \
			--ioengine=libaio --iodepth=4 --size=$((SIZE_MB * 2))M \
			--refill_buffers --buffer_compress_percentage=50 >/dev/null
	fi
	# shellcheck disable=SC2086
	fio --name="$name" --filename="$dev" --bs=4k --direct=1 --ioengine=libaio \
		--size="${SIZE_MB}M" --offset_increment="${SIZE_MB}M" \
		--refill_buffers --buffer_compress_percentage=50 --group_reporting \
		--output-format=json --output=/tmp/bench.json ${job_opts[$name]} >/dev/null
	python3 - <<'PY'
import json
j = json.load(open("/tmp/bench.json"))["jobs"][0]
print("%.2f" % ((j["read"]["bw"] + j["write"]["bw"]) / 1024))
PY
}

for round in $(seq 1 "$ROUNDS"); do
	for target in stock ours brd; do
		for job in "${job_names[@]}"; do
			dev=$(setup_target $target)
			echo "RESULT $round $target $job $(run_job "$dev" "$job")"
		done
	done
done

# Memory on real files: the same tar of real trees through each zram.
tar -C / -cf /tmp/real.tar usr/share/perl usr/lib/python3.11 2>/dev/null || true
real_bytes=$(stat -c %s /tmp/real.tar)
for target in stock ours; do
	dev=$(setup_target $target 512M)
	dd if=/tmp/real.tar of="$dev" bs=1M oflag=direct status=none
	read -r orig compr used _ </sys/block/zram0/mm_stat
	echo "MEM $target $real_bytes $orig $compr $used"
done
(unload_zram)
echo "SLOTBYTES ours 16 stock-6.1 24"
