# shellcheck shell=bash
# Writeback beyond 6.1 (issue 12): upstream 6.16's key=value `writeback`,
# batched write bios (6.19's writeback_batch_size) under fio verify, and a
# backing device that fails writes.  Sourced by tests/vm/suite.sh.

# PAGES pages of real data, each stamped with its number in its first 8
# bytes (so no page is same-filled and every page differs), then RANDOM
# pages of noise (stored raw: huge), into FILE.
make_stamped_data() { # FILE PAGES RANDOM
	make_real_data /tmp/perl-src $((($2 >> 8) + 1))
	python3 - "$1" "$2" "$3" <<'PY'
import os, struct, sys
out, pages, rnd = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
src = open('/tmp/perl-src', 'rb').read()
with open(out, 'wb') as f:
    for i in range(pages):
        f.write(struct.pack('<Q', (1 << 63) | i) + src[i * 4096 + 8:(i + 1) * 4096])
    f.write(os.urandom(rnd * 4096))
PY
}

bd_field() { stat_field "/sys/block/$1/bd_stat" "$2"; }

# Reads page N of DEV (direct) and prints how many backing-device reads
# that cost: 1 if the page was written back, 0 if it was in memory.
backing_reads_of_page() { # DEV N
	local before
	before=$(bd_field "$1" 2)
	dd if="/dev/$1" of=/dev/null bs=4k skip="$2" count=1 iflag=direct status=none
	echo $(($(bd_field "$1" 2) - before))
}

setup_loop_backing() { # SIZE-MiB -> prints the loop device
	modprobe loop
	rm -f /tmp/backing.img
	truncate -s "$1M" /tmp/backing.img
	losetup -f --show /tmp/backing.img
}

