# shellcheck shell=bash
# Background work against each other and against reset, hot_remove and
# rmmod (issue 17).  A backing device whose writes are slow (device-mapper
# `delay` over a loop device) holds a writeback batch in flight for as
# long as the test needs, so each interleaving happens every time instead
# of by luck.  Sourced by tests/vm/suite.sh, after writeback.sh
# (setup_slow_backing, bd_field).

# Waits until the slow device holds a write: a writeback batch has been
# copied out of its slots and submitted.  PID: the writeback run's.
wait_write_in_flight() { # PID
	wait_slow_write "$1" || fail "no write reached the slow backing device ($(dmsetup status zcx-slow); bd_stat $(zattr zram0 bd_stat | xargs); $(grep -h . /sys/kernel/debug/zram/zram0/writeback 2>/dev/null | xargs))"
}

# One page of DATA's page N written to / read from zram0, direct.
put_page() { # N FILE
	dd if="$2" of=/dev/zram0 bs=4k seek="$1" count=1 oflag=direct conv=notrunc status=none
}
get_page() { # N FILE
	dd if=/dev/zram0 of="$2" bs=4k skip="$1" count=1 iflag=direct status=none
}

# The issue's first interleaving, three rounds: page 5 written (A), a
# writeback of it started, page 5 rewritten (B) while A's copy is held on
# its way to the device, a second writeback of page 5 asked for (it waits
# behind the first), A's write let go, then page 5 read.  With two
# overlapping runs the first committed its stale copy A over B (the second
# saw no flag and freed B's block): B must come back.
test_two_writeback_runs_no_stale_page() {
	load_ours num_devices=1
	local slow round a b run1 run2
	slow=$(setup_slow_backing 16 0 0)
	set_attr zram0 backing_dev "$slow"
	init_disk zram0 8M
	make_stamped_data /tmp/ab 64 0
	for round in 1 2 3; do
		a=$((round * 2)) b=$((round * 2 + 1))
		dd if=/tmp/ab of=/tmp/A bs=4k skip=$a count=1 status=none
		dd if=/tmp/ab of=/tmp/B bs=4k skip=$b count=1 status=none
		put_page 5 /tmp/A
		slow_backing_delays 0 "$HELD_MS"
		(printf page_index=5 >/sys/block/zram0/writeback) &
		run1=$!
		wait_write_in_flight "$run1"
		put_page 5 /tmp/B
		(printf page_index=5 >/sys/block/zram0/writeback) &
		run2=$!
		wait_blocked "$run2" || note "round $round: the second run did not block (state $(cut -d' ' -f3 /proc/$run2/stat 2>/dev/null))"
		(($(slow_backing_held 5) == 1)) ||
			fail "round $round: A's write is not held ($(dmsetup status zcx-slow))"
		slow_backing_delays 0 0
		wait $run1 || fail "round $round: first writeback failed"
		wait $run2 || fail "round $round: second writeback failed"
		get_page 5 /tmp/got
		if cmp -s /tmp/got /tmp/A; then
			fail "round $round: page 5 read back its older contents (A)"
		fi
		cmp -s /tmp/got /tmp/B || fail "round $round: page 5 is neither A nor B"
		# And from the device itself, once page 5 lives there.
		[[ $(backing_reads_of_page zram0 5) == 1 ]] ||
			fail "round $round: page 5 is not on the backing device"
		get_page 5 /tmp/got
		cmp -s /tmp/got /tmp/B || fail "round $round: page 5 changed on re-read"
		note "round $round: B read back (bd_stat $(zattr zram0 bd_stat | xargs))"
	done
	reset_disk zram0
	teardown_slow_backing
}

