#!/bin/bash
# The idle policy as background work (issue 19): it leaves what is in use
# alone, backs off on pages that come back, gives a busy CPU away, never
# makes reset, hot_remove or rmmod wait on it, and swap stays intact with
# it on.  Sourced by suite.sh (policy_stat and block_flags are
# recompress.sh's).

# N busy loops at nice 0 (default two per CPU, so that no CPU is left
# free while the scheduler moves them around); stopped when the test's
# subshell exits.
start_busy() { # [N]
	: >/tmp/busy.pids
	for _ in $(seq "${1:-$(($(nproc) * 2))}"); do
		(while :; do :; done) &
		echo $! >>/tmp/busy.pids
	done
	trap stop_busy EXIT
}

stop_busy() {
	local p
	[[ -f /tmp/busy.pids ]] || return 0
	while read -r p; do kill "$p" 2>/dev/null || true; done </tmp/busy.pids
	while read -r p; do wait "$p" 2>/dev/null || true; done </tmp/busy.pids
	rm -f /tmp/busy.pids
}

# DEV KEY VALUE SECONDS: waits until the policy's counter reaches VALUE.
wait_policy_stat() {
	for _ in $(seq $(($4 * 2))); do
		(($(policy_stat "$1" "$2") >= $3)) && return 0
		sleep 0.5
	done
	return 1
}

# /tmp/policy.tar: MIB of real files, cut from one make_real_tar per boot
# (finding the files over 9p is most of the time it takes).
policy_data() { # MIB
	local most
	most=$(scaled 64 32)
	if [[ ! -f /tmp/policy-all.tar ]]; then
		make_real_tar "$most"
		mv /tmp/real.tar /tmp/policy-all.tar
	fi
	head -c $(($1 << 20)) /tmp/policy-all.tar >/tmp/policy.tar
}

policy_disk() { # MIB: zram0 with zstd to recompress, MIB of real files on it
	load_ours num_devices=2
	set_attr zram0 recomp_algorithm "algo=zstd"
	policy_data "$1"
	init_disk zram0 $(($1 * 2))M
	dd if=/tmp/policy.tar of=/dev/zram0 bs=1M oflag=direct status=none
}

# Pages read every half second are never recompressed; the rest are.
test_policy_leaves_hot_pages_alone() {
	local mb hot=256 pages cold_r cold_n hot_r
	mb=$(scaled 16 8)
	pages=$((mb * 256))
	policy_disk "$mb"
	(
		while [[ ! -f /tmp/hot-stop ]]; do
			dd if=/dev/zram0 of=/dev/null bs=4k count=$hot iflag=direct status=none
			sleep 0.5
		done
	) &
	local reader=$!
	set_attr zram0 idle_policy "interval=1 recompress_after=2"
	for _ in $(seq "$(scaled 60 180)"); do
		(($(block_flags zram0 r $hot $pages) + $(block_flags zram0 n $hot $pages) >= (pages - hot) * 9 / 10)) && break
		sleep 0.5
	done
	# Counted before the reader stops: 2 s later the hot pages are cold.
	cold_r=$(block_flags zram0 r $hot $pages)
	cold_n=$(block_flags zram0 n $hot $pages)
	hot_r=$(block_flags zram0 r 0 $((hot - 1)))
	touch /tmp/hot-stop
	wait $reader
	rm -f /tmp/hot-stop
	note "cold pages recompressed: $cold_r of $((pages - hot)) ($cold_n incompressible); hot: $hot_r of $hot"
	((cold_r + cold_n >= (pages - hot) * 9 / 10)) || fail "the policy left cold pages"
	[[ $hot_r == 0 ]] || fail "the policy recompressed pages read every half second"
	cmp -n $((mb << 20)) /tmp/policy.tar /dev/zram0 || fail "pages read back wrong"
	set_attr zram0 idle_policy off
}

