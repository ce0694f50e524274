#!/bin/bash
# Guest side of `scripts/bench.sh memory`: the compaction issue's memory
# experiment on stock zram and on each build of ours, in one boot.
# 256 MiB of real files on a 512 MiB disk; then a random half of its
# pages discarded; then drop_caches=2 (every shrinker); then `compact`;
# then the discarded half refilled with other real data.  Prints
#   MEMX target step orig compr mem_used compacted huge
# T_KO_VARIANTS="name=path ..." are the builds of ours (default: T_KO).
set -euo pipefail
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
cd /tmp
MB=${T_MEM_MB:-256}
make_real_tar $((MB * 2))
# The first MB MiB are the data; the second are the refill's "other data".
head -c $((MB << 20)) /tmp/real.tar >/tmp/data
tail -c $((MB << 20)) /tmp/real.tar >/tmp/other
rm /tmp/real.tar

step() { # TARGET STEP
	local f
	read -r -a f </sys/block/zram0/mm_stat
	echo "MEMX $1 $2 ${f[0]} ${f[1]} ${f[2]} ${f[6]} ${f[7]}"
}

experiment() { # TARGET
	echo $((MB * 2))M >/sys/block/zram0/disksize
	dd if=/tmp/data of=/dev/zram0 bs=1M oflag=direct status=none
	step "$1" full
	fio --name=trim-half --filename=/dev/zram0 --rw=randtrim --bs=4k \
		--size=${MB}M --io_size=$((MB / 2))M --randseed=7 >/dev/null
	step "$1" half-discarded
	echo 2 >/proc/sys/vm/drop_caches
	step "$1" drop-caches
	echo 1 >/sys/block/zram0/compact
	step "$1" compact
	# Other data into the discarded pages only: where the first pass
	# reads zeros, write the other file's page there.
	python3 - <<'PY'
import os
fd = os.open("/dev/zram0", os.O_RDWR)
other = open("/tmp/other", "rb")
zero = bytes(4096)
pos = 0
while True:
    page = os.pread(fd, 4096, pos)
    if len(page) < 4096 or pos >= int(os.environ.get("MB", "256")) << 20:
        break
    if page == zero:
        other.seek(pos)
        os.pwrite(fd, other.read(4096), pos)
    pos += 4096
os.fsync(fd)
PY
	step "$1" refilled
	(unload_zram)
}
export MB

load_stock num_devices=1
experiment stock
for variant in ${T_KO_VARIANTS:-ours=$KO}; do
	insmod_zram "${variant#*=}" num_devices=1
	experiment "${variant%%=*}"
done
