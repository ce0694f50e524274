#!/bin/bash
# Guest side of `scripts/bench.sh recompress`: the recompression issue's
# experiment in one boot.  256 MiB of real files on a 512 MiB disk, stored
# by stock zram with lzo-rle and with zstd, and by ours with lzo-rle, then
# after `idle all` + `recompress type=idle` to zstd at level 3 and 9, page
# by page and in groups of 4 and 16 (issue 18), with random-read speed.
# Prints a Markdown report.
set -euo pipefail
[[ -z ${T_TRACE:-} ]] || set -x
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
cd /tmp
MB=${T_RECOMP_MB:-256}
# T_RECOMP_SAMPLE=bench: the fio bench's 256 MiB instead (its memory
# comparison's files: headers, Python, Perl, programs, libraries).
if [[ ${T_RECOMP_SAMPLE:-} == bench ]]; then
	MB=256
	make_bench_tar
	sample="tars of /usr/include, /usr/lib/python3.11, /usr/share/perl, /usr/bin, /usr/lib/x86_64-linux-gnu: the fio bench's"
else
	make_real_tar "$MB"
	sample="tars of /usr/lib/x86_64-linux-gnu, /usr/share/doc, /usr/include"
fi
# LEVEL:GROUP of ours to measure, in order (the first at level 3 page by
# page also gives the row of ours before recompression).
RUNS=${T_RECOMP_RUNS:-"3:1 3:4 3:16 9:1 9:4 9:16 19:16"}
mem() { awk '{ print $3 }' /sys/block/zram0/mm_stat; }
huge() { awk '{ print $8 }' /sys/block/zram0/mm_stat; }
rows=()
base=0
row() { # LABEL BYTES [SECONDS]
	[[ $base != 0 ]] || base=$2
	rows+=("| $1 | $(awk -v b="$2" 'BEGIN { printf "%.1f", b / 1e6 }') | $(awk -v b="$2" -v s="$base" 'BEGIN { printf "%.3f", b / s }') | $(huge) | ${3:-} |")
}
fill() {
	echo $((MB * 2))M >/sys/block/zram0/disksize
	dd if=/tmp/real.tar of=/dev/zram0 bs=1M oflag=direct status=none
}

load_stock num_devices=1
fill
row "stock, lzo-rle (its default)" "$(mem)"
unload_zram
load_stock num_devices=1
echo zstd >/sys/block/zram0/comp_algorithm
fill
row "stock, zstd (crypto API, level 3)" "$(mem)"
unload_zram

# Random 4 KiB reads of the whole disk, one at a time: what reading a
# page costs in each form (a grouped page decompresses its whole group).
# Then in order: each page's neighbours next, which the per-CPU cache of
# the last group decompressed serves.
readbw() { # randread|read
	fio --name=rr --filename=/dev/zram0 --rw="$1" --bs=4k --direct=1 \
		--ioengine=psync --size=${MB}M --io_size=$((MB / 8))M --randrepeat=1 \
		--output-format=terse --terse-version=3 2>/dev/null |
		awk -F';' '{ printf "%.1f", $7 / 1024 }'
}
randread() { echo "$(readbw randread) | $(readbw read)"; }
reads=()
stored_as() { # LEVEL GROUP
	local level=$1 group=$2 how label start secs
	load_ours num_devices=1
	echo algo=zstd >/sys/block/zram0/recomp_algorithm
	echo "algo=zstd level=$level" >/sys/block/zram0/algorithm_params
	fill
	[[ $level != 3 || $group != 1 ]] || row "ours, lzo-rle" "$(mem)"
	[[ $level != 3 || $group != 1 ]] || reads+=("| ours, lzo-rle | $(randread) |")
	echo all >/sys/block/zram0/idle
	how="type=idle"
	label="ours, lzo-rle, then \`recompress type=idle\` to zstd level $level"
	if ((group > 1)); then
		how+=" group_pages=$group"
		label="ours, lzo-rle, then \`recompress type=idle group_pages=$group\` to zstd level $level"
	fi
	start=$(date +%s.%N)
	echo "$how" >/sys/block/zram0/recompress
	secs=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN { printf "%.2f", e - s }')
	cmp -n $((MB << 20)) /tmp/real.tar /dev/zram0 || { echo "recompressed pages differ"; exit 1; }
	row "$label" "$(mem)" \
		"$secs s ($(awk -v s="$secs" -v m="$MB" 'BEGIN { printf "%.1f", s * 1000 / m }') ms/MiB), $(awk '$3 ~ /r/ { n++ } END { print n + 0 }' /sys/kernel/debug/zram/zram0/block_state) pages recompressed, $(awk '$3 ~ /g/ { n++ } END { print n + 0 }' /sys/kernel/debug/zram/zram0/block_state) grouped"
	[[ $level != 3 ]] || reads+=("| zstd level 3, $( ((group > 1)) && echo "groups of $group" || echo "page by page") | $(randread) |")
	unload_zram
}
# 19:16, the densest the module offers: what the compressor's best level
# buys.
for run in $RUNS; do
	stored_as "${run%%:*}" "${run##*:}"
done

cat <<EOF2
| ${MB} MiB of real files ($sample) | mem_used_total MB | vs stock lzo-rle | huge pages | recompression time |
|---|---:|---:|---:|---|
$(printf '%s\n' "${rows[@]}")

Every recompressed page read back identical (cmp). Times are guest wall
clock under QEMU's TCG: compare them with each other, not with hardware.

4 KiB reads (fio psync, direct, one at a time, $((MB / 8)) MiB), random over the whole disk and in order from its start, same boot:

| stored as | random, MiB/s | in order, MiB/s |
|---|---:|---:|
$(printf '%s\n' "${reads[@]}")

The idle policy's cost on the fio matrix is measured under icount:
\`T_IDLE_POLICY="interval=1 recompress_after=1" scripts/bench.sh\`
(report-idle-policy.md).
EOF2
