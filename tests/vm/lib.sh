# shellcheck shell=bash
# Helpers for guest-side tests (sourced; run inside scripts/vm-run.sh).
# The working directory is the repo top, read-only; /tmp is writable.

REPO=$(pwd)
# T_KO: a zram.ko built for another kernel (the debug kernel).
KO=${T_KO:-$REPO/zram.ko}
export PATH=/usr/sbin:/usr/bin:/sbin:/bin

# T_LIGHT=1 (the debug kernel: KASAN, lockdep and kmemleak make every
# I/O many times slower under TCG): the same tests over less data.
LIGHT=${T_LIGHT:-0}
scaled() { # FULL LIGHT -> the one for this run
	if [[ $LIGHT == 1 ]]; then echo "$2"; else echo "$1"; fi
}

# Under the debug kernel a fork and exec costs 0.6-1 s (TCG, with KASAN,
# lockdep and kmemleak on every mapping and page table), a fork alone about
# 0.1, and the suite runs thousands: helpers here read files with bash's
# own $(<FILE) and read, and sleep is bash's loadable builtin (Debian's
# bash-builtins, scripts/setup.sh) where the host has it.
[[ ! -f /usr/lib/bash/sleep ]] || enable -f /usr/lib/bash/sleep sleep

# kmemleak's own thread rescans all memory every 10 minutes, minutes of
# CPU under TCG that tests then wait for; kmemleak_clean_of_ours scans on
# demand instead.
if [[ -w /sys/kernel/debug/kmemleak ]]; then
	echo scan=off >/sys/kernel/debug/kmemleak || true
fi

fail() {
	echo "  FAIL: $*" >&2
	exit 1
}

note() { echo "  $*"; }

# insmod of a zram.ko by path, as modprobe would load it: first the
# modules it links against (modinfo's depends; none since issue 17, but an
# older build's for comparison may have some), and its companion
# zram_codecs.ko (zstd, lz4, lz4hc through lib/zstd and lib/lz4) when one
# sits beside it, after the modules that one links against.  Where they
# are built in (the debug kernel) modprobe has nothing to do.
# T_NO_CODECS=1: without the companion, as a bare insmod.
insmod_zram() { # KO [PARAM...]
	local dep deps codecs
	codecs=${1%/*}/zram_codecs.ko
	[[ $1 == */* ]] || codecs=zram_codecs.ko
	[[ ${T_NO_CODECS:-0} != 1 && -f $codecs && ! -d /sys/module/zram_codecs ]] || codecs=
	deps=$(modinfo -F depends "$1" ${codecs:+"$codecs"})
	for dep in ${deps//,/ }; do
		modprobe -q "$dep" 2>/dev/null || true
	done
	[[ -z $codecs ]] || insmod "$codecs" || return 1
	insmod "$@"
}

# Loads our zram.ko by path, never the stock one, and proves it.
load_ours() {
	unload_zram
	insmod_zram "$KO" "$@" || fail "insmod $KO $* failed"
	assert_ours
	settle_udev
}

