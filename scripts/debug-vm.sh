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
status=0
scripts/vm-run.sh -o "$work/faults" tests/kunit/faults.sh || status=$?
scripts/vm-run.sh -o "$work/suite" tests/vm/suite.sh "$@" || status=$?
exit "$status"
