# shellcheck shell=bash
# Recompression, algorithm_params, block_state and the idle policy
# (sourced by tests/vm/suite.sh, which provides verify_beside_churn).

# debugfs block_state's flag column counts: how many slots show FLAG
# (one of s w h i r n g), optionally only among indexes LOW..HIGH.
block_flags() { # DEV FLAG [LOW HIGH]
	awk -v f="$2" -v lo="${3:-0}" -v hi="${4:-9999999999}" \
		'$1 >= lo && $1 <= hi && index($3, f) { n++ } END { print n + 0 }' \
		"/sys/kernel/debug/zram/$1/block_state"
}

test_recompress_attributes() {
	load_ours num_devices=1
	local z=/sys/block/zram0
	# The primary below is lzo-rle, the default on 6.1 only.
	set_attr zram0 comp_algorithm lzo-rle
	[[ -z $(cat $z/recomp_algorithm) ]] || fail "recomp_algorithm set at load"
	expect_write_error $z/recomp_algorithm "algo=nope" "Invalid argument"
	expect_write_error $z/recomp_algorithm "algo=zstd priority=0" "Invalid argument"
	expect_write_error $z/recomp_algorithm "algo=zstd priority=4" "Invalid argument"
	expect_write_error $z/recomp_algorithm "algo=zstd priority=x" "Invalid argument"
	expect_write_error $z/recomp_algorithm "priority=1" "Invalid argument"
	expect_write_error $z/recomp_algorithm "algo=zstd colour" "Invalid argument"
	expect_write_error $z/recomp_algorithm "algo=" "Invalid argument"
	set_attr zram0 recomp_algorithm "algo=zstd priority=1"
	set_attr zram0 recomp_algorithm "algo=lz4hc priority=2"
	grep -q '^#1: .*\[zstd\]' $z/recomp_algorithm || fail "recomp_algorithm: $(cat $z/recomp_algorithm)"
	grep -q '^#2: .*\[lz4hc\]' $z/recomp_algorithm || fail "recomp_algorithm: $(cat $z/recomp_algorithm)"
	[[ $(grep -c '^#' $z/recomp_algorithm) == 2 ]] || fail "recomp_algorithm: $(cat $z/recomp_algorithm)"
	expect_write_error $z/algorithm_params "algo=zstd level=23" "Invalid argument"
	expect_write_error $z/algorithm_params "algo=zstd level=0" "Invalid argument"
	expect_write_error $z/algorithm_params "algo=lzo-rle level=1" "Invalid argument"
	dmesg | grep -q 'lzo-rle has no compression levels' || fail "no log line for a level of lzo-rle"
	expect_write_error $z/algorithm_params "priority=3 level=3" "Invalid argument"
	expect_write_error $z/algorithm_params "algo=lz4 level=3" "Invalid argument"
	expect_write_error $z/algorithm_params "algo=zstd level" "Invalid argument"
	# zstd dictionaries are test_zstd_dictionary's.
	expect_write_error $z/algorithm_params "algo=lzo-rle dict=/etc/hostname" "Invalid argument"
	expect_write_error $z/algorithm_params "algo=lz4hc dict=/nonexistent" "No such file or directory"
	head -c 100000 /dev/zero >/tmp/big-dict
	expect_write_error $z/algorithm_params "algo=lz4hc dict=/tmp/big-dict" "File too large"
	: >/tmp/empty-dict
	expect_write_error $z/algorithm_params "algo=lz4hc dict=/tmp/empty-dict" "Invalid argument"
	expect_write_error $z/algorithm_params "algo=zstd level=x" "Invalid argument"
	set_attr zram0 algorithm_params "algo=zstd level=9"
	set_attr zram0 algorithm_params "priority=2 level=12"
	expect_write_error $z/recompress "type=idle" "Invalid argument"
	init_disk zram0 16M
	expect_write_error $z/recomp_algorithm "algo=zstd priority=1" "Device or resource busy"
	expect_write_error $z/algorithm_params "algo=zstd level=3" "Device or resource busy"
	expect_write_error $z/recompress "type=bogus" "Invalid argument"
	expect_write_error $z/recompress "type=" "Invalid argument"
	expect_write_error $z/recompress "threshold=4096" "Invalid argument"
	expect_write_error $z/recompress "threshold=0" "Invalid argument"
	expect_write_error $z/recompress "max_pages=-1" "Invalid argument"
	expect_write_error $z/recompress "algo=lzo" "Invalid argument"
	expect_write_error $z/recompress "priority=3" "Invalid argument"
	expect_write_error $z/recompress "priority=0" "Invalid argument"
	expect_write_error $z/recompress "algo=zstd priority=2" "Invalid argument"
	expect_write_error $z/recompress "type=idle fast" "Invalid argument"
	set_attr zram0 recompress "type=idle"
	set_attr zram0 recompress "type=huge_idle max_pages=10 threshold=100 algo=lz4hc"
	[[ -z $(cat /sys/kernel/debug/zram/zram0/block_state) ]] || fail "block_state of an empty disk"
	# The settings outlive reset, as comp_algorithm does.
	reset_disk zram0
	grep -q '^#2: .*\[lz4hc\]' $z/recomp_algorithm || fail "reset dropped recomp_algorithm"
	note "recomp_algorithm: $(tr '\n' ' ' <$z/recomp_algorithm)"
}

