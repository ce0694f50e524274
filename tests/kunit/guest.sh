#!/bin/bash
# Guest side of scripts/kunit.sh, on the debug kernel: load zram.ko (its
# KUnit suites run during the load), unload it, and ask kmemleak whether
# anything of ours leaked.
set -euo pipefail
: "${T_KO:?}"
echo "kunit-guest: $(uname -r), $(nproc) CPUs"
insmod "$T_KO" num_devices=1
rmmod zram
if [[ -w /sys/kernel/debug/kmemleak ]]; then
	echo scan >/sys/kernel/debug/kmemleak
	sleep 5
	echo scan >/sys/kernel/debug/kmemleak
	if grep -q . /sys/kernel/debug/kmemleak; then
		# Only leaks whose backtrace passes through zram count as ours.
		if grep -q '\[zram\]' /sys/kernel/debug/kmemleak; then
			cat /sys/kernel/debug/kmemleak
			echo "kunit-guest: kmemleak reports leaks of zram.ko"
			exit 1
		fi
		echo "kunit-guest: kmemleak reports only others' leaks"
	fi
	echo "kunit-guest: kmemleak: nothing of ours"
fi