# A writeback run with batches of one page, held up by the slow device;
# a reset queued behind it; then rmmod (stock waits for the reset, then
# removes; ours used to warn, free the module and oops when the next
# write bio completed).  The reset must also not wait for the whole run:
# it stops after the batch in flight.
test_rmmod_while_reset_waits_for_writeback() {
	local slow start wb reset pages=64
	load_ours num_devices=1
	slow=$(setup_slow_backing 16 0 300)
	set_attr zram0 backing_dev "$slow"
	set_attr zram0 writeback_batch_size 1
	init_disk zram0 8M
	make_stamped_data /tmp/wbdata $pages 0
	dd if=/tmp/wbdata of=/dev/zram0 bs=4k oflag=direct status=none
	set_attr zram0 idle all
	start=$SECONDS
	(printf idle >/sys/block/zram0/writeback) 2>/dev/null &
	wb=$!
	wait_write_in_flight "$wb"
	(printf 1 >/sys/block/zram0/reset) &
	reset=$!
	sleep 0.5
	rmmod zram || fail "rmmod failed while a reset waited"
	[[ ! -d /sys/module/zram ]] || fail "zram still loaded"
	wait $reset || true
	wait $wb || true
	# 64 pages at 0.3 s each is 19 s; one batch is 0.3 s.
	note "writeback, reset and rmmod all done after $((SECONDS - start)) s (the whole run: ~$((pages * 3 / 10)) s)"
	((SECONDS - start < pages * 3 / 20)) || fail "reset waited for the whole writeback run"
	teardown_slow_backing

	# The same without the reset: rmmod stops the run itself.
	load_ours num_devices=1
	slow=$(setup_slow_backing 16 0 300)
	set_attr zram0 backing_dev "$slow"
	set_attr zram0 writeback_batch_size 1
	init_disk zram0 8M
	dd if=/tmp/wbdata of=/dev/zram0 bs=4k oflag=direct status=none
	set_attr zram0 idle all
	(printf idle >/sys/block/zram0/writeback) 2>/dev/null &
	wb=$!
	wait_write_in_flight "$wb"
	rmmod zram || fail "rmmod failed during a writeback run"
	wait $wb || true
	teardown_slow_backing
	note "rmmod during a writeback run: done"
}

# hot_remove racing a reset that waits behind a writeback run: the disk
# goes, as with stock (hot_remove used to fail with EBUSY and leave it).
test_hot_remove_while_reset_waits() {
	local slow wb reset
	load_ours num_devices=2
	slow=$(setup_slow_backing 16 0 300)
	set_attr zram1 backing_dev "$slow"
	set_attr zram1 writeback_batch_size 1
	init_disk zram1 8M
	make_stamped_data /tmp/wbdata 64 0
	dd if=/tmp/wbdata of=/dev/zram1 bs=4k oflag=direct status=none
	set_attr zram1 idle all
	(printf idle >/sys/block/zram1/writeback) 2>/dev/null &
	wb=$!
	wait_write_in_flight "$wb"
	(printf 1 >/sys/block/zram1/reset) &
	reset=$!
	sleep 0.5
	printf 1 >/sys/class/zram-control/hot_remove || fail "hot_remove failed while a reset waited"
	[[ ! -e /sys/block/zram1 ]] || fail "zram1 still there"
	wait $reset || true
	wait $wb || true
	teardown_slow_backing
	# The other disk is untouched and the module unloads.
	init_disk zram0 4M
	unload_zram
	note "hot_remove during a waiting reset: zram1 gone, module unloaded"
}

