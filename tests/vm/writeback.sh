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

bd_field() { awk -v n="$2" '{print $n}' "/sys/block/$1/bd_stat"; }

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

writeback_tests=(test_writeback_key_value test_writeback_batches_under_fio
	test_writeback_failing_device test_compressed_writeback)
