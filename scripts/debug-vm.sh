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
# Less data per test (KASAN and friends slow I/O down several times).
# Not the install test: the staged installs are for Debian's kernel.  Not
# the tests of zramctl, zramswap and zram-generator either: they check that
# those tools drive our sysfs interface as they drive stock's, which the
# stock-kernel suite does; every kernel path they reach (hot_add and
# hot_remove, disksize, comp_algorithm, swapon, discard, reset, rmmod) has
# a test of its own here.
export T_LIGHT=1
export T_SKIP="test_modprobe_installed test_zramctl test_zramswap test_zram_generator"
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