# Concurrent idle_policy stores: whatever order they land in, what the
# attribute says is what runs.  "off" used to set the policy, drop
# init_lock and only then cancel the work, so an "interval=" store landing
# in that gap had its freshly queued work cancelled: on, but never run.
test_idle_policy_concurrent_stores() {
	load_ours num_devices=1
	set_attr zram0 recomp_algorithm "algo=zstd priority=1"
	init_disk zram0 8M
	local i runs stuck=0 rounds
	rounds=$(scaled 100 40)
	for i in $(seq 1 "$rounds"); do
		(printf off >/sys/block/zram0/idle_policy) &
		(printf "interval=1 recompress_after=3600" >/sys/block/zram0/idle_policy) &
		wait
	done
	# Make sure it ends "on", then that it runs.
	set_attr zram0 idle_policy "interval=1 recompress_after=3600"
	runs=$(policy_stat zram0 runs)
	sleep 3
	(($(policy_stat zram0 runs) > runs)) || fail "idle_policy is on but its worker never ran"
	for i in $(seq 1 "$rounds"); do
		(printf off >/sys/block/zram0/idle_policy) &
		(printf "interval=1 recompress_after=3600" >/sys/block/zram0/idle_policy) &
		wait
		if [[ $(zattr zram0 idle_policy) != off ]]; then
			runs=$(policy_stat zram0 runs)
			sleep 1.5
			(($(policy_stat zram0 runs) > runs)) || stuck=$((stuck + 1))
			((i < 10)) || break
		fi
	done
	((stuck == 0)) || fail "$stuck times idle_policy read on but nothing ran"
	set_attr zram0 idle_policy off
	note "$rounds racing off/interval= pairs; the policy ran whenever it read on"
}

# fio verify on one region while two writeback loops (a `writeback idle`
# loop and a page_indexes loop over the same pages), the idle policy's own
# writeback and rewrites and trims of the churn region all run together,
# over a slow backing device: every verified block reads back as written.
test_fio_verify_during_racing_writebacks() {
	load_ours num_devices=1
	local slow mb loops
	mb=$(scaled 32 8) # fio_verify's region, then the churn region at 2*mb
	slow=$(setup_slow_backing $((mb * 4)) 0 20)
	set_attr zram0 backing_dev "$slow"
	set_attr zram0 writeback_batch_size 8
	init_disk zram0 $((mb * 4))M
	set_attr zram0 idle_policy "interval=1 writeback_after=1 writeback_pages=64"
	fill_churn_region "$mb"
	rm -f /tmp/fio-done
	(
		n=0
		while [[ ! -e /tmp/fio-done ]]; do
			echo all >/sys/block/zram0/idle
			echo idle >/sys/block/zram0/writeback 2>/dev/null || true
			n=$((n + 1))
		done
		echo $n >/tmp/wb-loop1
	) &
	local loop1=$!
	(
		n=0
		while [[ ! -e /tmp/fio-done ]]; do
			echo "page_indexes=0-$((mb * 256 - 1))" >/sys/block/zram0/writeback 2>/dev/null || true
			echo "page_indexes=$((mb * 512))-$((mb * 768 - 1))" >/sys/block/zram0/writeback 2>/dev/null || true
			n=$((n + 1))
			sleep 0.1
		done
		echo $n >/tmp/wb-loop2
	) &
	local loop2=$!
	# Whether fio's reads meet a written-back page is timing: on 6.12 one
	# run met none (3 writeback rounds in its 5 s).  Up to three runs.
	local runs=0
	until (($(bd_field zram0 2) > 0 || runs == 3)); do
		verify_beside_churn racing-writebacks "$mb"
		runs=$((runs + 1))
	done
	touch /tmp/fio-done
	wait $loop1 $loop2
	loops="$(cat /tmp/wb-loop1) + $(cat /tmp/wb-loop2)"
	note "$runs fio verify runs, $loops writeback rounds; bd_stat $(zattr zram0 bd_stat | xargs); policy wrote $(policy_stat zram0 written); stale $(awk '/stale/ {print $2}' /sys/kernel/debug/zram/zram0/writeback 2>/dev/null)"
	(($(bd_field zram0 3) > 0)) || fail "nothing was written back"
	(($(bd_field zram0 2) > 0)) || fail "fio never read a written-back page"
	[[ $(io_field zram0 1) == 0 && $(io_field zram0 2) == 0 ]] || fail "failed I/O"
	set_attr zram0 idle_policy off
	reset_disk zram0
	teardown_slow_backing
}

