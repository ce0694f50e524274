#!/bin/bash
# Guest side of `scripts/bench.sh swap` (issue 19): a program living on
# zram swap.  tests/swapbench/swapbench.c (built on the host, static) runs
# in a memory cgroup smaller than its memory, with zram0 as the only swap,
# once per configuration and scenario, all in one boot.  Prints "RUN
# scenario config" and then the program's "SB ..." lines for
# scripts/bench-swap-report.py.
set -euo pipefail
# shellcheck source=tests/vm/lib.sh
source "$(dirname "$0")/lib.sh"
cd /tmp

BIN=${T_SWAPBENCH:?T_SWAPBENCH: the swapbench binary}
MIB=${T_SWAP_MIB:-384}          # the program's memory
CG_MIB=${T_SWAP_CG_MIB:-128}    # its cgroup's memory.max
ACCESSES=${T_SWAP_ACCESSES:-1000000}
REWRITE=${T_SWAP_REWRITE:-5}    # one access in N rewrites part of its page
IDLE=${T_SWAP_IDLE:-10}         # seconds asleep before the final check
SCENARIOS=${T_SWAP_COLD:-"0 60"} # % of pages never touched after the fill
# The policy right after its reference: a run cut short still compares them.
CONFIGS=${T_SWAP_CONFIGS:-"stock-lzo-rle ours-policy ours-policy-grouped stock-zstd ours-lzo-rle ours-lz4"}
POLICY=${T_SWAP_POLICY:-"interval=2 recompress_after=4"}
# ours-policy-grouped: the same policy, forming groups of this many pages.
GROUP_PAGES=${T_SWAP_GROUP_PAGES:-16}
# ours-policy's primary algorithm (its secondary is zstd): lzo-rle, 6.1's
# default; scripts/bench.sh passes lz4 on 6.12, whose default that is.
POLICY_PRIMARY=${T_SWAP_POLICY_PRIMARY:-lzo-rle}
DISK=${T_SWAP_DISK:-1G}

# /usr/include holds 116 MiB of tar, so make_real_tar stops at 3 x 112
# MiB: beyond that it would pad with zeros, pages zram stores for free.
# swapbench wraps around instead, half a page off.
DATA_MB=$((MIB < 336 ? MIB : 336))
make_real_tar "$DATA_MB"
note "data: $DATA_MB MiB of real files for $MIB MiB of memory"
echo "SETUP mib=$MIB cg_mib=$CG_MIB disk=$DISK data_mb=$DATA_MB policy=${POLICY// /,} group_pages=$GROUP_PAGES policy_primary=$POLICY_PRIMARY kernel=$(uname -r)"

setup() { # CONFIG
	case $1 in
	stock-*)
		load_stock num_devices=1
		echo "${1#stock-}" >/sys/block/zram0/comp_algorithm
		;;
	ours-policy | ours-policy-grouped)
		load_ours num_devices=1
		echo "$POLICY_PRIMARY" >/sys/block/zram0/comp_algorithm
		echo algo=zstd >/sys/block/zram0/recomp_algorithm
		;;
	ours-*)
		load_ours num_devices=1
		echo "${1#ours-}" >/sys/block/zram0/comp_algorithm
		;;
	*) fail "unknown configuration $1" ;;
	esac
	echo "$DISK" >/sys/block/zram0/disksize
	case $1 in
	ours-policy) echo "$POLICY" >/sys/block/zram0/idle_policy ;;
	ours-policy-grouped) echo "$POLICY recompress_group_pages=$GROUP_PAGES" >/sys/block/zram0/idle_policy ;;
	esac
	mkswap /dev/zram0 >/dev/null
	swapon -p 100 /dev/zram0
}

cg=/sys/fs/cgroup/swapbench
echo +memory >/sys/fs/cgroup/cgroup.subtree_control
mkdir -p $cg
echo "${CG_MIB}M" >$cg/memory.max

failed=0
for cold in $SCENARIOS; do
	for config in $CONFIGS; do
		setup "$config"
		sync
		echo 3 >/proc/sys/vm/drop_caches
		echo "RUN cold$cold $config $(sed 's/.*\[\(.*\)\].*/\1/' /sys/block/zram0/comp_algorithm) $(cat /sys/block/zram0/idle_policy 2>/dev/null || echo -)"
		rc=0
		# Output to tmpfs, shown afterwards: nothing of the run's own
		# goes over 9p while it is timed.
		(
			echo $BASHPID >$cg/cgroup.procs
			exec "$BIN" --mib "$MIB" --accesses "$ACCESSES" --cold "$cold" \
				--rewrite "$REWRITE" --idle "$IDLE" --data /tmp/real.tar --dev zram0
		) >/tmp/sb.out 2>&1 || rc=$?
		cat /tmp/sb.out
		echo "EXIT $rc"
		[[ $rc == 0 ]] || failed=1
		echo "SWAP $(grep -E '^(pswpin|pswpout) ' /proc/vmstat | tr '\n' ' ')$(grep -E '^(pswp|swap)' $cg/memory.stat 2>/dev/null | tr '\n' ' ')"
		swapoff /dev/zram0
		unload_zram
	done
done
rmdir $cg
[[ $failed == 0 ]] || fail "a run found corrupt pages or failed"