# Pages recompressed, then read and rewritten every 2 s (what swap does
# to pages that were not cold after all): the effective age doubles until
# they are no longer taken and recompressions stop (since issue 26 no
# further than just past the ages they are read at: 3 s, not 16); once the reads stop,
# the pages pass that age, are recompressed and the age comes back to
# recompress_after.
test_policy_backs_off_on_pages_that_come_back() {
	local mb pages r0 r1 r2 age
	mb=$(scaled 4 2)
	pages=$((mb * 256))
	policy_disk "$mb"
	set_attr zram0 idle_policy "interval=1 recompress_after=1"
	wait_policy_stat zram0 recompressed $((pages / 2)) "$(scaled 30 90)" ||
		fail "the policy did not recompress the pages"
	(
		while [[ ! -f /tmp/back-stop ]]; do
			dd if=/dev/zram0 of=/dev/null bs=1M count="$mb" iflag=direct status=none
			dd if=/tmp/policy.tar of=/dev/zram0 bs=1M count="$mb" oflag=direct status=none
			sleep 2
		done
	) &
	local churn=$! window max_age=0
	window=$(scaled 8 16)
	sleep 6
	r0=$(policy_stat zram0 recompressed)
	for _ in $(seq $((window * 2))); do
		age=$(policy_stat zram0 age)
		((age > max_age)) && max_age=$age
		sleep 0.5
	done
	r1=$(policy_stat zram0 recompressed)
	note "while read back: age up to $max_age s, $(policy_stat zram0 backoffs) back-offs, $(policy_stat zram0 comebacks) comebacks; recompressed $((r1 - r0)) in the last $window s (before: $r0; without a back-off about $pages every 2 s)"
	touch /tmp/back-stop
	wait $churn
	rm -f /tmp/back-stop
	((max_age >= 2)) || fail "the age did not grow ($max_age s)"
	(((r1 - r0) * 8 < pages)) || fail "still recompressing pages that come back: $((r1 - r0))"
	# Quiet now: once the pages pass the age it reached (at most 16 s
	# here) they are recompressed, stay, and the age steps back.
	for _ in $(seq "$(scaled 80 160)"); do
		(($(policy_stat zram0 age) == 1)) && break
		sleep 0.5
	done
	[[ $(policy_stat zram0 age) == 1 ]] || fail "the age stayed at $(policy_stat zram0 age) s after the reads stopped"
	wait_policy_stat zram0 recompressed $((r1 + pages / 2)) "$(scaled 20 60)" ||
		fail "quiet pages not recompressed after the back-off"
	r2=$(policy_stat zram0 recompressed)
	note "after the reads stopped: age $(policy_stat zram0 age) s, $((r2 - r1)) recompressed"
	cmp -n $((mb << 20)) /tmp/policy.tar /dev/zram0 || fail "pages read back wrong"
	set_attr zram0 idle_policy off
}