# Writeback of a grouped page (issue 18) against what happens to its group
# while the page is on its way to a slow device: the page itself rewritten
# (the newer page must come back, not the copy in flight), the rest of its
# group discarded and `compact` regrouping what is left, or every other
# member discarded (the group must go with the written-back member's
# commit, or it leaks).  Raw and compressed writeback.
test_grouped_member_writeback_races() {
	load_ours num_devices=1
	local cw slow z=/sys/block/zram0 p
	make_stamped_data /tmp/gw 64 0
	dd if=/tmp/gw of=/tmp/gw-new bs=4k skip=63 count=1 status=none
	for cw in 0 1; do
		slow=$(setup_slow_backing 16 0 0)
		set_attr zram0 recomp_algorithm "algo=zstd"
		set_attr zram0 compressed_writeback $cw
		set_attr zram0 backing_dev "$slow"
		init_disk zram0 4M
		dd if=/tmp/gw of=/dev/zram0 bs=4k count=32 oflag=direct status=none
		set_attr zram0 idle all
		set_attr zram0 recompress "type=idle group_pages=16"
		[[ $(block_flags zram0 g 0 31) == 32 ]] ||
			fail "cw=$cw: $(block_flags zram0 g 0 31) of pages 0-31 grouped"
		cp /tmp/gw /tmp/gw-want

		# Page 5 rewritten while its old copy is in flight; ten of its
		# neighbours discarded and the group regrouped meanwhile.
		slow_backing_delays 0 "$HELD_MS"
		(printf page_index=5 >$z/writeback) &
		p=$!
		wait_write_in_flight "$p"
		put_page 5 /tmp/gw-new
		blkdiscard -f -o 0 -l $((5 << 12)) /dev/zram0
		blkdiscard -f -o $((6 << 12)) -l $((5 << 12)) /dev/zram0
		set_attr zram0 compact 1
		(($(slow_backing_held 5) > 0)) ||
			fail "cw=$cw: the write was over before the rewrite, discards and compact"
		slow_backing_delays 0 0
		wait $p || fail "cw=$cw: writeback of page 5 failed"
		[[ $(backing_reads_of_page zram0 5) == 0 ]] ||
			fail "cw=$cw: page 5's old copy was committed over its rewrite"
		dd if=/tmp/gw-new of=/tmp/gw-want bs=4k seek=5 conv=notrunc status=none
		dd if=/dev/zero of=/tmp/gw-want bs=4k seek=0 count=5 conv=notrunc status=none
		dd if=/dev/zero of=/tmp/gw-want bs=4k seek=6 count=5 conv=notrunc status=none

		# Page 21 in flight while every other page of its group goes.
		slow_backing_delays 0 "$HELD_MS"
		(printf page_index=21 >$z/writeback) &
		p=$!
		wait_write_in_flight "$p"
		blkdiscard -f -o $((16 << 12)) -l $((5 << 12)) /dev/zram0
		blkdiscard -f -o $((22 << 12)) -l $((10 << 12)) /dev/zram0
		set_attr zram0 compact 1
		(($(slow_backing_held 5) > 0)) ||
			fail "cw=$cw: the write was over before the discards and compact"
		slow_backing_delays 0 0
		wait $p || fail "cw=$cw: writeback of page 21 failed"
		[[ $(block_flags zram0 g 16 31) == 0 ]] ||
			fail "cw=$cw: pages 16-31 still grouped: $(block_flags zram0 g 16 31)"
		[[ $(backing_reads_of_page zram0 21) == 1 ]] ||
			fail "cw=$cw: page 21 is not on the backing device"
		dd if=/dev/zero of=/tmp/gw-want bs=4k seek=16 count=5 conv=notrunc status=none
		dd if=/dev/zero of=/tmp/gw-want bs=4k seek=22 count=10 conv=notrunc status=none

		echo 3 >/proc/sys/vm/drop_caches
		cmp <(dd if=/dev/zram0 bs=4k count=32 iflag=direct status=none) \
			<(head -c $((32 << 12)) /tmp/gw-want) || fail "cw=$cw: pages 0-31 read back wrong"
		# With every page gone, nothing of a group is left.
		blkdiscard -f /dev/zram0
		[[ $(pool_stat zram0 groups) == 0 && $(pool_stat zram0 grouped_pages) == 0 ]] ||
			fail "cw=$cw: groups left with every page discarded: $(pool_stat zram0 groups) groups, $(pool_stat zram0 grouped_pages) pages"
		[[ $(mm_field zram0 1) == 0 && $(mm_field zram0 2) == 0 ]] ||
			fail "cw=$cw: mm_stat with every page discarded: $(cat $z/mm_stat)"
		note "cw=$cw: rewrite, discards and compact beside both writebacks; bd_stat $(zattr zram0 bd_stat | xargs)"
		reset_disk zram0
		teardown_slow_backing
	done
}

