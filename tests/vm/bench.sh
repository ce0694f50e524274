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
ALGO_OURS=${T_ALGO_OURS:-$ALGO} # ours only: what another default would give
# T_IDLE_POLICY: ours runs with this idle_policy (and zstd to recompress).
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
		insmod_zram "$KO" num_devices=1
		assert_ours
		# The idle policy's cost: its worker recompressing beside fio.
		if [[ -n ${T_IDLE_POLICY:-} ]]; then
			echo algo=zstd >/sys/block/zram0/recomp_algorithm
			echo "$T_IDLE_POLICY" >/sys/block/zram0/idle_policy
		fi
		;;
	stock)
		load_stock num_devices=1
		;;
	brd)
		modprobe brd rd_nr=1 rd_size=$((SIZE_MB * 4 * 1024))
		echo /dev/ram0
		return
		;;
	esac
	local algo=$ALGO
	[[ $1 != ours ]] || algo=$ALGO_OURS
	[[ -z $algo ]] || echo "$algo" >/sys/block/zram0/comp_algorithm
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
	randwrite-j1-d1 randwrite-j2-d8 mix7030-j1-d1 mix7030-j2-d8 real-write real-read)
[[ $JOBS == all ]] || read -r -a job_names <<<"$JOBS"

# Real files: tars of real trees (headers, Python and Perl sources,
# programs, libraries), each file list in a fixed order, kept in guest
# memory so every target gets the same bytes.  All of it (256 MiB) goes
# to the memory comparison; the real-* jobs take every 4th MiB of it.
make_bench_tar
MEM_MB=$(($(stat -c %s /tmp/real.tar) >> 20))
[[ $MEM_MB == 256 ]] || fail "real data: $MEM_MB MiB of tar, wanted 256"
: >/tmp/real-job
for i in $(seq 0 $((SIZE_MB - 1))); do
	dd if=/tmp/real.tar bs=1M skip=$((i * MEM_MB / SIZE_MB)) count=1 status=none >>/tmp/real-job
done

dd_mibps() { # dd ARGS... -> MiB/s from dd's own byte count and time
	local out
	out=$(LC_ALL=C dd "$@" 2>&1 >/dev/null | tail -n1)
	# "67108864 bytes (67 MB, 64 MiB) copied, 0.512 s, 131 MB/s"
	awk '{for (i = 1; i <= NF; i++) if ($i == "s,") print $1 / $(i - 1) / 1048576}' <<<"$out"
}

run_job() { # DEV NAME -> MiB/s (reads and writes together)
	local dev=$1 name=$2
	case $name in
	real-write)
		dd_mibps if=/tmp/real-job of="$dev" bs=4k oflag=direct
		return ;;
	real-read)
		dd if=/tmp/real-job of="$dev" bs=1M oflag=direct status=none
		dd_mibps if="$dev" of=/dev/null bs=4k count=$((SIZE_MB * 256)) iflag=direct
		return ;;
	esac
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
	# fio puts its warnings ("multiple writers may overwrite blocks ...",
	# which offset_increment makes moot) before the JSON in the same file.
	python3 - <<'PY'
import json
text = open("/tmp/bench.json").read()
j = json.loads(text[text.index("{"):])["jobs"][0]
print("%.2f" % ((j["read"]["bw"] + j["write"]["bw"]) / 1024))
PY
}

for target in stock ours; do
	setup_target $target >/dev/null
	echo "ALGO $target $(sed 's/.*\[\(.*\)\].*/\1/' /sys/block/zram0/comp_algorithm)"
done

for round in $(seq 1 "$ROUNDS"); do
	for target in stock ours brd; do
		for job in "${job_names[@]}"; do
			dev=$(setup_target $target)
			echo "RESULT $round $target $job $(run_job "$dev" "$job")"
		done
	done
done

# Memory on real files: the same MEM_MB of real trees through each zram.
real_bytes=$(stat -c %s /tmp/real.tar)
for target in stock ours; do
	dev=$(setup_target $target 1G)
	dd if=/tmp/real.tar of="$dev" bs=1M oflag=direct status=none
	read -r orig compr used _ </sys/block/zram0/mm_stat
	echo "MEM $target $real_bytes $orig $compr $used"
done

# The slot table's cost, measured: vmalloc'd memory a big disk takes
# before anything is written (both drivers vzalloc their tables).
vmalloc_kb() { awk '/^VmallocUsed:/ {print $2}' /proc/meminfo; }
TABLE_DISK_GB=8
for target in stock ours; do
	(unload_zram)
	if [[ $target == ours ]]; then insmod_zram "$KO" num_devices=1; assert_ours; else load_stock num_devices=1; fi
	before=$(vmalloc_kb)
	echo ${TABLE_DISK_GB}G >/sys/block/zram0/disksize
	after=$(vmalloc_kb)
	echo "SLOT $target $(((after - before) * 1024)) $((TABLE_DISK_GB << 18))"
done
(unload_zram)
