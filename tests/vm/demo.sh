#!/bin/bash
# `make run`: our zram.ko on Debian's stock 6.1 kernel, used as a user
# would, then the seed's fio job on ours and on the stock module in the
# same boot.  Runs inside scripts/vm-run.sh.
set -euo pipefail
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"

ROUNDS=${T_ROUNDS:-3}

show() { # DEV
	echo "  $1 mm_stat: $(zattr "$1" mm_stat)"
	echo "  $1 io_stat: $(zattr "$1" io_stat)"
}

echo "== load: insmod zram.ko num_devices=4 (srcversion $(modinfo -F srcversion "$KO"))"
load_ours num_devices=4
ls -d /sys/block/zram*

echo "== zram0 as swap under memory pressure"
init_disk zram0 512M
mkswap /dev/zram0 >/dev/null
swapon -p 100 /dev/zram0
cg=/sys/fs/cgroup/zram-demo
echo +memory >/sys/fs/cgroup/cgroup.subtree_control
mkdir -p $cg
echo 64M >$cg/memory.max
(
	echo $BASHPID >$cg/cgroup.procs
	exec stress-ng --vm 2 --vm-bytes 128M --vm-keep --verify --timeout 15s \
		--temp-path /tmp --metrics-brief
) 2>&1 | sed 's/^/  /' &
sleep 10
echo "  /proc/swaps while stress-ng runs:"
sed 's/^/    /' /proc/swaps
show zram0
wait
swapoff /dev/zram0
rmdir $cg

echo "== zram1 as ext4 holding a real tree"
init_disk zram1 256M
modprobe ext4
mkfs.ext4 -q /dev/zram1
mount /dev/zram1 /mnt
cp -a /usr/share/perl /mnt/
sync
echo 3 >/proc/sys/vm/drop_caches
diff -r --no-dereference /usr/share/perl /mnt/perl && echo "  /usr/share/perl copied and read back identical"
df -h /mnt | sed 's/^/  /'
show zram1
umount /mnt

# The seed's job: bs=4k, libaio, iodepth=8, direct=1, numjobs=2, seq write.
seed_job() { # DEV -> MiB/s
	fio --name=seed --filename="/dev/$1" --bs=4k --ioengine=libaio \
		--iodepth=8 --direct=1 --numjobs=2 --rw=write --size=64M \
		--offset_increment=64M --loops=2 --group_reporting \
		--refill_buffers --buffer_compress_percentage=50 \
		--output-format=json >/tmp/seed.json
	python3 -c 'import json,sys; j=json.load(open("/tmp/seed.json")); print("%.1f" % (j["jobs"][0]["write"]["bw"]/1024))'
}

echo "== zram2: the seed's fio job (seq write, 50% compressible), $ROUNDS alternating rounds"
ours=() stock=()
for r in $(seq 1 "$ROUNDS"); do
	load_ours num_devices=4
	init_disk zram2 128M
	ours+=("$(seed_job zram2)")
	[[ $r == 1 ]] && show zram2
	unload_zram
	modprobe zram num_devices=4
	[[ $(cat /sys/module/zram/srcversion 2>/dev/null) != "$(modinfo -F srcversion "$KO")" ]] ||
		fail "modprobe loaded our module, not stock"
	udevadm settle 2>/dev/null || true
	echo 128M >/sys/block/zram2/disksize
	stock+=("$(seed_job zram2)")
	[[ $r == 1 ]] && show zram2
	unload_zram
	echo "  round $r: ours ${ours[-1]} MiB/s, stock ${stock[-1]} MiB/s"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
mo=$(median "${ours[@]}")
ms=$(median "${stock[@]}")
echo "== seed job median over $ROUNDS rounds: ours $mo MiB/s, stock zram $ms MiB/s, ratio $(awk -v a="$mo" -v b="$ms" 'BEGIN{printf "%.2f", a/b}')"
echo "   (multi-threaded TCG: single numbers swing by about +-35%; see README, Benchmarks)"