# Issue 26: with recompress_group_pages the policy groups only pages older
# than almost every page read back lately; younger ones it recompresses
# page by page, since a grouped page read alone costs its whole group's
# decompression.  Old pages A are grouped; pages C (random, so never
# recompressed: no back-off) are read back at about 20 s of age; pages B
# written after that are recompressed but not grouped while they are
# younger than that.  Before, B was grouped at recompress_after.
test_policy_groups_only_pages_older_than_those_read_back() {
	local mb pages a_lo a_hi b_lo b_hi c_lo c_hi group_age t0
	mb=$(scaled 4 2)
	pages=$((mb * 256))
	a_lo=0 a_hi=$((pages - 1))
	c_lo=$((2 * pages)) c_hi=$((3 * pages - 1))
	b_lo=$((4 * pages)) b_hi=$((5 * pages - 1))
	load_ours num_devices=1
	set_attr zram0 recomp_algorithm "algo=zstd"
	policy_data $((2 * mb))
	head -c $((mb << 20)) /dev/urandom >/tmp/random.bin
	init_disk zram0 64M
	dd if=/tmp/policy.tar of=/dev/zram0 bs=1M count="$mb" oflag=direct status=none
	dd if=/tmp/random.bin of=/dev/zram0 bs=1M seek=$((2 * mb)) oflag=direct status=none
	t0=$SECONDS
	set_attr zram0 idle_policy "interval=1 recompress_after=2 recompress_group_pages=16"
	for _ in $(seq 60); do
		(($(block_flags zram0 g $a_lo $a_hi) > pages / 2)) && break
		sleep 0.5
	done
	(($(block_flags zram0 g $a_lo $a_hi) > pages / 2)) ||
		fail "old pages not grouped: $(block_flags zram0 g $a_lo $a_hi) of $pages"
	[[ $(policy_stat zram0 group_age) == 2 ]] ||
		fail "group age $(policy_stat zram0 group_age) s with nothing read back"
	((SECONDS - t0 < 20)) && sleep $((20 - (SECONDS - t0)))
	dd if=/dev/zram0 of=/dev/null bs=1M skip=$((2 * mb)) count="$mb" iflag=direct status=none
	for _ in $(seq 10); do
		(($(policy_stat zram0 group_age) > 2)) && break
		sleep 0.5
	done
	group_age=$(policy_stat zram0 group_age)
	((group_age >= 20)) || fail "group age $group_age s after reads at about 20 s"
	dd if=/tmp/policy.tar of=/dev/zram0 bs=1M skip="$mb" seek=$((4 * mb)) count="$mb" oflag=direct status=none
	t0=$SECONDS
	while ((SECONDS - t0 < group_age - 4)); do
		(($(block_flags zram0 r $b_lo $b_hi) == pages)) && break
		sleep 0.5
	done
	note "group age $group_age s; after $((SECONDS - t0)) s: of the young pages $(block_flags zram0 r $b_lo $b_hi) recompressed, $(block_flags zram0 g $b_lo $b_hi) grouped; of the old ones $(block_flags zram0 g $a_lo $a_hi) grouped; random ones marked n: $(block_flags zram0 n $c_lo $c_hi)"
	(($(block_flags zram0 g $b_lo $b_hi) == 0)) || fail "young pages grouped"
	(($(block_flags zram0 r $b_lo $b_hi) > pages * 3 / 4)) || fail "young pages not recompressed page by page"
	(($(policy_stat zram0 backoffs) == 0)) || fail "the policy backed off: $(policy_stat zram0 backoffs)"
	cmp -n $((mb << 20)) /tmp/policy.tar /dev/zram0 || fail "old pages read back wrong"
	cmp -n $((mb << 20)) /tmp/random.bin <(dd if=/dev/zram0 bs=1M skip=$((2 * mb)) count="$mb" status=none) ||
		fail "pages read back wrong"
	cmp -n $((mb << 20)) <(tail -c +$(((mb << 20) + 1)) /tmp/policy.tar) \
		<(dd if=/dev/zram0 bs=1M skip=$((4 * mb)) count="$mb" status=none) || fail "young pages read back wrong"
	set_attr zram0 idle_policy off
	rm -f /tmp/random.bin
}

# Busy loops on every CPU: the policy takes no CPU from them (it
# recompresses nothing); once they stop, it does its work.
test_policy_yields_to_busy_cpu() {
	local mb pages busy_r
	mb=$(scaled 8 4)
	pages=$((mb * 256))
	policy_disk "$mb"
	start_busy
	sleep 1
	set_attr zram0 idle_policy "interval=1 recompress_after=1"
	sleep "$(scaled 6 12)"
	busy_r=$(policy_stat zram0 recompressed)
	note "$(($(nproc) * 2)) busy loops for $(scaled 6 12) s: $busy_r recompressed ($(block_flags zram0 r) flagged), $(policy_stat zram0 runs) runs, $(policy_stat zram0 yields) gave way"
	# Its due share of a busy machine (issue 24), not more: an eighth of
	# what it does on free CPUs in the same time is far above it.
	(($(policy_stat zram0 yields) > 0 && busy_r < pages / 8)) ||
		fail "the policy did not give way to busy loops"
	stop_busy
	wait_policy_stat zram0 recompressed $((pages / 2)) "$(scaled 30 90)" ||
		fail "the policy did not recompress once the CPUs were free"
	note "CPUs free: $(policy_stat zram0 recompressed) recompressed"
	cmp -n $((mb << 20)) /tmp/policy.tar /dev/zram0 || fail "pages read back wrong"
	set_attr zram0 idle_policy off
}