# Loads Debian's stock zram (the benchmarks' reference) and proves it is
# not ours.
load_stock() {
	unload_zram
	# An install of ours layered over /lib/modules is not stock either.
	[[ $(modinfo -n zram) != */updates/* ]] || fail "modprobe zram would load $(modinfo -n zram)"
	modprobe zram "$@" || fail "modprobe zram $* failed"
	[[ $(cat /sys/module/zram/srcversion 2>/dev/null) != "$(modinfo -F srcversion "$KO")" ]] ||
		fail "modprobe zram loaded ours"
	settle_udev
}

# vm-run.sh's guest runs no udevd; there udevadm settle has nothing to
# wait for, yet its exec alone costs 1.4 s under TCG, on every load.
settle_udev() {
	[[ ! -S /run/udev/control ]] || udevadm settle 2>/dev/null || true
}

assert_ours() {
	local want have
	want=$(modinfo -F srcversion "$KO")
	{ have=$(<"/sys/module/zram/srcversion"); } 2>/dev/null || true
	[[ -n $want && $have == "$want" ]] ||
		fail "loaded zram (srcversion '$have') is not $KO ('$want')"
}

# zram.ko, then the companion, which only zram.ko's disks hold.
unload_zram() {
	local i m
	for m in zram zram_codecs; do
		[[ -d /sys/module/$m ]] || continue
		for i in 1 2 3 4 5; do
			rmmod $m 2>/dev/null && break
			sleep 0.5
		done
		[[ ! -d /sys/module/$m ]] || rmmod $m || fail "cannot unload $m"
	done
}

# make_real_tar MB: the real-file corpus (also built on the host by the
# recompression bench, so it lives on its own).
# shellcheck source=tests/vm/real-tar.sh
source "${BASH_SOURCE[0]%/*}/real-tar.sh"

zattr() { # DEV ATTR: its value, as cat prints it
	local value
	value=$(<"/sys/block/$1/$2") || return
	printf '%s\n' "$value"
}

# mm_stat field N (1-based): 1 orig 2 compr 3 mem_used 4 limit 5 max
# 6 same 7 compacted 8 huge 9 huge_since
stat_field() { # FILE N: field N (1-based) of a one-line stat file
	local -a fields
	read -r -a fields <"$1" || return
	echo "${fields[$2 - 1]}"
}
mm_field() { stat_field "/sys/block/$1/mm_stat" "$2"; }
io_field() { stat_field "/sys/block/$1/io_stat" "$2"; }
# The free bytes debugfs zram/DEV/pool counts, all block sizes together.
pool_free_bytes() { # DEV
	local line total=0 n
	while read -r line; do
		[[ $line == free_bytes* ]] || continue
		for n in ${line#*:}; do
			total=$((total + n))
		done
	done <"/sys/kernel/debug/zram/$1/pool"
	echo "$total"
}

# Writes VALUE to a sysfs FILE and expects the write to fail with the
# errno whose strerror() text is WANT (e.g. "Invalid argument").
expect_write_error() {
	local file=$1 value=$2 want=$3 out
	if out=$( (printf '%s' "$value" >"$file") 2>&1); then
		fail "writing '$value' to $file succeeded; wanted '$want'"
	fi
	[[ $out == *"$want"* ]] ||
		fail "writing '$value' to $file: '$out'; wanted '$want'"
	note "'$value' > ${file#/sys/block/}: $want (as expected)"
}

# Writes that must succeed.
set_attr() {
	printf '%s' "$3" >"/sys/block/$1/$2" || fail "writing '$3' to $1/$2 failed"
}

init_disk() { # DEV SIZE
	set_attr "$1" disksize "$2"
	[[ $(zattr "$1" initstate) == 1 ]] || fail "$1 not initialised"
}

reset_disk() {
	local i
	# udev may hold a fresh device open for a moment; tools retry too.
	for i in 1 2 3 4 5 6 7 8 9 10; do
		printf 1 >"/sys/block/$1/reset" 2>/dev/null && return 0
		sleep 0.3
	done
	fail "reset of $1 keeps failing"
}

# Whether anything is swapped to (a line past /proc/swaps' header).
swaps_in_use() {
	local -a lines
	mapfile -t lines </proc/swaps
	((${#lines[@]} > 1))
}

# The type of the topmost mount on DIR, in top_fs ('' if none).
top_mount() { # DIR
	local dir type
	top_fs=
	while read -r _ dir type _; do
		[[ $dir != "$1" ]] || top_fs=$type
	done </proc/mounts
}

# Runs each test function given, in its own subshell with set -e, and
# prints one PASS/FAIL line per test for scripts/check.sh to count.
run_tests() {
	local t rc start failed=0 modules top_fs
	# As /proc/mounts names it (bookworm's /lib is a link to /usr/lib).
	modules=$(realpath "/lib/modules/$(</proc/sys/kernel/osrelease)")
	for t in "$@"; do
		echo "=== $t"
		start=$SECONDS
		set +e
		(set -e; "$t")
		rc=$?
		set -e
		if [[ $rc == 0 ]]; then
			echo "PASS: vm/$t ($((SECONDS - start))s)"
		else
			echo "FAIL: vm/$t ($((SECONDS - start))s)"
			failed=$((failed + 1))
		fi
		# Leave the next test a clean slate even after a failure; the
		# checks spare a debug kernel's execs when there is nothing to do.
		! swaps_in_use || swapoff -a 2>/dev/null || true
		# vm-run.sh's guest has a tmpfs on /mnt: a test's mount is above it.
		top_mount /mnt
		while [[ -n $top_fs && $top_fs != tmpfs ]]; do
			umount /mnt 2>/dev/null || break
			top_mount /mnt
		done
		(unload_zram) 2>/dev/null || true
		# test_modprobe_installed's layer, if it failed under it.
		top_mount "$modules"
		while [[ $top_fs == overlay ]]; do
			umount "$modules" || break
			top_mount "$modules"
		done
	done
	return $((failed > 0))
}

# Asks kmemleak (debug kernel) for leaks with zram.ko in their backtrace;
# others' leaks are noted, not failed.  Call after unloading the module.
kmemleak_clean_of_ours() {
	local k=/sys/kernel/debug/kmemleak
	[[ -w $k ]] || fail "this kernel has no kmemleak"
	echo scan >$k
	sleep 5
	echo scan >$k
	if grep -q '\[zram\]' $k; then
		cat $k
		fail "kmemleak reports leaks of zram.ko"
	fi
	if grep -q . $k; then
		note "kmemleak reports only others' leaks"
	else
		note "kmemleak: nothing of ours"
	fi
}
