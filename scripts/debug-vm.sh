#!/usr/bin/env bash
# The VM integration suite and the fault-injection test on the debug kernel
# (KASAN, lockdep, atomic-sleep checks, kmemleak): any report fails the run.
#   scripts/debug-vm.sh [TEST...]     (tests of tests/vm/suite.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
work=$top/build/debug-vm
# shellcheck source=scripts/debug-kernel-module.sh
source scripts/debug-kernel-module.sh
debug_kernel_module "$work"
export T_KO=$DEBUG_KO VM_KERNEL=$kbuild/arch/x86/boot/bzImage
export VM_KVER=$kver VM_MODROOT=$kbuild/modroot VM_MEM=${VM_MEM:-2048}
export VM_TIMEOUT=${VM_TIMEOUT:-3600}
# zram.ko carries the KUnit suites on this kernel, and KUnit runs a
# module's suites as it loads (MODULE_STATE_COMING, before its init, so
# refused loads too): every insmod here cost a KUnit run
# (test_module_parameter took 87 s, 16 without; test_load_unload_cycles
# 88, 47).  scripts/kunit.sh runs them, once.
export VM_APPEND="${VM_APPEND:+$VM_APPEND }kunit.enable=0"
# Not the install test: the staged installs are for Debian's kernel.  Not
# the tests of zramctl, zramswap and zram-generator either: they check that
# those tools drive our sysfs interface as they drive stock's, which the
# stock-kernel suite does; every kernel path they reach (hot_add and
# hot_remove, disksize, comp_algorithm, swapon, discard, reset, rmmod) has
# a test of its own here.
#
# Nor the tests whose point is a quantity or a choice, or whose kernel
# paths another test here takes: the debug kernel is there to catch bad
# memory accesses, lock order, sleeping in atomic context and leaks, and
# each path below runs here in the test named beside it.  TCG makes every
# debug-kernel I/O several times slower: with them this run took 38
# minutes, and a fresh machine's make check (debug kernel build included)
# must stay well inside CI's 90.
#   test_compaction_gives_memory_back, test_overwrites_keep_memory:
#     how much memory comes back; compaction under I/O is
#     test_fio_verify_during_compaction, and groups are regrouped and
#     compacted by test_grouped_recompress_real_files,
#     test_fio_verify_during_grouped_recompress and
#     test_grouped_member_writeback_races.
#   test_recompress_real_files: test_grouped_recompress_real_files begins
#     with the same page-by-page recompression of the same files.
#   test_fio_verify, test_devices_and_limits: fio verify runs here beside
#     CPU hotplug, compaction, recompression, groups and writeback; a load
#     of several disks is test_load_unload_cycles'.
#   test_ext4_tree: ext4's reads, writes, flushes and discards reach the
#     same bio paths as fio's and test_discard_frees_memory's.
#   test_writeback_read_races_free: reads of written-back pages racing
#     the free of their blocks (deferred frees) run in
#     test_writeback_reads_under_fio, with rewrites and writeback beside.
#   test_swap_pressure: swap under a cgroup's memory.max is
#     test_policy_swap_grouped (the same pressure, every page checksummed,
#     with the policy grouping) and test_swap_writeback_reads.
#   test_bare_insmod: without zram_codecs.ko; this kernel has its
#     algorithms built in, so the load is test_load_unload_cycles'.
#   test_writeback, test_writeback_key_value: which pages each form of
#     `writeback` picks; writing back and reading back are the races' and
#     test_compressed_writeback's, a failing device
#     test_writeback_failing_device's.
#   test_writeback_batches_under_fio: test_fio_verify_during_racing_writebacks
#     writes back in batches under fio verify, with rewrites and trims.
#   test_idle_policy, test_idle_policy_writeback: the policy's budget, age
#     and settings; its runs beside reset, hot_remove and rmmod are
#     test_policy_*_busy_cpu's, its writeback runs in
#     test_fio_verify_during_racing_writebacks, its stores race in
#     test_idle_policy_concurrent_stores.
#   test_policy_leaves_hot_pages_alone, test_policy_backs_off_on_pages_that_come_back,
#   test_policy_groups_only_pages_older_than_those_read_back:
#     which pages the policy picks (the last, by ages in seconds that a
#     slow kernel stretches); every read counts its age in every test, and
#     the policy's grouped pass runs in test_policy_swap_grouped.
#   test_policy_progresses_on_busy_cpus: how much the policy gets done on
#     busy CPUs; its forced slices and writeback run in
#     test_policy_yields_to_busy_cpu and test_policy_swap_grouped.
#   test_policy_set_on_a_running_disk_starts_counting_then: what the
#     policy counts; its store runs in test_idle_policy_concurrent_stores.
#   test_policy_does_not_wait_for_a_users_run: needs a user's run that
#     lasts (zstd level 19 over megabytes), minutes under KASAN; the
#     worker's trylocks run in every policy test there.
#   test_policy_swap_checksummed: test_policy_swap_grouped runs the same
#     program, and groups add paths.
#   test_policy_yields_to_busy_cpu: a choice (the policy's share of busy
#     CPUs), 149 s here; a worker that meets busy loops mid-run, and what
#     it does then beside reset, hot_remove and rmmod, is
#     test_policy_*_busy_cpu's.
#   test_writeback_reuses_blocks_under_steady_reads: a quantity (blocks
#     come back under reads that never stop); the allocator's lock and
#     deferred frees run under lockdep in test_writeback_reads_under_fio.
export T_SKIP="test_modprobe_installed test_zramctl test_zramswap test_zram_generator
	test_compaction_gives_memory_back test_overwrites_keep_memory
	test_recompress_real_files test_fio_verify test_devices_and_limits
	test_ext4_tree test_writeback_read_races_free
	test_swap_pressure test_bare_insmod test_writeback test_writeback_key_value
	test_writeback_batches_under_fio test_idle_policy test_idle_policy_writeback
	test_policy_leaves_hot_pages_alone test_policy_backs_off_on_pages_that_come_back
	test_policy_groups_only_pages_older_than_those_read_back
	test_policy_swap_checksummed test_policy_progresses_on_busy_cpus
	test_policy_set_on_a_running_disk_starts_counting_then
	test_policy_does_not_wait_for_a_users_run
	test_writeback_reuses_blocks_under_steady_reads test_policy_yields_to_busy_cpu"
# Less data per test (KASAN and friends slow I/O down several times).
export T_LIGHT=1
# Each run's vm-run.sh status goes to RUN.status, and its seconds (boot
# included) to RUN.seconds, for scripts/check.sh.
status=0
for run in faults suite; do
	script=tests/vm/suite.sh
	[[ $run == suite ]] || script=tests/kunit/faults.sh
	rc=0
	start=$SECONDS
	if [[ $run == suite ]]; then
		scripts/vm-run.sh -o "$work/$run" "$script" "$@" || rc=$?
	else
		scripts/vm-run.sh -o "$work/$run" "$script" || rc=$?
	fi
	echo "$rc" >"$work/$run.status"
	echo $((SECONDS - start)) >"$work/$run.seconds"
	((rc == 0)) || status=$rc
done
exit "$status"