# Issue 24, item 7: on CPUs that are never idle the policy still gets
# its share.  Before, a pass gave way before its first page every time,
# and writeback waited for a pass that never ended: both stayed at 0.
test_policy_progresses_on_busy_cpus() {
	local mb loopdev bound r w
	mb=$(scaled 8 4)
	load_ours num_devices=2
	set_attr zram0 recomp_algorithm "algo=zstd"
	loopdev=$(setup_loop_backing 64)
	set_attr zram0 backing_dev "$loopdev"
	policy_data "$mb"
	init_disk zram0 $((mb * 2))M
	dd if=/tmp/policy.tar of=/dev/zram0 bs=1M oflag=direct status=none
	start_busy
	sleep 1
	set_attr zram0 idle_policy "interval=1 recompress_after=1 writeback_after=2 writeback_pages=64"
	bound=$(scaled 30 60)
	for _ in $(seq $((bound * 2))); do
		r=$(policy_stat zram0 recompressed)
		w=$(policy_stat zram0 written)
		((r > 0 && w > 0)) && break
		sleep 0.5
	done
	note "$(($(nproc) * 2)) busy loops: $r recompressed, $w written back, $(policy_stat zram0 runs) intervals, $(policy_stat zram0 yields) gave way"
	stop_busy
	((r > 0)) || fail "nothing recompressed in $bound s on busy CPUs"
	((w > 0)) || fail "nothing written back in $bound s on busy CPUs"
	set_attr zram0 idle_policy off
	cmp -n $((mb << 20)) /tmp/policy.tar /dev/zram0 || fail "pages read back wrong"
	reset_disk zram0
	losetup -d "$loopdev"
}

# Issue 24, item 6: a policy set on a running disk counts the reads of
# recompressed pages from then on.  Before, its first interval took every
# such read since the disk was made for pages that had come back, and
# backed off at once.  A user's `recompress`, every page read twice, then
# a policy whose age no page reaches: no comebacks, no back-off.
test_policy_set_on_a_running_disk_starts_counting_then() {
	local mb
	mb=$(scaled 8 4)
	policy_disk "$mb"
	echo >/sys/block/zram0/recompress
	(($(block_flags zram0 r) > 64)) || fail "the user's recompress recompressed $(block_flags zram0 r) pages"
	cmp -n $((mb << 20)) /tmp/policy.tar /dev/zram0 || fail "pages read back wrong"
	cmp -n $((mb << 20)) /tmp/policy.tar /dev/zram0 || fail "pages read back wrong"
	set_attr zram0 idle_policy "interval=1 recompress_after=3600"
	wait_policy_stat zram0 runs 3 "$(scaled 20 60)" || fail "the policy did not run"
	note "after $(policy_stat zram0 runs) intervals: $(policy_stat zram0 comebacks) comebacks, $(policy_stat zram0 backoffs) back-offs, age $(policy_stat zram0 age) s"
	[[ $(policy_stat zram0 comebacks) == 0 && $(policy_stat zram0 backoffs) == 0 ]] ||
		fail "reads from before the policy counted as comebacks"
	set_attr zram0 idle_policy off
}

