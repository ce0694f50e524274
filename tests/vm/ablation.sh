#!/bin/bash
# Guest side of `scripts/bench.sh ablation`: the seed patch's experiment.
# Our zram.ko with per-CPU streams against the same core built with one
# mutex-protected stream per disk (ZCX_STREAMS=mutex), and the per-CPU
# build again (A/A: what the noise alone does), alternating in rounds, on
# 2 vCPUs under multi-threaded TCG.  Job: the seed's sequential write
# (bs=4k, libaio, direct, numjobs=2, 50 % compressible) at iodepth 1..8.
# Prints "ABL round target iodepth MiB/s".
set -euo pipefail
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"

ROUNDS=${T_ROUNDS:-7}
SIZE_MB=${T_SIZE_MB:-64}
KO_MUTEX=${T_KO_MUTEX:?T_KO_MUTEX: the ZCX_STREAMS=mutex build}
cd /tmp
[[ $(nproc) -ge 2 ]] || fail "the ablation needs 2 vCPUs, have $(nproc)"

load() { # percpu|mutex|percpu-b
	(unload_zram)
	local ko=$KO
	[[ $1 != mutex ]] || ko=$KO_MUTEX
	insmod_zram "$ko" num_devices=1 || fail "insmod $ko"
	[[ $(cat /sys/module/zram/srcversion) == "$(modinfo -F srcversion "$ko")" ]] ||
		fail "loaded zram is not $ko"
	echo $((SIZE_MB * 4))M >/sys/block/zram0/disksize
}

for round in $(seq 1 "$ROUNDS"); do
	for target in percpu mutex percpu-b; do
		for depth in 1 2 4 8; do
			load $target
			fio --name=seed --filename=/dev/zram0 --rw=write --bs=4k --direct=1 \
				--ioengine=libaio --iodepth=$depth --numjobs=2 --size=${SIZE_MB}M \
				--offset_increment=${SIZE_MB}M --refill_buffers \
				--buffer_compress_percentage=50 --group_reporting \
				--output-format=json --output=/tmp/abl.json >/dev/null
			python3 -c "import json; j = json.load(open('/tmp/abl.json'))['jobs'][0]; print('ABL $round $target $depth %.2f' % (j['write']['bw'] / 1024))"
		done
	done
done
(unload_zram)