# zram-generator 1.2's writes, answered as upstream (6.12+) answers them:
# keys it does not know are skipped, each logged once per write, and the
# known ones take effect ('algo=zstd dictionary=/etc/x level=9': level 9);
# a key without a value is EINVAL.  Its recompress write before disksize
# ('level=3 priority=1') is EINVAL there for want of a disk, as here.
test_generator_keys() {
	load_ours num_devices=1
	local z=/sys/block/zram0 mb data=/tmp/gen-data level1 level9 n
	mb=$(scaled 8 2)
	make_real_data $data "$mb"
	set_attr zram0 comp_algorithm zstd
	set_attr zram0 algorithm_params "algo=zstd level=1"
	init_disk zram0 $((mb * 2))M
	dd if=$data of=/dev/zram0 bs=1M oflag=direct status=none
	level1=$(mm_field zram0 2)
	reset_disk zram0
	set_attr zram0 algorithm_params "algo=zstd dictionary=/etc/x level=9"
	dmesg | grep -q 'zram0: algorithm_params: skipped unknown key dictionary' ||
		fail "no log line for the skipped key"
	init_disk zram0 $((mb * 2))M
	dd if=$data of=/dev/zram0 bs=1M oflag=direct status=none
	echo 3 >/proc/sys/vm/drop_caches
	cmp -n $((mb << 20)) $data /dev/zram0 || fail "zstd level 9 reads back wrong"
	level9=$(mm_field zram0 2)
	note "zstd level 1: $level1 bytes; after the generator's write (level 9): $level9"
	((level9 < level1)) || fail "level 9 not applied: $level9 bytes, level 1 $level1"
	reset_disk zram0
	# Once per key and write, however often the key comes.
	n=$(dmesg | grep -c 'algorithm_params: skipped unknown key foo' || true)
	set_attr zram0 algorithm_params "algo=zstd foo=1 bar=2 foo=3 level=3"
	[[ $(dmesg | grep -c 'algorithm_params: skipped unknown key foo') == $((n + 1)) ]] ||
		fail "foo logged $(( $(dmesg | grep -c 'skipped unknown key foo') - n )) times for one write"
	dmesg | grep -q 'algorithm_params: skipped unknown key bar' || fail "bar not logged"
	# A key without a value, known or not: EINVAL, nothing set.
	expect_write_error $z/algorithm_params "algo=zstd dictionary level=9" "Invalid argument"
	expect_write_error $z/algorithm_params "algo=zstd level" "Invalid argument"
	expect_write_error $z/algorithm_params "algo=zstd level=" "Invalid argument"
	# Neither algo= nor priority=: the primary's, as upstream.
	set_attr zram0 algorithm_params "level=5"
	# zram-generator's secondary: recomp_algorithm, then its parameters.
	set_attr zram0 recomp_algorithm "algo=lz4hc priority=1 colour=red"
	dmesg | grep -q 'zram0: recomp_algorithm: skipped unknown key colour' || fail "colour not logged"
	grep -q '^#1: .*\[lz4hc\]' $z/recomp_algorithm || fail "recomp_algorithm: $(cat $z/recomp_algorithm)"
	expect_write_error $z/recomp_algorithm "algo=lz4hc priority" "Invalid argument"
	expect_write_error $z/recompress "level=3 priority=1" "Invalid argument"
	set_attr zram0 algorithm_params "priority=1 level=12 dictionary=/etc/x"
	init_disk zram0 $((mb * 2))M
	dd if=$data of=/dev/zram0 bs=1M oflag=direct status=none
	set_attr zram0 recompress "type=idle level=3"
	dmesg | grep -q 'zram0: recompress: skipped unknown key level' || fail "recompress: level not logged"
	expect_write_error $z/recompress "type=huge idle" "Invalid argument"
	echo all >$z/idle
	set_attr zram0 recompress "type=idle speed=fast priority=1"
	echo 3 >/proc/sys/vm/drop_caches
	cmp -n $((mb << 20)) $data /dev/zram0 || fail "after recompress: reads back wrong"
	note "recompressed $(block_flags zram0 r) pages to lz4hc level 12"
}

