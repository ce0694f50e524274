#!/usr/bin/env bash
# `make kunit`: builds (or reuses) the debug kernel, builds zram.ko with its
# KUnit suites against it, boots that kernel in QEMU, loads the module (the
# suites run at load), unloads it, scans kmemleak, and parses the KTAP with
# kunit.py from the same source tree.  Exit status: kunit.py's, or the VM
# runner's if the kernel log shows a BUG/WARNING/KASAN/lockdep report.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
kbuild=$(scripts/build-debug-kernel.sh | tail -n1)
ksrc=$(readlink -f "$kbuild/source")
kver=$(cat "$kbuild/include/config/kernel.release")
work=$top/build/kunit

# A copy of the sources: the checkout's zram.ko stays the stock-headers build.
rm -rf "$work"
mkdir -p "$work/src"
git ls-files -z --cached --others --exclude-standard |
	rsync -a --from0 --files-from=- ./ "$work/src/"
make --no-print-directory -C "$work/src" KDIR="$kbuild" modules >"$work/build.log" 2>&1 ||
	{ tail -40 "$work/build.log"; exit 1; }

status=0
T_KO=$work/src/zram.ko VM_KERNEL=$kbuild/arch/x86/boot/bzImage VM_KVER=$kver \
	VM_MODROOT=$kbuild/modroot VM_MEM=${VM_MEM:-2048} \
	scripts/vm-run.sh -o "$work/vm" tests/kunit/guest.sh || status=$?
parse=0
python3 "$ksrc/tools/testing/kunit/kunit.py" parse "$work/vm/dmesg.txt" || parse=$?
if [[ $status != 0 ]]; then
	echo "kunit: the VM run failed with status $status (see $work/vm)" >&2
	exit "$status"
fi
exit "$parse"
