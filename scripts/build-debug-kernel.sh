#!/usr/bin/env bash
# Builds (or reuses) a 6.1 debug kernel from Debian's linux-source-6.1:
# allnoconfig plus tests/kunit/debug.config (KUnit, KASAN, lockdep,
# atomic-sleep checks, kmemleak, fault injection, and what the VM boots on).  The build lives outside the checkout, keyed
# by the fragment and the source package version, so CI runs on the same
# machine reuse it.  Prints the build directory (KDIR for our module) on
# the last line; its arch/x86/boot/bzImage boots in scripts/vm-run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$(pwd)
cache=${ZCX_DEBUG_KERNEL_CACHE:-/var/cache/zram-cxx/debug-kernel}
fragment=$top/tests/kunit/debug.config

srcver=$(dpkg-query -W -f='${Version}' linux-source-6.1)
key=$( { echo "$srcver"; cat "$fragment"; } | sha256sum | cut -c1-16)
src=$cache/src-$srcver
build=$cache/build-$key
log=$cache/build-$key.log
mkdir -p "$cache"

if [[ -f $build/.done ]]; then
	echo "debug-kernel: cached ($build)" >&2
	echo "$build"
	exit 0
fi

if [[ ! -f $src/.unpacked ]]; then
	echo "debug-kernel: unpacking linux-source $srcver" >&2
	rm -rf "$src"
	mkdir -p "$src"
	tar -C "$src" --strip-components=1 -xf /usr/src/linux-source-6.1.tar.xz
	touch "$src/.unpacked"
fi

rm -rf "$build"
# A finished build of the same source with another fragment is a warm
# start: Kbuild tracks which objects each option touches, so a changed
# fragment rebuilds minutes of work, not the whole kernel.  Set
# ZCX_DEBUG_KERNEL_SEED=0 to build from scratch.
seed=
if [[ ${ZCX_DEBUG_KERNEL_SEED:-1} != 0 ]]; then
	for prev in "$cache"/build-*/; do
		prev=${prev%/}
		[[ -f $prev/.done && $(readlink "$prev/source") == "$src" ]] && seed=$prev
	done
fi
if [[ -n $seed ]]; then
	echo "debug-kernel: configuring $build, starting from $seed" >&2
	cp -a "$seed" "$build"
	rm -f "$build/.done" "$build/.build-seconds"
	rm -rf "$build/modroot"
else
	echo "debug-kernel: configuring $build from scratch" >&2
	mkdir -p "$build"
fi
# allnoconfig with the fragment: what the fragment does not ask for (or
# its choices imply) is left out, so the build is the debug machinery and
# the few drivers the VM uses, not x86_64_defconfig's hundreds.
make -C "$src" O="$build" -s allnoconfig KCONFIG_ALLCONFIG="$fragment"
make -C "$src" O="$build" -s olddefconfig
# Every line of the fragment must have survived olddefconfig.
missing=0
while read -r line; do
	case $line in
	CONFIG_*=*) grep -qxF "$line" "$build/.config" || { echo "debug-kernel: lost $line" >&2; missing=1; } ;;
	"# CONFIG_"*" is not set")
		# Off, or gone with what it depends on: either way not built.
		opt=${line#\# }
		opt=${opt%% *}
		! grep -q "^$opt=" "$build/.config" || { echo "debug-kernel: $opt still on" >&2; missing=1; } ;;
	esac
done <"$fragment"
[[ $missing == 0 ]] || exit 1

echo "debug-kernel: building (log: $log)" >&2
start=$SECONDS
if ! make -C "$src" O="$build" -j"$(nproc)" bzImage modules >"$log" 2>&1; then
	tail -40 "$log" >&2
	exit 1
fi
make -C "$src" O="$build" -s INSTALL_MOD_PATH="$build/modroot" modules_install >>"$log" 2>&1
echo "debug-kernel: built in $((SECONDS - start)) s${seed:+ (warm start)}" >&2
echo "$((SECONDS - start))${seed:+ warm}" >"$build/.build-seconds"
touch "$build/.done"
echo "$build"
