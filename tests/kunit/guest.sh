#!/bin/bash
# Guest side of scripts/kunit.sh, on the debug kernel: load zram.ko (its
# KUnit suites run during the load), unload it, and ask kmemleak whether
# anything of ours leaked.
set -euo pipefail
: "${T_KO:?}"
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/../vm/lib.sh"
echo "kunit-guest: $(uname -r), $(nproc) CPUs"
insmod_zram "$T_KO" num_devices=1
rmmod zram
if [[ -w /sys/kernel/debug/kmemleak ]]; then
	kmemleak_clean_of_ours || { echo "kunit-guest: kmemleak reports leaks of zram.ko"; exit 1; }
fi
