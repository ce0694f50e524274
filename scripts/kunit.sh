#!/usr/bin/env bash
# `make kunit`: builds (or reuses) the debug kernel, builds zram.ko with its
# KUnit suites against it, boots that kernel in QEMU, loads the module (the
# suites run at load), unloads it, scans kmemleak, and parses the KTAP with
# kunit.py from the same source tree.  Exit status: kunit.py's, or the VM
# runner's if the kernel log shows a BUG/WARNING/KASAN/lockdep report.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
work=$top/build/kunit
# shellcheck source=scripts/debug-kernel-module.sh
source scripts/debug-kernel-module.sh
debug_kernel_module "$work"
ksrc=$(readlink -f "$kbuild/source")

status=0
T_KO=$DEBUG_KO VM_KERNEL=$kbuild/arch/x86/boot/bzImage VM_KVER=$kver \
	VM_MODROOT=$kbuild/modroot VM_MEM=${VM_MEM:-2048} \
	scripts/vm-run.sh -o "$work/vm" tests/kunit/guest.sh || status=$?
# 6.1 prints a module's suites without a top-level KTAP header (and the
# boot's empty built-in run has one of its own): give kunit.py the
# module's part of the log, under a header.
ktap=$work/vm/ktap.txt
sed -n '/Subtest: zram_/,$p' "$work/vm/dmesg.txt" 2>/dev/null | sed 's/^\[[^]]*\] //' >"$ktap.body" || true
{
	echo "KTAP version 1"
	echo "1..$(grep -cE '^(not )?ok [0-9]+ zram_' "$ktap.body")"
	cat "$ktap.body"
} >"$ktap"
parse=0
python3 "$ksrc/tools/testing/kunit/kunit.py" parse "$ktap" || parse=$?
if [[ $status != 0 ]]; then
	echo "kunit: the VM run failed with status $status (see $work/vm)" >&2
	exit "$status"
fi
exit "$parse"