# Issue 24, item 12: the one worker serves every disk, so it never waits
# for a user's run on one of them.  A user's long `recompress` (zstd level
# 19, groups of 16) holds zram0's recompression while zram0's policy
# wants it too; zram1's policy must go on meanwhile (its intervals are
# counted), and turning it off returns at once.  Before, the worker sat
# in mutex_lock behind the user's run and zram1's intervals stood still.
test_policy_does_not_wait_for_a_users_run() {
	local mb user runs0 runs1 start took still=no
	mb=$(scaled 16 8)
	load_ours num_devices=2
	set_attr zram0 recomp_algorithm "algo=zstd"
	set_attr zram0 algorithm_params "priority=1 level=19"
	policy_data "$mb"
	init_disk zram0 $((mb * 2))M
	dd if=/tmp/policy.tar of=/dev/zram0 bs=1M oflag=direct status=none
	init_disk zram1 16M
	# Stores take the disk for writing: both before the user's run.
	set_attr zram0 idle_policy "interval=1 recompress_after=3600"
	set_attr zram1 idle_policy "interval=1 writeback_after=3600"
	echo group_pages=16 >/sys/block/zram0/recompress &
	user=$!
	sleep 2
	kill -0 $user 2>/dev/null || fail "the user's recompress was over in 2 s: not long enough"
	runs1=$(policy_stat zram1 runs)
	sleep 3
	runs0=$(policy_stat zram1 runs)
	start=$(date +%s%N)
	set_attr zram1 idle_policy off
	took=$((($(date +%s%N) - start) / 1000000))
	kill -0 $user 2>/dev/null && still=yes
	note "during the user's recompress (still running: $still): zram1's policy ran $((runs0 - runs1)) intervals in 3 s; its off took $took ms"
	# A reset stops the user's run after the page in progress.
	reset_disk zram0
	wait $user || true
	[[ $still == yes ]] || fail "the user's recompress ended before the checks: not long enough"
	((runs0 - runs1 >= 2)) || fail "zram1's policy stood still behind zram0's user run"
	((took < 1500)) || fail "idle_policy off on zram1 waited $took ms"
}

# The policy mid-pass over a larger disk; then busy loops on every CPU and
# right away ACTION; it must finish promptly.
policy_mid_run_then() { # ACTION
	local mb pages start took bound r=0
	mb=$(scaled 48 24)
	pages=$((mb * 256))
	policy_disk "$mb"
	set_attr zram0 idle_policy "interval=1 recompress_after=1"
	# The r flags move as it goes (the counters, after a slice, or on
	# the old module after a whole run).
	for _ in $(seq 120); do
		r=$(block_flags zram0 r)
		((r > 0)) && break
		sleep 0.25
	done
	((r > 0 && r < pages * 3 / 4)) || fail "the policy was not mid-run: $r of $pages pages recompressed"
	# One loop per CPU: enough to starve a SCHED_IDLE thread for
	# seconds, and the action itself still gets half a CPU.
	start_busy "$(nproc)"
	start=$(date +%s%N)
	case $1 in
	reset) printf 1 >/sys/block/zram0/reset || fail "reset failed" ;;
	hot_remove) printf 0 >/sys/class/zram-control/hot_remove || fail "hot_remove failed" ;;
	rmmod) rmmod zram || fail "rmmod failed" ;;
	esac
	took=$((($(date +%s%N) - start) / 1000000))
	stop_busy
	bound=$(scaled 1500 5000)
	note "$1 with the policy mid-run and $(nproc) busy loops: $took ms (bound $bound ms)"
	((took < bound)) || fail "$1 waited $took ms for the policy"
}

test_policy_reset_busy_cpu() {
	policy_mid_run_then reset
	[[ $(zattr zram0 initstate) == 0 ]] || fail "reset did not happen"
}

test_policy_hot_remove_busy_cpu() {
	policy_mid_run_then hot_remove
	[[ ! -e /sys/block/zram0 ]] || fail "zram0 still there"
}

test_policy_rmmod_busy_cpu() {
	policy_mid_run_then rmmod
	[[ ! -d /sys/module/zram ]] || fail "zram still loaded"
}

# Issue 24, item 3: a run that lowered its thread to SCHED_IDLE while it
# was still the worker's current work kept a reset waiting for an
# idle-class thread on busy CPUs.  The worker stalls 3 s once lowered
# (debugfs policy_stall_after_lowering_ms), so the reset lands in that
# window every time; the lowering must not be part of what reset waits for.
test_policy_reset_while_worker_lowered() {
	local stall=/sys/kernel/debug/zram/policy_stall_after_lowering_ms
	local start took bound
	policy_disk 1
	echo 3000 >$stall
	set_attr zram0 idle_policy "interval=1 recompress_after=1"
	wait_policy_stat zram0 runs 1 "$(scaled 20 60)" || fail "the policy never ran"
	sleep 1 # the run is over: its thread sleeps, lowered
	start_busy "$(nproc)"
	start=$(date +%s%N)
	printf 1 >/sys/block/zram0/reset || fail "reset failed"
	took=$((($(date +%s%N) - start) / 1000000))
	stop_busy
	echo 0 >$stall
	bound=$(scaled 1500 5000)
	note "reset with the worker lowered and stalled 3 s, $(nproc) busy loops: $took ms (bound $bound ms)"
	((took < bound)) || fail "reset waited $took ms for the lowered worker"
}