# The issue's experiment on real files: written with lzo-rle, the idle
# pages recompressed with zstd, every page read back identical.
test_recompress_real_files() {
	load_ours num_devices=1
	local mb before after huge_before huge_after r n
	mb=$(scaled 64 16)
	make_real_tar "$mb"
	set_attr zram0 recomp_algorithm "algo=zstd"
	init_disk zram0 $((mb * 2))M
	dd if=/tmp/real.tar of=/dev/zram0 bs=1M oflag=direct status=none
	# A second file, written after `idle all`: not idle, never touched.
	head -c 4M /tmp/real.tar >/tmp/late
	huge_before=$(mm_field zram0 8)
	set_attr zram0 idle all
	dd if=/tmp/late of=/dev/zram0 bs=1M seek=$((mb + 1)) oflag=direct status=none
	before=$(mm_field zram0 3)
	set_attr zram0 recompress "type=idle"
	after=$(mm_field zram0 3)
	huge_after=$(mm_field zram0 8)
	r=$(block_flags zram0 r)
	n=$(block_flags zram0 n)
	note "lzo-rle $before bytes, after recompress type=idle to zstd $after ($((after * 100 / before)) %)"
	note "$r pages recompressed, $n incompressible, huge $huge_before -> $huge_after"
	# zstd alone stores these files in 0.85 of lzo-rle's memory (stock,
	# bench/results/recompress.md); the 4 MiB written late stay lzo-rle.
	((after * 100 < before * 90)) || fail "zstd saved less than 10 %"
	((r > (mb << 8) / 2)) || fail "only $r pages recompressed"
	((huge_after < huge_before)) || fail "no huge page compressed with zstd"
	# The late pages were not idle: none recompressed.
	[[ $(block_flags zram0 r $(((mb + 1) << 8)) $(((mb + 5) << 8))) == 0 ]] ||
		fail "recompress type=idle took pages written after idle"
	cmp -n $((mb << 20)) /tmp/real.tar /dev/zram0 || fail "recompressed pages read back wrong"
	cmp -n $((4 << 20)) /tmp/late <(dd if=/dev/zram0 bs=1M skip=$((mb + 1)) count=4 status=none) ||
		fail "late pages read back wrong"
	# A second run finds nothing: every page is at priority 1 or marked.
	set_attr zram0 recompress "type=idle"
	[[ $(block_flags zram0 r) == "$r" ]] || fail "a second run changed what was done"
	# Read again: the zstd objects decompress with zstd.
	echo 3 >/proc/sys/vm/drop_caches
	cmp -n $((mb << 20)) /tmp/real.tar /dev/zram0 || fail "second read differs"
	[[ $(io_field zram0 1) == 0 ]] || fail "failed reads"
}

pool_stat() { # DEV KEY
	local key value rest
	while read -r key value rest; do
		[[ $key != "$2:" ]] || echo "$value"
	done <"/sys/kernel/debug/zram/$1/pool"
}

# Issue 18: real files recompressed to zstd page by page, in groups of 4
# and in groups of 16: each denser than the last, every page identical;
# then a random half of the grouped pages discarded, and `compact` gives
# their memory back.
test_grouped_recompress_real_files() {
	load_ours num_devices=1
	local mb n mem groups g single four
	mb=$(scaled 64 8)
	make_real_tar "$mb"
	set_attr zram0 recomp_algorithm "algo=zstd"
	for n in 1 4 16; do
		init_disk zram0 $((mb * 2))M
		if ((n == 1)); then
			local bad
			for bad in 0 1 3 32 x; do
				expect_write_error /sys/block/zram0/recompress "group_pages=$bad" "Invalid argument"
			done
		fi
		dd if=/tmp/real.tar of=/dev/zram0 bs=1M oflag=direct status=none
		set_attr zram0 idle all
		if ((n == 1)); then
			set_attr zram0 recompress "type=idle"
		else
			set_attr zram0 recompress "type=idle group_pages=$n"
		fi
		mem=$(mm_field zram0 3)
		groups=$(pool_stat zram0 groups)
		g=$(block_flags zram0 g)
		note "zstd, groups of $n: mem_used_total $mem, $groups groups of $g pages"
		[[ $g == "$(pool_stat zram0 grouped_pages)" ]] || fail "block_state's g and grouped_pages disagree"
		echo 3 >/proc/sys/vm/drop_caches
		cmp -n $((mb << 20)) /tmp/real.tar /dev/zram0 || fail "groups of $n: pages read back wrong"
		[[ $(io_field zram0 1) == 0 ]] || fail "groups of $n: failed reads"
		case $n in
		1)
			single=$mem
			((groups == 0)) || fail "groups without group_pages"
			;;
		4)
			four=$mem
			((g > (mb << 8) / 2)) || fail "only $g of $((mb << 8)) pages grouped"
			((mem < single)) || fail "groups of 4 ($mem) not denser than pages ($single)"
			;;
		16)
			((mem < four)) || fail "groups of 16 ($mem) not denser than groups of 4 ($four)"
			;;
		esac
		((n == 16)) || reset_disk zram0
	done
	# A random half of the grouped pages discarded, one page at a time.
	python3 - "$mb" <<'PY'