# Every form of `writeback` and its errors; page_indexes exact, by
# bd_stat and by which pages read from the backing device afterwards.
test_writeback_key_value() {
	load_ours num_devices=2
	local z=/sys/block/zram0 loopdev count
	loopdev=$(setup_loop_backing 32)
	set_attr zram0 backing_dev "$loopdev"
	expect_write_error $z/writeback idle "Invalid argument" # before init
	init_disk zram0 16M
	init_disk zram1 4M
	expect_write_error /sys/block/zram1/writeback type=huge "No such device"
	expect_write_error /sys/block/zram1/writeback page_indexes=1-2 "No such device"

	# writeback_batch_size: default 32, 1..1024.
	[[ $(zattr zram0 writeback_batch_size) == 32 ]] || fail "batch size default"
	expect_write_error $z/writeback_batch_size 0 "Invalid argument"
	expect_write_error $z/writeback_batch_size 1025 "Invalid argument"
	expect_write_error $z/writeback_batch_size x "Invalid argument"
	set_attr zram0 writeback_batch_size 7
	[[ $(zattr zram0 writeback_batch_size) == 7 ]] || fail "batch size show"

	# 0..1535: stamped real data; 1536..2047: noise (huge).
	make_stamped_data /tmp/wb-data 1536 512
	dd if=/tmp/wb-data of=/dev/zram0 bs=1M oflag=direct status=none
	[[ $(mm_field zram0 6) == 0 ]] || fail "same-filled pages in stamped data"
	(($(mm_field zram0 8) >= 500)) || fail "noise made only $(mm_field zram0 8) huge pages"

	local bad
	for bad in sometimes type=sometimes type= =idle bogus=1 page_index=abc \
		page_index=-1 page_indexes=5 page_indexes=9-3 page_indexes=a-9 \
		"type=idle type=huge" "page_index=1 frobnicate" " "; do
		expect_write_error $z/writeback "$bad" "Invalid argument"
	done
	for bad in page_index=4096 page_indexes=0-4096 page_indexes=4095-4096 \
		page_index=99999999999999999999999; do
		expect_write_error $z/writeback "$bad" "Numerical result out of range"
	done
	[[ $(bd_field zram0 3) == 0 ]] || fail "a rejected write wrote back: $(cat $z/bd_stat)"

	# Ranges are exact: LOW and HIGH included, nothing beside them.
	set_attr zram0 writeback page_indexes=100-199
	[[ $(bd_field zram0 1) == 100 && $(bd_field zram0 3) == 100 ]] ||
		fail "page_indexes=100-199: bd_stat $(cat $z/bd_stat)"
	echo 3 >/proc/sys/vm/drop_caches
	local n want
	for n in 99:0 100:1 150:1 199:1 200:0; do
		want=${n#*:}
		[[ $(backing_reads_of_page zram0 "${n%:*}") == "$want" ]] ||
			fail "page ${n%:*}: expected $want backing reads"
	done
	set_attr zram0 writeback "page_index=5 page_index=7"
	set_attr zram0 writeback "page_indexes=300-309 page_indexes=400-404 page_index=7"
	[[ $(bd_field zram0 1) == 117 ]] || fail "several ranges: bd_stat $(cat $z/bd_stat)"
	for n in 5:1 6:0 7:1 309:1 310:0 404:1 405:0; do
		want=${n#*:}
		[[ $(backing_reads_of_page zram0 "${n%:*}") == "$want" ]] ||
			fail "page ${n%:*}: expected $want backing reads"
	done

	# A type applies to every range of the write.
	set_attr zram0 writeback "type=huge page_indexes=1500-1599"
	[[ $(bd_field zram0 1) == $((117 + 64)) ]] || fail "type=huge in 1500-1599: bd_stat $(cat $z/bd_stat)"
	set_attr zram0 writeback "page_indexes=1600-1609 huge" # bare word too
	[[ $(bd_field zram0 1) == $((181 + 10)) ]] || fail "huge 1600-1609: bd_stat $(cat $z/bd_stat)"
	# idle: read 600..649 after `idle all` (a read is an access).
	set_attr zram0 idle all
	dd if=/dev/zram0 of=/dev/null bs=4k skip=600 count=50 iflag=direct status=none
	set_attr zram0 writeback "type=idle page_indexes=600-699"
	[[ $(bd_field zram0 1) == $((191 + 50)) ]] || fail "type=idle in 600-699: bd_stat $(cat $z/bd_stat)"
	set_attr zram0 writeback "type=huge_idle page_indexes=1700-1709"
	[[ $(bd_field zram0 1) == $((241 + 10)) ]] || fail "type=huge_idle: bd_stat $(cat $z/bd_stat)"
	# Nothing is flagged incompressible without recompression: no-op.
	set_attr zram0 writeback type=incompressible
	set_attr zram0 writeback incompressible
	[[ $(bd_field zram0 1) == 251 ]] || fail "incompressible wrote: bd_stat $(cat $z/bd_stat)"
	# Already written back: nothing to do, no error.
	set_attr zram0 writeback page_index=150

	# writeback_limit: spent on the largest first; then EIO.
	set_attr zram0 writeback_limit_enable 1
	set_attr zram0 writeback_limit 5
	expect_write_error $z/writeback "page_indexes=1000-1099" "Input/output error"
	[[ $(bd_field zram0 1) == 256 && $(zattr zram0 writeback_limit) == 0 ]] ||
		fail "limit 5: bd_stat $(cat $z/bd_stat), limit $(zattr zram0 writeback_limit)"
	expect_write_error $z/writeback "page_index=1200" "Input/output error"
	set_attr zram0 writeback_limit 1000
	set_attr zram0 writeback "type=huge page_indexes=1800-1809"
	[[ $(zattr zram0 writeback_limit) == 990 ]] || fail "limit not charged: $(zattr zram0 writeback_limit)"
	set_attr zram0 writeback_limit_enable 0

	# type=idle over the whole disk, then every page must read back.
	set_attr zram0 idle all
	set_attr zram0 writeback_batch_size 256
	set_attr zram0 writeback type=idle
	count=$(bd_field zram0 1)
	((count == 2048)) || fail "type=idle left pages: bd_stat $(cat $z/bd_stat)"
	note "bd_stat after every form: $(cat $z/bd_stat)"
	echo 3 >/proc/sys/vm/drop_caches
	cmp /tmp/wb-data /dev/zram0 -n $((2048 * 4096)) || fail "data differs after writeback"
	[[ $(io_field zram0 1) == 0 && $(io_field zram0 2) == 0 ]] || fail "failed I/O"
	reset_disk zram0
	reset_disk zram1
	losetup -d "$loopdev"
}

# Batched writeback at 1, 32 and 256 bios in flight while fio writes and
# verifies (crc32c) the same disk: slots rewritten during their write
# must keep the new data, and everything must verify.
test_writeback_batches_under_fio() {
	load_ours num_devices=1
	local z=/sys/block/zram0 loopdev batch before runs stale
	loopdev=$(setup_loop_backing 64)
	set_attr zram0 backing_dev "$loopdev"
	init_disk zram0 64M
	for batch in 1 32 256; do
		set_attr zram0 writeback_batch_size $batch
		before=$(bd_field zram0 3)
		rm -f /tmp/wb-done
		(
			n=0
			while [[ ! -e /tmp/wb-done ]]; do
				echo all >$z/idle
				# ENOSPC once the backing device is full: keep going.
				echo idle >$z/writeback 2>/dev/null || true
				n=$((n + 1))
				sleep 0.1
			done
			echo $n >/tmp/wb-runs
		) &
		local writer=$!
		fio_verify zram0 "wb-batch-$batch" --refill_buffers --buffer_compress_percentage=50 \
			--loops=$(scaled 2 1)
		touch /tmp/wb-done
		wait $writer
		runs=$(cat /tmp/wb-runs)
		note "batch $batch: $runs writeback runs, $(($(bd_field zram0 3) - before)) pages written, bd_stat $(cat $z/bd_stat)"
		(($(bd_field zram0 3) > before)) || fail "batch $batch wrote nothing back"
		((runs >= 2)) || fail "batch $batch: too few writeback runs"
	done
	stale=$(awk '$1 == "stale:" {print $2}' /sys/kernel/debug/zram/zram0/writeback)
	note "stale writes (slot rewritten during its write): $stale"
	[[ $(awk '$1 == "failed:" {print $2}' /sys/kernel/debug/zram/zram0/writeback) == 0 ]] ||
		fail "writes to the loop device failed"
	[[ $(io_field zram0 1) == 0 && $(io_field zram0 2) == 0 ]] || fail "failed I/O"
	reset_disk zram0
	losetup -d "$loopdev"
}

# A backing device that fails writes: a loop device on a full tmpfs.  The
# runs fail with an error, failed writes are counted, every page reads
# back (from memory or from the blocks that were written), and reset and
# rmmod do not hang.
test_writeback_failing_device() {
	load_ours num_devices=1
	local z=/sys/block/zram0 loopdev batch failed count out
	mkdir -p /tmp/full
	mount -t tmpfs -o size=1M tmpfs /tmp/full
	truncate -s 64M /tmp/full/backing.img
	modprobe loop
	loopdev=$(losetup -f --show /tmp/full/backing.img)
	set_attr zram0 backing_dev "$loopdev"
	init_disk zram0 32M
	make_stamped_data /tmp/wb-data 2048 0
	dd if=/tmp/wb-data of=/dev/zram0 bs=1M oflag=direct status=none
	for batch in 1 32; do
		set_attr zram0 writeback_batch_size $batch
		set_attr zram0 idle all
		if out=$( (echo idle >$z/writeback) 2>&1); then
			fail "writeback to a full device succeeded (batch $batch)"
		fi
		note "batch $batch: writeback idle: ${out##*: }; bd_stat $(cat $z/bd_stat)"
		[[ $out == *"No space left on device"* || $out == *"Input/output error"* ]] ||
			fail "unexpected error: $out"
	done
	failed=$(awk '$1 == "failed:" {print $2}' /sys/kernel/debug/zram/zram0/writeback)
	count=$(bd_field zram0 1)
	note "failed writes counted: $failed; pages on the device: $count"
	((failed >= 2)) || fail "failed writes not counted: $failed"
	((count < 2048)) || fail "every page went to a 1 MiB tmpfs?"
	[[ $(bd_field zram0 3) == "$count" ]] || fail "bd_writes counts failed writes: $(cat $z/bd_stat)"
	echo 3 >/proc/sys/vm/drop_caches
	cmp /tmp/wb-data /dev/zram0 -n $((2048 * 4096)) || fail "data differs after failed writeback"
	[[ $(io_field zram0 1) == 0 ]] || fail "failed reads"
	timeout 60 sh -c "echo 1 >$z/reset" || fail "reset hung or failed"
	timeout 60 rmmod zram || fail "rmmod hung or failed"
	losetup -d "$loopdev"
	umount /tmp/full
}

# compressed_writeback (upstream 7.0): objects go to the device as they
# are and reads decompress them; real files round-trip, compr_data_size
# no longer counts them, bd_stat counts blocks; then fio verify while
# writeback runs over and over, so reads race with rewrites.
test_compressed_writeback() {
	load_ours num_devices=1
	local z=/sys/block/zram0 loopdev count
	loopdev=$(setup_loop_backing 64)
	[[ $(zattr zram0 compressed_writeback) == 0 ]] || fail "compressed_writeback on by default"
	expect_write_error $z/compressed_writeback x "Invalid argument"
	set_attr zram0 compressed_writeback 1
	[[ $(zattr zram0 compressed_writeback) == 1 ]] || fail "compressed_writeback show"
	set_attr zram0 backing_dev "$loopdev"
	init_disk zram0 64M
	expect_write_error $z/compressed_writeback 0 "Device or resource busy"
	make_stamped_data /tmp/cwb-data 1536 512
	dd if=/tmp/cwb-data of=/dev/zram0 bs=1M oflag=direct status=none
	local compr huge
	compr=$(mm_field zram0 2)
	huge=$(mm_field zram0 8)
	set_attr zram0 idle all
	set_attr zram0 writeback idle
	count=$(bd_field zram0 1)
	[[ $count == 2048 && $(bd_field zram0 3) == 2048 ]] || fail "bd_stat $(cat $z/bd_stat)"
	[[ $(mm_field zram0 2) == 0 ]] || fail "compr_data_size still $(mm_field zram0 2) of $compr"
	[[ $(mm_field zram0 1) == $((2048 * 4096)) ]] || fail "orig_data_size changed"
	note "compressed writeback: $compr bytes ($huge huge pages) to $count blocks"
	echo 3 >/proc/sys/vm/drop_caches
	cmp -n $((2048 * 4096)) /tmp/cwb-data /dev/zram0 || fail "data differs after compressed writeback"
	(($(bd_field zram0 2) >= 2048)) || fail "reads did not come from the device: $(cat $z/bd_stat)"
	# Rewritten pages read their new data; their blocks are freed.
	head -c $((16 * 4096)) /dev/urandom >/tmp/cwb-new
	dd if=/tmp/cwb-new of=/dev/zram0 bs=4k seek=100 oflag=direct status=none
	[[ $(bd_field zram0 1) == 2032 ]] || fail "rewrites kept blocks: $(cat $z/bd_stat)"
	cmp -n $((16 * 4096)) /tmp/cwb-new <(dd if=/dev/zram0 bs=4k skip=100 count=16 iflag=direct status=none) ||
		fail "rewritten pages differ"
	[[ $(io_field zram0 1) == 0 ]] || fail "failed reads"

	# Reads of compressed blocks racing with rewrites and writeback.
	rm -f /tmp/wb-done
	(
		while [[ ! -e /tmp/wb-done ]]; do
			echo all >$z/idle
			echo idle >$z/writeback 2>/dev/null || true
			sleep 0.1
		done
	) &
	local writer=$!
	fio_verify zram0 compressed-wb --refill_buffers --buffer_compress_percentage=50
	touch /tmp/wb-done
	wait $writer
	note "after fio: bd_stat $(cat $z/bd_stat)"
	[[ $(io_field zram0 1) == 0 && $(io_field zram0 2) == 0 ]] || fail "failed I/O"
	reset_disk zram0
	[[ $(zattr zram0 compressed_writeback) == 1 ]] || fail "reset dropped compressed_writeback"
	set_attr zram0 compressed_writeback 0
	losetup -d "$loopdev"
}

# A backing device whose reads take READ-MS milliseconds and whose writes
# take WRITE-MS (default 0: straight through): device-mapper's delay target
# over a loop device, so a test holds a read or a writeback batch in
# flight for as long as it needs.  Prints the dm device.  DM_DISABLE_UDEV:
# the guest runs no udevd, so libdevmapper makes the /dev/mapper node
# itself instead of waiting.
setup_slow_backing() { # SIZE-MiB READ-MS [WRITE-MS]
	local loopdev
	modprobe dm-delay
	# A test that failed half-way left it behind.
	DM_DISABLE_UDEV=1 dmsetup remove zcx-slow >/dev/null 2>&1 || true
	loopdev=$(setup_loop_backing "$1")
	DM_DISABLE_UDEV=1 dmsetup create zcx-slow \
		--table "$(slow_backing_table "$loopdev" "$2" "${3:-0}")" || fail "dmsetup create"
	echo /dev/mapper/zcx-slow
}

# dm-delay's table over LOOPDEV: reads and writes each delayed by their MS.
slow_backing_table() { # LOOPDEV READ-MS WRITE-MS
	echo "0 $(blockdev --getsz "$1") delay $1 0 $2 $1 0 $3"
}

# The loop device under the slow device.
slow_backing_loop() {
	dmsetup deps -o devname zcx-slow | sed -n 's/.*(\(loop[0-9]*\)).*/\/dev\/\1/p'
}

# I/O the slow device holds back right now: field 4 of dm-delay's status
# for reads, 5 for writes.
slow_backing_held() { # 4|5
	local st
	read -ra st < <(dmsetup status zcx-slow)
	echo "${st[$1 - 1]}"
}

teardown_slow_backing() {
	local loopdev
	loopdev=$(slow_backing_loop)
	DM_DISABLE_UDEV=1 dmsetup remove zcx-slow
	losetup -d "$loopdev"
}

# Sleeps SECONDS without forking sleep(1): on the debug kernel under a
# busy host each fork and exec costs a good part of a second, which a
# poll cannot afford.  `read -t` on a pipe nobody writes to.
nap() { # SECONDS
	[[ -n ${nap_fd-} ]] || exec {nap_fd}<> <(:)
	read -rt "$1" -u "$nap_fd" _ || true
}

# Sets the slow device's delays anew.  The reload suspends the device
# first, which lets every I/O it holds go: with a write delay far longer
# than any test, a write stays held until the test says so
# (slow_backing_delays 0 0), however slowly the guest runs.
slow_backing_delays() { # READ-MS WRITE-MS
	DM_DISABLE_UDEV=1 dmsetup reload zcx-slow \
		--table "$(slow_backing_table "$(slow_backing_loop)" "$1" "$2")" || fail "dmsetup reload"
	DM_DISABLE_UDEV=1 dmsetup resume zcx-slow || fail "dmsetup resume"
}

# Held for as long as any test needs (see slow_backing_delays), and no
# longer than a minute should a failed test leave it held.
# shellcheck disable=SC2034 # used by races.sh
HELD_MS=60000

# Waits (up to 10 s) until the delay of setup_slow_backing holds back a
# read (field 4 of dm-delay's status: reads, writes, flushes delayed) or
# a write (field 5).  With a PID, gives up as soon as that process (the
# one whose I/O is awaited) has ended, and says how it ended.
wait_slow_io() { # 4|5 [PID]
	local i
	for ((i = 0; i < 200; i++)); do
		(($(slow_backing_held "$1") > 0)) && return 0
		if [[ -n ${2-} ]] && ! kill -0 "$2" 2>/dev/null; then
			wait "$2"
			echo "it ended first, status $?" >&2
			return 1
		fi
		nap 0.05
	done
	return 1
}

# Waits (up to 10 s) until process PID sleeps uninterruptibly (state D:
# for a writeback run, behind the run before it).
wait_blocked() { # PID
	local st i
	for ((i = 0; i < 200; i++)); do
		read -r st <"/proc/$1/stat" || return 1
		st=${st##*) }
		[[ ${st%% *} == D ]] && return 0
		nap 0.05
	done
	return 1
}
wait_slow_read() { wait_slow_io 4 "$@"; }
wait_slow_write() { wait_slow_io 5 "$@"; }

# Page 0 of zram0 into FILE, read (O_DIRECT) into a buffer 512 bytes into
# a page: the bio's two segments each cover part of a page.
read_partial() { # FILE
	python3 - "$1" <<'PY'
import mmap, os, sys
fd = os.open('/dev/zram0', os.O_RDONLY | os.O_DIRECT)
buf = mmap.mmap(-1, 2 * 4096)
if os.preadv(fd, [memoryview(buf)[512:512 + 4096]], 0) != 4096:
    sys.exit('short read')
open(sys.argv[1], 'wb').write(buf[512:512 + 4096])
PY
}

# What FILE (a read of page 0) holds, per 512-byte sector: page 0's old
# data (/tmp/race-a), zeros or its new data (/tmp/race-new); a read split
# into part-page segments may mix them.  Fails on anything else, and says
# so if it is page 1's (/tmp/race-b).
classify_read() { # FILE
	python3 - "$1" <<'PY'
import sys
read = lambda p: open(p, 'rb').read()
got, kinds = read(sys.argv[1]), {'old': read('/tmp/race-a'), 'zeros': bytes(4096),
                                 'new': read('/tmp/race-new')}
other = read('/tmp/race-b')
seen = []
for s in range(0, 4096, 512):
    k = [n for n, d in kinds.items() if got[s:s + 512] == d[s:s + 512]]
    if not k:
        print("page 1's data" if got[s:s + 512] == other[s:s + 512] else 'unknown data')
        sys.exit(1)
    if k[0] not in seen:
        seen.append(k[0])
print('+'.join(seen))
PY
}

# Issue 17 item 4: a read of a written-back page is in flight (the backing
# device takes 3 s to read) while the page is discarded or rewritten,
# which frees its block, and another page is written back: the block
# allocator hands out the lowest free block, the one being read.  The
# read must return the page's old data, zeros or its new data (or fail),
# never the other page's.  Whole-page direct reads (a bio) and a read
# into a buffer at offset 512 (two part-page segments: the synchronous
# path), raw and compressed writeback.
test_writeback_read_races_free() {
	load_ours num_devices=1
	local z=/sys/block/zram0 slow cw how race got reader
	make_stamped_data /tmp/race-data 16 0
	head -c 4096 /tmp/race-data >/tmp/race-a
	dd if=/tmp/race-data of=/tmp/race-b bs=4k skip=1 count=1 status=none
	head -c 4096 /dev/urandom >/tmp/race-new
	head -c 4096 /dev/zero >/tmp/race-zero
	for cw in 0 1; do
		for how in discard overwrite; do
			for race in direct partial; do
				slow=$(setup_slow_backing 16 $(scaled 3000 8000))
				set_attr zram0 compressed_writeback $cw
				set_attr zram0 backing_dev "$slow"
				init_disk zram0 16M
				dd if=/tmp/race-data of=/dev/zram0 bs=64k oflag=direct status=none
				set_attr zram0 writeback page_index=0
				[[ $(bd_field zram0 1) == 1 ]] || fail "page 0 not written back: $(cat $z/bd_stat)"
				if [[ $race == direct ]]; then
					dd if=/dev/zram0 of=/tmp/race-out bs=4k count=1 iflag=direct status=none &
				else
					read_partial /tmp/race-out &
				fi
				reader=$!
				wait_slow_read || fail "cw=$cw $how $race: the read never reached the backing device"
				if [[ $how == discard ]]; then
					# -f: no probe for signatures, which would
					# read page 0 first and wait out the delay.
					blkdiscard -f -o 0 -l 4096 /dev/zram0
				else
					dd if=/tmp/race-new of=/dev/zram0 bs=4k count=1 oflag=direct status=none
				fi
				set_attr zram0 writeback page_index=1
				# Or the test raced nothing.
				(($(slow_backing_held 4) > 0)) ||
					fail "cw=$cw $how $race: the read was over before the free and the writeback"
				if wait $reader; then
					got=$(classify_read /tmp/race-out) ||
						fail "cw=$cw $how $race: page 0 read $got"
				else
					got="an error (allowed), no"
				fi
				# Everything still reads back as written.
				cmp -s <(dd if=/dev/zram0 bs=4k skip=1 count=15 iflag=direct status=none) \
					<(dd if=/tmp/race-data bs=4k skip=1 count=15 status=none) ||
					fail "cw=$cw $how $race: pages 1-15 differ"
				[[ $(bd_field zram0 1) == 1 ]] || fail "cw=$cw $how $race: bd_count $(cat $z/bd_stat)"
				note "compressed_writeback=$cw, $how during a $race read: $got data; bd_stat $(cat $z/bd_stat)"
				reset_disk zram0
				teardown_slow_backing
			done
		done
	done
	set_attr zram0 compressed_writeback 0
}

# Reads of written-back pages in flight all the time (the backing device
# takes 5 ms per read) while fio writes and verifies (crc32c) the disk and
# writeback runs over and over: whole-page reads of 4 KiB and of 64 KiB
# (sixteen child bios per read), raw and compressed writeback.  Rewrites
# free blocks while reads of them are in flight, so frees are deferred.
test_writeback_reads_under_fio() {
	load_ours num_devices=1
	local z=/sys/block/zram0 slow cw bs writer
	for cw in 0 1; do
		slow=$(setup_slow_backing 64 5)
		set_attr zram0 compressed_writeback $cw
		set_attr zram0 backing_dev "$slow"
		init_disk zram0 64M
		rm -f /tmp/wb-done
		(
			while [[ ! -e /tmp/wb-done ]]; do
				echo all >$z/idle
				echo idle >$z/writeback 2>/dev/null || true
				sleep 0.2
			done
		) &
		writer=$!
		for bs in 4k 64k; do
			fio_verify zram0 "wb-reads-cw$cw-$bs" --refill_buffers \
				--buffer_compress_percentage=50 --bs=$bs --iodepth=16
		done
		touch /tmp/wb-done
		wait $writer
		note "compressed_writeback=$cw: bd_stat $(cat $z/bd_stat);" \
			"$(tr '\n' ' ' </sys/kernel/debug/zram/zram0/writeback)"
		(($(bd_field zram0 2) > 0)) || fail "cw=$cw: nothing read from the backing device"
		[[ $(io_field zram0 1) == 0 && $(io_field zram0 2) == 0 ]] || fail "cw=$cw: failed I/O"
		reset_disk zram0
		teardown_slow_backing
	done
	set_attr zram0 compressed_writeback 0
}

# Issue 24, item 8: reads of written-back pages never stop (fio, four
# readers out of step, 20 ms a read) while other pages are rewritten and
# written back again, round after round.  The backing device holds the
# read pages plus one and a quarter times the rewritten ones, so from the
# second round writeback needs the blocks the rewrites freed, every one of
# them freed under reads.  One counter of reads for the disk never came
# back to zero and the blocks never back: writeback failed with ENOSPC on
# a device whose blocks were mostly free.
test_writeback_reuses_blocks_under_steady_reads() {
	load_ours num_devices=1
	local z=/sys/block/zram0 slow round fio_pid deferred
	slow=$(setup_slow_backing 6 20) # 1536 blocks
	set_attr zram0 backing_dev "$slow"
	init_disk zram0 16M
	head -c 1M /dev/urandom >/tmp/steady-a # pages 0-255, read all along
	dd if=/tmp/steady-a of=/dev/zram0 bs=64k oflag=direct status=none
	set_attr zram0 writeback page_indexes=0-255
	[[ $(bd_field zram0 1) == 256 ]] || fail "pages 0-255 not written back: $(cat $z/bd_stat)"
	# Four readers, 5 ms apart: dm-delay ends the reads due in one tick
	# together, and one reader's would all end at once, leaving a moment
	# with none in flight.
	fio --filename=/dev/zram0 --rw=randread --bs=4k --size=1M --direct=1 \
		--ioengine=libaio --iodepth=2 --time_based --runtime=300 \
		--name=r0 --name=r1 --startdelay=5ms --name=r2 --startdelay=10ms \
		--name=r3 --startdelay=15ms --output=/tmp/steady-fio.txt &
	fio_pid=$!
	# A failure leaves no reader holding the disk (the test is a subshell).
	trap 'kill $fio_pid 2>/dev/null || true' EXIT
	wait_slow_read || fail "fio's reads never reached the backing device"
	for round in 1 2 3 4; do
		# Pages 256-1279, rewritten: their blocks are freed under reads.
		head -c 4M /dev/urandom >/tmp/steady-b
		dd if=/tmp/steady-b of=/dev/zram0 bs=64k seek=16 oflag=direct status=none
		echo page_indexes=256-1279 >$z/writeback ||
			fail "round $round: writeback failed with blocks only waiting for reads" \
				"(bd_stat $(cat $z/bd_stat); $(tr '\n' ' ' </sys/kernel/debug/zram/zram0/writeback))"
		[[ $(bd_field zram0 1) == 1280 ]] || fail "round $round: bd_stat $(cat $z/bd_stat)"
	done
	deferred=$(awk '/read_deferred/ {print $2}' /sys/kernel/debug/zram/zram0/writeback)
	# Or no free raced a read, and the test proved nothing.
	((deferred >= 1024)) || fail "only $deferred frees waited for reads"
	# fio exits 1 on SIGINT; its report says whether a read failed.
	kill -INT $fio_pid
	wait $fio_pid || true
	trap - EXIT
	(($(grep -c 'err= 0' /tmp/steady-fio.txt) == 4)) || fail "fio: $(cat /tmp/steady-fio.txt)"
	cmp -n 1M /tmp/steady-a /dev/zram0 || fail "pages 0-255 read back wrong"
	cmp /tmp/steady-b <(dd if=/dev/zram0 bs=64k skip=16 count=64 status=none) ||
		fail "pages 256-1279 read back wrong"
	[[ $(io_field zram0 1) == 0 ]] || fail "failed reads: io_stat $(cat $z/io_stat)"
	note "4 rounds of 1024 pages written back beside reads that never stop:" \
		"$deferred frees waited for reads; bd_stat $(cat $z/bd_stat)"
	reset_disk zram0
	teardown_slow_backing
}

# Swap on a disk whose pages were written back: swap-ins read them
# through rw_page (SWP_SYNCHRONOUS_IO: synchronous, no worker) or, for
# readahead and swapoff, child bios; swap frees their slots, so blocks
# are freed (and deferred) while other reads are in flight, and
# writeback keeps running meanwhile.  Every page must come back intact.
test_swap_writeback_reads() {
	load_ours num_devices=1
	local z=/sys/block/zram0 loopdev cg=/sys/fs/cgroup/zram-wb-swap mb pid rc=0
	loopdev=$(setup_loop_backing 256)
	set_attr zram0 backing_dev "$loopdev"
	init_disk zram0 256M
	mkswap /dev/zram0 >/dev/null
	swapon -p 100 /dev/zram0
	echo +memory >/sys/fs/cgroup/cgroup.subtree_control
	mkdir -p $cg
	echo 32M >$cg/memory.max
	mb=$(scaled 96 48)
	rm -f /tmp/swap-filled /tmp/swap-go
	: >/tmp/swap-workload.log
	in_cgroup $cg python3 -c '
import hashlib, os, sys, time
PAGE = 4096
pages = int(sys.argv[1]) * 256
def page_bytes(i):
    noise = hashlib.sha256(i.to_bytes(8, "little")).digest() * 64
    return noise + bytes([i & 0xFF]) * (PAGE - len(noise))
mem = bytearray(pages * PAGE)
for i in range(pages):
    mem[i * PAGE:(i + 1) * PAGE] = page_bytes(i)
open("/tmp/swap-filled", "w").close()
while not os.path.exists("/tmp/swap-go"):
    time.sleep(0.2)
bad = sum(1 for i in range(pages) if mem[i * PAGE:(i + 1) * PAGE] != page_bytes(i))
print(f"swap-wb: {pages} pages, {bad} corrupt")
sys.exit(1 if bad else 0)
' "$mb"
	pid=$!
	for _ in $(seq 600); do
		[[ -e /tmp/swap-filled ]] && break
		kill -0 $pid 2>/dev/null || break
		sleep 0.5
	done
	[[ -e /tmp/swap-filled ]] || { cat /tmp/swap-workload.log; fail "the filler did not finish"; }
	set_attr zram0 idle all
	set_attr zram0 writeback idle
	note "after writeback: bd_stat $(cat $z/bd_stat), swap $(awk '$1 == "/dev/zram0" {print $4}' /proc/swaps) KiB"
	(($(bd_field zram0 1) > 1000)) || fail "too little written back: $(cat $z/bd_stat)"
	touch /tmp/swap-go
	# Writeback goes on while the pages come back.
	while kill -0 $pid 2>/dev/null; do
		echo all >$z/idle
		echo idle >$z/writeback 2>/dev/null || true
		sleep 0.5
	done
	wait $pid || rc=$?
	sed 's/^/  /' /tmp/swap-workload.log
	((rc == 0)) || fail "pages came back corrupt from swap (exit $rc)"
	swapoff /dev/zram0 || fail "swapoff"
	note "bd_stat $(cat $z/bd_stat); $(tr '\n' ' ' </sys/kernel/debug/zram/zram0/writeback)"
	(($(bd_field zram0 2) > 1000)) || fail "few swap-ins from the backing device: $(cat $z/bd_stat)"
	[[ $(io_field zram0 1) == 0 && $(io_field zram0 2) == 0 ]] || fail "failed I/O"
	rmdir $cg
	reset_disk zram0
	losetup -d "$loopdev"
}

# Issue 24, item 4: a read bio whose pages alternate raw and compressed
# written-back blocks kept its raw child open (one of the read bioset's
# two reserve bios, unsubmitted, so not on current->bio_list for the
# rescuer to find) while it allocated the compressed page's child.  Two
# readers each holding one waited for each other for ever once the slab
# failed them.  Forced here: every slab allocation of the two readers
# fails (failslab, task-filter), and each read sleeps 200 ms after
# opening a raw child (debugfs bd_read_stall_after_open_ms), so both hold
# one at once.  The readers must finish; I/O errors are allowed, a hang
# is not; with injection off every page reads back.  Needs failslab: in
# the suite on the debug kernel only (suite.sh).
test_backing_reads_share_the_bio_reserve() {
	local fs=/sys/kernel/debug/failslab z=/sys/block/zram0
	local stall=/sys/kernel/debug/zram/bd_read_stall_after_open_ms
	local loopdev pids=() p i rc done_in
	[[ -d $fs ]] || fail "no failslab in this kernel"
	load_ours num_devices=1
	loopdev=$(setup_loop_backing 16)
	set_attr zram0 compressed_writeback 1
	set_attr zram0 backing_dev "$loopdev"
	init_disk zram0 8M
	# Even pages random (written back raw), odd pages text (compressed).
	python3 - <<'PY'
import os
with open('/tmp/mixed', 'wb') as f:
    for i in range(256):
        f.write(os.urandom(4096) if i % 2 == 0 else
                (b'page %06d of text that compresses well. ' % i * 100)[:4096])
PY
	dd if=/tmp/mixed of=/dev/zram0 bs=64k oflag=direct status=none
	set_attr zram0 idle all
	set_attr zram0 writeback idle
	[[ $(bd_field zram0 1) == 256 ]] || fail "not all written back: $(cat $z/bd_stat)"

	# The filter first: until it is on, a probability fails everyone.
	echo Y >$fs/task-filter
	echo -1 >$fs/times
	echo 0 >$fs/interval
	echo 0 >$fs/verbose
	echo N >$fs/ignore-gfp-wait
	echo 100 >$fs/probability
	echo 200 >$stall
	# Static, on tmpfs, and stopped until marked: a marked task's failed
	# 9p request would break the guest's root for everyone
	# (tests/kunit/faults.sh).
	gcc -O2 -static -o /tmp/direct-reader tests/vm/direct-reader.c ||
		fail "cannot build direct-reader"
	for i in 1 2; do
		# Each 8 KiB read: a raw page, then a compressed one.
		/tmp/direct-reader /dev/zram0 8192 40 &
		pids+=($!)
	done
	for p in "${pids[@]}"; do
		for _ in $(seq 100); do
			grep -q '^State:.*stopped' /proc/$p/status && break
			sleep 0.1
		done
		echo 1 >/proc/$p/make-it-fail || fail "reader $p did not start"
	done
	kill -CONT "${pids[@]}"
	done_in=
	for i in $(seq 120); do
		if ! kill -0 "${pids[0]}" 2>/dev/null && ! kill -0 "${pids[1]}" 2>/dev/null; then
			done_in=$((i / 2))
			break
		fi
		sleep 0.5
	done
	# Let go: a reader stuck in mempool_alloc retries every 5 s.
	echo 0 >$stall
	for p in "${pids[@]}"; do echo 0 >/proc/$p/make-it-fail 2>/dev/null || true; done
	echo 0 >$fs/probability
	echo N >$fs/task-filter
	local statuses=
	for p in "${pids[@]}"; do
		rc=0
		wait "$p" || rc=$?
		statuses+=" $rc"
	done
	[[ -n $done_in ]] || fail "two readers of raw and compressed blocks hung with the slab failing them"
	note "two readers, slab failing them, 200 ms stall per raw child: done in ${done_in} s" \
		"(exit statuses$statuses: 3 when a read failed); io_stat $(cat $z/io_stat)"
	cmp -n $((256 * 4096)) /tmp/mixed /dev/zram0 || fail "pages read back wrong"
	reset_disk zram0
	set_attr zram0 compressed_writeback 0
	losetup -d "$loopdev"
}

writeback_tests=(test_writeback_key_value test_writeback_batches_under_fio
	test_writeback_failing_device test_compressed_writeback
	test_writeback_read_races_free test_writeback_reads_under_fio
	test_writeback_reuses_blocks_under_steady_reads
	test_swap_writeback_reads)