# shellcheck disable=SC2034 # used by suite.sh
# Issue 24, item 2, on the kernel: the members of many 2-page groups let
# go from two threads at once (even pages by one, odd by the other), so
# both members of a group often clear their bits together, while `compact`
# regroups what is left over and over.  The last member out frees the
# group; the other must read nothing of it after its own bit (the debug
# kernel's KASAN saw that use-after-free, where the host's ASan test
# forces it).  Three rounds; then no group, byte or page is left.
test_group_members_discarded_from_two_threads_while_regrouping() {
	load_ours num_devices=1
	local z=/sys/block/zram0 pages round d0 d1
	pages=$(scaled 2048 512)
	make_stamped_data /tmp/gd "$pages" 0
	set_attr zram0 recomp_algorithm "algo=zstd"
	init_disk zram0 16M
	for round in 1 2 3; do
		dd if=/tmp/gd of=/dev/zram0 bs=64k oflag=direct status=none
		set_attr zram0 idle all
		set_attr zram0 recompress "type=idle group_pages=2"
		(($(pool_stat zram0 groups) >= pages / 4)) ||
			fail "round $round: only $(pool_stat zram0 groups) groups of 2"
		rm -f /tmp/gd-done0 /tmp/gd-done1
		for parity in 0 1; do
			python3 - "$pages" "$parity" <<'PY' &
import fcntl, os, struct, sys
pages, parity = int(sys.argv[1]), int(sys.argv[2])
BLKDISCARD = 0x1277
fd = os.open('/dev/zram0', os.O_WRONLY)
for p in range(parity, pages, 2):
    fcntl.ioctl(fd, BLKDISCARD, struct.pack('QQ', p << 12, 4096))
open('/tmp/gd-done%d' % parity, 'w').close()
PY
		done
		d0=0
		while [[ ! -e /tmp/gd-done0 || ! -e /tmp/gd-done1 ]]; do
			echo 1 >$z/compact
			d0=$((d0 + 1))
			((d0 < 10000)) || fail "round $round: the discards never finished"
		done
		wait
		d1=$(pool_stat zram0 groups)
		[[ $d1 == 0 && $(pool_stat zram0 grouped_pages) == 0 &&
			$(pool_stat zram0 dead_group_bytes) == 0 ]] ||
			fail "round $round: with every page discarded: $(tr '\n' ' ' </sys/kernel/debug/zram/zram0/pool)"
		[[ $(mm_field zram0 1) == 0 && $(mm_field zram0 2) == 0 ]] ||
			fail "round $round: mm_stat with every page discarded: $(cat $z/mm_stat)"
		note "round $round: $((pages / 2)) groups of 2 let go from two threads beside $d0 compacts"
	done
	cmp -n $((pages << 12)) /dev/zero /dev/zram0 || fail "discarded pages read back non-zero"
	reset_disk zram0
}

race_tests=(test_two_writeback_runs_no_stale_page
	test_rmmod_while_reset_waits_for_writeback
	test_hot_remove_while_reset_waits
	test_idle_policy_concurrent_stores
	test_fio_verify_during_racing_writebacks
	test_grouped_member_writeback_races
	test_group_members_discarded_from_two_threads_while_regrouping)