import fcntl, os, random, struct, sys
BLKDISCARD = 0x1277
pages = int(sys.argv[1]) << 8
fd = os.open("/dev/zram0", os.O_RDWR)
for p in random.Random(18).sample(range(pages), pages // 2):
    fcntl.ioctl(fd, BLKDISCARD, struct.pack("QQ", p << 12, 4096))
os.close(fd)
PY
	local before after
	before=$(mm_field zram0 3)
	set_attr zram0 compact 1
	after=$(mm_field zram0 3)
	note "half discarded: mem_used_total $before, after compact $after ($((after * 100 / mem)) % of the grouped disk)"
	((after * 100 < mem * 65)) || fail "compact kept $after of $mem bytes with half the pages discarded"
	python3 - "$mb" <<'PY' || fail "pages kept read back wrong after compact"
import random, sys
pages = int(sys.argv[1]) << 8
gone = set(random.Random(18).sample(range(pages), pages // 2))
zero = bytes(4096)
with open("/tmp/real.tar", "rb") as want, open("/dev/zram0", "rb") as got:
    for p in range(pages):
        a, b = want.read(4096), got.read(4096)
        if b != (zero if p in gone else a):
            sys.exit("page %d" % p)
PY
}

# fio verify on one region while another is rewritten and trimmed and the
# whole disk is grouped (4 and 16 in turn), compacted and regrouped over
# and over, with cpu1 going offline and online.  fio's dedupe makes
# neighbours share blocks, as pages of one file do, so groups form.
test_fio_verify_during_grouped_recompress() {
	local online=/sys/devices/system/cpu/cpu1/online
	[[ -w $online ]] || fail "guest has no hot-pluggable cpu1"
	load_ours num_devices=1
	local mb churn trims like=(--refill_buffers --buffer_compress_percentage=50 --dedupe_percentage=60)
	mb=$(scaled 32 8)
	set_attr zram0 recomp_algorithm "algo=zstd"
	init_disk zram0 $((mb * 4))M
	fio --name=fill --filename=/dev/zram0 --rw=write --bs=64k --direct=1 \
		--offset=$((mb * 2))M --size=${mb}M "${like[@]}" >/tmp/fio-fill.log 2>&1 ||
		{ cat /tmp/fio-fill.log; fail "fill failed"; }
	rm -f /tmp/fio-done
	(
		n=0 most=0
		while [[ ! -e /tmp/fio-done ]]; do
			echo all >/sys/block/zram0/idle
			echo "type=idle group_pages=$((n % 2 ? 16 : 4))" >/sys/block/zram0/recompress
			g=$(pool_stat zram0 groups)
			((g <= most)) || most=$g
			echo 1 >/sys/block/zram0/compact
			((n % 3)) || { echo 0 >$online; sleep 0.1; echo 1 >$online; }
			n=$((n + 1))
		done
		echo "$n $most" >/tmp/recompressions
	) &
	local recompressor=$!
	fio --name=churn --filename=/dev/zram0 --ioengine=libaio --direct=1 \
		--bs=4k --iodepth=8 --rw=randrw --rwmixread=30 --offset=$((mb * 2))M \
		--size=${mb}M "${like[@]}" --loops=$(scaled 3 1) >/tmp/fio-churn.log 2>&1 &
	churn=$!
	fio --name=trims --filename=/dev/zram0 --rw=randtrim --bs=4k \
		--offset=$((mb * 2))M --size=${mb}M --io_size=$((mb / 2))M --loops=$(scaled 3 1) \
		>/tmp/fio-trims.log 2>&1 &
	trims=$!
	fio_verify zram0 grouped "${like[@]}" --loops=$(scaled 3 1)
	wait $churn || { cat /tmp/fio-churn.log; fail "churn job failed"; }
	wait $trims || { cat /tmp/fio-trims.log; fail "trim job failed"; }
	touch /tmp/fio-done
	wait $recompressor || fail "a recompress or compact write failed"
	[[ $(cat $online) == 1 ]] || fail "cpu1 left offline"
	local rounds most
	read -r rounds most </tmp/recompressions
	note "$rounds grouping rounds during fio, up to $most groups at once; $(block_flags zram0 g) pages grouped now"
	((rounds >= 3)) || fail "too few grouping rounds to mean anything"
	((most > 0)) || fail "no group ever formed"
	[[ $(io_field zram0 1) == 0 && $(io_field zram0 2) == 0 ]] || fail "failed I/O"
}

# type=huge, huge_idle, threshold= and max_pages= select exactly what
# they say, with three kinds of page: random (stored raw, huge), half
# random (about 2 KiB), and a short repeated pattern (tiny).
test_recompress_selection() {
	load_ours num_devices=1
	local huge half tiny
	python3 - <<'PY'
import os, random
rnd = random.Random(11)
with open("/tmp/kinds", "wb") as f:
    for i in range(768):
        kind = i % 3
        if kind == 0:    # incompressible: stored raw
            f.write(rnd.randbytes(4096))
        elif kind == 1:  # 16 symbols: LZO ~2.9 KiB, zstd's entropy coder ~1.5
            f.write(bytes(rnd.choice(b"0123456789abcdef") for _ in range(2800)) + bytes(1296))
        else:            # compresses to a few dozen bytes
            f.write((b"%08d tiny pg" % i) * 256)
PY
	set_attr zram0 recomp_algorithm "algo=zstd"
	set_attr zram0 algorithm_params "algo=zstd level=19"
	init_disk zram0 8M
	dd if=/tmp/kinds of=/dev/zram0 bs=64k oflag=direct status=none
	huge=$(mm_field zram0 8)
	[[ $huge == 256 ]] || fail "$huge huge pages, wanted the 256 random ones"
	# max_pages: exactly that many tried (each ends recompressed or
	# incompressible: there is one secondary algorithm).
	set_attr zram0 recompress "max_pages=100"
	[[ $(($(block_flags zram0 r) + $(block_flags zram0 n))) == 100 ]] ||
		fail "max_pages=100 tried $(($(block_flags zram0 r) + $(block_flags zram0 n)))"
	reset_disk zram0
	init_disk zram0 8M
	dd if=/tmp/kinds of=/dev/zram0 bs=64k oflag=direct status=none
	# type=huge: only the random pages, which zstd cannot shrink either.
	set_attr zram0 recompress "type=huge"
	[[ $(block_flags zram0 n) == 256 && $(block_flags zram0 r) == 0 ]] ||
		fail "type=huge: $(block_flags zram0 n) incompressible, $(block_flags zram0 r) recompressed"
	awk '$3 ~ /n/ && $1 % 3 != 0 { bad++ } END { exit bad > 0 }' \
		/sys/kernel/debug/zram/zram0/block_state || fail "type=huge took a non-huge page"
	# threshold=2000: the 16-symbol pages only (zstd puts them below
	# it), never the tiny ones.
	set_attr zram0 recompress "threshold=2000"
	awk '$3 ~ /[rn]/ && $1 % 3 == 2 { bad++ } END { exit bad > 0 }' \
		/sys/kernel/debug/zram/zram0/block_state || fail "threshold=2000 took a tiny page"
	half=$(awk '$3 ~ /r/ && $1 % 3 == 1 { n++ } END { print n + 0 }' \
		/sys/kernel/debug/zram/zram0/block_state)
	[[ $half == 256 ]] || fail "threshold=2000 recompressed $half of the 256 16-symbol pages"
	# huge_idle: nothing is idle yet, then only idle huge pages.
	reset_disk zram0
	init_disk zram0 8M
	dd if=/tmp/kinds of=/dev/zram0 bs=64k oflag=direct status=none
	set_attr zram0 recompress "type=huge_idle"
	[[ $(block_flags zram0 n) == 0 ]] || fail "huge_idle took pages nobody marked idle"
	set_attr zram0 idle all
	dd if=/tmp/kinds of=/dev/zram0 bs=4k count=384 oflag=direct status=none
	set_attr zram0 recompress "type=huge_idle"
	tiny=$(block_flags zram0 n)
	[[ $tiny == 128 ]] || fail "huge_idle took $tiny pages, wanted the 128 idle huge ones"
	[[ $(block_flags zram0 n 0 383) == 0 ]] || fail "huge_idle took rewritten pages"
	cmp /tmp/kinds /dev/zram0 -n $((768 * 4096)) || fail "pages read back wrong"
	note "max_pages, type=huge, threshold and huge_idle took exactly their pages"
}

# fio verify on one region while another is rewritten and trimmed and the
# whole disk is marked idle and recompressed over and over, with cpu1
# going offline and online: every verified block reads back as written.
test_fio_verify_during_recompress() {
	local online=/sys/devices/system/cpu/cpu1/online
	[[ -w $online ]] || fail "guest has no hot-pluggable cpu1"
	load_ours num_devices=1
	local mb
	mb=$(scaled 32 8)
	set_attr zram0 recomp_algorithm "algo=zstd priority=1"
	set_attr zram0 recomp_algorithm "algo=lz4hc priority=2"
	init_disk zram0 $((mb * 4))M
	fill_churn_region "$mb"
	rm -f /tmp/fio-done
	(
		n=0
		while [[ ! -e /tmp/fio-done ]]; do
			echo all >/sys/block/zram0/idle
			echo type=idle >/sys/block/zram0/recompress
			echo type=huge priority=2 >/sys/block/zram0/recompress
			((n % 3)) || { echo 0 >$online; sleep 0.1; echo 1 >$online; }
			n=$((n + 1))
		done
		echo $n >/tmp/recompressions
	) &
	local recompressor=$!
	verify_beside_churn recompress "$mb"
	touch /tmp/fio-done
	wait $recompressor || fail "a recompress write failed"
	[[ $(cat $online) == 1 ]] || fail "cpu1 left offline"
	note "$(cat /tmp/recompressions) idle + recompress rounds during fio; $(block_flags zram0 r) pages recompressed now"
	(($(cat /tmp/recompressions) >= 3)) || fail "too few recompress rounds to mean anything"
	(($(block_flags zram0 r) > 0)) || fail "nothing was recompressed"
	[[ $(io_field zram0 1) == 0 && $(io_field zram0 2) == 0 ]] || fail "failed I/O"
}

policy_stat() { # DEV KEY
	awk -v k="$2:" '$1 == k { print $2 }' "/sys/kernel/debug/zram/$1/idle_policy"
}

# The module recompresses idle pages by itself: nothing younger than the
# age, never more than the budget per run, and it stops on reset and rmmod.
test_idle_policy() {
	load_ours num_devices=1
	local z=/sys/block/zram0 runs tried i
	[[ $(cat $z/idle_policy) == off ]] || fail "idle_policy on at load"
	expect_write_error $z/idle_policy "interval=1 recompress_after=1" "Invalid argument"
	dmesg | grep -q 'idle_policy recompresses with recomp_algorithm' || fail "no log line"
	set_attr zram0 recomp_algorithm "algo=zstd"
	expect_write_error $z/idle_policy "interval=0 recompress_after=1" "Invalid argument"
	expect_write_error $z/idle_policy "interval=1" "Invalid argument"
	expect_write_error $z/idle_policy "interval=1 recompress_after=x" "Invalid argument"
	expect_write_error $z/idle_policy "off interval=1" "Invalid argument"
	expect_write_error $z/idle_policy "interval=1 recompress_after=1 speed=9" "Invalid argument"
	expect_write_error $z/idle_policy "interval=86401 recompress_after=1" "Invalid argument"
	for i in 0 1 3 32 x; do
		expect_write_error $z/idle_policy "interval=1 recompress_after=1 recompress_group_pages=$i" "Invalid argument"
	done
	set_attr zram0 idle_policy "interval=1 recompress_after=3600 recompress_group_pages=8"
	[[ $(cat $z/idle_policy) == "interval=1 recompress_after=3600 recompress_pages=0 writeback_after=0 writeback_pages=0 recompress_group_pages=8" ]] ||
		fail "idle_policy reads '$(cat $z/idle_policy)'"
	# Set before disksize: it starts with the disk.
	set_attr zram0 idle_policy "interval=1 recompress_after=3600 recompress_pages=300"
	[[ $(cat $z/idle_policy) == "interval=1 recompress_after=3600 recompress_pages=300 writeback_after=0 writeback_pages=0" ]] ||
		fail "idle_policy reads '$(cat $z/idle_policy)'"
	make_real_tar 8
	init_disk zram0 16M
	dd if=/tmp/real.tar of=/dev/zram0 bs=1M oflag=direct status=none
	# Nothing is an hour old: runs happen, nothing is taken.
	for i in $(seq 30); do (($(policy_stat zram0 runs) >= 2)) && break; sleep 0.5; done
	(($(policy_stat zram0 runs) >= 2)) || fail "the policy does not run"
	[[ $(policy_stat zram0 tried) == 0 && $(block_flags zram0 r) == 0 ]] ||
		fail "pages younger than recompress_after were recompressed"
	set_attr zram0 idle_policy "interval=1 recompress_after=1 recompress_pages=300"
	for i in $(seq 120); do
		(($(block_flags zram0 r) + $(block_flags zram0 n) >= 2048)) && break
		sleep 0.5
		# Pages first, then runs (counted when a run starts): every
		# page seen was tried by a run counted after it.
		tried=$(policy_stat zram0 tried)
		runs=$(policy_stat zram0 runs)
		# Each run takes at most its budget.
		((tried <= runs * 300)) || fail "$tried pages tried in $runs runs of 300"
	done
	tried=$(policy_stat zram0 tried)
	note "policy: $(policy_stat zram0 runs) runs, $tried tried, $(policy_stat zram0 recompressed) recompressed; mm_stat $(cat $z/mm_stat)"
	(($(block_flags zram0 r) + $(block_flags zram0 n) >= 2048)) ||
		fail "the policy left pages: $(block_flags zram0 r) r, $(block_flags zram0 n) n"
	(($(policy_stat zram0 recompressed) > 1024)) || fail "few pages recompressed"
	cmp -n $((8 << 20)) /tmp/real.tar /dev/zram0 || fail "pages read back wrong"
	# Reset stops it (and it survives as a setting); rmmod with it
	# running neither hangs nor leaks.
	reset_disk zram0
	runs=$(policy_stat zram0 runs)
	sleep 2.5
	[[ $(policy_stat zram0 runs) == "$runs" ]] || fail "the policy ran after reset"
	[[ $(cat $z/idle_policy) == "interval=1 recompress_after=1 recompress_pages=300 writeback_after=0 writeback_pages=0" ]] ||
		fail "reset dropped idle_policy"
	init_disk zram0 16M
	dd if=/tmp/real.tar of=/dev/zram0 bs=1M oflag=direct status=none
	sleep 2
	set_attr zram0 idle_policy off
	runs=$(policy_stat zram0 runs)
	sleep 2.5
	[[ $(policy_stat zram0 runs) == "$runs" ]] || fail "the policy ran after off"
	set_attr zram0 idle_policy "interval=1 recompress_after=1"
	sleep 1.5
	timeout 60 rmmod zram || fail "rmmod with the policy on failed or hung"
}

kernel_kib_in_use() {
	awk '/^(VmallocUsed|Slab):/ {s += $2} END {print s}' /proc/meminfo
}

# The dictionaries' tests' dictionary: 64 KiB of C headers, like a third
# of make_real_tar's data.
make_header_dict() { # FILE
	cat /usr/include/stdlib.h /usr/include/unistd.h /usr/include/linux/input-event-codes.h >"$1"
	truncate -s 64K "$1"
	[[ $(stat -c %s "$1") == 65536 ]] || fail "no 64 KiB dictionary"
}

# lz4 and lz4hc with a dictionary (algorithm_params dict=), as primary and
# as secondary algorithm: real files read back identical, and a dictionary
# of similar data makes them smaller than without.
test_lz4_dictionary() {
	local mb with lz4 plain=0 with_dict=0
	mb=$(scaled 16 4)
	make_real_tar "$mb"
	make_header_dict /tmp/dict
	for with in no yes; do
		load_ours num_devices=1
		set_attr zram0 comp_algorithm lz4
		set_attr zram0 recomp_algorithm "algo=lz4hc"
		if [[ $with == yes ]]; then
			set_attr zram0 algorithm_params "algo=lz4 dict=/tmp/dict"
			set_attr zram0 algorithm_params "algo=lz4hc level=12 dict=/tmp/dict"
		fi
		init_disk zram0 $((mb * 2))M
		dd if=/tmp/real.tar of=/dev/zram0 bs=1M oflag=direct status=none
		cmp -n $((mb << 20)) /tmp/real.tar /dev/zram0 || fail "lz4 (dict $with) reads back wrong"
		lz4=$(mm_field zram0 2)
		echo >/sys/block/zram0/recompress || fail "recompress of every page failed"
		cmp -n $((mb << 20)) /tmp/real.tar /dev/zram0 || fail "lz4hc (dict $with) reads back wrong"
		note "dictionary $with: lz4 $lz4 bytes, after recompress to lz4hc $(mm_field zram0 2) ($(block_flags zram0 r) pages)"
		(($(block_flags zram0 r) > 0)) || fail "lz4hc recompressed nothing"
		if [[ $with == no ]]; then plain=$lz4; else with_dict=$lz4; fi
	done
	((with_dict < plain)) || fail "the dictionary did not make lz4 smaller ($with_dict >= $plain)"
	# Changing the algorithm drops its dictionary and level.
	load_ours num_devices=1
	set_attr zram0 comp_algorithm lz4
	set_attr zram0 algorithm_params "algo=lz4 dict=/tmp/dict"
	set_attr zram0 comp_algorithm lzo-rle
	set_attr zram0 comp_algorithm lz4
	init_disk zram0 16M
	dd if=/tmp/real.tar of=/dev/zram0 bs=1M count=4 oflag=direct status=none
	cmp -n $((4 << 20)) /tmp/real.tar /dev/zram0 || fail "lz4 after dropping its dictionary"
}

# zstd with a dictionary (algorithm_params dict=), where lib/zstd exports
# its dictionary functions (6.12): as primary, real files read back
# identical and come out smaller than without, and about as small as stock
# zram's with the same dictionary; as secondary, page by page and in
# groups (a group's compressor is sized for the group).  On 6.1: refused
# with EOPNOTSUPP and a line that says why.
test_zstd_dictionary() {
	local mb with size plain=0 with_dict=0 stock before
	if [[ $(uname -r) == 6.1.* ]]; then
		load_ours num_devices=1
		set_attr zram0 comp_algorithm zstd
		expect_write_error /sys/block/zram0/algorithm_params "algo=zstd dict=/etc/hostname" \
			"Operation not supported"
		dmesg | grep -q 'zstd dictionary needs lib/zstd' || fail "no log line for a zstd dict"
		note "6.1: refused, $(dmesg | grep 'zstd dictionary needs' | tail -n1 | sed 's/^\[[^]]*\] //')"
		return 0
	fi
	mb=$(scaled 8 2)
	make_real_tar "$mb"
	make_header_dict /tmp/dict
	for with in no yes stock; do
		if [[ $with == stock ]]; then load_stock num_devices=1; else load_ours num_devices=1; fi
		set_attr zram0 comp_algorithm zstd
		[[ $with == no ]] || set_attr zram0 algorithm_params "algo=zstd dict=/tmp/dict"
		before=$(kernel_kib_in_use)
		init_disk zram0 $((mb * 2))M
		note "zstd, dictionary $with: init took $(($(kernel_kib_in_use) - before)) KiB (vmalloc + slab, $(nproc) CPUs)"
		dd if=/tmp/real.tar of=/dev/zram0 bs=1M oflag=direct status=none
		cmp -n $((mb << 20)) /tmp/real.tar /dev/zram0 || fail "zstd (dict $with) reads back wrong"
		size=$(mm_field zram0 2)
		note "zstd, dictionary $with: $size compressed bytes"
		case $with in
		no) plain=$size ;;
		yes) with_dict=$size ;;
		stock) stock=$size ;;
		esac
	done
	((with_dict < plain)) || fail "the dictionary did not make zstd smaller ($with_dict >= $plain)"
	((with_dict * 100 <= stock * 102)) || fail "ours with the dictionary $with_dict, stock's $stock"
	# As the secondary, at level 9: page by page, then a second disk's
	# pages in groups of 4.
	load_ours num_devices=1
	set_attr zram0 comp_algorithm lz4
	set_attr zram0 recomp_algorithm "algo=zstd"
	set_attr zram0 algorithm_params "algo=zstd level=9 dict=/tmp/dict"
	init_disk zram0 $((mb * 2))M
	dd if=/tmp/real.tar of=/dev/zram0 bs=1M oflag=direct status=none
	size=$(mm_field zram0 2)
	echo >/sys/block/zram0/recompress || fail "recompress with a zstd dictionary failed"
	(($(block_flags zram0 r) > 0)) || fail "zstd with a dictionary recompressed nothing"
	cmp -n $((mb << 20)) /tmp/real.tar /dev/zram0 || fail "recompressed pages read back wrong"
	note "secondary: lz4 $size bytes, $(block_flags zram0 r) pages recompressed: $(mm_field zram0 2)"
	reset_disk zram0
	set_attr zram0 recomp_algorithm "algo=zstd"
	set_attr zram0 algorithm_params "algo=zstd level=9 dict=/tmp/dict"
	init_disk zram0 $((mb * 2))M
	dd if=/tmp/real.tar of=/dev/zram0 bs=1M oflag=direct status=none
	echo all >/sys/block/zram0/idle
	set_attr zram0 recompress "type=idle group_pages=4"
	cmp -n $((mb << 20)) /tmp/real.tar /dev/zram0 || fail "grouped pages read back wrong"
	note "in groups of 4: $(mm_field zram0 2) bytes"
	reset_disk zram0
}