# swapbench under a memory cgroup half its size, the policy on with a
# short age: pages are recompressed, swapped in again (zstd), rewritten,
# swapped out; every access and a final pass check every page.
policy_swap_checksummed() { # [MORE POLICY KEYS]
	local mib cg=/sys/fs/cgroup/zram-policy-swap rc=0 bin=/tmp/swapbench
	mib=$(scaled 64 32)
	gcc -O2 -o $bin tests/swapbench/swapbench.c || fail "cannot build swapbench"
	policy_data "$mib"
	load_ours num_devices=1
	set_attr zram0 recomp_algorithm "algo=zstd"
	init_disk zram0 256M
	set_attr zram0 idle_policy "interval=1 recompress_after=1${1:+ $1}"
	# The most groups seen at once (they go as their pages come back).
	rm -f /tmp/sb.done
	echo 0 >/tmp/sb.groups
	(
		most=0
		while [[ -e /sys/block/zram0 && ! -e /tmp/sb.done ]]; do
			g=$(pool_stat zram0 groups 2>/dev/null || echo 0)
			((g <= most)) || most=$g
			echo "$most" >/tmp/sb.groups
			sleep 0.5
		done
	) &
	local sampler=$!
	mkswap /dev/zram0 >/dev/null
	swapon -p 100 /dev/zram0
	echo +memory >/sys/fs/cgroup/cgroup.subtree_control
	mkdir -p $cg
	echo $((mib / 2))M >$cg/memory.max
	(
		echo $BASHPID >$cg/cgroup.procs
		exec $bin --mib "$mib" --accesses "$(scaled 300000 60000)" --cold 60 \
			--idle 3 --data /tmp/policy.tar --dev zram0
	) >/tmp/sb.out 2>&1 || rc=$?
	touch /tmp/sb.done
	wait $sampler || true
	grep -E '^SB (result|final|done|phase=idle)' /tmp/sb.out | cut -c1-400 | sed 's/^/  /' || true
	swapoff /dev/zram0
	rmdir $cg
	note "policy: $(tr '\n' ' ' </sys/kernel/debug/zram/zram0/idle_policy)"
	[[ $rc == 0 ]] || { tail -5 /tmp/sb.out; fail "swapbench exited $rc (corrupt pages?)"; }
	(($(policy_stat zram0 recompressed) > 0)) || fail "nothing was recompressed"
	(($(policy_stat zram0 comebacks) > 0)) || fail "no recompressed page was swapped in again"
	[[ $(io_field zram0 1) == 0 && $(io_field zram0 2) == 0 ]] || fail "failed I/O"
	set_attr zram0 idle_policy off
}

test_policy_swap_checksummed() {
	policy_swap_checksummed
}

# The same with the policy recompressing in groups of 4 (issue 18).
test_policy_swap_grouped() {
	policy_swap_checksummed recompress_group_pages=4
	note "up to $(cat /tmp/sb.groups) groups at once"
	(($(cat /tmp/sb.groups) > 0)) || fail "the policy formed no group"
}

# shellcheck disable=SC2034 # used by suite.sh
policy_tests=(test_policy_leaves_hot_pages_alone
	test_policy_backs_off_on_pages_that_come_back
	test_policy_groups_only_pages_older_than_those_read_back
	test_policy_yields_to_busy_cpu
	test_policy_progresses_on_busy_cpus
	test_policy_set_on_a_running_disk_starts_counting_then
	test_policy_does_not_wait_for_a_users_run
	test_policy_reset_busy_cpu
	test_policy_hot_remove_busy_cpu
	test_policy_rmmod_busy_cpu
	test_policy_reset_while_worker_lowered
	test_policy_swap_checksummed
	test_policy_swap_grouped)
