#!/usr/bin/env bash
# The VM integration suite and the fault-injection test on the debug kernel
# (KASAN, lockdep, atomic-sleep checks, kmemleak): any report fails the run.
#   scripts/debug-vm.sh [TEST...]     (tests of tests/vm/suite.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
kbuild=$(scripts/build-debug-kernel.sh | tail -n1)
kver=$(cat "$kbuild/include/config/kernel.release")
work=$top/build/debug-vm
rm -rf "$work"
mkdir -p "$work/src"
git ls-files -z --cached --others --exclude-standard |
	rsync -a --from0 --files-from=- ./ "$work/src/"
make --no-print-directory -C "$work/src" KDIR="$kbuild" modules >"$work/build.log" 2>&1 ||
	{ tail -40 "$work/build.log"; exit 1; }
export T_KO=$work/src/zram.ko VM_KERNEL=$kbuild/arch/x86/boot/bzImage
export VM_KVER=$kver VM_MODROOT=$kbuild/modroot VM_MEM=${VM_MEM:-2048}
export VM_TIMEOUT=${VM_TIMEOUT:-3600}
status=0
scripts/vm-run.sh -o "$work/faults" tests/kunit/faults.sh || status=$?
scripts/vm-run.sh -o "$work/suite" tests/vm/suite.sh "$@" || status=$?
exit "$status"