# The same worker writing back by itself: pages idle for writeback_after
# go to the backing device, at most writeback_pages per run and never past
# writeback_limit, and every page reads back identical.
test_idle_policy_writeback() {
	load_ours num_devices=1
	local z=/sys/block/zram0 loop i runs written
	expect_write_error $z/idle_policy "interval=1 writeback_after=x" "Invalid argument"
	expect_write_error $z/idle_policy "interval=1 writeback_pages=5" "Invalid argument"
	loop=$(setup_loop_backing 64)
	set_attr zram0 backing_dev "$loop"
	# No recomp_algorithm needed for writeback alone.
	set_attr zram0 idle_policy "interval=1 writeback_after=1 writeback_pages=200"
	make_real_tar 4
	init_disk zram0 16M
	set_attr zram0 writeback_limit_enable 1
	set_attr zram0 writeback_limit 700
	dd if=/tmp/real.tar of=/dev/zram0 bs=1M oflag=direct status=none
	for i in $(seq 60); do
		sleep 0.5
		# Pages first, then runs (counted when a run starts).
		written=$(bd_field zram0 3)
		runs=$(policy_stat zram0 runs)
		((written <= runs * 200)) || fail "$written pages written in $runs runs of 200"
		(($(zattr zram0 writeback_limit) == 0)) && break
	done
	written=$(bd_field zram0 3)
	note "policy: $(policy_stat zram0 runs) runs, $written pages written back, limit left $(zattr zram0 writeback_limit); bd_stat $(cat $z/bd_stat)"
	[[ $written == 700 ]] || fail "the policy wrote $written pages, wanted the limit's 700"
	[[ $(policy_stat zram0 written) == 700 ]] || fail "policy counts $(policy_stat zram0 written)"
	[[ $(block_flags zram0 w) == 700 ]] || fail "$(block_flags zram0 w) slots written back"
	sleep 2
	[[ $(bd_field zram0 3) == 700 ]] || fail "wrote past writeback_limit"
	echo 3 >/proc/sys/vm/drop_caches
	cmp -n $((4 << 20)) /tmp/real.tar /dev/zram0 || fail "pages read back wrong"
	(($(bd_field zram0 2) > 0)) || fail "no page was read from the backing device"
	timeout 60 rmmod zram || fail "rmmod with the writeback policy on failed or hung"
	losetup -d "$loop"
}

recompress_tests=(test_recompress_attributes test_generator_keys test_lz4_dictionary test_zstd_dictionary
	test_recompress_real_files
	test_recompress_selection test_fio_verify_during_recompress test_idle_policy
	test_idle_policy_writeback test_grouped_recompress_real_files
	test_fio_verify_during_grouped_recompress)
